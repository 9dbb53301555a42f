"""The dashboard shell per role and the health check."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, RedirectResponse, Response

from app.accounts import service as accounts_service
from app.accounts.constants import Role
from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep
from app.auth.service import Principal
from app.certificates import service as certificates_service
from app.certificates.pages import certificate_view
from app.certificates.pages import labels as certificate_labels
from app.core import clock
from app.core.config import Settings
from app.core.i18n import gettext_ as _
from app.courses import service as courses_service
from app.external_training import service as external_training_service
from app.jp import service as jp_service
from app.mentoring import service as mentoring_service
from app.storage.service import get_storage
from app.web.templating import render

router = APIRouter(tags=["pages"], include_in_schema=False)


def dashboard_panels(roles: frozenset[str]) -> list[dict[str, str]]:
    """What each role will find here; later issues replace the placeholders with real panels."""
    panels = {
        "learner": (_("Pembelajaran saya"), _("Kursus yang Anda ikuti, kemajuan belajar, dan JP tahun ini terhadap target 20 JP akan tampil di sini.")),
        "mentor": (_("Pembimbingan (induksi)"), _("ASN yang Anda bimbing: catat sesi mentoring dengan catatan GROW, lalu tanda tangani (sign-off) penugasannya.")),
        "content_admin": (_("Pengelolaan konten"), _("Kursus, materi video/PDF/SCORM, dan bank soal.")),
        "training_officer": (_("Penyelenggaraan diklat"), _("Angkatan, peserta, sertifikat, kesenjangan kompetensi, verifikasi JP, dan target tahunan.")),
        "admin": (_("Administrasi sistem"), _("Kelola pengguna, OPD, peran, dan pengaturan institusi.")),
    }  # fmt: skip
    order = ["learner", "mentor", "content_admin", "training_officer", "admin"]
    return [{"role": r, "title": panels[r][0], "text": panels[r][1]} for r in order if r in roles]


def learner_dashboard(session: Session, user_id: int, settings: Settings) -> dict[str, Any]:
    """The learner's part of the dashboard: courses with progress and what is still missing for
    the certificate, this year's JP against the target, and the certificates."""
    courses = certificates_service.my_courses(session, user_id, settings)
    jp = jp_service.summary(session, user_id, clock.today().year, settings)
    certificates = [
        certificate_view(c)
        for c in certificates_service.my_certificates(session, user_id, settings)
        if c.status != "superseded"  # its newer version is listed; "Sertifikat saya" has all
    ]
    return {
        "courses": courses,
        "jp": jp,
        "jp_percent": min(100, round(100 * jp.total_jp / jp.target_jp)) if jp.target_jp else 100,
        "certificates": certificates,
        "labels": certificate_labels(),
    }


def development_todo(session: Session, principal: Principal) -> dict[str, int]:
    """What waits for the user in competency development: mentoring sessions to confirm, mentee
    assignments to work on, and for officers the mentoring and external training to verify."""
    todo = mentoring_service.todo(session, principal)
    officer = principal.has_any(Role.TRAINING_OFFICER, Role.ADMIN)
    return {
        "to_confirm": todo.to_confirm,
        "to_work_on": todo.to_work_on,
        "mentoring_to_verify": todo.to_verify,
        "external_to_verify": external_training_service.pending_count(session) if officer else 0,
    }


@router.get("/")
def dashboard(
    request: Request, principal: CurrentPrincipal, db: SessionDep, settings: SettingsDep
) -> Response:
    user = accounts_service.to_read(accounts_service.get_user(db, principal.user_id))
    context: dict[str, Any] = {"user": user, "panels": dashboard_panels(principal.roles)}
    if principal.has_any(Role.LEARNER):
        context["learning"] = learner_dashboard(db, principal.user_id, settings)
    context["todo"] = development_todo(db, principal)
    return render(request, "dashboard.html", context)


def next_activity_url(session: Session, run_id: int, principal: Principal) -> str:
    """Where "Lanjutkan" leads: the first unfinished, unlocked activity (required ones first),
    else the course page."""
    run = courses_service.get_run(session, run_id)
    outline = courses_service.outline(session, run.course_id, principal)
    items = [item for _s, section_items in outline.sections for item in section_items]
    open_items = [i for i in items if i.status != "completed" and not i.locked]
    for candidates in ([i for i in open_items if i.activity.required], open_items):
        if candidates:
            return f"/activities/{candidates[0].activity.id}"
    return f"/courses/{run.course_id}"


@router.get("/my/runs/{run_id}/continue")
def continue_learning(run_id: int, principal: CurrentPrincipal, db: SessionDep) -> Response:
    return RedirectResponse(next_activity_url(db, run_id, principal), status_code=303)


@router.get("/healthz", include_in_schema=True, tags=["health"])
def healthz(db: SessionDep, settings: SettingsDep) -> Response:
    """200 when the database and the object store answer, 503 otherwise."""
    checks = {"database": "ok", "storage": "ok"}
    try:
        db.execute(text("SELECT 1"))
    except Exception:  # any failure means "down" to a load balancer
        checks["database"] = "error"
    try:
        get_storage(settings).ping()
    except Exception:
        checks["storage"] = "error"
    healthy = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "error", **checks}, status_code=200 if healthy else 503
    )
