"""S3 XML request and response bodies.

Responses are rendered as strings with every text value escaped; characters
XML 1.0 cannot carry literally (controls, ``\\r``, lone surrogates, U+FFFE/F)
become numeric character references, as S3 does -- clients that need such
keys intact ask for ``encoding-type=url``.

Requests are parsed with xmltodict after a size cap.  Any parse failure --
not well-formed, an entity declaration (refused by xmltodict), wrong root,
missing or repeated elements -- is ``S3Error("MalformedXML")`` and nothing
else.  The S3 namespace is optional on input; elements are matched by local
name.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import xmltodict

from s3compat.errors import S3Error
from s3compat.listing import ListParams, encode_key, encode_token
from s3compat.timefmt import iso8601
from s3compat.xmltext import xml_text

__all__ = [
    "CHECKSUM_ELEMENTS",
    "MAX_COMPLETE_MULTIPART_BODY",
    "MAX_DELETE_BODY",
    "MAX_DELETE_OBJECTS",
    "MAX_XML_BODY",
    "OBJECT_ATTRIBUTES",
    "S3_NS",
    "BucketEntry",
    "CompletedPart",
    "ObjectEntry",
    "Owner",
    "PartEntry",
    "UploadEntry",
    "parse_complete_multipart",
    "parse_complete_multipart_parts",
    "parse_create_bucket",
    "parse_delete_objects",
    "parse_object_attributes",
    "parse_tagging",
    "parse_tagging_header",
    "parse_versioning",
    "render_acl",
    "render_complete_multipart",
    "render_copy_object_result",
    "render_copy_part_result",
    "render_delete_result",
    "render_empty_configuration",
    "render_initiate_multipart",
    "render_list_buckets",
    "render_list_multipart_uploads",
    "render_list_parts",
    "render_list_v1",
    "render_list_v2",
    "render_list_versions",
    "render_location",
    "render_object_attributes",
    "render_request_payment",
    "render_tagging",
    "render_versioning",
    "xml_text",
]

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
_XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'

MAX_XML_BODY = 1024 * 1024
# 1000 keys of up to 1024 bytes each, possibly escaped, do not fit in 1 MiB.
MAX_DELETE_BODY = 8 * 1024 * 1024
# 10,000 parts with ETags and checksums are about 2 MB.
MAX_COMPLETE_MULTIPART_BODY = 8 * 1024 * 1024
MAX_DELETE_OBJECTS = 1000
MAX_PARTS = 10000
MAX_OBJECT_TAGS = 10
MAX_BUCKET_TAGS = 50
CHECKSUM_ELEMENTS = (
    "ChecksumCRC32",
    "ChecksumCRC32C",
    "ChecksumCRC64NVME",
    "ChecksumSHA1",
    "ChecksumSHA256",
)


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Owner:
    id: str
    display_name: str


@dataclass(frozen=True)
class BucketEntry:
    name: str
    created: datetime


@dataclass(frozen=True)
class ObjectEntry:
    key: str
    last_modified: datetime
    etag: str  # without quotes
    size: int
    storage_class: str = "STANDARD"
    owner: Owner | None = None


@dataclass(frozen=True)
class PartEntry:
    part_number: int
    last_modified: datetime
    etag: str  # without quotes
    size: int
    checksums: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UploadEntry:
    key: str
    upload_id: str
    initiated: datetime
    owner: Owner | None = None
    storage_class: str = "STANDARD"


@dataclass(frozen=True)
class CompletedPart:
    part_number: int
    etag: str  # without quotes
    checksums: Mapping[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- rendering


def _el(name: str, value: str | int | bool | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int):
        text = str(value)
    else:
        text = xml_text(value)
    return f"<{name}>{text}</{name}>"


def _doc(root: str, body: Sequence[str]) -> bytes:
    return (f'{_DECL}<{root} xmlns="{S3_NS}">' + "".join(body) + f"</{root}>").encode("utf-8")


def _quoted(etag: str) -> str:
    return f'"{etag.strip(chr(34))}"'


def _owner(owner: Owner, tag: str = "Owner") -> str:
    return f"<{tag}>{_el('ID', owner.id)}{_el('DisplayName', owner.display_name)}</{tag}>"


def _checksums(values: Mapping[str, str]) -> list[str]:
    return [_el(name, values[name]) for name in CHECKSUM_ELEMENTS if values.get(name)]


def render_list_buckets(
    owner: Owner, buckets: Sequence[BucketEntry], *, region: str | None = None
) -> bytes:
    """ListAllMyBucketsResult; ``region`` adds each bucket's BucketRegion."""
    items = [
        "<Bucket>"
        + _el("Name", b.name)
        + _el("CreationDate", iso8601(b.created))
        + _el("BucketRegion", region)
        + "</Bucket>"
        for b in buckets
    ]
    return _doc("ListAllMyBucketsResult", [_owner(owner), "<Buckets>", *items, "</Buckets>"])


def _contents(entries: Sequence[ObjectEntry], enc: str | None, with_owner: bool) -> list[str]:
    out = []
    for e in entries:
        owner = _owner(e.owner) if with_owner and e.owner is not None else ""
        out.append(
            "<Contents>"
            + _el("Key", encode_key(e.key, enc))
            + _el("LastModified", iso8601(e.last_modified))
            + _el("ETag", _quoted(e.etag))
            + _el("Size", e.size)
            + owner
            + _el("StorageClass", e.storage_class)
            + "</Contents>"
        )
    return out


def _prefixes(prefixes: Sequence[str], enc: str | None) -> list[str]:
    return [
        f"<CommonPrefixes>{_el('Prefix', encode_key(p, enc))}</CommonPrefixes>" for p in prefixes
    ]


def render_list_v2(
    params: ListParams,
    *,
    name: str,
    contents: Sequence[ObjectEntry],
    common_prefixes: Sequence[str],
    is_truncated: bool,
    next_token: str | None,
) -> bytes:
    """ListBucketResult for ListObjectsV2.

    The request's continuation token is echoed by re-encoding ``params.cursor``
    (tokens are canonical).  With ``encoding-type=url`` Prefix, Delimiter,
    StartAfter, Key and CommonPrefixes are percent-encoded.
    """
    enc = params.encoding_type
    body = [
        _el("Name", name),
        _el("Prefix", encode_key(params.prefix, enc)),
        _el("Delimiter", encode_key(params.delimiter, enc) if params.delimiter else None),
        _el("MaxKeys", params.max_keys),
        _el("EncodingType", enc),
        _el("KeyCount", len(contents) + len(common_prefixes)),
        _el("IsTruncated", is_truncated),
        _el("ContinuationToken", None if params.cursor is None else encode_token(params.cursor)),
        _el("NextContinuationToken", next_token if is_truncated else None),
        _el("StartAfter", encode_key(params.start_after, enc) if params.start_after else None),
        *_contents(contents, enc, params.fetch_owner),
        *_prefixes(common_prefixes, enc),
    ]
    return _doc("ListBucketResult", body)


def render_list_v1(
    params: ListParams,
    *,
    name: str,
    contents: Sequence[ObjectEntry],
    common_prefixes: Sequence[str],
    is_truncated: bool,
    next_marker: str | None,
) -> bytes:
    """ListBucketResult for ListObjects (V1).

    NextMarker appears only when a delimiter was given and the result is
    truncated (without a delimiter clients use the last Key, as S3 documents).
    """
    enc = params.encoding_type
    show_next = bool(params.delimiter) and is_truncated and next_marker is not None
    body = [
        _el("Name", name),
        _el("Prefix", encode_key(params.prefix, enc)),
        _el("Marker", encode_key(params.start_after, enc)),
        _el("NextMarker", encode_key(next_marker, enc) if show_next and next_marker else None),
        _el("MaxKeys", params.max_keys),
        _el("Delimiter", encode_key(params.delimiter, enc) if params.delimiter else None),
        _el("EncodingType", enc),
        _el("IsTruncated", is_truncated),
        *_contents(contents, enc, params.fetch_owner),
        *_prefixes(common_prefixes, enc),
    ]
    return _doc("ListBucketResult", body)


def render_list_versions(
    params: ListParams,
    *,
    name: str,
    version_id_marker: str,
    versions: Sequence[ObjectEntry],
    common_prefixes: Sequence[str],
    is_truncated: bool,
    next_key_marker: str | None,
) -> bytes:
    """ListVersionsResult for ListObjectVersions of a bucket that was never
    versioned: each object is its one ``null`` version, the latest.

    ``params.start_after`` is the request's key-marker.  NextKeyMarker and
    NextVersionIdMarker appear when the result is truncated.
    """
    enc = params.encoding_type
    entries = []
    for e in versions:
        owner = _owner(e.owner) if e.owner is not None else ""
        entries.append(
            "<Version>"
            + _el("Key", encode_key(e.key, enc))
            + _el("VersionId", "null")
            + _el("IsLatest", True)
            + _el("LastModified", iso8601(e.last_modified))
            + _el("ETag", _quoted(e.etag))
            + _el("Size", e.size)
            + owner
            + _el("StorageClass", e.storage_class)
            + "</Version>"
        )
    next_marker = next_key_marker if is_truncated else None
    body = [
        _el("Name", name),
        _el("Prefix", encode_key(params.prefix, enc)),
        _el("KeyMarker", encode_key(params.start_after, enc)),
        _el("VersionIdMarker", version_id_marker),
        _el("NextKeyMarker", encode_key(next_marker, enc) if next_marker is not None else None),
        _el("NextVersionIdMarker", "null" if next_marker is not None else None),
        _el("MaxKeys", params.max_keys),
        _el("Delimiter", encode_key(params.delimiter, enc) if params.delimiter else None),
        _el("EncodingType", enc),
        _el("IsTruncated", is_truncated),
        *entries,
        *_prefixes(common_prefixes, enc),
    ]
    return _doc("ListVersionsResult", body)


def render_empty_configuration(root: str, body: Sequence[str] = ()) -> bytes:
    """A configuration document with nothing configured, e.g. an empty
    ``BucketLoggingStatus`` (logging off)."""
    return _doc(root, body)


def render_request_payment() -> bytes:
    """RequestPaymentConfiguration: the bucket owner pays (the only mode)."""
    return _doc("RequestPaymentConfiguration", [_el("Payer", "BucketOwner")])


OBJECT_ATTRIBUTES = ("ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize")


def parse_object_attributes(header: str | None) -> list[str]:
    """The ``x-amz-object-attributes`` header of GetObjectAttributes: a
    comma-separated subset of :data:`OBJECT_ATTRIBUTES` (InvalidArgument
    when it is missing, empty or names anything else)."""
    names = [n.strip() for n in (header or "").split(",") if n.strip()]
    if not names:
        raise S3Error(
            "InvalidArgument",
            "The x-amz-object-attributes header specifying the attributes to be retrieved "
            "is either missing or empty",
            extra={"ArgumentName": "x-amz-object-attributes"},
        )
    for name in names:
        if name not in OBJECT_ATTRIBUTES:
            raise S3Error(
                "InvalidArgument",
                "Invalid attribute name specified.",
                extra={"ArgumentName": "x-amz-object-attributes", "ArgumentValue": name[:1024]},
            )
    return names


def render_object_attributes(
    wanted: Sequence[str],
    *,
    etag: str,
    size: int,
    checksums: Mapping[str, str],
    storage_class: str = "STANDARD",
) -> bytes:
    """GetObjectAttributesResponse with the ``wanted`` attributes.

    The ETag is unquoted (as S3 returns it here).  ObjectParts appears for a
    multipart object only (an ETag ending in ``-N``), with its part count.
    A Checksum is given when one is stored; one ending in ``-N`` is the
    COMPOSITE checksum of a multipart upload."""
    body: list[str] = []
    if "ETag" in wanted:
        body.append(_el("ETag", etag.strip('"')))
    if "Checksum" in wanted and checksums:
        composite = any("-" in v for v in checksums.values())
        body.append(
            "<Checksum>"
            + "".join(_el("Checksum" + a, v) for a, v in checksums.items())
            + _el("ChecksumType", "COMPOSITE" if composite else "FULL_OBJECT")
            + "</Checksum>"
        )
    parts = etag.strip('"').rpartition("-")[2] if "-" in etag else ""
    if "ObjectParts" in wanted and parts.isdigit():
        body.append(f"<ObjectParts>{_el('PartsCount', int(parts))}</ObjectParts>")
    if "StorageClass" in wanted:
        body.append(_el("StorageClass", storage_class))
    if "ObjectSize" in wanted:
        body.append(_el("ObjectSize", size))
    return _doc("GetObjectAttributesResponse", body)


def render_location(region: str | None) -> bytes:
    """LocationConstraint; us-east-1 (and no region) is the empty element, as S3 answers."""
    if not region or region == "us-east-1":
        return f'{_DECL}<LocationConstraint xmlns="{S3_NS}"/>'.encode()
    return _doc("LocationConstraint", [xml_text(region)])


def render_versioning(status: str | None) -> bytes:
    """VersioningConfiguration; no Status element for a never-versioned bucket."""
    return _doc("VersioningConfiguration", [_el("Status", status)])


def render_acl(owner: Owner) -> bytes:
    """AccessControlPolicy granting the owner FULL_CONTROL (the only ACL Sangraha keeps)."""
    grantee = (
        f'<Grantee xmlns:xsi="{_XSI_NS}" xsi:type="CanonicalUser">'
        f"{_el('ID', owner.id)}{_el('DisplayName', owner.display_name)}</Grantee>"
    )
    return _doc(
        "AccessControlPolicy",
        [
            _owner(owner),
            "<AccessControlList><Grant>",
            grantee,
            _el("Permission", "FULL_CONTROL"),
            "</Grant></AccessControlList>",
        ],
    )


def render_copy_object_result(
    etag: str, last_modified: datetime, *, checksums: Mapping[str, str] | None = None
) -> bytes:
    return _doc(
        "CopyObjectResult",
        [
            _el("LastModified", iso8601(last_modified)),
            _el("ETag", _quoted(etag)),
            *_checksums(checksums or {}),
        ],
    )


def render_copy_part_result(
    etag: str, last_modified: datetime, *, checksums: Mapping[str, str] | None = None
) -> bytes:
    return _doc(
        "CopyPartResult",
        [
            _el("LastModified", iso8601(last_modified)),
            _el("ETag", _quoted(etag)),
            *_checksums(checksums or {}),
        ],
    )


def render_delete_result(
    deleted: Sequence[str], errors: Sequence[tuple[str, str, str]], quiet: bool
) -> bytes:
    """DeleteResult: Deleted entries (omitted when quiet) and Error entries (always)."""
    body: list[str] = []
    if not quiet:
        body.extend(f"<Deleted>{_el('Key', key)}</Deleted>" for key in deleted)
    body.extend(
        f"<Error>{_el('Key', key)}{_el('Code', code)}{_el('Message', message)}</Error>"
        for key, code, message in errors
    )
    return _doc("DeleteResult", body)


def render_tagging(tags: Mapping[str, str]) -> bytes:
    items = [f"<Tag>{_el('Key', k)}{_el('Value', v)}</Tag>" for k, v in tags.items()]
    return _doc("Tagging", ["<TagSet>", *items, "</TagSet>"])


def render_initiate_multipart(bucket: str, key: str, upload_id: str) -> bytes:
    return _doc(
        "InitiateMultipartUploadResult",
        [_el("Bucket", bucket), _el("Key", key), _el("UploadId", upload_id)],
    )


def render_complete_multipart(
    location: str,
    bucket: str,
    key: str,
    etag: str,
    *,
    checksums: Mapping[str, str] | None = None,
) -> bytes:
    return _doc(
        "CompleteMultipartUploadResult",
        [
            _el("Location", location),
            _el("Bucket", bucket),
            _el("Key", key),
            _el("ETag", _quoted(etag)),
            *_checksums(checksums or {}),
        ],
    )


def render_list_parts(
    *,
    bucket: str,
    key: str,
    upload_id: str,
    owner: Owner,
    parts: Sequence[PartEntry],
    part_number_marker: int,
    next_part_number_marker: int | None,
    max_parts: int,
    is_truncated: bool,
    storage_class: str = "STANDARD",
) -> bytes:
    """ListPartsResult; NextPartNumberMarker defaults to the last part listed."""
    if next_part_number_marker is None and parts:
        next_part_number_marker = parts[-1].part_number
    items = [
        "<Part>"
        + _el("PartNumber", p.part_number)
        + _el("LastModified", iso8601(p.last_modified))
        + _el("ETag", _quoted(p.etag))
        + _el("Size", p.size)
        + "".join(_checksums(p.checksums))
        + "</Part>"
        for p in parts
    ]
    body = [
        _el("Bucket", bucket),
        _el("Key", key),
        _el("UploadId", upload_id),
        _owner(owner, "Initiator"),
        _owner(owner),
        _el("StorageClass", storage_class),
        _el("PartNumberMarker", part_number_marker),
        _el("NextPartNumberMarker", next_part_number_marker),
        _el("MaxParts", max_parts),
        _el("IsTruncated", is_truncated),
        *items,
    ]
    return _doc("ListPartsResult", body)


def render_list_multipart_uploads(
    *,
    bucket: str,
    uploads: Sequence[UploadEntry],
    common_prefixes: Sequence[str] = (),
    prefix: str = "",
    delimiter: str = "",
    key_marker: str = "",
    upload_id_marker: str = "",
    next_key_marker: str | None = None,
    next_upload_id_marker: str | None = None,
    max_uploads: int = 1000,
    is_truncated: bool = False,
    encoding_type: str | None = None,
) -> bytes:
    """ListMultipartUploadsResult; with url encoding keys, markers and prefixes are encoded."""
    enc = encoding_type
    items = []
    for u in uploads:
        owner = (_owner(u.owner, "Initiator") + _owner(u.owner)) if u.owner is not None else ""
        items.append(
            "<Upload>"
            + _el("Key", encode_key(u.key, enc))
            + _el("UploadId", u.upload_id)
            + owner
            + _el("StorageClass", u.storage_class)
            + _el("Initiated", iso8601(u.initiated))
            + "</Upload>"
        )
    body = [
        _el("Bucket", bucket),
        _el("KeyMarker", encode_key(key_marker, enc)),
        _el("UploadIdMarker", upload_id_marker),
        _el("NextKeyMarker", encode_key(next_key_marker, enc) if next_key_marker else None),
        _el("NextUploadIdMarker", next_upload_id_marker or None),
        _el("EncodingType", enc),
        _el("Delimiter", encode_key(delimiter, enc) if delimiter else None),
        _el("Prefix", encode_key(prefix, enc)),
        _el("MaxUploads", max_uploads),
        _el("IsTruncated", is_truncated),
        *items,
        *_prefixes(common_prefixes, enc),
    ]
    return _doc("ListMultipartUploadsResult", body)


# --------------------------------------------------------------------------- parsing

_Node = Any  # what xmltodict yields: None, str, dict or list of those


def _malformed(detail: str | None = None) -> S3Error:
    return S3Error("MalformedXML", detail)


def _parse(body: bytes, root: str, limit: int = MAX_XML_BODY) -> _Node:
    """Parse ``body`` and return the content of its ``root`` element."""
    if len(body) > limit:
        raise _malformed(f"The XML body exceeds the maximum size of {limit} bytes.")
    try:
        doc = xmltodict.parse(
            body,
            process_namespaces=True,
            namespace_separator=" ",
            strip_whitespace=False,
            disable_entities=True,
        )
    except Exception:  # ExpatError, ValueError for entities, anything else from the parser
        raise _malformed() from None
    if not isinstance(doc, dict) or len(doc) != 1:
        raise _malformed()
    ((name, content),) = doc.items()
    if _local(name) != root:
        raise _malformed()
    return content


def _local(name: str) -> str:
    return name.rsplit(" ", 1)[-1]


def _children(node: _Node, name: str) -> list[_Node]:
    """Every child element ``name`` of ``node`` (by local name)."""
    if not isinstance(node, dict):
        return []
    found: list[_Node] = []
    for key, value in node.items():
        if key.startswith(("@", "#")) or _local(key) != name:
            continue
        found.extend(value if isinstance(value, list) else [value])
    return found


def _text(node: _Node) -> str:
    """The text of a leaf element; an element with child elements is malformed."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and all(k.startswith(("@", "#")) for k in node):
        text = node.get("#text", "")
        return text if isinstance(text, str) else ""
    raise _malformed()


def _one(node: _Node, name: str, *, required: bool = True) -> str | None:
    values = _children(node, name)
    if len(values) > 1 or (required and not values):
        raise _malformed()
    return _text(values[0]) if values else None


def _required(node: _Node, name: str) -> str:
    value = _one(node, name)
    if value is None:  # pragma: no cover - _one raises first
        raise _malformed()
    return value


def _bool(value: str | None) -> bool:
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise _malformed()
    return lowered == "true"


def parse_create_bucket(body: bytes) -> str | None:
    """The LocationConstraint of a CreateBucket body; empty body or element → None."""
    if not body.strip():
        return None
    node = _parse(body, "CreateBucketConfiguration")
    location = _one(node, "LocationConstraint", required=False)
    if location is None:
        return None
    return location.strip() or None


def parse_versioning(body: bytes) -> str:
    """The Status of a PutBucketVersioning body: "Enabled" or "Suspended"."""
    node = _parse(body, "VersioningConfiguration")
    status = _one(node, "Status")
    if status not in ("Enabled", "Suspended"):
        raise _malformed()
    return status


def parse_delete_objects(body: bytes) -> tuple[list[tuple[str, str | None]], bool]:
    """The (key, versionId) list and Quiet flag of a DeleteObjects body.

    No objects or more than 1000 is ``MalformedXML``, as S3 answers.  Keys are
    returned verbatim (whitespace kept); validate each with ``validate_key``.
    """
    node = _parse(body, "Delete", MAX_DELETE_BODY)
    quiet = _bool(_one(node, "Quiet", required=False))
    objects = _children(node, "Object")
    if not objects or len(objects) > MAX_DELETE_OBJECTS:
        raise _malformed()
    result: list[tuple[str, str | None]] = []
    for obj in objects:
        key = _required(obj, "Key")
        result.append((key, _one(obj, "VersionId", required=False) or None))
    return result, quiet


_TAG_PUNCTUATION = frozenset("+-=._:/@ ")


def _tag_chars_ok(text: str) -> bool:
    """Letters, marks, numbers and spaces in any script, plus ``+ - = . _ : / @``."""
    return all(c in _TAG_PUNCTUATION or unicodedata.category(c)[0] in "LMNZ" for c in text)


def _validate_tags(pairs: Sequence[tuple[str, str]], max_tags: int) -> dict[str, str]:
    if len(pairs) > max_tags:
        kind = "Object" if max_tags == MAX_OBJECT_TAGS else "Bucket"
        raise S3Error("BadRequest", f"{kind} tags cannot be greater than {max_tags}")
    tags: dict[str, str] = {}
    for key, value in pairs:
        if key in tags:
            raise S3Error("InvalidTag", "Cannot provide multiple Tags with the same key")
        if not 1 <= len(key) <= 128:
            raise S3Error("InvalidTag", "The TagKey you have provided is too long, max 128")
        if len(value) > 256:
            raise S3Error("InvalidTag", "The TagValue you have provided is too long, max 256")
        if not _tag_chars_ok(key) or key.lower().startswith("aws:"):
            raise S3Error("InvalidTag", "The TagKey you have provided is invalid")
        if not _tag_chars_ok(value):
            raise S3Error("InvalidTag", "The TagValue you have provided is invalid")
        tags[key] = value
    return tags


def parse_tagging(body: bytes, *, max_tags: int = MAX_OBJECT_TAGS) -> dict[str, str]:
    """A Tagging body: at most ``max_tags`` (10 for objects, 50 for buckets) unique tags."""
    node = _parse(body, "Tagging")
    tag_sets = _children(node, "TagSet")
    if len(tag_sets) != 1:
        raise _malformed()
    pairs: list[tuple[str, str]] = []
    for tag in _children(tag_sets[0], "Tag"):
        key = _required(tag, "Key")
        pairs.append((key, _one(tag, "Value", required=False) or ""))
    return _validate_tags(pairs, max_tags)


def parse_tagging_header(value: str, *, max_tags: int = MAX_OBJECT_TAGS) -> dict[str, str]:
    """The ``x-amz-tagging`` header: URL-query encoded ``k1=v1&k2=v2``."""
    if not value.strip():
        return {}
    try:
        pairs = parse_qsl(value, keep_blank_values=True, errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise S3Error(
            "InvalidArgument",
            "The header 'x-amz-tagging' shall be encoded as "
            "UTF-8 then URLEncoded URL query parameters without tag name duplicates.",
        ) from None
    return _validate_tags(pairs, max_tags)


def parse_complete_multipart_parts(body: bytes) -> list[CompletedPart]:
    """The parts of a CompleteMultipartUpload body, with any checksums.

    At least one part; part numbers 1..10000 in strictly ascending order
    (otherwise ``InvalidPartOrder``); ETags returned without quotes.
    """
    node = _parse(body, "CompleteMultipartUpload", MAX_COMPLETE_MULTIPART_BODY)
    parts = _children(node, "Part")
    if not parts or len(parts) > MAX_PARTS:
        raise _malformed()
    result: list[CompletedPart] = []
    for part in parts:
        number_s = _required(part, "PartNumber").strip()
        etag = _required(part, "ETag").strip()
        if not number_s.isascii() or not number_s.isdigit() or not 1 <= int(number_s) <= MAX_PARTS:
            raise _malformed()
        if etag.startswith("&quot;") and etag.endswith("&quot;"):
            etag = etag[6:-6]  # double-escaped by some clients
        etag = etag.strip('"')
        if not etag:
            raise _malformed()
        checksums = {}
        for name in CHECKSUM_ELEMENTS:
            value = _one(part, name, required=False)
            if value:
                checksums[name] = value.strip()
        number = int(number_s)
        if result and number <= result[-1].part_number:
            raise S3Error("InvalidPartOrder")
        result.append(CompletedPart(number, etag, checksums))
    return result


def parse_complete_multipart(body: bytes) -> list[tuple[int, str]]:
    """``(part number, etag without quotes)`` pairs of a CompleteMultipartUpload body."""
    return [(p.part_number, p.etag) for p in parse_complete_multipart_parts(body)]
