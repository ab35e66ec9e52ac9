from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from s3compat.timefmt import http_date, iso8601, parse_http_date


def test_iso8601_has_milliseconds_and_z():
    assert iso8601(datetime(2026, 11, 26, 2, 15, 11, tzinfo=UTC)) == "2026-11-26T02:15:11.000Z"
    assert iso8601(0.1239) == "1970-01-01T00:00:00.123Z"


def test_iso8601_converts_other_zones_and_naive_is_utc():
    ist = timezone(timedelta(hours=5, minutes=30))
    assert iso8601(datetime(2026, 1, 1, 5, 30, tzinfo=ist)) == "2026-01-01T00:00:00.000Z"
    assert iso8601(datetime(2026, 1, 1)) == "2026-01-01T00:00:00.000Z"


def test_http_date_is_imf_fixdate():
    assert http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT"


def test_parse_http_date_accepts_the_three_rfc7231_forms():
    expected = datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)
    for value in (
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
    ):
        assert parse_http_date(value) == expected


def test_parse_http_date_rejects_garbage():
    for value in (None, "", "yesterday", "2020-01-01T00:00:00Z", "x" * 100, "1 2 3 4 5"):
        assert parse_http_date(value) is None


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1)))
def test_http_date_round_trips_at_second_precision(dt):
    aware = dt.replace(tzinfo=UTC, microsecond=0)
    assert parse_http_date(http_date(aware)) == aware


@given(st.text(max_size=70))
def test_parse_http_date_never_raises(value):
    result = parse_http_date(value)
    assert result is None or result.tzinfo is not None
