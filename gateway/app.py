"""The gateway's ASGI application: the S3 API beside FastAPI routes.

Requests under ``/_sangraha/`` (a path that can never be a bucket: bucket
names cannot start with ``_``) go to FastAPI: liveness and readiness.  All
other requests are S3 and go to the plain-ASGI :class:`~gateway.s3app.S3App`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from gateway.credentials import Credentials
from gateway.http import Receive, Scope, Send
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

    def __init__(self, admin: FastAPI, s3: S3App) -> None:
        self.admin = admin
        self.s3 = s3

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(ADMIN_PREFIX + "/"):
            await self.s3(scope, receive, send)
        else:
            await self.admin(scope, receive, send)


def build_app(
    settings: Settings, transport: Transport, *, readiness: ReadinessCheck | None = None
) -> GatewayApp:
    credentials = Credentials(settings.access_key, settings.secret_key)
    return GatewayApp(_admin_api(transport, readiness), S3App(settings, transport, credentials))
