"""The operation contract: framing, versioning, and round trips of every message."""

from __future__ import annotations

import contextlib
import struct
import time

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sangraha import contract as c

TEXT = st.text(max_size=40)
META = st.dictionaries(st.text(min_size=1, max_size=10), TEXT, max_size=4)


def _requests():
    bucket, key = st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=60)
    return st.one_of(
        st.builds(c.Ping),
        st.builds(c.PingWriter),
        st.builds(c.ListBuckets),
        st.builds(c.CreateBucket, bucket=bucket),
        st.builds(c.HeadBucket, bucket=bucket),
        st.builds(c.DeleteBucket, bucket=bucket),
        st.builds(
            c.PutObject,
            bucket=bucket,
            key=key,
            size=st.integers(0, 2**40),
            md5=st.text("0123456789abcdef", min_size=32, max_size=32),
            content_type=TEXT,
            metadata=META,
            headers=META,
            checksums=META,
            tags=META,
            conditions=META,
        ),
        st.builds(
            c.GetObject,
            bucket=bucket,
            key=key,
            range=st.none() | TEXT,
            conditions=META,
            checksum_mode=st.booleans(),
        ),
        st.builds(
            c.HeadObject,
            bucket=bucket,
            key=key,
            range=st.none() | TEXT,
            conditions=META,
            checksum_mode=st.booleans(),
        ),
        st.builds(c.DeleteObject, bucket=bucket, key=key),
        st.builds(
            c.CopyObject,
            bucket=bucket,
            key=key,
            source_bucket=bucket,
            source_key=key,
            replace_metadata=st.booleans(),
            content_type=TEXT,
            metadata=META,
            headers=META,
            replace_tags=st.booleans(),
            tags=META,
            source_conditions=META,
            conditions=META,
        ),
        st.builds(c.DeleteObjects, bucket=bucket, keys=st.lists(key, max_size=5)),
        st.builds(c.GetObjectTagging, bucket=bucket, key=key),
        st.builds(c.PutObjectTagging, bucket=bucket, key=key, tags=META),
        st.builds(c.DeleteObjectTagging, bucket=bucket, key=key),
        st.builds(
            c.ListObjects,
            bucket=bucket,
            prefix=TEXT,
            delimiter=TEXT,
            max_keys=st.integers(0, 1000),
            start_after=TEXT,
            cursor=st.none() | TEXT,
        ),
    )


def _replies():
    ts = st.floats(0, 4e9, allow_nan=False)
    entry = st.builds(
        c.ListEntry, key=TEXT, size=st.integers(0, 2**40), etag=TEXT, last_modified=ts
    )
    return st.one_of(
        st.builds(c.Done),
        st.builds(c.Failure, code=TEXT, message=TEXT, headers=META),
        st.builds(c.BucketList, buckets=st.lists(st.builds(c.BucketInfo, name=TEXT, created=ts))),
        st.builds(c.ObjectWritten, etag=TEXT),
        st.builds(
            c.ObjectMeta,
            etag=TEXT,
            size=st.integers(0, 2**40),
            last_modified=ts,
            content_type=TEXT,
            metadata=META,
            headers=META,
            range=st.none() | st.tuples(st.integers(0, 100), st.integers(100, 200)),
            checksums=META,
            tag_count=st.integers(0, 10),
        ),
        st.builds(c.ObjectCopied, etag=TEXT, last_modified=ts),
        st.builds(
            c.ObjectsDeleted,
            deleted=st.lists(TEXT, max_size=5),
            errors=st.lists(st.builds(c.KeyFailure, key=TEXT, code=TEXT, message=TEXT), max_size=3),
        ),
        st.builds(c.TagSet, tags=META),
        st.builds(
            c.Listing,
            entries=st.lists(entry, max_size=5),
            common_prefixes=st.lists(TEXT, max_size=5),
            is_truncated=st.booleans(),
            next_cursor=st.none() | TEXT,
            last=st.none() | TEXT,
        ),
    )


@given(request=_requests(), payload=st.binary(max_size=256))
def test_every_request_round_trips_with_raw_payload(request, payload):
    if not type(request).HAS_PAYLOAD:
        payload = b""
    call = c.Call(request_id="R1", deadline=123.5, request=request)
    frame = c.encode_call(call, payload)
    decoded, body = c.decode_call(frame)
    assert decoded == call
    assert bytes(body) == payload
    # Payload bytes travel raw: the frame ends with them, unencoded.
    assert frame.endswith(payload)


@given(reply=_replies(), payload=st.binary(max_size=256))
def test_every_reply_round_trips(reply, payload):
    answer = c.Answer(request_id="R2", reply=reply)
    decoded, body = c.decode_answer(c.encode_answer(answer, payload))
    assert decoded == answer
    assert bytes(body) == payload


@given(st.binary(max_size=512))
def test_garbage_frames_raise_only_contract_error(data):
    for decode in (c.decode_call, c.decode_answer):
        with contextlib.suppress(c.ContractError):
            decode(data)


def test_other_contract_version_is_refused():
    call = c.Call(v=2, request_id="R", deadline=1.0, request=c.ListBuckets())
    with pytest.raises(c.ContractError, match="version 2"):
        c.decode_call(c.encode_call(call))


def test_payload_on_an_operation_without_one_is_refused():
    call = c.Call(request_id="R", deadline=1.0, request=c.HeadBucket(bucket="b"))
    with pytest.raises(c.ContractError):
        c.encode_call(call, b"x")
    head = msgspec.json.encode(call)
    with pytest.raises(c.ContractError):
        c.decode_call(struct.pack(">I", len(head)) + head + b"smuggled")


def test_head_length_beyond_frame_is_refused():
    with pytest.raises(c.ContractError):
        c.decode_call(struct.pack(">I", 1000) + b"{}")


def test_unknown_operation_is_refused():
    head = b'{"v":1,"request_id":"R","deadline":1,"request":{"op":"FormatDisk"}}'
    with pytest.raises(c.ContractError):
        c.decode_call(struct.pack(">I", len(head)) + head)


def test_routes_send_writes_to_write_queue_and_reads_to_read_queue():
    writes = {
        c.CreateBucket,
        c.DeleteBucket,
        c.PutObject,
        c.DeleteObject,
        c.PingWriter,
        c.CopyObject,
        c.DeleteObjects,
        c.PutObjectTagging,
        c.DeleteObjectTagging,
    }
    reads = {
        c.ListBuckets,
        c.HeadBucket,
        c.GetObject,
        c.HeadObject,
        c.ListObjects,
        c.Ping,
        c.GetObjectTagging,
    }
    assert {r for r in writes if r.ROUTE.value == c.WRITE_QUEUE} == writes
    assert {r for r in reads if r.ROUTE.value == c.READ_QUEUE} == reads
    assert c.WRITE_QUEUE == "object_write_queue"
    assert c.READ_QUEUE == "object_read_queue"


def test_deadline_helpers():
    call = c.Call(request_id="R", deadline=time.time() + 10, request=c.ListBuckets())
    assert not call.expired()
    assert 9 < call.remaining() <= 10
    assert call.expired(now=call.deadline)
