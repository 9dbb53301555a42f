"""API routes of the SIASN push (api-v1 "Integrations"): the sync rows per state, retry one or
all, skip with a reason, and the reconciliation of one ASN against SIASN. Officers only."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends
from starlette import status

from app.accounts.constants import Role
from app.auth.dependencies import SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.core.errors import Conflict, ServiceUnavailable, ValidationFailed
from app.core.i18n import gettext_ as _
from app.siasn import service
from app.siasn.client import NotConfigured, SiasnError, configured
from app.siasn.schemas import ReconcileView, RetryAllOut, SiasnRecordRead, SkipIn
from app.web.params import PageNumber, RowId
from app.web.routing import Router

router = Router(prefix="/api/v1/integrations/siasn", tags=["integrations"])

Officer = Annotated[Principal, Depends(require_roles(Role.TRAINING_OFFICER, Role.ADMIN))]
State = Literal["pending", "pushed", "failed", "skipped"]
Source = Literal["certificate", "mentoring", "external_training"]


@router.get("/records", response_model=list[SiasnRecordRead])
def records(
    db: SessionDep, _officer: Officer, state: State | None = None, source: Source | None = None,
    page: PageNumber = 1,
) -> list[SiasnRecordRead]:  # fmt: skip
    """Every source's sync row, newest first (200 a page), filtered by state and source."""
    return service.listing(db, state=state, source=source, page=page)[1]


@router.post("/records/retry-all", response_model=RetryAllOut,
             status_code=status.HTTP_202_ACCEPTED)  # fmt: skip
def retry_all(db: SessionDep, _officer: Officer) -> RetryAllOut:
    """Every failed row is pushed again (a fresh set of attempts)."""
    return RetryAllOut(count=service.retry_all(db))


@router.post("/records/{record_id}/retry", response_model=SiasnRecordRead,
             status_code=status.HTTP_202_ACCEPTED)  # fmt: skip
def retry(record_id: RowId, db: SessionDep, _officer: Officer) -> SiasnRecordRead:
    """Push this row again: an update of the same SIASN record when it has one."""
    return service.to_read(service.retry(db, record_id))


@router.post("/records/{record_id}/skip", response_model=SiasnRecordRead)
def skip(record_id: RowId, data: SkipIn, db: SessionDep, _officer: Officer) -> SiasnRecordRead:
    """Do not push this row; the reason is kept."""
    return service.to_read(service.skip(db, record_id, data.reason))


@router.get("/reconcile/{nip}", response_model=ReconcileView)
def reconcile(nip: str, db: SessionDep, settings: SettingsDep, _officer: Officer) -> ReconcileView:
    """One ASN's records here and in SIASN (rw-kursus, rw-diklat), side by side."""
    if not nip.isdigit() or len(nip) != 18:
        raise ValidationFailed(_("NIP terdiri atas 18 angka."), field="nip")
    if not configured(settings):  # a setting, not an outage: nothing to retry
        raise Conflict(_("Koneksi SIASN belum diatur."), code="siasn_not_configured")
    try:
        return service.reconcile(db, nip, settings)
    except (SiasnError, NotConfigured) as exc:
        raise ServiceUnavailable(
            _("SIASN tidak dapat dibaca: %(m)s") % {"m": exc.message}
        ) from None
