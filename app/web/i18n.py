"""Picks the UI language per request (cookie, then Accept-Language) and the switch route."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form
from starlette.responses import RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from app.accounts import service as accounts_service
from app.auth.dependencies import OptionalPrincipal, SessionDep, verify_csrf
from app.core import i18n
from app.core.asgi import HttpMiddleware
from app.core.config import get_settings
from app.core.errors import ValidationFailed
from app.web.routing import Router

LANG_COOKIE = "lms_lang"

router = Router(tags=["pages"], include_in_schema=False)


class LocaleMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        cookies = headers.get(b"cookie", b"").decode("latin-1")
        cookie = None
        for part in cookies.split(";"):
            name, _, value = part.strip().partition("=")
            if name == LANG_COOKIE:
                cookie = value
        locale = i18n.pick_locale(
            cookie,
            None,
            headers.get(b"accept-language", b"").decode("latin-1"),
            default=get_settings().default_locale,
        )
        token = i18n.current_locale.set(locale)
        try:
            await self.app(scope, receive, send)
        finally:
            i18n.current_locale.reset(token)


@router.post("/lang", dependencies=[Depends(verify_csrf)])
def switch_language(
    principal: OptionalPrincipal,
    db: SessionDep,
    lang: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Bahasa Indonesia / English; remembered in a cookie and, when signed in, on the account."""
    from app.auth.pages import safe_next

    if lang not in i18n.LOCALES:
        raise ValidationFailed("Bahasa tidak dikenal.", field="lang")
    if principal is not None:  # CSRF was checked with the session
        accounts_service.get_user(db, principal.user_id).locale = lang
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, lang, samesite="lax", max_age=365 * 24 * 3600)
    return response
