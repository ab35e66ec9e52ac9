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
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import aiormq
import msgspec
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)

from s3compat.errors import S3Error
from sangraha.contract import (
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    READ_QUEUE,
    RESPONSE_QUEUE_PREFIX,
    WRITE_QUEUE,
    Abort,
    Answer,
    AnyReply,
    AnyStreamFrame,
    Call,
    Chunk,
    ContractError,
    Credit,
    Failure,
    ObjectMeta,
    Route,
    StreamOpen,
    decode_answer,
    decode_call,
    decode_stream,
    encode_answer,
    encode_call,
    encode_stream,
)
from sangraha.logs import request_context
from sangraha.settings import Settings
from sangraha.transport.base import (
    ByteStream,
    Handler,
    IncomingBody,
    InlineBody,
    Result,
    TransportError,
    UploadBody,
    close_stream,
)

__all__ = ["AmqpRpcClient", "AmqpWorker", "declare_topology"]

log = logging.getLogger(__name__)

FRAME_CONTENT_TYPE = "application/x-sangraha-frame"
_DELIVERIES_HEADER = "x-sangraha-deliveries"
_BROKER_TIMEOUT = 10.0
# How long chunks already published may take to arrive once their sender is gone.
_IN_FLIGHT_GRACE = 2.0
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


class _Conversation:
    """Frames arriving for one request ID: the answer, and stream frames."""

    __slots__ = ("frames",)

    def __init__(self) -> None:
        self.frames: asyncio.Queue[tuple[str, bytes] | TransportError] = asyncio.Queue()

    async def next(self, timeout: float, what: str) -> tuple[str, bytes]:
        try:
            async with asyncio.timeout(timeout):
                item = await self.frames.get()
        except TimeoutError:
            raise TransportError(
                "ServiceUnavailable", f"{what} within {timeout:.3g}s; retry later"
            ) from None
        if isinstance(item, TransportError):
            raise item
        return item


class AmqpRpcClient:
    """The gateway side of the RPC: conversations keyed by correlation ID."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._pending: dict[str, _Conversation] = {}
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._reply_queue: AbstractQueue | None = None
        self.reply_queue_name = RESPONSE_QUEUE_PREFIX + settings.instance_id

    async def start(self) -> None:
        self._connection = await _connect(self._settings, "gateway")
        self._connection.close_callbacks.add(self._on_connection_lost)
        async with asyncio.timeout(_BROKER_TIMEOUT):
            # Confirms: a full queue nacks (SlowDown); returns raise: a stream
            # queue that vanished (its worker died) fails the publish at once.
            self._channel = await self._connection.channel(
                publisher_confirms=True, on_return_raises=True
            )
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

    async def _publish(
        self,
        body: bytes,
        routing_key: str,
        call: Call,
        *,
        kind: str,
        expiration: float,
        mandatory: bool = True,
        persistent: bool = False,
    ) -> None:
        """Publish one frame; broker refusals become TransportError.

        ``persistent`` is for calls acknowledged to a client before they are
        stored (``submit``): the broker then holds the only copy, and nobody
        waits for an answer."""
        if self._channel is None:
            raise TransportError("ServiceUnavailable", "RabbitMQ is unavailable; retry later")
        message = aio_pika.Message(
            body=body,
            content_type=FRAME_CONTENT_TYPE,
            type=kind,
            correlation_id=call.request_id,
            message_id=call.request_id,
            reply_to=None if persistent else self.reply_queue_name,
            expiration=_expiration(expiration),
            delivery_mode=(
                aio_pika.DeliveryMode.PERSISTENT
                if persistent
                else aio_pika.DeliveryMode.NOT_PERSISTENT
            ),
        )
        try:
            await self._channel.default_exchange.publish(
                message, routing_key=routing_key, mandatory=mandatory
            )
        except aiormq.exceptions.PublishError as exc:
            raise TransportError(
                "ServiceUnavailable", f"no consumer for {routing_key}; the worker went away"
            ) from exc
        except aiormq.exceptions.DeliveryError as exc:
            raise TransportError(
                "SlowDown", f"{routing_key} is full; reduce your request rate"
            ) from exc
        except (aiormq.exceptions.AMQPError, ConnectionError, RuntimeError) as exc:
            raise TransportError(
                "ServiceUnavailable", f"could not publish to RabbitMQ: {exc}"
            ) from None

    async def call(
        self, call: Call, payload: bytes | memoryview = b"", body: UploadBody | None = None
    ) -> Result:
        route: Route = type(call.request).ROUTE
        if len(self._pending) >= self._settings.max_inflight:
            raise TransportError("SlowDown", "too many requests in flight on this gateway")
        if not await self.ready():
            raise TransportError("ServiceUnavailable", "RabbitMQ is unavailable; retry later")
        remaining = call.remaining()
        if remaining <= 0:
            raise TransportError("ServiceUnavailable", "the request deadline passed")
        if call.request_id in self._pending:
            # Replies are routed by correlation ID = request ID: two calls in
            # flight under one ID would steal each other's answers.
            raise ValueError(f"request ID {call.request_id} already has a call in flight")
        conversation = _Conversation()
        self._pending[call.request_id] = conversation
        handed_over = False
        try:
            async with asyncio.timeout(remaining):
                await self._publish(
                    encode_call(call, payload),
                    route.value,
                    call,
                    kind="call",
                    expiration=remaining,
                )
            _, frame = await conversation.next(
                call.remaining(),
                f"no {route.name.lower()} worker answered",
            )
            answer, data = _decode_answer(frame)
            reply = answer.reply
            if body is not None and isinstance(reply, StreamOpen):
                answer = await self._upload(conversation, call, reply, body)
                return Result(answer=answer)
            if isinstance(reply, ObjectMeta) and reply.stream_queue:
                handed_over = True
                stream = self._download(conversation, call, reply.stream_queue)
                return Result(answer=answer, stream=stream)
            return Result(answer=answer, payload=data)
        except TimeoutError:
            raise TransportError(
                "ServiceUnavailable", "RabbitMQ did not accept the request in time; retry later"
            ) from None
        finally:
            if not handed_over:
                self._pending.pop(call.request_id, None)

    async def _upload(
        self, conversation: _Conversation, call: Call, opened: StreamOpen, body: UploadBody
    ) -> Answer:
        """Send ``body`` as chunks to the receiver's stream queue, never more
        than ``opened.window`` ahead of its credits; return its final answer."""
        idle = self._settings.stream_idle_timeout
        seq, acked = 0, -1
        pieces = aiter(body)
        try:
            current = await anext(pieces, None)
            while current is not None:
                following = await anext(pieces, None)  # the last piece comes verified
                while seq - acked > opened.window:
                    kind, frame = await conversation.next(idle, "the receiver stopped reading")
                    if kind != "stream":
                        return _decode_answer(frame)[0]  # it gave up early
                    message, _ = _decode_stream(frame)
                    if isinstance(message, Credit):
                        acked = max(acked, message.seq)
                last = following is None
                chunk = Chunk(request_id=call.request_id, seq=seq, last=last)
                try:
                    async with asyncio.timeout(idle):
                        await self._publish(
                            encode_stream(chunk, current),
                            opened.queue,
                            call,
                            kind="stream",
                            expiration=idle,
                        )
                except TransportError:
                    # The stream queue is gone: the receiver gave up (its
                    # answer says why) or died (no answer).
                    early = await _answer_within(conversation, 2.0)
                    if early is None:
                        raise
                    return early
                seq += 1
                current = following
            while True:
                kind, frame = await conversation.next(idle, "the receiver did not finish")
                if kind != "stream":
                    return _decode_answer(frame)[0]
        except BaseException as exc:
            await self._abort(opened.queue, call, f"upload stopped: {type(exc).__name__}")
            raise

    async def _download(
        self, conversation: _Conversation, call: Call, credit_queue: str
    ) -> ByteStream:
        """Yield a getter's chunks in order, granting one credit per chunk the
        caller has consumed."""
        idle = self._settings.stream_idle_timeout
        wait = idle
        expected = 0
        finished = False
        try:
            while not finished:
                kind, frame = await conversation.next(wait, "the getter stopped sending")
                if kind != "stream":
                    raise TransportError("ServiceUnavailable", "the download was interrupted")
                message, data = _decode_stream(frame)
                if isinstance(message, Abort):
                    raise TransportError(
                        "ServiceUnavailable", f"download aborted: {message.reason}"
                    )
                if not isinstance(message, Chunk) or message.seq != expected:
                    raise TransportError("ServiceUnavailable", "download chunks out of order")
                expected += 1
                finished = message.last
                yield data  # a view of the frame: no copy on the way to the client
                if not finished:
                    credit = Credit(request_id=call.request_id, seq=message.seq)
                    try:
                        async with asyncio.timeout(idle):
                            await self._publish(
                                encode_stream(credit),
                                credit_queue,
                                call,
                                kind="stream",
                                expiration=idle,
                            )
                    except TransportError:
                        # The credit queue is gone: the getter either sent its
                        # last chunk already (it is on its way) or died.  Only
                        # chunks already in flight can still come.
                        wait = _IN_FLIGHT_GRACE
        finally:
            self._pending.pop(call.request_id, None)
            if not finished:
                await self._abort(credit_queue, call, "download abandoned")

    async def _abort(self, queue: str, call: Call, reason: str) -> None:
        """Tell the other end of a stream to stop (best effort)."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(_BROKER_TIMEOUT):
                await self._publish(
                    encode_stream(Abort(request_id=call.request_id, reason=reason)),
                    queue,
                    call,
                    kind="stream",
                    expiration=self._settings.stream_idle_timeout,
                    mandatory=False,
                )

    async def submit(self, call: Call, payload: bytes | memoryview = b"") -> None:
        route: Route = type(call.request).ROUTE
        if not await self.ready():
            raise TransportError("ServiceUnavailable", "RabbitMQ is unavailable; retry later")
        try:
            async with asyncio.timeout(_BROKER_TIMEOUT):
                # Acknowledged to the client before it is stored: persistent,
                # and confirmed (the channel has publisher confirms).
                await self._publish(
                    encode_call(call, payload),
                    route.value,
                    call,
                    kind="call",
                    expiration=call.remaining(),
                    persistent=True,
                )
        except TimeoutError:
            raise TransportError("ServiceUnavailable", "RabbitMQ did not confirm in time") from None

    def _on_reply(self, message: AbstractIncomingMessage) -> None:
        # A plain function, not a coroutine: aio-pika then calls it soon
        # instead of creating a task for every reply frame.
        conversation = self._pending.get(message.correlation_id or "")
        if conversation is None:
            log.info(
                "late or unknown reply dropped",
                extra={"request_id": message.correlation_id or "-"},
            )
            return
        conversation.frames.put_nowait((message.type or "answer", message.body))

    def _on_connection_lost(self, *_: object) -> None:
        self._fail_pending("lost the connection to RabbitMQ")

    def _fail_pending(self, why: str) -> None:
        pending, self._pending = self._pending, {}
        for conversation in pending.values():
            conversation.frames.put_nowait(
                TransportError("ServiceUnavailable", why + "; retry later")
            )


async def _answer_within(conversation: _Conversation, seconds: float) -> Answer | None:
    """The answer among the frames that arrive within ``seconds``, if any."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                item = await conversation.frames.get()
                if isinstance(item, TransportError):
                    return None
                kind, frame = item
                if kind != "stream":
                    return _decode_answer(frame)[0]
    except TimeoutError:
        return None


def _decode_answer(frame: bytes) -> tuple[Answer, memoryview]:
    try:
        return decode_answer(frame)
    except ContractError as exc:
        log.error("undecodable answer: %s", exc)
        raise TransportError("ServiceUnavailable", "a worker sent an invalid answer") from None


def _decode_stream(frame: bytes) -> tuple[AnyStreamFrame, memoryview]:
    try:
        return decode_stream(frame)
    except ContractError as exc:
        log.error("undecodable stream frame: %s", exc)
        raise TransportError("ServiceUnavailable", "a worker sent an invalid frame") from None


class AmqpWorker:
    """The worker side: consume one route's queue, answer on ``reply_to``."""

    def __init__(self, settings: Settings, role: str) -> None:
        self._settings = settings
        self.settings = settings
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
            # A request with a body too large for one frame (PutObject,
            # UploadPart) says so with ``streamed``; its body follows as chunks.
            streamed = getattr(call.request, "streamed", False) is True
            if message.redelivered and streamed:
                # Its gateway saw the stream break and has already answered.
                log.warning("redelivered streamed upload dropped", extra=_op(call))
                await message.ack()
                return
            if message.redelivered and not await self._count_delivery(message, call):
                return
            upload: _StreamedUpload | None = None
            try:
                if streamed:
                    upload = await self._open_upload(message, call)
                    reply, out = await handler(call, upload)
                else:
                    async with asyncio.timeout(call.remaining()):
                        reply, out = await handler(call, InlineBody(payload))
            except TimeoutError:
                log.warning("request ran past its deadline; not answered", extra=_op(call))
                await message.ack()
                return
            except Exception:
                log.exception("handler crashed; request dead-lettered", extra=_op(call))
                failure = Failure(
                    code="InternalError",
                    message="We encountered an internal error. Please try again.",
                )
                await self._reply(message, call, failure, b"")
                await message.reject(requeue=False)
                return
            finally:
                if upload is not None:
                    await upload.close()
            if isinstance(out, bytes | memoryview):
                await self._reply(message, call, reply, out)
            else:
                await self._send_download(message, call, reply, out)
            await message.ack()
            self.handled += 1

    async def _reply(
        self,
        message: AbstractIncomingMessage,
        call: Call,
        reply: AnyReply,
        body: bytes | memoryview,
    ) -> None:
        answer = Answer(request_id=call.request_id, reply=reply)
        await self._send(message, call, encode_answer(answer, body), kind="answer")

    async def _send(
        self, message: AbstractIncomingMessage, call: Call, frame: bytes, *, kind: str
    ) -> None:
        """Publish a frame to the caller's reply queue.  mandatory=False: a
        frame for a gateway that has gone away is simply dropped."""
        if not message.reply_to or self._channel is None:
            return
        ttl = max(call.remaining(), self._settings.stream_idle_timeout)
        try:
            async with asyncio.timeout(_BROKER_TIMEOUT):
                await self._channel.default_exchange.publish(
                    aio_pika.Message(
                        body=frame,
                        content_type=FRAME_CONTENT_TYPE,
                        type=kind,
                        correlation_id=call.request_id,
                        expiration=_expiration(ttl),
                        delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT,
                    ),
                    routing_key=message.reply_to,
                    mandatory=False,
                )
        except (TimeoutError, aiormq.exceptions.AMQPError, ConnectionError) as exc:
            log.warning("could not send to the gateway: %s", exc)

    async def _stream_queue(self) -> AbstractQueue:
        if self._channel is None:
            raise RuntimeError("AmqpWorker.start() was not awaited")
        async with asyncio.timeout(_BROKER_TIMEOUT):
            return await self._channel.declare_queue(exclusive=True, auto_delete=True)

    async def _open_upload(self, message: AbstractIncomingMessage, call: Call) -> _StreamedUpload:
        queue = await self._stream_queue()
        window = self._settings.stream_window
        upload = _StreamedUpload(self, message, call, queue)
        await self._reply(message, call, StreamOpen(queue=queue.name, window=window), b"")
        return upload

    async def _send_download(
        self, message: AbstractIncomingMessage, call: Call, reply: AnyReply, chunks: ByteStream
    ) -> None:
        """Stream ``chunks`` to the caller, at most ``stream_window`` ahead of
        its credits; the getter's credit queue is named in the first answer."""
        idle = self._settings.stream_idle_timeout
        window = self._settings.stream_window
        queue = await self._stream_queue()
        credits = queue.iterator()
        pieces = aiter(chunks)
        try:
            if isinstance(reply, ObjectMeta):
                reply = msgspec.structs.replace(reply, stream_queue=queue.name, window=window)
            await self._reply(message, call, reply, b"")
            seq, acked = 0, -1
            current = await anext(pieces, None)
            while current is not None:
                following = await anext(pieces, None)
                while seq - acked > window:
                    async with asyncio.timeout(idle):
                        incoming = await anext(credits)
                    await incoming.ack()
                    frame, _ = decode_stream(incoming.body)
                    if isinstance(frame, Abort):
                        log.info("download aborted by the gateway: %s", frame.reason)
                        return
                    if isinstance(frame, Credit):
                        acked = max(acked, frame.seq)
                chunk = Chunk(request_id=call.request_id, seq=seq, last=following is None)
                await self._send(message, call, encode_stream(chunk, current), kind="stream")
                seq += 1
                current = following
        except (TimeoutError, ContractError, StopAsyncIteration):
            log.warning("download stalled; gave up", extra=_op(call))
        except Exception as exc:
            log.warning("download failed mid-stream: %s", exc, extra=_op(call))
            abort = Abort(request_id=call.request_id, reason=f"storage read failed: {exc}")
            await self._send(message, call, encode_stream(abort), kind="stream")
        finally:
            with contextlib.suppress(Exception):
                await close_stream(chunks)
            with contextlib.suppress(Exception):
                await credits.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_BROKER_TIMEOUT):
                    await queue.delete(if_unused=False, if_empty=False)

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


class _StreamedUpload(IncomingBody):
    """A streamed request body as the receiver sees it: chunks from its own
    exclusive queue, a credit back to the gateway for each chunk consumed."""

    def __init__(
        self, worker: AmqpWorker, message: AbstractIncomingMessage, call: Call, queue: AbstractQueue
    ) -> None:
        self._worker = worker
        self._message = message
        self._call = call
        self._queue = queue
        self._iterator = queue.iterator()

    async def _pieces(self) -> AsyncIterator[bytes]:
        idle = self._worker.settings.stream_idle_timeout
        expected = 0
        while True:
            try:
                async with asyncio.timeout(idle):
                    incoming = await anext(self._iterator)
            except TimeoutError:
                raise S3Error(
                    "IncompleteBody", f"the upload stalled for {idle:g}s and was abandoned"
                ) from None
            await incoming.ack()
            try:
                frame, data = decode_stream(incoming.body)
            except ContractError:
                raise S3Error("IncompleteBody", "the upload stream was corrupt") from None
            if isinstance(frame, Abort):
                raise S3Error("IncompleteBody", f"the upload was abandoned: {frame.reason}")
            if not isinstance(frame, Chunk) or frame.seq != expected:
                raise S3Error("IncompleteBody", "upload chunks arrived out of order")
            yield bytes(data)
            credit = Credit(request_id=self._call.request_id, seq=frame.seq)
            await self._worker._send(
                self._message, self._call, encode_stream(credit), kind="stream"
            )
            if frame.last:
                return
            expected += 1

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._pieces()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._iterator.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(_BROKER_TIMEOUT):
                await self._queue.delete(if_unused=False, if_empty=False)


def _op(call: Call) -> dict[str, str]:
    return {"op": type(call.request).__name__}
