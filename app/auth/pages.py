"""Browser routes for signing in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from app.accounts.models import User
from app.auth import selfservice, service, sso
from app.auth.dependencies import (
    SESSION_COOKIE,
    OptionalPrincipal,
    SessionDep,
    SettingsDep,
    client_address,
    verify_csrf,
)
from app.core.config import Settings
from app.core.errors import Forbidden, InvalidCredentials, Throttled
from app.core.i18n import gettext_ as _
from app.web.i18n import LANG_COOKIE
from app.web.ratelimit import limited
from app.web.routing import Router
from app.web.templating import render

router = Router(tags=["pages"], include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only same-site relative paths: an open redirect would help phishing."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


@router.get("/login")
def login_page(
    request: Request,
    principal: OptionalPrincipal,
    settings: SettingsDep,
    next: str | None = None,
    nip: str | None = None,
    done: str | None = None,
) -> Response:
    """`done` (activated, reset) shows self-service's fixed message; `nip` prefills the name."""
    if principal is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(
        request,
        "auth/login.html",
        {
            "next": safe_next(next),
            "sso": sso.buttons(settings),
            "username": nip if nip and nip.isdigit() and len(nip) <= 18 else "",
            "notice": selfservice.login_notice(done),
        },
    )


@router.post(
    "/login",
    dependencies=[Depends(limited("login", account_field="username")), Depends(verify_csrf)],
)
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
            "invalid_credentials": _("NIP/email atau kata sandi salah."),
            "account_inactive": _("Akun Anda dinonaktifkan. Hubungi admin BKPSDM."),
        }.get(exc.code, exc.detail)
        response = render(
            request,
            "auth/login.html",
            {
                "next": safe_next(next),
                "username": username,
                "error": message,
                "sso": sso.buttons(settings),
            },
            status_code=exc.status_code,
        )
        if isinstance(exc, Throttled):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return signed_in(request, db, settings, user, next)


def signed_in(
    request: Request,
    db: Session,
    settings: Settings,
    user: User,
    next: str | None,
    *,
    sso_provider: str | None = None,
    id_token: str | None = None,
) -> Response:
    """A fresh session for a user who just proved who they are (password or SSO), its cookie and
    the user's language, and the redirect to where they were going."""
    raw = service.start_session(
        db,
        user,
        previous_cookie=request.cookies.get(SESSION_COOKIE),
        address=client_address(request, settings),
        user_agent=request.headers.get("user-agent"),
        settings=settings,
        sso_provider=sso_provider,
        id_token=id_token,
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
def logout(principal: OptionalPrincipal, db: SessionDep, settings: SettingsDep) -> Response:
    """Ends every browser session of the user (shared phones and kiosks are common); an SSO
    session goes on to the provider's end-session endpoint (RP-initiated logout)."""
    target = "/login"
    if principal is not None:  # get_principal already checked CSRF for the session cookie
        if principal.session_hash:
            target = sso.logout_url(db, settings, principal.session_hash) or target
        service.end_all_sessions(db, principal.user_id)
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
