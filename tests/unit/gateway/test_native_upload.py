"""Reading native bodies: early type refusal, size limits, JSON validation."""

from __future__ import annotations

import hashlib
import json

import pytest

from gateway.native.errors import NativeError
from gateway.native.sniff import Sniffer
from gateway.native.upload import Limits, read_file, read_json_document
from tests.unit.gateway import native_files

LIMITS = Limits(max_bytes=64 * 1024, sniff_bytes=2048, idle_timeout=5)
SNIFFER = Sniffer()
BOUNDARY = "bNd"
CT = f"multipart/form-data; boundary={BOUNDARY}"


class Receiver:
    """An ASGI receive callable over fixed chunks, counting what was read."""

    def __init__(self, data: bytes, chunk: int = 1024) -> None:
        self.chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)] or [b""]
        self.read = 0

    async def __call__(self):
        chunk = self.chunks[self.read] if self.read < len(self.chunks) else b""
        self.read += 1
        return {"type": "http.request", "body": chunk, "more_body": self.read < len(self.chunks)}


def multipart(content: bytes, filename: str = "f.bin", name: str = "file") -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        f"Content-Type: image/png\r\n\r\n".encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


async def test_reads_an_image_and_its_md5():
    content = native_files.png()
    upload = await read_file(
        Receiver(multipart(content, "p.png")), CT, None, "image", LIMITS, SNIFFER
    )
    assert bytes(upload.body) == content
    assert upload.md5 == hashlib.md5(content).hexdigest()
    assert (upload.content_type, upload.filename) == ("image/png", "p.png")


async def test_wrong_type_is_refused_after_the_first_bytes():
    content = b"plain text pretending to be a picture\n" * 2000  # ~76 KiB
    receiver = Receiver(multipart(content, "fake.png"), chunk=1024)
    limits = Limits(max_bytes=10 * 1024 * 1024, sniff_bytes=2048, idle_timeout=5)
    with pytest.raises(NativeError) as exc:
        await read_file(receiver, CT, None, "image", limits, SNIFFER)
    assert exc.value.status == 415
    assert "text/plain" in exc.value.message
    # Refused after ~2 KiB; the rest was drained, not stored.


async def test_declared_type_and_extension_are_ignored():
    content = native_files.pdf()
    upload = await read_file(
        Receiver(multipart(content, "photo.png")), CT, None, "pdf", LIMITS, SNIFFER
    )
    assert upload.content_type == "application/pdf"


async def test_over_the_limit_is_413():
    content = native_files.png() + b"\0" * (LIMITS.max_bytes + 1)
    with pytest.raises(NativeError) as exc:
        await read_file(Receiver(multipart(content)), CT, None, "image", LIMITS, SNIFFER)
    assert exc.value.status == 413


async def test_declared_length_over_the_limit_is_413_before_reading():
    receiver = Receiver(multipart(native_files.png()))
    with pytest.raises(NativeError) as exc:
        await read_file(receiver, CT, str(10**9), "image", LIMITS, SNIFFER)
    assert exc.value.status == 413


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (multipart(native_files.png(), name="other"), CT),
        (b"not multipart", CT),
        (multipart(native_files.png()), "application/json"),
    ],
)
async def test_missing_file_part_or_bad_multipart_is_400(data, content_type):
    with pytest.raises(NativeError) as exc:
        await read_file(Receiver(data), content_type, None, "image", LIMITS, SNIFFER)
    assert exc.value.status == 400


async def test_small_file_is_sniffed_when_its_part_ends():
    upload = await read_file(
        Receiver(multipart(native_files.gif())), CT, None, "image", LIMITS, SNIFFER
    )
    assert upload.content_type == "image/gif"


async def test_json_document_is_stored_without_extra_fields():
    body = json.dumps({"data": {"k": [1, 2.5, None, "é"]}, "extra": 1}).encode()
    stored, data = await read_json_document(Receiver(body), None, LIMITS)
    assert json.loads(stored) == {"data": {"k": [1, 2.5, None, "é"]}}
    assert json.loads(data) == {"k": [1, 2.5, None, "é"]}


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'{"other": 1}', b"\xff\xfe", b'{"data": NaN}', b"", b"[" * 50000],
)
async def test_bad_json_documents_are_400(body):
    with pytest.raises(NativeError) as exc:
        await read_json_document(Receiver(body), None, LIMITS)
    assert exc.value.status == 400


async def test_json_over_the_limit_is_413():
    body = json.dumps({"data": "x" * LIMITS.max_bytes}).encode()
    with pytest.raises(NativeError) as exc:
        await read_json_document(Receiver(body), None, LIMITS)
    assert exc.value.status == 413
