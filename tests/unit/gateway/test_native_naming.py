"""Native ids: UUIDv7, the per-type prefixes, safe filenames."""

from __future__ import annotations

import time
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.native.naming import (
    content_disposition,
    filename_of,
    new_id,
    parse_id,
    safe_filename,
    uuid7,
)


def test_uuid7_is_version_7_and_carries_the_time():
    now = time.time()
    u = uuid7(now)
    assert u.version == 7
    assert u.variant == uuid.RFC_4122
    assert abs((u.int >> 80) / 1000 - now) < 0.001


def test_uuid7_sorts_by_time():
    assert str(uuid7(1000.0)) < str(uuid7(1000.002)) < str(uuid7(2000.0))


def test_new_ids_have_a_prefix_per_type_and_keep_the_filename():
    assert new_id("json").startswith("json/") and new_id("json").endswith(".json")
    image = new_id("image", "holiday photo.png")
    assert image.startswith("image/") and image.endswith("/holiday_photo.png")
    assert new_id("pdf", None).endswith("/file")


def test_parse_id_reads_type_and_creation_time():
    now = time.time()
    parsed = parse_id(new_id("pdf", "a.pdf", now=now))
    assert parsed is not None
    assert parsed.kind == "pdf"
    assert parsed.created == pytest.approx(now, abs=0.001)


def test_parse_id_accepts_foreign_keys_under_a_prefix_without_a_time():
    parsed = parse_id("image/uploaded-by-boto3.png")
    assert parsed is not None and parsed.kind == "image" and parsed.created is None


@pytest.mark.parametrize(
    "object_id", ["", "json", "json/", "other/x", "image/dir/", "x" * 10, "pdf/" + "a" * 1100]
)
def test_parse_id_refuses_what_is_not_a_native_key(object_id):
    assert parse_id(object_id) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("cat.png", "cat.png"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\report.pdf", "report.pdf"),
        ("my file (1).pdf", "my_file__1_.pdf"),
        ("café.png", "café.png"),
        ("..", "file"),
        ("", "file"),
        (None, "file"),
        ("a\x00b\r\n.gif", "a_b__.gif"),
    ],
)
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def test_safe_filename_truncates_keeping_the_extension():
    name = safe_filename("x" * 500 + ".jpeg")
    assert len(name.encode()) <= 200 and name.endswith(".jpeg")


@given(st.text(max_size=400))
def test_safe_filename_is_always_one_safe_segment(name):
    safe = safe_filename(name)
    assert safe and "/" not in safe and "\\" not in safe and safe not in (".", "..")
    assert len(safe.encode()) <= 200
    assert parse_id(f"image/{uuid7()}/{safe}") is not None


def test_content_disposition_has_ascii_fallback_and_exact_name():
    value = content_disposition('résumé "final".pdf')
    assert value.startswith('inline; filename="r_sum_ _final_.pdf"')
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.pdf" in value


def test_filename_of_is_the_last_segment():
    assert filename_of("image/u/cat.png") == "cat.png"
