"""API routes for BSrE signing batches (api-v1.md "Integrations")."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.responses import JSONResponse

from app.auth.dependencies import SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.tte import service, tasks
from app.tte.client import Credentials
from app.tte.schemas import BatchCreate, BatchCreated, BatchRead, SignAccepted, SignRequest
from app.web.params import RowId
from app.web.routing import Router

router = Router(prefix="/api/v1", tags=["tte"])

Preparer = Annotated[Principal, Depends(require_roles(*service.PREPARERS))]
Official = Annotated[Principal, Depends(require_roles(service.SIGNING_OFFICIAL))]
Viewer = Annotated[Principal, Depends(require_roles(*service.VIEWERS))]


@router.post("/certificates/signing-batches", status_code=201, response_model=BatchCreated)
def prepare_batch(
    body: BatchCreate, db: SessionDep, principal: Preparer
) -> BatchCreated:
    """A training officer prepares a batch: a run's certificates still to sign, or chosen ones."""
    batch = service.prepare(db, run_id=body.run_id, certificate_ids=body.certificate_ids,
                            by=principal.user_id)  # fmt: skip
    return BatchCreated(id=batch.id, count=batch.total)


@router.get("/certificates/signing-batches/{batch_id}", response_model=BatchRead)
def read_batch(
    batch_id: RowId, db: SessionDep, settings: SettingsDep, _principal: Viewer
) -> BatchRead:
    """A batch's state and counters (the progress bar) with its certificates."""
    return service.batch_read(db, service.get_batch(db, batch_id, settings))


@router.post("/certificates/signing-batches/{batch_id}/sign", status_code=202,
             response_model=SignAccepted)  # fmt: skip
def sign_batch(
    batch_id: RowId, body: SignRequest, settings: SettingsDep, principal: Official
) -> JSONResponse:
    """The signing official signs: NIK and passphrase are used for this batch only (never
    stored). 422 with BSrE's reason when the certificate state or the passphrase is refused."""
    job_id = tasks.start(
        batch_id, Credentials(body.nik, body.passphrase.get_secret_value()), principal.user_id,
        settings,
    )  # fmt: skip
    return JSONResponse({"job_id": job_id}, status_code=202)
