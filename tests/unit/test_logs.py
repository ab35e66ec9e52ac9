"""The JSON log line format: one object per line, the request ID on every one."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime

import pytest

from sangraha.logs import JsonLineFormatter, request_context


@pytest.fixture
def capture():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLineFormatter("getter"))
    logger = logging.getLogger("test.logs")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)

    def lines() -> list[dict]:
        return [json.loads(raw) for raw in stream.getvalue().splitlines()]

    yield logger, lines
    logger.handlers.clear()


def test_a_line_carries_the_fields_extras_request_id_and_role(capture):
    logger, lines = capture
    with request_context("0123456789ABCDEF"):
        logger.info("%s -> %s", "GetObject", "ok", extra={"op": "GetObject", "ms": 1.5})
    (line,) = lines()
    assert line["level"] == "INFO"
    assert line["logger"] == "test.logs"
    assert line["message"] == "GetObject -> ok"
    assert line["op"] == "GetObject" and line["ms"] == 1.5
    assert line["request_id"] == "0123456789ABCDEF"
    assert line["role"] == "getter"
    stamp = datetime.strptime(line["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 5


def test_outside_a_request_the_id_is_a_dash_and_an_explicit_one_wins(capture):
    logger, lines = capture
    logger.info("idle")
    logger.info("late reply", extra={"request_id": "FEDCBA9876543210"})
    first, second = lines()
    assert first["request_id"] == "-"
    assert second["request_id"] == "FEDCBA9876543210"


def test_exceptions_are_one_line_and_odd_extras_do_not_break_the_line(capture):
    logger, lines = capture
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        logger.exception("failed", extra={"thing": object(), "text": 'quote " and é'})
    (line,) = lines()
    assert line["exc_info"] == "ValueError: bad\nthing"
    assert line["thing"].startswith("<object object")
    assert line["text"] == 'quote " and é'


def test_milliseconds_are_zero_padded(capture):
    formatter = JsonLineFormatter("gateway")
    record = logging.LogRecord("x", logging.INFO, "f.py", 1, "m", None, None)
    record.created, record.msecs = 1_700_000_000.0625, 62.0
    assert json.loads(formatter.format(record))["time"] == "2023-11-14T22:13:20.062Z"
