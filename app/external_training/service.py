"""Rules of external training: what a valid record is, who may see, change and decide it, the JP
credit on verification (withdrawn on revocation), duplicate certificate flags and SIASN rows."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.accounts import service as accounts_service
from app.audit import service as audit
from app.auth.service import Principal
from app.core.config import Settings
from app.core.db import utcnow
from app.core.errors import (
    Conflict,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from app.core.i18n import gettext_ as _
from app.courses import service as courses_service
from app.courses import uploads
from app.courses.constants import funding_labels
from app.courses.filetypes import UploadKind
from app.courses.models import ContentFile
from app.external_training import repository
from app.external_training.constants import (
    FUNDING_SOURCES,
    MAX_REASON_CHARS,
    MODES,
    OFFICERS,
    PENDING,
    REJECTED,
    REVOKED,
    SIASN_JENIS_DIKLAT,
    VERIFIED,
)
from app.external_training.models import ExternalTraining
from app.external_training.schemas import (
    DuplicateRead,
    ExternalTrainingPage,
    ExternalTrainingRead,
)
from app.jp import service as jp_service
from app.notifications import service as notifications
from app.notifications.constants import NewNotification
from app.storage import ReadableStream
from app.storage.service import get_storage

# The form fields of a record, in the order the form and the API list them.
FIELDS = (
    "name", "organiser", "starts_on", "ends_on", "jp", "certificate_number", "funding_source",
    "mode",
)  # fmt: skip
MAX_TEXT = {"name": 255, "organiser": 255, "certificate_number": 128}


def mode_labels() -> dict[str, str]:
    return {
        "klasikal": _("Klasikal (tatap muka)"),
        "e_learning": _("E-learning"),
        "blended": _("Blended (campuran)"),
        "jarak_jauh": _("Pelatihan jarak jauh"),
        "coaching": _("Coaching"),
        "mentoring": _("Mentoring"),
        "seminar": _("Seminar / lokakarya"),
    }


def status_labels() -> dict[str, str]:
    return {
        PENDING: _("Menunggu verifikasi"),
        VERIFIED: _("Terverifikasi"),
        REJECTED: _("Ditolak"),
        REVOKED: _("Dibatalkan"),
    }


def field_labels() -> dict[str, str]:
    return {
        "name": _("Nama pelatihan"),
        "organiser": _("Penyelenggara"),
        "starts_on": _("Tanggal mulai"),
        "ends_on": _("Tanggal selesai"),
        "jp": _("Jumlah JP"),
        "certificate_number": _("Nomor sertifikat"),
        "funding_source": _("Sumber dana"),
        "mode": _("Metode pelatihan"),
        "file": _("Sertifikat (PDF)"),
    }


# --- small named rules ------------------------------------------------------------------------


def certificate_key(number: str) -> str:
    """Certificate numbers that differ only in case or spacing are the same certificate."""
    return re.sub(r"\s+", "", number).upper()


def is_officer(principal: Principal) -> bool:
    """Training officers and admins verify records and see everyone's (issue 6, item 6)."""
    return principal.has_any(*OFFICERS)


def jp_within_cap(jp: float, settings: Settings) -> bool:
    """A record claims more than 0 and at most settings.external_training_max_jp JP."""
    return 0 < jp <= settings.external_training_max_jp


def date_problem(starts_on: dt.date, ends_on: dt.date, today: dt.date) -> str | None:
    """The training has ended (not in the future) and did not end before it started."""
    if ends_on < starts_on:
        return "order"
    if ends_on > today:
        return "future"
    return None


@dataclass(frozen=True, slots=True)
class TrainingData:
    name: str
    organiser: str
    starts_on: dt.date
    ends_on: dt.date
    jp: float
    certificate_number: str
    funding_source: str
    mode: str


@dataclass(frozen=True, slots=True)
class Upload:
    """A certificate file as the route received it."""

    stream: ReadableStream
    filename: str | None
    size: int | None


def _parse_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        return None


def _parse_jp(value: str) -> float | None:
    try:
        jp = float(value.strip().replace(",", "."))
    except ValueError:
        return None
    return jp if math.isfinite(jp) else None


def parse_fields(raw: Mapping[str, str | None], settings: Settings) -> TrainingData:
    """Every field checked at once; ValidationFailed lists each wrong field in Indonesian."""
    labels = field_labels()
    values = {f: (raw.get(f) or "").strip() for f in FIELDS}
    errors: list[dict[str, Any]] = []

    def fail(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    for field in FIELDS:
        if not values[field]:
            fail(field, _("%(field)s wajib diisi.") % {"field": labels[field]})
    for field, limit in MAX_TEXT.items():
        if len(values[field]) > limit:
            fail(field, _("%(field)s paling panjang %(n)s karakter.")
                 % {"field": labels[field], "n": limit})  # fmt: skip
    starts_on = _parse_date(values["starts_on"]) if values["starts_on"] else None
    ends_on = _parse_date(values["ends_on"]) if values["ends_on"] else None
    for field, parsed in (("starts_on", starts_on), ("ends_on", ends_on)):
        if values[field] and parsed is None:
            fail(field, _("%(field)s bukan tanggal yang sah (format TTTT-BB-HH).")
                 % {"field": labels[field]})  # fmt: skip
    if starts_on and ends_on:
        problem = date_problem(starts_on, ends_on, courses_service.today())
        if problem == "order":
            fail("ends_on", _("Tanggal selesai tidak boleh sebelum tanggal mulai."))
        elif problem == "future":
            fail("ends_on", _("Tanggal selesai tidak boleh di masa depan; catat pelatihan "
                              "setelah selesai."))  # fmt: skip
    jp = _parse_jp(values["jp"]) if values["jp"] else None
    if values["jp"] and jp is None:
        fail("jp", _("Jumlah JP harus berupa angka, misalnya 24 atau 2,5."))
    elif jp is not None and not jp_within_cap(jp, settings):
        fail("jp", _("Jumlah JP harus lebih dari 0 dan paling banyak %(max)s.")
             % {"max": f"{settings.external_training_max_jp:g}"})  # fmt: skip
    if values["funding_source"] and values["funding_source"] not in FUNDING_SOURCES:
        fail("funding_source", _("Sumber dana harus salah satu dari: %(list)s.")
             % {"list": ", ".join(funding_labels().values())})  # fmt: skip
    if values["mode"] and values["mode"] not in MODES:
        fail("mode", _("Metode pelatihan harus salah satu dari: %(list)s.")
             % {"list": ", ".join(mode_labels().values())})  # fmt: skip
    if errors:
        raise ValidationFailed(errors[0]["message"], field=errors[0]["field"], errors=errors)
    assert starts_on and ends_on and jp is not None
    return TrainingData(
        name=values["name"],
        organiser=values["organiser"],
        starts_on=starts_on,
        ends_on=ends_on,
        jp=round(jp, 2),
        certificate_number=values["certificate_number"],
        funding_source=values["funding_source"],
        mode=values["mode"],
    )


def _store_certificate(session: Session, upload: Upload, settings: Settings) -> ContentFile:
    """The certificate must be a PDF (checked by its bytes) of at most max_evidence_bytes."""
    if upload.size is not None:
        if upload.size == 0:
            raise ValidationFailed(_("Berkas sertifikat kosong (0 bita)."), field="file")
        if upload.size > settings.max_evidence_bytes:
            raise _too_large(settings)
    capped = settings.model_copy(update={"max_document_bytes": settings.max_evidence_bytes})
    try:
        return uploads.store_stream(
            session, get_storage(settings), upload.stream, kind=UploadKind.DOCUMENT,
            settings=capped,
        )  # fmt: skip
    except UnsupportedMediaType as exc:
        raise UnsupportedMediaType(
            _("Sertifikat harus berupa berkas PDF; berkas ini bukan PDF."),
            code="not_pdf", field="file", detected=exc.extra.get("detected"),
        ) from None  # fmt: skip
    except ValidationFailed as exc:  # empty file
        raise ValidationFailed(_("Berkas sertifikat kosong (0 bita)."), field="file") from exc


def _too_large(settings: Settings) -> PayloadTooLarge:
    mib = settings.max_evidence_bytes / 1024**2
    return PayloadTooLarge(
        _("Berkas sertifikat paling besar %(mib)s MB.") % {"mib": f"{mib:.3g}"},
        field="file", max_bytes=settings.max_evidence_bytes,
    )  # fmt: skip


def _apply(row: ExternalTraining, data: TrainingData) -> None:
    row.name = data.name
    row.organiser = data.organiser
    row.starts_on = data.starts_on
    row.ends_on = data.ends_on
    row.jp = data.jp
    row.certificate_number = data.certificate_number
    row.certificate_key = certificate_key(data.certificate_number)
    row.funding_source = data.funding_source
    row.mode = data.mode


# --- recording, changing, withdrawing -----------------------------------------------------------


def record(
    session: Session,
    *,
    user_id: int,
    raw: Mapping[str, str | None],
    upload: Upload | None,
    principal: Principal,
    settings: Settings,
) -> ExternalTraining:
    """A learner records their own training; an officer may record it for anyone (pending)."""
    if user_id != principal.user_id:
        if not is_officer(principal):
            raise NotFound(_("Pengguna tidak ditemukan."), code="user_not_found")
        accounts_service.get_user(session, user_id)  # 404 for an unknown user
    data = parse_fields(raw, settings)
    if upload is None:
        raise ValidationFailed(_("Unggah sertifikat pelatihan dalam bentuk PDF."), field="file")
    stored = _store_certificate(session, upload, settings)
    row = ExternalTraining(
        user_id=user_id,
        status=PENDING,
        file_id=stored.id,
        file_name=uploads.clean_filename(upload.filename or "sertifikat.pdf"),
        recorded_by_id=principal.user_id,
    )
    _apply(row, data)
    repository.add(session, row)
    return row


def get_for(session: Session, record_id: int, principal: Principal) -> ExternalTraining:
    """The record for its owner or an officer; anyone else gets 404 (its existence is private)."""
    row = repository.get(session, record_id)
    if row is None or (row.user_id != principal.user_id and not is_officer(principal)):
        raise NotFound(_("Catatan pelatihan tidak ditemukan."), code="external_training_not_found")
    return row


def _ensure_pending(row: ExternalTraining) -> None:
    """Only a record awaiting verification may change; a decided one is the audit trail."""
    if row.status != PENDING:
        raise Conflict(
            _("Catatan ini sudah diputuskan (%(status)s) dan tidak dapat diubah lagi.")
            % {"status": status_labels()[row.status]},
            code="already_decided",
        )


def update(
    session: Session,
    record_id: int,
    *,
    raw: Mapping[str, str | None],
    upload: Upload | None,
    principal: Principal,
    settings: Settings,
) -> ExternalTraining:
    """The owner (or an officer) corrects a pending record; without a new file the old one stays."""
    row = get_for(session, record_id, principal)
    _ensure_pending(row)
    data = parse_fields(raw, settings)
    if upload is not None:
        stored = _store_certificate(session, upload, settings)
        row.file_id = stored.id
        row.file_name = uploads.clean_filename(upload.filename or "sertifikat.pdf")
    _apply(row, data)
    session.flush()
    return row


def withdraw(session: Session, record_id: int, principal: Principal) -> None:
    """The owner (or an officer) withdraws a pending record: it is deleted (nothing was
    credited yet)."""
    row = get_for(session, record_id, principal)
    _ensure_pending(row)
    repository.delete(session, row)


# --- deciding ---------------------------------------------------------------------------------


def _reason(reason: str | None, *, required_message: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed(required_message, field="reason")
    if len(text) > MAX_REASON_CHARS:
        raise ValidationFailed(
            _("Alasan paling panjang %(n)s karakter.") % {"n": MAX_REASON_CHARS}, field="reason"
        )
    return text


def _locked_for_officer(session: Session, record_id: int, principal: Principal) -> ExternalTraining:
    """The record locked for a decision; 404 to anyone but an officer, as for a missing one."""
    if not is_officer(principal):
        raise NotFound(_("Catatan pelatihan tidak ditemukan."), code="external_training_not_found")
    row = repository.get(session, record_id, lock=True)
    if row is None:
        raise NotFound(_("Catatan pelatihan tidak ditemukan."), code="external_training_not_found")
    return row


def decide(
    session: Session, record_id: int, principal: Principal, *, approved: bool, reason: str | None
) -> ExternalTraining:
    """An officer verifies (JP credited to the ledger in the training's end year) or rejects
    (reason required, no JP); a record is decided once (409 after)."""
    row = _locked_for_officer(session, record_id, principal)
    if row.status != PENDING:
        raise Conflict(
            _("Catatan ini sudah diputuskan (%(status)s).")
            % {"status": status_labels()[row.status]},
            code="already_decided",
        )
    if approved:
        row.status = VERIFIED
        row.decision_reason = (reason or "").strip()[:MAX_REASON_CHARS] or None
        jp_service.credit(
            session,
            user_id=row.user_id,
            year=row.ends_on.year,
            source=jp_service.EXTERNAL_TRAINING,
            source_id=row.id,
            jp=row.jp,
            credited_on=row.ends_on,
            reference=row.certificate_number,
            funding_source=row.funding_source,
        )
    else:
        row.status = REJECTED
        row.decision_reason = _reason(
            reason,
            required_message=_("Tuliskan alasan penolakan agar peserta dapat memperbaikinya."),
        )
    row.decided_at = utcnow()
    row.decided_by_id = principal.user_id
    audit.record(session, "external_training.decided", actor=principal,
                 target=("external_training", row.id), before={"status": PENDING},
                 after={"status": row.status, "reason": row.decision_reason, "jp": row.jp,
                        "user_id": row.user_id})  # fmt: skip
    session.flush()
    notifications.notify(
        session,
        NewNotification(
            event="external_training_decided", user_id=row.user_id,
            key=f"external_training_decided:{row.id}",
            context={"training": row.name, "approved": approved, "jp": row.jp,
                     "reason": row.decision_reason},
            url="/my/external-trainings",
        ),
    )  # fmt: skip
    return row


def revoke(
    session: Session, record_id: int, principal: Principal, *, reason: str
) -> ExternalTraining:
    """An officer cancels a verified record (e.g. a forged certificate): its JP credit is
    withdrawn, the row stays with the reason."""
    row = _locked_for_officer(session, record_id, principal)
    if row.status != VERIFIED:
        raise Conflict(
            _("Hanya catatan yang sudah terverifikasi yang dapat dibatalkan."), code="not_verified"
        )
    text = _reason(reason, required_message=_("Tuliskan alasan pembatalan."))
    row.status = REVOKED
    row.decision_reason = text
    row.decided_at = utcnow()
    row.decided_by_id = principal.user_id
    jp_service.withdraw(session, source=jp_service.EXTERNAL_TRAINING, source_id=row.id, reason=text)
    audit.record(session, "external_training.decided", actor=principal,
                 target=("external_training", row.id), before={"status": VERIFIED},
                 after={"status": REVOKED, "reason": text, "user_id": row.user_id})  # fmt: skip
    session.flush()
    return row


# --- reading ----------------------------------------------------------------------------------


def file_url(row: ExternalTraining) -> str | None:
    return f"/api/v1/external-trainings/{row.id}/file" if row.file_id else None


def _to_read(
    row: ExternalTraining,
    profile: accounts_service.ProfileView | None,
    duplicates: list[DuplicateRead],
) -> ExternalTrainingRead:
    return ExternalTrainingRead(
        id=row.id,
        user_id=row.user_id,
        user_name=profile.name if profile else "",
        user_nip=profile.nip if profile else None,
        opd_code=profile.opd_code if profile else None,
        name=row.name,
        organiser=row.organiser,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        jp=row.jp,
        certificate_number=row.certificate_number,
        funding_source=row.funding_source,
        mode=row.mode,
        status=row.status,
        decision_reason=row.decision_reason,
        decided_at=row.decided_at,
        file_name=row.file_name,
        file_url=file_url(row),
        created_at=row.created_at,
        recorded_by_officer=row.recorded_by_id is not None and row.recorded_by_id != row.user_id,
        duplicates=duplicates,
    )


def _reads(
    session: Session,
    rows: Sequence[ExternalTraining],
    *,
    with_duplicates: bool,
    own_only: bool = False,
) -> list[ExternalTrainingRead]:
    """Rows as read models in a constant number of queries: owners' profiles and the other live
    records sharing each certificate number (any user's for officers; `own_only`: the same
    user's, so a learner sees a double entry without learning about anyone else)."""
    others: dict[str, list[ExternalTraining]] = defaultdict(list)
    if with_duplicates:
        for other in repository.live_with_keys(session, {r.certificate_key for r in rows}):
            others[other.certificate_key].append(other)
    user_ids = {r.user_id for r in rows} | {o.user_id for v in others.values() for o in v}
    profiles = accounts_service.profiles(session, sorted(user_ids))
    result = []
    for row in rows:
        duplicates = [
            DuplicateRead(
                id=o.id,
                user_id=o.user_id,
                user_name=profiles[o.user_id].name if o.user_id in profiles else "",
                status=o.status,
            )
            for o in others.get(row.certificate_key, [])
            if o.id != row.id and (not own_only or o.user_id == row.user_id)
        ]
        result.append(_to_read(row, profiles.get(row.user_id), duplicates))
    return result


def read(session: Session, row: ExternalTraining, principal: Principal) -> ExternalTrainingRead:
    """One record; duplicate flags naming other users only for officers."""
    officer = is_officer(principal)
    return _reads(session, [row], with_duplicates=True, own_only=not officer)[0]


def mine(session: Session, user_id: int) -> list[ExternalTrainingRead]:
    """A learner's own records, newest training first, flagged when they recorded the same
    certificate twice."""
    rows = repository.of_user(session, user_id)
    return _reads(session, rows, with_duplicates=True, own_only=True)


def queue(
    session: Session,
    *,
    status: str | None,
    user_id: int | None,
    limit: int,
    offset: int,
    search: str | None = None,
) -> ExternalTrainingPage:
    """The officer's verification queue (oldest first) with duplicate certificate flags;
    `search` finds a name, NIP, training or certificate number (case and spaces ignored)."""
    text = (search or "").strip()[:100] or None
    total, rows = repository.page(
        session, status=status, user_id=user_id, search=text,
        search_key=certificate_key(text) if text else None, limit=limit, offset=offset,
    )  # fmt: skip
    return ExternalTrainingPage(total=total, items=_reads(session, rows, with_duplicates=True))


def names(session: Session, record_ids: Collection[int]) -> dict[int, str]:
    """Record id -> training name (JP history labels)."""
    return repository.names(session, record_ids)


def pending_count(session: Session) -> int:
    """Records waiting for an officer's decision (dashboard badge)."""
    return repository.count_pending(session)


def certificate_file(
    session: Session, record_id: int, principal: Principal
) -> tuple[ContentFile, str]:
    """The stored certificate and its download name, for the owner or an officer only."""
    row = get_for(session, record_id, principal)
    stored = repository.get_file(session, row.file_id) if row.file_id else None
    if stored is None:
        raise NotFound(_("Catatan ini tidak punya berkas sertifikat."), code="no_file")
    return stored, row.file_name or "sertifikat.pdf"


def siasn_rows(session: Session, year: int) -> list[dict[str, Any]]:
    """SIASN riwayat kursus rows (keys of app.certificates.exports.SIASN_FIELDS) for verified
    external training that ended in `year`; jenisDiklatId from the mode (None when unnamed)."""
    rows = repository.verified_between(session, dt.date(year, 1, 1), dt.date(year, 12, 31))
    profiles = accounts_service.profiles(session, sorted({r.user_id for r in rows}))
    result = []
    for r in rows:
        profile = profiles.get(r.user_id)
        result.append(
            {
                "nip": profile.nip if profile else None,
                "nama": profile.name if profile else None,
                "namaKursus": r.name,
                "jumlahJam": r.jp,
                "nomorSertipikat": r.certificate_number,
                "tanggalKursus": f"{r.starts_on:%d-%m-%Y}",
                "tanggalSelesaiKursus": f"{r.ends_on:%d-%m-%Y}",
                "tahunKursus": r.ends_on.year,
                "institusiPenyelenggara": r.organiser,
                "jenisDiklatId": SIASN_JENIS_DIKLAT.get(r.mode),
            }
        )
    return result
