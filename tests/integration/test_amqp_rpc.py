"""The AMQP RPC on a real RabbitMQ, each test in a virtual host of its own.

Covers what the spine promises: replies routed by correlation ID, deadlines as
expiration and local timeout, pending calls failed at once when the connection
drops and reconnection without help, dead-lettering, and queue overflow.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from urllib.parse import quote

import aio_pika
import pytest

from sangraha.contract import (
    DEAD_LETTER_QUEUE,
    READ_QUEUE,
    WRITE_QUEUE,
    Call,
    Done,
    Failure,
    HeadBucket,
    ListBuckets,
    ObjectWritten,
    PutObject,
    Route,
)
from sangraha.settings import Settings
from sangraha.transport.amqp import AmqpRpcClient, AmqpWorker
from sangraha.transport.base import IncomingBody, TransportError

pytestmark = pytest.mark.services

NODE = os.environ.get("SANGRAHA_RABBITMQ_NODENAME", "rabbit@localhost")


def rabbitmqctl(*args: str) -> str:
    result = subprocess.run(
        ["rabbitmqctl", "-q", "-n", NODE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )
    assert result.returncode == 0, f"rabbitmqctl {args}: {result.stderr}"
    return result.stdout


@pytest.fixture
def vhost_url(services):
    name = f"sangraha-test-{uuid.uuid4().hex[:10]}"
    rabbitmqctl("add_vhost", name)
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    base = services.amqp_url.rstrip("/")
    yield f"{base}/{quote(name, safe='')}"
    rabbitmqctl("delete_vhost", name)


def _settings(url: str, **overrides) -> Settings:
    return Settings(amqp_url=url, instance_id=f"test-{uuid.uuid4().hex[:8]}", **overrides)


def _call(request, timeout: float = 5.0) -> Call:
    return Call(request_id=uuid.uuid4().hex[:16], deadline=time.time() + timeout, request=request)


async def _echo_worker(url: str, route: Route, handled: list[Call], **overrides) -> AmqpWorker:
    worker = AmqpWorker(_settings(url, **overrides), "test-worker")
    await worker.start()

    async def handler(call: Call, body: IncomingBody):
        handled.append(call)
        payload = b"".join([piece async for piece in body])
        if isinstance(call.request, PutObject):
            return ObjectWritten(etag=payload.decode()), b""
        return Done(), payload

    await worker.serve(route, handler)
    return worker


async def test_reply_comes_back_to_the_caller_by_correlation_id(vhost_url):
    handled: list[Call] = []
    worker = await _echo_worker(vhost_url, Route.WRITE, handled)
    client = AmqpRpcClient(_settings(vhost_url))
    await client.start()
    try:
        calls = [
            _call(PutObject(bucket="b", key=f"k{i}", size=4, md5="0" * 32)) for i in range(20)
        ]
        results = await asyncio.gather(
            *(client.call(call, f"{i:04d}".encode()) for i, call in enumerate(calls))
        )
        for i, (call, result) in enumerate(zip(calls, results, strict=True)):
            assert result.answer.request_id == call.request_id
            assert result.answer.reply == ObjectWritten(etag=f"{i:04d}")
        assert len(handled) == 20
    finally:
        await client.close()
        await worker.close()


async def test_call_without_worker_times_out_as_service_unavailable(vhost_url):
    client = AmqpRpcClient(_settings(vhost_url))
    await client.start()
    try:
        started = time.monotonic()
        with pytest.raises(TransportError) as exc:
            await client.call(_call(HeadBucket(bucket="b"), timeout=1.0))
        assert exc.value.code == "ServiceUnavailable"
        assert 0.9 < time.monotonic() - started < 2.0
    finally:
        await client.close()


async def test_expired_request_is_dropped_not_executed_late(vhost_url):
    client = AmqpRpcClient(_settings(vhost_url))
    await client.start()
    try:
        with pytest.raises(TransportError):
            await client.call(_call(PutObject(bucket="b", key="late", size=0, md5="0" * 32), 0.5))
        await asyncio.sleep(0.6)
        handled: list[Call] = []
        worker = await _echo_worker(vhost_url, Route.WRITE, handled)
        # A fresh call is served; the expired one never reaches the handler.
        result = await client.call(_call(PutObject(bucket="b", key="now", size=1, md5="0" * 32)),
                                   b"x")
        assert result.answer.reply == ObjectWritten(etag="x")
        assert [c.request.key for c in handled] == ["now"]  # type: ignore[union-attr]
        await worker.close()
    finally:
        await client.close()


def _connection_pids(instance: str) -> list[str]:
    out = rabbitmqctl("list_connections", "pid", "client_properties")
    return [line.split("\t")[0] for line in out.splitlines() if instance in line]


async def test_pending_calls_fail_at_once_when_connection_drops_then_reconnect(vhost_url):
    settings = _settings(vhost_url)
    client = AmqpRpcClient(settings)
    await client.start()
    try:
        pending = asyncio.create_task(client.call(_call(ListBuckets(), timeout=30)))
        await asyncio.sleep(0.3)
        pids = await asyncio.to_thread(_connection_pids, settings.instance_id)
        assert pids, "the client's connection is not visible in rabbitmqctl"
        started = time.monotonic()
        await asyncio.to_thread(rabbitmqctl, "close_connection", pids[0], "test: drop")
        with pytest.raises(TransportError) as exc:
            await pending
        assert exc.value.code == "ServiceUnavailable"
        assert time.monotonic() - started < 5, "pending call was not failed promptly"
        # The robust connection comes back by itself, and calls work again.
        handled: list[Call] = []
        worker = await _echo_worker(vhost_url, Route.READ, handled)
        deadline = time.monotonic() + 20
        while not await client.ready():
            assert time.monotonic() < deadline, "client did not reconnect"
            await asyncio.sleep(0.2)
        result = await client.call(_call(ListBuckets()))
        assert result.answer.reply == Done()
        await worker.close()
    finally:
        await client.close()


async def test_crashing_handler_answers_internal_error_and_dead_letters(vhost_url):
    worker = AmqpWorker(_settings(vhost_url), "test-worker")
    await worker.start()

    async def boom(call: Call, body: IncomingBody):
        raise RuntimeError("bug")

    await worker.serve(Route.READ, boom)
    client = AmqpRpcClient(_settings(vhost_url))
    await client.start()
    try:
        result = await client.call(_call(ListBuckets()))
        assert isinstance(result.answer.reply, Failure)
        assert result.answer.reply.code == "InternalError"
        connection = await aio_pika.connect(vhost_url)
        async with connection:
            channel = await connection.channel()
            dlq = await channel.declare_queue(DEAD_LETTER_QUEUE, passive=True)
            message = await dlq.get(timeout=5, fail=False)
            for _ in range(20):
                if message is not None:
                    break
                await asyncio.sleep(0.1)
                message = await dlq.get(fail=False)
            assert message is not None, "the poison request was not dead-lettered"
    finally:
        await client.close()
        await worker.close()


async def test_undecodable_message_is_dead_lettered(vhost_url):
    handled: list[Call] = []
    worker = await _echo_worker(vhost_url, Route.WRITE, handled)
    try:
        connection = await aio_pika.connect(vhost_url)
        async with connection:
            channel = await connection.channel()
            await channel.default_exchange.publish(
                aio_pika.Message(body=b"\x00\x00\x00\x05hello"), routing_key=WRITE_QUEUE
            )
            dlq = await channel.declare_queue(DEAD_LETTER_QUEUE, passive=True)
            message = None
            for _ in range(50):
                message = await dlq.get(fail=False)
                if message is not None:
                    break
                await asyncio.sleep(0.1)
            assert message is not None
            assert message.body == b"\x00\x00\x00\x05hello"
        assert handled == []
    finally:
        await worker.close()


async def test_full_queue_answers_slow_down(vhost_url):
    client = AmqpRpcClient(_settings(vhost_url, queue_max_length=2))
    await client.start()
    try:
        outcomes = await asyncio.gather(
            *(client.call(_call(ListBuckets(), timeout=2)) for _ in range(6)),
            return_exceptions=True,
        )
        codes = sorted(o.code for o in outcomes if isinstance(o, TransportError))
        assert codes.count("SlowDown") == 4, codes
        assert codes.count("ServiceUnavailable") == 2, codes
    finally:
        await client.close()


async def test_queues_are_durable_with_dead_letter_exchange(vhost_url):
    client = AmqpRpcClient(_settings(vhost_url))
    await client.start()
    await client.close()
    vhost = vhost_url.rsplit("/", 1)[1]
    out = rabbitmqctl("list_queues", "-p", vhost.replace("%2F", "/"), "name", "durable",
                      "arguments")
    lines = {line.split("\t")[0]: line for line in out.splitlines()}
    for name in (WRITE_QUEUE, READ_QUEUE):
        assert "\ttrue\t" in lines[name]
        assert "x-dead-letter-exchange" in lines[name]
    assert DEAD_LETTER_QUEUE in lines
