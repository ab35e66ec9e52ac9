"""Multipart upload rules: part numbers, completion checks, the multipart ETag,
composite checksums, and the ListParts / ListMultipartUploads parameters and
paging.  Pure functions, shared by the gateway and both storage drivers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from s3compat.checksums import ALGORITHMS, new_checksum
from s3compat.errors import S3Error
from s3compat.listing import parse_encoding_type, parse_max_keys

__all__ = [
    "COMPOSITE",
    "FULL_OBJECT",
    "MAX_LISTED",
    "MAX_PARTS",
    "MAX_PART_SIZE",
    "MIN_PART_SIZE",
    "CompletionPart",
    "ListPartsParams",
    "ListUploadsParams",
    "StoredPart",
    "UploadsPage",
    "check_completion",
    "composite_checksum",
    "multipart_etag",
    "page_uploads",
    "parse_checksum_algorithm",
    "parse_list_parts",
    "parse_list_uploads",
    "parse_part_number",
    "resolve_checksum_type",
]

MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PART_SIZE = 5 * 1024**3
MAX_PARTS = 10000
MAX_LISTED = 1000

COMPOSITE = "COMPOSITE"
FULL_OBJECT = "FULL_OBJECT"
_FULL_OBJECT_ALGORITHMS = frozenset({"CRC32", "CRC32C", "CRC64NVME"})
_COMPOSITE_ALGORITHMS = frozenset({"CRC32", "CRC32C", "SHA1", "SHA256"})


def parse_part_number(value: str | None) -> int:
    """``partNumber`` of UploadPart / UploadPartCopy: an integer in 1..10000."""
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_PARTS):
        raise S3Error(
            "InvalidArgument",
            f"Part number must be an integer between 1 and {MAX_PARTS}, inclusive",
            extra={"ArgumentName": "partNumber", "ArgumentValue": (value or "")[:1024]},
        )
    return int(text)


def parse_checksum_algorithm(value: str | None) -> str:
    """``x-amz-checksum-algorithm``: an algorithm name, upper case; "" when absent."""
    if value is None or not value.strip():
        return ""
    name = value.strip().upper()
    if name not in ALGORITHMS:
        raise S3Error(
            "InvalidRequest",
            "Checksum algorithm provided is unsupported. Please try again with any of the "
            f"valid types: [{', '.join(ALGORITHMS)}]",
        )
    return name


def resolve_checksum_type(algorithm: str, value: str | None) -> str:
    """The checksum type of an upload (``x-amz-checksum-type``): "" without an
    algorithm; otherwise COMPOSITE or FULL_OBJECT, defaulting to what the
    algorithm supports (CRC64NVME is full-object only)."""
    wanted = (value or "").strip().upper()
    if not algorithm:
        if wanted:
            raise S3Error(
                "InvalidRequest", "The x-amz-checksum-type header needs x-amz-checksum-algorithm."
            )
        return ""
    if not wanted:
        return COMPOSITE if algorithm in _COMPOSITE_ALGORITHMS else FULL_OBJECT
    allowed = _COMPOSITE_ALGORITHMS if wanted == COMPOSITE else _FULL_OBJECT_ALGORITHMS
    if wanted not in (COMPOSITE, FULL_OBJECT) or algorithm not in allowed:
        raise S3Error(
            "InvalidRequest",
            f"The {algorithm} algorithm does not support the checksum type {value!r}.",
        )
    return wanted


def multipart_etag(part_etags: Sequence[str]) -> str:
    """The ETag of a multipart object: hex MD5 of the binary part MD5s, ``-N``."""
    md5 = hashlib.md5(usedforsecurity=False)
    for etag in part_etags:
        md5.update(bytes.fromhex(etag.strip('"')))
    return f"{md5.hexdigest()}-{len(part_etags)}"


def composite_checksum(algorithm: str, part_values: Sequence[str]) -> str:
    """A COMPOSITE checksum: the checksum of the concatenated binary part
    checksums (base64), with ``-N``."""
    checksum = new_checksum(algorithm)
    for value in part_values:
        try:
            checksum.update(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            raise S3Error("InvalidPart", f"a part has an invalid {algorithm} checksum") from None
    return f"{checksum.b64digest()}-{len(part_values)}"


@dataclass(frozen=True)
class CompletionPart:
    """A part named by CompleteMultipartUpload."""

    number: int
    etag: str
    checksums: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredPart:
    """A part as storage holds it."""

    etag: str
    size: int
    checksums: Mapping[str, str] = field(default_factory=dict)


def _invalid_part(number: int) -> S3Error:
    return S3Error(
        "InvalidPart",
        "One or more of the specified parts could not be found.  The part may not have been "
        "uploaded, or the specified entity tag may not match the part's entity tag.",
        extra={"PartNumber": str(number)},
    )


def check_completion(
    requested: Sequence[CompletionPart], stored: Mapping[int, StoredPart]
) -> list[StoredPart]:
    """Check a completion request against the stored parts; the parts to
    assemble, in order.

    ``InvalidPartOrder`` when the numbers are not strictly ascending,
    ``InvalidPart`` for a part that is not stored or whose ETag (or a listed
    checksum) differs, ``EntityTooSmall`` for a part other than the last under
    5 MiB.  ``MalformedXML`` for an empty list.
    """
    if not requested:
        raise S3Error("MalformedXML", "The completion names no parts.")
    previous = 0
    chosen: list[StoredPart] = []
    for part in requested:
        if part.number <= previous:
            raise S3Error("InvalidPartOrder")
        previous = part.number
        found = stored.get(part.number)
        if found is None or found.etag.lower() != part.etag.strip('"').lower():
            raise _invalid_part(part.number)
        for algorithm, value in part.checksums.items():
            if found.checksums.get(algorithm) not in (None, value):
                raise _invalid_part(part.number)
        chosen.append(found)
    for part, found in zip(requested[:-1], chosen[:-1], strict=True):
        if found.size < MIN_PART_SIZE:
            raise S3Error(
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed object size.",
                extra={
                    "ProposedSize": str(found.size),
                    "MinSizeAllowed": str(MIN_PART_SIZE),
                    "PartNumber": str(part.number),
                    "ETag": found.etag,
                },
            )
    return chosen


# --------------------------------------------------------------------------- listing


def _count(query: Mapping[str, str], name: str) -> int:
    return parse_max_keys(query.get(name), name=name, default=MAX_LISTED, limit=MAX_LISTED)


@dataclass(frozen=True)
class ListPartsParams:
    max_parts: int
    part_number_marker: int


def parse_list_parts(query: Mapping[str, str]) -> ListPartsParams:
    """ListParts parameters: ``max-parts`` (clamped to 1000), ``part-number-marker``."""
    marker = query.get("part-number-marker", "").strip()
    if marker and not (marker.isascii() and marker.isdigit() and int(marker) <= 2**31 - 1):
        raise S3Error(
            "InvalidArgument",
            "Argument part-number-marker must be an integer between 0 and 2147483647",
            extra={"ArgumentName": "part-number-marker", "ArgumentValue": marker[:1024]},
        )
    return ListPartsParams(
        max_parts=_count(query, "max-parts"), part_number_marker=int(marker or 0)
    )


@dataclass(frozen=True)
class ListUploadsParams:
    prefix: str
    delimiter: str
    key_marker: str
    upload_id_marker: str
    max_uploads: int
    encoding_type: str | None


def parse_list_uploads(query: Mapping[str, str]) -> ListUploadsParams:
    """ListMultipartUploads parameters.  ``upload-id-marker`` without
    ``key-marker`` is ignored, as in S3."""
    key_marker = query.get("key-marker", "")
    return ListUploadsParams(
        prefix=query.get("prefix", ""),
        delimiter=query.get("delimiter", ""),
        key_marker=key_marker,
        upload_id_marker=query.get("upload-id-marker", "") if key_marker else "",
        max_uploads=_count(query, "max-uploads"),
        encoding_type=parse_encoding_type(query.get("encoding-type")),
    )


_T = TypeVar("_T")


@dataclass
class UploadsPage(Generic[_T]):
    uploads: list[_T] = field(default_factory=list)
    common_prefixes: list[str] = field(default_factory=list)
    is_truncated: bool = False
    next_key_marker: str | None = None
    next_upload_id_marker: str | None = None


def _group(key: str, prefix: str, delimiter: str) -> str | None:
    if not delimiter:
        return None
    at = key.find(delimiter, len(prefix))
    return None if at < 0 else key[: at + len(delimiter)]


def page_uploads(
    entries: Iterable[_T],
    *,
    ident: Callable[[_T], tuple[str, str]],
    prefix: str = "",
    delimiter: str = "",
    key_marker: str = "",
    upload_id_marker: str = "",
    max_uploads: int = MAX_LISTED,
) -> UploadsPage[_T]:
    """One ListMultipartUploads page from ``entries`` sorted by ``ident``:
    ``(key, upload_id)``, keys in code point (= UTF-8) order.

    An entry is listed when its key starts with ``prefix`` and it comes after
    the markers: key > ``key_marker``, or key == ``key_marker`` and upload ID >
    ``upload_id_marker`` when that is given.  Keys with ``delimiter`` after
    the prefix roll up into common prefixes; a common prefix that is itself
    the key marker was listed on an earlier page and is skipped.  Uploads and
    prefixes together count against ``max_uploads``.  Consumes ``entries``
    only up to one item past the page.
    """
    page: UploadsPage[_T] = UploadsPage()
    if max_uploads <= 0:
        return page
    skip_group = bool(key_marker) and _group(key_marker, prefix, delimiter) == key_marker
    count = 0
    last: tuple[str, str | None] | None = None
    for entry in entries:
        key, upload_id = ident(entry)
        if not key.startswith(prefix):
            if key > prefix:
                break
            continue
        if key_marker:
            if key < key_marker or (skip_group and key.startswith(key_marker)):
                continue
            if key == key_marker and (not upload_id_marker or upload_id <= upload_id_marker):
                continue
        group = _group(key, prefix, delimiter)
        if group is not None and page.common_prefixes and page.common_prefixes[-1] == group:
            continue
        if count == max_uploads:
            page.is_truncated = True
            break
        count += 1
        if group is not None:
            page.common_prefixes.append(group)
            last = (group, None)
        else:
            page.uploads.append(entry)
            last = (key, upload_id)
    if page.is_truncated and last is not None:
        page.next_key_marker, page.next_upload_id_marker = last
    return page
