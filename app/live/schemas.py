"""API shapes of live sessions and attendance."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from app.live.constants import AttendanceStatus, Platform


class SessionRead(BaseModel):
    activity_id: int
    run_id: int | None
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    platform: str
    location: str | None
    join_url: str | None  # only for staff, and for enrolled learners from the opening time
    join_opens_at: dt.datetime
    recording_url: str | None
    geofence: bool
    attendance: str | None = None  # the caller's own status (learners)


class ScheduleUpdate(BaseModel):
    """A run's own times/place (PUT ?run_id=R) or the session's defaults (no run_id); times
    ISO 8601, without an offset in the institution's zone; a null field follows the default."""

    starts_at: str | None = Field(default=None, max_length=40)
    ends_at: str | None = Field(default=None, max_length=40)
    join_url: str | None = Field(default=None, max_length=2048)
    location: str | None = Field(default=None, max_length=500)
    recording_url: str | None = Field(default=None, max_length=2048)


class SessionUpdate(BaseModel):
    """PATCH of the session's defaults: any field given is changed (empty string clears)."""

    starts_at: str | None = Field(default=None, max_length=40)
    ends_at: str | None = Field(default=None, max_length=40)
    platform: Platform | None = None
    join_url: str | None = Field(default=None, max_length=2048)
    location: str | None = Field(default=None, max_length=500)
    recording_url: str | None = Field(default=None, max_length=2048)
    geo_lat: float | None = Field(default=None, ge=-90, le=90)
    geo_lon: float | None = Field(default=None, ge=-180, le=180)
    geo_radius_m: int | None = Field(default=None, ge=0, le=100_000)  # 0: geofence off


class QrRead(BaseModel):
    url: str
    expires_at: dt.datetime


class AttendanceRead(BaseModel):
    user_id: int
    name: str
    status: str | None
    method: str | None
    recorded_at: dt.datetime | None
    minutes: int | None = None


class AttendanceMark(BaseModel):
    user_id: int = Field(gt=0)
    status: AttendanceStatus
    note: str | None = Field(default=None, max_length=500)


class AttendanceBulk(BaseModel):
    """Mark the listed learners, or (`all_unmarked`) every learner without a record yet."""

    status: AttendanceStatus
    user_ids: list[int] = Field(default_factory=list, max_length=5000)
    all_unmarked: bool = False


class UnmatchedRead(BaseModel):
    id: int
    name: str
    email: str | None
    minutes: int


class ImportResult(BaseModel):
    matched: int
    unmatched: list[UnmatchedRead]


class Resolve(BaseModel):
    """Give an unmatched report row to a learner of the run, or ignore it (user_id null)."""

    user_id: int | None = Field(default=None, gt=0)


class MarkResult(BaseModel):
    marked: int


class CalendarLink(BaseModel):
    url: str
