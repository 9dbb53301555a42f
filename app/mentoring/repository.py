"""All SQL for mentoring assignments and their sessions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from app.accounts.models import Opd, User, UserRole
from app.courses.models import ContentFile
from app.mentoring.models import MentoringAssignment, MentoringSession

OPEN_STATUSES = ("active", "signed_off", "returned")


def add(session: Session, obj: object) -> None:
    session.add(obj)
    session.flush()


def add_all(session: Session, objs: Sequence[object]) -> None:
    session.add_all(objs)
    session.flush()


def get_assignment(
    session: Session, assignment_id: int, *, lock: bool = False
) -> MentoringAssignment | None:
    """One assignment; `lock` holds its row until commit (PostgreSQL) so two decisions on it
    run one after the other."""
    query = select(MentoringAssignment).where(MentoringAssignment.id == assignment_id)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def sessions_of(
    session: Session, assignment_ids: Collection[int]
) -> dict[int, list[MentoringSession]]:
    """The sessions of some assignments, oldest first, in one query."""
    found: dict[int, list[MentoringSession]] = {i: [] for i in assignment_ids}
    if not assignment_ids:
        return found
    rows = session.scalars(
        select(MentoringSession)
        .where(MentoringSession.assignment_id.in_(list(assignment_ids)))
        .order_by(MentoringSession.held_on, MentoringSession.id)
    )
    for row in rows:
        found[row.assignment_id].append(row)
    return found


def get_session(session: Session, assignment_id: int, session_id: int) -> MentoringSession | None:
    return session.scalar(
        select(MentoringSession).where(
            MentoringSession.id == session_id, MentoringSession.assignment_id == assignment_id
        )
    )


def delete(session: Session, obj: object) -> None:
    session.delete(obj)
    session.flush()


def get_file(session: Session, file_id: int) -> ContentFile | None:
    return session.get(ContentFile, file_id)


def open_pairs(
    session: Session, mentor_id: int, mentee_ids: Collection[int], competency_code: str
) -> set[int]:
    """Mentees who already have an open assignment with this mentor in this competency."""
    if not mentee_ids:
        return set()
    return set(
        session.scalars(
            select(MentoringAssignment.mentee_id).where(
                MentoringAssignment.mentor_id == mentor_id,
                MentoringAssignment.mentee_id.in_(list(mentee_ids)),
                MentoringAssignment.competency_code == competency_code,
                MentoringAssignment.status.in_(OPEN_STATUSES),
            )
        )
    )


def _filtered(
    query: Select[MentoringAssignment],
    *,
    user_id: int | None,
    role: str | None,
    status: str | None,
    competency_code: str | None,
    opd_code: str | None,
    q: str | None,
    mentor_id: int | None,
) -> Select[MentoringAssignment]:
    if user_id is not None:  # a non-staff caller: only assignments they are part of
        if role == "mentor":
            query = query.where(MentoringAssignment.mentor_id == user_id)
        elif role == "mentee":
            query = query.where(MentoringAssignment.mentee_id == user_id)
        else:
            query = query.where(
                or_(
                    MentoringAssignment.mentor_id == user_id,
                    MentoringAssignment.mentee_id == user_id,
                )
            )
    if mentor_id is not None:
        query = query.where(MentoringAssignment.mentor_id == mentor_id)
    if status:
        query = query.where(MentoringAssignment.status == status)
    if competency_code:
        query = query.where(MentoringAssignment.competency_code == competency_code)
    if opd_code or q:
        query = query.join(User, User.id == MentoringAssignment.mentee_id)
        if opd_code:
            query = query.join(Opd, Opd.id == User.opd_id).where(Opd.code == opd_code)
        if q:
            pattern = f"%{q.lower()}%"
            query = query.where(or_(func.lower(User.name).like(pattern), User.nip.like(pattern)))
    return query


def list_assignments(
    session: Session,
    *,
    user_id: int | None = None,
    role: str | None = None,
    status: str | None = None,
    competency_code: str | None = None,
    opd_code: str | None = None,
    q: str | None = None,
    mentor_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[int, Sequence[MentoringAssignment]]:
    """A page of assignments (newest first) and the count of all that match."""
    base = _filtered(
        select(MentoringAssignment), user_id=user_id, role=role, status=status,
        competency_code=competency_code, opd_code=opd_code, q=q, mentor_id=mentor_id,
    )  # fmt: skip
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.scalars(
        base.order_by(MentoringAssignment.id.desc()).offset(offset).limit(limit)
    ).all()
    return int(total), rows


def verified_with_sessions_in(session: Session, year: int) -> Sequence[MentoringAssignment]:
    """Verified assignments with at least one session held in `year`."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    has_session = (
        select(MentoringSession.id)
        .where(
            MentoringSession.assignment_id == MentoringAssignment.id,
            MentoringSession.held_on.between(first, last),
        )
        .exists()
    )
    return session.scalars(
        select(MentoringAssignment)
        .where(MentoringAssignment.status == "verified", has_session)
        .order_by(MentoringAssignment.id)
    ).all()


def mentor_options(session: Session, limit: int = 2000) -> list[tuple[int, str, str | None]]:
    """(id, name, OPD code) of active users holding the mentor role, by OPD then name."""
    rows = session.execute(
        select(User.id, User.name, Opd.code)
        .join(UserRole, UserRole.user_id == User.id)
        .outerjoin(Opd, Opd.id == User.opd_id)
        .where(UserRole.role == "mentor", User.is_active.is_(True))
        .order_by(Opd.code, User.name)
        .limit(limit)
    )
    return [(int(i), str(n), c) for i, n, c in rows]


def count_unconfirmed_for_mentee(session: Session, mentee_id: int, statuses: Sequence[str]) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(MentoringSession)
            .join(MentoringAssignment, MentoringAssignment.id == MentoringSession.assignment_id)
            .where(
                MentoringAssignment.mentee_id == mentee_id,
                MentoringAssignment.status.in_(list(statuses)),
                MentoringSession.mentee_confirmed_at.is_(None),
            )
        )
        or 0
    )


def count_assignments(
    session: Session, *, statuses: Sequence[str], mentor_id: int | None = None
) -> int:
    query = select(func.count()).select_from(MentoringAssignment)
    query = query.where(MentoringAssignment.status.in_(list(statuses)))
    if mentor_id is not None:
        query = query.where(MentoringAssignment.mentor_id == mentor_id)
    return int(session.scalar(query) or 0)
