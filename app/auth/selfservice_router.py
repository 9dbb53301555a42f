"""API routes for account self-service: activation, forgotten password, changing the password
(api-v1.md, "Accounts self-service, sign-in and notifications")."""

from __future__ import annotations

from fastapi import Depends, Request
from starlette.responses import Response

from app.auth import selfservice
from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep, client_address
from app.auth.schemas import (
    Accepted,
    ActivateRequest,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetRequest,
)
from app.auth.service import token_hash
from app.core.i18n import gettext_ as _
from app.web.ratelimit import limited
from app.web.routing import Router

router = Router(prefix="/api/v1", tags=["auth"])


@router.post(
    "/auth/activate",
    status_code=204,
    dependencies=[Depends(limited("activation", account_field="nip"))],
)
def activate(
    data: ActivateRequest, request: Request, db: SessionDep, settings: SettingsDep
) -> Response:
    """Set the first password: 400 for an unknown, used or expired link or code (one answer
    for all), 422 naming the broken password rule, 429 after too many wrong codes."""
    selfservice.activate(
        db, token=data.token, nip=data.nip, code=data.code, password=data.password,
        accept_terms=data.accept_terms, email=data.email, phone=data.phone,
        address=client_address(request, settings), settings=settings,
    )  # fmt: skip
    return Response(status_code=204)


def reset_requested_message() -> str:
    return _(
        "Bila NIP atau email itu terdaftar pada akun aktif, tautan untuk membuat kata sandi baru "
        "sudah dikirim ke email (atau WhatsApp) akun tersebut. Periksa juga folder spam."
    )


@router.post(
    "/auth/password-reset",
    status_code=202,
    response_model=Accepted,
    dependencies=[Depends(limited("password_reset", account_field="login"))],
)
def request_password_reset(
    data: PasswordResetRequest, request: Request, db: SessionDep, settings: SettingsDep
) -> Accepted:
    """Always 202 with the same answer, whether or not the account exists (429 when asked too
    often for one login or from one address)."""
    selfservice.request_reset(
        db, data.login, address=client_address(request, settings), settings=settings
    )
    return Accepted(detail=reset_requested_message())


@router.post(
    "/auth/password-reset/confirm",
    status_code=204,
    dependencies=[Depends(limited("password_reset"))],
)
def confirm_password_reset(
    data: PasswordResetConfirm, request: Request, db: SessionDep, settings: SettingsDep
) -> Response:
    """A new password from a reset link; every session and API token of the account ends."""
    selfservice.confirm_reset(
        db, data.token, data.password, address=client_address(request, settings),
        settings=settings,
    )  # fmt: skip
    return Response(status_code=204)


@router.post(
    "/me/password", status_code=204, dependencies=[Depends(limited("password_reset"))]
)
def change_password(
    data: PasswordChange, request: Request, principal: CurrentPrincipal, db: SessionDep,
    settings: SettingsDep,
) -> Response:  # fmt: skip
    """Change the caller's password (422 `current_password` when it is wrong, counted as a
    failed login); every other session and API token of the account ends."""
    auth = request.headers.get("authorization", "")
    keep = token_hash(auth[7:].strip()) if principal.via == "token" else None
    selfservice.change_password(
        db, principal, data.current_password, data.new_password,
        address=client_address(request, settings), keep_token_hash=keep, settings=settings,
    )  # fmt: skip
    return Response(status_code=204)
