"""Sending activation to a roster selection (OPD, import batch, NIP list, user ids): the channel
each ASN gets (e-mail, WhatsApp or a printed letter), who is skipped and why, and the numbers
the officer sees before sending.

E-mail and WhatsApp go out as "activation" notifications (the link is made at delivery, see
app.auth.selfservice); letters are a background job (app.accounts.letters).
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app.accounts import letters, repository
from app.accounts.nip import normalise_nip
from app.accounts.repository import Candidate
from app.accounts.schemas import ActivationRequest, ActivationResult, ActivationSkip
from app.accounts.service import _opd_id
from app.core import clock
from app.core.config import Settings
from app.core.errors import NotFound, ValidationFailed
from app.core.i18n import gettext_ as _
from app.notifications import service as notifications_service
from app.notifications.constants import EMAIL, WHATSAPP, NewNotification

LETTER = "letter"
MAX_PREVIEW_SKIPS = 200


@dataclass(slots=True)
class Selection:
    """The accounts a request names, and the NIPs and ids it names that do not exist."""

    found: dict[int, Candidate]
    unknown_nips: list[str] = field(default_factory=list)
    unknown_ids: list[int] = field(default_factory=list)


def parse_nip_list(text: str) -> list[str]:
    """NIPs pasted one per line (or separated by commas, semicolons or tabs)."""
    raw = text.replace(",", "\n").replace(";", "\n").replace("\t", "\n").splitlines()
    return list(dict.fromkeys(n for n in (normalise_nip(r) for r in raw) if n))


def resolve(session: Session, request: ActivationRequest) -> Selection:
    """Resolve the request's selections (their union); 422 when it names none, 404 for an
    unknown import batch, 422 for an unknown OPD code."""
    nips = list(dict.fromkeys(normalise_nip(n) for n in request.nips or [] if n.strip()))
    ids = list(dict.fromkeys(request.user_ids or []))
    if not (nips or ids or request.opd_code or request.import_id):
        raise ValidationFailed(
            _("Pilih penerima: OPD, impor, daftar NIP, atau pengguna."), field="selection",
            code="empty_selection",
        )  # fmt: skip
    opd_id = _opd_id(session, request.opd_code) if request.opd_code else None
    if request.import_id is not None and repository.get_import(session, request.import_id) is None:
        raise NotFound(_("Impor data ASN tidak ditemukan."), code="import_not_found")
    found = repository.candidates(
        session, user_ids=ids, nips=nips, opd_id=opd_id, import_id=request.import_id
    )
    known_nips = {c.nip for c in found.values()}
    return Selection(
        found=found,
        unknown_nips=[n for n in nips if n not in known_nips],
        unknown_ids=[i for i in ids if i not in found],
    )


def channel_for(person: Candidate, wanted: str, settings: Settings) -> tuple[str | None, str]:
    """The channel one ASN gets, or None with the reason they are skipped."""
    email_ok = notifications_service.channel_configured(EMAIL, settings)
    whatsapp_ok = notifications_service.channel_configured(WHATSAPP, settings)
    if wanted == "auto":
        if person.email and email_ok:
            return EMAIL, ""
        if person.phone and whatsapp_ok:
            return WHATSAPP, ""
        wanted = LETTER
    if wanted == EMAIL:
        if not email_ok:
            return None, _("pengiriman email belum diatur (LMS_SMTP_URL)")
        return (EMAIL, "") if person.email else (None, _("tidak punya email"))
    if wanted == WHATSAPP:
        if not whatsapp_ok:
            return None, _("pengiriman WhatsApp belum diatur (LMS_WHATSAPP_URL)")
        return (WHATSAPP, "") if person.phone else (None, _("tidak punya nomor WhatsApp"))
    if not person.nip:
        return None, _("tidak punya NIP (surat aktivasi memakai NIP)")
    return LETTER, ""


@dataclass(slots=True)
class Plan:
    """Who gets what: user ids per channel, and the skipped with their reasons."""

    by_channel: dict[str, list[int]]
    skipped: list[ActivationSkip]


def plan(selection: Selection, channel: str, *, resend: bool, settings: Settings) -> Plan:
    """Decide every selected account's channel (pure: no database)."""
    by_channel: dict[str, list[int]] = {EMAIL: [], WHATSAPP: [], LETTER: []}
    skipped = [
        ActivationSkip(user_id=None, nip=n, reason=_("NIP tidak ditemukan"))
        for n in selection.unknown_nips
    ] + [
        ActivationSkip(user_id=i, reason=_("pengguna tidak ditemukan"))
        for i in selection.unknown_ids
    ]
    for person in sorted(selection.found.values(), key=lambda p: (p.name.lower(), p.id)):
        reason = ""
        chosen: str | None = None
        if not person.is_active:
            reason = _("akun nonaktif")
        elif person.activated and not resend:
            reason = _("akun sudah aktif")
        else:
            chosen, reason = channel_for(person, channel, settings)
        if chosen is None:
            skipped.append(ActivationSkip(user_id=person.id, nip=person.nip, reason=reason))
        else:
            by_channel[chosen].append(person.id)
    return Plan(by_channel, skipped)


def send(
    session: Session, request: ActivationRequest, *, by: int | None, settings: Settings
) -> ActivationResult:
    """Queue the activation messages and letters for a selection, in the caller's transaction
    (nothing goes out if it rolls back); the letter job starts after the commit."""
    decided = plan(resolve(session, request), request.channel, resend=request.resend,
                   settings=settings)  # fmt: skip
    items = [
        NewNotification(
            event="activation",
            user_id=uid,
            key=f"activation:{uid}:{secrets.token_hex(8)}",
            channels=frozenset({channel}),
        )
        for channel in (EMAIL, WHATSAPP)
        for uid in decided.by_channel[channel]
    ]
    notifications_service.notify_many(session, items, settings)
    job_id = None
    if decided.by_channel[LETTER]:
        job_id = letters.create_job(session, decided.by_channel[LETTER], by)
    counts = {c: len(ids) for c, ids in decided.by_channel.items() if ids}
    return ActivationResult(
        queued=sum(counts.values()), by_channel=counts, skipped=decided.skipped,
        letter_job_id=job_id,
        letter_url=f"/studio/activation/letters/{job_id}" if job_id else None,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Preview:
    """What the officer sees before sending: how the selection reaches people."""

    total: int
    unknown: int
    inactive: int
    activated: int
    with_email: int
    with_phone_only: int
    neither: int
    by_channel: dict[str, int]
    skipped: list[ActivationSkip]


def preview(session: Session, request: ActivationRequest, *, settings: Settings) -> Preview:
    selection = resolve(session, request)
    people = [p for p in selection.found.values() if p.is_active]
    pending = [p for p in people if not p.activated or request.resend]
    decided = plan(selection, request.channel, resend=request.resend, settings=settings)
    contact = Counter("email" if p.email else "phone" if p.phone else "neither" for p in pending)
    return Preview(
        total=len(selection.found),
        unknown=len(selection.unknown_nips) + len(selection.unknown_ids),
        inactive=len(selection.found) - len(people),
        activated=sum(1 for p in people if p.activated),
        with_email=contact["email"], with_phone_only=contact["phone"],
        neither=contact["neither"],
        by_channel={c: len(ids) for c, ids in decided.by_channel.items()},
        skipped=decided.skipped[:MAX_PREVIEW_SKIPS],
    )  # fmt: skip


def pending_in_import(session: Session, import_id: int) -> int:
    """How many ASN of an import batch still wait for activation (the import page's button)."""
    found = repository.candidates(session, import_id=import_id)
    return sum(1 for p in found.values() if p.is_active and not p.activated)


@dataclass(frozen=True, slots=True)
class ImportBatch:
    id: int
    label: str
    users: int


def recent_imports(session: Session, limit: int = 20) -> list[ImportBatch]:
    """The latest roster imports, for choosing a batch."""
    return [
        ImportBatch(
            batch.id,
            f"#{batch.id} · {clock.format_datetime(batch.created_at)} · "
            f"{batch.file_name or _('tanpa nama berkas')}" + (f" · {who}" if who else ""),
            int(n),
        )
        for batch, who, n in repository.recent_imports(session, limit)
    ]
