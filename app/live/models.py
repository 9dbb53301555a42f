"""Tables of live sessions: the session's default schedule, per-run schedules, attendance, the
unmatched rows of an imported participant report, and each user's secret calendar key."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, TimestampMixin, utcnow


class LiveSession(TimestampMixin, Base):
    """A live_session activity's details: the default times and place every run follows unless
    it has its own schedule (LiveSchedule)."""

    __tablename__ = "live_session"

    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True
    )
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    platform: Mapped[str] = mapped_column(String(32))  # Platform
    join_url: Mapped[str | None] = mapped_column(String(2048))
    location: Mapped[str | None] = mapped_column(String(500))
    recording_url: Mapped[str | None] = mapped_column(String(2048))
    # Optional geofence for QR attendance (off when radius is None).
    geo_lat: Mapped[float | None] = mapped_column(Float)
    geo_lon: Mapped[float | None] = mapped_column(Float)
    geo_radius_m: Mapped[int | None] = mapped_column(Integer)


class LiveSchedule(Base):
    """One run's own times/place for a session (None fields follow the session's default)."""

    __tablename__ = "live_schedule"
    __table_args__ = (UniqueConstraint("activity_id", "run_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("live_session.activity_id", ondelete="CASCADE")
    )
    run_id: Mapped[int] = mapped_column(ForeignKey("course_run.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[dt.datetime | None]
    ends_at: Mapped[dt.datetime | None]
    join_url: Mapped[str | None] = mapped_column(String(2048))
    location: Mapped[str | None] = mapped_column(String(500))
    recording_url: Mapped[str | None] = mapped_column(String(2048))
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Attendance(Base):
    """A learner's attendance at one session: one row per (session, enrolment), ever."""

    __tablename__ = "attendance"
    __table_args__ = (
        UniqueConstraint("activity_id", "enrolment_id"),
        Index("ix_attendance_enrolment", "enrolment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"))
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))  # AttendanceStatus
    method: Mapped[str] = mapped_column(String(16))  # AttendanceMethod
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    minutes: Mapped[int | None] = mapped_column(Integer)  # from a participant report
    note: Mapped[str | None] = mapped_column(String(500))


class UnmatchedParticipant(Base):
    """A participant report row no learner of the run matched: waits for the facilitator to
    assign it to a learner or ignore it."""

    __tablename__ = "attendance_unmatched"
    __table_args__ = (Index("ix_attendance_unmatched_session", "activity_id", "run_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(ForeignKey("course_run.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    minutes: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="open")  # open, assigned, ignored
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class CalendarKey(Base):
    """The secret in a user's personal calendar feed URL; a new one replaces the old."""

    __tablename__ = "calendar_key"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
