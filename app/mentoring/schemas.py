"""Pydantic shapes of mentoring assignments, sessions and decisions (api-v1.md, mentoring)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

# Text fields accept blanks here: the service refuses them with a message naming the field.
GOAL_MAX = 2000
NOTE_MAX = 4000
REASON_MAX = 1000
BULK_MAX_MENTEES = 500


class AssignmentPlan(BaseModel):
    """The mentor and the plan, the same for one mentee or many."""

    mentor_id: int
    competency: str = Field(max_length=64)
    goal: str = Field(default="", max_length=GOAL_MAX)
    planned_sessions: int
    jp_per_session: float | None = None
    starts_on: dt.date
    ends_on: dt.date


class AssignmentCreate(AssignmentPlan):
    mentee_id: int


class BulkAssignmentCreate(AssignmentPlan):
    """One mentor for many mentees (e.g. everyone with a gap in the competency)."""

    mentee_ids: list[int] = Field(min_length=1, max_length=BULK_MAX_MENTEES)


class Created(BaseModel):
    id: int


class BulkSkipped(BaseModel):
    mentee_id: int
    reason: str


class BulkResult(BaseModel):
    created: list[Created]
    created_mentee_ids: list[int]
    skipped: list[BulkSkipped]


class SessionCreate(BaseModel):
    held_on: dt.date
    duration_minutes: int
    goal: str = Field(default="", max_length=NOTE_MAX)
    reality: str = Field(default="", max_length=NOTE_MAX)
    options: str = Field(default="", max_length=NOTE_MAX)
    way_forward: str = Field(default="", max_length=NOTE_MAX)


class DecisionIn(BaseModel):
    """The officer's verification: approved credits JP; not approved returns it (reason)."""

    approved: bool
    reason: str | None = Field(default=None, max_length=REASON_MAX)


class CancelIn(BaseModel):
    reason: str = Field(default="", max_length=REASON_MAX)


class PersonRef(BaseModel):
    id: int
    name: str
    nip: str | None
    opd_code: str | None
    opd_name: str | None


class SessionRead(BaseModel):
    id: int
    held_on: dt.date
    duration_minutes: int
    goal: str
    reality: str
    options: str
    way_forward: str
    evidence_name: str | None
    evidence_url: str | None
    confirmed: bool
    mentee_confirmed_at: dt.datetime | None
    credited: bool  # counted for JP once verified (confirmed, within planned_sessions)


AssignmentStatus = Literal["active", "signed_off", "verified", "returned", "cancelled"]


class AssignmentRead(BaseModel):
    id: int
    mentor: PersonRef
    mentee: PersonRef
    competency: str
    competency_name: str
    goal: str
    planned_sessions: int
    jp_per_session: float
    starts_on: dt.date
    ends_on: dt.date
    status: str
    signed_off_at: dt.datetime | None
    decided_at: dt.datetime | None
    decision_reason: str | None
    session_count: int
    confirmed_count: int
    jp_expected: float  # JP the confirmed sessions earn once verified
    jp_credited: float  # JP in the ledger (after verification)


class AssignmentDetail(AssignmentRead):
    sessions: list[SessionRead]


class AssignmentPage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[AssignmentRead]
