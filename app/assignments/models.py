"""Tables of the assignments domain: an assignment's settings (one row per assignment activity),
rubrics (criteria x levels), learners' uploads and submissions (every version), grades, releases."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, TimestampMixin, utcnow


class Rubric(TimestampMixin, Base):
    """A marking scheme reusable across courses (the rubric library)."""

    __tablename__ = "rubric"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)


class RubricCriterion(Base):
    """One row of a rubric; its points are those of the level the grader picks."""

    __tablename__ = "rubric_criterion"

    id: Mapped[int] = mapped_column(primary_key=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubric.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)


class RubricLevel(Base):
    """One cell of a rubric: a level of a criterion with its points and description."""

    __tablename__ = "rubric_level"

    id: Mapped[int] = mapped_column(primary_key=True)
    criterion_id: Mapped[int] = mapped_column(
        ForeignKey("rubric_criterion.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    points: Mapped[float] = mapped_column(Float)


class Assignment(Base):
    """The settings of an assignment activity (kind "assignment")."""

    __tablename__ = "assignment"

    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True
    )
    instructions_md: Mapped[str] = mapped_column(Text, default="")
    opens_at: Mapped[dt.datetime | None]
    due_at: Mapped[dt.datetime]
    cutoff_at: Mapped[dt.datetime | None]
    late_policy: Mapped[str] = mapped_column(String(16), default="accept")  # accept | refuse
    max_files: Mapped[int] = mapped_column(Integer, default=1)
    max_file_mb: Mapped[int] = mapped_column(Integer, default=20)
    allowed_types: Mapped[str | None] = mapped_column(String(500))  # "pdf,docx"; None: any
    online_text: Mapped[bool] = mapped_column(Boolean, default=False)
    # With a rubric, max_points is the rubric's best total when the assignment was set up.
    max_points: Mapped[float] = mapped_column(Float, default=100.0)
    rubric_id: Mapped[int | None] = mapped_column(
        ForeignKey("rubric.id", ondelete="RESTRICT"), index=True
    )
    pass_points: Mapped[float | None] = mapped_column(Float)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    resubmit_after_grading: Mapped[bool] = mapped_column(Boolean, default=False)


class AssignmentGrader(Base):
    """The grader group: when an assignment has one, only these staff grade it (plus managers
    and the run's facilitators)."""

    __tablename__ = "assignment_grader"

    activity_id: Mapped[int] = mapped_column(
        ForeignKey("assignment.activity_id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )


class AssignmentUpload(Base):
    """A file a learner uploaded for an assignment: proof that the file id is theirs."""

    __tablename__ = "assignment_upload"
    __table_args__ = (Index("ix_assignment_upload_user_file", "user_id", "file_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    file_id: Mapped[int] = mapped_column(ForeignKey("content_file.id", ondelete="RESTRICT"))
    filename: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Submission(TimestampMixin, Base):
    """One version of a learner's work in a run. status: draft -> submitted -> graded; an
    older version becomes superseded when a newer one is submitted (every version is kept)."""

    __tablename__ = "submission"
    __table_args__ = (
        UniqueConstraint("activity_id", "run_id", "user_id", "version"),
        Index("ix_submission_queue", "activity_id", "run_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(ForeignKey("course_run.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    text: Mapped[str | None] = mapped_column(Text)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[dt.datetime | None]
    points: Mapped[float | None] = mapped_column(Float)
    max_points: Mapped[float | None] = mapped_column(Float)
    feedback: Mapped[str | None] = mapped_column(Text)
    graded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    graded_at: Mapped[dt.datetime | None]


class SubmissionFile(Base):
    """A file of a submission: the learner's work, or a grader's feedback file."""

    __tablename__ = "submission_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), index=True
    )
    file_id: Mapped[int] = mapped_column(ForeignKey("content_file.id", ondelete="RESTRICT"))
    filename: Mapped[str] = mapped_column(String(255))
    feedback: Mapped[bool] = mapped_column(Boolean, default=False)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(127))


class RubricScore(Base):
    """The level a grader picked for one criterion of a graded submission."""

    __tablename__ = "rubric_score"

    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), primary_key=True
    )
    criterion_id: Mapped[int] = mapped_column(
        ForeignKey("rubric_criterion.id", ondelete="RESTRICT"), primary_key=True
    )
    level_id: Mapped[int] = mapped_column(ForeignKey("rubric_level.id", ondelete="RESTRICT"))
    points: Mapped[float] = mapped_column(Float)


class GradeRelease(Base):
    """The facilitator released the run's grades of the assignment: learners see them."""

    __tablename__ = "grade_release"

    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True
    )
    run_id: Mapped[int] = mapped_column(
        ForeignKey("course_run.id", ondelete="CASCADE"), primary_key=True
    )
    released_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    released_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
