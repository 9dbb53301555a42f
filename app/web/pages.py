"""The home page, "Lanjutkan", the web app manifest and favicon, and the health check."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, RedirectResponse, Response

from app.accounts import service as accounts_service
from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep
from app.auth.service import Principal
from app.core import i18n
from app.core.i18n import gettext_ as _
from app.courses import service as courses_service
from app.storage.service import get_storage
from app.web import home, static
from app.web.params import RowId
from app.web.routing import Router
from app.web.templating import render

router = Router(tags=["pages"], include_in_schema=False)


@router.get("/")
def dashboard(
    request: Request, principal: CurrentPrincipal, db: SessionDep, settings: SettingsDep
) -> Response:
    """The home page: a section for each role the user holds (app/web/home.py)."""
    user = accounts_service.profile(db, principal.user_id)  # the header's, read once for the page
    context: dict[str, Any] = {"user": user, **home.home_context(db, principal, settings, user)}
    return render(request, "dashboard.html", context)


def next_activity_url(session: Session, run_id: int, principal: Principal) -> str:
    """Where "Lanjutkan" leads: the course player's choice (the unfinished activity opened last,
    else the first unfinished, unlocked one), else the course page."""
    from app.courses import player  # the course player's rule, shared with the course page

    run = courses_service.get_run(session, run_id)
    target = player.build(session, run.course_id, principal).resume
    return target.href if target else f"/courses/{run.course_id}"


@router.get("/my/runs/{run_id}/continue")
def continue_learning(run_id: RowId, principal: CurrentPrincipal, db: SessionDep) -> Response:
    return RedirectResponse(next_activity_url(db, run_id, principal), status_code=303)


@router.get("/manifest.webmanifest")
def manifest_file(settings: SettingsDep) -> Response:
    """The web app manifest, in the reader's language (browsers fetch it without cookies)."""
    body = static.web_manifest(
        f"{_('LMS Diklat ASN')} · {settings.institution_name}",
        _("LMS Diklat"),
        i18n.current_locale.get(),
    )
    return JSONResponse(
        body,
        media_type="application/manifest+json",
        headers={"Cache-Control": static.ICON_CACHE, "Vary": "Accept-Language, Cookie"},
    )


@router.get("/favicon.ico")
def favicon() -> Response:
    return static.favicon_response()


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
