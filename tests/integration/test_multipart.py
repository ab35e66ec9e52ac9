"""Multipart uploads in both modes: by hand with boto3, every documented error,
abort, listing and its pagination, UploadPartCopy with a range, checksums,
and the real transfer clients (boto3's upload_file/download_file, `aws s3 cp`).
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid
import zlib
from pathlib import Path

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.integration.rawhttp import send, sign
from tests.integration.test_awscli import aws
from tests.integration.test_large_objects import _send_partial_put

pytestmark = pytest.mark.services

MiB = 1024 * 1024


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def multipart_etag(parts: list[bytes]) -> str:
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(parts)}"'


def error_of(call, *args, **kwargs) -> tuple[str, int]:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    response = info.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def upload(
    s3, bucket: str, key: str, parts: list[bytes], **create: object
) -> tuple[str, list[dict]]:
    """Create an upload and send ``parts``; the completion list."""
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)["UploadId"]
    done = []
    for number, data in enumerate(parts, 1):
        etag = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
        )["ETag"]
        done.append({"PartNumber": number, "ETag": etag})
    return upload_id, done


@pytest.fixture
def upload_id(s3, bucket) -> str:
    return s3.create_multipart_upload(Bucket=bucket, Key="obj")["UploadId"]


# ------------------------------------------------------------------ the happy path


def test_three_parts_by_hand_make_one_object_with_the_multipart_etag(s3, bucket):
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB + 7), b"a small last part"]
    created = s3.create_multipart_upload(
        Bucket=bucket,
        Key="dir/obj.bin",
        ContentType="application/x-demo",
        Metadata={"colour": "blue"},
        CacheControl="max-age=60",
    )
    upload_id = created["UploadId"]
    assert created["Key"] == "dir/obj.bin"
    etags = []
    for number, data in enumerate(parts, 1):
        reply = s3.upload_part(
            Bucket=bucket, Key="dir/obj.bin", UploadId=upload_id, PartNumber=number, Body=data
        )
        assert reply["ETag"] == f'"{md5_hex(data)}"'
        etags.append(reply["ETag"])
    listed = s3.list_parts(Bucket=bucket, Key="dir/obj.bin", UploadId=upload_id)
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed["Parts"]] == [
        (n, etags[n - 1], len(parts[n - 1])) for n in (1, 2, 3)
    ]
    assert listed["IsTruncated"] is False
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="dir/obj.bin",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[n - 1]} for n in (1, 2, 3)]},
    )
    expected = multipart_etag(parts)
    assert done["ETag"] == expected
    assert done["Bucket"] == bucket and done["Key"] == "dir/obj.bin"
    assert done["Location"].endswith(f"/{bucket}/dir/obj.bin")

    head = s3.head_object(Bucket=bucket, Key="dir/obj.bin")
    assert head["ETag"] == expected
    assert head["ContentLength"] == sum(map(len, parts))
    assert head["ContentType"] == "application/x-demo"
    assert head["Metadata"] == {"colour": "blue"}
    assert head["CacheControl"] == "max-age=60"
    got = s3.get_object(Bucket=bucket, Key="dir/obj.bin")
    assert got["ETag"] == expected
    assert got["Body"].read() == b"".join(parts)
    [entry] = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert (entry["Key"], entry["ETag"], entry["Size"]) == (
        "dir/obj.bin",
        expected,
        sum(map(len, parts)),
    )
    # The upload is gone.
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
    code, status = error_of(s3.list_parts, Bucket=bucket, Key="dir/obj.bin", UploadId=upload_id)
    assert (code, status) == ("NoSuchUpload", 404)


def test_a_part_above_the_inline_limit_is_streamed(s3, bucket):
    # 17 MiB is above SANGRAHA_MAX_INLINE_BYTES (16 MiB): chunk frames.
    parts = [os.urandom(17 * MiB + 3), os.urandom(1000)]
    upload_id, done = upload(s3, bucket, "streamed", parts)
    assert done[0]["ETag"] == f'"{md5_hex(parts[0])}"'
    reply = s3.complete_multipart_upload(
        Bucket=bucket, Key="streamed", UploadId=upload_id, MultipartUpload={"Parts": done}
    )
    assert reply["ETag"] == multipart_etag(parts)
    body = s3.get_object(Bucket=bucket, Key="streamed")["Body"].read()
    assert md5_hex(body) == md5_hex(b"".join(parts))


def test_uploading_a_part_again_replaces_it(s3, bucket, upload_id):
    s3.upload_part(Bucket=bucket, Key="obj", UploadId=upload_id, PartNumber=1, Body=b"old")
    new = s3.upload_part(Bucket=bucket, Key="obj", UploadId=upload_id, PartNumber=1, Body=b"new!")
    [part] = s3.list_parts(Bucket=bucket, Key="obj", UploadId=upload_id)["Parts"]
    assert (part["ETag"], part["Size"]) == (new["ETag"], 4)
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="obj",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": new["ETag"]}]},
    )
    assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == b"new!"


def test_parts_may_skip_numbers_and_the_object_replaces_an_existing_one(s3, bucket):
    s3.put_object(Bucket=bucket, Key="obj", Body=b"previous")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="obj")["UploadId"]
    first, last = os.urandom(5 * MiB), b"end"
    e1 = s3.upload_part(Bucket=bucket, Key="obj", UploadId=upload_id, PartNumber=3, Body=first)
    e2 = s3.upload_part(Bucket=bucket, Key="obj", UploadId=upload_id, PartNumber=10000, Body=last)
    # Still the old object until completion.
    assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == b"previous"
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="obj",
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [
                {"PartNumber": 3, "ETag": e1["ETag"]},
                {"PartNumber": 10000, "ETag": e2["ETag"]},
            ]
        },
    )
    assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == first + last


def test_a_single_small_part_completes(s3, bucket):
    upload_id, done = upload(s3, bucket, "tiny", [b"only part"])
    reply = s3.complete_multipart_upload(
        Bucket=bucket, Key="tiny", UploadId=upload_id, MultipartUpload={"Parts": done}
    )
    assert reply["ETag"] == multipart_etag([b"only part"])
    assert s3.head_object(Bucket=bucket, Key="tiny")["ContentLength"] == 9


# ------------------------------------------------------------------ errors


def test_unknown_upload_is_no_such_upload_everywhere(s3, bucket):
    bogus = "bm8tc3VjaC11cGxvYWQ"
    assert error_of(
        s3.upload_part, Bucket=bucket, Key="obj", UploadId=bogus, PartNumber=1, Body=b"x"
    ) == ("NoSuchUpload", 404)
    assert error_of(s3.list_parts, Bucket=bucket, Key="obj", UploadId=bogus) == (
        "NoSuchUpload",
        404,
    )
    assert error_of(s3.abort_multipart_upload, Bucket=bucket, Key="obj", UploadId=bogus) == (
        "NoSuchUpload",
        404,
    )
    assert error_of(
        s3.complete_multipart_upload,
        Bucket=bucket,
        Key="obj",
        UploadId=bogus,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}]},
    ) == ("NoSuchUpload", 404)


def test_an_upload_id_belongs_to_its_key(s3, bucket, upload_id):
    assert error_of(
        s3.upload_part, Bucket=bucket, Key="other", UploadId=upload_id, PartNumber=1, Body=b"x"
    ) == ("NoSuchUpload", 404)


@pytest.mark.parametrize("number", [0, 10001, -1])
def test_part_numbers_outside_1_to_10000_are_invalid_argument(s3, bucket, upload_id, number):
    assert error_of(
        s3.upload_part, Bucket=bucket, Key="obj", UploadId=upload_id, PartNumber=number, Body=b"x"
    ) == ("InvalidArgument", 400)


def test_completing_with_an_unknown_part_or_a_wrong_etag_is_invalid_part(s3, bucket):
    upload_id, done = upload(s3, bucket, "obj", [b"one"])
    for parts in (
        [{"PartNumber": 2, "ETag": done[0]["ETag"]}],
        [{"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}],
    ):
        assert error_of(
            s3.complete_multipart_upload,
            Bucket=bucket,
            Key="obj",
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
        ) == ("InvalidPart", 400)
    # The upload survives a failed completion.
    assert len(s3.list_parts(Bucket=bucket, Key="obj", UploadId=upload_id)["Parts"]) == 1


@pytest.mark.parametrize("numbers", [[2, 1], [1, 1]])
def test_parts_not_in_ascending_order_are_invalid_part_order(s3, bucket, numbers):
    upload_id, done = upload(s3, bucket, "obj", [os.urandom(5 * MiB), b"two"])
    etags = {d["PartNumber"]: d["ETag"] for d in done}
    assert error_of(
        s3.complete_multipart_upload,
        Bucket=bucket,
        Key="obj",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[n]} for n in numbers]},
    ) == ("InvalidPartOrder", 400)


def test_a_part_under_5_mib_that_is_not_last_is_entity_too_small(s3, bucket):
    upload_id, done = upload(s3, bucket, "obj", [b"small", b"last"])
    assert error_of(
        s3.complete_multipart_upload,
        Bucket=bucket,
        Key="obj",
        UploadId=upload_id,
        MultipartUpload={"Parts": done},
    ) == ("EntityTooSmall", 400)
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="obj")


@pytest.mark.parametrize(
    "body",
    [
        b"not xml at all",
        b"<CompleteMultipartUpload></CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>e</ETag></Part>"
        b"</CompleteMultipartUpload>",
        b'<!DOCTYPE x [<!ENTITY a "b">]><CompleteMultipartUpload/>',
    ],
)
def test_a_bad_completion_document_is_malformed_xml(target, s3, bucket, upload_id, body):
    signed = sign(target, "POST", f"/{bucket}/obj?uploadId={upload_id}", body=body)
    reply = send(target, signed, body)
    assert (reply.status, reply.code) == (400, "MalformedXML")


def test_an_oversized_completion_document_is_refused_before_it_is_read(
    target, s3, bucket, upload_id
):
    signed = sign(
        target,
        "POST",
        f"/{bucket}/obj?uploadId={upload_id}",
        headers={"Content-Length": str(64 * MiB)},
        payload_hash="UNSIGNED-PAYLOAD",
    )
    reply = send(target, signed)
    assert (reply.status, reply.code) == (400, "MalformedXML")


def test_complete_with_if_none_match_star_does_not_overwrite(s3, bucket):
    s3.put_object(Bucket=bucket, Key="obj", Body=b"keep me")
    upload_id, done = upload(s3, bucket, "obj", [b"replacement"])
    assert error_of(
        s3.complete_multipart_upload,
        Bucket=bucket,
        Key="obj",
        UploadId=upload_id,
        MultipartUpload={"Parts": done},
        IfNoneMatch="*",
    ) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == b"keep me"


def test_a_part_with_a_wrong_content_md5_is_not_kept(s3, bucket, upload_id):
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    assert error_of(
        s3.upload_part,
        Bucket=bucket,
        Key="obj",
        UploadId=upload_id,
        PartNumber=1,
        Body=b"data",
        ContentMD5=wrong,
    ) == ("BadDigest", 400)
    assert s3.list_parts(Bucket=bucket, Key="obj", UploadId=upload_id).get("Parts", []) == []


def test_a_client_gone_mid_part_leaves_no_part(target, s3, bucket, upload_id):
    _send_partial_put(
        target, f"/{bucket}/obj?partNumber=1&uploadId={upload_id}", 40 * MiB, 20 * MiB
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        parts = s3.list_parts(Bucket=bucket, Key="obj", UploadId=upload_id).get("Parts", [])
        assert parts == []
        time.sleep(0.5)


# ------------------------------------------------------------------ abort


def test_abort_leaves_no_upload_and_no_parts(s3, bucket):
    upload_id, _ = upload(s3, bucket, "obj", [os.urandom(5 * MiB), b"two"])
    s3.abort_multipart_upload(Bucket=bucket, Key="obj", UploadId=upload_id)
    assert error_of(s3.list_parts, Bucket=bucket, Key="obj", UploadId=upload_id) == (
        "NoSuchUpload",
        404,
    )
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
    assert error_of(
        s3.upload_part, Bucket=bucket, Key="obj", UploadId=upload_id, PartNumber=3, Body=b"x"
    ) == ("NoSuchUpload", 404)
    assert error_of(s3.abort_multipart_upload, Bucket=bucket, Key="obj", UploadId=upload_id) == (
        "NoSuchUpload",
        404,
    )
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_deleting_a_bucket_drops_its_uploads_in_progress(s3):
    name = f"t-{uuid.uuid4().hex[:20]}"
    s3.create_bucket(Bucket=name)
    upload(s3, name, "obj", [b"part"])
    s3.delete_bucket(Bucket=name)  # as on AWS: uploads in progress do not block it
    s3.create_bucket(Bucket=name)
    try:
        assert "Uploads" not in s3.list_multipart_uploads(Bucket=name)
    finally:
        s3.delete_bucket(Bucket=name)


# ------------------------------------------------------------------ listing


def test_list_parts_pages_with_max_parts_and_the_marker(s3, bucket, upload_id):
    for number in range(1, 8):
        s3.upload_part(
            Bucket=bucket, Key="obj", UploadId=upload_id, PartNumber=number, Body=b"p%d" % number
        )
    seen: list[int] = []
    marker = 0
    while True:
        page = s3.list_parts(
            Bucket=bucket, Key="obj", UploadId=upload_id, MaxParts=3, PartNumberMarker=marker
        )
        seen += [p["PartNumber"] for p in page["Parts"]]
        assert page["MaxParts"] == 3
        if not page["IsTruncated"]:
            break
        marker = page["NextPartNumberMarker"]
        assert marker == seen[-1]
    assert seen == list(range(1, 8))
    paginated = s3.get_paginator("list_parts").paginate(
        Bucket=bucket, Key="obj", UploadId=upload_id, PaginationConfig={"PageSize": 2}
    )
    assert [p["PartNumber"] for page in paginated for p in page["Parts"]] == seen


def _all_uploads(s3, bucket: str, page_size: int, **params: str) -> tuple[list, list]:
    uploads, prefixes, pages = [], [], 0
    markers: dict[str, str] = {}
    while True:
        page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=page_size, **params, **markers)
        pages += 1
        assert len(page.get("Uploads", [])) + len(page.get("CommonPrefixes", [])) <= page_size
        uploads += [(u["Key"], u["UploadId"]) for u in page.get("Uploads", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if not page["IsTruncated"]:
            return uploads, prefixes
        markers = {"KeyMarker": page["NextKeyMarker"]}
        if page.get("NextUploadIdMarker"):
            markers["UploadIdMarker"] = page["NextUploadIdMarker"]
        assert pages < 50


def test_list_multipart_uploads_pages_by_key_and_upload_id(s3, bucket):
    keys = ["a/1", "a/2", "b", "b", "b", "c/d/e", "z"]
    created = []
    for key in keys:
        created.append((key, s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]))
    everything = sorted(created)
    for page_size in (1, 2, 3, 1000):
        uploads, prefixes = _all_uploads(s3, bucket, page_size)
        assert uploads == everything
        assert prefixes == []
    # Prefix and delimiter, paged too: common prefixes count against the page.
    for page_size in (1, 2, 1000):
        uploads, prefixes = _all_uploads(s3, bucket, page_size, Delimiter="/")
        assert prefixes == ["a/", "c/"]
        assert uploads == [u for u in everything if "/" not in u[0]]
    uploads, prefixes = _all_uploads(s3, bucket, 1000, Prefix="a/")
    assert uploads == [u for u in everything if u[0].startswith("a/")]
    uploads, prefixes = _all_uploads(s3, bucket, 1000, Prefix="c/", Delimiter="/")
    assert (uploads, prefixes) == ([], ["c/d/"])
    # boto3's own paginator follows the markers to the same result.
    paginated = s3.get_paginator("list_multipart_uploads").paginate(
        Bucket=bucket, PaginationConfig={"PageSize": 2}
    )
    assert [(u["Key"], u["UploadId"]) for p in paginated for u in p.get("Uploads", [])] == (
        everything
    )
    [upload_entry] = s3.list_multipart_uploads(Bucket=bucket, Prefix="z")["Uploads"]
    assert upload_entry["Initiated"].timestamp() == pytest.approx(time.time(), abs=300)


# ------------------------------------------------------------------ UploadPartCopy


def test_upload_part_copy_with_ranges_builds_an_object(s3, bucket):
    source = os.urandom(11 * MiB + 5)
    s3.put_object(Bucket=bucket, Key="source", Body=source)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="copy")["UploadId"]
    cut = 6 * MiB
    copies = []
    for number, (first, last) in enumerate([(0, cut - 1), (cut, len(source) - 1)], 1):
        reply = s3.upload_part_copy(
            Bucket=bucket,
            Key="copy",
            UploadId=upload_id,
            PartNumber=number,
            CopySource={"Bucket": bucket, "Key": "source"},
            CopySourceRange=f"bytes={first}-{last}",
        )
        result = reply["CopyPartResult"]
        assert result["ETag"] == f'"{md5_hex(source[first : last + 1])}"'
        assert result["LastModified"].timestamp() == pytest.approx(time.time(), abs=300)
        copies.append({"PartNumber": number, "ETag": result["ETag"]})
    tail = s3.upload_part(Bucket=bucket, Key="copy", UploadId=upload_id, PartNumber=3, Body=b"!")
    copies.append({"PartNumber": 3, "ETag": tail["ETag"]})
    # A whole-object copy as a part, too.
    s3.complete_multipart_upload(
        Bucket=bucket, Key="copy", UploadId=upload_id, MultipartUpload={"Parts": copies}
    )
    assert s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == source + b"!"
    expected = multipart_etag([source[:cut], source[cut:], b"!"])
    assert s3.head_object(Bucket=bucket, Key="copy")["ETag"] == expected


def test_upload_part_copy_of_a_whole_object(s3, bucket, upload_id):
    s3.put_object(Bucket=bucket, Key="small", Body=b"whole source")
    reply = s3.upload_part_copy(
        Bucket=bucket,
        Key="obj",
        UploadId=upload_id,
        PartNumber=1,
        CopySource=f"{bucket}/small",
    )
    assert reply["CopyPartResult"]["ETag"] == f'"{md5_hex(b"whole source")}"'


def test_upload_part_copy_errors(s3, bucket, upload_id):
    s3.put_object(Bucket=bucket, Key="source", Body=b"0123456789")

    def copy(**extra: object) -> tuple[str, int]:
        return error_of(
            s3.upload_part_copy,
            Bucket=bucket,
            Key="obj",
            UploadId=upload_id,
            PartNumber=1,
            **{"CopySource": {"Bucket": bucket, "Key": "source"}, **extra},
        )

    assert copy(CopySourceRange="bytes=5-10") == ("InvalidRange", 416)
    assert copy(CopySourceRange="bytes=5-") == ("InvalidArgument", 400)
    assert copy(CopySourceRange="bytes=7-3") == ("InvalidArgument", 400)
    assert copy(CopySourceIfMatch='"not-the-etag"') == ("PreconditionFailed", 412)
    assert copy(CopySource={"Bucket": bucket, "Key": "missing"}) == ("NoSuchKey", 404)
    assert error_of(
        s3.upload_part_copy,
        Bucket=bucket,
        Key="obj",
        UploadId="bm8tc3VjaC11cGxvYWQ",
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "source"},
    ) == ("NoSuchUpload", 404)


# ------------------------------------------------------------------ checksums


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def test_per_part_crc32_checksums_are_checked_and_listed(target, s3, bucket, upload_id):
    data = b"part with a checksum"
    reply = s3.upload_part(
        Bucket=bucket,
        Key="obj",
        UploadId=upload_id,
        PartNumber=1,
        Body=data,
        ChecksumCRC32=_crc32(data),
    )
    assert reply["ChecksumCRC32"] == _crc32(data)
    [part] = s3.list_parts(Bucket=bucket, Key="obj", UploadId=upload_id)["Parts"]
    assert part["ChecksumCRC32"] == _crc32(data)
    # A wrong part checksum never reaches storage.
    code, status = error_of(
        s3.upload_part,
        Bucket=bucket,
        Key="obj",
        UploadId=upload_id,
        PartNumber=2,
        Body=data,
        ChecksumCRC32=_crc32(b"other"),
    )
    assert status == 400 and code in ("BadDigest", "XAmzContentChecksumMismatch", "InvalidRequest")
    assert len(s3.list_parts(Bucket=bucket, Key="obj", UploadId=upload_id)["Parts"]) == 1


def test_an_upload_with_a_crc32_algorithm_gets_a_composite_checksum(s3, bucket):
    parts = [os.urandom(5 * MiB), b"tail"]
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="obj", ChecksumAlgorithm="CRC32")[
        "UploadId"
    ]
    done = []
    for number, data in enumerate(parts, 1):
        reply = s3.upload_part(
            Bucket=bucket,
            Key="obj",
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm="CRC32",
        )
        done.append(
            {"PartNumber": number, "ETag": reply["ETag"], "ChecksumCRC32": reply["ChecksumCRC32"]}
        )
    wrong = [dict(done[0], ChecksumCRC32=_crc32(b"no")), done[1]]
    assert error_of(
        s3.complete_multipart_upload,
        Bucket=bucket,
        Key="obj",
        UploadId=upload_id,
        MultipartUpload={"Parts": wrong},
    ) == ("InvalidPart", 400)
    completed = s3.complete_multipart_upload(
        Bucket=bucket, Key="obj", UploadId=upload_id, MultipartUpload={"Parts": done}
    )
    binary = b"".join(zlib.crc32(p).to_bytes(4, "big") for p in parts)
    composite = f"{_crc32(binary)}-2"
    assert completed["ChecksumCRC32"] == composite
    head = s3.head_object(Bucket=bucket, Key="obj", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == composite
    assert head["ChecksumType"] == "COMPOSITE"
    assert head["ETag"] == multipart_etag(parts)


# ------------------------------------------------------------------ real clients


def test_boto3_upload_file_and_download_file_use_multipart(s3, bucket, tmp_path, capsys):
    source = tmp_path / "upload.bin"
    source.write_bytes(os.urandom(40 * MiB + 321))
    config = TransferConfig(multipart_threshold=5 * MiB, max_concurrency=8)
    started = time.perf_counter()
    s3.upload_file(str(source), bucket, "big/file.bin", Config=config)
    up = time.perf_counter() - started
    head = s3.head_object(Bucket=bucket, Key="big/file.bin")
    assert head["ContentLength"] == source.stat().st_size
    assert head["ETag"].endswith('-6"')  # 8 MiB parts: 5 whole and a short last one
    target = tmp_path / "download.bin"
    started = time.perf_counter()
    s3.download_file(bucket, "big/file.bin", str(target), Config=config)
    down = time.perf_counter() - started
    assert md5_hex(target.read_bytes()) == md5_hex(source.read_bytes())
    size = source.stat().st_size / MiB
    with capsys.disabled():
        print(
            f"\n[multipart] boto3 upload_file {size / up:.1f} MiB/s, "
            f"download_file {size / down:.1f} MiB/s ({size:.0f} MiB)"
        )


def test_aws_cli_cp_of_60_mib_up_and_down_is_multipart(target, aws_env, s3, bucket, tmp_path):
    source: Path = tmp_path / "sixty.bin"
    source.write_bytes(os.urandom(60 * MiB + 11))
    aws(target, aws_env, "s3", "cp", str(source), f"s3://{bucket}/sixty.bin")
    head = s3.head_object(Bucket=bucket, Key="sixty.bin")
    assert head["ETag"].endswith('-8"')  # the CLI's 8 MiB parts
    back = tmp_path / "back.bin"
    aws(target, aws_env, "s3", "cp", f"s3://{bucket}/sixty.bin", str(back))
    assert md5_hex(back.read_bytes()) == md5_hex(source.read_bytes())
