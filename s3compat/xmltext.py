"""Escaping text for S3 XML documents (shared by bodies and error documents)."""

from __future__ import annotations

import re

__all__ = ["xml_text"]

_NOT_XML_CHAR = re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\r]")
_SPECIAL = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_SPECIAL_RE = re.compile('[&<>"]')


def xml_text(value: str) -> str:
    """``value`` escaped for XML text: markup characters, and characters XML
    cannot carry literally as character references (as S3 does for keys)."""
    value = _SPECIAL_RE.sub(lambda m: _SPECIAL[m.group()], value)
    return _NOT_XML_CHAR.sub(lambda m: f"&#x{ord(m.group()):X};", value)
