"""All SQL of the assessment engine: bank, quizzes, attempts, answers, results."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.courses.models import Activity
from app.progress.models import ActivityProgress
from app.quizzes.models import (
    Attempt,
    AttemptAnswer,
    BankQuestion,
    QuestionCategory,
    QuestionVersion,
    Quiz,
    QuizAuditLog,
    QuizSlot,
)

FINISHED = ("graded", "needs_grading")


def add(session: Session, *objs: object) -> None:
    session.add_all(objs)
    session.flush()


# --- bank ---------------------------------------------------------------------------------------


def category(session: Session, course_id: int, name: str) -> QuestionCategory | None:
    return session.scalar(
        select(QuestionCategory).where(
            QuestionCategory.course_id == course_id, QuestionCategory.name == name
        )
    )


def categories_of(session: Session, course_id: int) -> Sequence[QuestionCategory]:
    return session.scalars(
        select(QuestionCategory)
        .where(QuestionCategory.course_id == course_id)
        .order_by(QuestionCategory.name)
    ).all()


def get_category(session: Session, category_id: int) -> QuestionCategory | None:
    return session.get(QuestionCategory, category_id)


def get_question(session: Session, question_id: int) -> BankQuestion | None:
    return session.get(BankQuestion, question_id)


def current_version(session: Session, question: BankQuestion) -> QuestionVersion:
    version = session.scalar(
        select(QuestionVersion).where(
            QuestionVersion.question_id == question.id,
            QuestionVersion.version == question.current_version,
        )
    )
    assert version is not None
    return version


def current_versions(
    session: Session, question_ids: Iterable[int]
) -> dict[int, tuple[QuestionVersion, str]]:
    """question id -> (its current version, its category's name), in one query."""
    ids = list(question_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(QuestionVersion, QuestionCategory.name)
        .join(BankQuestion, BankQuestion.id == QuestionVersion.question_id)
        .join(QuestionCategory, QuestionCategory.id == BankQuestion.category_id)
        .where(
            BankQuestion.id.in_(ids),
            QuestionVersion.version == BankQuestion.current_version,
        )
    ).all()
    return {v.question_id: (v, name) for v, name in rows}


def versions_by_id(session: Session, version_ids: Iterable[int]) -> dict[int, QuestionVersion]:
    ids = list(set(version_ids))
    if not ids:
        return {}
    rows = session.scalars(select(QuestionVersion).where(QuestionVersion.id.in_(ids))).all()
    return {v.id: v for v in rows}


def mark_versions_used(session: Session, version_ids: Iterable[int]) -> None:
    ids = list(set(version_ids))
    if ids:
        session.execute(
            update(QuestionVersion)
            .where(QuestionVersion.id.in_(ids), QuestionVersion.used.is_(False))
            .values(used=True)
        )


def questions_in_category(session: Session, category_id: int) -> list[int]:
    return list(
        session.scalars(
            select(BankQuestion.id)
            .where(BankQuestion.category_id == category_id, BankQuestion.archived.is_(False))
            .order_by(BankQuestion.id)
        )
    )


# --- quizzes ------------------------------------------------------------------------------------


def get_quiz(session: Session, quiz_id: int) -> Quiz | None:
    return session.get(Quiz, quiz_id)


def quiz_for_activity(session: Session, activity_id: int) -> Quiz | None:
    return session.scalar(select(Quiz).where(Quiz.activity_id == activity_id))


def quizzes_of_course(session: Session, course_id: int) -> Sequence[Quiz]:
    return session.scalars(select(Quiz).where(Quiz.course_id == course_id).order_by(Quiz.id)).all()


def slots_of(session: Session, quiz_id: int) -> Sequence[QuizSlot]:
    return session.scalars(
        select(QuizSlot).where(QuizSlot.quiz_id == quiz_id).order_by(QuizSlot.position)
    ).all()


def next_slot_position(session: Session, quiz_id: int) -> int:
    last = session.scalar(select(func.max(QuizSlot.position)).where(QuizSlot.quiz_id == quiz_id))
    return (last or 0) + 1


def slot_for_question(session: Session, quiz_id: int, question_id: int) -> QuizSlot | None:
    return session.scalar(
        select(QuizSlot).where(QuizSlot.quiz_id == quiz_id, QuizSlot.question_id == question_id)
    )


# --- attempts -----------------------------------------------------------------------------------


def get_attempt(session: Session, attempt_id: int) -> Attempt | None:
    return session.get(Attempt, attempt_id)


def attempts_of(session: Session, quiz_id: int, user_id: int) -> Sequence[Attempt]:
    return session.scalars(
        select(Attempt)
        .where(Attempt.quiz_id == quiz_id, Attempt.user_id == user_id)
        .order_by(Attempt.number)
    ).all()


def attempts_of_users(
    session: Session, quiz_ids: Sequence[int], user_ids: Sequence[int]
) -> Sequence[Attempt]:
    if not quiz_ids or not user_ids:
        return []
    return session.scalars(
        select(Attempt)
        .where(
            Attempt.quiz_id.in_(quiz_ids),
            Attempt.user_id.in_(user_ids),
            Attempt.preview.is_(False),
        )
        .order_by(Attempt.user_id, Attempt.number)
    ).all()


def in_progress_attempt(session: Session, quiz_id: int, user_id: int) -> Attempt | None:
    return session.scalar(
        select(Attempt).where(
            Attempt.quiz_id == quiz_id,
            Attempt.user_id == user_id,
            Attempt.state == "in_progress",
        )
    )


def claim(
    session: Session, attempt_id: int, values: dict[str, Any], *, before: dt.datetime | None
) -> bool:
    """Move an open attempt on, atomically: True for the one caller that did it.

    The UPDATE takes the row (PostgreSQL) or database (SQLite) write lock first, so a second
    submit waits for the first to commit and then finds nothing to claim.
    """
    params = {f"v_{name}": value for name, value in values.items()}
    if before is None:
        query = _attempt_update(tuple(values), expired=False)
    else:  # only attempts whose deadline (plus grace) is over
        query, params["before"] = _attempt_update(tuple(values), expired=True), before
    result = session.execute(query, {"attempt_id": attempt_id, **params})
    return bool(result.rowcount)  # type: ignore[attr-defined]


_ATTEMPTS = cast(Table, Attempt.__table__)


@functools.cache
def _attempt_update(columns: tuple[str, ...], *, expired: bool | None) -> Any:
    """A Core UPDATE of one attempt setting `columns` from bound parameters `v_<column>`, built
    once per set of columns (no ORM bulk-update path, no cache key per call): `expired` None
    for any state, False for an open attempt, True for an open one past `before`."""
    t = _ATTEMPTS
    query = update(t).where(t.c.id == bindparam("attempt_id"))
    if expired is not None:
        query = query.where(t.c.state == "in_progress")
    if expired:
        query = query.where(t.c.deadline.is_not(None), t.c.deadline < bindparam("before"))
    return query.values({name: bindparam(f"v_{name}") for name in columns})


class GradingFacts(NamedTuple):
    """An attempt with what grading it needs: its quiz's rules, the quiz activity's completion
    rule and the learner's progress status there (None: no row yet)."""

    id: int
    user_id: int
    enrolment_id: int | None
    preview: bool
    state: str
    deadline: dt.datetime | None
    layout_json: str
    quiz_id: int
    activity_id: int
    kind: str
    grading: str
    pass_score: float
    completion_rule: str
    progress_status: str | None


# One read for a submit: the attempt, its quiz, the activity's rule and the progress row's
# status (the progress and activity tables are read here only to save the submit two queries).
_GRADING_FACTS = (
    select(
        Attempt.id, Attempt.user_id, Attempt.enrolment_id, Attempt.preview, Attempt.state,
        Attempt.deadline, Attempt.layout_json, Attempt.quiz_id, Quiz.activity_id, Quiz.kind,
        Quiz.grading, Quiz.pass_score, Activity.completion_rule, ActivityProgress.status,
    )
    .join(Quiz, Quiz.id == Attempt.quiz_id)
    .join(Activity, Activity.id == Quiz.activity_id)
    .outerjoin(
        ActivityProgress,
        (ActivityProgress.enrolment_id == Attempt.enrolment_id)
        & (ActivityProgress.activity_id == Quiz.activity_id),
    )
    .where(Attempt.id == bindparam("attempt_id"))
)  # fmt: skip


def grading_facts(session: Session, attempt_id: int) -> GradingFacts | None:
    row = session.execute(_GRADING_FACTS, {"attempt_id": attempt_id}).first()
    return GradingFacts._make(row) if row is not None else None


def store_grade(session: Session, attempt_id: int, values: dict[str, Any]) -> None:
    """Write a grade's columns with one UPDATE, without the unit of work."""
    params = {f"v_{name}": value for name, value in values.items()}
    session.execute(_attempt_update(tuple(values), expired=None), {"attempt_id": attempt_id, **params})


class AnswerTarget(NamedTuple):
    """What autosave needs of an attempt (sequential None: not read yet)."""

    id: int
    user_id: int
    deadline: dt.datetime | None
    furthest_position: int
    layout_json: str
    sequential: bool | None


_ANSWER_TARGET = (
    select(
        Attempt.id, Attempt.user_id, Attempt.deadline, Attempt.furthest_position,
        Attempt.layout_json, Quiz.sequential,
    )
    .join(Quiz, Quiz.id == Attempt.quiz_id)
    .where(Attempt.id == bindparam("attempt_id"))
)  # fmt: skip


def answer_target(session: Session, attempt_id: int) -> AnswerTarget | None:
    row = session.execute(_ANSWER_TARGET, {"attempt_id": attempt_id}).first()
    return AnswerTarget._make(row) if row is not None else None


class StoredResult(NamedTuple):
    id: int
    state: str
    score: float | None
    max_score: float | None
    percent: float | None
    passed: bool | None


def stored_result(session: Session, attempt_id: int) -> StoredResult:
    """The result another request stored (a repeated or concurrent submit returns it)."""
    row = session.execute(
        select(
            Attempt.id,
            Attempt.state,
            Attempt.score,
            Attempt.max_score,
            Attempt.percent,
            Attempt.passed,
        ).where(Attempt.id == attempt_id)
    ).one()
    return StoredResult._make(row)


def touch_open(
    session: Session,
    attempt_id: int,
    now: dt.datetime,
    not_after: dt.datetime,
    furthest: int | None,
) -> bool:
    """Lock an open attempt whose deadline (plus grace, `not_after` = now - grace) has not passed,
    for saving answers; False when it is closed."""
    query = update(Attempt).where(
        Attempt.id == attempt_id,
        Attempt.state == "in_progress",
        (Attempt.deadline.is_(None)) | (Attempt.deadline >= not_after),
    )
    values: dict[str, Any] = {"last_saved_at": now}
    if furthest is not None:
        values["furthest_position"] = case(
            (Attempt.furthest_position < furthest, furthest), else_=Attempt.furthest_position
        )
    result = session.execute(query.values(**values).execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def expired_attempt_ids(session: Session, before: dt.datetime, limit: int) -> list[int]:
    return list(
        session.scalars(
            select(Attempt.id)
            .where(Attempt.state == "in_progress", Attempt.deadline < before)
            .order_by(Attempt.deadline)
            .limit(limit)
        )
    )


def answers_of(session: Session, attempt_id: int) -> Sequence[AttemptAnswer]:
    return session.scalars(
        select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt_id)
    ).all()


class ResponseRow(NamedTuple):
    response_json: str
    manual_points: float | None


def responses_of(session: Session, attempt_id: int) -> dict[int, ResponseRow]:
    """question id -> saved response (plain rows: grading reads 50 of them per submit)."""
    rows = session.execute(_RESPONSES, {"attempt_id": attempt_id}).all()
    return {qid: ResponseRow(text, points) for qid, text, points in rows}


_RESPONSES = select(
    AttemptAnswer.question_id, AttemptAnswer.response_json, AttemptAnswer.manual_points
).where(AttemptAnswer.attempt_id == bindparam("attempt_id"))


def mark_loaded(attempt: Attempt, values: dict[str, Any]) -> None:
    """Tell the session an UPDATE already wrote these values (no reload, no second write)."""
    for name, value in values.items():
        set_committed_value(attempt, name, value)


_ANSWER_TABLE = cast(Table, AttemptAnswer.__table__)
_upsert_once: dict[str, Any] = {}


def _upsert_statement(dialect: str) -> Any:
    """INSERT … ON CONFLICT (attempt, question) DO UPDATE on the table (Core, not the ORM's
    bulk insert), built once per dialect."""
    statement = _upsert_once.get(dialect)
    if statement is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(_ANSWER_TABLE)
        statement = _upsert_once[dialect] = stmt.on_conflict_do_update(
            index_elements=["attempt_id", "question_id"],
            set_={"response_json": stmt.excluded.response_json, "saved_at": stmt.excluded.saved_at},
        )
    return statement


def upsert_answers(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert or replace responses per (attempt, question): last write wins."""
    if not rows:
        return
    session.execute(_upsert_statement(session.get_bind().dialect.name), rows)


def get_answer(session: Session, attempt_id: int, question_id: int) -> AttemptAnswer | None:
    return session.scalar(
        select(AttemptAnswer).where(
            AttemptAnswer.attempt_id == attempt_id, AttemptAnswer.question_id == question_id
        )
    )


def attempts_of_quiz(session: Session, quiz_id: int, run_id: int | None) -> Sequence[Attempt]:
    query = select(Attempt).where(Attempt.quiz_id == quiz_id, Attempt.preview.is_(False))
    if run_id is not None:
        query = query.where(Attempt.run_id == run_id)
    return session.scalars(query.order_by(Attempt.user_id, Attempt.number)).all()


def attempts_using_versions(session: Session, quiz_ids: Sequence[int]) -> Sequence[Attempt]:
    """Finished attempts of these quizzes (the caller checks which used the old version)."""
    if not quiz_ids:
        return []
    return session.scalars(
        select(Attempt).where(Attempt.quiz_id.in_(quiz_ids), Attempt.state.in_(FINISHED))
    ).all()


def log(session: Session, entry: QuizAuditLog) -> None:
    session.add(entry)


CHUNK = 900  # ids per IN list: SQLite's bound-parameter limit is 999 on older builds


def quizzes_of_activities(session: Session, activity_ids: Sequence[int]) -> list[Quiz]:
    """The quizzes of these activities (one query per CHUNK ids; an activity still being made
    may have none yet)."""
    ids = list(activity_ids)
    found: list[Quiz] = []
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        found.extend(session.scalars(select(Quiz).where(Quiz.activity_id.in_(part))))
    return found
