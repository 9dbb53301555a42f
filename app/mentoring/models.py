"""Tables for mentoring assignments (induksi) and the sessions a mentor logs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, TimestampMixin, utcnow


class MentoringAssignment(TimestampMixin, Base):
    """A mentor (usually the OPD leader) develops a mentee in one competency over a period.

    status: active -> signed_off (by the mentor) -> verified (JP credited) | returned (officer
    sent it back with a reason; the mentor may correct and sign off again) ; cancelled.
    """

    __tablename__ = "mentoring_assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), index=True
    )
    mentee_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    competency_code: Mapped[str] = mapped_column(String(64))
    goal: Mapped[str] = mapped_column(Text)
    planned_sessions: Mapped[int] = mapped_column(Integer)
    jp_per_session: Mapped[float] = mapped_column(Float)
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    signed_off_at: Mapped[dt.datetime | None]
    decided_at: Mapped[dt.datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    decision_reason: Mapped[str | None] = mapped_column(String(1000))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    sessions: Mapped[list[MentoringSession]] = relationship(
        lazy="raise", order_by="MentoringSession.held_on", cascade="all, delete-orphan"
    )


class MentoringSession(Base):
    """One mentoring meeting with GROW notes; counts once the mentee confirms it."""

    __tablename__ = "mentoring_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("mentoring_assignment.id", ondelete="CASCADE"), index=True
    )
    held_on: Mapped[dt.date]
    duration_minutes: Mapped[int] = mapped_column(Integer)
    goal: Mapped[str] = mapped_column(Text)
    reality: Mapped[str] = mapped_column(Text)
    options: Mapped[str] = mapped_column(Text)
    way_forward: Mapped[str] = mapped_column(Text)
    evidence_file_id: Mapped[int | None] = mapped_column(
        ForeignKey("content_file.id", ondelete="RESTRICT")
    )
    evidence_name: Mapped[str | None] = mapped_column(String(255))
    mentee_confirmed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
