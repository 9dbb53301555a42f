"""HTML pages of the targets domain: the officer dashboard (/studio/targets) with server-side SVG
charts, and the drill-down of ASN below the JP target (/studio/targets/below)."""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import urlencode

from babel.dates import get_month_names
from fastapi import Depends, Query, Request
from starlette.responses import Response

from app.accounts.constants import Role
from app.auth.dependencies import SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.competency import service as competency_service
from app.core.i18n import current_locale
from app.core.i18n import gettext_ as _
from app.courses import service as courses_service
from app.courses.constants import funding_labels
from app.targets import charts, constants, service
from app.targets.schemas import TargetsReportRead
from app.web.params import PageNumber
from app.web.routing import Router
from app.web.templating import render

router = Router(prefix="/studio/targets", include_in_schema=False)

Officer = Annotated[Principal, Depends(require_roles(*courses_service.RUN_MANAGERS))]
# The below-target list is also for a kepala OPD, scoped to their own OPD (service.readable_opd).
Reader = Annotated[Principal, Depends(require_roles(*courses_service.RUN_MANAGERS, Role.OPD_HEAD))]
Year = Annotated[int | None, Query(ge=2000, le=2100)]


def labels() -> dict[str, Any]:
    """UI texts of the dashboard, its exports and the drill-down."""
    locale = current_locale.get()
    bounds = [0.0, *constants.DISTRIBUTION_EDGES]
    buckets = {"0": _("0 JP")}
    keys = service.distribution_keys()
    for key, lo, hi in zip(keys[1:], bounds, bounds[1:], strict=False):
        low = charts.number(lo, decimals=0)
        buckets[key] = (
            _("> 0 – < %(hi)s JP") % {"hi": charts.number(hi, decimals=0)}
            if lo == 0
            else _("%(lo)s – < %(hi)s JP") % {"lo": low, "hi": charts.number(hi, decimals=0)}
        )
    buckets[keys[-1]] = _("≥ %(lo)s JP") % {"lo": charts.number(bounds[-1], decimals=0)}
    # The chart's column labels: 64 units wide each, so without spaces and the unit.
    short = {key: text.replace(" JP", "").replace(" ", "") for key, text in buckets.items()}
    return {
        "funding": {**funding_labels(), constants.UNKNOWN_FUNDING: _("Tidak diketahui")},
        "buckets": buckets,
        "buckets_short": short,
        # CLDR month names in the reader's language (Babel) rather than our own list.
        "months": list(get_month_names("wide", locale=locale).values()),
        "months_short": list(get_month_names("abbreviated", locale=locale).values()),
        "bands": {
            "optimal": _("Optimal"),
            "cukup_optimal": _("Cukup optimal"),
            "kurang_optimal": _("Kurang optimal"),
        },
        "no_opd": _("Tanpa OPD"),
    }


def _sort_links(current: str) -> dict[str, dict[str, str]]:
    """Per column key: the href that sorts by it (toggling on the current column) and aria-sort."""
    links = {}
    field, descending = current.lstrip("-"), current.startswith("-")
    for key in constants.OPD_SORT_FIELDS:
        active = key == field
        target = ("" if descending else "-") + key if active else key
        links[key] = {
            "sort": target,
            "aria": ("descending" if descending else "ascending") if active else "none",
        }
    return links


def _charts(report: TargetsReportRead, texts: dict[str, Any]) -> dict[str, charts.Chart]:
    n = charts.number
    target_text = _("Target %(p)s %%") % {"p": n(report.participation_target_percent)}
    opd_rows = [
        charts.HBarRow(
            label=f"{o.opd_code} · {o.opd_name}" if o.opd_code else texts["no_opd"],
            values=[o.participation_percent, o.jp_compliance_percent],
            texts=[f"{n(o.participation_percent)} %", f"{n(o.jp_compliance_percent)} %"],
        )
        for o in report.by_opd
    ]
    top_jp = max((f.jp for f in report.by_funding_source), default=0.0)
    funding_rows = [
        charts.HBarRow(
            label=texts["funding"].get(f.funding_source, f.funding_source),
            values=[f.jp],
            texts=[
                _("%(jp)s JP · %(n)s ASN") % {"jp": n(f.jp, decimals=0), "n": n(f.participants)}
            ],
        )
        for f in report.by_funding_source
    ]
    if not any(o.participated or o.jp_compliant for o in report.by_opd):
        opd_rows = []  # nobody took part yet: "no data yet" rather than a column of 0 % bars
    if not any(f.jp > 0 for f in report.by_funding_source):
        funding_rows = []  # no JP from any source yet: the empty state, not zero-length bars
    return {
        "opd": charts.hbars(
            opd_rows,
            scale_max=100,
            target=report.participation_target_percent,
            target_text=target_text,
        ),
        "funding": charts.hbars(funding_rows, scale_max=top_jp, text_on_label_line=True),
        "distribution": charts.columns(
            [d.asn for d in report.distribution],
            [texts["buckets_short"][d.bucket] for d in report.distribution],
            [n(d.asn) for d in report.distribution],
        ),
        "trend": charts.trend(
            [t.jp for t in report.trend],
            [
                _("%(m)s: %(jp)s JP") % {"m": texts["months"][t.month - 1], "jp": n(t.jp)}
                for t in report.trend
            ],
            [t.participation_percent for t in report.trend],
            texts["months_short"],
            target=report.participation_target_percent,
            target_text=target_text,
        ),
    }


@router.get("")
def dashboard_page(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    _officer: Officer,
    year: Year = None,
    sort: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """Participation and JP compliance against the targets, with every table and chart."""
    current = courses_service.today().year
    year = year or current
    sort_key = service.valid_sort(sort)
    report = service.with_opd_sort(service.report(db, year, settings), sort_key)
    texts = labels()
    return render(
        request,
        "targets/dashboard.html",
        {
            "r": report,
            "year": year,
            "years": service.years(db, current),
            "sort": sort_key,
            "sort_links": _sort_links(sort_key),
            "charts": _charts(report, texts),
            "labels": texts,
            "no_opd": constants.NO_OPD,
            "n": charts.number,
            "export_url": "/api/v1/reports/targets?"
            + urlencode({"year": year, "sort": sort_key, "format": "xlsx"}),
        },
    )


@router.get("/below")
def below_target_page(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: Reader,
    year: Year = None,
    opd: Annotated[str | None, Query(max_length=32)] = None,
    page: PageNumber = 1,
) -> Response:
    """ASN below the annual JP target, fewest JP first, with their competency gaps (a kepala
    OPD sees their own OPD only)."""
    current = courses_service.today().year
    year = year or current
    opd = service.readable_opd(db, principal, opd or None)
    officer = principal.has_any(*courses_service.RUN_MANAGERS)
    result = service.below_target(db, year, settings, opd_code=opd or None, page=page)
    query = urlencode({k: v for k, v in {"year": year, "opd": opd or ""}.items() if v})
    return render(
        request,
        "targets/below.html",
        {
            "p": result,
            "year": year,
            "years": service.years(db, current),
            "opds": service.opd_choices(db) if officer else [],
            "officer": officer,
            "opd": opd or "",
            "competency_names": competency_service.competency_names(db),
            "query": query,
            "pages": max(1, math.ceil(result.total / (result.per_page or 1))),
            "labels": labels(),
            "no_opd": constants.NO_OPD,
            "n": charts.number,
            "export_url": f"/api/v1/reports/targets/below?{query}&format=xlsx",
        },
    )
