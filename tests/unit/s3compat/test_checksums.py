"""Checksums and body verification: known values, botocore agreement, every failure code."""

from __future__ import annotations

import base64
import hashlib

import pytest
from botocore import httpchecksum
from hypothesis import given
from hypothesis import strategies as st

from s3compat.checksums import (
    ALGORITHMS,
    BodyVerifier,
    algorithm_from_header,
    header_name,
    new_checksum,
)
from s3compat.errors import S3Error

BOTOCORE = {
    "CRC32": httpchecksum.Crc32Checksum,
    "CRC32C": httpchecksum.CrtCrc32cChecksum,
    "CRC64NVME": httpchecksum.CrtCrc64NvmeChecksum,
    "SHA1": httpchecksum.Sha1Checksum,
    "SHA256": httpchecksum.Sha256Checksum,
}


def b64(algorithm: str, data: bytes) -> str:
    checksum = new_checksum(algorithm)
    checksum.update(data)
    return checksum.b64digest()


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


@pytest.mark.parametrize(
    ("algorithm", "data", "expected"),
    [
        ("CRC32", b"", "AAAAAA=="),
        ("CRC32", b"hello", "NhCmhg=="),
        ("CRC32C", b"", "AAAAAA=="),
        ("CRC32C", b"a" * 66560, "sOO8/Q=="),  # AWS's trailing-checksum example
        ("CRC64NVME", b"", "AAAAAAAAAAA="),
        ("SHA1", b"", "2jmj7l5rSw0yVb/vlWAYkK/YBwk="),
        ("SHA256", b"", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
    ],
)
def test_known_checksum_values(algorithm: str, data: bytes, expected: str) -> None:
    assert b64(algorithm, data) == expected


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@given(pieces=st.lists(st.binary(max_size=300), max_size=6))
def test_checksums_agree_with_botocore_when_fed_incrementally(
    algorithm: str, pieces: list[bytes]
) -> None:
    ours = new_checksum(algorithm)
    theirs = BOTOCORE[algorithm]()
    for piece in pieces:
        ours.update(memoryview(piece))
        theirs.update(piece)
    assert ours.b64digest() == theirs.b64digest()


def test_header_names_round_trip() -> None:
    for algorithm in ALGORITHMS:
        assert algorithm_from_header(header_name(algorithm)) == algorithm
    assert header_name("crc32") == "x-amz-checksum-crc32"
    assert algorithm_from_header("X-Amz-Checksum-CRC64NVME") == "CRC64NVME"
    assert algorithm_from_header("x-amz-checksum-algorithm") is None
    assert algorithm_from_header("x-amz-checksum-type") is None
    assert algorithm_from_header("content-md5") is None


def test_unknown_algorithm_is_invalid_request() -> None:
    with pytest.raises(S3Error) as info:
        new_checksum("MD4")
    assert info.value.code == "InvalidRequest"


def test_verifier_returns_md5_etag_and_verified_checksums() -> None:
    data = b"Welcome to Amazon S3."
    verifier = BodyVerifier(
        content_md5=md5_b64(data),
        expected_sha256=hashlib.sha256(data).hexdigest().upper(),
        checksums={"crc32c": b64("CRC32C", data)},
    )
    verifier.update(data[:5])
    verifier.update(memoryview(data[5:]))
    digests = verifier.finish()
    assert digests.md5_hex == hashlib.md5(data).hexdigest()
    assert digests.checksums == {"CRC32C": b64("CRC32C", data)}


def test_verifier_without_expectations_still_computes_etag() -> None:
    verifier = BodyVerifier(None, None, {})
    verifier.update(b"x")
    assert verifier.finish().md5_hex == hashlib.md5(b"x").hexdigest()


@pytest.mark.parametrize("value", ["not base64!", "AAAA", "", "é"])
def test_malformed_content_md5_is_invalid_digest(value: str) -> None:
    with pytest.raises(S3Error) as info:
        BodyVerifier(content_md5=value, expected_sha256=None, checksums={})
    assert info.value.code == "InvalidDigest"


def test_content_md5_mismatch_is_bad_digest() -> None:
    verifier = BodyVerifier(content_md5=md5_b64(b"other"), expected_sha256=None, checksums={})
    verifier.update(b"data")
    with pytest.raises(S3Error) as info:
        verifier.finish()
    assert info.value.code == "BadDigest"


def test_sha256_mismatch_is_content_sha256_mismatch() -> None:
    verifier = BodyVerifier(None, hashlib.sha256(b"other").hexdigest(), {})
    verifier.update(b"data")
    with pytest.raises(S3Error) as info:
        verifier.finish()
    assert info.value.code == "XAmzContentSHA256Mismatch"


def test_checksum_mismatch_names_the_algorithm() -> None:
    verifier = BodyVerifier(None, None, {"CRC32": b64("CRC32", b"other")})
    verifier.update(b"data")
    with pytest.raises(S3Error) as info:
        verifier.finish()
    assert info.value.code == "BadDigest"
    assert info.value.message == "The CRC32 you specified did not match the calculated checksum."


def test_malformed_checksum_header_is_invalid_request() -> None:
    with pytest.raises(S3Error) as info:
        BodyVerifier(None, None, {"CRC32": "AAAAAAAAAAA="})  # 8 bytes, CRC32 has 4
    assert info.value.code == "InvalidRequest"


def test_two_checksum_algorithms_are_rejected() -> None:
    with pytest.raises(S3Error) as info:
        BodyVerifier(None, None, {"CRC32": b64("CRC32", b"")}, trailer_algorithms=["SHA256"])
    assert info.value.code == "InvalidRequest"


def test_trailer_checksum_is_verified_from_decoder_output() -> None:
    data = b"a" * 66560
    verifier = BodyVerifier(None, None, {}, trailer_algorithms=["CRC32C"])
    verifier.update(data)
    digests = verifier.finish({"x-amz-checksum-crc32c": "sOO8/Q=="})
    assert digests.checksums == {"CRC32C": "sOO8/Q=="}


def test_trailer_checksum_accepts_algorithm_keys() -> None:
    verifier = BodyVerifier(None, None, {}, trailer_algorithms=["crc32"])
    verifier.update(b"hello")
    assert verifier.finish({"CRC32": "NhCmhg=="}).checksums == {"CRC32": "NhCmhg=="}


def test_missing_announced_trailer_is_invalid_request() -> None:
    verifier = BodyVerifier(None, None, {}, trailer_algorithms=["CRC32"])
    verifier.update(b"hello")
    with pytest.raises(S3Error) as info:
        verifier.finish({})
    assert info.value.code == "InvalidRequest"


def test_wrong_trailer_checksum_is_bad_digest() -> None:
    verifier = BodyVerifier(None, None, {}, trailer_algorithms=["CRC32"])
    verifier.update(b"hello!")
    with pytest.raises(S3Error) as info:
        verifier.finish({"x-amz-checksum-crc32": "NhCmhg=="})
    assert info.value.code == "BadDigest"


def test_malformed_trailer_checksum_is_invalid_request() -> None:
    verifier = BodyVerifier(None, None, {}, trailer_algorithms=["CRC32"])
    with pytest.raises(S3Error) as info:
        verifier.finish({"x-amz-checksum-crc32": "%%%"})
    assert info.value.code == "InvalidRequest"
