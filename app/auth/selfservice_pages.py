"""Browser pages for account self-service: activation (a link, or NIP + letter code), forgotten
password, reset from a link, changing the password, and the terms of use and privacy notice.

The rules live in `app.auth.selfservice`; these routes translate forms to its calls and errors
back to the form with the field named.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from app.auth import selfservice
from app.auth.dependencies import (
    CurrentPrincipal,
    SessionDep,
    SettingsDep,
    client_address,
    verify_csrf,
)
from app.auth.selfservice_router import reset_requested_message
from app.core.config import Settings, get_settings
from app.core.errors import LMSError, Throttled, ValidationFailed
from app.core.i18n import gettext_ as _
from app.web.ratelimit import limited
from app.web.routing import Router
from app.web.templating import render

router = Router(tags=["pages"], include_in_schema=False)

FormText = Annotated[str, Form(max_length=512)]


def _errors(exc: LMSError) -> tuple[str, dict[str, str]]:
    """The page's message and the per-field messages of a domain error."""
    if isinstance(exc, ValidationFailed):
        fields = {e["field"]: e["message"] for e in exc.errors if e.get("field")}
        return exc.detail, fields
    return exc.detail, {}


def _with_retry(response: Response, exc: LMSError) -> Response:
    if isinstance(exc, Throttled):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


# --- activation ---------------------------------------------------------------------------------


def _activate_page(
    request: Request, settings: Settings, *, mode: str, values: dict[str, Any],
    holder: selfservice.LinkHolder | None = None, error: str | None = None,
    field_errors: dict[str, str] | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    return render(
        request,
        "auth/activate.html",
        {
            "mode": mode, "values": values, "holder": holder, "error": error,
            "field_errors": field_errors or {}, "policy_hint": selfservice.policy_hint(settings),
        },
        status_code=status_code,
    )  # fmt: skip


def _contact_values(holder: selfservice.LinkHolder) -> dict[str, Any]:
    return {"email": holder.email or "", "phone": holder.phone or ""}


@router.get("/activate", dependencies=[Depends(limited("activation"))])
def activate_page(
    request: Request, db: SessionDep, settings: SettingsDep, token: str | None = None
) -> Response:
    """From a link or QR (`token`): the password form with the account's contact prefilled;
    without one: the NIP and code of a printed letter first."""
    if not token:
        return _activate_page(request, settings, mode="code", values={})
    holder = selfservice.peek_link(db, selfservice.ACTIVATION, token[:128])
    if holder is None:
        return _activate_page(
            request, settings, mode="code", values={},
            error=_invalid_link_text(), status_code=400,
        )  # fmt: skip
    return _activate_page(
        request, settings, mode="form", holder=holder,
        values={"token": token, **_contact_values(holder)},
    )  # fmt: skip


def _invalid_link_text() -> str:
    return _(
        "Tautan aktivasi ini tidak sah, sudah dipakai, atau sudah kedaluwarsa. Bila Anda punya "
        "surat aktivasi, masukkan NIP dan kodenya di bawah; bila tidak, minta tautan baru "
        "kepada pengelola diklat."
    )


@router.post(
    "/activate/code",
    dependencies=[Depends(limited("activation", account_field="nip")), Depends(verify_csrf)],
)
def activate_with_code(
    request: Request, db: SessionDep, settings: SettingsDep,
    nip: FormText = "", code: FormText = "",
) -> Response:  # fmt: skip
    """Step one for a letter: check NIP and code (throttled like a login), then show the form;
    the code is used only when the form is sent."""
    values: dict[str, Any] = {"nip": nip.strip(), "code": code.strip()}
    try:
        _row, user = selfservice.check_activation(
            db, nip=nip, code=code, address=client_address(request, settings), settings=settings
        )
    except LMSError as exc:
        db.rollback()
        response = _activate_page(
            request, settings, mode="code", values=values, error=exc.detail,
            status_code=exc.status_code,
        )  # fmt: skip
        return _with_retry(response, exc)
    holder = selfservice.LinkHolder(user.id, user.name, user.nip, user.email, user.phone, "letter")
    return _activate_page(
        request, settings, mode="form", holder=holder,
        values={**values, **_contact_values(holder)},
    )  # fmt: skip


@router.post(
    "/activate", dependencies=[Depends(limited("activation")), Depends(verify_csrf)]
)
def activate(
    request: Request, db: SessionDep, settings: SettingsDep,
    token: FormText = "", nip: FormText = "", code: FormText = "",
    password: Annotated[str, Form(max_length=256)] = "",
    password_confirm: Annotated[str, Form(max_length=256)] = "",
    accept_terms: FormText = "", email: FormText = "", phone: FormText = "",
) -> Response:  # fmt: skip
    values: dict[str, Any] = {
        "token": token, "nip": nip.strip(), "code": code.strip(), "email": email,
        "phone": phone, "accept_terms": bool(accept_terms),
    }  # fmt: skip
    address = client_address(request, settings)
    try:
        selfservice.check_new_password(password, password_confirm)
        user = selfservice.activate(
            db, token=token or None, nip=None if token else nip, code=None if token else code,
            password=password, accept_terms=bool(accept_terms), email=email, phone=phone,
            address=address, settings=settings,
        )  # fmt: skip
    except LMSError as exc:
        db.rollback()
        message, fields = _errors(exc)
        if isinstance(exc, selfservice.InvalidAccountLink | Throttled):
            # The secret itself failed: back to the NIP + code step, with one generic answer.
            page = _activate_page(
                request, settings, mode="code", values={"nip": values["nip"]}, error=message,
                status_code=exc.status_code,
            )  # fmt: skip
            return _with_retry(page, exc)
        holder = selfservice.peek_link(db, selfservice.ACTIVATION, token) if token else None
        if holder is None and not token:
            try:
                _row, found = selfservice.check_activation(
                    db, nip=nip, code=code, address=address, settings=settings
                )
                holder = selfservice.LinkHolder(
                    found.id, found.name, found.nip, found.email, found.phone, "letter"
                )
            except LMSError:
                db.rollback()
        if holder is None:
            return _activate_page(request, settings, mode="code", values={}, error=message,
                                  status_code=400)  # fmt: skip
        return _activate_page(
            request, settings, mode="form", holder=holder, values=values, error=message,
            field_errors=fields, status_code=exc.status_code,
        )  # fmt: skip
    target = "/login?done=activated" + (f"&nip={user.nip}" if user.nip else "")
    return RedirectResponse(target, status_code=303)


# --- forgotten password and reset ---------------------------------------------------------------


@router.get("/password/forgot")
def forgot_page(request: Request) -> Response:
    return render(request, "auth/password_forgot.html", {"sent": False, "values": {}})


@router.post(
    "/password/forgot",
    dependencies=[
        Depends(limited("password_reset", account_field="login")),
        Depends(verify_csrf),
    ],
)
def forgot(
    request: Request, db: SessionDep, settings: SettingsDep, login: FormText = ""
) -> Response:
    """The same page whether or not the account exists."""
    if not login.strip():
        return render(
            request, "auth/password_forgot.html",
            {"sent": False, "values": {}, "field_errors": {"login": _("Isi NIP atau email Anda.")}},
            status_code=422,
        )  # fmt: skip
    try:
        selfservice.request_reset(
            db, login, address=client_address(request, settings), settings=settings
        )
    except Throttled as exc:
        db.rollback()
        page = render(
            request, "auth/password_forgot.html",
            {"sent": False, "values": {"login": login}, "error": exc.detail},
            status_code=429,
        )  # fmt: skip
        return _with_retry(page, exc)
    return render(
        request, "auth/password_forgot.html",
        {"sent": True, "values": {}, "message": reset_requested_message()},
    )  # fmt: skip


@router.get("/password/reset", dependencies=[Depends(limited("password_reset"))])
def reset_page(
    request: Request, db: SessionDep, settings: SettingsDep, token: str | None = None
) -> Response:
    holder = selfservice.peek_link(db, selfservice.RESET, (token or "")[:128])
    return render(
        request, "auth/password_reset.html",
        {"token": token if holder else "", "holder": holder,
         "policy_hint": selfservice.policy_hint(settings), "field_errors": {}},
        status_code=200 if holder else 400,
    )  # fmt: skip


@router.post(
    "/password/reset",
    dependencies=[Depends(limited("password_reset")), Depends(verify_csrf)],
)
def reset(
    request: Request, db: SessionDep, settings: SettingsDep, token: FormText = "",
    password: Annotated[str, Form(max_length=256)] = "",
    password_confirm: Annotated[str, Form(max_length=256)] = "",
) -> Response:  # fmt: skip
    try:
        selfservice.check_new_password(password, password_confirm)
        selfservice.confirm_reset(
            db, token, password, address=client_address(request, settings), settings=settings
        )
    except LMSError as exc:
        db.rollback()
        message, fields = _errors(exc)
        holder = selfservice.peek_link(db, selfservice.RESET, token)
        page = render(
            request, "auth/password_reset.html",
            {"token": token if holder else "", "holder": holder, "error": message,
             "field_errors": fields, "policy_hint": selfservice.policy_hint(settings)},
            status_code=exc.status_code,
        )  # fmt: skip
        return _with_retry(page, exc)
    return RedirectResponse("/login?done=reset", status_code=303)


# --- changing the password ----------------------------------------------------------------------


@router.get("/me/password")
def change_page(request: Request, settings: SettingsDep, _user: CurrentPrincipal) -> Response:
    return render(
        request, "auth/password_change.html",
        {"field_errors": {}, "policy_hint": selfservice.policy_hint(settings)},
    )  # fmt: skip


@router.post("/me/password", dependencies=[Depends(limited("password_reset"))])
def change(
    request: Request, db: SessionDep, settings: SettingsDep, principal: CurrentPrincipal,
    current_password: Annotated[str, Form(max_length=256)] = "",
    new_password: Annotated[str, Form(max_length=256)] = "",
    new_password_confirm: Annotated[str, Form(max_length=256)] = "",
) -> Response:  # fmt: skip
    """CSRF is checked by CurrentPrincipal (a session caller's form must carry its token)."""
    try:
        selfservice.check_new_password(new_password, new_password_confirm, field="new_password")
        selfservice.change_password(
            db, principal, current_password, new_password,
            address=client_address(request, settings), keep_token_hash=None, settings=settings,
        )  # fmt: skip
    except LMSError as exc:
        db.rollback()
        message, fields = _errors(exc)
        page = render(
            request, "auth/password_change.html",
            {"error": message, "field_errors": fields,
             "policy_hint": selfservice.policy_hint(settings)},
            status_code=exc.status_code,
        )  # fmt: skip
        return _with_retry(page, exc)
    return render(
        request, "auth/password_change.html",
        {"saved": True, "field_errors": {}, "policy_hint": selfservice.policy_hint(settings)},
    )  # fmt: skip


# --- terms of use and privacy notice ------------------------------------------------------------


@router.get("/terms")
def terms_page(request: Request) -> Response:
    return render(request, "auth/terms.html")


@router.get("/privacy")
def privacy_page(request: Request) -> Response:
    settings = get_settings()
    return render(request, "auth/privacy.html", {
        "outbox_retention_days": settings.outbox_retention_days,
        "notification_retention_days": settings.notification_retention_days,
        "audit_retention_days": settings.audit_retention_days,
    })  # fmt: skip
