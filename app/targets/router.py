"""API routes for the targets domain (api-v1.md: GET /api/v1/reports/targets), plus the
drill-down list of ASN below the JP target; both export XLSX with ?format=xlsx."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import Depends, Query
from starlette.responses import Response

from app.accounts.constants import Role
from app.audit import service as audit
from app.auth.dependencies import SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.competency import service as competency_service
from app.courses import service as courses_service
from app.targets import constants, exports, service
from app.targets.pages import labels
from app.targets.schemas import (
    BelowTargetPageRead,
    TargetsReportRead,
)
from app.web.params import PageNumber
from app.web.routing import Router

router = Router(prefix="/api/v1", tags=["targets"])

Officer = Annotated[Principal, Depends(require_roles(*courses_service.RUN_MANAGERS))]
# The below-target list is also for a kepala OPD, scoped to their own OPD (service.readable_opd).
Reader = Annotated[Principal, Depends(require_roles(*courses_service.RUN_MANAGERS, Role.OPD_HEAD))]
Year = Annotated[int | None, Query(ge=2000, le=2100)]
Format = Annotated[Literal["json", "xlsx"], Query()]


def _xlsx(data: bytes, name: str) -> Response:
    return Response(
        data,
        media_type=exports.XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


@router.get("/reports/targets", response_model=TargetsReportRead)
def targets_report(
    db: SessionDep,
    settings: SettingsDep,
    _officer: Officer,
    year: Year = None,
    sort: Annotated[str | None, Query(max_length=32)] = None,
    format: Format = "json",
) -> TargetsReportRead | Response:
    """Participation and JP compliance of the active ASN for a year (default: this year), by OPD
    (`sort` as on the dashboard), by funding source, the JP distribution and the monthly trend."""
    year = year or courses_service.today().year
    report = service.with_opd_sort(service.report(db, year, settings), sort or "")
    if format == "xlsx":
        texts = labels()
        return _xlsx(
            exports.report_xlsx(
                report,
                funding_labels=texts["funding"],
                bucket_labels=texts["buckets"],
                month_names=texts["months"],
            ),
            f"target-jp-{year}",
        )
    return report


@router.get("/reports/targets/below", response_model=BelowTargetPageRead)
def below_target(
    db: SessionDep,
    settings: SettingsDep,
    principal: Reader,
    year: Year = None,
    opd: Annotated[str | None, Query(max_length=32)] = None,
    page: PageNumber = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = constants.BELOW_PER_PAGE,
    format: Format = "json",
) -> BelowTargetPageRead | Response:
    """Active ASN below the annual JP target (fewest JP first) with their competency gaps, in an
    OPD and its unit kerja when `opd` (a code) is given; `format=xlsx` exports every row. A
    kepala OPD (opd_head) gets their own OPD whatever `opd` says."""
    year = year or courses_service.today().year
    opd = service.readable_opd(db, principal, opd or None)
    result = service.below_target(
        db, year, settings, opd_code=opd or None, page=page,
        per_page=None if format == "xlsx" else per_page,
    )  # fmt: skip
    if format == "xlsx":
        name = f"di-bawah-target-jp-{year}" + (
            f"-{re.sub(r'[^A-Za-z0-9_-]', '', opd)}" if opd else ""
        )
        audit.exported(db, "below_target", rows=len(result.items), fmt="xlsx",
                       filters={"year": year, "opd": opd})  # fmt: skip
        data = exports.below_xlsx(
            result.items,
            band_labels=labels()["bands"],
            names=competency_service.competency_names(db),
        )
        return _xlsx(data, name)
    return result
