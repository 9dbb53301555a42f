"""The audit log's rules: append (hash-chained, in the caller's transaction), verify, prune,
list and export.

Every entry's `hash` is sha256 over the previous entry's hash and a canonical JSON of the entry's
own fields, so changing, inserting or deleting a row breaks the chain from there on; the head
(`audit_head`) holds the last id and hash, so deleting rows at the end is caught too. The limit:
someone who can write the database can also rewrite the whole chain and the head. Note the head
that `lms audit verify` prints (or the daily prune job logs) somewhere else and check it later
with `lms audit verify --expect ID:HASH`.

Domains call `record(session, "certificate.revoked", target=("certificate", id), before=...,
after=...)` next to the change; the actor, address and request id come from the request (see
`context`) unless given. Nothing is ever written outside the action's own transaction, except
`record_now` for refusals (failed logins) whose request rolls back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any, Final

from openpyxl import Workbook
from sqlalchemy.orm import Session

from app.audit import context, repository
from app.audit.models import GENESIS, AuditEntry
from app.audit.schemas import AuditEntryRead, AuditPage
from app.core import clock
from app.core.db import session_scope, utcnow
from app.core.i18n import N_
from app.core.i18n import gettext_ as _

SYSTEM: Final = "system"
ANONYMOUS: Final = "anonim"
MAX_EXPORT_ROWS = 100_000


class _FromRequest:
    """Default actor: the caller of the current request (system outside requests)."""


FROM_REQUEST: Final = _FromRequest()

# Stable codes (never rename one: filters and reports rely on them) with their labels.
ACTIONS: Final[dict[str, str]] = {
    "auth.login.success": N_("Masuk berhasil"),
    "auth.login.failure": N_("Masuk gagal"),
    "auth.lockout": N_("Masuk ditolak karena terlalu banyak kegagalan"),
    "auth.password_changed": N_("Kata sandi diubah"),
    "auth.password_reset": N_("Kata sandi diatur ulang"),
    "account.activated": N_("Akun diaktifkan pemiliknya"),
    "account.created": N_("Akun dibuat"),
    "account.updated": N_("Akun diubah"),
    "account.role_changed": N_("Peran akun diubah"),
    "account.deactivated": N_("Akun dinonaktifkan"),
    "account.reactivated": N_("Akun diaktifkan kembali"),
    "roster.imported": N_("Data ASN diimpor"),
    "enrolment.officer_added": N_("Peserta didaftarkan petugas"),
    "run.updated": N_("Angkatan diubah"),
    "run.staff_changed": N_("Pengajar angkatan diubah"),
    "quiz.grade_override": N_("Nilai kuis diubah atau esai dinilai"),
    "assignment.graded": N_("Tugas dinilai atau nilainya diubah"),
    "assignment.released": N_("Nilai tugas angkatan dirilis"),
    "gradebook.score_overridden": N_("Nilai akhir diubah manual"),
    "gradebook.override_cleared": N_("Nilai akhir manual dihapus"),
    "certificate.issued": N_("Sertifikat diterbitkan"),
    "certificate.revoked": N_("Sertifikat dicabut"),
    "certificate.reissued": N_("Sertifikat diterbitkan ulang"),
    "certificate.signed": N_("Sertifikat ditandatangani"),
    "certificate.rules_changed": N_("Aturan sertifikat diubah"),
    "certificate.template_changed": N_("Templat sertifikat diubah"),
    "certificate.tte_signed": N_("Sertifikat ditandatangani TTE BSrE"),
    "tte.batch_prepared": N_("Batch tanda tangan BSrE disiapkan"),
    "tte.batch_signing": N_("Pejabat memulai tanda tangan BSrE"),
    "external_training.decided": N_("Pelatihan eksternal diputuskan"),
    "mentoring.decided": N_("Bimbingan diputuskan"),
    "export.personal_data": N_("Data pribadi diekspor"),
    "account.pseudonymised": N_("Data pribadi akun dipseudonimkan"),
    "audit.exported": N_("Log audit diekspor"),
    "audit.pruned": N_("Log audit lama dihapus (retensi)"),
}


def action_label(code: str) -> str:
    label = ACTIONS.get(code)
    return _(label) if label else code


# --- appending ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Record:
    """One entry to append; `actor` is a user id, anything with `user_id` (a Principal),
    None (the system) or FROM_REQUEST."""

    action: str
    target: tuple[str, object] | None = None
    before: Any = None
    after: Any = None
    actor: object = FROM_REQUEST
    actor_label: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _json_default(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def plain(value: Any) -> Any:
    """`value` as JSON gives it back (what the database returns), so hashes match on reading."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=_json_default, ensure_ascii=False))


def changes(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that differ, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def _text(value: object, limit: int) -> str | None:
    if value is None:
        return None
    return str(value).replace("\x00", "")[:limit]


def _canonical(row: Mapping[str, Any]) -> str:
    data = {
        "id": row["id"],
        "at": row["at"].astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_id": row["actor_id"],
        "actor_label": row["actor_label"],
        "address": row["address"],
        "action": row["action"],
        "target_type": row["target_type"],
        "target_id": row["target_id"],
        "before": row["before"],
        "after": row["after"],
        "request_id": row["request_id"],
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + _canonical(row)).encode()).hexdigest()


def _entry_fields(entry: AuditEntry) -> dict[str, Any]:
    return {c: getattr(entry, c) for c in (
        "id", "at", "actor_id", "actor_label", "address", "action", "target_type", "target_id",
        "before", "after", "request_id")}  # fmt: skip


def _actor_id(actor: object, info: context.RequestInfo | None) -> int | None:
    if isinstance(actor, _FromRequest):
        return info.actor_id if info is not None else None
    if actor is None or isinstance(actor, int):
        return actor
    user_id = getattr(actor, "user_id", None)
    if not isinstance(user_id, int):
        raise TypeError(f"audit actor must be a user id or a principal, not {actor!r}")
    return user_id


def record_many(session: Session, records: Sequence[Record]) -> None:
    """Append entries in the caller's transaction: one head lock, one NIP query, one insert."""
    if not records:
        return
    for item in records:
        if item.action not in ACTIONS:
            raise ValueError(f"unknown audit action {item.action!r}")
    info = context.current()
    actor_ids = [_actor_id(r.actor, info) for r in records]
    labels = repository.nips(session, {a for a in actor_ids if a is not None})
    head = repository.lock_head(session)
    prev, next_id = head.last_hash, head.last_id + 1
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for item, actor_id in zip(records, actor_ids, strict=True):
        if item.actor_label:
            label = item.actor_label
        elif actor_id is not None:
            label = labels.get(actor_id) or f"user:{actor_id}"
        elif isinstance(item.actor, _FromRequest) and info is not None:
            label = ANONYMOUS  # a request without a signed-in caller
        else:
            label = SYSTEM  # explicitly nobody (jobs, automatic steps) or outside requests
        row: dict[str, Any] = {
            "id": next_id,
            "at": now,
            "actor_id": actor_id,
            "actor_label": _text(label, 64),
            "address": _text(info.address, 64) if info else None,
            "action": item.action,
            "target_type": _text(item.target[0], 40) if item.target else None,
            "target_id": _text(item.target[1], 64) if item.target else None,
            "before": plain(item.before),
            "after": plain({**(item.after or {}), **item.extra} if item.extra else item.after),
            "request_id": _text(info.request_id, 64) if info else None,
        }
        row["prev_hash"] = prev
        row["hash"] = prev = chain_hash(prev, row)
        rows.append(row)
        next_id += 1
    repository.insert_entries(session, rows)
    repository.set_last(session, rows[-1]["id"], prev)


def record(
    session: Session,
    action: str,
    *,
    target: tuple[str, object] | None = None,
    before: Any = None,
    after: Any = None,
    actor: object = FROM_REQUEST,
    actor_label: str | None = None,
) -> None:
    """Append one entry in the caller's transaction (it commits or rolls back with the action)."""
    record_many(session, [Record(action, target, before, after, actor, actor_label)])


def record_now(action: str, **kwargs: Any) -> None:
    """Append one entry in its own short transaction: for refusals whose request rolls back
    (a failed login). Never call it while the caller's transaction has appended already."""
    with session_scope() as own:
        record(own, action, **kwargs)


# --- verifying ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    checked: int
    head_id: int
    head_hash: str
    anchor_id: int
    problem: str | None = None
    row_id: int | None = None


def verify(session: Session, *, expect: tuple[int, str] | None = None) -> Verification:
    """Recompute the whole chain from the anchor; the first problem found is reported."""
    head = repository.read_head(session)
    anchor_id = head.anchor_id if head else 0
    anchor_hash = head.anchor_hash if head else GENESIS
    head_id = head.last_id if head else 0
    head_hash = head.last_hash if head else GENESIS
    checked = 0

    def broken(problem: str, row_id: int | None) -> Verification:
        return Verification(False, checked, head_id, head_hash, anchor_id, problem, row_id)

    prev_id, prev_hash = anchor_id, anchor_hash
    expected_seen = expect is None or expect[0] <= anchor_id
    for entry in repository.stream(session):
        if entry.id <= prev_id:
            return broken(
                f"row {entry.id}: before the anchor (row {anchor_id}): inserted", entry.id
            )
        if entry.id != prev_id + 1:
            return broken(f"rows {prev_id + 1}..{entry.id - 1} are missing: deleted", prev_id + 1)
        if chain_hash(entry.prev_hash, _entry_fields(entry)) != entry.hash:
            return broken(f"row {entry.id}: its content does not match its hash: edited", entry.id)
        if entry.prev_hash != prev_hash:
            return broken(
                f"row {entry.id}: not linked to row {prev_id}: a row was inserted, replaced "
                "or re-hashed",
                entry.id,
            )
        if expect is not None and entry.id == expect[0]:
            if entry.hash != expect[1]:
                return broken(f"row {entry.id}: hash differs from the expected head", entry.id)
            expected_seen = True
        prev_id, prev_hash = entry.id, entry.hash
        checked += 1
    if prev_id < head_id:
        return broken(f"rows {prev_id + 1}..{head_id} are missing at the end: deleted", prev_id + 1)
    if prev_id > head_id:
        return broken(f"rows {head_id + 1}..{prev_id} are beyond the checkpoint: inserted",
                      head_id + 1)  # fmt: skip
    if prev_hash != head_hash:
        return broken(f"row {prev_id}: hash differs from the checkpoint: replaced", prev_id)
    if not expected_seen:
        return broken(f"row {expect[0] if expect else 0} of the expected head is gone", None)
    return Verification(True, checked, head_id, head_hash, anchor_id)


# --- retention ---------------------------------------------------------------------------------


def prune(session: Session, *, now: dt.datetime, retention_days: int) -> int:
    """Delete entries older than the retention; the last deleted one becomes the anchor (its id
    and hash), so the remaining chain still verifies. Records itself."""
    head = repository.lock_head(session)
    cutoff = now - dt.timedelta(days=retention_days)
    last = repository.last_id_before(session, cutoff, head.last_id)
    if last is None or last <= head.anchor_id:
        return 0
    anchor_hash = repository.entry_hash(session, last)
    assert anchor_hash is not None
    count = repository.delete_upto(session, last)
    repository.set_anchor(session, last, anchor_hash)
    record(session, "audit.pruned", actor=None,
           after={"deleted": count, "anchor_id": last, "retention_days": retention_days})  # fmt: skip
    return count


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filters:
    action: str | None = None
    actor: str | None = None  # the actor's NIP (or label)
    target_type: str | None = None
    target_id: str | None = None
    date_from: dt.date | None = None  # institution's days, inclusive
    date_to: dt.date | None = None

    def active(self) -> int:
        return sum(1 for v in (self.action, self.actor, self.target_type, self.target_id,
                               self.date_from, self.date_to) if v)  # fmt: skip

    def sql(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "actor": self.actor,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "since": clock.start_of_day(self.date_from) if self.date_from else None,
            "until": clock.start_of_day(self.date_to + dt.timedelta(days=1))
            if self.date_to
            else None,
        }


def _read(entry: AuditEntry, name: str | None) -> AuditEntryRead:
    return AuditEntryRead(
        id=entry.id, at=entry.at, actor_id=entry.actor_id, actor_label=entry.actor_label,
        actor_name=name, address=entry.address, action=entry.action,
        target_type=entry.target_type, target_id=entry.target_id, before=entry.before,
        after=entry.after, request_id=entry.request_id, prev_hash=entry.prev_hash,
        hash=entry.hash,
    )  # fmt: skip


def listing(session: Session, filters: Filters, *, page: int, per_page: int) -> AuditPage:
    total, rows = repository.listing(
        session, offset=(page - 1) * per_page, limit=per_page, **filters.sql()
    )
    return AuditPage(total=total, page=page, per_page=per_page,
                     items=[_read(e, n) for e, n in rows])  # fmt: skip


def entries_about(session: Session, user_id: int) -> list[dict[str, Any]]:
    """Entries where the user is the actor or the target (for the personal-data export)."""
    return [
        _read(e, None).model_dump(mode="json", exclude={"actor_name", "prev_hash", "hash"})
        for e in repository.about_user(session, user_id)
    ]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str):
        value = _CONTROL.sub("", value)
        return "'" + value if value[:1] in ("=", "+", "-", "@") else value
    return value


def export_xlsx(session: Session, filters: Filters) -> tuple[bytes, int]:
    """The matching entries as a workbook (newest first, at most MAX_EXPORT_ROWS); records the
    export itself. Returns (bytes, rows)."""
    total, rows = repository.listing(session, offset=None, limit=MAX_EXPORT_ROWS, **filters.sql())
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Log audit"))
    headers: list[tuple[str, Callable[[AuditEntry, str | None], object]]] = [
        ("ID", lambda e, n: e.id),
        (_("Waktu (%(tz)s)") % {"tz": clock.tz_label()},
         lambda e, n: clock.format_datetime(e.at, "%Y-%m-%d %H:%M:%S")),
        (_("Pelaku (NIP)"), lambda e, n: e.actor_label),
        (_("Nama pelaku"), lambda e, n: n),
        (_("Alamat"), lambda e, n: e.address),
        (_("Kode aksi"), lambda e, n: e.action),
        (_("Aksi"), lambda e, n: action_label(e.action)),
        (_("Jenis sasaran"), lambda e, n: e.target_type),
        (_("ID sasaran"), lambda e, n: e.target_id),
        (_("Sebelum"), lambda e, n: e.before),
        (_("Sesudah"), lambda e, n: e.after),
        (_("ID permintaan"), lambda e, n: e.request_id),
        ("Hash", lambda e, n: e.hash),
    ]  # fmt: skip
    sheet.append([h for h, _f in headers])
    for entry, name in rows:
        sheet.append([_cell(f(entry, name)) for _h, f in headers])
    out = io.BytesIO()
    book.save(out)
    record(session, "audit.exported", target=("audit", None),
           after={"rows": len(rows), "total": total, "filters": filters.sql()})  # fmt: skip
    return out.getvalue(), len(rows)


def verify_head(session: Session) -> tuple[int, str]:
    """The chain's head (last id, hash) as the checkpoint holds it."""
    head = repository.read_head(session)
    return (head.last_id, head.last_hash) if head else (0, GENESIS)


def exported(
    session: Session, what: str, *, rows: int, fmt: str, target: tuple[str, object] | None = None,
    filters: Mapping[str, Any] | None = None,
) -> None:  # fmt: skip
    """Record a download of personal data (names, NIPs) by the current caller."""
    record(session, "export.personal_data", target=target,
           after={"export": what, "format": fmt, "rows": rows,
                  "filters": {k: v for k, v in (filters or {}).items() if v is not None}})  # fmt: skip
