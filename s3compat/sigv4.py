"""AWS Signature Version 4 verification for S3: header auth, presigned URLs, chunk signing.

:func:`authenticate` checks a request's signature and returns an
:class:`AuthContext`; streaming uploads then verify each chunk with
:func:`sign_chunk` / :func:`sign_chunk_hash` and the trailer with
:func:`sign_trailer` (see :mod:`s3compat.chunked`).

Decisions where AWS leaves room:

- Only ``AWS4-HMAC-SHA256`` is accepted. SigV2 (``Authorization: AWS AKID:sig``
  or ``?AWSAccessKeyId=...&Signature=...``) and SigV4a answer ``400
  InvalidRequest`` "The authorization mechanism you have provided is not
  supported", as AWS regions that only speak SigV4 do.
- Presigned URLs must sign every ``x-amz-*`` header they arrive with (else
  ``AccessDenied``, listing ``HeadersNotSigned``), so a presigned PUT cannot be
  turned into, say, a copy with an added ``x-amz-copy-source``. The payload is
  ``UNSIGNED-PAYLOAD`` unless the URL carries ``X-Amz-Content-Sha256``.
  Header auth only requires ``host`` to be signed (SDKs differ in what else
  they sign); ``x-amz-content-sha256`` is required and picks the PayloadMode.
- Header values are trimmed and runs of spaces/tabs collapsed; repeated headers
  are joined with ``,``. The canonical URI is the decoded path re-encoded per
  AWS, without normalising ``.``/``..``/``//`` (S3 rules); a signer that used
  the wire path verbatim is accepted too. A ``+`` in the raw query is a space
  (form encoding, as AWS and botocore's ``urlencode`` of params treat it); a
  literal plus arrives as ``%2B``.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote_to_bytes

from s3compat.errors import S3Error

__all__ = [
    "AuthContext",
    "PayloadMode",
    "authenticate",
    "canonical_uri",
    "sign_chunk",
    "sign_chunk_hash",
    "sign_trailer",
    "signing_key",
]

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "s3"
MAX_SKEW = timedelta(minutes=15)
MAX_EXPIRES = 604800
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_SIG = re.compile(r"[0-9a-f]{64}")
_AMZ_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_WS = re.compile(r"[ \t]+")
_UNSUPPORTED = (
    "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
)


class PayloadMode(enum.Enum):
    """How the body is protected, from ``x-amz-content-sha256``."""

    UNSIGNED = "UNSIGNED-PAYLOAD"
    SIGNED = "SIGNED"  # the header holds the hex SHA-256 of the body
    STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


_MODES_BY_VALUE = {m.value: m for m in PayloadMode if m is not PayloadMode.SIGNED}


@dataclass(frozen=True)
class AuthContext:
    """An authenticated request: who signed it and the keys to verify its body."""

    access_key: str
    region: str
    service: str
    amz_date: str
    scope: str
    signing_key: bytes
    seed_signature: str
    payload_mode: PayloadMode
    expected_sha256: str | None
    presigned: bool


# --- encoding ------------------------------------------------------------------------------


def _uri_encode(raw: bytes, *, keep_slash: bool) -> str:
    # quote() keeps exactly AWS's unreserved set (A-Za-z0-9-_.~) and emits %XX uppercase.
    return quote(raw, safe="/" if keep_slash else "")


def _to_bytes(text: str) -> bytes:
    # ASGI gives latin-1 decoded bytes; anything beyond latin-1 came from elsewhere.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def canonical_uri(raw_path: str) -> str:
    """Decode the wire path and re-encode it per AWS (S3: no dot-segment normalisation)."""
    if not raw_path:
        return "/"
    return _uri_encode(unquote_to_bytes(_to_bytes(raw_path)), keep_slash=True)


def _form_unquote(text: str) -> bytes:
    return unquote_to_bytes(_to_bytes(text.replace("+", " ")))


def _parse_query(raw_query: str) -> list[tuple[bytes, bytes]]:
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((_form_unquote(name), _form_unquote(value)))
    return pairs


def _canonical_query(pairs: list[tuple[bytes, bytes]], *, skip: str | None = None) -> str:
    encoded = sorted(
        (_uri_encode(n, keep_slash=False), _uri_encode(v, keep_slash=False))
        for n, v in pairs
        if skip is None or n != skip.encode()
    )
    return "&".join(f"{n}={v}" for n, v in encoded)


def _trim(value: str) -> str:
    return _WS.sub(" ", value.strip(" \t"))


# --- signing primitives ----------------------------------------------------------------------


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


@functools.lru_cache(maxsize=1024)
def signing_key(secret: str, date: str, region: str, service: str = SERVICE) -> bytes:
    """The derived SigV4 key for one day, region and service (cached: four
    HMACs per request otherwise, for a value that changes once a day)."""
    key = _hmac(("AWS4" + secret).encode("utf-8"), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def _sign(key: bytes, string_to_sign: str) -> str:
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def sign_chunk_hash(ctx: AuthContext, previous_signature: str, chunk_sha256_hex: str) -> str:
    """A chunk's signature, given the hex SHA-256 of its data (for incremental hashing)."""
    string_to_sign = "\n".join(
        (
            ALGORITHM + "-PAYLOAD",
            ctx.amz_date,
            ctx.scope,
            previous_signature,
            EMPTY_SHA256,
            chunk_sha256_hex,
        )
    )
    return _sign(ctx.signing_key, string_to_sign)


def sign_chunk(ctx: AuthContext, previous_signature: str, chunk: bytes | memoryview) -> str:
    """The ``chunk-signature`` of one aws-chunked chunk (empty for the final chunk)."""
    return sign_chunk_hash(ctx, previous_signature, hashlib.sha256(chunk).hexdigest())


def sign_trailer(ctx: AuthContext, previous_signature: str, trailer_bytes: bytes) -> str:
    """The ``x-amz-trailer-signature``: ``trailer_bytes`` are the ``name:value\\n`` lines."""
    string_to_sign = "\n".join(
        (
            ALGORITHM + "-TRAILER",
            ctx.amz_date,
            ctx.scope,
            previous_signature,
            hashlib.sha256(trailer_bytes).hexdigest(),
        )
    )
    return _sign(ctx.signing_key, string_to_sign)


# --- request parsing -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Credential:
    access_key: str
    date: str
    region: str
    service: str
    terminal: str


def _header_map(headers: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for name, value in headers:
        result.setdefault(name.strip().lower(), []).append(value)
    return result


def _parse_credential(value: str) -> _Credential | None:
    # The access key itself may not contain "/", so split from the right.
    parts = value.rsplit("/", 4)
    if len(parts) != 5 or not all(parts):
        return None
    return _Credential(*parts)


def _parse_amz_date(value: str) -> datetime | None:
    if not _AMZ_DATE.fullmatch(value):
        return None
    # The pattern fixed every position, so slicing is exact (and several
    # times cheaper than strptime, on every request).
    try:
        return datetime(
            int(value[0:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[9:11]),
            int(value[11:13]),
            int(value[13:15]),
            tzinfo=UTC,
        )
    except ValueError:
        return None


def _request_date(headers: dict[str, list[str]]) -> tuple[str, datetime]:
    """The signing timestamp from X-Amz-Date, else Date (RFC 7231 or basic ISO 8601)."""
    if "x-amz-date" in headers:
        raw = headers["x-amz-date"][0].strip()
        parsed = _parse_amz_date(raw)
    elif "date" in headers:
        raw = headers["date"][0].strip()
        parsed = _parse_amz_date(raw)
        if parsed is None:
            try:
                parsed = parsedate_to_datetime(raw)
            except (TypeError, ValueError, IndexError, OverflowError):
                parsed = None
            if parsed is not None:
                parsed = (
                    parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
                )
    else:
        parsed = None
    if parsed is None:
        raise S3Error(
            "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header"
        )
    return parsed.strftime("%Y%m%dT%H%M%SZ"), parsed


def _skew_error(request_time: datetime, now: datetime) -> S3Error:
    return S3Error(
        "RequestTimeTooSkewed",
        extra={
            "RequestTime": request_time.strftime("%Y%m%dT%H%M%SZ"),
            "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "MaxAllowedSkewMilliseconds": str(int(MAX_SKEW.total_seconds() * 1000)),
        },
    )


def _payload_mode(value: str | None) -> tuple[PayloadMode, str | None]:
    if value is None:
        raise S3Error(
            "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
        )
    value = value.strip()
    if _HEX64.fullmatch(value):
        return PayloadMode.SIGNED, value.lower()
    mode = _MODES_BY_VALUE.get(value)
    if mode is None:
        raise S3Error(
            "InvalidArgument",
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER "
            "or a valid sha256 value.",
            extra={"ArgumentName": "x-amz-content-sha256", "ArgumentValue": value},
        )
    return mode, None


@dataclass(frozen=True)
class _Parsed:
    """The signature-bearing parts of a request, whichever way they were sent."""

    credential: _Credential
    signed_headers: list[str]
    signature: str
    amz_date: str
    payload_hash: str
    payload_mode: PayloadMode
    expected_sha256: str | None
    query_skip: str | None
    presigned: bool


def _malformed_header(detail: str) -> S3Error:
    return S3Error(
        "AuthorizationHeaderMalformed", f"The authorization header is malformed; {detail}"
    )


def _parse_authorization(value: str, headers: dict[str, list[str]], now: datetime) -> _Parsed:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise S3Error("InvalidRequest", _UNSUPPORTED)
    fields: dict[str, str] = {}
    for item in rest.split(","):
        key, sep, val = item.strip().partition("=")
        if not sep or key in fields:
            raise _malformed_header(f"the authorization component {item.strip()!r} is malformed.")
        fields[key] = val.strip()
    for required in ("Credential", "SignedHeaders", "Signature"):
        if required not in fields:
            raise _malformed_header(f"missing the {required} component.")
    credential = _parse_credential(fields["Credential"])
    if credential is None:
        raise _malformed_header(
            'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/'
            'aws4_request".'
        )
    amz_date, request_time = _request_date(headers)
    if abs(request_time - now) > MAX_SKEW:
        raise _skew_error(request_time, now)
    content_sha = headers.get("x-amz-content-sha256")
    mode, expected = _payload_mode(",".join(content_sha) if content_sha else None)
    return _Parsed(
        credential=credential,
        signed_headers=fields["SignedHeaders"].split(";"),
        signature=fields["Signature"],
        amz_date=amz_date,
        payload_hash=",".join(content_sha or []).strip(),
        payload_mode=mode,
        expected_sha256=expected,
        query_skip=None,
        presigned=False,
    )


def _query_error(message: str) -> S3Error:
    return S3Error("AuthorizationQueryParametersError", message)


def _parse_presigned(
    params: dict[str, str], headers: dict[str, list[str]], now: datetime
) -> _Parsed:
    if params.get("X-Amz-Algorithm") != ALGORITHM:
        raise _query_error(f'X-Amz-Algorithm only supports "{ALGORITHM}"')
    required = ("X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders")
    if any(name not in params for name in (*required, "X-Amz-Expires")):
        raise _query_error(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
            "X-Amz-Expires parameters."
        )
    credential = _parse_credential(params["X-Amz-Credential"])
    if credential is None:
        raise _query_error(
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
            'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
        )
    request_time = _parse_amz_date(params["X-Amz-Date"])
    if request_time is None:
        raise _query_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    expires_raw = params["X-Amz-Expires"]
    if not expires_raw.isascii() or not expires_raw.isdigit():
        raise _query_error("X-Amz-Expires should be a number")
    expires = int(expires_raw)
    if expires < 1:
        raise _query_error("X-Amz-Expires must be non-negative")
    if expires > MAX_EXPIRES:
        raise _query_error(
            f"X-Amz-Expires must be less than a week (in seconds) that is; {MAX_EXPIRES}"
        )
    if request_time - now > MAX_SKEW:
        raise S3Error("AccessDenied", "Request is not valid yet")
    if now > request_time + timedelta(seconds=expires):
        raise S3Error(
            "AccessDenied",
            "Request has expired",
            extra={
                "X-Amz-Expires": str(expires),
                "Expires": (request_time + timedelta(seconds=expires)).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )
    signed_headers = params["X-Amz-SignedHeaders"].split(";")
    unsigned = sorted(
        name for name in headers if name.startswith("x-amz-") and name not in signed_headers
    )
    if unsigned:
        raise S3Error(
            "AccessDenied",
            "There were headers present in the request which were not signed",
            extra={"HeadersNotSigned": ", ".join(unsigned)},
        )
    payload_hash = params.get("X-Amz-Content-Sha256", PayloadMode.UNSIGNED.value)
    if _HEX64.fullmatch(payload_hash):
        mode, expected = PayloadMode.SIGNED, payload_hash.lower()
    elif payload_hash == PayloadMode.UNSIGNED.value:
        mode, expected = PayloadMode.UNSIGNED, None
    else:
        raise _query_error("X-Amz-Content-Sha256 must be UNSIGNED-PAYLOAD or a valid sha256 value.")
    return _Parsed(
        credential=credential,
        signed_headers=signed_headers,
        signature=params["X-Amz-Signature"],
        amz_date=params["X-Amz-Date"],
        payload_hash=payload_hash,
        payload_mode=mode,
        expected_sha256=expected,
        query_skip="X-Amz-Signature",
        presigned=True,
    )


def _check_scope(parsed: _Parsed, region: str) -> None:
    cred = parsed.credential
    if parsed.presigned:
        prefix, code = (
            "Error parsing the X-Amz-Credential parameter; ",
            "AuthorizationQueryParametersError",
        )
    else:
        prefix = "The authorization header is malformed; "
        code = "AuthorizationHeaderMalformed"
    if cred.date != parsed.amz_date[:8]:
        raise S3Error(
            code,
            f'{prefix}Invalid credential date "{cred.date}". This date is not the same as '
            f'X-Amz-Date: "{parsed.amz_date[:8]}".',
        )
    if cred.region != region:
        raise S3Error(
            code,
            f"{prefix}the region '{cred.region}' is wrong; expecting '{region}'",
            extra={"Region": region},
        )
    if cred.service != SERVICE:
        raise S3Error(
            code, f'{prefix}incorrect service "{cred.service}". This endpoint belongs to "s3".'
        )
    if cred.terminal != "aws4_request":
        raise S3Error(
            code,
            f'{prefix}incorrect terminal "{cred.terminal}". This endpoint uses "aws4_request".',
        )


def _canonical_headers(signed: list[str], headers: dict[str, list[str]]) -> str:
    if not signed or any(not name or name != name.lower() for name in signed):
        raise S3Error("AccessDenied", "SignedHeaders must be lowercase header names")
    if "host" not in signed:
        raise S3Error("AccessDenied", "Host header is not signed")
    lines = []
    for name in signed:
        values = headers.get(name)
        if values is None:
            raise S3Error(
                "SignatureDoesNotMatch",
                f"The request signature we calculated does not match the signature you provided. "
                f"The signed header {name!r} is missing from the request.",
            )
        lines.append(f"{name}:{','.join(_trim(v) for v in values)}\n")
    return "".join(lines)


def _string_to_sign(amz_date: str, scope: str, canonical_request: bytes) -> str:
    return "\n".join((ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request).hexdigest()))


def _canonical_requests(method: str, raw_path: str, rest: tuple[str, str, str, str]) -> list[bytes]:
    """The canonical request in every form a client may have signed, preferred first.

    The AWS form re-encodes the decoded path; some signers use the wire path as is.
    Header values arrive as latin-1 decoded bytes: botocore sends a non-ASCII value
    as latin-1 but signs its UTF-8, other SDKs sign the bytes they send.
    """
    uris = [canonical_uri(raw_path)]
    if raw_path.startswith("/") and raw_path.isascii() and raw_path != uris[0]:
        uris.append(raw_path)
    candidates: list[bytes] = []
    for uri in uris:
        text = "\n".join((method.upper(), uri, *rest))
        candidates.append(text.encode("utf-8"))
        if not text.isascii():
            with contextlib.suppress(UnicodeEncodeError):
                candidates.append(text.encode("latin-1"))
    return candidates


def authenticate(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Sequence[tuple[str, str]],
    *,
    lookup_secret: Callable[[str], str | None],
    region: str,
    now: datetime,
) -> AuthContext:
    """Verify a SigV4 request (Authorization header or presigned query); raise S3Error."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    header_map = _header_map(headers)
    pairs = _parse_query(raw_query)
    params: dict[str, str] = {}
    for name, value in pairs:
        params.setdefault(name.decode("latin-1"), value.decode("utf-8", "replace"))
    authorization = header_map.get("authorization")
    if authorization is not None and "X-Amz-Algorithm" in params:
        raise S3Error(
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be specified",
        )
    if authorization is not None:
        if len(authorization) != 1:
            raise _malformed_header("more than one Authorization header.")
        parsed = _parse_authorization(authorization[0], header_map, now)
    elif "X-Amz-Algorithm" in params or "X-Amz-Credential" in params:
        parsed = _parse_presigned(params, header_map, now)
    elif "AWSAccessKeyId" in params or "Signature" in params:
        raise S3Error("InvalidRequest", _UNSUPPORTED)
    else:
        raise S3Error("AccessDenied")
    _check_scope(parsed, region)
    secret = lookup_secret(parsed.credential.access_key)
    if secret is None:
        raise S3Error("InvalidAccessKeyId", extra={"AWSAccessKeyId": parsed.credential.access_key})
    candidates = _canonical_requests(
        method,
        raw_path,
        (
            _canonical_query(pairs, skip=parsed.query_skip),
            _canonical_headers(parsed.signed_headers, header_map),
            ";".join(parsed.signed_headers),
            parsed.payload_hash,
        ),
    )
    cred = parsed.credential
    scope = f"{cred.date}/{cred.region}/{cred.service}/{cred.terminal}"
    key = signing_key(secret, cred.date, cred.region, cred.service)
    well_formed = _SIG.fullmatch(parsed.signature) is not None
    for encoded in candidates:
        expected = _sign(key, _string_to_sign(parsed.amz_date, scope, encoded))
        if well_formed and hmac.compare_digest(expected.encode(), parsed.signature.encode()):
            break
    else:
        raise S3Error(
            "SignatureDoesNotMatch",
            extra={
                "AWSAccessKeyId": cred.access_key,
                "StringToSign": _string_to_sign(parsed.amz_date, scope, candidates[0]),
                "SignatureProvided": parsed.signature,
                "CanonicalRequest": candidates[0].decode("utf-8"),
            },
        )
    return AuthContext(
        access_key=cred.access_key,
        region=cred.region,
        service=cred.service,
        amz_date=parsed.amz_date,
        scope=scope,
        signing_key=key,
        seed_signature=expected,
        payload_mode=parsed.payload_mode,
        expected_sha256=parsed.expected_sha256,
        presigned=parsed.presigned,
    )
