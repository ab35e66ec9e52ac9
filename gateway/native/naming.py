"""Object ids and keys of the native API.

An object's id *is* its key in the native bucket, so an id posted natively is
the key an S3 client sees, and any key under a type's prefix (put with boto3,
say) is a valid native id::

    json/<uuid7>.json
    image/<uuid7>/<filename>
    pdf/<uuid7>/<filename>

Each type has its own prefix, so listing a type is a prefix listing.  The
UUID is version 7 (time-ordered): keys list in creation order, and the
creation time read back from an id bounds how long an asynchronous upload
may stay pending.  The filename is the client's, made safe for a key; the
original is kept in the object's Content-Disposition.
"""

from __future__ import annotations

import re
import secrets
import time
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Literal, get_args
from urllib.parse import quote

__all__ = [
    "TYPES",
    "NativeId",
    "ObjectType",
    "content_disposition",
    "filename_of",
    "new_id",
    "parse_id",
    "prefix_of",
    "safe_filename",
    "uuid7",
]

ObjectType = Literal["json", "image", "pdf"]
TYPES: tuple[ObjectType, ...] = get_args(ObjectType)

MAX_FILENAME_BYTES = 200
MAX_KEY_BYTES = 1024
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
_NATIVE = re.compile(rf"(?P<kind>json|image|pdf)/(?P<uuid>{_UUID})(?:\.json|/(?P<name>[^/]+))\Z")


def uuid7(now: float | None = None) -> uuid.UUID:
    """A version 7 UUID (RFC 9562): 48 bits of Unix milliseconds, then random."""
    ms = int((time.time() if now is None else now) * 1000) & ((1 << 48) - 1)
    value = (ms << 80) | (0x7 << 76) | (secrets.randbits(12) << 64)
    value |= (0b10 << 62) | secrets.randbits(62)
    return uuid.UUID(int=value)


def prefix_of(kind: ObjectType) -> str:
    return f"{kind}/"


def safe_filename(name: str | None, default: str = "file") -> str:
    """The last path segment of ``name`` with anything but letters, digits,
    ``.``, ``-`` and ``_`` replaced by ``_``, at most 200 UTF-8 bytes (the
    extension kept), never empty, ``.`` or ``..``."""
    base = re.split(r"[/\\]", name or "")[-1]
    base = unicodedata.normalize("NFC", base).strip()
    cleaned = "".join(c if (c.isalnum() or c in ".-_") else "_" for c in base)
    cleaned = cleaned.strip(".") or default
    if len(cleaned.encode()) > MAX_FILENAME_BYTES:
        stem, dot, ext = cleaned.rpartition(".")
        ext = ext if dot and 0 < len(ext.encode()) <= 16 else ""
        stem = stem if ext else cleaned
        room = MAX_FILENAME_BYTES - (len(ext.encode()) + 1 if ext else 0)
        stem = stem.encode()[:room].decode(errors="ignore")
        cleaned = f"{stem}.{ext}" if ext else stem
    return cleaned


def new_id(kind: ObjectType, filename: str | None = None, now: float | None = None) -> str:
    """A fresh id (and key) for an object of ``kind``."""
    u = uuid7(now)
    if kind == "json":
        return f"json/{u}.json"
    return f"{kind}/{u}/{safe_filename(filename)}"


@dataclass(frozen=True, slots=True)
class NativeId:
    """An id under a native prefix; ``created`` is known for ids this API
    minted (a UUIDv7 inside), None for other keys under the prefix."""

    kind: ObjectType
    key: str
    created: float | None


def parse_id(object_id: str) -> NativeId | None:
    """The id's type, or None when it is not a key under a native prefix."""
    kind, slash, rest = object_id.partition("/")
    if not slash or not rest or kind not in TYPES or object_id.endswith("/"):
        return None
    try:
        size = len(object_id.encode())
    except UnicodeEncodeError:
        return None
    if size > MAX_KEY_BYTES:
        return None
    match = _NATIVE.match(object_id)
    created = None
    if match is not None:
        created = (uuid.UUID(match["uuid"]).int >> 80) / 1000
    return NativeId(kind=kind, key=object_id, created=created)


def filename_of(key: str) -> str:
    """The filename a download of ``key`` should get: its last segment."""
    return key.rsplit("/", 1)[-1] or "file"


def content_disposition(filename: str, disposition: str = "inline") -> str:
    """``inline; filename="..."; filename*=UTF-8''...`` (RFC 6266): an ASCII
    fallback for old clients and the exact name for the others."""
    fallback = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else "_" for c in filename)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
