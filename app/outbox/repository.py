"""All SQL for the outbox: idempotent inserts, atomic claims, outcomes, listings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.outbox.models import OutboxItem


def insert_ignoring_duplicates(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows; one whose key exists already is skipped (idempotent production)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(OutboxItem).on_conflict_do_nothing(index_elements=["key"])
    session.execute(stmt, list(rows))


def _due(now: dt.datetime) -> Any:
    return or_(
        and_(OutboxItem.state == "pending", OutboxItem.next_attempt_at <= now),
        and_(OutboxItem.state == "sending", OutboxItem.locked_until < now),  # a runner died
    )


def claim(
    session: Session, topic: str, limit: int, now: dt.datetime, lease_until: dt.datetime
) -> list[OutboxItem]:
    """Move up to `limit` due items of `topic` to "sending" with a lease, atomically: two
    dispatchers never claim the same item (PostgreSQL: SKIP LOCKED; SQLite: one writer)."""
    # A MATERIALIZED CTE: as a plain IN (subquery), PostgreSQL may plan a nested-loop semi
    # join that re-runs the LIMIT ... SKIP LOCKED subquery per row and claims past the limit.
    picked = (
        select(OutboxItem.id)
        .where(OutboxItem.topic == topic, _due(now))
        .order_by(OutboxItem.next_attempt_at, OutboxItem.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("picked")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    ids = (
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id.in_(select(picked.c.id)), _due(now))
            .values(state="sending", locked_until=lease_until, attempts=OutboxItem.attempts + 1)
            .returning(OutboxItem.id)
            .execution_options(synchronize_session=False)
        )
        .scalars()
        .all()
    )
    if not ids:
        return []
    return list(
        session.scalars(select(OutboxItem).where(OutboxItem.id.in_(ids)).order_by(OutboxItem.id))
    )


def sent_among(session: Session, ids: Sequence[int]) -> set[int]:
    """Which of these items are already recorded as sent (confirmed one by one mid-batch)."""
    if not ids:
        return set()
    rows = session.scalars(
        select(OutboxItem.id).where(OutboxItem.id.in_(ids), OutboxItem.state == "sent")
    )
    return set(rows)


def mark_sent(session: Session, ids: Sequence[int], now: dt.datetime) -> None:
    if ids:
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id.in_(ids))
            .values(state="sent", sent_at=now, locked_until=None, last_error=None)
        )


def update_many(session: Session, changes: Sequence[dict[str, Any]]) -> None:
    """Per-item changes by primary key, as one executemany per set of columns."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in changes:
        by_columns.setdefault(tuple(sorted(change)), []).append(change)
    for rows in by_columns.values():
        session.execute(update(OutboxItem), rows)


def sent_since(session: Session, topic: str, since: dt.datetime) -> int:
    """Items of a topic delivered since `since` (the per-channel rate limit)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .where(
                OutboxItem.topic == topic, OutboxItem.sent_at >= since, OutboxItem.state == "sent"
            )
        )
        or 0
    )


def next_due(session: Session, topics: Sequence[str]) -> dt.datetime | None:
    """When the earliest waiting item of these topics becomes due."""
    value = session.scalar(
        select(
            func.min(
                case(
                    (OutboxItem.state == "pending", OutboxItem.next_attempt_at),
                    else_=OutboxItem.locked_until,
                )
            )
        ).where(OutboxItem.topic.in_(topics), OutboxItem.state.in_(("pending", "sending")))
    )
    if isinstance(value, str):  # SQLite returns MIN() of a typed column as text
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def retry(session: Session, ids: Sequence[int], now: dt.datetime) -> int:
    """Dead (or cancelled) items back to pending with a fresh set of attempts."""
    result = session.execute(
        update(OutboxItem)
        .where(OutboxItem.id.in_(ids), OutboxItem.state.in_(("dead", "cancelled")))
        .values(state="pending", attempts=0, next_attempt_at=now, locked_until=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def retry_all_dead(session: Session, topic: str | None, now: dt.datetime) -> int:
    stmt = update(OutboxItem).where(OutboxItem.state == "dead")
    if topic:
        stmt = stmt.where(OutboxItem.topic == topic)
    result = session.execute(
        stmt.values(state="pending", attempts=0, next_attempt_at=now, locked_until=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _filtered(
    stmt: Select[Any], *, state: str | None, topic: str | None, q: str | None
) -> Select[Any]:
    if state:
        stmt = stmt.where(OutboxItem.state == state)
    if topic:
        stmt = stmt.where(OutboxItem.topic == topic)
    if q:
        stmt = stmt.where(OutboxItem.label.ilike(f"%{q}%"))
    return stmt


def listing(
    session: Session, *, state: str | None, topic: str | None, q: str | None,
    offset: int, limit: int,
) -> tuple[int, list[OutboxItem]]:  # fmt: skip
    total = session.scalar(
        _filtered(select(func.count()).select_from(OutboxItem), state=state, topic=topic, q=q)
    )
    rows = session.scalars(
        _filtered(select(OutboxItem), state=state, topic=topic, q=q)
        .order_by(OutboxItem.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return int(total or 0), list(rows)


def counts(session: Session) -> dict[tuple[str, str], int]:
    """(topic, state) -> number of items."""
    rows = session.execute(
        select(OutboxItem.topic, OutboxItem.state, func.count()).group_by(
            OutboxItem.topic, OutboxItem.state
        )
    )
    return {(t, s): int(n) for t, s, n in rows}


def get(session: Session, item_id: int) -> OutboxItem | None:
    return session.get(OutboxItem, item_id)


def delete_done_before(session: Session, before: dt.datetime) -> int:
    """Housekeeping: sent and cancelled items older than the retention."""
    from sqlalchemy import delete

    result = session.execute(
        delete(OutboxItem).where(
            OutboxItem.state.in_(("sent", "cancelled")), OutboxItem.sent_at < before
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
