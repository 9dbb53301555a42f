"""API shapes of the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel


class AuditEntryRead(BaseModel):
    id: int
    at: dt.datetime
    actor_id: int | None
    actor_label: str
    actor_name: str | None = None
    address: str | None
    action: str
    target_type: str | None
    target_id: str | None
    before: Any | None = None
    after: Any | None = None
    request_id: str | None
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[AuditEntryRead]
