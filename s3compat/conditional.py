"""Conditional request headers (RFC 7232) with S3's outcomes.

Reads (GET/HEAD) evaluate ``If-Match``, ``If-Unmodified-Since``,
``If-None-Match`` and ``If-Modified-Since`` in RFC 7232 section 6 order.
Writes (PutObject, CompleteMultipartUpload, CopyObject destination,
DeleteObject) evaluate ``If-Match`` and ``If-None-Match: *``.  CopyObject and
UploadPartCopy evaluate the ``x-amz-copy-source-if-*`` family, where every
failure is ``412``.

ETag lists tolerate quotes, weak ``W/`` prefixes, ``*`` and commas.  Dates
that do not parse are ignored.  Comparisons are at whole seconds, the
precision of ``Last-Modified``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from s3compat.errors import S3Error
from s3compat.timefmt import http_date, parse_http_date, to_datetime

__all__ = ["check_copy_source", "check_read", "check_write", "etag_matches", "write_conditions"]


def _normalise(tag: str) -> str:
    tag = tag.strip()
    if tag[:2] in ("W/", "w/"):
        tag = tag[2:].strip()
    if len(tag) >= 2 and tag[0] == '"' and tag[-1] == '"':
        tag = tag[1:-1]
    return tag


def etag_matches(header: str, etag: str | None) -> bool:
    """Whether the ETag list in ``header`` names ``etag`` (``*`` names any existing one)."""
    if etag is None:
        return False
    own = _normalise(etag)
    for candidate in header.split(","):
        tag = _normalise(candidate)
        if tag == "*" or (tag and tag == own):
            return True
    return False


def _seconds(dt: datetime) -> datetime:
    return to_datetime(dt).replace(microsecond=0)


def _modified_since(last_modified: datetime, header: str | None) -> bool | None:
    """True if modified after the header date, None if the header is absent or bad."""
    since = parse_http_date(header)
    if since is None:
        return None
    return _seconds(last_modified) > since


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return value if value is not None and value.strip() else None


def _evaluate(
    headers: Mapping[str, str], prefix: str, etag: str, last_modified: datetime
) -> str | None:
    """The first failing condition: "412", "304" or None when all hold."""
    if_match = _header(headers, prefix + "if-match")
    if if_match is not None:
        if not etag_matches(if_match, etag):
            return "412"
    elif _modified_since(last_modified, _header(headers, prefix + "if-unmodified-since")):
        return "412"
    if_none_match = _header(headers, prefix + "if-none-match")
    if if_none_match is not None:
        if etag_matches(if_none_match, etag):
            return "304"
    elif _modified_since(last_modified, _header(headers, prefix + "if-modified-since")) is False:
        return "304"
    return None


def check_read(headers: Mapping[str, str], *, etag: str, last_modified: datetime) -> None:
    """Raise ``PreconditionFailed`` (412) or ``NotModified`` (304) for a GET or HEAD.

    ``NotModified`` carries the ``ETag`` and ``Last-Modified`` headers a 304 repeats.
    """
    outcome = _evaluate(headers, "", etag, last_modified)
    if outcome == "412":
        raise S3Error("PreconditionFailed", extra={"Condition": _failed_read_condition(headers)})
    if outcome == "304":
        raise S3Error(
            "NotModified",
            headers={"ETag": f'"{_normalise(etag)}"', "Last-Modified": http_date(last_modified)},
        )


def _failed_read_condition(headers: Mapping[str, str]) -> str:
    return "If-Match" if _header(headers, "if-match") is not None else "If-Unmodified-Since"


def check_write(headers: Mapping[str, str], *, current_etag: str | None) -> None:
    """Conditional write: ``current_etag`` is None when no object exists under the key.

    ``If-Match`` on a missing object is ``NoSuchKey`` (404); on a different ETag
    ``PreconditionFailed``.  ``If-None-Match: *`` on an existing object is
    ``PreconditionFailed``; any other ``If-None-Match`` value is
    ``NotImplemented``, as S3 supports only ``*`` for writes.
    """
    if_match = _header(headers, "if-match")
    if if_match is not None:
        if current_etag is None:
            raise S3Error("NoSuchKey")
        if not etag_matches(if_match, current_etag):
            raise S3Error("PreconditionFailed", extra={"Condition": "If-Match"})
    if_none_match = _header(headers, "if-none-match")
    if if_none_match is not None:
        if if_none_match.strip() != "*":
            raise S3Error("NotImplemented", "If-None-Match on a write supports only the value *.")
        if current_etag is not None:
            raise S3Error("PreconditionFailed", extra={"Condition": "If-None-Match"})


def check_copy_source(headers: Mapping[str, str], *, etag: str, last_modified: datetime) -> None:
    """``x-amz-copy-source-if-*`` against the source object; any failure is 412."""
    if _evaluate(headers, "x-amz-copy-source-", etag, last_modified) is not None:
        raise S3Error("PreconditionFailed")


def write_conditions(headers: Mapping[str, str]) -> dict[str, str]:
    """The conditional-write headers of a PUT, copy or upload completion, to be
    checked by storage atomically with the write (see :func:`check_write`).

    Only ``if-match`` and ``if-none-match`` apply to writes; an
    ``If-None-Match`` other than ``*`` is ``NotImplemented``, as on S3.
    """
    conditions = {n: headers[n] for n in ("if-match", "if-none-match") if _header(headers, n)}
    if_none_match = conditions.get("if-none-match")
    if if_none_match is not None and if_none_match.strip() != "*":
        raise S3Error("NotImplemented", "If-None-Match on a write supports only the value *.")
    return conditions
