"""API routes for authentication: bearer tokens and the caller's own profile."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.accounts import service as accounts_service
from app.accounts.schemas import UserRead
from app.auth import service
from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep, client_address
from app.auth.schemas import TokenResponse
from app.web.ratelimit import limited
from app.web.routing import Router

router = Router(prefix="/api/v1", tags=["auth"])


@router.post(
    "/auth/token",
    response_model=TokenResponse,
    dependencies=[Depends(limited("login", account_field="username"))],
)
def issue_token(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(description="NIP atau email")],
    password: Annotated[str, Form()],
) -> TokenResponse:
    """OAuth2 password flow: NIP or email and password give a bearer token (401 wrong, 429 throttled)."""
    user = service.authenticate(
        db, username, password, address=client_address(request, settings), settings=settings
    )
    token, lifetime = service.issue_api_token(db, user, settings)
    return TokenResponse(access_token=token, expires_in=lifetime)


@router.get("/me", response_model=UserRead)
async def me(principal: CurrentPrincipal, db: SessionDep) -> Response:
    """The caller's account: from this process's cache on the event loop when it holds it,
    else read in a worker thread."""
    body = accounts_service.own_accounts.get(principal.user_id)
    if body is None:
        body = await run_in_threadpool(accounts_service.own_account_json, db, principal.user_id)
    return Response(body, media_type="application/json")
