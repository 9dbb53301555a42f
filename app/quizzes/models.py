"""Tables of the assessment engine: the question bank with versions, quizzes, attempts, answers.

A bank question keeps its identity; its content lives in immutable versions once an attempt used
them. An attempt records at start which version and which order it shows (`layout_json`), so a
later edit never changes what a learner saw or how it was scored unless a regrade says so.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
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


class QuestionCategory(Base):
    """A folder of a course's question bank (GIFT `$CATEGORY:`); random draws pick from one."""

    __tablename__ = "question_category"
    __table_args__ = (UniqueConstraint("course_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))


class BankQuestion(TimestampMixin, Base):
    """A question's identity in the bank; `current_version` is what new attempts get."""

    __tablename__ = "bank_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("question_category.id", ondelete="RESTRICT"), index=True
    )
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class QuestionVersion(Base):
    """One version of a question's content. `content_json` holds the choices (with their opaque
    ids), accepted answers, numeric answers, pairs and feedback (see `bank.to_json`)."""

    __tablename__ = "question_version"
    __table_args__ = (UniqueConstraint("question_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("bank_question.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(255), default="")
    text: Mapped[str] = mapped_column(Text)
    text_format: Mapped[str] = mapped_column(String(16), default="plain")
    points: Mapped[float] = mapped_column(Float, default=1.0)
    content_json: Mapped[str] = mapped_column(Text)
    # Set when an attempt first shows this version: from then on it is never edited in place.
    used: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class Quiz(TimestampMixin, Base):
    """Settings of a quiz activity (one row per activity of kind "quiz")."""

    __tablename__ = "quiz"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activity.id", ondelete="CASCADE"), unique=True
    )
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # pretest, posttest, exercise
    intro_md: Mapped[str | None] = mapped_column(Text)
    open_at: Mapped[dt.datetime | None]
    close_at: Mapped[dt.datetime | None]
    time_limit_seconds: Mapped[int | None] = mapped_column(Integer)
    max_attempts: Mapped[int | None] = mapped_column(Integer)  # None: unlimited
    attempt_delay_seconds: Mapped[int] = mapped_column(Integer, default=0)
    grading: Mapped[str] = mapped_column(String(16), default="highest")
    shuffle_questions: Mapped[bool] = mapped_column(Boolean, default=False)
    shuffle_choices: Mapped[bool] = mapped_column(Boolean, default=True)
    questions_per_attempt: Mapped[int | None] = mapped_column(Integer)
    pass_score: Mapped[float] = mapped_column(Float, default=0.0)  # percent 0..100
    sequential: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the review shows each part: "after_submit", "after_close" or "never".
    review_correctness: Mapped[str] = mapped_column(String(16), default="after_submit")
    review_points: Mapped[str] = mapped_column(String(16), default="after_submit")
    review_feedback: Mapped[str] = mapped_column(String(16), default="after_submit")
    review_answers: Mapped[str] = mapped_column(String(16), default="after_close")


class QuizSlot(Base):
    """A place in a quiz: one fixed bank question, or `draw_count` questions drawn at random from
    a category when an attempt starts."""

    __tablename__ = "quiz_slot"

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quiz.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    question_id: Mapped[int | None] = mapped_column(
        ForeignKey("bank_question.id", ondelete="CASCADE"), index=True
    )
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("question_category.id", ondelete="CASCADE")
    )
    draw_count: Mapped[int] = mapped_column(Integer, default=1)


class Attempt(Base):
    """One learner's try at a quiz.

    `state`: in_progress -> graded | needs_grading (essays). `layout_json` lists the questions
    shown, in order: [{"q": question id, "v": version id, "c": [choice ids in shown order]}].
    `results_json` holds the per-question scores once graded. `(quiz_id, user_id, number)` is
    unique, which makes "attempts allowed" hold under concurrent starts.
    """

    __tablename__ = "quiz_attempt"
    __table_args__ = (
        UniqueConstraint("quiz_id", "user_id", "number"),
        Index("ix_quiz_attempt_state_deadline", "state", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quiz.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    enrolment_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrolment.id", ondelete="SET NULL"), index=True
    )
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_run.id", ondelete="SET NULL"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    preview: Mapped[bool] = mapped_column(Boolean, default=False)  # staff trying their quiz
    state: Mapped[str] = mapped_column(String(16), default="in_progress")
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    deadline: Mapped[dt.datetime | None]
    last_saved_at: Mapped[dt.datetime | None]
    # Sequential navigation: the furthest question shown; earlier ones cannot be changed.
    furthest_position: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[dt.datetime | None]
    auto_submitted: Mapped[bool] = mapped_column(Boolean, default=False)
    graded_at: Mapped[dt.datetime | None]
    score: Mapped[float | None]
    max_score: Mapped[float | None]
    percent: Mapped[float | None]
    passed: Mapped[bool | None]
    layout_json: Mapped[str] = mapped_column(Text)
    results_json: Mapped[str | None] = mapped_column(Text)


class AttemptAnswer(Base):
    """The saved response to one question of an attempt (autosave: last write wins), and for an
    essay the grader's points and comment."""

    __tablename__ = "quiz_attempt_answer"
    __table_args__ = (UniqueConstraint("attempt_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("quiz_attempt.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(Integer)
    response_json: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    manual_points: Mapped[float | None]
    grader_comment: Mapped[str | None] = mapped_column(Text)
    graded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    graded_at: Mapped[dt.datetime | None]


class QuizAuditLog(Base):
    """What changed a grade after the fact: a regrade after a key fix, an essay graded."""

    __tablename__ = "quiz_audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int | None] = mapped_column(
        ForeignKey("quiz.id", ondelete="CASCADE"), index=True
    )
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("quiz_attempt.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))  # regrade, essay_graded
    detail_json: Mapped[str] = mapped_column(Text, default="{}")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
