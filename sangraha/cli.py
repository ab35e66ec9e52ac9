"""The ``sangraha`` command: one subcommand per process role.

This launcher is the only module that imports both the gateway and the
workers; it wires a transport and a storage driver into a process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import secrets
import signal
import ssl
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from sangraha.settings import Settings, SettingsError

__all__ = ["main"]

log = logging.getLogger("sangraha")

_HEARTBEAT_EVERY = 5.0
_HEARTBEAT_STALE = 30.0


async def _retry(what: str, start: object, deadline: float) -> None:
    """Await ``start()`` until it succeeds or ``deadline`` (monotonic) passes:
    in a swarm, RabbitMQ and MinIO may come up after us."""
    from sangraha.transport.base import TransportError

    delay = 0.5
    while True:
        try:
            await start()  # type: ignore[operator]
            return
        except (TransportError, OSError) as exc:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("%s not reachable yet (%s); retrying in %.1fs", what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def _heartbeat(path: str, alive: Callable[[], Awaitable[bool]]) -> None:
    """Touch ``path`` every few seconds while ``alive()``: the container health
    check of a worker (``sangraha healthcheck``) reads its age."""
    target = Path(path)
    while True:
        try:
            if await alive():
                await asyncio.to_thread(target.touch)
        except OSError as exc:
            log.warning("cannot touch the heartbeat file %s: %s", path, exc)
        await asyncio.sleep(_HEARTBEAT_EVERY)


_ROLES = ("gateway", "receiver", "getter", "serve")


def _container_role() -> str:
    """The role of this container's main process, read from PID 1's command
    line (``sangraha <role>``, possibly behind docker-init)."""
    try:
        argv = Path("/proc/1/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "gateway"
    for arg in argv:
        if arg.decode(errors="replace") in _ROLES:
            return arg.decode()
    return "gateway"


def _healthcheck(settings: Settings, role: str) -> int:
    """Exit status for a container health check of ``role``."""
    if role in ("gateway", "serve"):
        from gateway.app import HEALTH_PATH

        scheme = "https" if settings.tls_cert_file else "http"
        url = f"{scheme}://127.0.0.1:{settings.port}{HEALTH_PATH}"
        # Our own certificate names the public host, not 127.0.0.1: a liveness
        # probe over loopback checks that the listener answers, not who it is.
        context = ssl._create_unverified_context() if settings.tls_cert_file else None  # noqa: S323
        try:
            with urllib.request.urlopen(url, timeout=3, context=context) as response:  # noqa: S310
                return 0 if response.status == 200 else 1
        except OSError:
            return 1
    try:
        age = time.time() - Path(settings.heartbeat_file).stat().st_mtime
    except OSError:
        return 1
    return 0 if age <= _HEARTBEAT_STALE else 1


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _run_gateway(settings: Settings) -> None:
    import uvicorn

    from gateway.app import build_app
    from sangraha.contract import Call, Done, Ping, PingWriter
    from sangraha.transport.amqp import AmqpRpcClient
    from sangraha.transport.base import TransportError

    settings.require("access_key", "secret_key")
    client = AmqpRpcClient(settings)
    await _retry("RabbitMQ", client.start, time.monotonic() + 120)

    async def readiness() -> dict[str, bool]:
        results = {}
        for name, probe in (("getter_storage", Ping()), ("receiver_storage", PingWriter())):
            call = Call(request_id=f"ready-{name}", deadline=time.time() + 3, request=probe)
            try:
                result = await client.call(call)
                results[name] = isinstance(result.answer.reply, Done)
            except TransportError:
                results[name] = False
        return results

    app = build_app(settings, client, readiness=readiness)
    server = uvicorn.Server(_uvicorn_config(app, settings))
    log.info(
        "gateway listening",
        extra={
            "endpoint": f"http://{settings.host}:{settings.port}",
            "reply_queue": client.reply_queue_name,
        },
    )
    prepare = asyncio.create_task(app.prepare())  # the native API's buckets
    try:
        await server.serve()
    finally:
        prepare.cancel()
        await client.close()


async def _run_worker(settings: Settings, role: str) -> None:
    from backend_workers.operations import Operations
    from backend_workers.storage.s3 import S3Storage
    from sangraha.contract import Route
    from sangraha.transport.amqp import AmqpWorker

    settings.require("s3_endpoint", "s3_access_key", "s3_secret_key")
    storage = S3Storage(settings)
    await storage.start()
    worker = AmqpWorker(settings, role)
    await _retry("RabbitMQ", worker.start, time.monotonic() + 120)
    route = Route.WRITE if role == "receiver" else Route.READ
    operations = Operations(storage, max_inline_bytes=settings.max_inline_bytes)
    stop = _stop_event()
    await worker.serve(route, operations)

    async def alive() -> bool:
        return await worker.ready() and await storage.ready()

    beat = asyncio.create_task(_heartbeat(settings.heartbeat_file, alive))
    log.info("%s consuming %s", role, route.value, extra={"prefetch": settings.prefetch})
    try:
        await stop.wait()
        log.info("%s stopping; finishing in-flight requests", role)
        await worker.drain(timeout=settings.request_timeout)
    finally:
        beat.cancel()
        await worker.close()
        await storage.close()
        log.info("%s stopped after %d requests", role, worker.handled)


def _embedded_credentials(settings: Settings) -> Settings:
    """Root credentials for embedded mode: the environment's, else the ones
    saved in the data directory, else new random ones saved there (0600)."""
    if settings.access_key and settings.secret_key:
        return settings
    path = Path(settings.data_dir) / "credentials.json"
    if path.exists():
        saved = json.loads(path.read_text())
        access, secret = str(saved["access_key"]), str(saved["secret_key"])
    else:
        access = "SG" + secrets.token_hex(9).upper()
        secret = secrets.token_urlsafe(30)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"access_key": access, "secret_key": secret}, f)
    return dataclasses.replace(settings, access_key=access, secret_key=secret)


def _banner(settings: Settings) -> str:
    scheme = "https" if settings.tls_cert_file else "http"
    endpoint = f"{scheme}://{settings.host}:{settings.port}"
    return f"""
Sangraha is serving S3 at {endpoint}  (data: {Path(settings.data_dir).resolve()})

  Access key: {settings.access_key}
  Secret key: {settings.secret_key}
  Region:     {settings.region}

aws CLI:
  export AWS_ACCESS_KEY_ID={settings.access_key}
  export AWS_SECRET_ACCESS_KEY={settings.secret_key}
  export AWS_DEFAULT_REGION={settings.region}
  aws --endpoint-url {endpoint} s3 mb s3://my-bucket
  aws --endpoint-url {endpoint} s3 cp ./file s3://my-bucket/

boto3:
  import boto3
  s3 = boto3.client("s3", endpoint_url="{endpoint}",
                    aws_access_key_id="{settings.access_key}",
                    aws_secret_access_key="{settings.secret_key}",
                    region_name="{settings.region}")

Press Ctrl-C to stop.
"""


async def _run_embedded(settings: Settings) -> None:
    import uvicorn

    from backend_workers.operations import Operations
    from backend_workers.storage.local import LocalStorage
    from gateway.app import build_app
    from sangraha.contract import Route
    from sangraha.transport.inprocess import InProcessTransport

    storage = LocalStorage(settings.data_dir)
    await storage.start()
    transport = InProcessTransport(
        concurrency=settings.prefetch, max_inflight=settings.max_inflight
    )
    operations = Operations(storage, max_inline_bytes=settings.max_inline_bytes)
    for route in Route:
        await transport.serve(route, operations)

    async def readiness() -> dict[str, bool]:
        return {"storage": await storage.ready()}

    app = build_app(settings, transport, readiness=readiness)
    server = uvicorn.Server(_uvicorn_config(app, settings))

    async def announce() -> None:
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.05)
        print(_banner(settings), flush=True)

    announcer = asyncio.create_task(announce())
    prepare = asyncio.create_task(app.prepare())  # the native API's buckets
    try:
        await server.serve()
    finally:
        announcer.cancel()
        prepare.cancel()
        await transport.close()
        await storage.close()


def _uvicorn_config(app: object, settings: Settings) -> Any:
    import uvicorn

    if bool(settings.tls_cert_file) != bool(settings.tls_key_file):
        raise SettingsError(
            "TLS needs both SANGRAHA_TLS_CERT_FILE and SANGRAHA_TLS_KEY_FILE (or neither)"
        )
    from gateway.protocol import guarded_protocol
    from gateway.s3app import new_request_id

    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        # httptools, with a deadline and a size cap on request heads.
        http=guarded_protocol(settings.head_timeout, settings.head_max_bytes, new_request_id),
        lifespan="off",
        access_log=False,
        log_config=None,
        timeout_keep_alive=30,
        server_header=False,
        date_header=True,
        ssl_certfile=settings.tls_cert_file or None,
        ssl_keyfile=settings.tls_key_file or None,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sangraha", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve", help="embedded mode: gateway, receiver and getter in one process, local disk"
    )
    serve.add_argument("--host", help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default 8000)")
    serve.add_argument("--data", dest="data_dir", help="data directory (default ./sangraha-data)")
    gw = sub.add_parser("gateway", help="serve the S3 API, forwarding to RabbitMQ")
    gw.add_argument("--host", help="listen address (SANGRAHA_HOST, default 127.0.0.1)")
    gw.add_argument("--port", type=int, help="listen port (SANGRAHA_PORT, default 8000)")
    sub.add_parser("receiver", help="execute writes from object_write_queue on storage")
    sub.add_parser("getter", help="execute reads from object_read_queue on storage")
    hc = sub.add_parser("healthcheck", help="exit 0 when this container's role is healthy")
    hc.add_argument(
        "--role",
        choices=_ROLES,
        default=None,
        help="role to check (default: the role of this container's PID 1)",
    )
    from sangraha.bench import add_arguments as bench_arguments

    bench_arguments(sub.add_parser("bench", help="benchmark Sangraha against direct MinIO"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from sangraha.logs import setup_logging

    args = _parser().parse_args(argv)
    # botocore's CRT signer needs whole bodies in memory; workers stream them.
    os.environ.setdefault("BOTO_DISABLE_CRT", "true")
    try:
        settings = Settings.from_env(
            host=getattr(args, "host", None),
            port=getattr(args, "port", None),
            data_dir=getattr(args, "data_dir", None),
        )
    except SettingsError as exc:
        print(f"sangraha: {exc}", file=sys.stderr)
        return 2
    if args.command == "healthcheck":
        return _healthcheck(settings, args.role or _container_role())
    if args.command == "bench":
        from sangraha.bench import run as run_bench

        return run_bench(args, settings)
    setup_logging(args.command, settings.log_level)
    import uvloop

    try:
        if args.command == "serve":
            uvloop.run(_run_embedded(_embedded_credentials(settings)))
        elif args.command == "gateway":
            uvloop.run(_run_gateway(settings))
        else:
            uvloop.run(_run_worker(settings, args.command))
    except SettingsError as exc:
        log.error("%s", exc)
        return 2
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        log.error("fatal: %s: %s", type(exc).__name__, exc)
        return 1
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
