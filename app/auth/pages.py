"""Browser routes for signing in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from app.auth import service
from app.auth.dependencies import (
    SESSION_COOKIE,
    OptionalPrincipal,
    SessionDep,
    SettingsDep,
    client_address,
    verify_csrf,
)
from app.core.errors import Forbidden, InvalidCredentials, Throttled
from app.core.i18n import gettext_ as _
from app.web.i18n import LANG_COOKIE
from app.web.templating import render

router = APIRouter(tags=["pages"], include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only same-site relative paths: an open redirect would help phishing."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


@router.get("/login")
def login_page(request: Request, principal: OptionalPrincipal, next: str | None = None) -> Response:
    if principal is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "auth/login.html", {"next": safe_next(next)})


@router.post("/login", dependencies=[Depends(verify_csrf)])
def login(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    try:
        user = service.authenticate(
            db, username, password, address=client_address(request, settings), settings=settings
        )
    except (InvalidCredentials, Throttled, Forbidden) as exc:
        message = {
            InvalidCredentials: _("NIP/email atau kata sandi salah."),
            Forbidden: _("Akun Anda dinonaktifkan. Hubungi admin BKPSDM."),
        }.get(type(exc), exc.detail)
        response = render(
            request,
            "auth/login.html",
            {"next": safe_next(next), "username": username, "error": message},
            status_code=exc.status_code,
        )
        if isinstance(exc, Throttled):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    raw = service.start_session(
        db,
        user,
        previous_cookie=request.cookies.get(SESSION_COOKIE),
        address=client_address(request, settings),
        user_agent=request.headers.get("user-agent"),
        settings=settings,
    )
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=settings.session_absolute_hours * 3600,
        path="/",
    )
    if user.locale:
        response.set_cookie(LANG_COOKIE, user.locale, samesite="lax", max_age=365 * 24 * 3600)
    return response


@router.post("/logout")
def logout(principal: OptionalPrincipal, db: SessionDep) -> Response:
    """Ends every browser session of the user (shared phones and kiosks are common)."""
    if principal is not None:  # get_principal already checked CSRF for the session cookie
        service.end_all_sessions(db, principal.user_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
