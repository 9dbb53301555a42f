"""API routes for the competency catalog, standards and assessment imports, gaps, the gap map and
enrol-by-gap (api-v1.md, "Competency development")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, File, Query, UploadFile
from starlette.responses import Response

from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.competency import imports, service
from app.competency.constants import ImportKind
from app.competency.schemas import (
    CompetencyCreate,
    CompetencyRead,
    CompetencyUpdate,
    EnrolByGapIn,
    EnrolByGapResult,
    GapMapRead,
    GapsRead,
    ImportResult,
)
from app.core.config import Settings
from app.core.errors import PayloadTooLarge
from app.core.i18n import gettext_ as _
from app.courses import service as courses_service
from app.web.params import RowId
from app.web.routing import Router

router = Router(prefix="/api/v1", tags=["competency"])
# A file with a bad row imports nothing: 422 with the import's own report (every row's errors).
IMPORT_422: dict[int | str, dict[str, Any]] = {
    422: {"model": ImportResult, "description": "Rows with errors: nothing was imported"}
}

Officer = Annotated[Principal, Depends(require_roles(*courses_service.RUN_MANAGERS))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/competencies", response_model=list[CompetencyRead])
def list_competencies(
    db: SessionDep, principal: CurrentPrincipal, include_inactive: bool = False
) -> list[CompetencyRead]:
    """The catalog (PermenPANRB 38/2017 seeded; staff may ask for inactive ones too)."""
    return service.list_competencies(
        db, include_inactive=include_inactive and service.is_staff(principal)
    )


@router.post("/competencies", status_code=201, response_model=CompetencyRead)
def create_competency(
    data: CompetencyCreate, db: SessionDep, settings: SettingsDep, _officer: Officer
) -> CompetencyRead:
    return service.create_competency(db, data, settings)


@router.patch("/competencies/{code}", response_model=CompetencyRead)
def update_competency(
    code: str, data: CompetencyUpdate, db: SessionDep, settings: SettingsDep, _officer: Officer
) -> CompetencyRead:
    return service.update_competency(db, code, data, settings)


@router.delete("/competencies/{code}", response_model=CompetencyRead)
def deactivate_competency(
    code: str, db: SessionDep, settings: SettingsDep, _officer: Officer
) -> CompetencyRead:
    """Deactivate (never delete: assessments and course tags keep their code)."""
    return service.update_competency(db, code, CompetencyUpdate(is_active=False), settings)


def _check_size(file: UploadFile, settings: Settings) -> None:
    if file.size is not None and file.size > settings.max_roster_bytes:
        raise PayloadTooLarge(
            _("Berkas terlalu besar (maksimal %(value)s MB).")
            % {"value": settings.max_roster_bytes // (1024 * 1024)},
            code="file_too_large",
        )


@router.post("/competency/standards/import", response_model=ImportResult, responses=IMPORT_422)
def import_standards(
    file: Annotated[UploadFile, File()], db: SessionDep, settings: SettingsDep,
    principal: Officer, response: Response,
) -> ImportResult:  # fmt: skip
    """Required levels per jabatan, jenis jabatan or "*"; any error imports nothing (422)."""
    _check_size(file, settings)
    result = imports.import_standards(
        db, file.file, file_name=file.filename or "standar", user_id=principal.user_id or None,
        settings=settings,
    )  # fmt: skip
    if result.errors:
        response.status_code = 422
    return result


@router.post("/competency/assessments/import", response_model=ImportResult, responses=IMPORT_422)
def import_assessments(
    file: Annotated[UploadFile, File()], db: SessionDep, settings: SettingsDep,
    principal: Officer, response: Response,
) -> ImportResult:  # fmt: skip
    """Assessment results by NIP; same ASN + competency + date updates; any error imports
    nothing (422 with every row's errors)."""
    _check_size(file, settings)
    result = imports.import_assessments(
        db, file.file, file_name=file.filename or "asesmen", user_id=principal.user_id or None,
        settings=settings, today=service.today(),
    )  # fmt: skip
    if result.errors:
        response.status_code = 422
    return result


@router.get("/competency/{kind}/template.xlsx", response_class=Response)
def import_template(kind: ImportKind, db: SessionDep, _officer: Officer) -> Response:
    data = imports.template_xlsx(kind, service.catalog_rows(db))
    name = "templat-standar-kompetensi" if kind is ImportKind.STANDARDS else "templat-asesmen"
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


@router.get("/users/{user_id}/gaps", response_model=GapsRead)
def user_gaps(
    user_id: RowId, db: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
) -> GapsRead:
    """The ASN's gaps, JPM, band and recommendations: the ASN themself or staff (404 else)."""
    return service.user_gaps(db, user_id, principal, settings)


@router.get("/me/gaps", response_model=GapsRead)
def my_gaps(db: SessionDep, settings: SettingsDep, principal: CurrentPrincipal) -> GapsRead:
    return service.user_gaps(db, principal.user_id, principal, settings)


@router.get("/reports/gap-map", response_model=GapMapRead)
def gap_map(
    db: SessionDep,
    _officer: Officer,
    competency_group: Annotated[str | None, Query()] = None,
    opd: Annotated[str | None, Query()] = None,
) -> GapMapRead:
    """Competency × OPD: share of assessed active ASN whose latest level is below standard."""
    return service.gap_map(db, group=competency_group or None, opd_code=opd or None)


@router.post("/competency/enrol-by-gap", response_model=EnrolByGapResult)
def enrol_by_gap(data: EnrolByGapIn, db: SessionDep, principal: Officer) -> EnrolByGapResult:
    """Enrol every ASN with a gap in the competency (optionally one OPD) into the run;
    `dry_run` returns the preview list only."""
    return service.enrol_by_gap(db, data, principal)
