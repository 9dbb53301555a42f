"""The agency's yearly targets from the JP ledger: participation (settings.participation_target_
percent of active ASN with a live credit) and JP compliance (settings.annual_jp_target, PPPK cap)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.accounts import service as accounts_service
from app.accounts.constants import Role
from app.auth.service import Principal
from app.competency import service as competency_service
from app.core.config import Settings
from app.core.errors import Forbidden, ValidationFailed
from app.core.i18n import gettext_ as _
from app.courses import service as courses_service
from app.targets import constants, repository
from app.targets.schemas import (
    BelowTargetPageRead,
    BelowTargetRowRead,
    DistributionBucketRead,
    FundingTargetRead,
    MonthTrendRead,
    OpdTargetRead,
    TargetsReportRead,
)


def percent(part: int, whole: int) -> float:
    """A share in percent, one decimal; 0 of nobody is 0 %."""
    return round(100.0 * part / whole, 1) if whole else 0.0


def jp_target(settings: Settings) -> float:
    """PP 11/2017 jo. PP 17/2020: 20 JP a year per ASN (settings.annual_jp_target)."""
    return float(settings.annual_jp_target)


def pppk_cap(settings: Settings) -> float:
    """LAN: a PPPK's JP count up to settings.pppk_annual_jp_cap a year (jp_service.year_total)."""
    return float(settings.pppk_annual_jp_cap)


def distribution_keys(edges: Sequence[float] = constants.DISTRIBUTION_EDGES) -> list[str]:
    bounds = [0.0, *edges]
    keys = ["0"] + [f"{_num(lo)}-{_num(hi)}" for lo, hi in itertools.pairwise(bounds)]
    return [*keys, f"{_num(bounds[-1])}+"]


def _num(value: float) -> str:
    return f"{value:g}"


# --- the OPD tree --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _OpdTree:
    """OPDs and unit kerja (an OPD with a parent) by id."""

    code: dict[int, str]
    name: dict[int, str]
    parent: dict[int, int | None]
    by_code: dict[str, int]

    def root(self, opd_id: int) -> int:
        """The top-level OPD a unit kerja belongs to (itself for an OPD)."""
        seen = {opd_id}
        while (up := self.parent.get(opd_id)) is not None and up not in seen:  # cycles stop
            seen.add(up)
            opd_id = up
        return opd_id

    def within(self, opd_id: int) -> set[int]:
        """The OPD and every unit kerja below it, at any depth."""
        children: dict[int, list[int]] = {}
        for child, up in self.parent.items():
            if up is not None:
                children.setdefault(up, []).append(child)
        found, todo = {opd_id}, [opd_id]
        while todo:
            for child in children.get(todo.pop(), []):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        return found


def _opd_tree(session: Session) -> _OpdTree:
    rows = repository.opds(session)
    return _OpdTree(
        code={r[0]: r[1] for r in rows},
        name={r[0]: r[2] for r in rows},
        parent={r[0]: r[3] for r in rows},
        by_code={r[1]: r[0] for r in rows},
    )


def opd_choices(session: Session) -> list[tuple[str, str]]:
    """(code, name) of the top-level OPDs (unit kerja count in theirs), by code."""
    return sorted((r[1], r[2]) for r in repository.opds(session) if r[3] is None)


# --- the dashboard -------------------------------------------------------------------------------


def report(session: Session, year: int, settings: Settings) -> TargetsReportRead:
    """Every figure of the dashboard for a year (six GROUP BY queries); unit kerja count in their
    top-level OPD."""
    target, cap = jp_target(settings), pppk_cap(settings)
    edges = constants.DISTRIBUTION_EDGES
    tree = _opd_tree(session)
    per_opd: dict[int | None, list[float]] = {}  # root id -> [asn, participated, compliant, jp]
    buckets = [0] * (len(edges) + 2)
    for opd_id, bucket, asn, participated, compliant, jp in repository.opd_buckets(
        session, year, pppk_cap=cap, jp_target=target, edges=edges
    ):
        root = tree.root(opd_id) if opd_id is not None else None
        sums = per_opd.setdefault(root, [0, 0, 0, 0.0])
        for i, value in enumerate((asn, participated, compliant, jp)):
            sums[i] += float(value or 0)
        buckets[int(bucket)] += int(asn)
    by_opd = [
        _opd_target(
            tree.code.get(root) if root is not None else None,
            tree.name.get(root) if root is not None else None,
            *sums,
        )
        for root, sums in per_opd.items()
    ]
    active = sum(o.active_asn for o in by_opd)
    participated = sum(o.participated for o in by_opd)
    compliant = sum(o.jp_compliant for o in by_opd)
    jp_total = round(math.fsum(o.jp_total for o in by_opd), 2)
    return TargetsReportRead(
        year=year,
        active_asn=active,
        participated=participated,
        participation_percent=percent(participated, active),
        participation_target_percent=float(settings.participation_target_percent),
        jp_compliant=compliant,
        jp_compliance_percent=percent(compliant, active),
        jp_target=target,
        jp_total=jp_total,
        average_jp=round(jp_total / active, 2) if active else 0.0,
        by_opd=sort_opds(by_opd, constants.DEFAULT_OPD_SORT),
        by_funding_source=_funding(session, year),
        distribution=_distribution(buckets, edges, active),
        trend=_trend(session, year, active),
    )


def _opd_target(
    code: str | None, name: str | None, asn: float, part: float, compliant: float, jp: float
) -> OpdTargetRead:
    n, p, c = int(asn), int(part), int(compliant)
    return OpdTargetRead(
        opd_code=code,
        opd_name=name,
        active_asn=n,
        participated=p,
        participation_percent=percent(p, n),
        jp_compliant=c,
        jp_compliance_percent=percent(c, n),
        jp_total=round(jp, 2),
        average_jp=round(jp / n, 2) if n else 0.0,
    )


def _funding(session: Session, year: int) -> list[FundingTargetRead]:
    """The four sumber dana always (zero when unused), then any other value seen, then credits
    without a funding source ("tidak_diketahui") when there are some."""
    found = {
        str(source): FundingTargetRead(
            funding_source=str(source), participants=int(n), jp=round(float(jp or 0), 2)
        )
        for source, n, jp in repository.funding_sources(session, year, constants.UNKNOWN_FUNDING)
    }
    rows = [
        found.pop(s, FundingTargetRead(funding_source=s, participants=0, jp=0.0))
        for s in constants.FUNDING_SOURCES
    ]
    unknown = found.pop(constants.UNKNOWN_FUNDING, None)
    rows += sorted(found.values(), key=lambda f: f.funding_source)
    return rows + ([unknown] if unknown else [])


def _distribution(
    buckets: list[int], edges: Sequence[float], active: int
) -> list[DistributionBucketRead]:
    bounds: list[tuple[float, float | None]] = [(0.0, 0.0)]
    lows = [0.0, *edges]
    bounds += [(lo, hi) for lo, hi in zip(lows, edges, strict=False)]
    bounds.append((lows[-1], None))
    return [
        DistributionBucketRead(bucket=key, min_jp=lo, max_jp=hi, asn=n, percent=percent(n, active))
        for key, (lo, hi), n in zip(distribution_keys(edges), bounds, buckets, strict=True)
    ]


def _trend(session: Session, year: int, active: int) -> list[MonthTrendRead]:
    """JP credited per month and the cumulative number of ASN who had joined by each month's end;
    a credit dated outside the year (rare) counts in its nearest month of the year."""

    def month_of(y: Any, m: Any) -> int:
        y, m = int(y), int(m)
        return 1 if y < year else 12 if y > year else m

    jp = [0.0] * 13
    for y, m, value in repository.monthly_jp(session, year):
        jp[month_of(y, m)] += float(value or 0)
    first = [0] * 13
    for y, m, n in repository.first_credit_months(session, year):
        first[month_of(y, m)] += int(n)
    trend, running = [], 0
    for month in range(1, 13):
        running += first[month]
        trend.append(
            MonthTrendRead(
                month=month,
                jp=round(jp[month], 2),
                participants_cumulative=running,
                participation_percent=percent(running, active),
            )
        )
    return trend


def sort_opds(rows: Sequence[OpdTargetRead], sort: str) -> list[OpdTargetRead]:
    """The by-OPD table in the order of a ?sort= key (constants.OPD_SORT_FIELDS; "-" for
    descending); an unknown key sorts by OPD code. ASN without an OPD always come last."""
    descending = sort.startswith("-")
    field = constants.OPD_SORT_FIELDS.get(sort.lstrip("-"), "opd_code")

    def key(row: OpdTargetRead) -> tuple[Any, str]:
        value = getattr(row, field)
        return (value if value is not None else "", row.opd_code or "")

    with_opd = sorted((r for r in rows if r.opd_code is not None), key=key, reverse=descending)
    return with_opd + [r for r in rows if r.opd_code is None]


def valid_sort(sort: str | None) -> str:
    if sort and sort.lstrip("-") in constants.OPD_SORT_FIELDS:
        return sort
    return constants.DEFAULT_OPD_SORT


def years(session: Session, current: int) -> list[int]:
    """Years to choose from: every year with a credit, and this year."""
    return sorted({current, *repository.credit_years(session)}, reverse=True)


# --- the drill-down ------------------------------------------------------------------------------


def readable_opd(session: Session, principal: Principal, requested: str | None) -> str | None:
    """Which OPD's list the caller may read: officers any (or all); a kepala OPD (role opd_head)
    only their own OPD, whatever they ask for (DESIGN.md: OPD heads read their own OPD)."""
    if principal.has_any(*courses_service.RUN_MANAGERS):
        return requested
    if principal.has_any(Role.OPD_HEAD):
        own = accounts_service.profiles(session, [principal.user_id]).get(principal.user_id)
        if own is not None and own.opd_code:
            return own.opd_code
        raise Forbidden(_("Akun kepala OPD Anda belum terhubung ke OPD. Hubungi admin."))
    raise Forbidden(_("Anda tidak berwenang membuka halaman atau data ini."), code="forbidden_role")


def below_target(
    session: Session,
    year: int,
    settings: Settings,
    *,
    opd_code: str | None = None,
    page: int = 1,
    per_page: int | None = constants.BELOW_PER_PAGE,
) -> BelowTargetPageRead:
    """Active ASN below the JP target (fewest JP first), in an OPD and its unit kerja when given
    (constants.NO_OPD: without an OPD), with their competency gaps; per_page None returns every
    row (the export)."""
    target, cap = jp_target(settings), pppk_cap(settings)
    opd_ids: set[int] | None = None
    if opd_code == constants.NO_OPD:
        opd_ids = set()
    elif opd_code:
        tree = _opd_tree(session)
        opd_id = tree.by_code.get(opd_code)
        if opd_id is None:
            raise ValidationFailed(
                _("OPD dengan kode %(opd_code)s tidak ada.") % {"opd_code": repr(opd_code)},
                field="opd",
            )
        opd_ids = tree.within(opd_id)
    page = max(page, 1)
    offset = (page - 1) * per_page if per_page else 0
    rows = repository.below_target(
        session, year, pppk_cap=cap, jp_target=target, opd_ids=opd_ids, limit=per_page,
        offset=offset,
    )  # fmt: skip
    total = (
        len(rows)
        if per_page is None
        else repository.count_below_target(
            session, year, pppk_cap=cap, jp_target=target, opd_ids=opd_ids
        )
    )
    gaps = competency_service.gap_summaries(session, [int(r[0]) for r in rows], settings)
    items = []
    for user_id, nip, name, employment, code, opd_name, jp, participated in rows:
        summary = gaps.get(int(user_id))
        assessed = summary is not None and summary.jpm_percent is not None
        jp_value = round(float(jp or 0), 2)
        items.append(
            BelowTargetRowRead(
                user_id=int(user_id),
                nip=str(nip),
                name=str(name),
                employment=employment,
                opd_code=code,
                opd_name=opd_name,
                jp=jp_value,
                shortfall=round(target - jp_value, 2),
                participated=bool(participated),
                jpm_percent=summary.jpm_percent if summary else None,
                band=summary.band if summary else None,
                gap_count=summary.gap_count if assessed and summary else None,
                gap_codes=list(summary.gap_codes) if summary else [],
            )
        )
    return BelowTargetPageRead(
        year=year, opd_code=opd_code or None, jp_target=target, total=total, page=page,
        per_page=per_page, items=items,
    )  # fmt: skip


def with_opd_sort(report_: TargetsReportRead, sort: str) -> TargetsReportRead:
    """The same report with its by-OPD table in another order."""
    return report_.model_copy(update={"by_opd": sort_opds(report_.by_opd, valid_sort(sort))})


# --- for reminders and digests -------------------------------------------------------------------


def asn_jp(session: Session, year: int, settings: Settings) -> dict[int, float]:
    """The year's JP of every active ASN, PPPK cap applied (the monthly below-pace reminder):
    user id -> JP, in one query."""
    rows = repository.asn_jp(session, year, pppk_cap=pppk_cap(settings))
    return {int(uid): round(float(jp or 0), 2) for uid, jp in rows}


def top_level_opds(session: Session) -> dict[str, str]:
    """Code of every OPD and unit kerja -> code of the top-level OPD it counts in (the
    dashboard's by-OPD rows are top-level OPDs)."""
    tree = _opd_tree(session)
    return {code: tree.code[tree.root(opd_id)] for opd_id, code in tree.code.items()}


def below_target_count(session: Session, year: int, settings: Settings, opd_code: str) -> int:
    """How many active ASN of an OPD (and its unit kerja) are below the JP target (one COUNT)."""
    tree = _opd_tree(session)
    opd_id = tree.by_code.get(opd_code)
    if opd_id is None:
        return 0
    return repository.count_below_target(
        session, year, pppk_cap=pppk_cap(settings), jp_target=jp_target(settings),
        opd_ids=tree.within(opd_id),
    )  # fmt: skip
