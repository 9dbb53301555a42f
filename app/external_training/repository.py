"""All SQL for external training: the records, their duplicate certificate numbers, and the
stored certificate file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.courses.models import ContentFile
from app.external_training.constants import INACTIVE_STATUSES
from app.external_training.models import ExternalTraining


def add(session: Session, row: ExternalTraining) -> None:
    session.add(row)
    session.flush()


def delete(session: Session, row: ExternalTraining) -> None:
    session.delete(row)
    session.flush()


def get(session: Session, record_id: int, *, lock: bool = False) -> ExternalTraining | None:
    return session.get(ExternalTraining, record_id, with_for_update=lock or None)


def of_user(session: Session, user_id: int) -> Sequence[ExternalTraining]:
    """A user's records, newest training first."""
    return session.scalars(
        select(ExternalTraining)
        .where(ExternalTraining.user_id == user_id)
        .order_by(ExternalTraining.ends_on.desc(), ExternalTraining.id.desc())
    ).all()


def page(
    session: Session,
    *,
    status: str | None,
    user_id: int | None,
    search: str | None,
    search_key: str | None,
    limit: int,
    offset: int,
) -> tuple[int, Sequence[ExternalTraining]]:
    """The officer's queue: oldest submission first (first come, first verified); `search`
    matches the ASN's name, NIP or the training's name, `search_key` the folded certificate
    number."""
    query = select(ExternalTraining)
    if status:
        query = query.where(ExternalTraining.status == status)
    if user_id is not None:
        query = query.where(ExternalTraining.user_id == user_id)
    if search:
        # '%' and '_' typed in the search box are literal characters, not wildcards.
        like = f"%{_escape_like(search.lower())}%"
        key = f"%{_escape_like(search_key or search)}%"
        query = query.join(User, User.id == ExternalTraining.user_id).where(
            or_(
                func.lower(User.name).like(like, escape="\\"),
                User.nip.like(like, escape="\\"),
                func.lower(ExternalTraining.name).like(like, escape="\\"),
                ExternalTraining.certificate_key.like(key, escape="\\"),
            )
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(ExternalTraining.created_at, ExternalTraining.id).limit(limit).offset(offset)
    ).all()
    return total, rows


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def live_with_keys(session: Session, keys: Collection[str]) -> Sequence[ExternalTraining]:
    """Records (any user) not rejected or revoked whose certificate key is one of `keys`."""
    if not keys:
        return []
    return session.scalars(
        select(ExternalTraining)
        .where(
            ExternalTraining.certificate_key.in_(list(keys)),
            ExternalTraining.status.not_in(INACTIVE_STATUSES),
        )
        .order_by(ExternalTraining.id)
    ).all()


def verified_between(session: Session, first: dt.date, last: dt.date) -> Sequence[ExternalTraining]:
    """Verified records that ended within [first, last] (SIASN export), by end date."""
    return session.scalars(
        select(ExternalTraining)
        .where(
            ExternalTraining.status == "verified",
            ExternalTraining.ends_on >= first,
            ExternalTraining.ends_on <= last,
        )
        .order_by(ExternalTraining.ends_on, ExternalTraining.id)
    ).all()


def get_file(session: Session, file_id: int) -> ContentFile | None:
    return session.get(ContentFile, file_id)


def count_pending(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(ExternalTraining)
            .where(ExternalTraining.status == "pending")
        )
        or 0
    )


def names(session: Session, record_ids: Collection[int]) -> dict[int, str]:
    if not record_ids:
        return {}
    query = select(ExternalTraining.id, ExternalTraining.name).where(
        ExternalTraining.id.in_(list(record_ids))
    )
    return {record_id: name for record_id, name in session.execute(query)}
