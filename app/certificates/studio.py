"""Officer and template-editor pages for certificates (studio): the run monitor, bulk issue with a
progress bar, the certificate list, revoke and re-issue. HTML only; the rules are the service's."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Form, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from app.accounts import service as accounts_service
from app.audit import service as audit
from app.auth.dependencies import SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.certificates import exports, service
from app.certificates.pages import labels as certificate_labels
from app.certificates.schemas import ParticipantRow
from app.core.config import Settings
from app.core.errors import LMSError, ValidationFailed
from app.core.i18n import gettext_ as _
from app.courses import service as courses_service
from app.web.params import RowId
from app.web.routing import Router
from app.web.templating import render

router = Router(prefix="/studio", tags=["pages"], include_in_schema=False)

Officer = Annotated[Principal, Depends(require_roles("training_officer", "admin"))]
FormText = Annotated[str | None, Form()]

PER_PAGE = 50
MONITOR_STATUSES = (
    "completed",
    "not_completed",
    "eligible",
    "ineligible",
    "certified",
    "uncertified",
)
JOB_RUNNING = frozenset({"queued", "running"})


# --- labels --------------------------------------------------------------------------------------


def monitor_status_labels() -> dict[str, str]:
    return {
        "completed": _("Selesai"),
        "not_completed": _("Belum selesai"),
        "eligible": _("Memenuhi syarat sertifikat"),
        "ineligible": _("Belum memenuhi syarat"),
        "certified": _("Sudah bersertifikat"),
        "uncertified": _("Belum bersertifikat"),
    }


def job_state_labels() -> dict[str, str]:
    return {
        "queued": _("Menunggu giliran"),
        "running": _("Sedang berjalan"),
        "done": _("Selesai"),
        "failed": _("Gagal"),
    }


def item_state_labels() -> dict[str, str]:
    return {
        "pending": _("Menunggu"),
        "issued": _("Diterbitkan"),
        "ineligible": _("Belum memenuhi syarat"),
        "certified": _("Sudah bersertifikat"),
        "failed": _("Gagal"),
    }


def _notice(key: str | None) -> str | None:
    """Success messages asked for by a redirect (known keys only: no text from the URL)."""
    return {
        "revoked": _("Sertifikat dicabut. Kredit JP-nya ditarik."),
        "reissued": _("Sertifikat diterbitkan ulang; versi lama kini berstatus digantikan."),
    }.get(key or "")


# --- run monitor ---------------------------------------------------------------------------------


def _matches(row: ParticipantRow, status: str, opd: str, q: str) -> bool:
    """The monitor's filters: status group, OPD code and a name/NIP search."""
    if opd and (row.opd or "") != opd:
        return False
    if q:
        needle = q.casefold()
        if needle not in (row.name or "").casefold() and needle not in (row.nip or ""):
            return False
    certified = row.certificate_status == "valid"
    return {
        "": True,
        "completed": row.completed_at is not None,
        "not_completed": row.completed_at is None,
        "eligible": bool(row.eligible),
        "ineligible": not row.eligible,
        "certified": certified,
        "uncertified": not certified,
    }.get(status, True)


def issuable(row: ParticipantRow) -> bool:
    """A certificate can be issued now: eligible and holding no valid one."""
    return bool(row.eligible) and row.certificate_status != "valid"


def filter_rows(
    rows: Iterable[ParticipantRow], status: str, opd: str, q: str
) -> list[ParticipantRow]:
    return [r for r in rows if _matches(r, status, opd, q.strip())]


def _run_context(db: Session, run_id: int, principal: Principal) -> dict[str, Any]:
    run = courses_service.get_run(db, run_id)
    course = courses_service.course_detail(db, run.course_id, principal)
    brief = next(r for r in course.runs if r.id == run.id)
    crumbs = [
        (_("Studio"), "/studio"),
        (course.title, f"/studio/courses/{course.id}/runs"),
        (brief.name, f"/studio/runs/{run.id}"),
        (_("Pemantauan peserta"), f"/studio/runs/{run.id}/monitor"),
    ]
    return {"course": course, "run": brief, "breadcrumbs": crumbs}


@router.get("/runs/{run_id}/monitor")
def run_monitor_page(
    request: Request,
    run_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: Officer,
    status: str = "",
    opd: str = "",
    q: str = "",
) -> Response:
    context = _run_context(db, run_id, principal)
    rows = service.run_monitor(db, run_id, settings)
    shown = filter_rows(rows, status if status in MONITOR_STATUSES else "", opd, q)
    query = urlencode({k: v for k, v in {"status": status, "opd": opd, "q": q}.items() if v})
    return render(
        request,
        "certificates/studio/monitor.html",
        {
            **context,
            "rows": shown,
            "total": len(rows),
            "eligible_uncertified": sum(1 for r in rows if issuable(r)),
            "selectable": sum(1 for r in shown if issuable(r)),
            "certified": sum(1 for r in rows if r.certificate_status == "valid"),
            "opds": sorted({r.opd for r in rows if r.opd}),
            "filters": {"status": status, "opd": opd, "q": q},
            "query": query,
            "status_labels": monitor_status_labels(),
            "labels": certificate_labels(),
        },
    )


@router.get("/runs/{run_id}/monitor.xlsx")
def run_monitor_xlsx(
    run_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    _officer: Officer,
    status: str = "",
    opd: str = "",
    q: str = "",
) -> Response:
    """The monitor as a spreadsheet, with the filters the officer is looking at."""
    courses_service.get_run(db, run_id)  # 404 for an unknown run
    rows = service.run_monitor(db, run_id, settings)
    shown = filter_rows(rows, status if status in MONITOR_STATUSES else "", opd, q)
    audit.exported(db, "run_monitor", rows=len(shown), fmt="xlsx", target=("run", run_id))
    return Response(
        exports.monitor_xlsx(shown),
        media_type=exports.XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="monitor-angkatan-{run_id}.xlsx"'},
    )


@router.post("/runs/{run_id}/certificates")
def issue_page(
    request: Request,
    run_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: Officer,
    user_ids: Annotated[list[RowId] | None, Form()] = None,
    scope: FormText = None,
) -> Response:
    """Start a bulk issue (all eligible, or the ticked participants) and show its progress."""
    courses_service.get_run(db, run_id)
    chosen = user_ids if scope == "selected" else None
    if scope == "selected" and not chosen:
        raise ValidationFailed(_("Centang dulu peserta yang akan diterbitkan sertifikatnya."))
    if chosen is None and not any(issuable(r) for r in service.run_monitor(db, run_id, settings)):
        raise ValidationFailed(
            _("Belum ada peserta yang memenuhi syarat dan belum bersertifikat di angkatan ini.")
        )
    job_id = service.start_issue_job(db, run_id, chosen, principal.user_id, settings)
    return RedirectResponse(f"/studio/certificate-jobs/{job_id}", status_code=303)


def _job_context(db: Session, job_id: str) -> dict[str, Any]:
    job = service.job_status(db, job_id)
    return {
        "job": job,
        "people": accounts_service.profiles(db, [i.user_id for i in job.items]),
        "done": job.issued_count + job.ineligible_count + job.certified_count + job.failed_count,
        "running": job.state in JOB_RUNNING,
        "state_labels": job_state_labels(),
        "item_labels": item_state_labels(),
    }


@router.get("/certificate-jobs/{job_id}")
def job_page(request: Request, job_id: str, db: SessionDep, principal: Officer) -> Response:
    """The bulk issue's progress page: htmx polls the fragment; without JS the page refreshes."""
    context = _job_context(db, job_id)
    context.update(_run_context(db, context["job"].run_id, principal))
    context["breadcrumbs"] = [*context["breadcrumbs"], (_("Penerbitan sertifikat"), None)]
    return render(request, "certificates/studio/job.html", context)


@router.get("/certificate-jobs/{job_id}/progress")
def job_progress_fragment(
    request: Request, job_id: str, db: SessionDep, _principal: Officer
) -> Response:
    return render(request, "certificates/studio/_job_progress.html", _job_context(db, job_id))


# --- certificate list, detail, revoke, re-issue --------------------------------------------------


@router.get("/certificates")
def certificates_page(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    _principal: Officer,
    q: str = "",
    status: str = "",
    run_id: RowId | None = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    page: int = 1,
) -> Response:
    page = max(page, 1)
    filters = service.CertificateFilter(
        q=q.strip()[:100] or None,
        status=status if status in certificate_labels()["status"] else None,
        run_id=run_id,
        year=year,
        page=page,
        per_page=PER_PAGE,
    )
    result = service.list_certificates(db, filters, settings)
    total, rows = result.total, result.items
    params = {"q": q, "status": status, "run_id": run_id or "", "year": year or ""}
    query = urlencode({k: v for k, v in params.items() if v})
    return render(
        request,
        "certificates/studio/list.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max(1, math.ceil(total / PER_PAGE)),
            "filters": {"q": q, "status": status, "run_id": run_id or "", "year": year or ""},
            "query": query,
            "labels": certificate_labels(),
        },
    )


def _detail(
    request: Request,
    db: Session,
    settings: Settings,
    certificate_id: int,
    principal: Principal,
    *,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    certificate = service.certificate_detail(db, certificate_id, principal, settings)
    return render(
        request,
        "certificates/studio/detail.html",
        {
            "c": certificate,
            "notice": _notice(notice),
            "errors": errors or {},
            "values": values or {},
            "labels": certificate_labels(),
            "breadcrumbs": [
                (_("Kelola sertifikat"), "/studio/certificates"),
                (certificate.number, None),
            ],
        },
        status_code=status_code,
    )


@router.get("/certificates/{certificate_id}")
def certificate_detail_page(
    request: Request,
    certificate_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: Officer,
    notice: str | None = None,
) -> Response:
    return _detail(request, db, settings, certificate_id, principal, notice=notice)


def _reason(reason: str | None, field: str) -> str:
    text = (reason or "").strip()
    if len(text) < 5:
        raise ValidationFailed(_("Tuliskan alasan (minimal 5 karakter)."), field=field)
    return text[:500]


def _failed(
    request: Request,
    db: Session,
    settings: Settings,
    certificate_id: int,
    principal: Principal,
    exc: LMSError,
    field: str,
    values: dict[str, str],
) -> Response:
    db.rollback()
    return _detail(
        request,
        db,
        settings,
        certificate_id,
        principal,
        errors={field: exc.detail},
        values=values,
        status_code=exc.status_code,
    )


@router.post("/certificates/{certificate_id}/revoke")
def revoke_page(
    request: Request,
    certificate_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: Officer,
    reason: FormText = None,
) -> Response:
    try:
        service.get_certificate(db, certificate_id, principal)
        service.revoke(db, certificate_id, _reason(reason, "reason"), principal.user_id)
    except LMSError as exc:
        return _failed(
            request,
            db,
            settings,
            certificate_id,
            principal,
            exc,
            "reason",
            {"reason": reason or ""},
        )
    return RedirectResponse(
        f"/studio/certificates/{certificate_id}?notice=revoked", status_code=303
    )


@router.post("/certificates/{certificate_id}/reissue")
def reissue_page(
    request: Request,
    certificate_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: Officer,
    reissue_reason: FormText = None,
) -> Response:
    """A new version from the holder's current profile (e.g. a corrected name)."""
    try:
        service.get_certificate(db, certificate_id, principal)
        new = service.reissue(
            db,
            certificate_id,
            principal.user_id,
            _reason(reissue_reason, "reissue_reason"),
            settings,
        )
    except LMSError as exc:
        return _failed(
            request,
            db,
            settings,
            certificate_id,
            principal,
            exc,
            "reissue_reason",
            {"reissue_reason": reissue_reason or ""},
        )
    return RedirectResponse(f"/studio/certificates/{new.id}?notice=reissued", status_code=303)


# --- template editor (H3): routes below this line belong to the template editor ------------------
# The editor's routes live in app/certificates/template_editor.py (H3); mounted here so the
# studio router carries every /studio/certificate... page.
from app.certificates.template_editor import router as _template_editor_router  # noqa: E402

router.include_router(_template_editor_router)

# The certification-rules form (content admins too) lives in app/certificates/rules_form.py.
from app.certificates.rules_form import router as _rules_form_router  # noqa: E402

router.include_router(_rules_form_router)
