"""The S3 ASGI application: authenticate, route, run one operation, answer.

Every request gets a request ID, used as the AMQP correlation ID, logged on
every line of every hop, and returned as ``x-amz-request-id``.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from gateway import access
from gateway.budget import ByteBudget
from gateway.caller import Caller
from gateway.credentials import Credentials
from gateway.http import ClientGone, Receive, Request, Response, Scope, Send, send_response
from gateway.s3ops import OPERATIONS, Context
from s3compat import routing, sigv2, sigv4
from s3compat.errors import S3Error, render_error_xml
from sangraha.contract import AnyReply, AnyRequest
from sangraha.logs import request_context
from sangraha.settings import Settings
from sangraha.transport.base import Outgoing, Transport, UploadBody

__all__ = ["S3App", "new_request_id"]

log = logging.getLogger(__name__)


_ID_BYTES = 8
_ids = b""  # random bytes not yet handed out, read from the OS 512 IDs at a time
_ids_lock = threading.Lock()


def new_request_id() -> str:
    """16 upper-case hex digits of OS randomness, as AWS's request IDs look
    (one getrandom call per 512 IDs instead of one per request)."""
    global _ids
    with _ids_lock:
        if not _ids:
            _ids = secrets.token_bytes(_ID_BYTES * 512)
        piece, _ids = _ids[:_ID_BYTES], _ids[_ID_BYTES:]
    return piece.hex().upper()


def _check_version_id(route: routing.S3Route, query: Mapping[str, str]) -> None:
    """Objects have one version, S3's ``null`` (buckets are never
    versioned): ``?versionId=null`` names it, any other ID is refused as S3
    refuses an ID that cannot belong to the bucket."""
    version_id = query.get("versionId")
    if route.key is not None and version_id is not None and version_id != "null":
        raise S3Error(
            "InvalidArgument",
            "Invalid version id specified",
            extra={"ArgumentName": "versionId", "ArgumentValue": version_id[:1024]},
        )


class S3App:
    """A plain ASGI callable serving the S3 API."""

    def __init__(self, settings: Settings, transport: Transport, credentials: Credentials) -> None:
        self._settings = settings
        self._caller = Caller(settings, transport)
        self._budget = ByteBudget(settings.max_buffered_bytes, settings.body_budget_wait)
        self._credentials = credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = new_request_id()
        with request_context(request_id):
            await self._serve(scope, receive, send, request_id)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        started = time.perf_counter()
        operation = "-"
        method = scope.get("method", "-")
        resource = scope.get("path", "/")
        try:
            request = Request.from_scope(
                scope, receive, request_id, self._settings.max_header_bytes
            )
            resource = request.path
            if sigv2.is_presigned(request.raw_query, request.header_list):
                # boto3's and aws CLI v1's default presigned URLs (us-east-1).
                auth = sigv2.authenticate_presigned(
                    request.method,
                    request.raw_path,
                    request.raw_query,
                    request.header_list,
                    lookup_secret=self._credentials.secret_for,
                    region=self._settings.region,
                    now=datetime.now(UTC),
                    host=request.headers.get("host"),
                    domain=self._settings.domain or None,
                )
            else:
                auth = sigv4.authenticate(
                    request.method,
                    request.raw_path,
                    request.raw_query,
                    request.header_list,
                    lookup_secret=self._credentials.secret_for,
                    region=self._settings.region,
                    now=datetime.now(UTC),
                )
            route = routing.resolve(
                request.method,
                request.path,
                request.query,
                request.headers,
                host=request.headers.get("host"),
                domain=self._settings.domain or None,
            )
            operation = route.operation
            # Permissions: after authentication and routing, before any call.
            decision = access.authorize(
                self._credentials.grant_for(auth.access_key), route, request.headers
            )
            handler = OPERATIONS.get(operation)
            if handler is None:
                raise S3Error("NotImplemented", f"{operation} is not implemented by Sangraha.")
            _check_version_id(route, request.query)

            async def send_call(
                contract_request: AnyRequest, payload: bytes, upload: UploadBody | None = None
            ) -> tuple[AnyReply, Outgoing]:
                decision.guard(contract_request)
                reply, body = await self._caller.call(request_id, contract_request, payload, upload)
                return decision.filter_reply(reply), body

            ctx = Context(
                request=request,
                route=route,
                auth=auth,
                settings=self._settings,
                send=send_call,
                budget=self._budget,
            )
            response = await handler(ctx)
        except ClientGone:
            log.info("client disconnected mid-request", extra={"op": operation})
            return
        except S3Error as error:
            response = _error_response(error, request_id, resource, head=method == "HEAD")
        except Exception:
            log.exception("unhandled error", extra={"op": operation})
            response = _error_response(
                S3Error("InternalError"), request_id, resource, head=method == "HEAD"
            )
        if response.status >= 400 and _expects_continue(scope):
            # Refused before "100 Continue": the client will not send the body
            # uvicorn still waits for, and would take the next request's bytes
            # for it.  Close instead.  (Without Expect, the client sends the
            # body anyway and uvicorn discards it: the connection stays usable.)
            response.headers.append(("connection", "close"))
        response.headers.append(("x-amz-request-id", request_id))
        response.headers.append(("x-amz-id-2", request_id))
        response.headers.append(("server", "Sangraha"))
        try:
            await send_response(send, response)
        except Exception as exc:
            # Headers are out: the only honest signal left is to drop the
            # connection, so the client never takes a short body as complete.
            log.warning("response stream broke: %s", exc, extra={"op": operation, "status": 0})
            raise
        log.info(
            "%s %s -> %d",
            method,
            resource,
            response.status,
            extra={
                "op": operation,
                "status": response.status,
                "ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )


def _expects_continue(scope: Scope) -> bool:
    return any(
        name == b"expect" and b"100-continue" in value.lower()
        for name, value in scope.get("headers", [])
    )


def _error_response(error: S3Error, request_id: str, resource: str, *, head: bool) -> Response:
    headers = list(error.headers.items())
    if error.status == 304:
        return Response(304, headers)
    if error.code == "ServiceUnavailable" or error.code == "SlowDown":
        headers.append(("retry-after", "1"))
    body = render_error_xml(error, request_id, resource)
    return Response(
        error.status,
        [("content-type", "application/xml"), *headers],
        body,
        head_only=head,
    )
