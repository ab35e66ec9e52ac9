"""Plain-ASGI request and response primitives for the S3 hot path.

FastAPI's per-request cost is several times a raw ASGI handler's (see
docs/performance.md), so S3 requests are parsed here directly from the ASGI
scope, with our own limits on header size and body read deadlines.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, unquote_plus

from s3compat.errors import S3Error
from sangraha.transport.base import close_stream

__all__ = ["ClientGone", "Request", "Response", "read_body", "send_response"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_MAX_HEADERS = 200


class ClientGone(Exception):
    """The client disconnected before the request body was complete."""


def _parse_query(raw: str) -> dict[str, str]:
    query: dict[str, str] = {}
    if not raw:
        return query
    for part in raw.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        # As on AWS: '+' in a query string is a space; a literal plus is %2B.
        key = unquote_plus(name, errors="strict")
        query.setdefault(key, unquote_plus(value, errors="strict"))
    return query


@dataclass(slots=True)
class Request:
    """One parsed S3 HTTP request."""

    method: str
    raw_path: str
    path: str
    raw_query: str
    query: dict[str, str]
    header_list: list[tuple[str, str]]
    headers: dict[str, str]
    request_id: str
    receive: Receive
    client: str = "-"

    @classmethod
    def from_scope(
        cls, scope: Scope, receive: Receive, request_id: str, max_header_bytes: int
    ) -> Request:
        raw_headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        if len(raw_headers) > _MAX_HEADERS:
            raise S3Error("InvalidRequest", f"more than {_MAX_HEADERS} request headers")
        total = sum(len(n) + len(v) + 4 for n, v in raw_headers)
        if total > max_header_bytes:
            raise S3Error(
                "InvalidRequest",
                f"request headers total {total} bytes; the limit is {max_header_bytes}",
            )
        try:
            # Header bytes map 1:1 onto latin-1 strings, so values round-trip
            # unchanged (clients sign the bytes they send).
            header_list = [
                (n.decode("latin-1").lower(), v.decode("latin-1")) for n, v in raw_headers
            ]
            raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("ascii")
            raw_query = scope.get("query_string", b"").decode("ascii")
            path = unquote(raw_path, errors="strict")
            query = _parse_query(raw_query)
        except UnicodeDecodeError:
            raise S3Error("InvalidURI", "the request URI or headers are not valid UTF-8") from None
        headers: dict[str, str] = {}
        for name, value in header_list:
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        client = scope.get("client")
        return cls(
            method=scope["method"],
            raw_path=raw_path,
            path=path,
            raw_query=raw_query,
            query=query,
            header_list=header_list,
            headers=headers,
            request_id=request_id,
            receive=receive,
            client=f"{client[0]}:{client[1]}" if client else "-",
        )


@dataclass(slots=True)
class Response:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | memoryview = b""
    # HEAD answers carry the GET headers (Content-Length included) and no body.
    head_only: bool = False
    # A large body, streamed: the response ends early (the connection is
    # dropped) if the stream fails, so a client never sees a short body as
    # a complete one.
    stream: AsyncIterator[bytes | memoryview] | None = None


def _header_bytes(value: str) -> bytes:
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


async def send_response(send: Send, response: Response) -> None:
    headers = [(n.encode("latin-1"), _header_bytes(v)) for n, v in response.headers]
    if not any(n == "content-length" for n, _ in response.headers):
        headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if response.stream is not None:
        try:
            async for chunk in response.stream:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            await close_stream(response.stream)
        await send({"type": "http.response.body", "body": b""})
        return
    body = b"" if response.head_only or response.status == 304 else response.body
    # A memoryview goes out as it is: uvicorn hands it to the transport
    # unchanged, and a copy of a 16 MiB inline body costs milliseconds.
    await send({"type": "http.response.body", "body": body})


async def read_body(receive: Receive, idle_timeout: float) -> AsyncIterator[bytes]:
    """Yield the request body as it arrives; a client that sends nothing for
    ``idle_timeout`` seconds gets ``RequestTimeout`` (no slow-loris bodies)."""
    while True:
        try:
            async with asyncio.timeout(idle_timeout):
                message = await receive()
        except TimeoutError:
            raise S3Error("RequestTimeout") from None
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return
