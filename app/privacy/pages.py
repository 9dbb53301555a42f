"""Browser pages for personal data: the person's own page and download, and the admin's download
and pseudonymising buttons on the user form."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from starlette.responses import RedirectResponse, Response

from app.auth.dependencies import AdminPrincipal, CurrentPrincipal, SessionDep, SettingsDep
from app.core.errors import ValidationFailed
from app.privacy import web
from app.web.params import RowId
from app.web.routing import Router
from app.web.templating import render

router = Router(tags=["pages"], include_in_schema=False)


@router.get("/me/data")
def my_data_page(request: Request, _user: CurrentPrincipal) -> Response:
    return render(request, "privacy/my_data.html")


@router.get("/me/data/export.zip")
def my_data_export(db: SessionDep, settings: SettingsDep, principal: CurrentPrincipal) -> Response:
    return web.export_response(db, settings, principal, principal.user_id)


@router.get("/admin/users/{user_id}/personal-data.zip")
def user_data_export(
    user_id: RowId, db: SessionDep, settings: SettingsDep, admin: AdminPrincipal
) -> Response:
    return web.export_response(db, settings, admin, user_id)


@router.post("/admin/users/{user_id}/pseudonymise")
def pseudonymise(
    user_id: RowId, db: SessionDep, settings: SettingsDep, admin: AdminPrincipal,
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:  # fmt: skip
    """CSRF is checked by AdminPrincipal (a session caller's form must carry its token)."""
    if confirm != "yes":
        raise ValidationFailed(
            "Centang konfirmasi untuk mempseudonimkan data pribadi.", code="confirm_required"
        )
    web.pseudonymise(db, settings, admin, user_id)
    return RedirectResponse(f"/admin/users/{user_id}?saved=1", status_code=303)
