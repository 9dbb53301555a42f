"""The dashboard shell per role and the health check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text
from starlette.responses import JSONResponse, Response

from app.accounts import service as accounts_service
from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep
from app.core.i18n import gettext_ as _
from app.storage.service import get_storage
from app.web.templating import render

router = APIRouter(tags=["pages"], include_in_schema=False)


def dashboard_panels(roles: frozenset[str]) -> list[dict[str, str]]:
    """What each role will find here; later issues replace the placeholders with real panels."""
    panels = {
        "learner": (_("Pembelajaran saya"), _("Kursus yang Anda ikuti, kemajuan belajar, dan JP tahun ini terhadap target 20 JP akan tampil di sini.")),
        "mentor": (_("Pembimbingan (induksi)"), _("Daftar ASN yang Anda bimbing dan catatan sesi mentoring akan tampil di sini.")),
        "content_admin": (_("Pengelolaan konten"), _("Kursus, materi video/PDF/SCORM, dan bank soal akan dikelola di sini.")),
        "training_officer": (_("Penyelenggaraan diklat"), _("Angkatan, peserta, sertifikat, verifikasi JP, dan laporan target akan tampil di sini.")),
        "admin": (_("Administrasi sistem"), _("Kelola pengguna, OPD, peran, dan pengaturan institusi.")),
    }  # fmt: skip
    order = ["learner", "mentor", "content_admin", "training_officer", "admin"]
    return [{"role": r, "title": panels[r][0], "text": panels[r][1]} for r in order if r in roles]


@router.get("/")
def dashboard(request: Request, principal: CurrentPrincipal, db: SessionDep) -> Response:
    user = accounts_service.to_read(accounts_service.get_user(db, principal.user_id))
    return render(
        request, "dashboard.html", {"user": user, "panels": dashboard_panels(principal.roles)}
    )


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
