"""All SQL for notifications and preferences."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.notifications.models import Notification, NotificationPreference

CHUNK = 900  # ids per IN (...): well under every backend's parameter limit


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


class Recipient(NamedTuple):
    user_id: int
    name: str
    email: str | None
    phone: str | None
    locale: str | None
    is_active: bool


def recipients(session: Session, user_ids: Sequence[int]) -> dict[int, Recipient]:
    found: dict[int, Recipient] = {}
    for chunk in _chunks(list(dict.fromkeys(user_ids))):
        rows = session.execute(
            select(User.id, User.name, User.email, User.phone, User.locale, User.is_active).where(
                User.id.in_(chunk)
            )
        )
        found.update({r[0]: Recipient(*r) for r in rows})
    return found


def overrides(
    session: Session, user_ids: Sequence[int], events: Iterable[str]
) -> dict[tuple[int, str, str], bool]:
    """(user, event, channel) -> enabled, for the preferences readers changed."""
    wanted = list(set(events))
    found: dict[tuple[int, str, str], bool] = {}
    for chunk in _chunks(list(dict.fromkeys(user_ids))):
        rows = session.execute(
            select(
                NotificationPreference.user_id,
                NotificationPreference.event,
                NotificationPreference.channel,
                NotificationPreference.enabled,
            ).where(
                NotificationPreference.user_id.in_(chunk),
                NotificationPreference.event.in_(wanted),
            )
        )
        found.update({(u, e, c): bool(on) for u, e, c, on in rows})
    return found


def insert_new(session: Session, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert notifications whose key is new; key -> id of those inserted (others existed)."""
    if not rows:
        return {}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(Notification)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(Notification.key, Notification.id)
    )
    made: dict[str, int] = {}
    for start in range(0, len(rows), 1000):
        result = session.execute(stmt, list(rows[start : start + 1000]))
        made.update({k: i for k, i in result})
    return made


class Delivery(NamedTuple):
    """What a channel handler needs of one notification and its reader."""

    id: int
    event: str
    context: dict[str, Any]
    url: str | None
    created_at: dt.datetime
    user_id: int
    name: str
    email: str | None
    phone: str | None
    locale: str | None
    is_active: bool


def deliveries(session: Session, ids: Sequence[int]) -> dict[int, Delivery]:
    found: dict[int, Delivery] = {}
    for chunk in _chunks(list(ids)):
        rows = session.execute(
            select(
                Notification.id,
                Notification.event,
                Notification.context,
                Notification.url,
                Notification.created_at,
                User.id,
                User.name,
                User.email,
                User.phone,
                User.locale,
                User.is_active,
            )
            .join(User, User.id == Notification.user_id)
            .where(Notification.id.in_(chunk))
        )
        found.update({r[0]: Delivery(*r) for r in rows})
    return found


def set_preferences(
    session: Session, user_id: int, values: dict[tuple[str, str], bool], now: dt.datetime
) -> None:
    """Upsert (event, channel) -> enabled for one reader."""
    if not values:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(NotificationPreference)
    stmt = stmt.on_conflict_do_update(
        index_elements=["user_id", "event", "channel"],
        set_={"enabled": stmt.excluded.enabled, "updated_at": stmt.excluded.updated_at},
    )
    session.execute(
        stmt,
        [
            {"user_id": user_id, "event": e, "channel": c, "enabled": on, "updated_at": now}
            for (e, c), on in values.items()
        ],
    )


def unread_count(session: Session, user_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.user_id == user_id,
                Notification.in_app.is_(True),
                Notification.read_at.is_(None),
            )
        )
        or 0
    )


def inbox(
    session: Session, user_id: int, *, unread_only: bool, offset: int, limit: int
) -> tuple[int, list[Notification]]:
    where = [Notification.user_id == user_id, Notification.in_app.is_(True)]
    if unread_only:
        where.append(Notification.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(Notification).where(*where))
    rows = session.scalars(
        select(Notification)
        .where(*where)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return int(total or 0), list(rows)


def mark_read(session: Session, user_id: int, ids: Sequence[int] | None, now: dt.datetime) -> int:
    """Mark the reader's own notifications read (all when ids is None)."""
    stmt = update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(ids))
    result = session.execute(stmt.values(read_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


def get_own(session: Session, user_id: int, notification_id: int) -> Notification | None:
    return session.scalar(
        select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user_id
        )
    )


def existing_keys(session: Session, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(list(keys)):
        found.update(session.scalars(select(Notification.key).where(Notification.key.in_(chunk))))
    return found


def pairs_enabled(
    session: Session, pairs: Sequence[tuple[int, str]], channel: str
) -> dict[tuple[int, str], bool]:
    """(user, event) -> the reader's override for one channel, for a batch being delivered."""
    found: dict[tuple[int, str], bool] = {}
    for chunk in _chunks(list(dict.fromkeys(pairs))):
        rows = session.execute(
            select(
                NotificationPreference.user_id,
                NotificationPreference.event,
                NotificationPreference.enabled,
            ).where(
                tuple_(NotificationPreference.user_id, NotificationPreference.event).in_(chunk),
                NotificationPreference.channel == channel,
            )
        )
        found.update({(u, e): bool(on) for u, e, on in rows})
    return found
