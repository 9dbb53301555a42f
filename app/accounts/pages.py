"""Admin pages for OPDs and users: lists, create/edit forms, roster import with its report."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import Depends, File, Form, Request, UploadFile
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from app.accounts import activation, roster, service
from app.accounts.constants import (
    GOLONGAN_PPPK,
    PANGKAT_PNS,
    Employment,
    JenisJabatan,
    Role,
    role_labels,
)
from app.accounts.schemas import OpdCreate, UserCreate, UserUpdate
from app.auth import service as auth_service
from app.auth.dependencies import AdminPrincipal, SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.core.errors import LMSError, pydantic_message
from app.core.i18n import gettext_ as _
from app.web.params import RowId
from app.web.routing import Router
from app.web.templating import render

router = Router(prefix="/admin", tags=["pages"], include_in_schema=False)

# The roster import is the training unit's work as much as the admin's (then: send activation).
RosterOfficer = Annotated[Principal, Depends(require_roles("training_officer", "admin"))]

PER_PAGE = 50


def _choices() -> dict[str, Any]:
    return {
        "roles": [r.value for r in Role],
        "role_labels": role_labels(),
        "employments": [e.value for e in Employment],
        "pangkat_pns": list(PANGKAT_PNS.items()),
        "golongan_pppk": list(GOLONGAN_PPPK),
        "jenis_jabatan": [j.value for j in JenisJabatan],
    }


def _form_error(exc: Exception) -> tuple[str, dict[str, str]]:
    """A page-level message and per-field messages from a domain or schema error."""
    if isinstance(exc, ValidationError):
        fields = {".".join(str(p) for p in e["loc"]): pydantic_message(e) for e in exc.errors()}
        return _("Periksa kembali isian yang ditandai."), fields
    assert isinstance(exc, LMSError)
    errors = getattr(exc, "errors", None) or []
    fields = {e["field"]: e["message"] for e in errors if e.get("field")}
    return exc.detail, fields


@router.get("/users")
def users_page(
    request: Request, db: SessionDep, _admin: AdminPrincipal,
    q: str | None = None, opd: str | None = None, page: int = 1,
) -> Response:  # fmt: skip
    total, users = service.list_users(
        db, q=q, opd_code=opd or None, page=max(page, 1), per_page=PER_PAGE
    )
    return render(
        request,
        "admin/users.html",
        {
            "users": users, "total": total, "q": q or "", "opd": opd or "",
            "page": max(page, 1), "pages": max(1, math.ceil(total / PER_PAGE)),
            "opds": service.list_opds(db), "role_labels": role_labels(),
        },
    )  # fmt: skip


def _user_form(
    request: Request, db: SessionDep, *, user: Any = None, values: dict[str, Any] | None = None,
    error: str | None = None, field_errors: dict[str, str] | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    return render(
        request,
        "admin/user_form.html",
        {
            "user": user, "values": values or {}, "error": error,
            "field_errors": field_errors or {}, "opds": service.list_opds(db), **_choices(),
        },
        status_code=status_code,
    )  # fmt: skip


@router.get("/users/new")
def new_user_page(request: Request, db: SessionDep, _admin: AdminPrincipal) -> Response:
    return _user_form(request, db, values={"roles": ["learner"], "employment": "PNS"})


async def _form_values(request: Request) -> dict[str, Any]:
    form = await request.form()
    values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    values["roles"] = [r for r in form.getlist("roles") if isinstance(r, str)]
    for key in ("nip", "email", "phone", "opd_code", "pangkat_golongan", "jabatan",
                "jenis_jabatan", "password", "employment"):  # fmt: skip
        if key in values and not values[key].strip():
            values[key] = None
    return values


@router.post("/users/new")
async def create_user_page(
    request: Request, db: SessionDep, settings: SettingsDep, _admin: AdminPrincipal
) -> Response:
    values = await _form_values(request)
    try:
        user = service.create_user(db, UserCreate.model_validate(values), settings)
    except (LMSError, ValidationError) as exc:
        db.rollback()
        message, fields = _form_error(exc)
        return _user_form(request, db, values=values, error=message, field_errors=fields,
                          status_code=getattr(exc, "status_code", 422))  # fmt: skip
    return RedirectResponse(f"/admin/users/{user.id}?created=1", status_code=303)


@router.get("/users/import")
def import_page(request: Request, _officer: RosterOfficer) -> Response:
    return render(request, "admin/import.html", {"result": None})


@router.post("/users/import")
def import_upload(
    request: Request, db: SessionDep, settings: SettingsDep, officer: RosterOfficer,
    file: Annotated[UploadFile, File()], skip_invalid: Annotated[bool, Form()] = False,
) -> Response:  # fmt: skip
    try:
        if file.size is not None and file.size > settings.max_roster_bytes:
            raise LMSError(_("Berkas terlalu besar."), code="file_too_large")
        result = roster.import_roster(
            db, file.file, skip_invalid=skip_invalid, by=officer.user_id, file_name=file.filename
        )
    except LMSError as exc:
        db.rollback()
        return render(request, "admin/import.html", {"result": None, "error": exc.detail},
                      status_code=exc.status_code)  # fmt: skip
    status = 422 if result.errors and not skip_invalid else 200
    # The import's ASN who still wait for activation: one click sends it (channel auto).
    pending = activation.pending_in_import(db, result.import_id) if result.import_id else 0
    return render(request, "admin/import.html",
                  {"result": result, "filename": file.filename, "pending": pending},
                  status_code=status)  # fmt: skip


@router.get("/users/{user_id}")
def edit_user_page(
    request: Request, user_id: RowId, db: SessionDep, _admin: AdminPrincipal, created: int = 0
) -> Response:
    user = service.to_read(service.get_user(db, user_id))
    values = user.model_dump()
    values["opd_code"] = user.opd.code if user.opd else ""
    return render(
        request,
        "admin/user_form.html",
        {"user": user, "values": values, "created": bool(created), "field_errors": {},
         "opds": service.list_opds(db), **_choices()},
    )  # fmt: skip


@router.post("/users/{user_id}")
async def update_user_page(
    request: Request, user_id: RowId, db: SessionDep, settings: SettingsDep, _admin: AdminPrincipal
) -> Response:
    values = await _form_values(request)
    values["is_active"] = values.get("is_active") == "on"
    user = service.get_user(db, user_id)
    current = service.to_read(user)
    try:
        data = UserUpdate.model_validate({k: v for k, v in values.items() if k != "nip"})
        if data.is_active != user.is_active:
            auth_service.set_user_active(db, user, bool(data.is_active))
        service.update_user(db, user, data, settings)
    except (LMSError, ValidationError) as exc:
        db.rollback()
        message, fields = _form_error(exc)
        values["nip"] = current.nip
        return _user_form(request, db, user=current, values=values, error=message,
                          field_errors=fields, status_code=getattr(exc, "status_code", 422))  # fmt: skip
    return RedirectResponse(f"/admin/users/{user_id}?saved=1", status_code=303)


@router.get("/opds")
def opds_page(request: Request, db: SessionDep, _admin: AdminPrincipal) -> Response:
    return render(request, "admin/opds.html", {"opds": service.list_opds(db), "values": {}})


@router.post("/opds")
def create_opd_page(
    request: Request, db: SessionDep, _admin: AdminPrincipal,
    code: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
    parent_code: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    values = {"code": code, "name": name, "parent_code": parent_code}
    try:
        service.create_opd(
            db, OpdCreate(code=code, name=name, parent_code=parent_code.strip() or None)
        )
    except (LMSError, ValidationError) as exc:
        db.rollback()
        message, fields = _form_error(exc)
        return render(request, "admin/opds.html",
                      {"opds": service.list_opds(db), "values": values, "error": message,
                       "field_errors": fields},
                      status_code=getattr(exc, "status_code", 422))  # fmt: skip
    return RedirectResponse("/admin/opds?created=1", status_code=303)
