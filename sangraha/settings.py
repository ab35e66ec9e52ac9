"""Settings: built once at start-up from ``SANGRAHA_*`` environment variables.

Every variable ``SANGRAHA_X`` may instead be given as ``SANGRAHA_X_FILE``
naming a file whose content (stripped) is the value: that is how Docker Swarm
secrets reach the services.  The full table is in ``docs/configuration.md``.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = ["ENV_VARS", "Settings", "SettingsError"]

MiB = 1024 * 1024


class SettingsError(ValueError):
    """A setting is missing or malformed."""


def _default_instance() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True, slots=True)
class Settings:
    """All configuration of one Sangraha process."""

    # Credentials clients sign with (the root key).
    access_key: str = ""
    secret_key: str = field(default="", repr=False)
    # Further access keys with per-bucket grants (TOML or .json; docs/security.md).
    credentials_file: str = ""
    region: str = "us-east-1"
    # RabbitMQ.
    amqp_url: str = field(default="amqp://guest:guest@127.0.0.1:5672/", repr=False)
    # The S3 store behind the workers.
    s3_endpoint: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = field(default="", repr=False)
    s3_region: str = "us-east-1"
    # Gateway.
    host: str = "127.0.0.1"
    port: int = 8000
    domain: str = ""
    # TLS listener: both PEM files, or neither for plain HTTP.
    tls_cert_file: str = ""
    tls_key_file: str = ""
    request_timeout: float = 30.0
    max_inflight: int = 512
    max_inline_bytes: int = 16 * MiB
    max_header_bytes: int = 16 * 1024
    # A request line and headers must arrive within head_timeout seconds and
    # head_max_bytes bytes (gateway/protocol.py: slowloris, giant headers).
    head_timeout: float = 20.0
    head_max_bytes: int = 64 * 1024
    # Request body bytes one gateway holds in memory at once (503 SlowDown
    # beyond, after body_budget_wait seconds).
    max_buffered_bytes: int = 512 * MiB
    body_budget_wait: float = 10.0
    # Streams: bodies over max_inline_bytes travel as chunks of this size, at
    # most stream_window unacknowledged; a side silent for stream_idle_timeout
    # seconds aborts the stream.
    stream_chunk_bytes: int = 1 * MiB
    stream_window: int = 8
    stream_idle_timeout: float = 30.0
    # Workers and queues.
    prefetch: int = 32
    queue_max_length: int = 20000
    max_deliveries: int = 3
    storage_timeout: float = 25.0
    s3_pool_size: int = 64
    heartbeat_file: str = "/tmp/sangraha-heartbeat"  # noqa: S108 - container-local
    # Identity and logging.
    instance_id: str = field(default_factory=_default_instance)
    log_level: str = "INFO"
    # Embedded mode.
    data_dir: str = "./sangraha-data"
    # Native REST API (docs/native-api.md).
    native_bucket: str = "sangraha-objects"
    native_status_bucket: str = "sangraha-objects-status"
    native_max_bytes: int = 16 * MiB
    native_sniff_bytes: int = 2048
    native_async_timeout: float = 600.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every field from ``SANGRAHA_<FIELD>`` (or ``..._FILE``)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = _lookup(env, "SANGRAHA_" + f.name.upper())
            if raw is None:
                continue
            values[f.name] = _convert(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def require(self, *names: str) -> None:
        """Fail clearly when a role starts without a setting it needs."""
        missing = [n for n in names if not getattr(self, n)]
        if missing:
            raise SettingsError(
                "missing settings: " + ", ".join("SANGRAHA_" + n.upper() for n in missing)
            )


ENV_VARS: frozenset[str] = frozenset("SANGRAHA_" + f.name.upper() for f in fields(Settings))


def _lookup(env: Mapping[str, str], name: str) -> str | None:
    if name in env:
        return env[name]
    path = env.get(name + "_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise SettingsError(f"{name}_FILE: cannot read {path}: {exc.strerror}") from None
    return None


def _convert(name: str, kind: Any, raw: str) -> Any:
    kind_name = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    try:
        if kind_name == "int":
            return int(raw)
        if kind_name == "float":
            return float(raw)
    except ValueError:
        raise SettingsError(f"SANGRAHA_{name.upper()}: {raw!r} is not a {kind_name}") from None
    return raw
