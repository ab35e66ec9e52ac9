"""JSON logging: one line per event, every line carrying the request ID.

The request ID lives in a context variable, so every log call made while
serving a request (in the gateway or in a worker) carries it without being
passed around.
"""

from __future__ import annotations

import contextvars
import logging
import sys

from pythonjsonlogger.json import JsonFormatter

__all__ = ["current_request_id", "request_context", "setup_logging"]

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def current_request_id() -> str:
    return _request_id.get()


class request_context:
    """Bind a request ID to everything logged inside the ``with`` block."""

    def __init__(self, request_id: str) -> None:
        self._request_id = request_id
        self._token: contextvars.Token[str] | None = None

    def __enter__(self) -> str:
        self._token = _request_id.set(self._request_id)
        return self._request_id

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _request_id.reset(self._token)


class _ContextFilter(logging.Filter):
    def __init__(self, role: str) -> None:
        super().__init__()
        self._role = role

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        record.role = self._role
        return True


class _OneLineJsonFormatter(JsonFormatter):
    """Tracebacks only at DEBUG level; otherwise the one-line error message."""

    def formatException(self, ei: object) -> str:
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            return str(super().formatException(ei))
        exc = ei[1] if isinstance(ei, tuple) else None
        return f"{type(exc).__name__}: {exc}"


def setup_logging(role: str, level: str = "INFO") -> None:
    """Configure the root logger for a process playing ``role``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _OneLineJsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_ContextFilter(role))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiormq", "aio_pika", "botocore", "aiobotocore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
