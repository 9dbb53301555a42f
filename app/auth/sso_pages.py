"""Browser routes of single sign-on: the SSO button's start and the provider's callback.

The rules (state, PKCE, ID token, NIP mapping) live in `app.auth.sso`; a successful login ends in
the same session and cookies as a password login (`pages.signed_in`).
"""

from __future__ import annotations

from fastapi import Depends, Request
from starlette.responses import RedirectResponse, Response

from app.auth import sso
from app.auth.dependencies import SessionDep, SettingsDep
from app.auth.pages import safe_next, signed_in
from app.core.config import Settings
from app.core.errors import Forbidden, ServiceUnavailable
from app.web.ratelimit import limited
from app.web.routing import Router
from app.web.templating import render

router = Router(tags=["pages"], include_in_schema=False)

BROWSER_KEY_MAX = 128  # longer cookie values are not ours: a fresh key replaces them


def _refused(request: Request, settings: Settings, exc: Forbidden | ServiceUnavailable) -> Response:
    """The login page with the reason, so the user can try again or use a password."""
    return render(
        request,
        "auth/login.html",
        {"next": "/", "error": exc.detail, "sso": sso.buttons(settings)},
        status_code=exc.status_code,
    )


@router.get("/login/sso/{provider}", dependencies=[Depends(limited("sso"))])
def sso_start(
    request: Request,
    provider: str,
    db: SessionDep,
    settings: SettingsDep,
    next: str | None = None,
) -> Response:
    """Send the browser to the provider with a fresh state, nonce and PKCE challenge."""
    config = sso.get_provider(settings, provider)
    browser_key = request.cookies.get(sso.BROWSER_COOKIE) or ""
    if not 32 <= len(browser_key) <= BROWSER_KEY_MAX:
        browser_key = sso.new_browser_key()
    try:
        url = sso.begin_login(
            db, config, next_url=safe_next(next), browser_key=browser_key, settings=settings
        )
    except ServiceUnavailable as exc:
        return _refused(request, settings, exc)
    response = RedirectResponse(url, status_code=303)
    # Lax: the provider's redirect back is a top-level GET, which carries it.
    response.set_cookie(
        sso.BROWSER_COOKIE,
        browser_key,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=30 * 24 * 3600,
        path="/",
    )
    return response


@router.get("/auth/callback/{provider}", dependencies=[Depends(limited("sso"))])
def sso_callback(
    request: Request,
    provider: str,
    db: SessionDep,
    settings: SettingsDep,
    state: str | None = None,
    code: str | None = None,
    iss: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response:
    """The provider's redirect back: check it, sign the user in, go where they were going."""
    config = sso.get_provider(settings, provider)
    try:
        login = sso.complete_login(
            db,
            config,
            state=state,
            code=code,
            issuer=iss,
            error=error,
            error_description=error_description,
            browser_key=request.cookies.get(sso.BROWSER_COOKIE),
            settings=settings,
        )
    except (Forbidden, ServiceUnavailable) as exc:
        db.rollback()  # nothing of a refused login is kept (the used state is gone already)
        return _refused(request, settings, exc)
    return signed_in(
        request,
        db,
        settings,
        login.user,
        login.next_url,
        sso_provider=login.provider,
        id_token=login.id_token,
    )
