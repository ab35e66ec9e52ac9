"""In-process transport for embedded mode: the same frames, no broker.

Each call is encoded and decoded exactly as on RabbitMQ, so embedded mode
exercises the same contract; a semaphore per route plays the role of the
worker's prefetch, and the call's deadline is enforced the same way.  Large
bodies are handed over as iterators: the consumer pulls, so flow control is
the iteration itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from sangraha.contract import (
    Answer,
    Call,
    ContractError,
    Failure,
    Route,
    decode_answer,
    decode_call,
    encode_answer,
    encode_call,
)
from sangraha.logs import request_context
from sangraha.transport.base import (
    Handler,
    IncomingBody,
    InlineBody,
    Outgoing,
    Result,
    TransportError,
    UploadBody,
)

__all__ = ["InProcessTransport"]

log = logging.getLogger(__name__)


class _HandedBody(IncomingBody):
    """The gateway's upload body, passed straight to the handler."""

    def __init__(self, body: UploadBody) -> None:
        self._body = body

    def __aiter__(self) -> AsyncIterator[bytes]:
        return aiter(self._body)


class InProcessTransport:
    """Both seams at once: the gateway calls, the in-process workers serve."""

    def __init__(self, *, concurrency: int, max_inflight: int) -> None:
        self._handlers: dict[Route, Handler] = {}
        self._slots = {route: asyncio.Semaphore(concurrency) for route in Route}
        self._max_inflight = max_inflight
        self._inflight = 0
        self._closed = False

    async def serve(self, route: Route, handler: Handler) -> None:
        self._handlers[route] = handler

    async def ready(self) -> bool:
        return not self._closed and len(self._handlers) == len(Route)

    async def close(self) -> None:
        self._closed = True

    async def submit(self, call: Call, payload: bytes | memoryview = b"") -> None:
        """Embedded mode has no durable queue, so an asynchronous request is
        executed before ``submit`` returns: "accepted" then also means stored."""
        result = await self.call(call, payload)
        if isinstance(result.answer.reply, Failure):
            log.warning(
                "asynchronous request failed: %s",
                result.answer.reply.code,
                extra={"request_id": call.request_id},
            )

    async def call(
        self, call: Call, payload: bytes | memoryview = b"", body: UploadBody | None = None
    ) -> Result:
        route = type(call.request).ROUTE
        handler = self._handlers.get(route)
        if handler is None or self._closed:
            raise TransportError("ServiceUnavailable", f"no {route.name.lower()} worker is running")
        if self._inflight >= self._max_inflight:
            raise TransportError("SlowDown", "too many requests in flight; reduce your rate")
        self._inflight += 1
        try:
            frame = encode_call(call, payload)
            if body is not None:
                # A streamed upload runs as long as the client sends; the body
                # reader's idle timeout bounds it instead of the deadline.
                async with self._slots[route]:
                    return await self._serve_one(handler, frame, _HandedBody(body))
            async with asyncio.timeout(max(call.remaining(), 0)):
                async with self._slots[route]:
                    return await self._serve_one(handler, frame, None)
        except TimeoutError:
            raise TransportError(
                "ServiceUnavailable", f"no {route.name.lower()} worker answered in time"
            ) from None
        finally:
            self._inflight -= 1

    async def _serve_one(self, handler: Handler, frame: bytes, body: IncomingBody | None) -> Result:
        call, payload = decode_call(frame)
        with request_context(call.request_id):
            out: Outgoing
            try:
                reply, out = await handler(call, body or InlineBody(payload))
            except (ContractError, asyncio.CancelledError):
                raise
            except Exception:
                log.exception("handler crashed", extra={"op": type(call.request).__name__})
                reply = Failure(code="InternalError", message="We encountered an internal error.")
                out = b""
        if isinstance(out, bytes | memoryview):
            answer, data = decode_answer(
                encode_answer(Answer(request_id=call.request_id, reply=reply), out)
            )
            return Result(answer=answer, payload=data)
        answer, _ = decode_answer(encode_answer(Answer(request_id=call.request_id, reply=reply)))
        return Result(answer=answer, stream=out)
