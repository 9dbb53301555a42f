"""API routes for external training (api-v1.md "Competency development, mentoring, external
training, targets"): record, list, correct, withdraw, verify or reject, revoke, the PDF."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, File, Form, Query, Request, UploadFile
from starlette.responses import Response

from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.external_training import service
from app.external_training.constants import MAX_PAGE_SIZE, OFFICERS
from app.external_training.schemas import (
    DecisionIn,
    ExternalTrainingCreated,
    ExternalTrainingPage,
    ExternalTrainingRead,
    RevokeIn,
)
from app.storage.service import get_storage
from app.web.delivery import serve_object
from app.web.params import Offset, RowId
from app.web.routing import Router

router = Router(prefix="/api/v1", tags=["external training"])

Officer = Annotated[Principal, Depends(require_roles(*OFFICERS))]
OptionalText = Annotated[str | None, Form()]
Status = Literal["pending", "verified", "rejected", "revoked"]


class TrainingForm:
    """The multipart fields of a record (all optional here: the service names each missing one
    in Indonesian), and the certificate PDF."""

    def __init__(
        self,
        name: OptionalText = None,
        organiser: OptionalText = None,
        starts_on: OptionalText = None,
        ends_on: OptionalText = None,
        jp: OptionalText = None,
        certificate_number: OptionalText = None,
        funding_source: OptionalText = None,
        mode: OptionalText = None,
        file: Annotated[UploadFile | None, File(description="Sertifikat (PDF)")] = None,
    ) -> None:
        self.raw = {
            "name": name, "organiser": organiser, "starts_on": starts_on, "ends_on": ends_on,
            "jp": jp, "certificate_number": certificate_number, "funding_source": funding_source,
            "mode": mode,
        }  # fmt: skip
        self.upload = (
            service.Upload(stream=file.file, filename=file.filename, size=file.size)
            if file is not None and (file.filename or file.size)
            else None
        )


FormDep = Annotated[TrainingForm, Depends()]


@router.post("/me/external-trainings", status_code=201, response_model=ExternalTrainingCreated)
def record_mine(
    form: FormDep, db: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
) -> ExternalTrainingCreated:
    """Record training taken elsewhere, with its certificate PDF; it counts once verified."""
    row = service.record(
        db, user_id=principal.user_id, raw=form.raw, upload=form.upload, principal=principal,
        settings=settings,
    )  # fmt: skip
    return ExternalTrainingCreated(id=row.id, status=row.status)


@router.get("/me/external-trainings", response_model=list[ExternalTrainingRead])
def list_mine(db: SessionDep, principal: CurrentPrincipal) -> list[ExternalTrainingRead]:
    return service.mine(db, principal.user_id)


@router.post(
    "/users/{user_id}/external-trainings", status_code=201, response_model=ExternalTrainingCreated
)
def record_for_user(
    user_id: RowId, form: FormDep, db: SessionDep, settings: SettingsDep, principal: Officer
) -> ExternalTrainingCreated:
    """An officer records training on a civil servant's behalf (still verified separately)."""
    row = service.record(
        db, user_id=user_id, raw=form.raw, upload=form.upload, principal=principal,
        settings=settings,
    )  # fmt: skip
    return ExternalTrainingCreated(id=row.id, status=row.status)


@router.get("/external-trainings", response_model=ExternalTrainingPage)
def verification_queue(
    db: SessionDep,
    principal: Officer,
    status: Status | None = None,
    user_id: RowId | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    offset: Offset = 0,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> ExternalTrainingPage:
    """Records for officers, oldest first, each with the other live records that carry the same
    certificate number (`duplicates`); `q` searches name, NIP, training, certificate number."""
    return service.queue(db, status=status, user_id=user_id, limit=limit, offset=offset, search=q)


@router.get("/external-trainings/{record_id}", response_model=ExternalTrainingRead)
def get_record(record_id: RowId, db: SessionDep, principal: CurrentPrincipal) -> ExternalTrainingRead:
    return service.read(db, service.get_for(db, record_id, principal), principal)


@router.put("/external-trainings/{record_id}", response_model=ExternalTrainingRead)
def update_record(
    record_id: RowId,
    form: FormDep,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> ExternalTrainingRead:
    """Correct a pending record (every field again; the file only when a new one is sent)."""
    row = service.update(
        db, record_id, raw=form.raw, upload=form.upload, principal=principal, settings=settings
    )
    return service.read(db, row, principal)


@router.delete("/external-trainings/{record_id}", status_code=204)
def withdraw_record(record_id: RowId, db: SessionDep, principal: CurrentPrincipal) -> Response:
    service.withdraw(db, record_id, principal)
    return Response(status_code=204)


@router.get("/external-trainings/{record_id}/file")
def certificate_file(
    request: Request,
    record_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> Response:
    """The certificate PDF, for its owner and officers only (others: 404)."""
    stored, filename = service.certificate_file(db, record_id, principal)
    return serve_object(
        request,
        get_storage(settings),
        key=stored.storage_key,
        filename=filename,
        content_type=stored.content_type,
        inline=request.query_params.get("download") != "1",
        etag_hint=stored.sha256,
    )


@router.post("/external-trainings/{record_id}/verify", response_model=ExternalTrainingRead)
def verify_record(
    record_id: RowId, data: DecisionIn, db: SessionDep, principal: Officer
) -> ExternalTrainingRead:
    """Verify (JP credited) or reject (reason required); deciding twice is a 409."""
    row = service.decide(db, record_id, principal, approved=data.approved, reason=data.reason)
    return service.read(db, row, principal)


@router.post("/external-trainings/{record_id}/revoke", response_model=ExternalTrainingRead)
def revoke_record(
    record_id: RowId, data: RevokeIn, db: SessionDep, principal: Officer
) -> ExternalTrainingRead:
    """Cancel a verified record with a reason; its JP credit is withdrawn."""
    row = service.revoke(db, record_id, principal, reason=data.reason)
    return service.read(db, row, principal)
