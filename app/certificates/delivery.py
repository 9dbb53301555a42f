"""A certificate's PDF (and, when the keys were missing at issue, its signed credential) is made
by the outbox, never inside the request that issued it: the learner's quiz submit, last activity
or survey and the officer's issue commit the record, its number, JP credit and notice, plus one
outbox item "certificate.pdf" keyed by the certificate (made once, however often it is asked
for). The handler renders, signs and stores; a fault (signing keys missing, object storage
unreachable, disk full) leaves the item pending with the error and the dispatcher tries again
with backoff until it works. An hourly sweep revives items that went dead and schedules any
certificate still without a PDF (a bulk job's failed renders), so no manual step is needed.

Registered on the outbox when this module is imported (app.certificates.tasks imports it).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.certificates import credential, documents
from app.certificates.keys import KeysMissing
from app.certificates.models import Certificate
from app.core.config import Settings
from app.core.db import session_scope, utcnow
from app.core.errors import ServiceUnavailable
from app.core.i18n import gettext_ as _
from app.jobs import service as jobs
from app.outbox import repository as outbox_repository
from app.outbox import service as outbox
from app.outbox.models import OutboxItem
from app.outbox.service import Cancelled, Failed, Outcome, Sent, register

log = logging.getLogger(__name__)

TOPIC_PDF = "certificate.pdf"
BATCH = 20  # a PDF costs tens of milliseconds: small batches keep a dispatch round short
SWEEP_AFTER = dt.timedelta(minutes=15)  # a certificate this old without a PDF gets an item


def item_key(cert_id: int) -> str:
    return f"{TOPIC_PDF}:{cert_id}"


def schedule(session: Session, cert: Certificate, *, delay_seconds: float = 0) -> None:
    """Ask for `cert`'s PDF in the caller's transaction (idempotent per certificate)."""
    if cert.id is None:
        session.flush()
    outbox.add(
        session, TOPIC_PDF, {"certificate_id": cert.id}, key=item_key(cert.id),
        label=f"PDF {cert.number}", user_id=cert.user_id,
        not_before=utcnow() + dt.timedelta(seconds=delay_seconds) if delay_seconds else None,
    )  # fmt: skip


def schedule_ids(session: Session, cert_ids: Sequence[int], *, delay_seconds: float = 0) -> None:
    """The same for certificates known by id (bulk jobs, the sweep): one insert."""
    if not cert_ids:
        return
    later = utcnow() + dt.timedelta(seconds=delay_seconds) if delay_seconds else None
    outbox.add_many(
        session,
        [
            outbox.NewItem(
                TOPIC_PDF,
                {"certificate_id": cid},
                item_key(cid),
                label=f"PDF #{cid}",
                not_before=later,
            )
            for cid in cert_ids
        ],
    )


def _fault(exc: BaseException) -> str | None:
    """A fault shared by every item (keys, storage, disk): its text; None for this item only."""
    if isinstance(exc, KeysMissing):
        return f"kunci tanda tangan belum tersedia: {exc}"
    if isinstance(exc, ServiceUnavailable):
        return f"penyimpanan objek tidak dapat dihubungi: {exc.detail}"
    if isinstance(exc, OSError):
        return f"penyimpanan tidak dapat ditulis: {exc}"
    return None


def _produce(session: Session, cert: Certificate, settings: Settings) -> None:
    """Sign the credential if issue could not, then render, sign and store the PDF and record
    it only if no other runner recorded one meanwhile (else the extra object is removed)."""
    if not cert.credential_jws:
        fields = {c.key: getattr(cert, c.key) for c in Certificate.__table__.columns}
        cert.credential_jws = credential.sign(credential.build(fields, settings), settings)
    if cert.pdf_key:
        return
    from app.certificates import templates as cert_templates

    cert_templates.record_template(session, cert)
    template = cert_templates.render_template_for(session, cert, settings)
    signed = documents.build_pdf(documents.certificate_data(cert, settings), template, settings)
    stored = documents.store_pdf(cert.id, cert.year, signed, settings)
    session.flush()
    won = session.execute(
        update(Certificate)
        .where(Certificate.id == cert.id, Certificate.pdf_key.is_(None))
        .values(pdf_key=stored.key, pdf_sha256=stored.sha256, pdf_size=stored.size)
        .execution_options(synchronize_session=False)
    )
    session.refresh(cert)
    if not getattr(won, "rowcount", 0) and cert.pdf_key != stored.key:
        documents.discard_pdf(stored.key, settings)  # a bulk job or another runner was first


@register(TOPIC_PDF, batch=BATCH, label=lambda: _("PDF sertifikat"))
def make_pdfs(session: Session, items: list[OutboxItem], settings: Settings) -> dict[int, Outcome]:
    ids = [int(i.payload.get("certificate_id", 0)) for i in items]
    found = {c.id: c for c in session.scalars(select(Certificate).where(Certificate.id.in_(ids)))}
    outcomes: dict[int, Outcome] = {}
    fault: str | None = None
    for item, cert_id in zip(items, ids, strict=True):
        cert = found.get(cert_id)
        if cert is None:
            outcomes[item.id] = Cancelled("sertifikat sudah dihapus")
            continue
        if cert.pdf_key and cert.credential_jws:
            outcomes[item.id] = Sent()  # done already (idempotent)
            continue
        if fault is not None:  # the keys or the storage failed for an earlier item
            outcomes[item.id] = Failed(fault)
            continue
        try:
            with session.begin_nested():
                _produce(session, cert, settings)
        except Exception as exc:
            fault = _fault(exc)
            error = fault or f"{type(exc).__name__}: {exc}"
            log.warning("certificate %s: PDF not made yet (%s); retried later", cert.id, error)
            outcomes[item.id] = Failed(error)
            continue
        outcomes[item.id] = Sent()
    return outcomes


def pdf_ready(cert: Certificate) -> bool:
    return bool(cert.pdf_key)


def sweep(session: Session, now: dt.datetime | None = None) -> tuple[int, int]:
    """Dead PDF items get a fresh set of attempts (their certificates still lack a PDF) and
    certificates older than SWEEP_AFTER without a PDF and without an item get one. Returns
    (revived, scheduled)."""
    now = now or utcnow()
    revived = outbox_repository.retry_all_dead(session, TOPIC_PDF, now)
    lacking = list(
        session.scalars(
            select(Certificate.id)
            .where(Certificate.pdf_key.is_(None), Certificate.issued_at < now - SWEEP_AFTER)
            .order_by(Certificate.id)
            .limit(900)  # one IN list below (SQLite bound-parameter limits); hourly
        )
    )
    waiting = set(
        session.scalars(
            select(OutboxItem.key).where(
                OutboxItem.key.in_([item_key(c) for c in lacking]),
                OutboxItem.state.in_(("pending", "sending")),
            )
        )
    ) if lacking else set()  # fmt: skip
    missing = [c for c in lacking if item_key(c) not in waiting]
    if missing:
        # Items already done for these ids (sent before the PDF went missing) are re-armed.
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.key.in_([item_key(c) for c in missing]))
            .values(state="pending", attempts=0, next_attempt_at=now, locked_until=None)
        )
        schedule_ids(session, missing)
    return revived, len(missing)


@jobs.scheduled(
    "certificates.pdf_sweep", label=lambda: _("Menyiapkan PDF sertifikat yang tertunda"),
    cadence="hourly",
)  # fmt: skip
def _sweep_job(settings: Settings, now: dt.datetime) -> str:
    with session_scope() as session:
        revived, scheduled = sweep(session, now)
    return f"{revived} PDF sertifikat dicoba ulang, {scheduled} dijadwalkan"
