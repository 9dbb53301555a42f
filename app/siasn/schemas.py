"""Shapes of the SIASN push API (api-v1 "Integrations") and of the reconciliation view."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field


class SiasnRecordRead(BaseModel):
    id: int
    source: str
    source_id: int
    user_id: int
    state: Literal["pending", "pushed", "failed", "skipped"]
    siasn_id: str | None = None
    last_error: str | None = None  # SIASN's own message when it refused the record
    attempts: int = 0
    pushed_at: dt.datetime | None = None
    skip_reason: str | None = None
    revoked: bool = False  # the source was withdrawn (deleted or flagged in SIASN per setting)
    deleted: bool = False  # its SIASN record was deleted
    document: bool = False  # the certificate PDF is attached in SIASN


class SkipIn(BaseModel):
    reason: str = Field(min_length=3, max_length=500)


class RetryAllOut(BaseModel):
    count: int


class ReconcileLine(BaseModel):
    """One record: ours (`record_id`), SIASN's, or both side by side."""

    where: Literal["both", "lms", "siasn"]
    record_id: int | None = None
    source: str | None = None
    source_id: int | None = None
    state: str | None = None
    name: str | None = None
    number: str | None = None
    siasn_id: str | None = None
    siasn_name: str | None = None


class ReconcileView(BaseModel):
    nip: str
    name: str
    lines: list[ReconcileLine]
