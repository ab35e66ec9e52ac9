"""uvicorn's httptools protocol with a deadline and a size cap on request heads.

uvicorn bounds neither how long a client may take to send a request line and
headers nor how many header bytes it may send: a client trickling one header
byte at a time holds a connection (and its parsed headers) forever
("slowloris"), and httptools accepts a 16 MiB header (DESIGN.md, hardening
facts).  This protocol refuses both with an S3 error document and closes the
connection:

* a head (request line and headers) not complete ``head_timeout`` seconds
  after the connection opened, or after its first byte arrived on a kept-alive
  connection: ``400 RequestTimeout``;
* a head still incomplete after ``max_head_bytes``: ``400
  RequestHeaderSectionTooLarge``.

Idle kept-alive connections are uvicorn's own business (its keep-alive
timeout); a request's body has its own idle deadline in the gateway.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from s3compat.errors import S3Error, render_error_xml
from sangraha.logs import request_context

__all__ = ["guarded_protocol"]

log = logging.getLogger(__name__)

# How long a refused connection keeps reading (and dropping) what the client
# still sends before it is closed.
_LINGER_SECONDS = 2.0


class _GuardedHttpToolsProtocol(HttpToolsProtocol):
    head_timeout: float = 20.0
    max_head_bytes: int = 64 * 1024
    new_request_id: Any = None  # set by guarded_protocol()

    _head_timer: asyncio.TimerHandle | None = None
    _in_head = True
    _head_bytes = 0
    _discarding = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._discarding:
            return
        counted = self._in_head
        if counted:
            self._head_bytes += len(data)
            if self._head_timer is None:
                self._start_head_timer()
        super().data_received(data)
        # Still in the head after all of ``data``: every byte of it was head.
        if counted and self._in_head and self._head_bytes > self.max_head_bytes:
            self._refuse(
                "RequestHeaderSectionTooLarge",
                f"the request line and headers exceed {self.max_head_bytes} bytes",
            )

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._stop_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True  # whatever arrives next starts the next head

    def _start_head_timer(self) -> None:
        self._stop_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self._in_head or self.transport.is_closing():
            return
        self._refuse(
            "RequestTimeout",
            f"the request line and headers did not arrive within {self.head_timeout:g}s",
        )

    def _refuse(self, code: str, message: str) -> None:
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A response is still going out on this connection (the client
            # pipelined): cutting it would corrupt it.  Close after it.
            self.cycle.keep_alive = False
            self.flow.pause_reading()
            return
        request_id = self.new_request_id()
        with request_context(request_id):
            log.warning("request head refused: %s", message, extra={"status": 400, "code": code})
        body = render_error_xml(S3Error(code, message), request_id)
        head = (
            b"HTTP/1.1 400 Bad Request\r\n"
            b"content-type: application/xml\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"x-amz-request-id: " + request_id.encode() + b"\r\n"
            b"connection: close\r\n\r\n"
        )
        self.transport.write(head + body)
        # Lingering close: a client still sending its head would get a reset
        # (and could lose this answer) if we closed with its bytes unread.
        # Say we are done writing, drop what it still sends, close shortly.
        self._discarding = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(_LINGER_SECONDS, self.transport.close)


def guarded_protocol(
    head_timeout: float, max_head_bytes: int, new_request_id: Any
) -> type[HttpToolsProtocol]:
    """The protocol class to give uvicorn (``Config(http=...)``)."""
    return type(
        "GuardedHttpToolsProtocol",
        (_GuardedHttpToolsProtocol,),
        {
            "head_timeout": head_timeout,
            "max_head_bytes": max_head_bytes,
            "new_request_id": staticmethod(new_request_id),
        },
    )
