"""All SQL of the targets dashboard: every figure is a GROUP BY over the JP ledger joined to the
active ASN, a constant number of queries whatever the number of ASN or credits."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Numeric,
    Select,
    Subquery,
    and_,
    case,
    cast,
    distinct,
    extract,
    func,
    select,
)
from sqlalchemy.orm import Session

from app.accounts.models import Opd, User
from app.jp.models import JpCredit


def _active_asn() -> ColumnElement[bool]:
    """An active ASN: an active account with a NIP (staff accounts have none)."""
    return and_(User.is_active.is_(True), User.nip.is_not(None))


def _live(year: int) -> ColumnElement[bool]:
    return and_(JpCredit.year == year, JpCredit.withdrawn_at.is_(None))


def per_user(year: int, *, pppk_cap: float) -> Subquery:
    """One row per active ASN: opd_id, `jp` (the year's live credits summed, PPPK capped, rounded
    to 2 decimals as jp_service.year_total does) and `participated` (1 with >= 1 live credit)."""
    totals = (
        select(JpCredit.user_id, func.sum(JpCredit.jp).label("raw"))
        .where(_live(year))
        .group_by(JpCredit.user_id)
        .subquery("totals")
    )
    counted = case(
        (and_(User.employment == "PPPK", totals.c.raw > pppk_cap), pppk_cap),
        else_=func.coalesce(totals.c.raw, 0.0),
    )
    return (
        select(
            User.id.label("user_id"),
            User.opd_id.label("opd_id"),
            func.round(cast(counted, Numeric), 2).label("jp"),
            case((totals.c.user_id.is_(None), 0), else_=1).label("participated"),
        )
        .outerjoin(totals, totals.c.user_id == User.id)
        .where(_active_asn())
        .subquery("per_user")
    )


def bucket_expression(jp: Any, edges: Sequence[float]) -> ColumnElement[int]:
    """Bucket index of a JP total: 0 for none, then one per edge (jp < edge), then the rest."""
    whens: list[tuple[ColumnElement[bool], int]] = [(jp <= 0, 0)]
    whens += [(jp < edge, i) for i, edge in enumerate(edges, start=1)]
    return case(*whens, else_=len(edges) + 1)


def opd_buckets(
    session: Session, year: int, *, pppk_cap: float, jp_target: float, edges: Sequence[float]
) -> Sequence[Any]:
    """(opd_id, bucket, active_asn, participated, compliant, jp_total) per OPD and JP bucket: the
    by-OPD table and the distribution are sums of these rows."""
    users = per_user(year, pppk_cap=pppk_cap)
    bucket = bucket_expression(users.c.jp, edges).label("bucket")
    return session.execute(
        select(
            users.c.opd_id,
            bucket,
            func.count(),
            func.sum(users.c.participated),
            func.sum(case((users.c.jp >= jp_target, 1), else_=0)),
            func.sum(users.c.jp),
        ).group_by(users.c.opd_id, bucket)
    ).all()


def funding_sources(session: Session, year: int, unknown: str) -> Sequence[Any]:
    """(funding_source, participants, jp) over the active ASN's live credits of the year;
    credits without a funding source are grouped under `unknown`."""
    source = func.coalesce(JpCredit.funding_source, unknown).label("funding_source")
    return session.execute(
        select(source, func.count(distinct(JpCredit.user_id)), func.sum(JpCredit.jp))
        .join(User, User.id == JpCredit.user_id)
        .where(_live(year), _active_asn())
        .group_by(source)
    ).all()


def monthly_jp(session: Session, year: int) -> Sequence[Any]:
    """(year, month, jp) of the active ASN's live credits of the year by credited_on month."""
    y = extract("year", JpCredit.credited_on).label("y")
    m = extract("month", JpCredit.credited_on).label("m")
    return session.execute(
        select(y, m, func.sum(JpCredit.jp))
        .join(User, User.id == JpCredit.user_id)
        .where(_live(year), _active_asn())
        .group_by(y, m)
    ).all()


def first_credit_months(session: Session, year: int) -> Sequence[Any]:
    """(year, month, users) of each active ASN's first live credit of the year."""
    first = (
        select(JpCredit.user_id, func.min(JpCredit.credited_on).label("first_on"))
        .join(User, User.id == JpCredit.user_id)
        .where(_live(year), _active_asn())
        .group_by(JpCredit.user_id)
        .subquery("first")
    )
    y = extract("year", first.c.first_on).label("y")
    m = extract("month", first.c.first_on).label("m")
    return session.execute(select(y, m, func.count()).group_by(y, m)).all()


def credit_years(session: Session) -> list[int]:
    """Every year that has a credit, newest first (the year select)."""
    return [
        int(y) for y in session.scalars(select(JpCredit.year).distinct().order_by(JpCredit.year))
    ][::-1]


def opds(session: Session) -> Sequence[Any]:
    """(id, code, name, parent_id) of every OPD and unit kerja."""
    return session.execute(select(Opd.id, Opd.code, Opd.name, Opd.parent_id)).all()


def _below(
    year: int, *, pppk_cap: float, jp_target: float, opd_ids: Collection[int] | None
) -> tuple[Subquery, list[ColumnElement[bool]]]:
    users = per_user(year, pppk_cap=pppk_cap)
    where: list[ColumnElement[bool]] = [users.c.jp < jp_target]
    if opd_ids is not None:  # an empty collection: ASN without an OPD
        where.append(users.c.opd_id.in_(list(opd_ids)) if opd_ids else users.c.opd_id.is_(None))
    return users, where


def below_target(
    session: Session,
    year: int,
    *,
    pppk_cap: float,
    jp_target: float,
    opd_ids: Collection[int] | None,
    limit: int | None,
    offset: int,
) -> Sequence[Any]:
    """Active ASN below the JP target, fewest JP first: (user_id, nip, name, employment,
    opd_code, opd_name, jp, participated); `opd_ids` empty: those without an OPD."""
    users, where = _below(year, pppk_cap=pppk_cap, jp_target=jp_target, opd_ids=opd_ids)
    query: Select[Any] = (
        select(
            users.c.user_id,
            User.nip,
            User.name,
            User.employment,
            Opd.code,
            Opd.name,
            users.c.jp,
            users.c.participated,
        )
        .join(User, User.id == users.c.user_id)
        .outerjoin(Opd, Opd.id == users.c.opd_id)
        .where(*where)
        .order_by(users.c.jp, User.name, User.id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return session.execute(query).all()


def count_below_target(
    session: Session,
    year: int,
    *,
    pppk_cap: float,
    jp_target: float,
    opd_ids: Collection[int] | None,
) -> int:
    users, where = _below(year, pppk_cap=pppk_cap, jp_target=jp_target, opd_ids=opd_ids)
    return int(session.scalar(select(func.count()).select_from(users).where(*where)) or 0)


def asn_jp(session: Session, year: int, *, pppk_cap: float) -> Sequence[Any]:
    """(user_id, jp) of every active ASN (PPPK capped); one query however many ASN."""
    users = per_user(year, pppk_cap=pppk_cap)
    return session.execute(select(users.c.user_id, users.c.jp).order_by(users.c.user_id)).all()
