"""The transport seam: how a gateway's calls reach a worker and come back.

Two implementations: :mod:`sangraha.transport.amqp` (RabbitMQ, distributed)
and :mod:`sangraha.transport.inprocess` (embedded mode).  Both move the same
contract frames; the gateway and the workers cannot tell them apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from sangraha.contract import Answer, AnyReply, Call, Route

__all__ = ["Handler", "Result", "Transport", "TransportError", "WorkerTransport"]


@dataclass(frozen=True, slots=True)
class Result:
    """A worker's answer and the payload that came with it."""

    answer: Answer
    payload: bytes | memoryview


class TransportError(Exception):
    """The call did not get an answer.  ``code`` is the S3 error to report:
    ``ServiceUnavailable`` (no worker answered in time, broker down) or
    ``SlowDown`` (a queue or the gateway is full)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Transport(Protocol):
    """The gateway side: send one call, await its answer."""

    async def call(self, call: Call, payload: bytes | memoryview = b"") -> Result:
        """Deliver ``call`` to a worker of its route and return the answer.

        Raises :class:`TransportError` when no answer arrives before
        ``call.deadline`` or the transport is down."""
        ...

    async def submit(self, call: Call, payload: bytes | memoryview = b"") -> None:
        """Hand ``call`` over for asynchronous execution, with no answer.

        Returns only once the transport holds the call durably (RabbitMQ: a
        persistent message, publisher-confirmed), so a client may be told
        "accepted".  Raises :class:`TransportError` otherwise."""
        ...

    async def ready(self) -> bool:
        """True when calls can currently be delivered."""
        ...

    async def close(self) -> None: ...


# A worker's handler: one call (and its payload) in, one reply (and payload) out.
Handler = Callable[[Call, memoryview], Awaitable[tuple[AnyReply, bytes | memoryview]]]


class WorkerTransport(Protocol):
    """The worker side: consume the calls of one route."""

    async def serve(self, route: Route, handler: Handler) -> None:
        """Start consuming; returns once consumption has started."""
        ...

    async def ready(self) -> bool: ...

    async def close(self) -> None: ...
