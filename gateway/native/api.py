"""The native REST API of the original Sangraha, as a FastAPI application.

This module declares the routes and their OpenAPI document; the handlers
(:mod:`gateway.native.handlers`) do the work; every error leaves through one
JSON shape (:mod:`gateway.native.errors`).  :class:`NativeApp` wraps the
FastAPI app to give each request an ID (``X-Request-Id``, and the correlation
ID of its contract calls) and one log line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, cast

from fastapi import Depends, FastAPI, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.caller import Caller
from gateway.credentials import Credentials
from gateway.http import ClientGone, Message, Receive, Scope, Send
from gateway.native.errors import CODES, ErrorBody, NativeError, error_body, from_s3
from gateway.native.handlers import Handlers, request_id_of
from gateway.native.models import (
    JSON_DOCUMENT_SCHEMA,
    Health,
    ObjectAccepted,
    ObjectCreated,
    ObjectDeleted,
    ObjectPage,
    UploadStatus,
)
from gateway.native.naming import ObjectType
from gateway.native.pagination import MAX_PAGE_SIZE
from gateway.native.store import NativeStore
from s3compat.errors import S3Error
from sangraha.logs import request_context
from sangraha.settings import Settings

__all__ = ["NativeApp", "build_native_app"]

log = logging.getLogger(__name__)

_DESCRIPTIONS = {
    400: "Malformed request: bad JSON, a missing field, a bad query parameter.",
    401: "No credentials, or malformed ones (a Basic challenge is sent).",
    403: "Wrong credentials, or a key without access to the native bucket.",
    404: "No object with this id.",
    408: "The client stopped sending the body.",
    413: "The upload is over the configured size limit.",
    415: "The file is not of this endpoint's type; the message says what was detected.",
    503: "The broker, the workers or the storage are unavailable; retry later.",
}
_AUTH_ERRORS = (401, 403, 503)
_SECURITY_DOC = (
    "Your access key and secret key as the user name and password (the same "
    "keys that sign S3 requests).  Use TLS outside a trusted network."
)


_basic = HTTPBasic(auto_error=False, scheme_name="accessKey", description=_SECURITY_DOC)
_BasicCredentials = Annotated[HTTPBasicCredentials | None, Security(_basic)]


def _only_query(*allowed: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency refusing query parameters the route does not define
    (a misspelt ``pagesize`` should not be silently ignored)."""

    async def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - set(allowed))
        if unknown:
            raise NativeError(400, f"Unknown query parameter {unknown[0]!r}.")

    return check


_no_query = _only_query()
_list_query = _only_query("type", "page", "page_size")


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": ErrorBody, "description": _DESCRIPTIONS[s]} for s in statuses}


def _multipart_body(kind: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {
                                "type": "string",
                                "format": "binary",
                                "description": f"The {kind} file; its type is detected "
                                "from its first bytes.",
                            }
                        },
                    }
                }
            },
        }
    }


def _error_response(error: NativeError, request: Request) -> JSONResponse:
    return JSONResponse(
        error_body(error, request_id_of(request)), status_code=error.status, headers=error.headers
    )


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body"))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg")))
    return "; ".join(parts) or "The request is not valid."


def _allowed(request: Request) -> str:
    """The methods of the path template this path belongs to, as OpenAPI
    documents it: the most literal matching template (``/objects/image``
    before ``/objects/{object_id}``).  Starlette's own Allow names only the
    first route that matches."""
    matching: dict[str, set[str]] = {}
    for route in request.app.router.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(request.url.path):
            template = str(getattr(route, "path_format", ""))
            matching.setdefault(template, set()).update(getattr(route, "methods", None) or ())
    if not matching:
        return ""
    best = max(matching, key=lambda t: ("{" not in t, len(t.split("{", 1)[0])))
    return ", ".join(sorted(matching[best]))


def _install_error_handlers(api: FastAPI) -> None:
    async def native_error(request: Request, exc: Exception) -> JSONResponse:
        return _error_response(cast(NativeError, exc), request)

    async def s3_error(request: Request, exc: Exception) -> JSONResponse:
        return _error_response(from_s3(cast(S3Error, exc)), request)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        message = _validation_message(cast(RequestValidationError, exc))
        return _error_response(NativeError(400, message), request)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        http = cast(StarletteHTTPException, exc)
        if http.status_code == 401:
            error = NativeError.unauthorized("The Basic credentials are malformed.")
        elif http.status_code == 404:
            error = NativeError(404, "No such endpoint.")
        elif http.status_code == 405:
            error = NativeError(405, "Method not allowed.", {"allow": _allowed(request)})
        else:
            status = http.status_code if http.status_code in CODES else 400
            error = NativeError(status, str(http.detail), dict(http.headers or {}))
        return _error_response(error, request)

    async def client_gone(request: Request, exc: Exception) -> JSONResponse:
        return _error_response(NativeError(400, "The client disconnected."), request)

    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error in the native API")
        return _error_response(NativeError(500, "Internal error."), request)

    api.add_exception_handler(NativeError, native_error)
    api.add_exception_handler(S3Error, s3_error)
    api.add_exception_handler(RequestValidationError, validation_error)
    api.add_exception_handler(StarletteHTTPException, http_error)
    api.add_exception_handler(ClientGone, client_gone)
    api.add_exception_handler(Exception, internal)


def _build_fastapi(routes: Handlers) -> FastAPI:
    api = FastAPI(
        title="Sangraha native API",
        version="1.0",
        description=(
            "The original Sangraha REST API for JSON documents, images and PDFs, served "
            "beside the S3 API on the same port and stored in the same bucket "
            f"({routes.store.bucket!r}).  Requests without AWS SigV4 authentication on "
            "these paths are native; see docs/native-api.md."
        ),
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    _install_error_handlers(api)

    async def documented(_: _BasicCredentials) -> None:
        """Declares the Basic scheme in OpenAPI; the routes check credentials."""

    secured = [Depends(documented), Depends(_no_query)]
    by_id = {"object_id": "$response.body#/id"}
    post_responses: dict[int | str, dict[str, Any]] = {
        201: {
            "links": {
                "GetObject": {"operationId": "get_object", "parameters": by_id},
                "DeleteObject": {"operationId": "delete_object", "parameters": by_id},
            }
        },
        202: {
            "model": ObjectAccepted,
            "description": "Accepted (Prefer: respond-async).",
            "links": {"GetUploadStatus": {"operationId": "upload_status", "parameters": by_id}},
        },
    }

    @api.get(
        "/health",
        response_model=Health,
        dependencies=[Depends(_no_query)],
        responses=_errors(400),
        tags=["health"],
        operation_id="health",
    )
    async def health() -> Health:
        """Liveness: the gateway answers HTTP.  No credentials needed."""
        return Health()

    @api.post(
        "/objects",
        status_code=201,
        response_model=ObjectCreated,
        dependencies=secured,
        responses={**post_responses, **_errors(400, 408, 413, *_AUTH_ERRORS)},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": JSON_DOCUMENT_SCHEMA}},
            },
            "parameters": [_PREFER],
        },
        tags=["objects"],
        operation_id="post_json",
    )
    async def post_json(request: Request) -> JSONResponse:
        """Store a JSON document ``{"data": ...}`` as application/json."""
        return await routes.post_json(request)

    def file_route(kind: ObjectType, label: str) -> None:
        async def post_file(request: Request) -> JSONResponse:
            return await routes.post_file(request, kind)

        post_file.__doc__ = (
            f"Upload {label} as multipart/form-data (field ``file``).  It is accepted only "
            f"if libmagic detects {'an image/* type' if kind == 'image' else 'application/pdf'} "
            "in its first bytes; the declared type and the extension are ignored."
        )
        api.post(
            f"/objects/{kind}",
            status_code=201,
            response_model=ObjectCreated,
            dependencies=secured,
            responses={**post_responses, **_errors(400, 408, 413, 415, *_AUTH_ERRORS)},
            openapi_extra={**_multipart_body(kind), "parameters": [_PREFER]},
            tags=["objects"],
            name=f"post_{kind}",
            operation_id=f"post_{kind}",
        )(post_file)

    file_route("image", "an image")
    file_route("pdf", "a PDF")

    @api.get(
        "/objects",
        response_model=ObjectPage,
        dependencies=[Depends(documented), Depends(_list_query)],
        responses=_errors(400, *_AUTH_ERRORS),
        tags=["objects"],
        operation_id="list_objects",
    )
    async def list_objects(
        request: Request,
        type: Annotated[
            ObjectType | None, Query(description="List one type; all types when absent.")
        ] = None,
        page: Annotated[int, Query(ge=1, le=10**9)] = 1,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 10,
    ) -> ObjectPage:
        """List objects of a type, a page at a time, in creation order."""
        return await routes.list_objects(request, type, page, page_size)

    @api.get(
        "/objects/status/{object_id:path}",
        response_model=UploadStatus,
        dependencies=secured,
        responses=_errors(404, *_AUTH_ERRORS),
        tags=["objects"],
        operation_id="upload_status",
    )
    async def upload_status(request: Request, object_id: str) -> UploadStatus:
        """The outcome of an upload: pending, stored or failed."""
        return await routes.upload_status(request, object_id)

    @api.get(
        "/objects/{object_id:path}",
        response_class=Response,
        dependencies=secured,
        responses={
            200: {
                "description": "The JSON document, or the file with its Content-Type and "
                "a Content-Disposition carrying its original filename.  Objects stored "
                "through S3 under a native prefix keep the type they were stored with.",
                "content": {
                    "application/json": {"schema": {}},
                    "image/*": {"schema": {"type": "string", "format": "binary"}},
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                    "*/*": {"schema": {"type": "string", "format": "binary"}},
                },
            },
            **_errors(404, *_AUTH_ERRORS),
        },
        tags=["objects"],
        operation_id="get_object",
    )
    async def get_object(request: Request, object_id: str) -> Response:
        """Download an object by id."""
        return await routes.get_object(request, object_id)

    @api.delete(
        "/objects/{object_id:path}",
        response_model=ObjectDeleted,
        dependencies=secured,
        responses=_errors(404, *_AUTH_ERRORS),
        tags=["objects"],
        operation_id="delete_object",
    )
    async def delete_object(request: Request, object_id: str) -> ObjectDeleted:
        """Delete an object by id."""
        return await routes.delete_object(request, object_id)

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            api.openapi_schema = _clean_openapi(
                get_openapi(
                    title=api.title,
                    version=api.version,
                    description=api.description,
                    routes=api.routes,
                )
            )
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
    return api


_PREFER = {
    "name": "Prefer",
    "in": "header",
    "required": False,
    "description": "RFC 7240 preferences.  respond-async: answer 202 once the upload is "
    "queued durably, with a status URL, instead of 201 once it is stored.  Other "
    "preferences are ignored.",
    "schema": {"type": "string"},
}


def _clean_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Validation errors answer 400 in the error shape, not FastAPI's 422."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
    schemas = schema.get("components", {}).get("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    return schema


class NativeApp:
    """The FastAPI app behind a thin ASGI layer: request ID, log line, and a
    last-resort guard (FastAPI re-raises what its 500 handler answered)."""

    def __init__(self, api: FastAPI, store: NativeStore) -> None:
        self.api = api
        self.store = store

    async def prepare(self, retry_every: float = 2.0) -> None:
        """Create the native buckets at start-up, retrying until the workers
        and storage answer (in a swarm they may start after the gateway).
        Requests also create them on first use, so this is only eager."""
        while True:
            try:
                await self.store.ensure_buckets("startup-native-buckets")
                log.info("native buckets ready", extra={"bucket": self.store.bucket})
                return
            except NativeError as exc:
                log.info("native buckets not created yet (%s); retrying", exc.message)
                await asyncio.sleep(retry_every)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from gateway.s3app import new_request_id

        request_id = new_request_id()
        state = dict(scope.get("state") or {})
        state["request_id"] = request_id
        scope = {**scope, "state": state}
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with request_context(request_id):
            try:
                await self.api(scope, receive, send_with_id)
            except Exception:  # already answered 500 by the handler
                if status == 0:
                    raise
            log.info(
                "%s %s -> %d",
                scope.get("method", "-"),
                scope.get("path", "/"),
                status,
                extra={
                    "op": "native",
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )


def build_native_app(settings: Settings, caller: Caller, credentials: Credentials) -> NativeApp:
    handlers = Handlers(settings, caller, credentials)
    return NativeApp(_build_fastapi(handlers), handlers.store)
