"""API routes for authentication: bearer tokens and the caller's own profile."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request

from app.accounts import service as accounts_service
from app.accounts.schemas import UserRead
from app.auth import service
from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep, client_address
from app.auth.schemas import TokenResponse
from app.web.ratelimit import limited

router = APIRouter(prefix="/api/v1", tags=["auth"])


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
def me(principal: CurrentPrincipal, db: SessionDep) -> UserRead:
    return accounts_service.to_read(accounts_service.get_user(db, principal.user_id))
