"""Access keys the gateway accepts, and what each may do.

The root key (``SANGRAHA_ACCESS_KEY`` / ``SANGRAHA_SECRET_KEY``) may do
everything.  Further keys, each with read and/or write grants on named
buckets or on ``"*"``, come from the credentials file named by
``SANGRAHA_CREDENTIALS_FILE``: TOML, or JSON when the name ends in
``.json``, with the same structure (see ``docs/security.md``)::

    [[keys]]
    access_key = "reports"
    secret_key = "a-long-random-secret"
    read = ["reports", "logs"]     # bucket names, or "*" for every bucket
    write = ["reports"]

The file is read once at start-up; a malformed one stops the process with a
:class:`CredentialsError` naming the problem.  Signatures are compared in
constant time (:mod:`s3compat.sigv4`); secrets never appear in reprs or logs.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.access import ALL_BUCKETS, Grant
from s3compat import names
from s3compat.errors import S3Error
from sangraha.settings import Settings, SettingsError

__all__ = ["Credentials", "CredentialsError", "load_keys"]

log = logging.getLogger(__name__)

_ACCESS_KEY = re.compile(r"[A-Za-z0-9._~+=@-]{3,128}")
_MIN_SECRET = 8
_KEY_FIELDS = frozenset({"access_key", "secret_key", "read", "write"})


class CredentialsError(SettingsError):
    """The credentials file is unreadable or malformed."""


@dataclass(frozen=True, slots=True)
class _Key:
    secret: str = field(repr=False)
    grant: Grant


@dataclass(frozen=True, slots=True)
class Credentials:
    root_access_key: str
    root_secret_key: str = field(repr=False)
    keys: Mapping[str, _Key] = field(default_factory=dict, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Credentials:
        keys = load_keys(Path(settings.credentials_file)) if settings.credentials_file else {}
        if settings.access_key in keys:
            raise CredentialsError(
                f"{settings.credentials_file}: access key {settings.access_key!r} is the root "
                "key (SANGRAHA_ACCESS_KEY); give file keys their own names"
            )
        return cls(settings.access_key, settings.secret_key, keys)

    def _is_root(self, access_key: str) -> bool:
        return bool(self.root_access_key) and hmac.compare_digest(
            access_key.encode(), self.root_access_key.encode()
        )

    def secret_for(self, access_key: str) -> str | None:
        """The secret of ``access_key``, or None when the key is unknown."""
        if self._is_root(access_key):
            return self.root_secret_key
        key = self.keys.get(access_key)
        return key.secret if key is not None else None

    def grant_for(self, access_key: str) -> Grant:
        """What ``access_key`` may do (nothing, for a key that is not known)."""
        if self._is_root(access_key):
            return Grant(access_key, root=True)
        key = self.keys.get(access_key)
        return key.grant if key is not None else Grant(access_key)


def _buckets(where: str, name: str, value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CredentialsError(f'{where}: "{name}" must be a list of bucket names or "*"')
    for bucket in value:
        if bucket == ALL_BUCKETS:
            continue
        try:
            names.validate_bucket_name(bucket)
        except S3Error as exc:
            raise CredentialsError(f'{where}: "{name}" has {bucket!r}: {exc.message}') from None
    return frozenset(value)


def _parse_key(where: str, entry: Any) -> tuple[str, _Key]:
    if not isinstance(entry, dict):
        raise CredentialsError(f"{where}: each key must be a table/object")
    unknown = sorted(set(entry) - _KEY_FIELDS)
    if unknown:
        raise CredentialsError(
            f"{where}: unknown field(s) {', '.join(unknown)}; "
            f"expected {', '.join(sorted(_KEY_FIELDS))}"
        )
    access_key = entry.get("access_key")
    if not isinstance(access_key, str) or not _ACCESS_KEY.fullmatch(access_key):
        raise CredentialsError(
            f"{where}: access_key must be 3-128 characters of letters, digits and ._~+=@-"
        )
    where = f"{where} ({access_key})"
    secret = entry.get("secret_key")
    if not isinstance(secret, str) or len(secret) < _MIN_SECRET:
        raise CredentialsError(f"{where}: secret_key must be a string of at least 8 characters")
    grant = Grant(
        access_key,
        read=_buckets(where, "read", entry.get("read", [])),
        write=_buckets(where, "write", entry.get("write", [])),
    )
    if not grant.read and not grant.write:
        log.warning("%s has neither read nor write grants: it can reach no bucket", where)
    return access_key, _Key(secret, grant)


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialsError(f"credentials file {path}: cannot read it: {exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("credentials file %s is readable by other users; chmod 600 it", path)
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise CredentialsError(f"credentials file {path}: not valid: {exc}") from None


def load_keys(path: Path) -> dict[str, _Key]:
    """Parse a credentials file into access key -> (secret, grant)."""
    document = _read(path)
    if not isinstance(document, dict) or set(document) - {"keys"}:
        raise CredentialsError(f'credentials file {path}: expected one top-level "keys" list')
    entries = document.get("keys", [])
    if not isinstance(entries, list):
        raise CredentialsError(f'credentials file {path}: "keys" must be a list')
    keys: dict[str, _Key] = {}
    for index, entry in enumerate(entries):
        access_key, key = _parse_key(f"{path}: keys[{index}]", entry)
        if access_key in keys:
            raise CredentialsError(f"{path}: access key {access_key!r} appears twice")
        keys[access_key] = key
    return keys
