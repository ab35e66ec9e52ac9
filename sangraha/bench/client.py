"""One async S3 client for every target: aiohttp with SigV4 header signing.

Requests are signed with ``UNSIGNED-PAYLOAD`` (the body is never hashed), so
the client's cost per request is one HMAC chain whatever the size
(:func:`signing_cost` measures it).  Request bodies are generated from one
shared random buffer — a body over one chunk is streamed chunk by chunk — and
responses are read in chunks and dropped: the client holds at most about a
chunk per connection, never a whole object.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
from yarl import URL

__all__ = ["CHUNK", "Account", "Answer", "BenchError", "S3Client", "Signer", "signing_cost"]

CHUNK = 1024 * 1024
_UNSIGNED = "UNSIGNED-PAYLOAD"
_SIGNED_HEADERS = "host;x-amz-content-sha256;x-amz-date"
_BUFFER = os.urandom(CHUNK)  # incompressible; every body is cut from it
_KEY_RE = re.compile(rb"<Key>")
_TOKEN_RE = re.compile(rb"<NextContinuationToken>([^<]*)</NextContinuationToken>")


class BenchError(RuntimeError):
    """A set-up or clean-up request failed (a measured request never raises)."""


@dataclass(frozen=True, slots=True)
class Account:
    """Where a target listens and the key that signs for it."""

    endpoint: str
    access_key: str
    secret_key: str
    region: str


@dataclass(frozen=True, slots=True)
class Answer:
    """What a measured request returned: its status and the body bytes read."""

    status: int
    nbytes: int = 0
    keys: int = 0
    token: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _uri(value: str) -> str:
    return quote(value, safe="-_.~")


class Signer:
    """SigV4 ``Authorization`` headers for ``UNSIGNED-PAYLOAD`` requests.

    The canonical request covers host, x-amz-content-sha256 and x-amz-date;
    the signing key is derived once per day.
    """

    def __init__(self, account: Account) -> None:
        self.access_key = account.access_key
        self._secret = account.secret_key
        self._region = account.region
        self._day = ""
        self._key = b""

    def _signing_key(self, day: str) -> bytes:
        if day != self._day:
            key = ("AWS4" + self._secret).encode()
            for part in (day, self._region, "s3", "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._day, self._key = day, key
        return self._key

    def headers(self, method: str, host: str, path: str, query: str) -> dict[str, str]:
        """Headers to add to a request; ``path`` and ``query`` already encoded
        canonically (segments URI-encoded, parameters sorted)."""
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        day = amz_date[:8]
        scope = f"{day}/{self._region}/s3/aws4_request"
        canonical = (
            f"{method}\n{path}\n{query}\nhost:{host}\nx-amz-content-sha256:{_UNSIGNED}\n"
            f"x-amz-date:{amz_date}\n\n{_SIGNED_HEADERS}\n{_UNSIGNED}"
        )
        to_sign = (
            f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n"
            + hashlib.sha256(canonical.encode()).hexdigest()
        )
        signature = hmac.new(self._signing_key(day), to_sign.encode(), hashlib.sha256).hexdigest()
        return {
            "host": host,
            "x-amz-date": amz_date,
            "x-amz-content-sha256": _UNSIGNED,
            "authorization": f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
            f"SignedHeaders={_SIGNED_HEADERS}, Signature={signature}",
        }


def signing_cost(n: int = 5000) -> float:
    """Microseconds of CPU to sign one request with :class:`Signer`."""
    signer = Signer(Account("http://127.0.0.1:1", "AKBENCH", "secret", "us-east-1"))
    started = time.process_time()
    for i in range(n):
        signer.headers("PUT", "127.0.0.1:1", f"/bucket/key-{i}", "")
    return (time.process_time() - started) / n * 1e6


@functools.lru_cache(maxsize=16)
def body_bytes(size: int) -> bytes:
    """A body of ``size`` bytes (at most one chunk) cut from the shared buffer."""
    if size > CHUNK:
        raise ValueError("bodies over one chunk are streamed, see stream_body")
    return _BUFFER[:size]


async def stream_body(size: int) -> AsyncIterator[memoryview]:
    """``size`` bytes as chunks of the shared buffer, generated on the fly."""
    view = memoryview(_BUFFER)
    left = size
    while left > 0:
        n = min(left, CHUNK)
        yield view[:n]
        left -= n


class S3Client:
    """The bench's client for one target: PUT, GET, LIST, bucket set-up and
    clean-up, and the native API's ``POST /objects``."""

    def __init__(self, account: Account, *, connections: int = 128) -> None:
        self.account = account
        parts = urlsplit(account.endpoint)
        self._base = f"{parts.scheme}://{parts.netloc}"
        self._host = parts.netloc
        self._signer = Signer(account)
        basic = f"{account.access_key}:{account.secret_key}".encode()
        self._basic = "Basic " + base64.b64encode(basic).decode()
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections, limit_per_host=connections),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=120),
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
            auto_decompress=False,
        )

    async def close(self) -> None:
        await self._session.close()

    async def __aenter__(self) -> S3Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------- plumbing

    def _signed(
        self, method: str, bucket: str, key: str = "", params: dict[str, str] | None = None
    ) -> tuple[URL, dict[str, str]]:
        path = "/" + _uri(bucket) + ("/" + quote(key, safe="/-_.~") if key else "")
        query = "&".join(f"{_uri(k)}={_uri(v)}" for k, v in sorted((params or {}).items()))
        headers = self._signer.headers(method, self._host, path, query)
        url = self._base + path + ("?" + query if query else "")
        return URL(url, encoded=True), headers

    async def _request(
        self,
        method: str,
        bucket: str,
        key: str = "",
        params: dict[str, str] | None = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """A small request whose answer is read whole (set-up, LIST pages)."""
        url, signed = self._signed(method, bucket, key, params)
        signed.update(headers or {})
        async with self._session.request(method, url, data=data, headers=signed) as resp:
            return resp.status, await resp.read()

    # ------------------------------------------------------ measured requests

    async def put(self, bucket: str, key: str, size: int) -> Answer:
        url, headers = self._signed("PUT", bucket, key)
        headers["content-length"] = str(size)
        data: Any = body_bytes(size) if size <= CHUNK else stream_body(size)
        async with self._session.put(url, data=data, headers=headers) as resp:
            await resp.read()  # an empty body, or an error document
            return Answer(resp.status, size if resp.status == 200 else 0)

    async def get(self, bucket: str, key: str) -> Answer:
        url, headers = self._signed("GET", bucket, key)
        nbytes = 0
        async with self._session.get(url, headers=headers) as resp:
            async for chunk in resp.content.iter_any():
                nbytes += len(chunk)
            return Answer(resp.status, nbytes if resp.status == 200 else 0)

    async def list_page(
        self, bucket: str, max_keys: int, token: str = "", prefix: str = ""
    ) -> Answer:
        params = {"list-type": "2", "max-keys": str(max_keys)}
        if token:
            params["continuation-token"] = token
        if prefix:
            params["prefix"] = prefix
        status, body = await self._request("GET", bucket, params=params)
        if status != 200:
            return Answer(status)
        match = _TOKEN_RE.search(body)
        token = match.group(1).decode() if match else ""
        token = token.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        return Answer(status, len(body), len(_KEY_RE.findall(body)), token)

    async def post_native(self, body: bytes) -> Answer:
        """The original product's upload: ``POST /objects`` with a JSON document,
        authenticated with HTTP Basic (access key, secret key)."""
        headers = {"authorization": self._basic, "content-type": "application/json"}
        async with self._session.post(self._base + "/objects", data=body, headers=headers) as resp:
            await resp.read()
            return Answer(resp.status, len(body) if resp.status == 201 else 0)

    # --------------------------------------------------- set-up and clean-up

    async def create_bucket(self, bucket: str) -> None:
        status, body = await self._request("PUT", bucket, headers={"content-length": "0"})
        if status != 200:
            raise BenchError(f"CreateBucket {bucket}: {status} {body[:300]!r}")

    async def list_keys(self, bucket: str) -> list[str]:
        keys: list[str] = []
        token = ""
        while True:
            params = {"list-type": "2", "max-keys": "1000"}
            if token:
                params["continuation-token"] = token
            status, body = await self._request("GET", bucket, params=params)
            if status == 404:
                return keys
            if status != 200:
                raise BenchError(f"ListObjectsV2 {bucket}: {status} {body[:300]!r}")
            keys += [k.decode() for k in re.findall(rb"<Key>([^<]*)</Key>", body)]
            match = _TOKEN_RE.search(body)
            if not match:
                return keys
            token = match.group(1).decode()

    async def delete_objects(self, bucket: str, keys: list[str]) -> None:
        """DeleteObjects, a thousand keys at a time (keys need no XML escaping:
        the bench names them)."""
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            objects = "".join(f"<Object><Key>{k}</Key></Object>" for k in batch)
            xml = f"<Delete><Quiet>true</Quiet>{objects}</Delete>".encode()
            md5 = base64.b64encode(hashlib.md5(xml).digest()).decode()  # noqa: S324 - S3 asks MD5
            status, body = await self._request(
                "POST", bucket, params={"delete": ""}, data=xml, headers={"content-md5": md5}
            )
            if status != 200:
                raise BenchError(f"DeleteObjects {bucket}: {status} {body[:300]!r}")

    async def remove_bucket(self, bucket: str) -> None:
        """Empty a bucket and delete it; a bucket already gone is fine."""
        await self.delete_objects(bucket, await self.list_keys(bucket))
        status, body = await self._request("DELETE", bucket)
        if status not in (204, 404):
            raise BenchError(f"DeleteBucket {bucket}: {status} {body[:300]!r}")
