"""What an upload really is: libmagic (python-magic) on its first bytes.

Only the first ``sniff_bytes`` of a file are given to libmagic; the declared
Content-Type and the filename's extension are never consulted.
"""

from __future__ import annotations

import threading

import magic

from gateway.native.naming import ObjectType

__all__ = ["Sniffer", "accepts", "expected"]


class Sniffer:
    """One libmagic handle (loading the database is slow), used under a lock:
    a libmagic cookie is not safe to share between threads."""

    def __init__(self) -> None:
        self._magic = magic.Magic(mime=True)
        self._lock = threading.Lock()

    def detect(self, head: bytes) -> str:
        """The MIME type libmagic detects in ``head``."""
        if not head:
            return "application/x-empty"
        with self._lock:
            detected = self._magic.from_buffer(head)
        return str(detected).split(";", 1)[0].strip().lower() or "application/octet-stream"


def accepts(kind: ObjectType, mime: str) -> bool:
    """Whether a file detected as ``mime`` may be stored as ``kind``."""
    if kind == "image":
        return mime.startswith("image/")
    if kind == "pdf":
        return mime == "application/pdf"
    return mime == "application/json"


def expected(kind: ObjectType) -> str:
    return {"image": "image/*", "pdf": "application/pdf", "json": "application/json"}[kind]
