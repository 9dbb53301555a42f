"""API routes for OPDs, users and the roster import (api-v1.md, "Auth and accounts")."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, File, Query, UploadFile
from starlette.responses import Response

from app.accounts import activation, roster, service
from app.accounts.schemas import (
    ActivationRequest,
    ActivationResult,
    ImportResult,
    OpdCreate,
    OpdRead,
    UserCreate,
    UserPage,
    UserRead,
    UserUpdate,
)
from app.auth import policy
from app.auth import service as auth_service
from app.auth.dependencies import (
    AdminPrincipal,
    CurrentPrincipal,
    SessionDep,
    SettingsDep,
    require_roles,
)
from app.auth.service import Principal
from app.core.errors import PayloadTooLarge
from app.core.i18n import gettext_ as _
from app.web.params import PageNumber, RowId
from app.web.routing import Router

router = Router(prefix="/api/v1", tags=["accounts"])

# Roster imports and activation are the training unit's daily work as much as the admin's.
RosterOfficer = Annotated[Principal, Depends(require_roles("training_officer", "admin"))]

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.post("/opds", status_code=201, response_model=OpdRead)
def create_opd(data: OpdCreate, db: SessionDep, _admin: AdminPrincipal) -> OpdRead:
    return service.create_opd(db, data)


@router.get("/opds", response_model=list[OpdRead])
def list_opds(db: SessionDep, _user: CurrentPrincipal) -> list[OpdRead]:
    return service.list_opds(db)


@router.post("/users", status_code=201, response_model=UserRead)
def create_user(
    data: UserCreate, db: SessionDep, settings: SettingsDep, _admin: AdminPrincipal
) -> UserRead:
    """Create one account (422 bad NIP or weak password, 409 duplicate NIP or email)."""
    return service.to_read(service.create_user(db, data, settings))


@router.get("/users", response_model=UserPage)
def list_users(
    db: SessionDep,
    _admin: AdminPrincipal,
    q: str | None = None,
    opd_code: str | None = None,
    page: PageNumber = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> UserPage:
    total, items = service.list_users(db, q=q, opd_code=opd_code, page=page, per_page=per_page)
    return UserPage(total=total, items=items)


@router.get("/users/import/template")
def roster_template(db: SessionDep, _officer: RosterOfficer) -> Response:
    opds = [(o.code, o.name) for o in service.list_opds(db)]
    return Response(
        roster.template_xlsx(opds),
        media_type=XLSX_TYPE,
        headers={"Content-Disposition": 'attachment; filename="templat-data-asn.xlsx"'},
    )


@router.post("/users/import", response_model=ImportResult)
def import_users(
    db: SessionDep,
    settings: SettingsDep,
    officer: RosterOfficer,
    file: Annotated[UploadFile, File(description="CSV atau XLSX dengan kolom templat")],
    skip_invalid: bool = False,
) -> ImportResult:
    """Upsert by NIP; any bad row imports nothing unless `skip_invalid=true`. The result's
    `import_id` selects the batch for POST /users/activation."""
    if file.size is not None and file.size > settings.max_roster_bytes:
        raise PayloadTooLarge(
            _("Berkas maksimal %(value)s MiB.")
            % {"value": settings.max_roster_bytes // (1024 * 1024)},
            code="file_too_large",
        )
    return roster.import_roster(
        db, file.file, skip_invalid=skip_invalid, by=officer.user_id, file_name=file.filename
    )


@router.post("/users/activation", status_code=202, response_model=ActivationResult)
def send_activation(
    data: ActivationRequest, db: SessionDep, settings: SettingsDep, officer: RosterOfficer
) -> ActivationResult:
    """Activation for a selection (the union of `user_ids`, `nips`, `opd_code`, `import_id`):
    `auto` sends e-mail where the account has one, else WhatsApp where it has a phone, else a
    printed letter (one PDF per OPD, made in the background: `letter_url`). Accounts already
    activated are skipped unless `resend`; every skip names its reason."""
    return activation.send(db, data, by=officer.user_id, settings=settings)


@router.get("/users/{user_id}", response_model=UserRead)
def get_user(user_id: RowId, db: SessionDep, principal: CurrentPrincipal) -> UserRead:
    policy.ensure_can_read_user(principal, user_id)
    return service.to_read(service.get_user(db, user_id))


@router.patch("/users/{user_id}", response_model=UserRead)
def update_user(
    user_id: RowId, data: UserUpdate, db: SessionDep, settings: SettingsDep, _admin: AdminPrincipal
) -> UserRead:
    """Edit a profile, roles or password; `is_active: false` ends all the user's sessions."""
    user = service.get_user(db, user_id)
    if data.is_active is not None:
        auth_service.set_user_active(db, user, data.is_active)
    return service.to_read(service.update_user(db, user, data, settings))
