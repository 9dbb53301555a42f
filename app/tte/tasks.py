"""The signing job: the official's batch through BSrE, in order, with a progress bar.

Why not the job queue (app.jobs.queue)? A queued task's arguments are written to the queue's
store (SQLite file or Redis) and the task may run in another process (another web worker, or
`lms jobs worker`). The NIK and passphrase must live only in this process's memory, so the job
runs on a thread of the process that received them: `start` checks the official's certificate
state and signs the first certificate in the request (a wrong passphrase answers 422 at once,
with nothing changed), then hands the `BsreSigner` (which holds the credentials) to a thread and
forgets it. The batch row carries state, counters and a heartbeat; if the process dies, the
batch reads as failed with "enter your data again" (app.tte.service.expire_if_stale) and the
pending items continue once the official signs again. With LMS_JOBS_URL=immediate (tests) the
rest runs in the caller too.

Per certificate: read the stored PDF (its sha256 must still be the recorded one), have BSrE sign
it, check the returned file with pyHanko (app.tte.signer.verify_returned), store it under a new
key, and swap key + sha256 + size in one statement guarded by the old sha256 and the valid
status, committed with the item's state and an audit entry; the old file is removed afterwards.
So a certificate is either wholly as it was or wholly BSrE-signed, never in between.

Stops on the first credential error (wrong passphrase 2031, not registered 2011, no certificate
2021, expired...) or when BSrE is unreachable after retries: pending items stay pending. A PDF
that BSrE refuses or that fails our check is marked failed and the batch goes on.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from app.audit import service as audit
from app.certificates import documents
from app.certificates.layout import verify_url
from app.core.config import Settings, get_settings
from app.core.db import session_scope, utcnow
from app.core.errors import Conflict, ValidationFailed
from app.core.i18n import gettext_ as _
from app.core.logging import job_context, new_job_id
from app.storage import get_storage
from app.tte import repository, service
from app.tte.client import (
    BsreError,
    CredentialRejected,
    Credentials,
    DocumentRejected,
    EsignClient,
    Placement,
    Unreachable,
)
from app.tte.repository import PendingRow
from app.tte.signer import BsreSigner, SignedPdfRejected, verify_returned

log = logging.getLogger(__name__)

RETRIES = 2  # extra attempts after a network error, per certificate
RETRY_PAUSE = 1.0  # seconds, doubled each time

_running: dict[int, threading.Thread] = {}
_running_lock = threading.Lock()


def is_running_here(batch_id: int) -> bool:
    with _running_lock:
        thread = _running.get(batch_id)
        return thread is not None and thread.is_alive()


@dataclass(frozen=True, slots=True)
class Outcome:
    cert_id: int
    state: str  # signed | failed | skipped
    old_sha256: str | None
    message: str | None = None
    new: documents.StoredPdf | None = None
    old_key: str | None = None
    signer: str | None = None


class Stop(Exception):
    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.message, self.code = message, code


# --- one certificate -----------------------------------------------------------------------------


def sign_one(row: PendingRow, signer: BsreSigner, settings: Settings) -> Outcome:
    """Sign, check and store one certificate's PDF (no database). Credential and service errors
    raise Stop; a refused or failing PDF is an Outcome "failed"."""
    if row.status != "valid" or not row.pdf_key or not row.pdf_sha256:
        return Outcome(row.cert_id, "skipped", row.pdf_sha256,
                       _("Sertifikat dicabut, diganti, atau PDF-nya belum ada."))  # fmt: skip
    original = b"".join(get_storage(settings).open_range(row.pdf_key))
    if hashlib.sha256(original).hexdigest() != row.pdf_sha256:
        return Outcome(row.cert_id, "failed", row.pdf_sha256,
                       _("PDF tersimpan tidak sama dengan catatannya; tidak dikirim."))  # fmt: skip
    signed = _sign_with_retries(signer, original, verify_url(row.code, settings))
    if isinstance(signed, Outcome):
        return Outcome(row.cert_id, signed.state, row.pdf_sha256, signed.message)
    try:
        verified = verify_returned(original, signed, settings)
    except SignedPdfRejected as exc:
        log.warning("certificate %s: BSrE's PDF rejected: %s", row.cert_id, exc.message)
        return Outcome(row.cert_id, "failed", row.pdf_sha256, exc.message)
    stored = documents.store_pdf(row.cert_id, row.year, signed, settings)
    return Outcome(row.cert_id, "signed", row.pdf_sha256, None, stored, row.pdf_key,
                   verified.signer)  # fmt: skip


def _sign_with_retries(signer: BsreSigner, pdf: bytes, link: str) -> bytes | Outcome:
    pause = RETRY_PAUSE
    for attempt in range(RETRIES + 1):
        try:
            return signer.sign(pdf, link_qr=link)
        except DocumentRejected as exc:
            return Outcome(0, "failed", None, exc.message)
        except CredentialRejected as exc:
            raise Stop(exc.message, exc.code) from None
        except Unreachable as exc:
            if attempt == RETRIES:
                raise Stop(exc.message, exc.code) from None
            time.sleep(pause)
            pause *= 2
        except BsreError as exc:
            raise Stop(exc.message, exc.code) from None
    raise AssertionError("unreachable")


def record(batch_id: int, outcome: Outcome, by: int | None, settings: Settings) -> None:
    """Commit one certificate's outcome: the swap, the item, the audit entry, the heartbeat."""
    discard: str | None = None
    with session_scope() as session:
        item = repository.item(session, batch_id, outcome.cert_id)
        assert item is not None
        now = utcnow()
        state, message = outcome.state, outcome.message
        if outcome.new is not None:
            swapped = repository.swap_pdf(session, outcome.cert_id, outcome.old_sha256 or "",
                                          outcome.new.key, outcome.new.sha256, outcome.new.size)
            if swapped:
                audit.record(session, "certificate.tte_signed", actor=by,
                             target=("certificate", outcome.cert_id),
                             before={"pdf_sha256": outcome.old_sha256},
                             after={"pdf_sha256": outcome.new.sha256, "signer": outcome.signer,
                                    "batch_id": batch_id})  # fmt: skip
                item.new_sha256, item.signed_at = outcome.new.sha256, now
                discard = outcome.old_key if outcome.old_key != outcome.new.key else None
            else:  # revoked or re-issued meanwhile: the signed copy goes
                state, message = "skipped", _("Sertifikat berubah selama penandatanganan.")
                discard = outcome.new.key
        item.state, item.message, item.old_sha256 = state, message, outcome.old_sha256
        batch = repository.get_batch(session, batch_id)
        assert batch is not None
        batch.heartbeat_at = now
        if state == "signed":
            batch.signed_count += 1
        elif state == "failed":
            batch.failed_count += 1
        else:
            batch.skipped_count += 1
    if discard:
        documents.discard_pdf(discard, settings)


def _finish(batch_id: int, *, error: str | None = None, code: int | None = None) -> None:
    with session_scope() as session:
        batch = repository.get_batch(session, batch_id)
        assert batch is not None
        batch.state = "failed" if error else "done"
        batch.error, batch.error_code, batch.finished_at = error, code, utcnow()


# --- the batch -----------------------------------------------------------------------------------


def start(batch_id: int, credentials: Credentials, by: int | None,
          settings: Settings | None = None) -> str:  # fmt: skip
    """The signing official's "sign": check the certificate state, claim the batch, sign the
    first certificate here (422 with BSrE's reason on a credential error, nothing changed), then
    the rest on a thread of this process. Returns the job id."""
    settings = settings or get_settings()
    service.require_configured(settings)
    client = EsignClient.from_settings(settings)
    try:
        try:
            client.require_issue(credentials.nik)
        except BsreError as exc:
            raise ValidationFailed(exc.message, field="nik", code="bsre_rejected") from None
        job_id = new_job_id()
        with session_scope() as session:
            batch = service.get_batch(session, batch_id, settings)
            if batch.state == "done" or is_running_here(batch_id):
                raise Conflict(_("Batch ini sudah selesai atau sedang berjalan."),
                               code="tte_batch_busy")  # fmt: skip
            stale = utcnow() - service.stale_after(settings)
            if not repository.claim(session, batch_id, job_id, by, utcnow(), stale):
                raise Conflict(_("Batch ini sedang ditandatangani."), code="tte_batch_busy")
            audit.record(session, "tte.batch_signing", actor=by,
                         target=("tte_signing_batch", batch_id), after={"job_id": job_id})
        signer = BsreSigner(client, credentials, Placement.from_settings(settings))
    except BaseException:
        client.close()
        raise
    del credentials  # from here on only the signer holds them
    with session_scope() as session:
        rows = repository.pending(session, batch_id)
    if rows:
        try:
            outcome = sign_one(rows[0], signer, settings)
        except Stop as stop:
            _finish(batch_id, error=stop.message, code=stop.code)
            client.close()
            raise ValidationFailed(stop.message, code="bsre_rejected") from None
        except BaseException as exc:
            _finish(batch_id, error=_("Kesalahan tak terduga: %(e)s") % {"e": type(exc).__name__})
            client.close()
            raise
        record(batch_id, outcome, by, settings)
    if settings.jobs_url == "immediate":
        run(batch_id, signer, client, by, job_id, settings)
        return job_id
    thread = threading.Thread(target=run, args=(batch_id, signer, client, by, job_id, settings),
                              name=f"tte-batch-{batch_id}", daemon=True)  # fmt: skip
    with _running_lock:
        _running[batch_id] = thread
    thread.start()
    return job_id


def run(batch_id: int, signer: BsreSigner, client: EsignClient, by: int | None, job_id: str,
        settings: Settings, *, on_progress: Callable[[int], None] | None = None) -> str:  # fmt: skip
    """Sign the batch's pending certificates, `bsre_concurrency` requests in flight, results
    committed in order. Returns the final state."""
    with job_context("tte.sign_batch", job_id=job_id, kind="tte", batch_id=batch_id) as ctx:
        try:
            state = _run(batch_id, signer, by, settings, on_progress)
        finally:
            client.close()
            with _running_lock:
                _running.pop(batch_id, None)
        ctx.outcome = "ok" if state == "done" else "incomplete"
        return state


def _run(batch_id: int, signer: BsreSigner, by: int | None, settings: Settings,
         on_progress: Callable[[int], None] | None) -> str:  # fmt: skip
    with session_scope() as session:
        rows = repository.pending(session, batch_id)
    stop: Stop | None = None
    done = 0
    window: deque[Future[Outcome]] = deque()
    workers = max(1, settings.bsre_concurrency)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tte-sign") as pool:
        position = 0
        while position < len(rows) or window:
            while stop is None and position < len(rows) and len(window) < workers:
                window.append(pool.submit(sign_one, rows[position], signer, settings))
                position += 1
            if not window:
                break
            future = window.popleft()
            try:
                outcome = future.result()
            except Stop as exc:
                stop = stop or exc
                continue
            except Exception as exc:  # storage down, a bug: stop with the pending left pending
                log.exception("certificate signing failed in batch %s", batch_id)
                stop = stop or Stop(_("Kesalahan tak terduga: %(e)s") % {"e": type(exc).__name__})
                continue
            record(batch_id, outcome, by, settings)
            done += 1
            if on_progress is not None:
                on_progress(done)
    if stop is not None:
        _finish(batch_id, error=stop.message, code=stop.code)
        return "failed"
    _finish(batch_id)
    return "done"


def check(nik: str, settings: Settings | None = None) -> tuple[str, str | None, str | None]:
    """`lms tte check NIK`: (status, code, Indonesian message) from the Esign Client Service."""
    settings = settings or get_settings()
    service.require_configured(settings)
    with EsignClient.from_settings(settings) as client:
        found = client.user_status(nik)
    from app.tte import constants as c

    text = None if found.may_sign else c.STATUS_MESSAGES.get(found.status)
    return found.status, found.code, _(text) if text else found.message
