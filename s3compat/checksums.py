"""S3 checksums: the ``x-amz-checksum-*`` algorithms and body verification.

:class:`Checksum` computes one algorithm incrementally; :class:`BodyVerifier`
feeds a request body to every hasher the request asked for (always MD5, for
the ETag) and checks the results against the headers or trailers at the end.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from awscrt import checksums as _crt

from s3compat.errors import S3Error

__all__ = [
    "ALGORITHMS",
    "BodyDigests",
    "BodyVerifier",
    "Checksum",
    "algorithm_from_header",
    "header_name",
    "new_checksum",
]

ALGORITHMS: tuple[str, ...] = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")

_HEADER_PREFIX = "x-amz-checksum-"
_DIGEST_SIZES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}


def _normalize(algorithm: str) -> str:
    name = algorithm.strip().upper()
    if name not in _DIGEST_SIZES:
        raise S3Error("InvalidRequest", f"Checksum algorithm {algorithm!r} is not supported.")
    return name


def header_name(algorithm: str) -> str:
    """The request/response header carrying ``algorithm``: ``x-amz-checksum-crc32``."""
    return _HEADER_PREFIX + _normalize(algorithm).lower()


def algorithm_from_header(name: str) -> str | None:
    """The algorithm named by a ``x-amz-checksum-*`` header, or None for any other header."""
    lowered = name.strip().lower()
    if not lowered.startswith(_HEADER_PREFIX):
        return None
    algorithm = lowered[len(_HEADER_PREFIX) :].upper()
    return algorithm if algorithm in _DIGEST_SIZES else None


class Checksum:
    """One incremental checksum; :meth:`b64digest` is the value S3 puts in headers."""

    def __init__(self, algorithm: str) -> None:
        self.algorithm = _normalize(algorithm)
        self._crc = 0
        self._crc_fn: Callable[[bytes, int], int] | None = None
        self._hash: hashlib._Hash | None = None
        if self.algorithm == "CRC32":
            self._crc_fn = zlib.crc32
        elif self.algorithm == "CRC32C":
            self._crc_fn = _crt.crc32c
        elif self.algorithm == "CRC64NVME":
            self._crc_fn = _crt.crc64nvme
        else:
            self._hash = hashlib.new(self.algorithm.lower())

    def update(self, data: bytes | memoryview) -> None:
        """Feed more bytes."""
        if self._hash is not None:
            self._hash.update(data)
        elif self._crc_fn is not None:
            self._crc = self._crc_fn(data, self._crc)  # type: ignore[arg-type]

    def digest(self) -> bytes:
        """The raw digest (CRCs big-endian)."""
        if self._hash is not None:
            return self._hash.digest()
        return self._crc.to_bytes(_DIGEST_SIZES[self.algorithm], "big")

    def b64digest(self) -> str:
        """The base64 of the digest, as S3 sends it."""
        return base64.b64encode(self.digest()).decode("ascii")


def new_checksum(algorithm: str) -> Checksum:
    """A fresh :class:`Checksum`; unknown algorithms raise ``InvalidRequest``."""
    return Checksum(algorithm)


def _b64_of_size(value: str, size: int) -> bytes | None:
    """Decode a strict base64 value of exactly ``size`` bytes, or None."""
    try:
        raw = base64.b64decode(value.strip().encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None
    return raw if len(raw) == size else None


@dataclass(frozen=True)
class BodyDigests:
    """What a verified body hashed to: its MD5 (hex; empty when the verifier
    was told not to compute it) and the checksums to store."""

    md5_hex: str
    checksums: dict[str, str] = field(default_factory=dict)


class BodyVerifier:
    """Hash a request body once and check it against what the client declared.

    ``content_md5`` is the base64 Content-MD5 header; ``expected_sha256`` the
    hex payload hash of a signed request; ``checksums`` maps algorithm names to
    base64 values from ``x-amz-checksum-*`` headers; ``trailer_algorithms``
    names algorithms whose values arrive as aws-chunked trailers. S3 allows one
    checksum algorithm per request.
    """

    def __init__(
        self,
        content_md5: str | None = None,
        expected_sha256: str | None = None,
        checksums: Mapping[str, str] | None = None,
        trailer_algorithms: list[str] | None = None,
        *,
        compute_md5: bool = True,
    ) -> None:
        self._md5_expected: bytes | None = None
        if content_md5 is not None:
            self._md5_expected = _b64_of_size(content_md5, 16)
            if self._md5_expected is None:
                raise S3Error("InvalidDigest")
        # The MD5 is needed to check Content-MD5; otherwise storage computes
        # the ETag itself and the caller may skip it (it costs more than all
        # the other work on a large body).
        need_md5 = compute_md5 or self._md5_expected is not None
        self._md5 = hashlib.md5() if need_md5 else None  # noqa: S324 - the S3 ETag
        self._sha256_expected = expected_sha256.lower() if expected_sha256 else None
        self._sha256 = hashlib.sha256() if self._sha256_expected else None
        self._expected: dict[str, bytes] = {}
        for algorithm, value in (checksums or {}).items():
            name = _normalize(algorithm)
            raw = _b64_of_size(value, _DIGEST_SIZES[name])
            if raw is None:
                raise S3Error("InvalidRequest", f"Value for {header_name(name)} header is invalid.")
            self._expected[name] = raw
        self._trailers = [_normalize(a) for a in trailer_algorithms or []]
        if len(self._expected) + len(self._trailers) > 1:
            raise S3Error(
                "InvalidRequest",
                "Expecting a single x-amz-checksum- header. Multiple checksum Types are not "
                "allowed.",
            )
        self._hashers = [Checksum(a) for a in [*self._expected, *self._trailers]]

    def update(self, data: bytes | memoryview) -> None:
        """Feed the next piece of the (decoded) body."""
        if self._md5 is not None:
            self._md5.update(data)
        if self._sha256 is not None:
            self._sha256.update(data)
        for hasher in self._hashers:
            hasher.update(data)

    def finish(self, trailer_values: Mapping[str, str] | None = None) -> BodyDigests:
        """Check every digest; return them. ``trailer_values`` as from the chunked decoder.

        Keys may be trailer header names (``x-amz-checksum-crc32``) or algorithm names.
        """
        md5 = self._md5.digest() if self._md5 is not None else b""
        if self._md5_expected is not None and not hmac.compare_digest(md5, self._md5_expected):
            raise S3Error("BadDigest")
        if self._sha256 is not None and self._sha256_expected is not None:
            actual = self._sha256.hexdigest()
            if not hmac.compare_digest(actual.encode(), self._sha256_expected.encode("latin-1")):
                raise S3Error(
                    "XAmzContentSHA256Mismatch",
                    extra={
                        "ClientComputedContentSHA256": self._sha256_expected,
                        "S3ComputedContentSHA256": actual,
                    },
                )
        expected = dict(self._expected)
        trailers = _trailers_by_algorithm(trailer_values or {})
        for name in self._trailers:
            if name not in trailers:
                raise S3Error(
                    "InvalidRequest", f"The {header_name(name)} trailer was announced but not sent."
                )
            raw = _b64_of_size(trailers[name], _DIGEST_SIZES[name])
            if raw is None:
                raise S3Error(
                    "InvalidRequest", f"Value for {header_name(name)} trailing header is invalid."
                )
            expected[name] = raw
        stored: dict[str, str] = {}
        for hasher in self._hashers:
            actual_raw = hasher.digest()
            if not hmac.compare_digest(actual_raw, expected[hasher.algorithm]):
                raise S3Error(
                    "BadDigest",
                    f"The {hasher.algorithm} you specified did not match the calculated checksum.",
                )
            stored[hasher.algorithm] = base64.b64encode(actual_raw).decode("ascii")
        return BodyDigests(md5_hex=md5.hex(), checksums=stored)


def _trailers_by_algorithm(values: Mapping[str, str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for key, value in values.items():
        algorithm = algorithm_from_header(key)
        if algorithm is None and key.strip().upper() in _DIGEST_SIZES:
            algorithm = key.strip().upper()
        if algorithm is not None:
            result[algorithm] = value
    return result
