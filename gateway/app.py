"""The gateway's ASGI application: the S3 API beside FastAPI routes.

Requests under ``/_sangraha/`` (a path that can never be a bucket: bucket
names cannot start with ``_``) go to FastAPI: liveness and readiness.  All
other requests are S3 and go to the plain-ASGI :class:`~gateway.s3app.S3App`,
except native REST API requests (:mod:`gateway.native`): a request for a native
path (``/objects``, ``/health``, ``/docs``, ``/openapi.json``) that carries no
AWS signature is native; see :mod:`gateway.native.routing`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from gateway.caller import Caller
from gateway.credentials import Credentials
from gateway.http import Receive, Scope, Send
from gateway.native import NativeApp, build_native_app, is_native
from gateway.s3app import S3App
from sangraha.settings import Settings
from sangraha.transport.base import Transport

__all__ = ["ADMIN_PREFIX", "GatewayApp", "build_app"]

ADMIN_PREFIX = "/_sangraha"
HEALTH_PATH = ADMIN_PREFIX + "/health"
READY_PATH = ADMIN_PREFIX + "/ready"

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]


def _admin_api(transport: Transport, checks: ReadinessCheck | None) -> FastAPI:
    api = FastAPI(title="Sangraha gateway", docs_url=None, redoc_url=None, openapi_url=None)

    @api.get(HEALTH_PATH)
    async def health() -> dict[str, str]:
        """Liveness: the process is up and serving HTTP."""
        return {"status": "ok"}

    @api.get(READY_PATH)
    async def ready() -> JSONResponse:
        """Readiness: the broker (or in-process transport) and storage answer."""
        results = {"transport": await transport.ready()}
        if checks is not None:
            results.update(await checks())
        ok = all(results.values())
        return JSONResponse(
            {"status": "ready" if ok else "unavailable", "checks": results},
            status_code=200 if ok else 503,
        )

    return api


class GatewayApp:
    """Dispatch between the admin API and the S3 API."""

    def __init__(self, admin: FastAPI, s3: S3App, native: NativeApp | None = None) -> None:
        self.admin = admin
        self.s3 = s3
        self.native = native

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(ADMIN_PREFIX + "/"):
            if self.native is not None and is_native(
                scope["path"], scope.get("headers", ()), scope.get("query_string", b"")
            ):
                await self.native(scope, receive, send)
            else:
                await self.s3(scope, receive, send)
        else:
            await self.admin(scope, receive, send)

    async def prepare(self) -> None:
        """Start-up work that may wait for the workers: the native buckets."""
        if self.native is not None:
            await self.native.prepare()


def build_app(
    settings: Settings, transport: Transport, *, readiness: ReadinessCheck | None = None
) -> GatewayApp:
    credentials = Credentials.from_settings(settings)
    native = build_native_app(settings, Caller(settings, transport), credentials)
    return GatewayApp(
        _admin_api(transport, readiness), S3App(settings, transport, credentials), native
    )
