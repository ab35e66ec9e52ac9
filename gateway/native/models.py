"""Response bodies of the native API (they are its OpenAPI schemas)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from gateway.native.errors import ErrorDetail

__all__ = [
    "Health",
    "ObjectAccepted",
    "ObjectCreated",
    "ObjectDeleted",
    "ObjectInfo",
    "ObjectPage",
    "UploadStatus",
]

_ID = Field(
    description="The object's id: also its key in the native bucket, as S3 clients see it.",
    examples=["image/0190f3a2-7c1e-7b3a-9f1d-2c4e5a6b7c8d/cat.png"],
)


class ObjectCreated(BaseModel):
    """The object is stored (201)."""

    id: str = _ID
    status: Literal["stored"] = "stored"
    url: str = Field(description="Where to GET the object.")
    content_type: str = Field(description="The type detected (or application/json).")
    size: int = Field(ge=0)
    etag: str = Field(description="Hex MD5 of the content, as S3 reports it.")


class ObjectAccepted(BaseModel):
    """The upload is queued durably and will be stored (202, Prefer: respond-async)."""

    id: str = _ID
    status: Literal["pending"] = "pending"
    status_url: str = Field(description="Poll this to learn when the object is stored.")
    content_type: str
    size: int = Field(ge=0)


class UploadStatus(BaseModel):
    """The outcome of an upload: pending, stored or failed."""

    id: str = _ID
    status: Literal["pending", "stored", "failed"]
    error: ErrorDetail | None = Field(
        default=None, description="Why it failed (status 'failed' only)."
    )


class ObjectInfo(BaseModel):
    name: str = Field(description="The object's id.")
    size: int = Field(ge=0)
    last_modified: datetime
    content_type: str


class ObjectPage(BaseModel):
    total: int = Field(ge=0, description="Objects of the type(s) listed.")
    total_pages: int = Field(ge=0)
    current_page: int = Field(ge=1)
    page_size: int = Field(ge=1, le=100)
    objects: list[ObjectInfo]


class ObjectDeleted(BaseModel):
    id: str = _ID
    status: Literal["deleted"] = "deleted"


class Health(BaseModel):
    status: Literal["ok"] = "ok"


JSON_DOCUMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["data"],
    "properties": {"data": {"description": 'Any JSON value; stored as {"data": ...}.'}},
}
