"""All SQL for survey questions, survey responses and RTLs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from app.evaluation.models import Rtl, SurveyQuestion, SurveyResponse


def add(session: Session, obj: object) -> None:
    session.add(obj)
    session.flush()


def questions_of(session: Session, course_id: int | None) -> Sequence[SurveyQuestion]:
    """A course's own questions, or the institution's default set (`course_id` None)."""
    where = (
        SurveyQuestion.course_id.is_(None)
        if course_id is None
        else SurveyQuestion.course_id == course_id
    )
    return session.scalars(
        select(SurveyQuestion).where(where).order_by(SurveyQuestion.position, SurveyQuestion.id)
    ).all()


def lock_default_set(session: Session) -> None:
    """Serialise the first seeding of the default set between transactions (PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext('lms.survey_default'))"))


def delete_questions(session: Session, course_id: int | None) -> None:
    where = (
        SurveyQuestion.course_id.is_(None)
        if course_id is None
        else SurveyQuestion.course_id == course_id
    )
    session.execute(delete(SurveyQuestion).where(where))


def get_response(session: Session, enrolment_id: int) -> SurveyResponse | None:
    return session.get(SurveyResponse, enrolment_id)


def responses_of_run(session: Session, run_id: int) -> Sequence[SurveyResponse]:
    return session.scalars(
        select(SurveyResponse)
        .where(SurveyResponse.run_id == run_id)
        .order_by(SurveyResponse.submitted_at, SurveyResponse.enrolment_id)
    ).all()


def count_responses(session: Session, run_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(SurveyResponse).where(SurveyResponse.run_id == run_id)
        )
        or 0
    )


def get_rtl(session: Session, enrolment_id: int) -> Rtl | None:
    return session.get(Rtl, enrolment_id)


def surveyed(session: Session, enrolment_ids: Sequence[int]) -> set[int]:
    if not enrolment_ids:
        return set()
    return set(
        session.scalars(
            select(SurveyResponse.enrolment_id).where(
                SurveyResponse.enrolment_id.in_(list(enrolment_ids))
            )
        )
    )


def with_rtl(session: Session, enrolment_ids: Sequence[int]) -> set[int]:
    if not enrolment_ids:
        return set()
    return set(
        session.scalars(select(Rtl.enrolment_id).where(Rtl.enrolment_id.in_(list(enrolment_ids))))
    )
