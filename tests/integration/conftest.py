"""Fixtures for the distributed stack: real RabbitMQ, real MinIO, real processes.

Locally, tests that need the services skip when they are not running; in CI
(``CI=true``) they fail instead, so a broken service script cannot pass as
skipped tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import boto3
import pytest
from botocore.config import Config

from tests.integration.stack import (
    EmbeddedServer,
    Stack,
    in_ci,
    isolated_vhost,
    reachable,
    service_settings,
)


@pytest.fixture(scope="session")
def services():
    svc = service_settings()
    amqp = urlparse(svc.amqp_url)
    s3 = urlparse(svc.s3_endpoint)
    missing = [
        name
        for name, host, port in (
            ("RabbitMQ", amqp.hostname or "127.0.0.1", amqp.port or 5672),
            ("MinIO", s3.hostname or "127.0.0.1", s3.port or 9000),
        )
        if not reachable(host, port)
    ]
    if missing:
        message = f"{' and '.join(missing)} not running (start them with scripts/services.sh start)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return svc


def _running_stack(services, workdir: Path) -> Iterator[Stack]:
    # A RabbitMQ virtual host of its own: no other process (another test
    # session, a developer's stack) can take this stack's requests.
    with isolated_vhost(services) as isolated:
        st = Stack(services=isolated, workdir=workdir)
        st.spawn("receiver")
        st.spawn("getter")
        try:
            st.endpoint = st.gateway()
            yield st
        finally:
            st.stop()


@pytest.fixture(scope="session")
def stack(services, tmp_path_factory) -> Iterator[Stack]:
    """One gateway, one receiver and one getter for the whole session."""
    yield from _running_stack(services, tmp_path_factory.mktemp("stack"))


@pytest.fixture
def isolated_stack(services, tmp_path) -> Iterator[Stack]:
    """A stack of its own, for tests that kill or stop its processes."""
    yield from _running_stack(services, tmp_path)


def make_client(endpoint: str, access_key: str, secret_key: str, **config: object):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, **config),
    )


@dataclass(frozen=True)
class Target:
    """An S3 endpoint under test: the distributed stack or an embedded server."""

    mode: str
    endpoint: str
    access_key: str
    secret_key: str


@pytest.fixture(scope="session")
def embedded(tmp_path_factory) -> Iterator[Target]:
    """``sangraha serve`` in a subprocess with its own data directory."""
    workdir = tmp_path_factory.mktemp("embedded")
    server = EmbeddedServer(workdir)
    server.start()
    try:
        yield Target("embedded", server.endpoint, server.access_key, server.secret_key)
    finally:
        server.stop()


@pytest.fixture(scope="session", params=["distributed", "embedded"])
def target(request) -> Target:
    """Every S3 behaviour test runs against both modes."""
    if request.param == "embedded":
        return request.getfixturevalue("embedded")
    st = request.getfixturevalue("stack")
    return Target("distributed", st.endpoint, st.access_key, st.secret_key)


@pytest.fixture(scope="session")
def s3(target):
    return make_client(target.endpoint, target.access_key, target.secret_key)


@pytest.fixture
def bucket(s3) -> Iterator[str]:
    """A fresh bucket, emptied and removed afterwards."""
    name = f"t-{uuid.uuid4().hex[:20]}"
    s3.create_bucket(Bucket=name)
    yield name
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=name):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=obj["Key"])
    s3.delete_bucket(Bucket=name)


@pytest.fixture
def aws_env(target, tmp_path: Path) -> dict[str, str]:
    """Environment for the aws CLI pointed at the target."""
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID=target.access_key,
        AWS_SECRET_ACCESS_KEY=target.secret_key,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "aws-credentials"),
    )
    return env
