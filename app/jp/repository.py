"""All SQL for the JP ledger."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.jp.models import JpCredit


def add(session: Session, obj: object) -> None:
    session.add(obj)
    session.flush()


def get_credit(session: Session, source: str, source_id: int) -> JpCredit | None:
    return session.scalar(
        select(JpCredit).where(JpCredit.source == source, JpCredit.source_id == source_id)
    )


def _credits(session: Session, user_id: int, year: int, *, withdrawn: bool) -> Sequence[JpCredit]:
    """A user's credits for a year, withdrawn ones or live ones, oldest first."""
    withdrawn_at = JpCredit.withdrawn_at
    return session.scalars(
        select(JpCredit)
        .where(
            JpCredit.user_id == user_id,
            JpCredit.year == year,
            withdrawn_at.is_not(None) if withdrawn else withdrawn_at.is_(None),
        )
        .order_by(JpCredit.credited_on, JpCredit.id)
    ).all()


def credits_of(session: Session, user_id: int, year: int) -> Sequence[JpCredit]:
    """A user's live (not withdrawn) credits for a year, oldest first."""
    return _credits(session, user_id, year, withdrawn=False)


def bulk_insert(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(JpCredit), rows)


def withdraw(session: Session, source: str, source_id: int, at: dt.datetime, reason: str) -> int:
    result = session.execute(
        update(JpCredit)
        .where(
            JpCredit.source == source,
            JpCredit.source_id == source_id,
            JpCredit.withdrawn_at.is_(None),
        )
        .values(withdrawn_at=at, withdrawn_reason=reason[:500])
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def move(session: Session, source: str, old_id: int, new_id: int, reference: str) -> int:
    result = session.execute(
        update(JpCredit)
        .where(JpCredit.source == source, JpCredit.source_id == old_id)
        .values(source_id=new_id, reference=reference[:255])
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def withdrawn_of(session: Session, user_id: int, year: int) -> Sequence[JpCredit]:
    """A user's withdrawn credits for a year (shown apart in the JP history), oldest first."""
    return _credits(session, user_id, year, withdrawn=True)


def years_of(session: Session, user_id: int) -> list[int]:
    """The years in which a user has any credit, newest first."""
    return list(
        session.scalars(
            select(JpCredit.year)
            .where(JpCredit.user_id == user_id)
            .distinct()
            .order_by(JpCredit.year.desc())
        )
    )
