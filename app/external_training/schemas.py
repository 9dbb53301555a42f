"""Pydantic shapes of external training (api-v1.md "Competency development..."): the record as
the learner and the officer read it, and the officer's decision."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class ExternalTrainingCreated(BaseModel):
    id: int
    status: str


class DuplicateRead(BaseModel):
    """Another live record (any user) with the same certificate number."""

    id: int
    user_id: int
    user_name: str
    status: str


class ExternalTrainingRead(BaseModel):
    id: int
    user_id: int
    user_name: str
    user_nip: str | None
    opd_code: str | None
    name: str
    organiser: str
    starts_on: dt.date
    ends_on: dt.date
    jp: float
    certificate_number: str
    funding_source: str
    mode: str
    status: str
    decision_reason: str | None
    decided_at: dt.datetime | None
    file_name: str | None
    file_url: str | None
    created_at: dt.datetime
    recorded_by_officer: bool
    duplicates: list[DuplicateRead] = Field(default_factory=list)


class ExternalTrainingPage(BaseModel):
    total: int
    items: list[ExternalTrainingRead]


class DecisionIn(BaseModel):
    """`reason` is required when rejecting; its length is checked by the service (Indonesian
    message), up to MAX_REASON_CHARS characters."""

    approved: bool
    reason: str | None = None


class RevokeIn(BaseModel):
    reason: str = ""
