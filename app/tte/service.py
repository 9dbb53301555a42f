"""Signing-batch rules: what may be signed, who prepares and who signs, and how a batch reads.

- Prepared by a training officer (or admin): a run's valid certificates with a stored PDF and no
  BSrE signature yet, or chosen ones of those. Nothing else goes in.
- Signed by a `signing_official` (the pejabat penandatangan): NIK and passphrase entered on the
  confirmation page, held in memory by app.tte.tasks for that batch only.
- A running batch whose process stopped (its heartbeat went stale) reads as failed: the
  credentials were never stored, so the official enters them again and the pending items go on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.audit import service as audit
from app.core.config import Settings
from app.core.db import utcnow
from app.core.errors import NotFound, ValidationFailed
from app.core.i18n import N_
from app.core.i18n import gettext_ as _
from app.courses import service as courses_service
from app.tte import repository
from app.tte.models import SigningBatch
from app.tte.schemas import BatchItemRead, BatchRead

SIGNING_OFFICIAL = "signing_official"
PREPARERS = ("training_officer", "admin")
VIEWERS = (*PREPARERS, SIGNING_OFFICIAL)
MSG_INTERRUPTED = N_(
    "Proses penandatanganan terhenti (server dimulai ulang). NIK dan passphrase tidak pernah "
    "disimpan: masukkan lagi untuk melanjutkan sertifikat yang belum ditandatangani."
)


def stale_after(settings: Settings) -> dt.timedelta:
    """A running batch whose heartbeat is older than this lost its process."""
    return dt.timedelta(seconds=max(120.0, 3 * settings.bsre_timeout_seconds))


def require_configured(settings: Settings) -> None:
    if not settings.bsre_url:
        raise ValidationFailed(
            _("TTE BSrE belum dikonfigurasi (LMS_BSRE_URL); hubungi admin sistem."),
            code="bsre_not_configured",
        )


def prepare(
    session: Session, *, run_id: int | None, certificate_ids: Sequence[int] | None, by: int | None
) -> SigningBatch:
    """A new batch of the run's (or the chosen) certificates still to sign, in number order."""
    if run_id is not None:
        courses_service.get_run(session, run_id)  # 404 for an unknown run
    ids = repository.signable_ids(
        session, run_id=run_id, ids=list(certificate_ids) if certificate_ids else None
    )
    if not ids:
        raise ValidationFailed(
            _("Tidak ada sertifikat yang dapat ditandatangani: semua sudah bertanda tangan BSrE, "
              "dicabut, atau PDF-nya belum dibuat."),
            code="nothing_to_sign",
        )  # fmt: skip
    batch = repository.add_batch(session, run_id, ids, by)
    audit.record(session, "tte.batch_prepared", target=("tte_signing_batch", batch.id),
                 after={"run_id": run_id, "count": len(ids)})  # fmt: skip
    return batch


def get_batch(session: Session, batch_id: int, settings: Settings) -> SigningBatch:
    batch = repository.get_batch(session, batch_id)
    if batch is None:
        raise NotFound(_("Batch penandatanganan tidak ditemukan."), code="tte_batch_not_found")
    expire_if_stale(session, batch, settings)
    return batch


def expire_if_stale(session: Session, batch: SigningBatch, settings: Settings) -> None:
    """A running batch without a live process: failed, with "enter your data again"."""
    if batch.state != "running" or batch.heartbeat_at is None:
        return
    from app.tte import tasks

    if tasks.is_running_here(batch.id):
        return
    if batch.heartbeat_at < utcnow() - stale_after(settings):
        batch.state, batch.error, batch.finished_at = "failed", _(MSG_INTERRUPTED), utcnow()
        session.flush()


def batch_read(session: Session, batch: SigningBatch, *, with_items: bool = True) -> BatchRead:
    counts = repository.counts(session, batch.id)
    items = (
        [
            BatchItemRead(certificate_id=it.certificate_id, number=number, holder_name=holder,
                          state=it.state, message=it.message, signed_at=it.signed_at)
            for it, number, holder in repository.items(session, batch.id)
        ]
        if with_items
        else []
    )
    return BatchRead(
        id=batch.id, run_id=batch.run_id, state=batch.state, total=batch.total,
        signed_count=counts.get("signed", 0), failed_count=counts.get("failed", 0),
        skipped_count=counts.get("skipped", 0), pending_count=counts.get("pending", 0),
        error=batch.error, error_code=batch.error_code, job_id=batch.job_id,
        created_at=batch.created_at, started_at=batch.started_at,
        finished_at=batch.finished_at, items=items,
    )  # fmt: skip


def list_batches(session: Session, settings: Settings) -> list[SigningBatch]:
    found = repository.batches(session)
    for batch in found:
        expire_if_stale(session, batch, settings)
    return found
