from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from s3compat.conditional import (
    check_copy_source,
    check_read,
    check_write,
    etag_matches,
    write_conditions,
)
from s3compat.errors import S3Error
from s3compat.timefmt import http_date

ETAG = "d41d8cd98f00b204e9800998ecf8427e"
LM = datetime(2026, 11, 26, 2, 15, 11, 500000, tzinfo=UTC)
BEFORE = http_date(LM - timedelta(seconds=1))
SAME = http_date(LM)  # microseconds dropped: equal at second precision
AFTER = http_date(LM + timedelta(seconds=1))


def _code(fn, headers, **kw):
    try:
        fn(headers, **kw)
    except S3Error as exc:
        return exc.code
    return None


def read(headers):
    return _code(check_read, headers, etag=ETAG, last_modified=LM)


@pytest.mark.parametrize(
    "value",
    [ETAG, f'"{ETAG}"', f'W/"{ETAG}"', "*", f'"other", "{ETAG}"', f" {ETAG} ,x", f"w/{ETAG}"],
)
def test_etag_matches_tolerates_quotes_weak_star_and_lists(value):
    assert etag_matches(value, ETAG)
    assert etag_matches(value, f'"{ETAG}"')


@pytest.mark.parametrize("value", ["other", '"other"', "", ",", '""'])
def test_etag_mismatch(value):
    assert not etag_matches(value, ETAG)


def test_etag_star_does_not_match_a_missing_object():
    assert not etag_matches("*", None)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"if-match": ETAG}, None),
        ({"if-match": "nope"}, "PreconditionFailed"),
        ({"if-none-match": ETAG}, "NotModified"),
        ({"if-none-match": "*"}, "NotModified"),
        ({"if-none-match": "nope"}, None),
        ({"if-modified-since": SAME}, "NotModified"),
        ({"if-modified-since": AFTER}, "NotModified"),
        ({"if-modified-since": BEFORE}, None),
        ({"if-unmodified-since": SAME}, None),
        ({"if-unmodified-since": AFTER}, None),
        ({"if-unmodified-since": BEFORE}, "PreconditionFailed"),
        # bad dates are ignored
        ({"if-modified-since": "yesterday"}, None),
        ({"if-unmodified-since": "garbage"}, None),
        # If-Match true wins over If-Unmodified-Since false (S3 documents 200)
        ({"if-match": ETAG, "if-unmodified-since": BEFORE}, None),
        ({"if-match": "nope", "if-unmodified-since": AFTER}, "PreconditionFailed"),
        # If-None-Match present: If-Modified-Since is not evaluated
        ({"if-none-match": "nope", "if-modified-since": AFTER}, None),
        ({"if-none-match": ETAG, "if-modified-since": BEFORE}, "NotModified"),
        # 412 conditions are evaluated before 304 ones
        ({"if-match": "nope", "if-none-match": ETAG}, "PreconditionFailed"),
        ({"if-unmodified-since": BEFORE, "if-modified-since": AFTER}, "PreconditionFailed"),
        ({"if-match": "  "}, None),
    ],
)
def test_check_read_follows_rfc7232_precedence(headers, expected):
    assert read(headers) == expected


def test_not_modified_carries_etag_and_last_modified():
    with pytest.raises(S3Error) as info:
        check_read({"if-none-match": ETAG}, etag=ETAG, last_modified=LM)
    assert info.value.status == 304
    assert info.value.headers == {"ETag": f'"{ETAG}"', "Last-Modified": SAME}


def test_precondition_failed_names_the_condition():
    with pytest.raises(S3Error) as info:
        check_read({"if-match": "x"}, etag=ETAG, last_modified=LM)
    assert info.value.status == 412
    assert info.value.extra == {"Condition": "If-Match"}


def test_naive_last_modified_is_utc():
    naive = LM.replace(tzinfo=None)
    assert _code(check_read, {"if-modified-since": SAME}, etag=ETAG, last_modified=naive) == (
        "NotModified"
    )


def write(headers, current):
    return _code(check_write, headers, current_etag=current)


@pytest.mark.parametrize(
    ("headers", "current", "expected"),
    [
        ({}, None, None),
        ({}, ETAG, None),
        ({"if-none-match": "*"}, None, None),
        ({"if-none-match": "*"}, ETAG, "PreconditionFailed"),
        ({"if-none-match": ETAG}, ETAG, "NotImplemented"),
        ({"if-match": ETAG}, ETAG, None),
        ({"if-match": f'"{ETAG}"'}, ETAG, None),
        ({"if-match": "other"}, ETAG, "PreconditionFailed"),
        ({"if-match": ETAG}, None, "NoSuchKey"),
        ({"if-match": "*"}, ETAG, None),
        ({"if-match": "*"}, None, "NoSuchKey"),
    ],
)
def test_check_write(headers, current, expected):
    assert write(headers, current) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"x-amz-copy-source-if-match": ETAG}, None),
        ({"x-amz-copy-source-if-match": "x"}, "PreconditionFailed"),
        ({"x-amz-copy-source-if-none-match": ETAG}, "PreconditionFailed"),
        ({"x-amz-copy-source-if-none-match": "x"}, None),
        ({"x-amz-copy-source-if-modified-since": AFTER}, "PreconditionFailed"),
        ({"x-amz-copy-source-if-modified-since": BEFORE}, None),
        ({"x-amz-copy-source-if-unmodified-since": BEFORE}, "PreconditionFailed"),
        ({"x-amz-copy-source-if-unmodified-since": AFTER}, None),
        # S3 documents: if-match true + if-unmodified-since false copies
        (
            {"x-amz-copy-source-if-match": ETAG, "x-amz-copy-source-if-unmodified-since": BEFORE},
            None,
        ),
        # and if-none-match false + if-modified-since true fails
        (
            {
                "x-amz-copy-source-if-none-match": ETAG,
                "x-amz-copy-source-if-modified-since": BEFORE,
            },
            "PreconditionFailed",
        ),
        # plain If-* headers are not copy-source conditions
        ({"if-match": "x"}, None),
    ],
)
def test_check_copy_source_failures_are_412(headers, expected):
    assert _code(check_copy_source, headers, etag=ETAG, last_modified=LM) == expected


# ------------------------------------------------------------------ write_conditions


def test_write_conditions_keeps_if_match_and_if_none_match_star():
    headers = {"if-match": '"e"', "if-none-match": "*", "if-modified-since": "x", "other": "y"}
    assert write_conditions(headers) == {"if-match": '"e"', "if-none-match": "*"}
    assert write_conditions({"if-match": "  "}) == {}
    assert write_conditions({}) == {}


def test_write_conditions_if_none_match_other_than_star_is_not_implemented():
    with pytest.raises(S3Error) as info:
        write_conditions({"if-none-match": '"etag"'})
    assert info.value.code == "NotImplemented"
