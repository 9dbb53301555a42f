"""The JP ledger: every JP credit is a row (certificates now; external training and mentoring
later), withdrawn rather than deleted; yearly totals against the target with the PPPK cap."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.orm import Session

from app.accounts import service as accounts_service
from app.core import clock, events
from app.core.config import Settings
from app.core.db import utcnow
from app.jp import repository
from app.jp.models import JpCredit

CERTIFICATE = "certificate"
EXTERNAL_TRAINING = "external_training"
MENTORING = "mentoring"


@dataclass(frozen=True, slots=True)
class JpEntry:
    source: str
    jp: float
    date: dt.date
    reference: str


@dataclass(frozen=True, slots=True)
class JpSummary:
    year: int
    total_jp: float
    target_jp: float
    entries: list[JpEntry]


def minutes_to_jp(minutes: float, settings: Settings) -> float:
    """LAN: 1 JP = 45 minutes of learning (settings.minutes_per_jp); rounded by settings.jp_rounding
    ("floor": whole JP only, "half_up": nearest whole JP, "none": two decimals)."""
    raw = minutes / settings.minutes_per_jp
    if settings.jp_rounding == "floor":
        return float(math.floor(raw + 1e-9))
    if settings.jp_rounding == "half_up":
        return float(Decimal(str(raw)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    return round(raw, 2)


def year_total(jps: list[float], *, employment: str | None, settings: Settings) -> float:
    """The JP that count for a year: their sum; for PPPK at most settings.pppk_annual_jp_cap
    (LAN: PPPK development is capped at 24 JP per contract year, counted here per calendar
    year)."""
    total = math.fsum(jps)
    if employment == "PPPK":
        total = min(total, float(settings.pppk_annual_jp_cap))
    return round(total, 2)


def credit(
    session: Session,
    *,
    user_id: int,
    year: int,
    source: str,
    source_id: int,
    jp: float,
    credited_on: dt.date,
    reference: str,
    funding_source: str | None = None,
) -> JpCredit:
    """Record one credit; the same (source, source_id) is credited once (unique)."""
    row = JpCredit(
        funding_source=funding_source,
        user_id=user_id,
        year=year,
        source=source,
        source_id=source_id,
        jp=jp,
        credited_on=credited_on,
        reference=reference[:255],
    )
    repository.add(session, row)
    events.jp_changed(session, events.JpChange("credited", source, (source_id,), (user_id,)))
    return row


def credit_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """Bulk form of `credit` (bulk issuance): dicts with the keyword names of `credit`."""
    repository.bulk_insert(session, rows)
    for source in sorted({r["source"] for r in rows}):
        mine = [r for r in rows if r["source"] == source]
        events.jp_changed(session, events.JpChange(
            "credited", source, tuple(r["source_id"] for r in mine),
            tuple(r["user_id"] for r in mine),
        ))  # fmt: skip


def withdraw(session: Session, *, source: str, source_id: int, reason: str) -> None:
    """A revoked source no longer counts; its row stays, marked, for the audit trail."""
    repository.withdraw(session, source, source_id, utcnow(), reason)
    events.jp_changed(session, events.JpChange("withdrawn", source, (source_id,)))


def move(session: Session, *, source: str, old_id: int, new_id: int, reference: str) -> None:
    """A re-issued certificate keeps its JP: the credit now points at the new version."""
    repository.move(session, source, old_id, new_id, reference)
    events.jp_changed(session, events.JpChange("moved", source, (new_id,), old_id=old_id))


def summary(session: Session, user_id: int, year: int, settings: Settings) -> JpSummary:
    """The year's live credits and their total against the annual target (PP 11/2017 jo.
    PP 17/2020: 20 JP a year; settings.annual_jp_target)."""
    return summary_of(
        session, user_id, year, settings, accounts_service.employment_of(session, user_id)
    )


def summary_of(
    session: Session, user_id: int, year: int, settings: Settings, employment: str | None
) -> JpSummary:
    """`summary` for a caller that already read the user's employment (the home page)."""
    rows = repository.credits_of(session, user_id, year)
    return JpSummary(
        year=year,
        total_jp=year_total([r.jp for r in rows], employment=employment, settings=settings),
        target_jp=float(settings.annual_jp_target),
        entries=[JpEntry(r.source, r.jp, r.credited_on, r.reference) for r in rows],
    )


# --- the learner's JP history (read only) ---------------------------------------------------------

SOURCES = (CERTIFICATE, EXTERNAL_TRAINING, MENTORING)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    jp: float
    date: dt.date
    reference: str
    funding_source: str | None
    withdrawn_reason: str | None = None
    source_id: int = 0


@dataclass(frozen=True, slots=True)
class SourceGroup:
    source: str
    total_jp: float
    entries: list[HistoryEntry]


@dataclass(frozen=True, slots=True)
class JpHistory:
    year: int
    years: list[int]
    total_jp: float  # the year's total as it counts (PPPK cap applied)
    raw_total_jp: float  # the plain sum of live credits
    target_jp: float
    capped: bool
    groups: list[SourceGroup]  # every source, in SOURCES order, empty ones included
    withdrawn: list[tuple[str, HistoryEntry]]


def history(session: Session, user_id: int, year: int, settings: Settings) -> JpHistory:
    """A user's credits for a year grouped by source with subtotals, the year's total against
    the target (PPPK cap applied, as `summary`), the years to choose from, and the withdrawn
    credits apart (they no longer count)."""
    live = repository.credits_of(session, user_id, year)
    user = accounts_service.get_user(session, user_id)
    by_source: dict[str, list[HistoryEntry]] = {s: [] for s in SOURCES}
    for r in live:
        by_source.setdefault(r.source, []).append(
            HistoryEntry(r.jp, r.credited_on, r.reference, r.funding_source, source_id=r.source_id)
        )
    raw_total = round(math.fsum(r.jp for r in live), 2)
    total = year_total([r.jp for r in live], employment=user.employment, settings=settings)
    years = set(repository.years_of(session, user_id)) | {year, clock.today().year}
    return JpHistory(
        year=year,
        years=sorted(years, reverse=True),
        total_jp=total,
        raw_total_jp=raw_total,
        target_jp=float(settings.annual_jp_target),
        capped=total < raw_total,
        groups=[
            SourceGroup(s, round(math.fsum(e.jp for e in entries), 2), entries)
            for s, entries in by_source.items()
        ],
        withdrawn=[
            (
                r.source,
                HistoryEntry(
                    r.jp,
                    r.credited_on,
                    r.reference,
                    r.funding_source,
                    r.withdrawn_reason,
                    source_id=r.source_id,
                ),
            )
            for r in repository.withdrawn_of(session, user_id, year)
        ],
    )
