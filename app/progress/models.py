"""Tables for per-activity progress of an enrolment and the SCORM 1.2 runtime data (cmi.core.*)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow


class ActivityProgress(Base):
    """One learner's state in one activity of a run: status, video position, timestamps."""

    __tablename__ = "activity_progress"
    __table_args__ = (UniqueConstraint("enrolment_id", "activity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolment.id", ondelete="CASCADE"), index=True
    )
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activity.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="not_started")
    position_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    watched_seconds: Mapped[float] = mapped_column(Float, default=0.0)  # total of watched_intervals
    watched_intervals: Mapped[str] = mapped_column(Text, default="[]")  # JSON [[start, end], ...]
    media_seconds: Mapped[float | None] = mapped_column(
        Float
    )  # the video's length as the player saw it
    # Time on task from heartbeats: each credits the real time since the previous one, never
    # more, and nothing after an idle gap (settings.idle_gap_seconds).
    time_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    first_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None]


class ScormTrack(Base):
    """SCORM 1.2 cmi data kept between launches (bookmark, status, score, time, suspend_data)."""

    __tablename__ = "scorm_track"
    __table_args__ = (UniqueConstraint("enrolment_id", "activity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolment.id", ondelete="CASCADE"), index=True
    )
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activity.id", ondelete="CASCADE"), index=True
    )
    lesson_status: Mapped[str] = mapped_column(String(16), default="not attempted")
    lesson_location: Mapped[str | None] = mapped_column(String(1024))
    score_raw: Mapped[float | None]
    score_min: Mapped[float | None]
    score_max: Mapped[float | None]
    total_time_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    suspend_data: Mapped[str | None] = mapped_column(Text)
    exit: Mapped[str | None] = mapped_column(String(16))
    launch_count: Mapped[int] = mapped_column(Integer, default=0)
    launches_json: Mapped[str] = mapped_column(Text, default="{}")  # launch id -> last commit mark
    # The package version this attempt runs on: a package replaced mid-run keeps the attempts
    # already begun on theirs (None: rows older than versioning, on the activity's package).
    package_id: Mapped[int | None] = mapped_column(
        ForeignKey("scorm_package.id", ondelete="SET NULL")
    )
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
