"""The multipart messages of the operation contract: round trips and routes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sangraha import contract as c

TEXT = st.text(max_size=40)
META = st.dictionaries(st.text(min_size=1, max_size=10), TEXT, max_size=4)
NUMBER = st.integers(1, 10000)
TS = st.floats(0, 4e9, allow_nan=False)


def _requests():
    bucket, key, upload = (st.text(min_size=1, max_size=20) for _ in range(3))
    return st.one_of(
        st.builds(
            c.CreateMultipartUpload,
            bucket=bucket,
            key=key,
            content_type=TEXT,
            metadata=META,
            headers=META,
            tags=META,
            checksum_algorithm=st.sampled_from(["", "CRC32", "SHA256"]),
            checksum_type=st.sampled_from(["", "COMPOSITE", "FULL_OBJECT"]),
        ),
        st.builds(
            c.UploadPart,
            bucket=bucket,
            key=key,
            upload_id=upload,
            part_number=NUMBER,
            size=st.integers(0, 5 * 2**30),
            md5=st.text("0123456789abcdef", min_size=32, max_size=32),
            streamed=st.booleans(),
            checksums=META,
        ),
        st.builds(
            c.UploadPartCopy,
            bucket=bucket,
            key=key,
            upload_id=upload,
            part_number=NUMBER,
            source_bucket=bucket,
            source_key=key,
            source_range=st.none() | TEXT,
            source_conditions=META,
        ),
        st.builds(
            c.CompleteMultipartUpload,
            bucket=bucket,
            key=key,
            upload_id=upload,
            parts=st.lists(
                st.builds(c.CompletedPart, number=NUMBER, etag=TEXT, checksums=META), max_size=5
            ),
            checksums=META,
            conditions=META,
        ),
        st.builds(c.AbortMultipartUpload, bucket=bucket, key=key, upload_id=upload),
        st.builds(
            c.ListParts,
            bucket=bucket,
            key=key,
            upload_id=upload,
            max_parts=st.integers(0, 1000),
            part_number_marker=st.integers(0, 10000),
        ),
        st.builds(
            c.ListMultipartUploads,
            bucket=bucket,
            prefix=TEXT,
            delimiter=TEXT,
            max_uploads=st.integers(0, 1000),
            key_marker=TEXT,
            upload_id_marker=TEXT,
        ),
    )


def _replies():
    return st.one_of(
        st.builds(c.UploadCreated, upload_id=TEXT, checksum_algorithm=TEXT, checksum_type=TEXT),
        st.builds(c.PartWritten, etag=TEXT, last_modified=TS, checksums=META),
        st.builds(c.UploadCompleted, etag=TEXT, checksums=META, checksum_type=TEXT),
        st.builds(
            c.PartList,
            parts=st.lists(
                st.builds(
                    c.PartInfo,
                    number=NUMBER,
                    etag=TEXT,
                    size=st.integers(0, 2**33),
                    last_modified=TS,
                    checksums=META,
                ),
                max_size=5,
            ),
            is_truncated=st.booleans(),
            next_marker=st.none() | NUMBER,
        ),
        st.builds(
            c.UploadList,
            uploads=st.lists(
                st.builds(c.UploadInfo, key=TEXT, upload_id=TEXT, initiated=TS), max_size=5
            ),
            common_prefixes=st.lists(TEXT, max_size=3),
            is_truncated=st.booleans(),
            next_key_marker=st.none() | TEXT,
            next_upload_id_marker=st.none() | TEXT,
        ),
    )


@given(request=_requests(), payload=st.binary(max_size=256))
def test_multipart_requests_round_trip(request, payload):
    if not type(request).HAS_PAYLOAD:
        payload = b""
    call = c.Call(request_id="R1", deadline=1.5, request=request)
    decoded, body = c.decode_call(c.encode_call(call, payload))
    assert decoded == call
    assert bytes(body) == payload


@given(reply=_replies())
def test_multipart_replies_round_trip(reply):
    answer = c.Answer(request_id="R2", reply=reply)
    decoded, _ = c.decode_answer(c.encode_answer(answer))
    assert decoded == answer


def test_only_upload_part_carries_a_payload_and_lists_are_reads():
    writes = {
        c.CreateMultipartUpload,
        c.UploadPart,
        c.UploadPartCopy,
        c.CompleteMultipartUpload,
        c.AbortMultipartUpload,
    }
    assert all(r.ROUTE is c.Route.WRITE for r in writes)
    assert c.ListParts.ROUTE is c.Route.READ
    assert c.ListMultipartUploads.ROUTE is c.Route.READ
    assert [r for r in (*writes, c.ListParts) if r.HAS_PAYLOAD] == [c.UploadPart]
