"""Timestamps as S3 writes them: ISO 8601 in XML bodies, RFC 7231 dates in headers.

All results are UTC.  A naive :class:`~datetime.datetime` is taken to be UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["http_date", "iso8601", "parse_http_date", "to_datetime"]

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def to_datetime(ts: float | datetime) -> datetime:
    """``ts`` (epoch seconds or a datetime) as an aware UTC datetime."""
    if isinstance(ts, datetime):
        if ts.tzinfo is None:
            return ts.replace(tzinfo=UTC)
        return ts.astimezone(UTC)
    return datetime.fromtimestamp(ts, UTC)


def iso8601(ts: float | datetime) -> str:
    """``2026-11-26T02:15:11.000Z``: the form of LastModified and CreationDate in XML."""
    dt = to_datetime(ts)
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T"
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}.{dt.microsecond // 1000:03d}Z"
    )


def http_date(ts: float | datetime) -> str:
    """``Thu, 26 Nov 2026 02:15:11 GMT`` (RFC 7231 IMF-fixdate), locale-independent."""
    dt = to_datetime(ts)
    return (
        f"{_DAYS[dt.weekday()]}, {dt.day:02d} {_MONTHS[dt.month - 1]} {dt.year:04d} "
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d} GMT"
    )


def parse_http_date(value: str | None) -> datetime | None:
    """Parse an HTTP date (IMF-fixdate, RFC 850 or asctime); ``None`` when unparseable.

    Conditional headers with a bad date are ignored, as RFC 7232 requires, so
    callers only need to test for ``None``.
    """
    if not value or len(value) > 64:
        return None
    try:
        dt = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if dt is None:  # pragma: no cover - older Pythons returned None
        return None
    return to_datetime(dt)
