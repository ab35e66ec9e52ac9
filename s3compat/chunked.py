"""An incremental decoder for ``Content-Encoding: aws-chunked`` request bodies.

Framing (signed modes carry ``;chunk-signature=<hex>`` on every size line)::

    <hex-size>[;chunk-signature=SIG]\\r\\n <data> \\r\\n      (repeated)
    0[;chunk-signature=SIG]\\r\\n                             (final, empty chunk)
    <name>:<value>\\r\\n ...                                  (trailers, if any)
    [x-amz-trailer-signature:SIG\\r\\n]                       (signed-trailer mode)
    \\r\\n

Chunk data is released by :meth:`AwsChunkedDecoder.feed` as it arrives, before
that chunk's signature (which follows the data) has been checked; signatures
are verified incrementally and :meth:`AwsChunkedDecoder.finish` fails unless
every one matched. Callers therefore must not commit an object until
``finish()`` has returned. Memory held is one size/trailer line (<= 4 KiB).
Only trailers announced in ``x-amz-trailer`` are accepted, each once.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Sequence

from s3compat.errors import S3Error
from s3compat.sigv4 import AuthContext, PayloadMode, sign_chunk_hash, sign_trailer

__all__ = ["MAX_LINE", "AwsChunkedDecoder", "parse_trailer_names"]

MAX_LINE = 4096
MAX_TRAILERS = 16
_MAX_HEX_DIGITS = 16
_HEX = frozenset(b"0123456789abcdefABCDEF")
_SIG_EXT = b"chunk-signature="
_TRAILER_SIG = "x-amz-trailer-signature"
_STREAMING = (
    PayloadMode.STREAMING_SIGNED,
    PayloadMode.STREAMING_SIGNED_TRAILER,
    PayloadMode.STREAMING_UNSIGNED_TRAILER,
)


class _State(enum.Enum):
    SIZE_LINE = 1
    DATA = 2
    DATA_CRLF = 3
    TRAILER_LINE = 4
    DONE = 5
    FAILED = 6


def parse_trailer_names(value: str | None) -> list[str]:
    """The lowercase names announced by an ``x-amz-trailer`` header."""
    if not value:
        return []
    return [name.strip().lower() for name in value.split(",") if name.strip()]


def _framing(message: str) -> S3Error:
    return S3Error("InvalidRequest", f"Malformed aws-chunked body: {message}")


def _bad_signature(what: str) -> S3Error:
    return S3Error(
        "SignatureDoesNotMatch",
        f"The {what} signature we calculated does not match the signature you provided.",
    )


class AwsChunkedDecoder:
    """Push parser: :meth:`feed` raw body bytes, get decoded payload; then :meth:`finish`."""

    def __init__(
        self,
        mode: PayloadMode,
        ctx: AuthContext | None,
        decoded_length: int | None,
        trailer_names: Sequence[str],
    ) -> None:
        if mode not in _STREAMING:
            raise S3Error("InvalidRequest", f"aws-chunked encoding is not valid with {mode.value}.")
        self._signed = mode is not PayloadMode.STREAMING_UNSIGNED_TRAILER
        if self._signed and ctx is None:
            raise ValueError("signed aws-chunked decoding needs an AuthContext")
        self._mode = mode
        self._ctx = ctx
        self._previous = ctx.seed_signature if ctx else ""
        self._decoded_length = decoded_length
        self._announced = [name.lower() for name in trailer_names]
        self._state = _State.SIZE_LINE
        self._line = bytearray()
        self._remaining = 0
        self._crlf_seen = 0
        self._chunk_hash = hashlib.sha256()
        self._chunk_signature = b""
        self._total = 0
        self._trailers: dict[str, str] = {}
        self._trailer_lines: list[bytes] = []
        self._trailer_signature: bytes | None = None

    # --- public API --------------------------------------------------------------------

    def feed(self, data: bytes) -> list[bytes]:
        """Consume the next raw bytes; return the decoded payload pieces they completed."""
        if self._state is _State.FAILED:
            raise _framing("decoder used after an error")
        try:
            return self._feed(bytes(data))
        except S3Error:
            self._state = _State.FAILED
            raise

    def finish(self) -> dict[str, str]:
        """Check the stream was complete and authentic; return the trailers (lowercase names)."""
        if self._state is _State.FAILED:
            raise _framing("decoder used after an error")
        if self._state is not _State.DONE:
            raise S3Error("IncompleteBody", "The aws-chunked body ended before its final chunk.")
        if self._decoded_length is not None and self._total != self._decoded_length:
            raise S3Error(
                "IncompleteBody",
                "The decoded body length does not match x-amz-decoded-content-length.",
            )
        return dict(self._trailers)

    @property
    def decoded_bytes(self) -> int:
        """Payload bytes decoded so far."""
        return self._total

    # --- state machine -----------------------------------------------------------------

    def _feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        view = memoryview(data)
        pos, end = 0, len(data)
        while pos < end:
            state = self._state
            if state is _State.DATA:
                take = min(self._remaining, end - pos)
                piece = view[pos : pos + take]
                if self._signed:
                    self._chunk_hash.update(piece)
                out.append(data if take == end else piece.tobytes())
                pos += take
                self._remaining -= take
                if self._remaining == 0:
                    self._end_of_data()
            elif state is _State.DATA_CRLF:
                expected = b"\r\n"[self._crlf_seen]
                if data[pos] != expected:
                    raise _framing("chunk data is not followed by CRLF")
                pos += 1
                self._crlf_seen += 1
                if self._crlf_seen == 2:
                    self._state = _State.SIZE_LINE
            elif state is _State.DONE:
                raise _framing("data after the final chunk")
            else:
                line, pos = self._read_line(data, pos)
                if line is None:
                    continue
                if state is _State.SIZE_LINE:
                    self._size_line(line)
                else:
                    self._trailer_line(line)
        return out

    def _read_line(self, data: bytes, pos: int) -> tuple[bytes | None, int]:
        """Accumulate up to and including LF; return the line without CRLF once complete."""
        limit = min(len(data), pos + MAX_LINE + 2 - len(self._line))
        newline = data.find(b"\n", pos, limit)
        stop = limit if newline < 0 else newline + 1
        self._line += data[pos:stop]
        if newline < 0:
            if len(self._line) > MAX_LINE:
                raise _framing(f"line longer than {MAX_LINE} bytes")
            return None, stop
        line = bytes(self._line)
        self._line.clear()
        if len(line) < 2 or line[-2] != 0x0D:
            raise _framing("line not terminated by CRLF")
        return line[:-2], stop

    def _size_line(self, line: bytes) -> None:
        size_hex, sep, extension = line.partition(b";")
        if not size_hex or len(size_hex) > _MAX_HEX_DIGITS or not set(size_hex) <= _HEX:
            raise _framing("invalid chunk size")
        size = int(size_hex, 16)
        if self._signed:
            if not sep or not extension.startswith(_SIG_EXT):
                raise _framing("chunk-signature missing")
            self._chunk_signature = extension[len(_SIG_EXT) :]
        self._total += size
        if self._decoded_length is not None and self._total > self._decoded_length:
            raise S3Error(
                "IncompleteBody", "The decoded body is longer than x-amz-decoded-content-length."
            )
        self._chunk_hash = hashlib.sha256()
        self._remaining = size
        if size:
            self._state = _State.DATA
        else:
            self._verify_chunk()
            self._state = _State.TRAILER_LINE

    def _end_of_data(self) -> None:
        self._verify_chunk()
        self._crlf_seen = 0
        self._state = _State.DATA_CRLF

    def _verify_chunk(self) -> None:
        if not self._signed or self._ctx is None:
            return
        expected = sign_chunk_hash(self._ctx, self._previous, self._chunk_hash.hexdigest())
        if not hmac.compare_digest(expected.encode(), self._chunk_signature):
            raise _bad_signature("chunk")
        self._previous = expected

    def _trailer_line(self, line: bytes) -> None:
        if line:
            self._add_trailer(line)
            return
        if self._mode is PayloadMode.STREAMING_SIGNED_TRAILER:
            self._verify_trailer()
        for name in self._announced:
            if name not in self._trailers:
                raise S3Error("InvalidRequest", f"The announced trailer {name} was not sent.")
        self._state = _State.DONE

    def _add_trailer(self, line: bytes) -> None:
        if self._mode is PayloadMode.STREAMING_SIGNED:
            raise _framing("trailers are not allowed with STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        if self._trailer_signature is not None:
            raise _framing("trailer after x-amz-trailer-signature")
        raw_name, sep, raw_value = line.partition(b":")
        try:
            name = raw_name.decode("ascii").strip().lower()
            value = raw_value.decode("ascii").strip()
        except UnicodeDecodeError:
            raise _framing("trailer is not ASCII") from None
        if not sep or not name or not name.isprintable() or not value.isprintable():
            raise _framing("invalid trailer line")
        if name == _TRAILER_SIG and self._mode is PayloadMode.STREAMING_SIGNED_TRAILER:
            self._trailer_signature = value.encode("ascii")
            return
        if name in self._trailers or len(self._trailers) >= MAX_TRAILERS:
            raise _framing("duplicate or too many trailers")
        if name not in self._announced:
            raise S3Error(
                "InvalidRequest", f"The trailer {name} was not announced in x-amz-trailer."
            )
        self._trailers[name] = value
        self._trailer_lines.append(f"{name}:{value}\n".encode("ascii"))

    def _verify_trailer(self) -> None:
        if self._trailer_signature is None:
            raise _framing("x-amz-trailer-signature missing")
        if self._ctx is None:
            return
        expected = sign_trailer(self._ctx, self._previous, b"".join(self._trailer_lines))
        if not hmac.compare_digest(expected.encode(), self._trailer_signature):
            raise _bad_signature("trailer")
