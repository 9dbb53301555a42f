"""All SQL of live sessions: sessions and per-run schedules, attendance rows, unmatched report
rows and calendar keys."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.courses.models import Activity, Course, Enrolment, Run
from app.live.models import (
    Attendance,
    CalendarKey,
    LiveSchedule,
    LiveSession,
    UnmatchedParticipant,
)

MEMBER_STATUSES = ("active", "completed")


def add(session: Session, obj: object) -> None:
    session.add(obj)
    session.flush()


# --- sessions and schedules ---------------------------------------------------------------------


def get_live(session: Session, activity_id: int) -> LiveSession | None:
    return session.get(LiveSession, activity_id)


def get_schedule(session: Session, activity_id: int, run_id: int) -> LiveSchedule | None:
    return session.scalar(
        select(LiveSchedule).where(
            LiveSchedule.activity_id == activity_id, LiveSchedule.run_id == run_id
        )
    )


def sessions_of_runs(
    session: Session, run_ids: Collection[int]
) -> list[tuple[int, str, Activity, LiveSession, LiveSchedule | None]]:
    """(run id, course title, activity, session, the run's own schedule or None) of every visible
    live session of the runs' courses, in one query."""
    if not run_ids:
        return []
    query = (
        select(Run.id, Course.title, Activity, LiveSession, LiveSchedule)
        .join(Course, Course.id == Run.course_id)
        .join(Activity, Activity.course_id == Run.course_id)
        .join(LiveSession, LiveSession.activity_id == Activity.id)
        .outerjoin(
            LiveSchedule,
            (LiveSchedule.activity_id == Activity.id) & (LiveSchedule.run_id == Run.id),
        )
        .where(Run.id.in_(list(run_ids)), Activity.hidden.is_(False))
        .order_by(LiveSession.starts_at, Activity.id, Run.id)
    )
    return [(int(r), str(t), a, live, own) for r, t, a, live, own in session.execute(query)]


def runs_of_course(session: Session, course_id: int) -> list[int]:
    return list(session.scalars(select(Run.id).where(Run.course_id == course_id)))


def run_names(session: Session, run_ids: Collection[int]) -> list[tuple[int, str]]:
    """(id, name) of the runs, by start."""
    if not run_ids:
        return []
    rows = session.execute(
        select(Run.id, Run.name).where(Run.id.in_(list(run_ids))).order_by(Run.starts_on, Run.id)
    )
    return [(int(i), str(n)) for i, n in rows]


def learner_run_ids(session: Session, user_id: int) -> list[int]:
    """The runs the user is an active or completed learner of."""
    return list(
        session.scalars(
            select(Enrolment.run_id).where(
                Enrolment.user_id == user_id, Enrolment.status.in_(MEMBER_STATUSES)
            )
        )
    )


def enrolment_in_course(session: Session, course_id: int, user_id: int) -> Enrolment | None:
    """The user's active or completed enrolment in some run of the course (newest first)."""
    return session.scalar(
        select(Enrolment)
        .join(Run, Run.id == Enrolment.run_id)
        .where(
            Run.course_id == course_id,
            Enrolment.user_id == user_id,
            Enrolment.status.in_(MEMBER_STATUSES),
        )
        .order_by(Enrolment.id.desc())
        .limit(1)
    )


def members(session: Session, run_id: int) -> list[tuple[int, int, str, str | None, str | None]]:
    """(enrolment id, user id, name, e-mail, NIP) of the run's learners, by name."""
    rows = session.execute(
        select(Enrolment.id, User.id, User.name, User.email, User.nip)
        .join(User, User.id == Enrolment.user_id)
        .where(Enrolment.run_id == run_id, Enrolment.status.in_(MEMBER_STATUSES))
        .order_by(User.name, User.id)
    )
    return [(int(e), int(u), str(n), m, nip) for e, u, n, m, nip in rows]


# --- attendance ---------------------------------------------------------------------------------


def _insert(session: Session) -> Any:
    return postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def insert_attendance(session: Session, values: dict[str, Any]) -> bool:
    """A new attendance row unless the learner has one for the session (one statement, safe
    under concurrent scans); True when this call wrote it."""
    statement = (
        _insert(session)(Attendance)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["activity_id", "enrolment_id"])
        .returning(Attendance.id)
    )
    return session.execute(statement).scalar() is not None


def get_attendance(session: Session, activity_id: int, enrolment_id: int) -> Attendance | None:
    return session.scalar(
        select(Attendance).where(
            Attendance.activity_id == activity_id, Attendance.enrolment_id == enrolment_id
        )
    )


def attendance_of_run(session: Session, activity_id: int, run_id: int) -> dict[int, Attendance]:
    """Enrolment id -> attendance row, for one session and run."""
    rows = session.scalars(
        select(Attendance)
        .join(Enrolment, Enrolment.id == Attendance.enrolment_id)
        .where(Attendance.activity_id == activity_id, Enrolment.run_id == run_id)
    )
    return {a.enrolment_id: a for a in rows}


def attended_count(session: Session, activity_id: int, run_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Attendance)
            .join(Enrolment, Enrolment.id == Attendance.enrolment_id)
            .where(
                Attendance.activity_id == activity_id,
                Enrolment.run_id == run_id,
                Attendance.status.in_(("present", "late")),
            )
        )
        or 0
    )


def attendance_rows_of_run(
    session: Session, run_id: int, user_id: int | None = None
) -> list[tuple[int, int, str, int | None]]:
    """(user id, activity id, status, minutes) of every attendance row of the run's learners."""
    query = (
        select(Enrolment.user_id, Attendance.activity_id, Attendance.status, Attendance.minutes)
        .join(Enrolment, Enrolment.id == Attendance.enrolment_id)
        .where(Enrolment.run_id == run_id)
    )
    if user_id is not None:
        query = query.where(Enrolment.user_id == user_id)
    return [(int(u), int(a), str(s), m) for u, a, s, m in session.execute(query)]


# --- unmatched report rows ----------------------------------------------------------------------


def unmatched(session: Session, activity_id: int, run_id: int) -> list[UnmatchedParticipant]:
    return list(
        session.scalars(
            select(UnmatchedParticipant)
            .where(
                UnmatchedParticipant.activity_id == activity_id,
                UnmatchedParticipant.run_id == run_id,
                UnmatchedParticipant.state == "open",
            )
            .order_by(UnmatchedParticipant.name, UnmatchedParticipant.id)
        )
    )


def get_unmatched(session: Session, row_id: int) -> UnmatchedParticipant | None:
    return session.get(UnmatchedParticipant, row_id)


def clear_open_unmatched(session: Session, activity_id: int, run_id: int) -> None:
    """A new import of the same session replaces the rows still waiting for review."""
    session.execute(
        delete(UnmatchedParticipant).where(
            UnmatchedParticipant.activity_id == activity_id,
            UnmatchedParticipant.run_id == run_id,
            UnmatchedParticipant.state == "open",
        )
    )


def add_all(session: Session, objs: Sequence[object]) -> None:
    session.add_all(objs)
    session.flush()


# --- calendar keys ------------------------------------------------------------------------------


def calendar_key_of(session: Session, user_id: int) -> CalendarKey | None:
    return session.get(CalendarKey, user_id)


def user_by_calendar_key(session: Session, key: str) -> int | None:
    found = session.scalar(select(CalendarKey.user_id).where(CalendarKey.key == key))
    return int(found) if found is not None else None


def set_calendar_key(session: Session, user_id: int, key: str, now: dt.datetime) -> None:
    changed = session.execute(
        update(CalendarKey)
        .where(CalendarKey.user_id == user_id)
        .values(key=key, created_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(changed, "rowcount", 0):
        add(session, CalendarKey(user_id=user_id, key=key, created_at=now))
