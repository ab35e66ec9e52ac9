"""Send contract calls from the gateway: deadline, transport errors, failures.

Both the S3 API and the native REST API turn HTTP into contract requests and
use this one path, so deadlines and error translation are the same for both.
"""

from __future__ import annotations

import time

from s3compat.errors import S3Error
from sangraha.contract import AnyReply, AnyRequest, Call, Failure
from sangraha.settings import Settings
from sangraha.transport.base import Outgoing, Transport, TransportError, UploadBody

__all__ = ["Caller"]


class Caller:
    def __init__(self, settings: Settings, transport: Transport) -> None:
        self._settings = settings
        self.transport = transport

    def new_call(self, request_id: str, request: AnyRequest, timeout: float | None = None) -> Call:
        return Call(
            request_id=request_id,
            deadline=time.time() + (timeout or self._settings.request_timeout),
            request=request,
        )

    async def call(
        self,
        request_id: str,
        request: AnyRequest,
        payload: bytes | memoryview = b"",
        body: UploadBody | None = None,
    ) -> tuple[AnyReply, Outgoing]:
        """Run one request; returns the success reply and its bytes (inline, or
        a stream the caller must exhaust or close), raises S3Error otherwise."""
        try:
            result = await self.transport.call(self.new_call(request_id, request), payload, body)
        except TransportError as exc:
            raise S3Error(exc.code, exc.message) from None
        reply = result.answer.reply
        if isinstance(reply, Failure):
            await result.aclose()
            try:
                error = S3Error(reply.code, reply.message, headers=reply.headers)
            except ValueError:
                error = S3Error("InternalError", f"{reply.code}: {reply.message}")
            raise error
        return reply, result.stream if result.stream is not None else result.payload

    async def submit(
        self, request_id: str, request: AnyRequest, payload: bytes | memoryview, timeout: float
    ) -> None:
        """Hand a request over for asynchronous execution: returns once the
        transport holds it durably (persistent, publisher-confirmed on
        RabbitMQ); raises S3Error when it could not be accepted."""
        try:
            await self.transport.submit(self.new_call(request_id, request, timeout), payload)
        except TransportError as exc:
            raise S3Error(exc.code, exc.message) from None
