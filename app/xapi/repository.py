"""All SQL of the xAPI domain: the facts a statement names (learner, enrolment, activity,
certificate, mentoring session) and the xAPI items of the outbox (counts, resend, revival)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from app.accounts.models import Opd, User
from app.certificates.models import Certificate
from app.courses.models import Activity, Course, Enrolment, Run
from app.mentoring.models import MentoringAssignment, MentoringSession
from app.outbox.models import OutboxItem
from app.progress.models import ActivityProgress
from app.xapi.constants import TOPIC
from app.xapi.statements import Learner, Place, Thing

REJECTED = "rejected: "  # last_error prefix of statements the LRS refused (never revived)


def _learner(row: Any) -> Learner:
    return Learner(user_id=row.user_id, nip=row.nip, opd_code=row.opd_code,
                   opd_name=row.opd_name)  # fmt: skip


def learner(session: Session, user_id: int) -> Learner | None:
    row = session.execute(
        select(User.id.label("user_id"), User.nip, Opd.code.label("opd_code"),
               Opd.name.label("opd_name"))
        .outerjoin(Opd, Opd.id == User.opd_id)
        .where(User.id == user_id)
    ).first()  # fmt: skip
    return _learner(row) if row else None


def enrolment(session: Session, enrolment_id: int) -> tuple[Learner, Place] | None:
    """The learner and the place of an enrolment, in one query."""
    row = session.execute(
        select(Enrolment.id, Enrolment.user_id, User.nip, Opd.code.label("opd_code"),
               Opd.name.label("opd_name"), Run.id.label("run_id"), Run.name.label("run_name"),
               Course.id.label("course_id"), Course.title.label("course_title"))
        .join(User, User.id == Enrolment.user_id)
        .outerjoin(Opd, Opd.id == User.opd_id)
        .join(Run, Run.id == Enrolment.run_id)
        .join(Course, Course.id == Run.course_id)
        .where(Enrolment.id == enrolment_id)
    ).first()  # fmt: skip
    if row is None:
        return None
    place = Place(enrolment_id=row.id, run_id=row.run_id, run_name=row.run_name,
                  course_id=row.course_id, course_title=row.course_title)  # fmt: skip
    return _learner(row), place


def activity(session: Session, activity_id: int) -> Thing | None:
    row = session.execute(
        select(Activity.id, Activity.title, Activity.kind).where(Activity.id == activity_id)
    ).first()
    return Thing(id=row.id, title=row.title, kind=row.kind) if row else None


def course_percent(session: Session, enrolment_id: int, course_id: int) -> int:
    """Share of the course's required, visible activities the enrolment completed (0-100)."""
    done = and_(ActivityProgress.activity_id == Activity.id,
                ActivityProgress.enrolment_id == enrolment_id,
                ActivityProgress.status == "completed")  # fmt: skip
    row = session.execute(
        select(func.count(Activity.id), func.count(ActivityProgress.id))
        .select_from(Activity)
        .outerjoin(ActivityProgress, done)
        .where(Activity.course_id == course_id, Activity.required.is_(True),
               Activity.hidden.is_(False))
    ).one()  # fmt: skip
    total, completed = int(row[0] or 0), int(row[1] or 0)
    return 100 if total == 0 else int(completed * 100 / total)


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    thing: Thing
    number: str
    jp: float
    enrolment_id: int
    user_id: int


def certificate(session: Session, certificate_id: int) -> CertificateFacts | None:
    row = session.execute(
        select(Certificate.id, Certificate.number, Certificate.jp, Certificate.course_title,
               Certificate.enrolment_id, Certificate.user_id)
        .where(Certificate.id == certificate_id)
    ).first()  # fmt: skip
    if row is None:
        return None
    return CertificateFacts(Thing(row.id, row.course_title, "certificate"), row.number,
                            float(row.jp or 0), row.enrolment_id, row.user_id)  # fmt: skip


@dataclass(frozen=True, slots=True)
class MentoringFacts:
    thing: Thing
    competency: str
    assignment_id: int
    mentee_id: int


def mentoring_session(session: Session, session_id: int) -> MentoringFacts | None:
    row = session.execute(
        select(MentoringSession.id, MentoringSession.held_on, MentoringSession.assignment_id,
               MentoringAssignment.competency_code, MentoringAssignment.mentee_id)
        .join(MentoringAssignment, MentoringAssignment.id == MentoringSession.assignment_id)
        .where(MentoringSession.id == session_id)
    ).first()  # fmt: skip
    if row is None:
        return None
    title = f"Mentoring {row.competency_code} {row.held_on.isoformat()}"
    return MentoringFacts(Thing(row.id, title, "mentoring"), row.competency_code,
                          row.assignment_id, row.mentee_id)  # fmt: skip


# --- the xAPI items of the outbox -----------------------------------------------------------------


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(OutboxItem.state, func.count()).where(OutboxItem.topic == TOPIC)
        .group_by(OutboxItem.state)
    ).all()  # fmt: skip
    return {state: int(n) for state, n in rows}


def last_error(session: Session) -> tuple[str | None, dt.datetime | None]:
    """The most recent failure of a statement still waiting or dead, with its next attempt."""
    row = session.execute(
        select(OutboxItem.last_error, OutboxItem.next_attempt_at)
        .where(OutboxItem.topic == TOPIC, OutboxItem.state.in_(("pending", "dead")),
               OutboxItem.last_error.is_not(None))
        .order_by(OutboxItem.id.desc()).limit(1)
    ).first()  # fmt: skip
    return (row.last_error, row.next_attempt_at) if row else (None, None)


def last_sent_at(session: Session) -> dt.datetime | None:
    return session.scalar(
        select(func.max(OutboxItem.sent_at)).where(OutboxItem.topic == TOPIC,
                                                   OutboxItem.state == "sent")
    )  # fmt: skip


def requeue_since(session: Session, since: dt.datetime, now: dt.datetime) -> int:
    """Statements produced since `since` (sent, dead or cancelled) go out again."""
    result = session.execute(
        update(OutboxItem)
        .where(OutboxItem.topic == TOPIC, OutboxItem.created_at >= since,
               OutboxItem.state.in_(("sent", "dead", "cancelled")))
        .values(state="pending", attempts=0, next_attempt_at=now, locked_until=None,
                sent_at=None, last_error=None)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    return int(getattr(result, "rowcount", 0) or 0)


def revive_dead(session: Session, now: dt.datetime) -> int:
    """Dead statements that died of an unreachable LRS (not refused ones) get fresh attempts."""
    result = session.execute(
        update(OutboxItem)
        .where(OutboxItem.topic == TOPIC, OutboxItem.state == "dead",
               ~func.coalesce(OutboxItem.last_error, "").startswith(REJECTED))
        .values(state="pending", attempts=0, next_attempt_at=now, locked_until=None)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    return int(getattr(result, "rowcount", 0) or 0)
