"""Pydantic shapes for notifications (API contract: api-v1.md, "Accounts self-service, sign-in and
notifications")."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field


class NotificationItem(BaseModel):
    id: int
    event: str
    title: str
    body: str
    url: str | None = None
    action: str | None = None
    created_at: dt.datetime
    read_at: dt.datetime | None = None


class NotificationList(BaseModel):
    unread: int
    total: int
    items: list[NotificationItem]


# A row id as the database stores it (32-bit): larger numbers are refused with 422, not a 500.
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class MarkReadIn(BaseModel):
    ids: list[RowId] = Field(default_factory=list, max_length=1000)
    all: bool = False


class PreferencesRead(BaseModel):
    events: dict[str, dict[str, bool]]


class PreferencesIn(BaseModel):
    events: dict[str, dict[str, bool]]


class PreviewRead(BaseModel):
    event: str
    label: str
    locale: str
    subject: str
    title: str
    body: str
    email_text: str
    email_html: str
    whatsapp: str
    channels: list[str]
