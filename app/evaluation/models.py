"""Tables for the post-course survey (evaluasi penyelenggaraan) and the RTL of an enrolment."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow


class SurveyQuestion(Base):
    """One survey item: a Likert statement (1..5) or a free-text question.

    `course_id` None is the institution's default set, used by courses without their own.
    `target` "instructor" items are asked once per instructor of the run.
    """

    __tablename__ = "survey_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int | None] = mapped_column(
        ForeignKey("course.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # likert | text
    target: Mapped[str] = mapped_column(String(16), default="course")  # course | instructor
    text: Mapped[str] = mapped_column(String(1000))
    required: Mapped[bool] = mapped_column(Boolean, default=True)


class SurveyResponse(Base):
    """A learner's answers for one run, sent once (JSON: [{question_id, instructor?, value}])."""

    __tablename__ = "survey_response"

    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolment.id", ondelete="CASCADE"), primary_key=True
    )
    run_id: Mapped[int] = mapped_column(ForeignKey("course_run.id", ondelete="CASCADE"), index=True)
    answers_json: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Rtl(Base):
    """Rencana tindak lanjut: the learner's follow-up plan, kept with the enrolment."""

    __tablename__ = "rtl"

    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolment.id", ondelete="CASCADE"), primary_key=True
    )
    plan: Mapped[str] = mapped_column(Text)
    target_date: Mapped[dt.date]
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
