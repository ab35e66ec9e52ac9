"""The transport seam: how a gateway's calls reach a worker and come back.

Two implementations: :mod:`sangraha.transport.amqp` (RabbitMQ, distributed)
and :mod:`sangraha.transport.inprocess` (embedded mode).  Both move the same
contract frames; the gateway and the workers cannot tell them apart.

Bodies: a small body travels inline in the call's frame.  A large upload is
an :class:`UploadBody` the transport streams to the worker; a large download
comes back as :attr:`Result.stream`.  See "Streams" in sangraha/contract.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from sangraha.contract import Answer, AnyReply, Call, Route

__all__ = [
    "ByteStream",
    "Handler",
    "IncomingBody",
    "InlineBody",
    "Outgoing",
    "Result",
    "Transport",
    "TransportError",
    "UploadBody",
    "WorkerTransport",
    "close_stream",
]

ByteStream = AsyncIterator[bytes | memoryview]


async def close_stream(stream: object) -> None:
    """Close a byte stream early (async generators and iterators with
    ``aclose``); one that cannot be closed is left alone."""
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


class TransportError(Exception):
    """The call did not get an answer.  ``code`` is the S3 error to report:
    ``ServiceUnavailable`` (no worker answered in time, broker down) or
    ``SlowDown`` (a queue or the gateway is full)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class UploadBody(Protocol):
    """A request body the gateway streams to a worker.

    Iterating yields the body in pieces; the last piece is yielded only after
    the whole body has been verified.  Iteration raises (an S3 error, a client
    disconnect) when the body is bad."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...


@dataclass(slots=True)
class Result:
    """A worker's answer and the bytes that came with it: an inline
    ``payload``, or a ``stream`` the caller must exhaust or ``aclose()``."""

    answer: Answer
    payload: bytes | memoryview = b""
    stream: ByteStream | None = None

    async def aclose(self) -> None:
        if self.stream is not None:
            await close_stream(self.stream)


class Transport(Protocol):
    """The gateway side: send one call, await its answer."""

    async def call(
        self, call: Call, payload: bytes | memoryview = b"", body: UploadBody | None = None
    ) -> Result:
        """Deliver ``call`` to a worker of its route and return the answer.

        ``body`` streams a large request body (PutObject with streamed=True).
        Raises :class:`TransportError` when no answer arrives before
        ``call.deadline`` (or a stream goes silent) or the transport is down."""
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


class IncomingBody:
    """The request body as a worker sees it: iterate it for the bytes.

    ``inline`` is the whole body when it came in the call's frame."""

    inline: memoryview | None = None

    def __aiter__(self) -> AsyncIterator[bytes | memoryview]:
        raise NotImplementedError


class InlineBody(IncomingBody):
    def __init__(self, payload: memoryview) -> None:
        self.inline = payload

    async def _pieces(self) -> AsyncIterator[bytes | memoryview]:
        if self.inline:
            yield self.inline  # a view of the received frame: no copy

    def __aiter__(self) -> AsyncIterator[bytes | memoryview]:
        return self._pieces()


# What a handler sends back: inline bytes, or a stream for a large download.
Outgoing = bytes | memoryview | ByteStream

# A worker's handler: one call (and its body) in, one reply (and bytes) out.
Handler = Callable[[Call, IncomingBody], Awaitable[tuple[AnyReply, Outgoing]]]


class WorkerTransport(Protocol):
    """The worker side: consume the calls of one route."""

    async def serve(self, route: Route, handler: Handler) -> None:
        """Start consuming; returns once consumption has started."""
        ...

    async def ready(self) -> bool: ...

    async def close(self) -> None: ...
