"""A streaming ``multipart/form-data`` parser (RFC 7578), pure and incremental.

Feed it the request body as it arrives; it returns events: a part begins
(with its headers), a piece of the part's data, the part ends.  It never
buffers more than one delimiter's length of part data, and bounds header
size and part count, so a large file part streams straight through.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = [
    "MultipartError",
    "MultipartParser",
    "PartBegin",
    "PartData",
    "PartEnd",
    "boundary_of",
    "parse_header_params",
]

_MAX_BOUNDARY = 70


class MultipartError(ValueError):
    """The body is not well-formed multipart/form-data."""


@dataclass(frozen=True, slots=True)
class PartBegin:
    headers: dict[str, str]
    name: str | None = None
    filename: str | None = None
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class PartData:
    data: bytes


@dataclass(frozen=True, slots=True)
class PartEnd:
    pass


Event = PartBegin | PartData | PartEnd


def _unquote(value: str) -> str:
    out: list[str] = []
    escaped = False
    for c in value:
        if escaped:
            out.append(c)
            escaped = False
        elif c == "\\":
            escaped = True
        else:
            out.append(c)
    return "".join(out)


def parse_header_params(value: str) -> tuple[str, dict[str, str]]:
    """Split ``main; a=1; b="x;y"`` into ``("main", {"a": "1", "b": "x;y"})``.

    Names are lower-cased; quoted strings may hold ``;`` and backslash
    escapes.  ``name*=UTF-8''...`` values (RFC 8187) are decoded and win over
    the plain ``name``."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for c in value:
        if escaped:
            current.append(c)
            escaped = False
        elif quoted and c == "\\":
            current.append(c)
            escaped = True
        elif c == '"':
            current.append(c)
            quoted = not quoted
        elif c == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
    parts.append("".join(current))
    main = parts[0].strip().lower()
    params: dict[str, str] = {}
    extended: dict[str, str] = {}
    for part in parts[1:]:
        name, eq, raw = part.partition("=")
        name = name.strip().lower()
        if not eq or not name:
            continue
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = _unquote(raw[1:-1])
        if name.endswith("*"):
            decoded = _decode_ext(raw)
            if decoded is not None:
                extended[name[:-1]] = decoded
        else:
            params[name] = raw
    params.update(extended)
    return main, params


def _decode_ext(raw: str) -> str | None:
    from urllib.parse import unquote_to_bytes

    charset, q1, rest = raw.partition("'")
    _lang, q2, encoded = rest.partition("'")
    if not q1 or not q2:
        return None
    try:
        return unquote_to_bytes(encoded).decode(charset.strip() or "utf-8")
    except (LookupError, UnicodeDecodeError):
        return None


def boundary_of(content_type: str | None) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type; raises
    :class:`MultipartError` for any other type or a bad boundary."""
    main, params = parse_header_params(content_type or "")
    if main != "multipart/form-data":
        raise MultipartError(f"the body must be multipart/form-data, not {main or 'untyped'!s}")
    boundary = params.get("boundary", "")
    if not 1 <= len(boundary) <= _MAX_BOUNDARY or not boundary.isascii():
        raise MultipartError("the multipart boundary is missing or invalid")
    return boundary.encode("ascii")


class _State(enum.Enum):
    PREAMBLE = 1
    AFTER_DELIMITER = 2
    HEADERS = 3
    BODY = 4
    DONE = 5


def _decode_header(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


@dataclass
class MultipartParser:
    """Incremental parser; call :meth:`feed` with each chunk, then :meth:`close`."""

    boundary: bytes
    max_header_bytes: int = 16 * 1024
    max_parts: int = 32
    _buf: bytearray = field(default_factory=bytearray, init=False)
    _state: _State = field(default=_State.PREAMBLE, init=False)
    _parts: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        # The body is searched as if it started with CRLF, so the first
        # delimiter needs no special case.
        self._delimiter = b"\r\n--" + self.boundary
        self._buf += b"\r\n"

    @property
    def done(self) -> bool:
        return self._state is _State.DONE

    def feed(self, data: bytes) -> list[Event]:
        if self._state is _State.DONE:
            return []
        self._buf += data
        events: list[Event] = []
        while self._step(events):
            pass
        return events

    def close(self) -> None:
        """Raise :class:`MultipartError` unless the closing delimiter was seen."""
        if self._state is not _State.DONE:
            raise MultipartError("the multipart body ended before its closing boundary")

    def _step(self, events: list[Event]) -> bool:
        """Advance once; False when more input is needed."""
        buf = self._buf
        delim = self._delimiter
        if self._state is _State.PREAMBLE:
            at = buf.find(delim)
            if at < 0:
                del buf[: max(len(buf) - len(delim) + 1, 0)]
                return False
            del buf[: at + len(delim)]
            self._state = _State.AFTER_DELIMITER
            return True
        if self._state is _State.AFTER_DELIMITER:
            if len(buf) < 2:
                return False
            if buf[:2] == b"--":
                self._state = _State.DONE
                buf.clear()
                return False
            end = buf.find(b"\r\n")
            if end < 0:
                if len(buf) > 256:
                    raise MultipartError("garbage after a multipart boundary")
                return False
            if buf[:end].strip(b" \t"):
                raise MultipartError("garbage after a multipart boundary")
            del buf[: end + 2]
            self._state = _State.HEADERS
            return True
        if self._state is _State.HEADERS:
            if buf[:2] == b"\r\n":
                raw, consumed = b"", 2
            else:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > self.max_header_bytes:
                        raise MultipartError("multipart part headers are too large")
                    return False
                raw, consumed = bytes(buf[:end]), end + 4
            if consumed > self.max_header_bytes:
                raise MultipartError("multipart part headers are too large")
            del buf[:consumed]
            self._parts += 1
            if self._parts > self.max_parts:
                raise MultipartError(f"more than {self.max_parts} multipart parts")
            events.append(self._begin(raw))
            self._state = _State.BODY
            return True
        if self._state is _State.BODY:
            at = buf.find(delim)
            if at < 0:
                keep = len(delim) - 1
                if len(buf) > keep:
                    events.append(PartData(bytes(buf[: len(buf) - keep])))
                    del buf[: len(buf) - keep]
                return False
            if at:
                events.append(PartData(bytes(buf[:at])))
            del buf[: at + len(delim)]
            events.append(PartEnd())
            self._state = _State.AFTER_DELIMITER
            return True
        return False

    @staticmethod
    def _begin(raw: bytes) -> PartBegin:
        headers: dict[str, str] = {}
        for line in raw.split(b"\r\n") if raw else []:
            name, colon, value = line.partition(b":")
            if not colon or not name.strip():
                raise MultipartError("a malformed multipart part header")
            headers[_decode_header(name).strip().lower()] = _decode_header(value).strip()
        _, params = parse_header_params(headers.get("content-disposition", ""))
        return PartBegin(
            headers=headers,
            name=params.get("name"),
            filename=params.get("filename"),
            content_type=headers.get("content-type"),
        )
