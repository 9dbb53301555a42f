"""API routes for personal data rights: a person's own copy, an officer's copy on request, and
pseudonymising a closed account (admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from pydantic import BaseModel
from starlette.responses import Response

from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.privacy import web
from app.web.params import RowId
from app.web.routing import Router

router = Router(prefix="/api/v1", tags=["personal data"])

Officer = Annotated[Principal, Depends(require_roles("admin", "training_officer"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
ZIP: dict[int | str, dict[str, Any]] = {200: {"content": {"application/zip": {}}, "description": "ZIP: JSON per table and PDFs"}}


class PseudonymisedRead(BaseModel):
    id: int
    name: str
    pseudonymised_at: str


@router.get("/me/personal-data", response_class=Response, responses=ZIP)
def my_personal_data(db: SessionDep, settings: SettingsDep, principal: CurrentPrincipal) -> Response:
    """Everything the LMS holds about the caller, as a ZIP (UU 27/2022, right of access)."""
    return web.export_response(db, settings, principal, principal.user_id)


@router.get("/users/{user_id}/personal-data", response_class=Response, responses=ZIP)
def user_personal_data(
    user_id: RowId, db: SessionDep, settings: SettingsDep, officer: Officer
) -> Response:
    """An ASN's data for a request made to the agency (recorded in the audit log)."""
    return web.export_response(db, settings, officer, user_id)


@router.post("/users/{user_id}/pseudonymise", response_model=PseudonymisedRead)
def pseudonymise(
    user_id: RowId, db: SessionDep, settings: SettingsDep, admin: Admin
) -> PseudonymisedRead:
    """Replace a deactivated account's personal data by a pseudonym; certificates stay valid."""
    user = web.pseudonymise(db, settings, admin, user_id)
    assert user.pseudonymised_at is not None
    return PseudonymisedRead(
        id=user.id, name=user.name, pseudonymised_at=user.pseudonymised_at.isoformat()
    )
