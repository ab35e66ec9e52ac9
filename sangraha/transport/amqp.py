"""RabbitMQ transport: RPC over aio-pika.

Topology (declared idempotently by every process at start-up):

* ``object_write_queue`` and ``object_read_queue``: durable classic queues,
  bounded by ``x-max-length`` with ``x-overflow=reject-publish`` (a full queue
  nacks the publish, which the gateway reports as ``503 SlowDown``), and
  dead-lettering to ``sangraha.dead_letter``.
* ``sangraha.dead_letter``: a fanout exchange and a durable, bounded queue
  holding requests that could not be decoded, that crashed a handler, that
  were redelivered more than ``max_deliveries`` times, or that expired
  unconsumed.
* ``object_response_queue.<instance>``: one exclusive reply queue per gateway
  instance; workers answer there with the request's correlation ID.

Synchronous calls travel as transient messages with an expiration equal to
the time left before their deadline (see docs/messaging.md for why).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)

from sangraha.contract import (
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    READ_QUEUE,
    RESPONSE_QUEUE_PREFIX,
    WRITE_QUEUE,
    Answer,
    AnyReply,
    Call,
    ContractError,
    Failure,
    Route,
    decode_answer,
    decode_call,
    encode_answer,
    encode_call,
)
from sangraha.logs import request_context
from sangraha.settings import Settings
from sangraha.transport.base import Handler, Result, TransportError

__all__ = ["AmqpRpcClient", "AmqpWorker", "declare_topology"]

log = logging.getLogger(__name__)

FRAME_CONTENT_TYPE = "application/x-sangraha-frame"
_DELIVERIES_HEADER = "x-sangraha-deliveries"
_BROKER_TIMEOUT = 10.0
_DEAD_LETTER_MAX_BYTES = 256 * 1024 * 1024
_DEAD_LETTER_TTL_MS = 24 * 3600 * 1000


def _queue_arguments(settings: Settings) -> dict[str, Any]:
    return {
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        "x-max-length": settings.queue_max_length,
        "x-overflow": "reject-publish",
    }


async def declare_topology(
    channel: AbstractRobustChannel, settings: Settings
) -> dict[str, AbstractQueue]:
    """Declare exchanges and queues; returns the request queues by name."""
    async with asyncio.timeout(_BROKER_TIMEOUT):
        dlx = await channel.declare_exchange(
            DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True
        )
        dlq = await channel.declare_queue(
            DEAD_LETTER_QUEUE,
            durable=True,
            arguments={
                "x-max-length-bytes": _DEAD_LETTER_MAX_BYTES,
                "x-message-ttl": _DEAD_LETTER_TTL_MS,
                "x-overflow": "drop-head",
            },
        )
        await dlq.bind(dlx)
        queues: dict[str, AbstractQueue] = {}
        for name in (WRITE_QUEUE, READ_QUEUE):
            queues[name] = await channel.declare_queue(
                name, durable=True, arguments=_queue_arguments(settings)
            )
        return queues


async def _connect(settings: Settings, role: str) -> AbstractRobustConnection:
    try:
        async with asyncio.timeout(_BROKER_TIMEOUT):
            return await aio_pika.connect_robust(
                settings.amqp_url,
                client_properties={"connection_name": f"sangraha {role} {settings.instance_id}"},
                reconnect_interval=1.0,
            )
    except (TimeoutError, OSError, aiormq.exceptions.AMQPError) as exc:
        raise TransportError("ServiceUnavailable", f"cannot reach RabbitMQ: {exc}") from None


def _expiration(seconds: float) -> float:
    # RabbitMQ expirations are whole milliseconds and must be positive.
    return max(seconds, 0.001)


class AmqpRpcClient:
    """The gateway side of the RPC: futures keyed by correlation ID."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._pending: dict[str, asyncio.Future[bytes]] = {}
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._reply_queue: AbstractQueue | None = None
        self.reply_queue_name = RESPONSE_QUEUE_PREFIX + settings.instance_id

    async def start(self) -> None:
        self._connection = await _connect(self._settings, "gateway")
        self._connection.close_callbacks.add(self._on_connection_lost)
        async with asyncio.timeout(_BROKER_TIMEOUT):
            self._channel = await self._connection.channel(publisher_confirms=True)
            await declare_topology(self._channel, self._settings)
            self._reply_queue = await self._channel.declare_queue(
                self.reply_queue_name, exclusive=True, auto_delete=True
            )
            await self._reply_queue.consume(self._on_reply, no_ack=True)

    async def close(self) -> None:
        self._fail_pending("gateway shutting down")
        if self._connection is not None:
            await self._connection.close()

    async def ready(self) -> bool:
        return (
            self._connection is not None
            and not self._connection.is_closed
            and self._connection.connected.is_set()
            and self._channel is not None
            and not self._channel.is_closed
        )

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    async def call(self, call: Call, payload: bytes | memoryview = b"") -> Result:
        route: Route = type(call.request).ROUTE
        if len(self._pending) >= self._settings.max_inflight:
            raise TransportError("SlowDown", "too many requests in flight on this gateway")
        if not await self.ready() or self._channel is None:
            raise TransportError("ServiceUnavailable", "RabbitMQ is unavailable; retry later")
        remaining = call.remaining()
        if remaining <= 0:
            raise TransportError("ServiceUnavailable", "the request deadline passed")
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[call.request_id] = future
        message = aio_pika.Message(
            body=encode_call(call, payload),
            content_type=FRAME_CONTENT_TYPE,
            correlation_id=call.request_id,
            message_id=call.request_id,
            reply_to=self.reply_queue_name,
            expiration=_expiration(remaining),
            delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT,
        )
        try:
            async with asyncio.timeout(remaining):
                try:
                    await self._channel.default_exchange.publish(
                        message, routing_key=route.value, mandatory=True
                    )
                except aiormq.exceptions.DeliveryError as exc:
                    raise TransportError(
                        "SlowDown", f"{route.value} is full; reduce your request rate"
                    ) from exc
                except (aiormq.exceptions.AMQPError, ConnectionError) as exc:
                    raise TransportError(
                        "ServiceUnavailable", f"could not publish to RabbitMQ: {exc}"
                    ) from None
                frame = await future
        except TimeoutError:
            raise TransportError(
                "ServiceUnavailable",
                f"no {route.name.lower()} worker answered within "
                f"{self._settings.request_timeout:g}s; retry later",
            ) from None
        finally:
            self._pending.pop(call.request_id, None)
        try:
            answer, body = decode_answer(frame)
        except ContractError as exc:
            log.error("undecodable answer: %s", exc)
            raise TransportError("ServiceUnavailable", "a worker sent an invalid answer") from None
        return Result(answer=answer, payload=body)

    async def submit(self, call: Call, payload: bytes | memoryview = b"") -> None:
        route: Route = type(call.request).ROUTE
        if not await self.ready() or self._channel is None:
            raise TransportError("ServiceUnavailable", "RabbitMQ is unavailable; retry later")
        message = aio_pika.Message(
            body=encode_call(call, payload),
            content_type=FRAME_CONTENT_TYPE,
            correlation_id=call.request_id,
            message_id=call.request_id,
            expiration=_expiration(call.remaining()),
            # Acknowledged to the client before it is stored: the broker holds
            # the only copy, so the message is persistent and confirmed.
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            async with asyncio.timeout(_BROKER_TIMEOUT):
                await self._channel.default_exchange.publish(
                    message, routing_key=route.value, mandatory=True
                )
        except aiormq.exceptions.DeliveryError as exc:
            raise TransportError("SlowDown", f"{route.value} is full; retry later") from exc
        except (TimeoutError, aiormq.exceptions.AMQPError, ConnectionError) as exc:
            raise TransportError("ServiceUnavailable", f"RabbitMQ did not confirm: {exc}") from None

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._pending.get(message.correlation_id or "")
        if future is None or future.done():
            log.info(
                "late or unknown reply dropped",
                extra={"request_id": message.correlation_id or "-"},
            )
            return
        future.set_result(message.body)

    def _on_connection_lost(self, *_: object) -> None:
        self._fail_pending("lost the connection to RabbitMQ")

    def _fail_pending(self, why: str) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(TransportError("ServiceUnavailable", why + "; retry later"))


class AmqpWorker:
    """The worker side: consume one route's queue, answer on ``reply_to``."""

    def __init__(self, settings: Settings, role: str) -> None:
        self._settings = settings
        self._role = role
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._queues: list[AbstractQueue] = []  # strong references: aio-pika holds them weakly
        self._consumers: list[tuple[AbstractQueue, str]] = []
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.handled = 0

    async def start(self) -> None:
        self._connection = await _connect(self._settings, self._role)
        async with asyncio.timeout(_BROKER_TIMEOUT):
            self._channel = await self._connection.channel(publisher_confirms=False)
            await self._channel.set_qos(prefetch_count=self._settings.prefetch)

    async def serve(self, route: Route, handler: Handler) -> None:
        if self._channel is None:
            raise RuntimeError("AmqpWorker.start() was not awaited")
        queues = await declare_topology(self._channel, self._settings)
        queue = queues[route.value]
        self._queues.append(queue)

        async def on_message(message: AbstractIncomingMessage) -> None:
            await self._process(message, handler)

        async with asyncio.timeout(_BROKER_TIMEOUT):
            tag = await queue.consume(on_message)
        self._consumers.append((queue, tag))

    async def drain(self, timeout: float) -> None:
        """Stop taking requests and wait for the ones in flight to finish."""
        for queue, tag in self._consumers:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_BROKER_TIMEOUT):
                    await queue.cancel(tag)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._idle.wait()

    async def ready(self) -> bool:
        return (
            self._connection is not None
            and self._connection.connected.is_set()
            and self._channel is not None
            and not self._channel.is_closed
        )

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    async def _process(self, message: AbstractIncomingMessage, handler: Handler) -> None:
        self._in_flight += 1
        self._idle.clear()
        try:
            await self._process_one(message, handler)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _process_one(self, message: AbstractIncomingMessage, handler: Handler) -> None:
        try:
            call, payload = decode_call(message.body)
        except ContractError as exc:
            log.error(
                "undecodable request dead-lettered: %s",
                exc,
                extra={"request_id": message.correlation_id or "-"},
            )
            await message.reject(requeue=False)
            return
        with request_context(call.request_id):
            if call.expired():
                log.warning("request expired before it was served; dropped", extra=_op(call))
                await message.ack()
                return
            if message.redelivered and not await self._count_delivery(message, call):
                return
            try:
                reply, body = await asyncio.wait_for(handler(call, payload), call.remaining())
            except TimeoutError:
                log.warning("request ran past its deadline; not answered", extra=_op(call))
                await message.ack()
                return
            except Exception:
                log.exception("handler crashed; request dead-lettered", extra=_op(call))
                await self._reply(
                    message,
                    call,
                    Failure(
                        code="InternalError",
                        message=("We encountered an internal error. Please try again."),
                    ),
                    b"",
                )
                await message.reject(requeue=False)
                return
            await self._reply(message, call, reply, body)
            await message.ack()
            self.handled += 1

    async def _reply(
        self,
        message: AbstractIncomingMessage,
        call: Call,
        reply: AnyReply,
        body: bytes | memoryview,
    ) -> None:
        if not message.reply_to or self._channel is None:
            return
        answer = Answer(request_id=call.request_id, reply=reply)
        try:
            async with asyncio.timeout(_BROKER_TIMEOUT):
                # mandatory=False: a reply to a vanished gateway is simply dropped.
                await self._channel.default_exchange.publish(
                    aio_pika.Message(
                        body=encode_answer(answer, body),
                        content_type=FRAME_CONTENT_TYPE,
                        correlation_id=call.request_id,
                        expiration=_expiration(call.remaining()),
                        delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT,
                    ),
                    routing_key=message.reply_to,
                    mandatory=False,
                )
        except (TimeoutError, aiormq.exceptions.AMQPError, ConnectionError) as exc:
            log.warning("could not send the reply: %s", exc)

    async def _count_delivery(self, message: AbstractIncomingMessage, call: Call) -> bool:
        """Classic queues do not count deliveries, so a redelivered message is
        republished with a counter; past ``max_deliveries`` it is dead-lettered
        (a poison message must not crash workers forever).  Returns True when
        the message should be processed now."""
        headers = message.headers or {}
        raw = headers.get(_DELIVERIES_HEADER, 1)
        deliveries = (raw if isinstance(raw, int) else 1) + 1
        if deliveries > self._settings.max_deliveries:
            log.error(
                "request redelivered %d times; dead-lettered", deliveries - 1, extra=_op(call)
            )
            await message.reject(requeue=False)
            return False
        if self._channel is None:
            return True
        log.warning(
            "request redelivered (delivery %d); requeued with a count", deliveries, extra=_op(call)
        )
        await self._channel.default_exchange.publish(
            aio_pika.Message(
                body=message.body,
                content_type=message.content_type,
                correlation_id=message.correlation_id,
                message_id=message.message_id,
                reply_to=message.reply_to,
                expiration=_expiration(call.remaining()),
                delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT,
                headers={**headers, _DELIVERIES_HEADER: deliveries},
            ),
            routing_key=message.routing_key or "",
            mandatory=False,
        )
        await message.ack()
        return False


def _op(call: Call) -> dict[str, str]:
    return {"op": type(call.request).__name__}
