"""JSON logging: one line per event, every line carrying the request ID.

The request ID lives in a context variable, so every log call made while
serving a request (in the gateway or in a worker) carries it without being
passed around.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from typing import Any

__all__ = ["JsonLineFormatter", "current_request_id", "request_context", "setup_logging"]

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


# Attributes every LogRecord has: anything else on a record came from ``extra``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
_encoder = json.JSONEncoder(ensure_ascii=False, default=str)


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601, milliseconds), level,
    logger, message, the record's ``extra`` fields, request_id and role.

    Written for the hot path (a line per request in every process): no
    per-record strftime, no generic field machinery (docs/decisions.md).
    Tracebacks only at DEBUG level; otherwise an exception is its one-line
    message."""

    def __init__(self, role: str) -> None:
        super().__init__()
        self._role = role
        self._second = -1
        self._prefix = ""

    def _time(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": self._time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD:
                line[key] = value
        line.setdefault("request_id", _request_id.get())
        line["role"] = self._role
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return _encoder.encode(line)

    def formatException(self, ei: Any) -> str:
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            return super().formatException(ei)
        exc = ei[1] if isinstance(ei, tuple) else None
        return f"{type(exc).__name__}: {exc}"


def setup_logging(role: str, level: str = "INFO") -> None:
    """Configure the root logger for a process playing ``role``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLineFormatter(role))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiormq", "aio_pika", "botocore", "aiobotocore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
