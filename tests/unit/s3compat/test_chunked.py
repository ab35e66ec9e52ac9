"""The aws-chunked decoder: AWS's examples, round trips, tampering, truncation, garbage."""

from __future__ import annotations

import io
import itertools
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s3compat.checksums import BodyVerifier, algorithm_from_header
from s3compat.chunked import MAX_LINE, AwsChunkedDecoder, parse_trailer_names
from s3compat.errors import S3Error
from s3compat.sigv4 import AuthContext, PayloadMode, sign_chunk, sign_trailer, signing_key
from tests.unit.s3compat.test_sigv4 import capture, check

SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SIGNED = PayloadMode.STREAMING_SIGNED
SIGNED_TRAILER = PayloadMode.STREAMING_SIGNED_TRAILER
UNSIGNED_TRAILER = PayloadMode.STREAMING_UNSIGNED_TRAILER
CRC = "x-amz-checksum-crc32"


def context(mode: PayloadMode, seed: str = "0" * 64) -> AuthContext:
    return AuthContext(
        access_key="AKIAIOSFODNN7EXAMPLE",
        region="us-east-1",
        service="s3",
        amz_date="20130524T000000Z",
        scope="20130524/us-east-1/s3/aws4_request",
        signing_key=signing_key(SK, "20130524", "us-east-1"),
        seed_signature=seed,
        payload_mode=mode,
        expected_sha256=None,
        presigned=False,
    )


def encode(
    mode: PayloadMode,
    chunks: list[bytes],
    trailers: dict[str, str] | None = None,
    ctx: AuthContext | None = None,
) -> bytes:
    """A test-side aws-chunked encoder, written from the AWS docs."""
    ctx = ctx or context(mode)
    signed = mode is not UNSIGNED_TRAILER
    out = io.BytesIO()
    previous = ctx.seed_signature
    for chunk in [*chunks, b""]:
        out.write(f"{len(chunk):x}".encode())
        if signed:
            previous = sign_chunk(ctx, previous, chunk)
            out.write(f";chunk-signature={previous}".encode())
        out.write(b"\r\n")
        if chunk:
            out.write(chunk + b"\r\n")
    lines = [f"{name}:{value}" for name, value in (trailers or {}).items()]
    for line in lines:
        out.write(line.encode() + b"\r\n")
    if mode is SIGNED_TRAILER:
        signature = sign_trailer(ctx, previous, "".join(f"{line}\n" for line in lines).encode())
        out.write(f"x-amz-trailer-signature:{signature}\r\n".encode())
    out.write(b"\r\n")
    return out.getvalue()


def decode(
    mode: PayloadMode,
    body: bytes,
    *,
    cuts: list[int] | None = None,
    decoded_length: int | None = None,
    trailer_names: list[str] | None = None,
    ctx: AuthContext | None = None,
) -> tuple[bytes, dict[str, str]]:
    decoder = AwsChunkedDecoder(
        mode,
        ctx or (context(mode) if mode is not UNSIGNED_TRAILER else None),
        decoded_length,
        trailer_names or [],
    )
    out = bytearray()
    bounds = sorted({0, len(body), *(c for c in cuts or [] if 0 < c < len(body))})
    for start, end in itertools.pairwise(bounds):
        for piece in decoder.feed(body[start:end]):
            out += piece
    return bytes(out), decoder.finish()


def error_of(mode: PayloadMode, body: bytes, **kwargs: object) -> S3Error:
    with pytest.raises(S3Error) as info:
        decode(mode, body, **kwargs)  # type: ignore[arg-type]
    return info.value


def split(data: bytes, sizes: list[int]) -> list[bytes]:
    chunks, pos = [], 0
    for size in sizes:
        if pos >= len(data):
            break
        chunks.append(data[pos : pos + size])
        pos += size
    if pos < len(data):
        chunks.append(data[pos:])
    return chunks


# --- AWS's examples --------------------------------------------------------------------------

AWS_CHUNKED_BODY = (
    b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n"
    + b"a" * 65536
    + b"\r\n"
    + b"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n"
    + b"a" * 1024
    + b"\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n"
    + b"\r\n"
)
AWS_CHUNKED_SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"

AWS_TRAILER_BODY = (
    b"10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n"
    + b"a" * 65536
    + b"\r\n"
    + b"400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n"
    + b"a" * 1024
    + b"\r\n0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n"
    + b"x-amz-checksum-crc32c:sOO8/Q==\r\n"
    + b"x-amz-trailer-signature:"
    + b"d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n"
    + b"\r\n"
)
AWS_TRAILER_SEED = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"


def test_aws_chunked_example_decodes() -> None:
    assert len(AWS_CHUNKED_BODY) == 66824  # the example's Content-Length
    data, trailers = decode(
        SIGNED, AWS_CHUNKED_BODY, decoded_length=66560, ctx=context(SIGNED, AWS_CHUNKED_SEED)
    )
    assert data == b"a" * 66560
    assert trailers == {}


def test_aws_chunked_example_matches_our_encoder() -> None:
    ctx = context(SIGNED, AWS_CHUNKED_SEED)
    assert encode(SIGNED, [b"a" * 65536, b"a" * 1024], ctx=ctx) == AWS_CHUNKED_BODY


@given(cuts=st.lists(st.integers(0, len(AWS_TRAILER_BODY)), max_size=12))
def test_aws_trailer_example_decodes_at_any_feed_boundary(cuts: list[int]) -> None:
    assert len(AWS_TRAILER_BODY) == 66946  # the example's Content-Length
    data, trailers = decode(
        SIGNED_TRAILER,
        AWS_TRAILER_BODY,
        cuts=cuts,
        decoded_length=66560,
        trailer_names=parse_trailer_names("x-amz-checksum-crc32c"),
        ctx=context(SIGNED_TRAILER, AWS_TRAILER_SEED),
    )
    assert data == b"a" * 66560
    assert trailers == {"x-amz-checksum-crc32c": "sOO8/Q=="}
    verifier = BodyVerifier(None, None, {}, trailer_algorithms=["CRC32C"])
    verifier.update(data)
    assert verifier.finish(trailers).checksums == {"CRC32C": "sOO8/Q=="}


# --- round trips -----------------------------------------------------------------------------


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    mode=st.sampled_from([SIGNED, SIGNED_TRAILER, UNSIGNED_TRAILER]),
    data=st.binary(max_size=3000),
    sizes=st.lists(st.integers(1, 700), max_size=10),
    cuts=st.lists(st.integers(0, 5000), max_size=15),
)
def test_round_trip_with_any_chunking_and_feed_boundaries(
    mode: PayloadMode, data: bytes, sizes: list[int], cuts: list[int]
) -> None:
    trailers = {} if mode is SIGNED else {CRC: f"{zlib.crc32(data):08x}"}
    body = encode(mode, split(data, sizes), trailers)
    decoded, got = decode(
        mode, body, cuts=cuts, decoded_length=len(data), trailer_names=list(trailers)
    )
    assert decoded == data
    assert got == trailers


def test_botocore_unsigned_trailer_body_decodes_and_verifies() -> None:
    payload = bytes(range(256)) * 300
    request = capture(
        "put_object",
        endpoint="https://s3.test:9443",
        Bucket="bucket",
        Key="k",
        Body=io.BytesIO(payload),
    )
    ctx = check(request)
    headers = {name.lower(): value for name, value in request.headers}
    assert "aws-chunked" in headers["content-encoding"]
    names = parse_trailer_names(headers["x-amz-trailer"])
    data, trailers = decode(
        ctx.payload_mode,
        request.body,
        cuts=list(range(0, len(request.body), 1000)),
        decoded_length=int(headers["x-amz-decoded-content-length"]),
        trailer_names=names,
    )
    assert data == payload
    algorithms = [a for a in map(algorithm_from_header, names) if a]
    verifier = BodyVerifier(None, None, {}, trailer_algorithms=algorithms)
    verifier.update(data)
    assert set(verifier.finish(trailers).checksums) == set(algorithms)


def test_single_byte_feeds_work() -> None:
    body = encode(SIGNED_TRAILER, [b"hello", b" world"], {CRC: "x"})
    decoder = AwsChunkedDecoder(SIGNED_TRAILER, context(SIGNED_TRAILER), 11, [CRC])
    out = b"".join(piece for i in range(len(body)) for piece in decoder.feed(body[i : i + 1]))
    assert out == b"hello world"
    assert decoder.finish() == {CRC: "x"}
    assert decoder.decoded_bytes == 11


# --- tampering -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [SIGNED, SIGNED_TRAILER])
def test_tampered_chunk_data_is_signature_mismatch(mode: PayloadMode) -> None:
    trailers = {CRC: "x"} if mode is SIGNED_TRAILER else {}
    body = bytearray(encode(mode, [b"first chunk", b"second chunk"], trailers))
    index = body.index(b"second")
    body[index] ^= 0x20
    err = error_of(mode, bytes(body), trailer_names=list(trailers))
    assert err.code == "SignatureDoesNotMatch"


def test_reordered_chunks_are_signature_mismatch() -> None:
    ctx = context(SIGNED)
    a = encode(SIGNED, [b"AAAA", b"BBBB"], ctx=ctx)
    first, second, rest = a.split(b"\r\n", 4)[0:2], a.split(b"\r\n", 4)[2:4], a.split(b"\r\n", 4)[4]
    swapped = b"\r\n".join([*second, *first, rest])
    assert error_of(SIGNED, swapped).code == "SignatureDoesNotMatch"


def test_tampered_final_chunk_signature_is_mismatch() -> None:
    body = encode(SIGNED, [b"data"])
    head, _, tail = body.rpartition(b"0;chunk-signature=")
    forged = head + b"0;chunk-signature=" + b"0" * 64 + tail[64:]
    assert error_of(SIGNED, forged).code == "SignatureDoesNotMatch"


def test_wrong_seed_signature_is_mismatch() -> None:
    body = encode(SIGNED, [b"data"], ctx=context(SIGNED, "1" * 64))
    assert error_of(SIGNED, body).code == "SignatureDoesNotMatch"


def test_tampered_trailer_value_is_signature_mismatch() -> None:
    body = encode(SIGNED_TRAILER, [b"data"], {CRC: "AAAAAA=="}).replace(b"AAAAAA==", b"BBBBBB==")
    err = error_of(SIGNED_TRAILER, body, trailer_names=[CRC])
    assert err.code == "SignatureDoesNotMatch"


def test_forged_trailer_signature_is_mismatch() -> None:
    body = encode(SIGNED_TRAILER, [b"data"], {CRC: "AAAAAA=="})
    head, _, _ = body.partition(b"x-amz-trailer-signature:")
    forged = head + b"x-amz-trailer-signature:" + b"f" * 64 + b"\r\n\r\n"
    err = error_of(SIGNED_TRAILER, forged, trailer_names=[CRC])
    assert err.code == "SignatureDoesNotMatch"


def test_missing_trailer_signature_is_refused() -> None:
    body = encode(UNSIGNED_TRAILER, [b"data"], {CRC: "AAAAAA=="})  # no signatures at all
    assert error_of(SIGNED_TRAILER, body, trailer_names=[CRC]).code == "InvalidRequest"


def test_stripped_trailer_signature_with_valid_chunks_is_refused() -> None:
    body = encode(SIGNED_TRAILER, [b"data"], {CRC: "AAAAAA=="})
    head, _, _ = body.partition(b"x-amz-trailer-signature:")
    err = error_of(SIGNED_TRAILER, head + b"\r\n", trailer_names=[CRC])
    assert err.code == "InvalidRequest"


# --- truncation and lengths ------------------------------------------------------------------


@settings(max_examples=150)
@given(
    mode=st.sampled_from([SIGNED, SIGNED_TRAILER, UNSIGNED_TRAILER]),
    data=st.binary(min_size=1, max_size=500),
    sizes=st.lists(st.integers(1, 200), max_size=5),
    fraction=st.floats(0, 1, exclude_max=True),
)
def test_truncated_stream_is_incomplete_body(
    mode: PayloadMode, data: bytes, sizes: list[int], fraction: float
) -> None:
    trailers = {} if mode is SIGNED else {CRC: "AAAAAA=="}
    body = encode(mode, split(data, sizes), trailers)
    cut = int(len(body) * fraction)
    assert error_of(mode, body[:cut], trailer_names=list(trailers)).code == "IncompleteBody"


@pytest.mark.parametrize("mode", [SIGNED, UNSIGNED_TRAILER])
def test_missing_final_chunk_is_incomplete_body(mode: PayloadMode) -> None:
    body = encode(mode, [b"data"])
    without_final = body[: body.index(b"\r\n", body.index(b"data")) + 2]
    assert error_of(mode, without_final).code == "IncompleteBody"


@pytest.mark.parametrize("declared", [3, 5, 0])
def test_decoded_length_mismatch_is_incomplete_body(declared: int) -> None:
    body = encode(SIGNED, [b"da", b"ta"])
    assert error_of(SIGNED, body, decoded_length=declared).code == "IncompleteBody"


# --- framing ---------------------------------------------------------------------------------


def test_data_after_final_chunk_is_refused() -> None:
    body = encode(UNSIGNED_TRAILER, [b"data"]) + b"4\r\nmore\r\n"
    assert error_of(UNSIGNED_TRAILER, body).code == "InvalidRequest"


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\ndata\r\n0\r\n\r\n",
        b"-4\r\ndata\r\n0\r\n\r\n",
        b"\r\n",
        b"4\ndata\r\n0\r\n\r\n",
        b"4\r\ndataXX0\r\n\r\n",
        b"4\r\ndata\r\n0\r\nno-colon\r\n\r\n",
        b"1" * 17 + b"\r\n",
        b"4" + b" " * (MAX_LINE + 10),
    ],
    ids=["hex", "negative", "empty-size", "bare-lf", "no-crlf", "trailer", "huge", "long-line"],
)
def test_malformed_framing_is_invalid_request(body: bytes) -> None:
    assert error_of(UNSIGNED_TRAILER, body).code == "InvalidRequest"


def test_signed_chunk_without_signature_is_invalid_request() -> None:
    assert error_of(SIGNED, b"4\r\ndata\r\n0\r\n\r\n").code == "InvalidRequest"


def test_trailers_are_refused_in_plain_signed_mode() -> None:
    body = encode(SIGNED, [b"data"])[:-2] + b"x-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    assert error_of(SIGNED, body).code == "InvalidRequest"


def test_announced_trailer_must_arrive() -> None:
    body = encode(UNSIGNED_TRAILER, [b"data"])
    assert error_of(UNSIGNED_TRAILER, body, trailer_names=[CRC]).code == "InvalidRequest"


def test_unannounced_or_duplicate_trailer_is_refused() -> None:
    body = encode(UNSIGNED_TRAILER, [b"data"], {CRC: "AAAAAA=="})
    assert error_of(UNSIGNED_TRAILER, body).code == "InvalidRequest"
    duplicated = body[:-2] + f"{CRC}:AAAAAA==\r\n\r\n".encode()
    assert error_of(UNSIGNED_TRAILER, duplicated, trailer_names=[CRC]).code == "InvalidRequest"


def test_non_streaming_mode_is_refused() -> None:
    with pytest.raises(S3Error):
        AwsChunkedDecoder(PayloadMode.UNSIGNED, None, None, [])


def test_decoder_stays_failed_after_an_error() -> None:
    decoder = AwsChunkedDecoder(UNSIGNED_TRAILER, None, None, [])
    with pytest.raises(S3Error):
        decoder.feed(b"zz\r\n")
    with pytest.raises(S3Error):
        decoder.feed(b"0\r\n\r\n")
    with pytest.raises(S3Error):
        decoder.finish()


def test_parse_trailer_names() -> None:
    assert parse_trailer_names(" X-Amz-Checksum-CRC32 , x-amz-meta-a,") == [
        "x-amz-checksum-crc32",
        "x-amz-meta-a",
    ]
    assert parse_trailer_names(None) == []


# --- garbage ---------------------------------------------------------------------------------


def fuzz(mode: PayloadMode, body: bytes, cuts: list[int], names: list[str]) -> bytes | None:
    """Decode, allowing only S3Error; the payload if the stream was accepted."""
    try:
        data, _ = decode(mode, body, cuts=cuts, trailer_names=names)
    except S3Error:
        return None
    return data


@settings(max_examples=400)
@given(
    mode=st.sampled_from([SIGNED, SIGNED_TRAILER, UNSIGNED_TRAILER]),
    body=st.binary(max_size=300),
    cuts=st.lists(st.integers(0, 300), max_size=6),
)
def test_random_bytes_only_raise_s3_errors(mode: PayloadMode, body: bytes, cuts: list[int]) -> None:
    fuzz(mode, body, cuts, [CRC])


FRAMING_ALPHABET = b"0123456789abcdefABCDEF;=:\r\n -xchunk-signature"


@settings(max_examples=400)
@given(
    mode=st.sampled_from([SIGNED, SIGNED_TRAILER, UNSIGNED_TRAILER]),
    body=st.lists(st.sampled_from(list(FRAMING_ALPHABET)), max_size=200).map(bytes),
)
def test_framing_like_garbage_only_raises_s3_errors(mode: PayloadMode, body: bytes) -> None:
    fuzz(mode, body, [], [CRC])


@settings(max_examples=300)
@given(
    mode=st.sampled_from([SIGNED, SIGNED_TRAILER]),
    data=st.binary(min_size=1, max_size=300),
    sizes=st.lists(st.integers(1, 100), max_size=4),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), min_size=1, max_size=3),
)
def test_mutated_signed_stream_never_yields_other_data(
    mode: PayloadMode,
    data: bytes,
    sizes: list[int],
    flips: list[tuple[int, int]],
) -> None:
    trailers = {CRC: "AAAAAA=="} if mode is SIGNED_TRAILER else {}
    body = bytearray(encode(mode, split(data, sizes), trailers))
    for index, mask in flips:
        body[index % len(body)] ^= mask
    accepted = fuzz(mode, bytes(body), [], list(trailers))
    assert accepted is None or accepted == data
