"""Rules of the SIASN push: a sync row per JP source written in the transaction of the fact
(credited, withdrawn, moved: the JP ledger announces it), the push of one row (save with the
stored id so SIASN never gets a second record, then the certificate PDF), the job that pushes
what is due, and the officer's list, retry, skip and reconciliation for one ASN."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.accounts import service as accounts_service
from app.core import events
from app.core.config import Settings, get_settings
from app.core.db import session_scope, utcnow
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.i18n import gettext_ as _
from app.jobs import queue
from app.siasn import constants as c
from app.siasn import mapping, repository
from app.siasn.client import (
    NotConfigured,
    NotFoundInSiasn,
    Rejected,
    SiasnClient,
    SiasnError,
    Unavailable,
    configured,
)
from app.siasn.mapping import Entry
from app.siasn.models import SiasnRecord
from app.siasn.schemas import ReconcileLine, ReconcileView, SiasnRecordRead

log = logging.getLogger(__name__)

PUSH_TASK = "siasn.push"
LEASE_SECONDS = 300
WAIT_FOR_PDF_SECONDS = 30  # a certificate's PDF follows its issue within seconds (outbox)
BACKOFF_SECONDS = 60.0
BACKOFF_MAX_SECONDS = 3600.0


# --- writing the sync rows with the fact -----------------------------------------------------


def revocation_action(settings: Settings) -> str:
    """A withdrawn source: delete its SIASN record, or re-save it flagged (setting)."""
    return c.DELETE_ACTION if settings.siasn_revocation == "delete" else c.SAVE_ACTION


@events.on_jp_changed
def _on_jp_changed(session: Session, change: events.JpChange) -> None:
    """The JP ledger changed: write or update the source's sync row in the same transaction."""
    if change.source not in c.SOURCES:
        return
    settings = get_settings()
    now = utcnow()
    if change.kind == "credited":
        if not configured(settings):
            return  # pushing is off: nothing waits for a SIASN that is not there
        ids: Sequence[int] = change.source_ids
        users = dict(zip(change.source_ids, change.user_ids, strict=False))
        if change.source == "mentoring":  # credits are per session; SIASN gets the assignment
            assignments = repository.mentoring_assignments_of_sessions(session, ids)
            users = {assignments[s]: u for s, u in users.items() if s in assignments}
            ids = sorted(users)
        repository.insert_ignoring_duplicates(session, [
            {"source": change.source, "source_id": sid, "user_id": users[sid], "state": c.PENDING,
             "action": c.SAVE_ACTION, "attempts": 0, "next_attempt_at": now, "created_at": now,
             "updated_at": now}
            for sid in ids if sid in users
        ])  # fmt: skip
    elif change.kind == "withdrawn":
        _withdrawn(session, change.source, change.source_ids, settings, now)
    elif change.kind == "moved" and change.old_id is not None:
        repository.update_by_source(session, change.source, [change.old_id], {
            "source_id": change.source_ids[0], "state": c.PENDING, "action": c.SAVE_ACTION,
            "attempts": 0, "next_attempt_at": now, "last_error": None, "updated_at": now,
        })  # fmt: skip
    else:
        return
    _kick_after_commit(session)


def _withdrawn(session: Session, source: str, ids: Sequence[int], settings: Settings,
               now: dt.datetime) -> None:  # fmt: skip
    """Never pushed: nothing to undo in SIASN (skipped). Pushed: delete or flag per setting."""
    for row_id in ids:
        row = repository.by_source(session, source, row_id)
        if row is None:
            continue
        row.revoked_at = now
        if row.siasn_id is None and row.locked_until is None:
            row.state, row.skip_reason = c.SKIPPED, "dicabut sebelum dikirim ke SIASN"
        else:
            row.state, row.action, row.attempts = c.PENDING, revocation_action(settings), 0
            row.next_attempt_at, row.last_error = now, None
    session.flush()


_kick = queue.AfterCommitKick(PUSH_TASK)


def _wanted() -> bool:
    settings = get_settings()
    return settings.outbox_kick and configured(settings)


def _kick_after_commit(session: Session) -> None:
    """Queue a push once this transaction commits (a burst of commits shares one)."""
    _kick.after_commit(session, _wanted)


# --- reading a source -------------------------------------------------------------------------


class _SourceGone(Exception):
    """The source record no longer exists."""


def entry_for(session: Session, source: str, source_id: int, settings: Settings) -> Entry:
    """The source as SIASN gets it (raises _SourceGone when it was deleted)."""
    if source == "certificate":
        return _certificate_entry(session, source_id, settings)
    if source == "external_training":
        return _external_entry(session, source_id)
    return _mentoring_entry(session, source_id, settings)


def _certificate_entry(session: Session, cert_id: int, settings: Settings) -> Entry:
    from app.certificates.models import Certificate

    cert = session.get(Certificate, cert_id)
    if cert is None:
        raise _SourceGone
    mode = repository.run_delivery_mode(session, cert.run_id)
    return Entry(
        source="certificate", source_id=cert.id, user_id=cert.user_id, nip=cert.holder_nip,
        jenis_diklat=mapping.jenis_for_run(mode, settings), name=cert.course_title,
        organiser=cert.issuer, number=cert.number, starts_on=cert.run_starts_on,
        ends_on=cert.run_ends_on, year=cert.issued_on.year, jp=cert.jp, document=True,
    )  # fmt: skip


def _external_entry(session: Session, record_id: int) -> Entry:
    from app.external_training.constants import SIASN_JENIS_DIKLAT
    from app.external_training.models import ExternalTraining

    row = session.get(ExternalTraining, record_id)
    if row is None:
        raise _SourceGone
    person = accounts_service.profiles(session, [row.user_id]).get(row.user_id)
    return Entry(
        source="external_training", source_id=row.id, user_id=row.user_id,
        nip=person.nip if person else None,
        jenis_diklat=mapping.jenis_for_external(row.mode, SIASN_JENIS_DIKLAT.get(row.mode)),
        name=row.name, organiser=row.organiser, number=row.certificate_number,
        starts_on=row.starts_on, ends_on=row.ends_on, year=row.ends_on.year, jp=row.jp,
        document=row.file_id is not None,
    )  # fmt: skip


def _mentoring_entry(session: Session, assignment_id: int, settings: Settings) -> Entry:
    """One record per verified assignment: its credited sessions' JP and dates (as the export)."""
    from sqlalchemy import select

    from app.competency import service as competency_service
    from app.mentoring import service as mentoring_service
    from app.mentoring.models import MentoringAssignment, MentoringSession

    a = session.get(MentoringAssignment, assignment_id)
    if a is None:
        raise _SourceGone
    sessions = session.scalars(
        select(MentoringSession).where(MentoringSession.assignment_id == a.id)
    ).all()
    held = [s.held_on for s in mentoring_service.credited_sessions(sessions, a.planned_sessions)]
    if not held:
        raise _SourceGone
    person = accounts_service.profiles(session, [a.mentee_id]).get(a.mentee_id)
    names = competency_service.competency_names(session)
    return Entry(
        source="mentoring", source_id=a.id, user_id=a.mentee_id,
        nip=person.nip if person else None, jenis_diklat=c.JENIS_MENTORING,
        name=f"Mentoring {names.get(a.competency_code, a.competency_code)}",
        organiser=settings.institution_name, number=f"MENTORING-{a.id}",
        starts_on=min(held), ends_on=max(held), year=max(held).year,
        jp=round(len(held) * a.jp_per_session, 2), document=False,
    )  # fmt: skip


def _document_ready(session: Session, entry: Entry) -> bool:
    """A certificate's PDF is made by the outbox after issue: push only once it exists."""
    if entry.source != "certificate":
        return True
    from app.certificates.models import Certificate

    cert = session.get(Certificate, entry.source_id)
    return cert is not None and bool(cert.pdf_key)


def _document(entry: Entry, settings: Settings) -> tuple[str, bytes] | None:
    """The certificate file: (name, bytes), read from storage."""
    with session_scope() as session:
        if entry.source == "certificate":
            from app.certificates import documents
            from app.certificates.models import Certificate

            cert = session.get(Certificate, entry.source_id)
            if cert is None or not cert.pdf_key:
                return None
            return f"sertifikat-{cert.id}.pdf", documents.read_pdf(cert, settings)
        if entry.source == "external_training":
            from app.courses.models import ContentFile
            from app.external_training.models import ExternalTraining
            from app.storage.service import get_storage

            row = session.get(ExternalTraining, entry.source_id)
            stored = session.get(ContentFile, row.file_id) if row and row.file_id else None
            if stored is None:
                return None
            content = b"".join(get_storage(settings).open_range(stored.storage_key))
            return row.file_name if row and row.file_name else "sertifikat.pdf", content
    return None


# --- pushing one row --------------------------------------------------------------------------


@dataclass(slots=True)
class PushStats:
    pushed: int = 0
    deleted: int = 0
    failed: int = 0
    waiting: int = 0  # not ready (PDF), or SIASN unavailable: later
    skipped: int = 0
    calls: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.by_outcome[outcome] = self.by_outcome.get(outcome, 0) + 1
        if outcome in ("pushed", "deleted", "failed", "skipped"):
            setattr(self, outcome, getattr(self, outcome) + 1)
        elif outcome in ("waiting", "unavailable"):
            self.waiting += 1


@dataclass(frozen=True, slots=True)
class _Snapshot:
    action: str
    source_id: int
    revoked: bool
    siasn_id: str | None
    kind: str | None
    attempts: int
    document_sha256: str | None


def _backoff(attempts: int) -> float:
    return float(min(BACKOFF_SECONDS * 2 ** max(0, attempts - 1), BACKOFF_MAX_SECONDS))


def _update(record_id: int, **values: Any) -> None:
    with session_scope() as session:
        row = repository.get(session, record_id, lock=True)
        if row is not None:
            for key, value in values.items():
                setattr(row, key, value)


def _pns_orang_id(client: SiasnClient, entry: Entry) -> str:
    """data-utama's `id` for the holder's NIP, cached on the account."""
    if not entry.nip:
        raise Rejected("Peserta belum punya NIP: lengkapi profilnya lalu coba lagi.")
    with session_scope() as session:
        cached = repository.person(session, entry.user_id)
        if cached is not None and cached.nip == entry.nip:
            return cached.pns_orang_id
    data = client.data_utama(entry.nip)
    pns_id = str(data["id"])
    with session_scope() as session:
        repository.save_person(session, entry.user_id, entry.nip, pns_id, utcnow())
    return pns_id


def _adopt(client: SiasnClient, entry: Entry) -> str | None:
    """A retried first push may have created the record before it failed: find it by the
    certificate number so that it is updated, not created twice."""
    assert entry.nip
    for item in client.riwayat(entry.kind, entry.nip):
        if mapping.matches(item, entry) and item.get("id"):
            return str(item["id"])
    return None


def _finish(record_id: int, snap: _Snapshot, settings: Settings, **values: Any) -> bool:
    """Store the outcome unless the row changed meanwhile (revoked, moved): then it stays
    pending for the next round with what SIASN now holds. True when stored as done."""
    with session_scope() as session:
        row = repository.get(session, record_id, lock=True)
        if row is None:
            return False
        changed = (row.action, row.source_id, row.revoked_at is not None) != (
            snap.action, snap.source_id, snap.revoked,
        )  # fmt: skip
        for key in ("siasn_id", "kind", "document_uri", "document_sha256", "deleted_at"):
            if key in values:
                setattr(row, key, values[key])
        row.locked_until = None
        if not changed:
            for key, value in values.items():
                setattr(row, key, value)
            return True
        if row.revoked_at is not None and not snap.revoked:  # revoked while being pushed
            row.action, row.state, row.skip_reason = revocation_action(settings), c.PENDING, None
            row.next_attempt_at = utcnow()
        return False


def push_one(record_id: int, client: SiasnClient, settings: Settings) -> str:
    """Push one claimed row; returns "pushed", "deleted", "failed", "skipped", "waiting" or
    "unavailable" (SIASN throttled or down after the client's retries: raises Unavailable
    after recording it, so the round stops)."""
    with session_scope() as session:
        row = repository.get(session, record_id)
        if row is None or row.state != c.PENDING:
            return "skipped"
        snap = _Snapshot(row.action, row.source_id, row.revoked_at is not None, row.siasn_id,
                         row.kind, row.attempts, row.document_sha256)  # fmt: skip
        try:
            entry = entry_for(session, row.source, row.source_id, settings)
        except _SourceGone:
            entry = None
        ready = entry is None or snap.action == c.DELETE_ACTION or _document_ready(session, entry)
    if entry is None and snap.siasn_id is None:
        _update(record_id, state=c.SKIPPED, skip_reason="sumber sudah dihapus", locked_until=None)
        return "skipped"
    if not ready:
        _update(record_id, locked_until=None,
                next_attempt_at=utcnow() + dt.timedelta(seconds=WAIT_FOR_PDF_SECONDS))  # fmt: skip
        return "waiting"
    try:
        if snap.action == c.DELETE_ACTION or entry is None:
            if snap.siasn_id:
                client.delete(snap.kind or "kursus", snap.siasn_id)
            _finish(record_id, snap, settings, state=c.PUSHED, deleted_at=utcnow(),
                    pushed_at=utcnow(), last_error=None)  # fmt: skip
            return "deleted"
        pns_id = _pns_orang_id(client, entry)
        siasn_id = snap.siasn_id
        if siasn_id is None and snap.attempts > 1:
            siasn_id = _adopt(client, entry)
        body = mapping.payload(entry, pns_orang_id=pns_id, siasn_id=siasn_id, settings=settings,
                               revoked=snap.revoked)  # fmt: skip
        saved = client.save(entry.kind, body)
        if saved != snap.siasn_id:  # durable at once: a crash after this never creates twice
            _update(record_id, siasn_id=saved, kind=entry.kind)
        done: dict[str, Any] = {}
        if entry.document and not snap.revoked:
            doc = _document(entry, settings)
            if doc is not None:
                sha = hashlib.sha256(doc[1]).hexdigest()
                if sha != snap.document_sha256 or saved != snap.siasn_id:
                    uri = client.upload(entry.kind, saved, doc[0], doc[1])
                    done.update(document_uri=uri, document_sha256=sha)
        _finish(record_id, snap, settings, state=c.PUSHED, pushed_at=utcnow(), last_error=None,
                siasn_id=saved, kind=entry.kind, **done)  # fmt: skip
        return "pushed"
    except (Rejected, NotFoundInSiasn) as exc:
        message = exc.message or _("SIASN menolak data tanpa pesan.")
        log.info("siasn record %s refused: %s", record_id, message)
        _update(record_id, state=c.FAILED, last_error=message[:2000], locked_until=None)
        return "failed"
    except (Unavailable, NotConfigured) as exc:
        attempts = snap.attempts
        final = attempts >= settings.siasn_max_attempts
        _update(record_id, last_error=exc.message[:2000], locked_until=None,
                state=c.FAILED if final else c.PENDING,
                next_attempt_at=utcnow() + dt.timedelta(seconds=_backoff(attempts)))  # fmt: skip
        raise


def push_due(
    settings: Settings | None = None,
    *,
    client: SiasnClient | None = None,
    max_seconds: float = 50.0,
) -> PushStats:
    """Push every due row, in batches of settings.siasn_batch, settings.siasn_concurrency at a
    time, until none is due, SIASN is unavailable, or the time budget is spent."""
    settings = settings or get_settings()
    stats = PushStats()
    if not configured(settings):
        return stats
    own = client is None
    client = client or SiasnClient(settings)
    started = time.monotonic()
    stop = threading.Event()

    def one(record_id: int) -> str:
        if stop.is_set():
            return "released"
        try:
            return push_one(record_id, client, settings)
        except SiasnError:
            stop.set()
            return "unavailable"
        except Exception:
            log.exception("siasn record %s: push failed", record_id)
            _update(record_id, locked_until=None,
                    next_attempt_at=utcnow() + dt.timedelta(seconds=BACKOFF_SECONDS))  # fmt: skip
            return "waiting"

    pool = (
        ThreadPoolExecutor(settings.siasn_concurrency) if settings.siasn_concurrency > 1 else None
    )
    try:
        while not stop.is_set() and time.monotonic() - started < max_seconds:
            now = utcnow()
            with session_scope() as session:
                ids = repository.claim(session, settings.siasn_batch, now,
                                       now + dt.timedelta(seconds=LEASE_SECONDS))  # fmt: skip
                _count_attempts(session, ids)
            if not ids:
                break
            outcomes = list(pool.map(one, ids)) if pool else [one(i) for i in ids]
            released = [i for i, o in zip(ids, outcomes, strict=True) if o == "released"]
            if released:
                with session_scope() as session:
                    repository.update_many(session, released, {"locked_until": None})
            for outcome in outcomes:
                if outcome != "released":
                    stats.count(outcome)
    finally:
        if pool:
            pool.shutdown()
        stats.calls = client.calls
        if own:
            client.close()
    return stats


def _count_attempts(session: Session, ids: Sequence[int]) -> None:
    """Every claim is an attempt (counted before any call: a crashed push shows as one)."""
    repository.bump_attempts(session, ids)


# --- officers -----------------------------------------------------------------------------------


def to_read(row: SiasnRecord) -> SiasnRecordRead:
    return SiasnRecordRead(
        id=row.id, source=row.source, source_id=row.source_id, user_id=row.user_id,
        state=row.state, siasn_id=row.siasn_id, last_error=row.last_error, attempts=row.attempts,
        pushed_at=row.pushed_at, skip_reason=row.skip_reason,
        revoked=row.revoked_at is not None, deleted=row.deleted_at is not None,
        document=row.document_uri is not None or row.document_sha256 is not None,
    )  # fmt: skip


def listing(
    session: Session, *, state: str | None = None, source: str | None = None,
    user_ids: Sequence[int] | None = None, page: int = 1, per_page: int = 200,
) -> tuple[int, list[SiasnRecordRead]]:  # fmt: skip
    state = state if state in c.STATES else None
    source = source if source in c.SOURCES else None
    total, rows = repository.listing(
        session, state=state, source=source, user_ids=user_ids,
        offset=(max(page, 1) - 1) * per_page, limit=per_page,
    )  # fmt: skip
    return total, [to_read(r) for r in rows]


def counts(session: Session) -> dict[str, int]:
    found = repository.counts(session)
    return {s: found.get(s, 0) for s in c.STATES}


def _get(session: Session, record_id: int) -> SiasnRecord:
    row = repository.get(session, record_id, lock=True)
    if row is None:
        raise NotFound(_("Catatan SIASN tidak ditemukan."), code="siasn_record_not_found")
    return row


def retry(session: Session, record_id: int) -> SiasnRecord:
    """Officers: push this row again now (a pushed row is re-saved under its stored id: an
    update, never a second record); a fresh set of attempts."""
    row = _get(session, record_id)
    row.state, row.attempts, row.next_attempt_at = c.PENDING, 0, utcnow()
    row.locked_until, row.skip_reason = None, None
    session.flush()
    _kick_after_commit(session)
    return row


def retry_all(session: Session) -> int:
    """Officers: every failed row gets a fresh set of attempts now."""
    n = repository.retry_failed(session, utcnow())
    if n:
        _kick_after_commit(session)
    return n


def skip(session: Session, record_id: int, reason: str) -> SiasnRecord:
    """Officers: do not push this row (e.g. entered in SIASN by hand); a reason is required."""
    text = " ".join((reason or "").split())
    if len(text) < 3:
        raise ValidationFailed(_("Tuliskan alasan mengapa catatan ini tidak dikirim."),
                               field="reason")  # fmt: skip
    row = _get(session, record_id)
    if row.state == c.PUSHED and row.action == c.SAVE_ACTION and row.deleted_at is None:
        raise Conflict(_("Catatan ini sudah ada di SIASN."), code="siasn_already_pushed")
    row.state, row.skip_reason, row.locked_until = c.SKIPPED, text[:500], None
    session.flush()
    return row


def reconcile(session: Session, nip: str, settings: Settings,
              client: SiasnClient | None = None) -> ReconcileView:  # fmt: skip
    """One ASN: our sources beside SIASN's rw-kursus and rw-diklat, matched by SIASN id or
    certificate number; what is missing on either side stands out."""
    nip = "".join(nip.split())
    user = accounts_service.user_by_nip(session, nip)
    if user is None:
        raise NotFound(_("Tidak ada akun dengan NIP itu."), code="user_not_found")
    own = client is None
    client = client or SiasnClient(settings)
    try:
        remote = [("kursus", i) for i in client.riwayat("kursus", nip)]
        remote += [("diklat", i) for i in client.riwayat("diklat", nip)]
    finally:
        if own:
            client.close()
    lines: list[ReconcileLine] = []
    used: set[int] = set()
    for row in repository.of_user(session, user.id):
        try:
            entry: Entry | None = entry_for(session, row.source, row.source_id, settings)
        except _SourceGone:
            entry = None
        match = None
        for n, (kind, item) in enumerate(remote):
            same_id = row.siasn_id and str(item.get("id")) == row.siasn_id
            if n not in used and (same_id or (entry and entry.kind == kind
                                              and mapping.matches(item, entry))):  # fmt: skip
                match = n
                break
        if match is not None:
            used.add(match)
        item = remote[match][1] if match is not None else {}
        lines.append(ReconcileLine(
            record_id=row.id, source=row.source, source_id=row.source_id, state=row.state,
            name=entry.name if entry else None, number=entry.number if entry else None,
            siasn_id=str(item["id"]) if item.get("id") else row.siasn_id,
            siasn_name=_remote_name(item) if item else None,
            where="both" if match is not None else "lms",
        ))  # fmt: skip
    for n, (kind, item) in enumerate(remote):
        if n in used:
            continue
        lines.append(ReconcileLine(
            siasn_id=str(item.get("id") or ""), siasn_name=_remote_name(item),
            number=str(item.get(c.NUMBER_FIELD[kind]) or "") or None, where="siasn",
        ))  # fmt: skip
    return ReconcileView(nip=nip, name=user.name, lines=lines)


def _remote_name(item: dict[str, Any]) -> str:
    return str(item.get("namaKursus") or item.get("latihanStrukturalNama") or "—")
