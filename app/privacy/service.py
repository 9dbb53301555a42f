"""Personal data rights (UU 27/2022, Pasal 7-8 and 16): a copy of everything the LMS holds about a
person, and pseudonymising a closed account while its certificates stay verifiable.

What "everything" means is decided table by table in `PERSONAL` (rows that are the person's own,
found by one of their user columns) and `CHILDREN` (rows hanging off those, e.g. the answers of an
attempt); every other column that points at a user names somebody acting on other people's rows
(`ACTOR_COLUMNS`: who created a course, who decided a claim) and is not theirs to take away.
tests/privacy checks that every foreign key to `user_account` falls in exactly one of these, so a
new table cannot be forgotten. Secrets (password and token hashes, OpenID tokens) never leave.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import logging
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.core.config import Settings
from app.core.db import Base, utcnow
from app.core.errors import Conflict, NotFound
from app.storage.base import Storage

log = logging.getLogger(__name__)

FORMAT_VERSION = 1

# table -> the user columns whose value makes a row the person's own
PERSONAL: dict[str, tuple[str, ...]] = {
    "user_account": ("id",),
    "user_role": ("user_id",),
    "sso_identity": ("user_id",),
    "web_session": ("user_id",),
    "api_token": ("user_id",),
    "account_token": ("user_id",),
    "enrolment": ("user_id",),
    "run_completion": ("user_id",),
    "quiz_attempt": ("user_id",),
    "certificate": ("user_id",),
    "certificate_job_item": ("user_id",),
    "jp_credit": ("user_id",),
    "competency_assessment": ("user_id",),
    "mentoring_assignment": ("mentee_id", "mentor_id"),
    "external_training": ("user_id",),
    "notification": ("user_id",),
    "notification_preference": ("user_id",),
    "outbox_item": ("user_id",),
    "upload_session": ("user_id",),
    "roster_import_user": ("user_id",),
    "course_edit": ("user_id",),
    "run_edit": ("user_id",),
    "run_staff": ("user_id",),
    "calendar_key": ("user_id",),
    "submission": ("user_id",),
    "assignment_upload": ("user_id",),
    "assignment_grader": ("user_id",),
    "grade_override": ("user_id",),
    "forum_thread": ("author_id",),
    "forum_post": ("author_id",),
    "forum_subscription": ("user_id",),
    "siasn_record": ("user_id",),
    "siasn_person": ("user_id",),
}

# table -> (column, parent table): rows belonging to one of the person's rows in the parent
CHILDREN: dict[str, tuple[str, str]] = {
    "activity_progress": ("enrolment_id", "enrolment"),
    "scorm_track": ("enrolment_id", "enrolment"),
    "rtl": ("enrolment_id", "enrolment"),
    "survey_response": ("enrolment_id", "enrolment"),
    "quiz_attempt_answer": ("attempt_id", "quiz_attempt"),
    "quiz_audit_log": ("attempt_id", "quiz_attempt"),
    "mentoring_session": ("assignment_id", "mentoring_assignment"),
    "attendance": ("enrolment_id", "enrolment"),
    "submission_file": ("submission_id", "submission"),
    "rubric_score": ("submission_id", "submission"),
    "forum_attachment": ("post_id", "forum_post"),
    "tte_signing_item": ("certificate_id", "certificate"),
}

# (table, column): a user who acted on rows that are not theirs (officers, authors, graders)
ACTOR_COLUMNS: frozenset[tuple[str, str]] = frozenset({
    ("activation_letter_job", "created_by_id"),
    ("competency_import", "imported_by_id"),
    ("course", "created_by_id"),
    ("course_run", "created_by_id"),
    ("roster_import", "created_by_id"),
    ("certificate_template", "updated_by_id"),
    ("bank_question", "created_by_id"),
    ("question_version", "created_by_id"),
    ("certificate_job", "created_by_id"),
    ("certificate", "revoked_by_id"),
    ("certificate", "issued_by_id"),
    ("enrolment", "enrolled_by_id"),
    ("external_training", "recorded_by_id"),
    ("external_training", "decided_by_id"),
    ("mentoring_assignment", "decided_by_id"),
    ("mentoring_assignment", "created_by_id"),
    ("quiz_attempt_answer", "graded_by_id"),
    ("quiz_audit_log", "actor_id"),
    ("run_staff", "added_by_id"),
    ("rubric", "owner_id"),
    ("grade_override", "by_id"),
    ("grade_release", "released_by_id"),
    ("submission", "graded_by_id"),
    ("attendance", "recorded_by_id"),
    ("attendance_unmatched", "imported_by_id"),
    ("live_schedule", "updated_by_id"),
    ("forum_post", "hidden_by_id"),
    ("tte_signing_batch", "created_by_id"),
    ("tte_signing_batch", "signed_by_id"),
})

# Never exported: credentials and values that would let the reader act as the person.
SECRET_COLUMNS: frozenset[str] = frozenset({
    "password_hash", "token_hash", "code_hash", "id_hash", "id_token", "upload_id",
})
SECRET_FIELDS: frozenset[tuple[str, str]] = frozenset({
    ("calendar_key", "key"),  # reads the person's calendar feed without signing in
})

# Tables whose rows end with the account when it is pseudonymised: sign-in means, contact
# preferences and messages that quote the person's name. Records of training stay.
ENDED_BY_PSEUDONYMISING = (
    "web_session", "api_token", "account_token", "sso_identity", "notification_preference",
    "notification",
)


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _rows(session: Session, table: Table, where: Any) -> list[dict[str, Any]]:
    columns = [
        c
        for c in table.columns
        if c.name not in SECRET_COLUMNS and (table.name, c.name) not in SECRET_FIELDS
    ]
    result = session.execute(select(*columns).where(where).order_by(*table.primary_key.columns))
    return [{k: _plain(v) for k, v in row._mapping.items()} for row in result]


def collect(session: Session, user_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every personal row of the user, per table (one query per table, children by parent ids)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for name, columns in PERSONAL.items():
        table = _table(name)
        found[name] = _rows(session, table, _any_equal(table, columns, user_id))
    for name, (column, parent) in CHILDREN.items():
        table = _table(name)
        parent_ids = [row["id"] for row in found.get(parent, []) if "id" in row]
        found[name] = _rows(session, table, table.c[column].in_(parent_ids)) if parent_ids else []
    return found


def _any_equal(table: Table, columns: Sequence[str], user_id: int) -> Any:
    from sqlalchemy import or_

    return or_(*(table.c[c] == user_id for c in columns))


@dataclass(frozen=True, slots=True)
class Attachment:
    """A stored object the export carries: a certificate PDF or a file the person uploaded."""

    path: str
    key: str


def _file_keys(session: Session, file_ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted({i for i in file_ids if i is not None})
    if not wanted:
        return {}
    files = _table("content_file")
    rows = session.execute(select(files.c.id, files.c.storage_key).where(files.c.id.in_(wanted)))
    return {int(r.id): str(r.storage_key) for r in rows}


def attachments(session: Session, data: Mapping[str, list[dict[str, Any]]]) -> list[Attachment]:
    out: list[Attachment] = []
    for cert in data.get("certificate", []):
        if cert.get("pdf_key"):
            out.append(Attachment(f"files/certificates/{cert['id']}.pdf", cert["pdf_key"]))
    trainings = data.get("external_training", [])
    sessions = data.get("mentoring_session", [])
    keys = _file_keys(
        session,
        [t["file_id"] for t in trainings] + [s["evidence_file_id"] for s in sessions],
    )
    for t in trainings:
        if t.get("file_id") in keys:
            out.append(Attachment(f"files/external_training/{t['id']}.pdf", keys[t["file_id"]]))
    for s in sessions:
        if s.get("evidence_file_id") in keys:
            name = s.get("evidence_name") or "bukti"
            out.append(
                Attachment(f"files/mentoring/{s['id']}-{_safe_name(name)}", keys[s["evidence_file_id"]])
            )
    return out


def _safe_name(name: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)
    return keep.strip("._")[:80] or "bukti"


README = """Salinan data pribadi Anda dari LMS Diklat ASN / A copy of your personal data

Dibuat / made: {made}
Format: {version}

data/<tabel>.json   baris data tentang Anda per tabel (profil, pendaftaran, kemajuan, kuis,
                    sertifikat, JP, mentoring, pelatihan eksternal, pemberitahuan, sesi masuk)
                    / your rows, one file per table
data/audit.json     catatan audit yang menyebut Anda / audit entries about you
files/              PDF sertifikat dan berkas yang Anda unggah / certificate PDFs and your uploads

Kata sandi dan token tidak disertakan (hanya hash yang disimpan, dan itu pun tidak dibagikan).
Passwords and tokens are not included.
"""


def write_export(
    session: Session, user_id: int, storage: Storage, out: IO[bytes], *, now: dt.datetime
) -> int:
    """Write the ZIP to `out`; returns the number of files in it. Missing objects are listed in
    missing.json instead of failing the whole copy."""
    if session.get(User, user_id) is None:
        raise NotFound("Pengguna tidak ditemukan.", code="user_not_found")
    data = collect(session, user_id)
    data["audit"] = _audit_entries(session, user_id)
    count = 0
    missing: list[dict[str, str]] = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README.format(made=now.isoformat(), version=FORMAT_VERSION))
        for name, rows in data.items():
            archive.writestr(f"data/{name}.json", json.dumps(rows, ensure_ascii=False, indent=1))
            count += 1
        for item in attachments(session, data):
            try:  # read whole (PDFs and evidence are at most LMS_MAX_EVIDENCE_BYTES) so a
                # failing object leaves no truncated entry behind
                body = b"".join(storage.open_range(item.key))
            except Exception as exc:  # one unreadable object must not lose the rest
                log.warning("export of user %s: object %s unreadable: %s", user_id, item.key, exc)
                missing.append({"path": item.path, "error": type(exc).__name__})
                continue
            archive.writestr(item.path, body)
            count += 1
        if missing:
            archive.writestr("missing.json", json.dumps(missing, indent=1))
    return count


def export_file(session: Session, user_id: int, storage: Storage) -> IO[bytes]:
    """The ZIP in a temporary file (spooled in memory up to 8 MiB), rewound for reading."""
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - returned
    write_export(session, user_id, storage, spool, now=utcnow())
    spool.seek(0)
    return spool


def _audit_entries(session: Session, user_id: int) -> list[dict[str, Any]]:
    try:
        from app.audit import service as audit_service
    except ImportError:  # the audit domain is optional in this module's imports
        return []
    entries = audit_service.entries_about(session, user_id)
    return [{k: _plain(v) for k, v in e.items()} for e in entries]


def export_filename(user: User, now: dt.datetime) -> str:
    who = user.nip or f"pengguna-{user.id}"
    return f"data-pribadi-{who}-{now:%Y%m%d}.zip"


# --- pseudonymising ------------------------------------------------------------------------------


def pseudonymised_name(user_id: int) -> str:
    return f"Pengguna #{user_id} (dipseudonimkan)"


def pseudonymise(session: Session, user_id: int, settings: Settings) -> User:
    """Replace a deactivated account's identifying data with a pseudonym and end every way to
    sign in as it. Training records (enrolments, grades, JP, certificates with their holder
    snapshot) stay, so certificates keep verifying and statistics keep counting; the account can
    no longer be matched to a person from the LMS alone."""
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound("Pengguna tidak ditemukan.", code="user_not_found")
    if user.is_active:
        raise Conflict(
            "Nonaktifkan akun terlebih dahulu; hanya akun nonaktif yang dapat dipseudonimkan.",
            code="account_active",
        )
    if user.pseudonymised_at is not None:
        raise Conflict("Akun ini sudah dipseudonimkan.", code="already_pseudonymised")
    user.name = pseudonymised_name(user.id)
    user.nip = None
    user.email = None
    user.phone = None
    user.password_hash = None
    user.jabatan = None
    user.locale = None
    user.email_verified_at = None
    user.phone_verified_at = None
    user.pseudonymised_at = utcnow()
    for name in ENDED_BY_PSEUDONYMISING:
        table = _table(name)
        session.execute(delete(table).where(table.c.user_id == user_id))
    outbox = _table("outbox_item")
    session.execute(
        update(outbox)
        .where(outbox.c.user_id == user_id, outbox.c.state.in_(("pending", "sending", "dead")))
        .values(state="cancelled", last_error="account pseudonymised", payload={})
    )
    session.flush()
    return user
