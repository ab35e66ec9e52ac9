"""The ``x-amz-copy-source`` header of CopyObject and UploadPartCopy.

The value is ``bucket/key`` with an optional leading ``/`` and an optional
``?versionId=...``, the bucket and key percent-encoded (clients encode the
key; AWS also accepts raw UTF-8).  ``+`` is a literal plus here, not a space:
this is a path, not a form value.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from s3compat.errors import S3Error
from s3compat.names import validate_key

__all__ = ["CopySource", "parse_copy_source"]

_HEADER = "x-amz-copy-source"
_MAX_HEADER = 4096


@dataclass(frozen=True)
class CopySource:
    bucket: str
    key: str
    version_id: str | None = None


def _invalid(value: str, why: str) -> S3Error:
    return S3Error(
        "InvalidArgument",
        why,
        extra={"ArgumentName": _HEADER, "ArgumentValue": value[:1024]},
    )


def parse_copy_source(value: str) -> CopySource:
    """The bucket, key and version of an ``x-amz-copy-source`` value.

    ``value`` is the header as received: its bytes as latin-1 text (raw UTF-8
    is decoded here).  Anything that does not name a bucket and a key is
    ``InvalidArgument``; a key that is not a valid S3 key raises what
    :func:`~s3compat.names.validate_key` raises.  A ``versionId`` is returned
    as given, for the caller to accept or refuse.
    """
    if len(value) > _MAX_HEADER:
        raise _invalid(value, "The x-amz-copy-source header is too long.")
    try:
        text = value.encode("latin-1").decode("utf-8")
    except UnicodeEncodeError:
        text = value  # already text, not header bytes
    except UnicodeDecodeError:
        raise _invalid(value, "The x-amz-copy-source header is not valid UTF-8.") from None
    text = text.strip()
    path, _, query = text.partition("?")
    version_id: str | None = None
    versions = parse_qs(query, keep_blank_values=True).get("versionId") if query else None
    if versions is not None:
        version_id = versions[0]
    else:
        path = text  # a "?" that is no version query belongs to an unencoded key
    try:
        path = unquote(path, errors="strict")
    except UnicodeDecodeError:
        raise _invalid(value, "The x-amz-copy-source header is not valid UTF-8.") from None
    if path.startswith("/"):
        path = path[1:]
    bucket, slash, key = path.partition("/")
    if not bucket or not slash or not key:
        raise _invalid(
            value, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey"
        )
    validate_key(key)
    return CopySource(bucket=bucket, key=key, version_id=version_id)
