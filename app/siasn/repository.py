"""All SQL of the SIASN push: the sync rows (written with the fact, claimed by the job with a
lease), the pnsOrangId cache, and the reads of the JP sources the payloads are made from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.siasn.constants import PENDING
from app.siasn.models import SiasnPerson, SiasnRecord


def insert_ignoring_duplicates(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """One sync row per (source, source_id): a second credit of the same source adds none."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(SiasnRecord).on_conflict_do_nothing(index_elements=["source", "source_id"])
    session.execute(stmt, list(rows))


def update_by_source(session: Session, source: str, source_ids: Sequence[int],
                     values: dict[str, Any]) -> int:  # fmt: skip
    result = session.execute(
        update(SiasnRecord)
        .where(SiasnRecord.source == source, SiasnRecord.source_id.in_(list(source_ids)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def by_source(session: Session, source: str, source_id: int) -> SiasnRecord | None:
    return session.scalar(
        select(SiasnRecord).where(SiasnRecord.source == source, SiasnRecord.source_id == source_id)
    )


def get(session: Session, record_id: int, *, lock: bool = False) -> SiasnRecord | None:
    stmt = select(SiasnRecord).where(SiasnRecord.id == record_id)
    return session.scalar(stmt.with_for_update() if lock else stmt)


def _due(now: dt.datetime) -> Any:
    return and_(
        SiasnRecord.state == PENDING,
        SiasnRecord.next_attempt_at <= now,
        or_(SiasnRecord.locked_until.is_(None), SiasnRecord.locked_until < now),
    )


def claim(session: Session, limit: int, now: dt.datetime, lease_until: dt.datetime) -> list[int]:
    """Lease up to `limit` due rows, atomically (PostgreSQL: SKIP LOCKED; SQLite: one writer):
    two jobs never push the same row at once."""
    picked = (
        select(SiasnRecord.id)
        .where(_due(now))
        .order_by(SiasnRecord.next_attempt_at, SiasnRecord.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("picked")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    ids = session.execute(
        update(SiasnRecord)
        .where(SiasnRecord.id.in_(select(picked.c.id)), _due(now))
        .values(locked_until=lease_until)
        .returning(SiasnRecord.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()  # fmt: skip
    return sorted(ids)


def update_many(session: Session, ids: Sequence[int], values: dict[str, Any]) -> None:
    if ids:
        session.execute(
            update(SiasnRecord)
            .where(SiasnRecord.id.in_(list(ids)))
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def bump_attempts(session: Session, ids: Sequence[int]) -> None:
    if ids:
        session.execute(
            update(SiasnRecord)
            .where(SiasnRecord.id.in_(list(ids)))
            .values(attempts=SiasnRecord.attempts + 1)
            .execution_options(synchronize_session=False)
        )


def count_due(session: Session, now: dt.datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(SiasnRecord).where(_due(now))) or 0)


def next_due(session: Session) -> dt.datetime | None:
    return session.scalar(
        select(func.min(SiasnRecord.next_attempt_at)).where(SiasnRecord.state == PENDING)
    )


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(SiasnRecord.state, func.count()).group_by(SiasnRecord.state)
    ).all()
    return {str(state): int(n) for state, n in rows}


def listing(
    session: Session, *, state: str | None, source: str | None, user_ids: Sequence[int] | None,
    offset: int, limit: int,
) -> tuple[int, list[SiasnRecord]]:  # fmt: skip
    where: list[Any] = []
    if state:
        where.append(SiasnRecord.state == state)
    if source:
        where.append(SiasnRecord.source == source)
    if user_ids is not None:
        where.append(SiasnRecord.user_id.in_(list(user_ids)))
    total = int(session.scalar(select(func.count()).select_from(SiasnRecord).where(*where)) or 0)
    rows = session.scalars(
        select(SiasnRecord)
        .where(*where)
        .order_by(SiasnRecord.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return total, list(rows)


def of_user(session: Session, user_id: int) -> list[SiasnRecord]:
    return list(
        session.scalars(
            select(SiasnRecord).where(SiasnRecord.user_id == user_id).order_by(SiasnRecord.id)
        )
    )


def retry_failed(session: Session, now: dt.datetime) -> int:
    result = session.execute(
        update(SiasnRecord)
        .where(SiasnRecord.state == "failed")
        .values(state=PENDING, attempts=0, next_attempt_at=now, locked_until=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- pnsOrangId cache ---------------------------------------------------------------------------


def person(session: Session, user_id: int) -> SiasnPerson | None:
    return session.get(SiasnPerson, user_id)


def save_person(session: Session, user_id: int, nip: str, pns_orang_id: str,
                now: dt.datetime) -> None:  # fmt: skip
    row = session.get(SiasnPerson, user_id)
    if row is None:
        session.add(SiasnPerson(user_id=user_id, nip=nip, pns_orang_id=pns_orang_id,
                                fetched_at=now))  # fmt: skip
    else:
        row.nip, row.pns_orang_id, row.fetched_at = nip, pns_orang_id, now
    session.flush()


# --- the sources (read only) --------------------------------------------------------------------


def mentoring_assignments_of_sessions(
    session: Session, session_ids: Sequence[int]
) -> dict[int, int]:
    """Mentoring session id -> its assignment (the JP ledger credits sessions; SIASN gets one
    record per assignment)."""
    from app.mentoring.models import MentoringSession

    rows = session.execute(
        select(MentoringSession.id, MentoringSession.assignment_id).where(
            MentoringSession.id.in_(list(session_ids))
        )
    ).all()
    return {int(sid): int(aid) for sid, aid in rows}


def run_delivery_mode(session: Session, run_id: int) -> str | None:
    from app.courses.models import Run

    return session.scalar(select(Run.delivery_mode).where(Run.id == run_id))
