"""Fault injection on the distributed path: a stopped getter, request IDs in logs."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import make_client
from tests.integration.stack import Stack

pytestmark = pytest.mark.services


@pytest.fixture
def s3(stack):
    """These faults are of the distributed path only."""
    return make_client(stack.endpoint, stack.access_key, stack.secret_key)


def _log_lines(text: str) -> list[dict]:
    lines = []
    for raw in text.splitlines():
        try:
            lines.append(json.loads(raw))
        except json.JSONDecodeError:
            continue
    return lines


def test_request_id_appears_in_gateway_and_worker_logs(stack, s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="traced", Body=b"payload")
    request_id = put["ResponseMetadata"]["RequestId"]
    deadline = time.monotonic() + 5
    while True:
        gateway = [
            line
            for p in stack.by_role("gateway")
            for line in _log_lines(p.log_text())
            if line.get("request_id") == request_id
        ]
        receiver = [
            line
            for p in stack.by_role("receiver")
            for line in _log_lines(p.log_text())
            if line.get("request_id") == request_id
        ]
        if (gateway and receiver) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert gateway, "the gateway logged nothing with the request ID"
    assert receiver, "the receiver logged nothing with the request ID"
    assert all(line["role"] == "receiver" for line in receiver)


@pytest.mark.heavy
def test_stopped_getter_gives_503_within_deadline_then_recovers(stack, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"still here")
    # A gateway of its own with a short deadline, sharing the broker and workers.
    workdir = stack.workdir / "short-deadline"
    workdir.mkdir(exist_ok=True)
    short = Stack(
        services=stack.services,
        workdir=workdir,
        access_key=stack.access_key,
        secret_key=stack.secret_key,
    )
    endpoint = short.gateway(SANGRAHA_REQUEST_TIMEOUT="3")
    client = make_client(endpoint, stack.access_key, stack.secret_key)
    getter = stack.by_role("getter")[0]
    try:
        getter.stop()
        started = time.monotonic()
        with pytest.raises(ClientError) as exc:
            client.get_object(Bucket=bucket, Key="k")
        elapsed = time.monotonic() - started
        assert exc.value.response["Error"]["Code"] == "ServiceUnavailable"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert elapsed < 3 + 2, f"the 503 took {elapsed:.1f}s against a 3s deadline"
        # Writes still work while reads are down: the receiver is separate.
        client.put_object(Bucket=bucket, Key="k2", Body=b"written while getter down")
    finally:
        getter.start()
    deadline = time.monotonic() + 30
    while True:
        try:
            body = client.get_object(Bucket=bucket, Key="k")["Body"].read()
            break
        except ClientError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    assert body == b"still here"
    short.stop()
