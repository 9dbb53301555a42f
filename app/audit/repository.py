"""All SQL of the audit log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.audit.models import GENESIS, AuditEntry, AuditHead

HEAD_ID = 1


@dataclass(frozen=True, slots=True)
class Head:
    last_id: int
    last_hash: str
    anchor_id: int
    anchor_hash: str


def lock_head(session: Session) -> Head:
    """The chain's head, locked for this transaction (one statement once the head exists).

    A no-op UPDATE takes the row lock on PostgreSQL (other appenders wait for our commit) and
    the database write lock on SQLite (one writer at a time); RETURNING reads the head as it is
    after any appender we waited for.
    """
    bump = (
        update(AuditHead)
        .where(AuditHead.id == HEAD_ID)
        .values(last_id=AuditHead.last_id)
        .returning(
            AuditHead.last_id, AuditHead.last_hash, AuditHead.anchor_id, AuditHead.anchor_hash
        )
        .execution_options(synchronize_session=False)
    )
    row = session.execute(bump).first()
    if row is None:  # the very first entry: make the head (a concurrent maker wins quietly)
        values = {"id": HEAD_ID, "last_id": 0, "last_hash": GENESIS, "anchor_id": 0,
                  "anchor_hash": GENESIS}  # fmt: skip
        dialect = session.get_bind().dialect.name
        ins = pg_insert(AuditHead) if dialect == "postgresql" else sqlite_insert(AuditHead)
        session.execute(ins.values(**values).on_conflict_do_nothing())
        row = session.execute(bump).one()
    return Head(*row)


def read_head(session: Session) -> AuditHead | None:
    return session.get(AuditHead, HEAD_ID, populate_existing=True)


def insert_entries(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    session.execute(insert(AuditEntry), list(rows))


def nips(session: Session, user_ids: set[int]) -> dict[int, str | None]:
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.nip).where(User.id.in_(user_ids)))
    return {r.id: r.nip for r in rows}


def stream(session: Session, batch: int = 2000) -> Iterator[AuditEntry]:
    """Every entry in id order, a batch at a time (ordinary keyset paging: no server cursor)."""
    after = None
    while True:
        query = select(AuditEntry).order_by(AuditEntry.id).limit(batch)
        if after is not None:
            query = query.where(AuditEntry.id > after)
        rows = list(session.scalars(query))
        if not rows:
            return
        yield from rows
        after = rows[-1].id
        for row in rows:  # keep the identity map small
            session.expunge(row)


def last_id_before(session: Session, cutoff: dt.datetime, upto: int) -> int | None:
    return session.scalar(
        select(func.max(AuditEntry.id)).where(AuditEntry.at < cutoff, AuditEntry.id <= upto)
    )


def entry_hash(session: Session, entry_id: int) -> str | None:
    return session.scalar(select(AuditEntry.hash).where(AuditEntry.id == entry_id))


def delete_upto(session: Session, entry_id: int) -> int:
    result = session.execute(
        delete(AuditEntry)
        .where(AuditEntry.id <= entry_id)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def set_anchor(session: Session, entry_id: int, entry_hash: str) -> None:
    session.execute(
        update(AuditHead)
        .where(AuditHead.id == HEAD_ID)
        .values(anchor_id=entry_id, anchor_hash=entry_hash)
        .execution_options(synchronize_session=False)
    )


def set_last(session: Session, last_id: int, last_hash: str) -> None:
    session.execute(
        update(AuditHead)
        .where(AuditHead.id == HEAD_ID)
        .values(last_id=last_id, last_hash=last_hash)
        .execution_options(synchronize_session=False)
    )


def _conditions(
    *,
    action: str | None,
    actor: str | None,
    target_type: str | None,
    target_id: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if action:
        where.append(or_(AuditEntry.action == action, AuditEntry.action.startswith(action + ".")))
    if actor:
        where.append(AuditEntry.actor_label == actor)
    if target_type:
        where.append(AuditEntry.target_type == target_type)
    if target_id:
        where.append(AuditEntry.target_id == target_id)
    if since is not None:
        where.append(AuditEntry.at >= since)
    if until is not None:
        where.append(AuditEntry.at < until)
    return where


def listing(
    session: Session, *, offset: int | None, limit: int | None, **filters: Any
) -> tuple[int, list[tuple[AuditEntry, str | None]]]:
    """(total, [(entry, actor name)]) newest first; `limit=None` gives every match."""
    where = _conditions(**filters)
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*where)) or 0
    query = (
        select(AuditEntry, User.name)
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(*where)
        .order_by(AuditEntry.id.desc())
    )
    if offset is not None:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return total, [(e, name) for e, name in session.execute(query)]


def about_user(session: Session, user_id: int) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry)
            .where(
                or_(
                    AuditEntry.actor_id == user_id,
                    (AuditEntry.target_type == "user") & (AuditEntry.target_id == str(user_id)),
                )
            )
            .order_by(AuditEntry.id)
        )
    )
