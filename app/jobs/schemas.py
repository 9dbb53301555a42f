"""Pydantic shapes for scheduled jobs."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class JobStatus(BaseModel):
    name: str
    label: str
    cadence: str
    at: str | None = None
    due_now: bool = False
    last_period: str | None = None
    last_state: str | None = None
    last_started_at: dt.datetime | None = None
    last_finished_at: dt.datetime | None = None
    last_result: str | None = None


class JobRunRead(BaseModel):
    """The outcome of an officer's "run now"."""

    job: str
    period: str
    state: str  # done | failed
    result: str
