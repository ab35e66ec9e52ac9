"""``Range`` and ``x-amz-copy-source-range`` headers (RFC 7233 as S3 applies it).

S3 serves a single byte range.  A header it cannot parse, or one asking for
several ranges, is ignored and the whole object is returned with ``200``.  A
well-formed range that selects nothing is ``416 InvalidRange``.
"""

from __future__ import annotations

import re

from s3compat.errors import S3Error

__all__ = ["content_range", "parse_copy_source_range", "parse_range"]

_SPEC = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.IGNORECASE)
_COPY_SPEC = re.compile(r"bytes=([0-9]+)-([0-9]+)")
_MAX_HEADER = 256


def _unsatisfiable(header: str, size: int) -> S3Error:
    return S3Error(
        "InvalidRange",
        extra={"RangeRequested": header, "ActualObjectSize": str(size)},
        headers={"Content-Range": f"bytes */{size}"},
    )


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive ``(first, last)`` byte range of ``header`` for an object of ``size``.

    ``None`` means "send the whole object": no header, a syntactically invalid
    one, or several ranges.  ``last`` is clamped to ``size - 1``.  Raises
    ``InvalidRange`` (with ``Content-Range: bytes */size``) when the range is
    unsatisfiable: it starts at or past the end, is a zero-length suffix, or
    the object is empty.
    """
    if header is None or len(header) > _MAX_HEADER:
        return None
    match = _SPEC.fullmatch(header.strip())
    if match is None:
        return None
    first_s, last_s = match.groups()
    if not first_s and not last_s:
        return None
    if not first_s:
        suffix = int(last_s)
        if suffix == 0 or size == 0:
            raise _unsatisfiable(header, size)
        return max(0, size - suffix), size - 1
    first = int(first_s)
    if last_s:
        last = int(last_s)
        if last < first:
            return None
    else:
        last = size - 1
    if first >= size:
        raise _unsatisfiable(header, size)
    return first, min(last, size - 1)


def parse_copy_source_range(header: str, size: int) -> tuple[int, int]:
    """``x-amz-copy-source-range`` for UploadPartCopy: strictly ``bytes=first-last``.

    Unlike ``Range`` nothing is ignored: a malformed value is
    ``InvalidArgument`` and a range outside the source is ``InvalidRange``.
    """
    match = _COPY_SPEC.fullmatch(header.strip()) if len(header) <= _MAX_HEADER else None
    if match is None or int(match.group(2)) < int(match.group(1)):
        raise S3Error(
            "InvalidArgument",
            "The x-amz-copy-source-range value must be of the form bytes=first-last where "
            "first and last are the zero-based offsets of the first and last bytes to copy",
            extra={"ArgumentName": "x-amz-copy-source-range", "ArgumentValue": header},
        )
    first, last = int(match.group(1)), int(match.group(2))
    if last >= size:
        raise _unsatisfiable(header, size)
    return first, last


def content_range(first: int, last: int, size: int) -> str:
    """The ``Content-Range`` value of a ``206`` answer."""
    return f"bytes {first}-{last}/{size}"
