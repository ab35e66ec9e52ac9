"""The S3 error catalogue: every error code with its HTTP status and default message.

One place maps an S3 error code to its status and message, and renders the
S3 XML error document.  Every layer raises :class:`S3Error`; the gateway
renders it, the workers carry it across the contract as a code and message.
"""

from __future__ import annotations

from dataclasses import dataclass

from s3compat.xmltext import xml_text as escape

__all__ = ["CATALOGUE", "S3Error", "render_error_xml", "status_for"]


@dataclass(frozen=True, slots=True)
class _Entry:
    status: int
    message: str


def _e(status: int, message: str) -> _Entry:
    return _Entry(status, message)


CATALOGUE: dict[str, _Entry] = {
    "AccessDenied": _e(403, "Access Denied"),
    "AuthorizationHeaderMalformed": _e(400, "The authorization header is malformed."),
    "AuthorizationQueryParametersError": _e(
        400, "Error parsing the X-Amz-Credential parameter or other query parameters."
    ),
    "BadRequest": _e(400, "Bad Request"),
    "BadDigest": _e(400, "The Content-MD5 you specified did not match what we received."),
    "BucketAlreadyExists": _e(
        409, "The requested bucket name is not available. Select a different name and try again."
    ),
    "BucketAlreadyOwnedByYou": _e(
        409, "Your previous request to create the named bucket succeeded and you already own it."
    ),
    "BucketNotEmpty": _e(409, "The bucket you tried to delete is not empty."),
    "EntityTooLarge": _e(400, "Your proposed upload exceeds the maximum allowed object size."),
    "EntityTooSmall": _e(400, "Your proposed upload is smaller than the minimum allowed size."),
    "ExpiredToken": _e(400, "The provided token has expired."),
    "IncompleteBody": _e(
        400, "You did not provide the number of bytes specified by the Content-Length header."
    ),
    "InternalError": _e(500, "We encountered an internal error. Please try again."),
    "InvalidAccessKeyId": _e(
        403, "The AWS access key ID you provided does not exist in our records."
    ),
    "InvalidArgument": _e(400, "Invalid Argument"),
    "InvalidBucketName": _e(400, "The specified bucket is not valid."),
    "InvalidDigest": _e(400, "The Content-MD5 you specified is not valid."),
    "InvalidPart": _e(
        400,
        "One or more of the specified parts could not be found. The part might not have been "
        "uploaded, or the specified entity tag might not have matched the part's entity tag.",
    ),
    "InvalidPartOrder": _e(
        400, "The list of parts was not in ascending order. Parts must be ordered by part number."
    ),
    "InvalidRange": _e(416, "The requested range is not satisfiable"),
    "InvalidRequest": _e(400, "Invalid Request"),
    "InvalidStorageClass": _e(400, "The storage class you specified is not valid."),
    "InvalidTag": _e(400, "The tag provided was not a valid tag."),
    "InvalidURI": _e(400, "Couldn't parse the specified URI."),
    "KeyTooLongError": _e(400, "Your key is too long."),
    "MalformedXML": _e(
        400,
        "The XML you provided was not well-formed or did not validate against our published "
        "schema.",
    ),
    "MetadataTooLarge": _e(400, "Your metadata headers exceed the maximum allowed metadata size."),
    "MethodNotAllowed": _e(405, "The specified method is not allowed against this resource."),
    "MissingContentLength": _e(411, "You must provide the Content-Length HTTP header."),
    "MissingSecurityHeader": _e(400, "Your request is missing a required header."),
    "NoSuchBucket": _e(404, "The specified bucket does not exist."),
    "NoSuchBucketPolicy": _e(404, "The bucket policy does not exist."),
    "NoSuchCORSConfiguration": _e(404, "The CORS configuration does not exist."),
    "NoSuchKey": _e(404, "The specified key does not exist."),
    "NoSuchLifecycleConfiguration": _e(404, "The lifecycle configuration does not exist."),
    "NoSuchPublicAccessBlockConfiguration": _e(
        404, "The public access block configuration was not found."
    ),
    "NoSuchTagSet": _e(404, "The TagSet does not exist."),
    "NoSuchUpload": _e(
        404,
        "The specified multipart upload does not exist. The upload ID might be invalid, or the "
        "multipart upload might have been aborted or completed.",
    ),
    "NoSuchWebsiteConfiguration": _e(
        404, "The specified bucket does not have a website configuration."
    ),
    "NotImplemented": _e(
        501, "A header you provided implies functionality that is not implemented."
    ),
    "NotModified": _e(304, "Not Modified"),
    "ObjectLockConfigurationNotFoundError": _e(
        404, "Object Lock configuration does not exist for this bucket."
    ),
    "OwnershipControlsNotFoundError": _e(404, "The bucket ownership controls were not found."),
    "PreconditionFailed": _e(412, "At least one of the pre-conditions you specified did not hold."),
    "RequestTimeTooSkewed": _e(
        403, "The difference between the request time and the server's time is too large."
    ),
    "ReplicationConfigurationNotFoundError": _e(
        404, "The replication configuration was not found."
    ),
    "RequestHeaderSectionTooLarge": _e(
        400, "Your request header section exceeds the maximum allowed size."
    ),
    "RequestTimeout": _e(
        400,
        "Your socket connection to the server was not read from or written to within the "
        "timeout period.",
    ),
    "ServerSideEncryptionConfigurationNotFoundError": _e(
        404, "The server side encryption configuration was not found."
    ),
    "ServiceUnavailable": _e(503, "Please reduce your request rate."),
    "SignatureDoesNotMatch": _e(
        403,
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    ),
    "SlowDown": _e(503, "Please reduce your request rate."),
    "XAmzContentSHA256Mismatch": _e(
        400, "The provided 'x-amz-content-sha256' header does not match what was computed."
    ),
}


def status_for(code: str) -> int:
    """The HTTP status of an S3 error code; unknown codes are server errors."""
    entry = CATALOGUE.get(code)
    return entry.status if entry else 500


class S3Error(Exception):
    """An S3 error answer: a catalogue code, a message, and optional extra XML fields."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        resource: str | None = None,
        extra: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        entry = CATALOGUE.get(code)
        if entry is None:
            raise ValueError(f"unknown S3 error code {code!r}")
        self.code = code
        self.message = message or entry.message
        self.status = entry.status
        self.resource = resource
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})
        super().__init__(f"{code}: {self.message}")


def render_error_xml(error: S3Error, request_id: str, resource: str | None = None) -> bytes:
    """Render the S3 XML error document for ``error``."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error>',
        f"<Code>{escape(error.code)}</Code>",
        f"<Message>{escape(error.message)}</Message>",
    ]
    res = error.resource if error.resource is not None else resource
    if res is not None:
        parts.append(f"<Resource>{escape(res)}</Resource>")
    for name, value in error.extra.items():
        parts.append(f"<{name}>{escape(value)}</{name}>")
    parts.append(f"<RequestId>{escape(request_id)}</RequestId>")
    parts.append(f"<HostId>{escape(request_id)}</HostId></Error>")
    return "".join(parts).encode()
