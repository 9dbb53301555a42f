"""HTML pages of the competency domain: catalog editor, imports, gap map, per-ASN and learner
pages, enrol-by-gap. Rules are the service's; routes parse forms and render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, File, Request, UploadFile
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.competency import imports, repository, service
from app.competency.constants import GROUP_LABELS, CompetencyGroup, ImportKind
from app.competency.schemas import CompetencyCreate, CompetencyUpdate, EnrolByGapIn, GapMapRead
from app.core.config import Settings
from app.core.errors import LMSError, ValidationFailed, pydantic_message
from app.core.i18n import gettext_ as _
from app.core.numbers import row_id
from app.courses import service as courses_service
from app.web.params import RowId
from app.web.routing import Router
from app.web.templating import render

router = Router(include_in_schema=False)

STANDARDS_SHOWN = 1000
Officer = Annotated[Principal, Depends(require_roles(*courses_service.RUN_MANAGERS))]
# Heatmap colour steps (share of assessed ASN with a gap, %): light to dark, each with a text
# colour that keeps 4.5:1 contrast; the number is always printed in the cell too.
HEAT_STEPS = (
    (0, "#e8f5e9", "#1b3a1d"),
    (1, "#fff8e1", "#4a3b00"),
    (25, "#ffe0b2", "#4a2800"),
    (50, "#ffab91", "#3e1200"),
    (75, "#bf360c", "#ffffff"),  # 5.6:1 (#d84315 was 4.4:1)
)


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form as plain strings (CSRF was checked by the principal dependency)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


FormFields = Annotated[dict[str, str], Depends(form_fields)]


def _errors_of(exc: Exception) -> tuple[str, dict[str, str]]:
    if isinstance(exc, ValidationError):
        fields = {str(e["loc"][0]): pydantic_message(e) for e in exc.errors() if e["loc"]}
        return _("Periksa kembali isian yang ditandai."), fields
    assert isinstance(exc, LMSError)
    listed = getattr(exc, "errors", None) or []
    return exc.detail, {str(e["field"]): str(e["message"]) for e in listed if e.get("field")}


def band_labels() -> dict[str, str]:
    return {
        "optimal": _("Optimal"),
        "cukup_optimal": _("Cukup optimal"),
        "kurang_optimal": _("Kurang optimal"),
    }


def group_labels() -> dict[str, str]:
    return {g.value: _(label) for g, label in GROUP_LABELS.items()}


def heat(percent: float) -> tuple[str, str]:
    background, colour = HEAT_STEPS[0][1], HEAT_STEPS[0][2]
    for minimum, bg, fg in HEAT_STEPS:
        if percent >= minimum and (minimum > 0 or percent == 0):
            background, colour = bg, fg
    return background, colour


def _crumbs(*tail: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    """Breadcrumbs under "Pengembangan kompetensi" (base.html shows them)."""
    return [(_("Pengembangan kompetensi"), "/studio/competency"), *tail]


# --- hub and catalog ----------------------------------------------------------------------------


@router.get("/studio/competency")
def hub_page(request: Request, db: SessionDep, _officer: Officer) -> Response:
    return render(
        request,
        "competency/hub.html",
        {"imports": repository.recent_imports(db), "kinds": _import_titles()},
    )


def _catalog_page(
    request: Request, db: SessionDep, *, values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None, error: str | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    return render(
        request,
        "competency/catalog.html",
        {
            "competencies": service.list_competencies(db, include_inactive=True),
            "groups": service.group_choices(),
            "group_labels": group_labels(),
            "values": values or {"group": CompetencyGroup.TEKNIS.value, "max_level": "5"},
            "breadcrumbs": _crumbs((_("Katalog kompetensi"), None)),
            "errors": errors or {},
            "error": error,
            "saved": request.query_params.get("saved"),
        },
        status_code=status_code,
    )


@router.get("/studio/competency/catalog")
def catalog_page(request: Request, db: SessionDep, _officer: Officer) -> Response:
    return _catalog_page(request, db)


def _descriptions(fields: dict[str, str]) -> list[str]:
    return [line.strip() for line in fields.get("level_descriptions", "").splitlines()]


@router.post("/studio/competency/catalog")
def create_competency_page(
    request: Request, db: SessionDep, settings: SettingsDep, _officer: Officer, fields: FormFields
) -> Response:
    try:
        data = CompetencyCreate.model_validate({
            "code": fields.get("code", "").strip(), "name": fields.get("name", "").strip(),
            "group": fields.get("group") or "teknis",
            "description": fields.get("description") or None,
            "max_level": fields.get("max_level") or 5,
            "level_descriptions": _descriptions(fields),
        })  # fmt: skip
        created = service.create_competency(db, data, settings)
    except (LMSError, ValidationError) as exc:
        db.rollback()
        message, errors = _errors_of(exc)
        return _catalog_page(request, db, values=fields, errors=errors, error=message,
                             status_code=getattr(exc, "status_code", 422))  # fmt: skip
    return RedirectResponse(f"/studio/competency/catalog?saved={created.code}", status_code=303)


def _edit_page(
    request: Request, db: SessionDep, code: str, *, values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None, error: str | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    competency = service.to_read(service.get_competency(db, code))
    if values is None:
        values = {
            "name": competency.name, "group": competency.group,
            "description": competency.description or "", "max_level": str(competency.max_level),
            "level_descriptions": "\n".join(lv.description or "" for lv in competency.levels),
            "is_active": "on" if competency.is_active else "",
        }  # fmt: skip
    return render(
        request,
        "competency/edit.html",
        {"c": competency, "values": values, "errors": errors or {}, "error": error,
         "groups": service.group_choices(),
         "breadcrumbs": _crumbs((_("Katalog kompetensi"), "/studio/competency/catalog"),
                                (competency.name, None))},
        status_code=status_code,
    )  # fmt: skip


@router.get("/studio/competency/catalog/{code}")
def edit_competency_page(
    request: Request, code: str, db: SessionDep, _officer: Officer
) -> Response:
    return _edit_page(request, db, code)


@router.post("/studio/competency/catalog/{code}")
def update_competency_page(
    request: Request, code: str, db: SessionDep, settings: SettingsDep, _officer: Officer,
    fields: FormFields,
) -> Response:  # fmt: skip
    service.get_competency(db, code)  # 404 before reading the form
    try:
        data = CompetencyUpdate.model_validate({
            "name": fields.get("name", "").strip(), "group": fields.get("group") or None,
            "description": fields.get("description") or None,
            "max_level": fields.get("max_level") or None,
            "level_descriptions": _descriptions(fields),
            "is_active": fields.get("is_active") == "on",
        })  # fmt: skip
        service.update_competency(db, code, data, settings)
    except (LMSError, ValidationError) as exc:
        db.rollback()
        message, errors = _errors_of(exc)
        return _edit_page(request, db, code, values=fields, errors=errors, error=message,
                          status_code=getattr(exc, "status_code", 422))  # fmt: skip
    return RedirectResponse(f"/studio/competency/catalog?saved={code}", status_code=303)


# --- imports ------------------------------------------------------------------------------------


def _import_titles() -> dict[str, str]:
    return {
        ImportKind.STANDARDS.value: _("Impor standar kompetensi jabatan"),
        ImportKind.ASSESSMENTS.value: _("Impor hasil asesmen kompetensi"),
    }


def _import_page(
    request: Request, db: SessionDep, kind: ImportKind, *, result: Any = None,
    error: str | None = None, filename: str | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    standards = repository.standards(db) if kind is ImportKind.STANDARDS else []
    return render(
        request,
        "competency/import.html",
        {"kind": kind.value, "title": _import_titles()[kind.value], "result": result,
         "error": error, "filename": filename, "standards": standards[:STANDARDS_SHOWN],
         "standards_total": len(standards), "names": service.competency_names(db),
         "breadcrumbs": _crumbs((_import_titles()[kind.value], None))},
        status_code=status_code,
    )  # fmt: skip


@router.get("/studio/competency/import/{kind}")
def import_page(request: Request, kind: ImportKind, db: SessionDep, _officer: Officer) -> Response:
    return _import_page(request, db, kind)


@router.post("/studio/competency/import/{kind}")
def import_upload(
    request: Request, kind: ImportKind, db: SessionDep, settings: SettingsDep,
    principal: Officer, file: Annotated[UploadFile, File()],
) -> Response:  # fmt: skip
    try:
        _check_size(file, settings)
        common: dict[str, Any] = {
            "file_name": file.filename or kind.value, "user_id": principal.user_id or None,
            "settings": settings,
        }  # fmt: skip
        if kind is ImportKind.STANDARDS:
            result = imports.import_standards(db, file.file, **common)
        else:
            result = imports.import_assessments(db, file.file, today=service.today(), **common)
    except LMSError as exc:
        db.rollback()
        return _import_page(request, db, kind, error=exc.detail, status_code=exc.status_code)
    return _import_page(request, db, kind, result=result, filename=file.filename,
                        status_code=422 if result.errors else 200)  # fmt: skip


def _check_size(file: UploadFile, settings: Settings) -> None:
    if file.size is not None and file.size > settings.max_roster_bytes:
        raise ValidationFailed(_("Berkas terlalu besar."), field="file", code="file_too_large")


# --- gap map ------------------------------------------------------------------------------------


def _heatmap(data: GapMapRead) -> list[dict[str, Any]]:
    """Rows per OPD with one cell per competency (None where nobody was assessed)."""
    cells = {(c.opd_code, c.competency): c for c in data.cells}
    rows = []
    for opd in data.opds:
        row_cells: list[dict[str, Any] | None] = []
        for comp in data.competencies:
            cell = cells.get((opd.code, comp.code))
            if cell is None:
                row_cells.append(None)
                continue
            background, colour = heat(cell.gap_percent)
            row_cells.append({"cell": cell, "bg": background, "fg": colour, "competency": comp})
        rows.append({"opd": opd, "cells": row_cells})
    return rows


@router.get("/studio/competency/gap-map")
def gap_map_page(
    request: Request, db: SessionDep, _officer: Officer,
    competency_group: str | None = None, opd: str | None = None,
) -> Response:  # fmt: skip
    error = None
    try:
        data = service.gap_map(db, group=competency_group or None, opd_code=opd or None)
    except ValidationFailed as exc:
        error = exc.detail
        data = GapMapRead(competencies=[], opds=[], cells=[])
    return render(
        request,
        "competency/gap_map.html",
        {
            "data": data, "rows": _heatmap(data), "groups": service.group_choices(),
            "opds": repository.opds(db), "group": competency_group or "", "opd": opd or "",
            "error": error, "legend": [(m, bg, fg) for m, bg, fg in HEAT_STEPS],
            "breadcrumbs": _crumbs((_("Peta kesenjangan kompetensi"), None)),
        },
        status_code=422 if error else 200,
    )  # fmt: skip


# --- per ASN ------------------------------------------------------------------------------------


@router.get("/studio/competency/asn")
def asn_search_page(request: Request, db: SessionDep, _officer: Officer, q: str = "") -> Response:
    q = q.strip()
    found = repository.search_users(db, q) if len(q) >= 2 else []
    crumbs = _crumbs((_("Kompetensi per ASN"), None))
    return render(
        request,
        "competency/asn_search.html",
        {"q": q, "found": found, "breadcrumbs": crumbs},
    )


def _gaps_context(
    db: SessionDep, user_id: int, principal: Principal, settings: Settings
) -> dict[str, Any]:
    gaps = service.user_gaps(db, user_id, principal, settings)
    return {
        "g": gaps,
        "band_label": band_labels().get(gaps.band or "", ""),
        "group_labels": group_labels(),
    }


@router.get("/studio/competency/asn/{user_id}")
def asn_page(
    request: Request, user_id: RowId, db: SessionDep, settings: SettingsDep, principal: Officer
) -> Response:
    context = _gaps_context(db, user_id, principal, settings)
    brief = repository.user_brief(db, user_id)
    history = repository.assessment_history(db, user_id)
    return render(
        request,
        "competency/asn.html",
        {
            **context,
            "u": brief,
            "history": history,
            "names": service.competency_names(db),
            "breadcrumbs": _crumbs(
                (_("Kompetensi per ASN"), "/studio/competency/asn"), (brief[1], None)
            ),
        },
    )


@router.get("/my/kompetensi")
def my_competency_page(
    request: Request, db: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
) -> Response:
    context = _gaps_context(db, principal.user_id, principal, settings)
    return render(request, "competency/mine.html", context)


# --- enrol by gap -------------------------------------------------------------------------------


def _enrol_page(
    request: Request, db: SessionDep, *, values: dict[str, str], preview: Any = None,
    result: Any = None, error: str | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    runs = repository.open_runs(db, service.today(), values.get("competency") or None)
    return render(
        request,
        "competency/enrol.html",
        {"values": values, "preview": preview, "result": result, "error": error, "runs": runs,
         "competencies": service.list_competencies(db), "opds": repository.opds(db),
         "breadcrumbs": _crumbs((_("Daftarkan berdasarkan kesenjangan"), None))},
        status_code=status_code,
    )  # fmt: skip


def _enrol_input(values: dict[str, str], *, dry_run: bool) -> EnrolByGapIn:
    run = values.get("run_id", "")
    if not values.get("competency"):
        raise ValidationFailed(_("Pilih kompetensi."), field="competency")
    run_id = row_id(run)
    if run_id is None:
        raise ValidationFailed(_("Pilih angkatan tujuan."), field="run_id")
    return EnrolByGapIn(
        competency=values["competency"], opd_code=values.get("opd") or None, run_id=run_id,
        dry_run=dry_run,
    )  # fmt: skip


@router.get("/studio/competency/enrol")
def enrol_page(
    request: Request, db: SessionDep, principal: Officer,
    competency: str = "", opd: str = "", run_id: str = "",
) -> Response:  # fmt: skip
    """The form; with a competency, the ASN with a gap (from a gap map cell too); with a run as
    well, the confirm button."""
    values = {"competency": competency, "opd": opd, "run_id": run_id}
    if not competency:
        return _enrol_page(request, db, values=values)
    try:
        if run_id:
            result = service.enrol_by_gap(db, _enrol_input(values, dry_run=True), principal)
            candidates = result.candidates
        else:
            candidates = service.gap_candidates(db, competency, opd_code=opd or None)
    except LMSError as exc:
        return _enrol_page(request, db, values=values, error=exc.detail,
                           status_code=exc.status_code)  # fmt: skip
    preview = {"candidates": candidates, "ready": bool(run_id)}
    return _enrol_page(request, db, values=values, preview=preview)


@router.post("/studio/competency/enrol")
def enrol_confirm(
    request: Request, db: SessionDep, principal: Officer, fields: FormFields
) -> Response:
    values = {k: fields.get(k, "") for k in ("competency", "opd", "run_id")}
    try:
        result = service.enrol_by_gap(db, _enrol_input(values, dry_run=False), principal)
    except LMSError as exc:
        db.rollback()
        return _enrol_page(request, db, values=values, error=exc.detail,
                           status_code=exc.status_code)  # fmt: skip
    return _enrol_page(request, db, values=values, result=result)
