"""ListObjects (V1) and ListObjectsV2 request parameters and continuation tokens.

A continuation token is opaque to clients: ``base64url(version byte, cursor
UTF-8, 4-byte BLAKE2b check)`` without padding.  The same cursor always gives
the same token, and a token only decodes if it is exactly what
:func:`encode_token` produced, so a gateway can echo ``ContinuationToken`` by
re-encoding the cursor.  The check is not a secret: a forged cursor is no more
powerful than ``start-after``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import quote_plus

from s3compat.errors import S3Error

__all__ = [
    "DEFAULT_MAX_KEYS",
    "ListPage",
    "ListParams",
    "decode_token",
    "encode_key",
    "encode_token",
    "paginate",
    "parse_encoding_type",
    "parse_list_v1",
    "parse_list_v2",
    "parse_list_versions",
    "parse_max_keys",
]

DEFAULT_MAX_KEYS = 1000
_INT32_MAX = 2_147_483_647
_TOKEN_VERSION = 1
_CHECK_BYTES = 4
_MAX_TOKEN_CHARS = 4096
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_-]+")
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class ListParams:
    """A listing request, V1 or V2, validated.

    ``start_after`` is V2's ``start-after`` or V1's ``marker``; ``cursor`` is the
    decoded V2 continuation token (it takes precedence over ``start_after``).
    """

    prefix: str
    delimiter: str
    max_keys: int
    start_after: str
    cursor: str | None
    encoding_type: str | None
    fetch_owner: bool
    version: int


def _check(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=_CHECK_BYTES, person=b"sangraha-list").digest()


def encode_token(cursor: str) -> str:
    """An opaque, URL- and XML-safe continuation token for ``cursor``."""
    payload = bytes([_TOKEN_VERSION]) + cursor.encode("utf-8")
    return base64.urlsafe_b64encode(payload + _check(payload)).rstrip(b"=").decode("ascii")


def _bad_token(token: str) -> S3Error:
    return S3Error(
        "InvalidArgument",
        "The continuation token provided is incorrect",
        extra={"ArgumentName": "continuation-token", "ArgumentValue": token[:1024]},
    )


def decode_token(token: str) -> str:
    """The cursor inside ``token``; ``InvalidArgument`` for anything not made by us."""
    if not 0 < len(token) <= _MAX_TOKEN_CHARS or not _TOKEN_CHARS.fullmatch(token):
        raise _bad_token(token)
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise _bad_token(token) from None
    if len(raw) < 1 + _CHECK_BYTES or raw[0] != _TOKEN_VERSION:
        raise _bad_token(token)
    payload, check = raw[:-_CHECK_BYTES], raw[-_CHECK_BYTES:]
    if check != _check(payload):
        raise _bad_token(token)
    try:
        cursor = payload[1:].decode("utf-8")
    except UnicodeDecodeError:
        raise _bad_token(token) from None
    if encode_token(cursor) != token:  # non-canonical base64 (stray trailing bits)
        raise _bad_token(token)
    return cursor


def encode_key(value: str, encoding_type: str | None) -> str:
    """``value`` as it appears in a listing: percent-encoded when ``encoding_type`` is url.

    Encoded like a form value with ``/`` kept (space becomes ``+``), which is
    what S3 emits and exactly what botocore's ``unquote_plus`` undoes.
    """
    if encoding_type != "url":
        return value
    return quote_plus(value, safe="/", errors="surrogatepass")


def parse_max_keys(
    value: str | None,
    *,
    name: str = "maxKeys",
    default: int = DEFAULT_MAX_KEYS,
    limit: int = DEFAULT_MAX_KEYS,
) -> int:
    """A ``max-keys``-style count: default when absent, clamped to ``limit``.

    Not a non-negative 32-bit integer is ``InvalidArgument`` with S3's message.
    """
    if value is None:
        return default
    if not _DIGITS.fullmatch(value) or int(value) > _INT32_MAX:
        raise S3Error(
            "InvalidArgument",
            f"Argument {name} must be an integer between 0 and {_INT32_MAX}",
            extra={"ArgumentName": name, "ArgumentValue": value[:1024]},
        )
    return min(int(value), limit)


def parse_encoding_type(value: str | None) -> str | None:
    """``encoding-type``: absent → None; ``url`` (any case) → "url"; else InvalidArgument."""
    if value is None:
        return None
    if value.lower() != "url":
        raise S3Error(
            "InvalidArgument",
            "Invalid Encoding Method specified in Request",
            extra={"ArgumentName": "encoding-type", "ArgumentValue": value[:1024]},
        )
    return "url"


def parse_list_v2(query: Mapping[str, str]) -> ListParams:
    """ListObjectsV2 (``list-type=2``) parameters."""
    token = query.get("continuation-token")
    return ListParams(
        prefix=query.get("prefix", ""),
        delimiter=query.get("delimiter", ""),
        max_keys=parse_max_keys(query.get("max-keys")),
        start_after=query.get("start-after", ""),
        cursor=decode_token(token) if token is not None else None,
        encoding_type=parse_encoding_type(query.get("encoding-type")),
        fetch_owner=query.get("fetch-owner", "").lower() == "true",
        version=2,
    )


def parse_list_v1(query: Mapping[str, str]) -> ListParams:
    """ListObjects (V1) parameters: ``marker`` becomes ``start_after``; owners always shown."""
    return ListParams(
        prefix=query.get("prefix", ""),
        delimiter=query.get("delimiter", ""),
        max_keys=parse_max_keys(query.get("max-keys")),
        start_after=query.get("marker", ""),
        cursor=None,
        encoding_type=parse_encoding_type(query.get("encoding-type")),
        fetch_owner=True,
        version=1,
    )


def parse_list_versions(query: Mapping[str, str]) -> tuple[ListParams, str]:
    """ListObjectVersions parameters, and the version-id-marker.

    Every object has exactly one version, ``null``, so the key-marker
    alone decides where the page starts (the version after ``(key, null)``
    is the next key's).  A version-id-marker needs a key-marker, and can
    only be ``null``: S3's InvalidArgument otherwise.
    """
    key_marker = query.get("key-marker", "")
    version_id_marker = query.get("version-id-marker", "")
    if version_id_marker and not key_marker:
        raise S3Error(
            "InvalidArgument",
            "A version-id marker cannot be specified without a key marker.",
            extra={"ArgumentName": "version-id-marker", "ArgumentValue": version_id_marker[:1024]},
        )
    if version_id_marker not in ("", "null"):
        raise S3Error(
            "InvalidArgument",
            "Invalid version id specified",
            extra={"ArgumentName": "version-id-marker", "ArgumentValue": version_id_marker[:1024]},
        )
    params = ListParams(
        prefix=query.get("prefix", ""),
        delimiter=query.get("delimiter", ""),
        max_keys=parse_max_keys(query.get("max-keys")),
        start_after=key_marker,
        cursor=None,
        encoding_type=parse_encoding_type(query.get("encoding-type")),
        fetch_owner=True,
        version=1,
    )
    return params, version_id_marker


_T = TypeVar("_T")


@dataclass
class ListPage(Generic[_T]):
    """One page of a listing.

    ``next_cursor`` is the last key or common prefix on the page; when the
    page is truncated it is V1's NextMarker and what V2's
    NextContinuationToken encodes.
    """

    contents: list[_T] = field(default_factory=list)
    common_prefixes: list[str] = field(default_factory=list)
    is_truncated: bool = False
    next_cursor: str | None = None


def _group(key: str, prefix: str, delimiter: str) -> str | None:
    if not delimiter:
        return None
    at = key.find(delimiter, len(prefix))
    return None if at < 0 else key[: at + len(delimiter)]


def paginate(
    entries: Iterable[_T], params: ListParams, *, key: Callable[[_T], str]
) -> ListPage[_T]:
    """Build one S3 listing page from ``entries`` sorted by key (code point = UTF-8 order).

    Applies prefix, the start position (``cursor``, else ``start_after``),
    delimiter grouping into common prefixes, and ``max_keys`` counting keys
    and prefixes together, as S3 does.  When the start position is itself a
    common prefix, every key under it is skipped: that group was already
    returned.  Consumes ``entries`` only up to one item past the page.
    """
    page: ListPage[_T] = ListPage()
    if params.max_keys <= 0:
        return page
    prefix, delimiter = params.prefix, params.delimiter
    after = params.cursor if params.cursor is not None else params.start_after
    has_after = params.cursor is not None or bool(after)
    skip_group = (
        has_after and after.startswith(prefix) and _group(after, prefix, delimiter) == after
    )
    count = 0
    for entry in entries:
        name = key(entry)
        if not name.startswith(prefix):
            if name > prefix:
                break
            continue
        if has_after and (name <= after or (skip_group and name.startswith(after))):
            continue
        group = _group(name, prefix, delimiter)
        if group is not None and page.common_prefixes and page.common_prefixes[-1] == group:
            continue
        if count == params.max_keys:
            page.is_truncated = True
            break
        count += 1
        if group is not None:
            page.common_prefixes.append(group)
            page.next_cursor = group
        else:
            page.contents.append(entry)
            page.next_cursor = name
    return page
