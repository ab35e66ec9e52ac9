"""libmagic decides the type, not the client."""

from __future__ import annotations

import pytest

from gateway.native.sniff import Sniffer, accepts
from tests.unit.gateway import native_files

SNIFFER = Sniffer()


@pytest.mark.parametrize(
    ("make", "mime"),
    [
        (native_files.png, "image/png"),
        (native_files.jpeg, "image/jpeg"),
        (native_files.gif, "image/gif"),
        (native_files.pdf, "application/pdf"),
    ],
)
def test_generated_fixtures_are_detected(make, mime):
    assert SNIFFER.detect(make()[:2048]) == mime


def test_text_is_text():
    assert SNIFFER.detect(b"just some words, not a picture\n").startswith("text/")


def test_empty_is_empty():
    assert SNIFFER.detect(b"") == "application/x-empty"


@pytest.mark.parametrize(
    ("kind", "mime", "ok"),
    [
        ("image", "image/png", True),
        ("image", "image/svg+xml", True),
        ("image", "application/pdf", False),
        ("image", "text/plain", False),
        ("pdf", "application/pdf", True),
        ("pdf", "image/png", False),
    ],
)
def test_accepts(kind, mime, ok):
    assert accepts(kind, mime) is ok
