"""Roster import: the agency's ASN spreadsheet (CSV or XLSX) upserted by NIP, all or nothing.

Every bad row is reported with its row number, column and reason; `skip_invalid` imports the rest.
Each import is recorded (RosterImport) with the users it touched: a selection for officer actions.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from openpyxl import Workbook
from sqlalchemy.orm import Session

from app.accounts import repository
from app.accounts.constants import GOLONGAN_PPPK, PANGKAT_PNS, JenisJabatan, Role
from app.accounts.models import RosterImport
from app.accounts.schemas import ImportError_, ImportResult
from app.accounts.service import check_profile
from app.audit import service as audit
from app.core.db import utcnow
from app.core.errors import ValidationFailed
from app.core.i18n import gettext_ as _
from app.core.tables import cell_text, read_table, xlsx_row

TEMPLATE_HEADERS = (
    "NIP",
    "Nama",
    "Email",
    "Jenis Pegawai",
    "Pangkat/Golongan",
    "Jabatan",
    "Kode OPD",
)
OPTIONAL_HEADERS = ("Jenis Jabatan", "No HP")

# Normalised header text -> field. Indonesian first, English aliases for integrators.
HEADER_ALIASES: dict[str, str] = {
    "nip": "nip",
    "nama": "name", "name": "name", "nama lengkap": "name",
    "email": "email", "e-mail": "email", "surel": "email",
    "jenis pegawai": "employment", "employment": "employment", "status pegawai": "employment",
    "pangkat/golongan": "pangkat_golongan", "pangkat golongan": "pangkat_golongan",
    "golongan": "pangkat_golongan", "pangkat_golongan": "pangkat_golongan",
    "jabatan": "jabatan", "position": "jabatan",
    "jenis jabatan": "jenis_jabatan", "jenis_jabatan": "jenis_jabatan",
    "kode opd": "opd_code", "opd_code": "opd_code", "opd": "opd_code",
    "no hp": "phone", "nomor hp": "phone", "no. hp": "phone", "hp": "phone", "telepon": "phone",
    "no telepon": "phone", "nomor telepon": "phone", "whatsapp": "phone", "no wa": "phone",
    "nomor wa": "phone", "no. wa": "phone", "wa": "phone", "nomor whatsapp": "phone",
    "no hp/wa": "phone", "nomor hp/wa": "phone", "phone": "phone", "mobile": "phone",
}  # fmt: skip
REQUIRED_FIELDS = ("nip", "name", "employment", "opd_code")
OPTIONAL_FIELDS = ("email", "pangkat_golongan", "jabatan", "jenis_jabatan", "phone")
COLUMN_LABEL = {
    "nip": "NIP", "name": "Nama", "email": "Email", "employment": "Jenis Pegawai",
    "pangkat_golongan": "Pangkat/Golongan", "jabatan": "Jabatan",
    "jenis_jabatan": "Jenis Jabatan", "opd_code": "Kode OPD", "phone": "No HP",
}  # fmt: skip
MAX_ROWS = 100_000
_BATCH = 2_000


@dataclass(slots=True)
class RosterRow:
    row: int  # as the spreadsheet numbers it, header = 1
    values: dict[str, str]


@dataclass(slots=True)
class _Plan:
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    errors: list[ImportError_] = field(default_factory=list)
    bad_rows: set[int] = field(default_factory=set)

    def error(self, row: int, fld: str, message: str) -> None:
        self.errors.append(ImportError_(row=row, field=COLUMN_LABEL.get(fld, fld), message=message))
        self.bad_rows.add(row)


def read_rows(data: IO[bytes]) -> list[RosterRow]:
    """Read a CSV or XLSX file, decided by its bytes; raise a clear error for anything else."""
    return _rows_from(read_table(data, error_code="unsupported_roster_format"))


def header_key(text: str) -> str:
    """'Pangkat / Golongan' and 'pangkat_golongan' -> 'pangkat/golongan', 'pangkat golongan'."""
    name = " ".join(text.replace("_", " ").strip().lower().split())
    return name.replace(" / ", "/").replace("/ ", "/").replace(" /", "/")


_HEADER_FIELDS = {header_key(alias): fld for alias, fld in HEADER_ALIASES.items()}


def _map_headers(raw: list[Any]) -> dict[int, str]:
    columns: dict[int, str] = {}
    for index, cell in enumerate(raw):
        name = header_key(str(cell or ""))
        if name in _HEADER_FIELDS and _HEADER_FIELDS[name] not in columns.values():
            columns[index] = _HEADER_FIELDS[name]
    missing = [COLUMN_LABEL[f] for f in REQUIRED_FIELDS if f not in columns.values()]
    if missing:
        raise ValidationFailed(
            _("Kolom wajib tidak ada di baris judul: %(value)s. Gunakan templat: %(value2)s.")
            % {"value": ", ".join(missing), "value2": ", ".join(TEMPLATE_HEADERS)},
            field="file",
            code="missing_columns",
        )
    return columns


def _rows_from(table: Iterator[list[Any]]) -> list[RosterRow]:
    try:
        header = next(table)
    except StopIteration:
        raise ValidationFailed("Berkas kosong.", field="file", code="empty_file") from None
    columns = _map_headers(header)
    rows: list[RosterRow] = []
    for number, raw in enumerate(table, start=2):
        values = {fld: cell_text(raw[i]) if i < len(raw) else "" for i, fld in columns.items()}
        if not any(values.values()):
            continue  # blank lines at the end of spreadsheets
        rows.append(RosterRow(row=number, values=values))
        if len(rows) > MAX_ROWS:
            raise ValidationFailed(
                _("Berkas melebihi %(MAX_ROWS)s baris; bagi menjadi beberapa berkas.")
                % {"MAX_ROWS": MAX_ROWS},
                field="file",
            )
    return rows


def import_roster(
    session: Session, data: IO[bytes], *, skip_invalid: bool = False, by: int | None = None,
    file_name: str | None = None,
) -> ImportResult:  # fmt: skip
    """Validate every row, then upsert by NIP; with errors and no `skip_invalid`, write nothing.
    What was written is recorded as one RosterImport (its id is in the result)."""
    rows = read_rows(data)
    plan = _plan(session, rows)
    if plan.errors and not skip_invalid:
        return ImportResult(created=0, updated=0, skipped=len(plan.bad_rows), errors=plan.errors)
    inserts = [r for r in plan.inserts if r.pop("_row") not in plan.bad_rows]
    updates = [r for r in plan.updates if r.pop("_row") not in plan.bad_rows]
    touched: list[int] = [r["id"] for r in updates]
    for i in range(0, len(inserts), _BATCH):
        new_ids = repository.bulk_insert_users(session, inserts[i : i + _BATCH])
        repository.bulk_insert_roles(
            session, [{"user_id": uid, "role": Role.LEARNER.value} for uid in new_ids.values()]
        )
        touched.extend(new_ids.values())
    for i in range(0, len(updates), _BATCH):
        repository.bulk_update_users(session, updates[i : i + _BATCH], keep_if_null=OPTIONAL_FIELDS)
    import_id = None
    if touched:
        batch = RosterImport(
            created_by_id=by, file_name=(file_name or "")[:255] or None,
            created_count=len(inserts), updated_count=len(updates),
        )  # fmt: skip
        repository.add(session, batch)
        repository.add_import_users(session, batch.id, touched)
        import_id = batch.id
        audit.record(session, "roster.imported", actor=by, target=("roster_import", import_id),
                     after={"file_name": file_name, "created": len(inserts),
                            "updated": len(updates), "skipped": len(plan.bad_rows)})  # fmt: skip
    session.flush()
    return ImportResult(
        created=len(inserts), updated=len(updates), skipped=len(plan.bad_rows),
        errors=plan.errors, import_id=import_id,
    )  # fmt: skip


def _plan(session: Session, rows: list[RosterRow]) -> _Plan:
    plan = _Plan()
    opd_ids = repository.opd_ids_by_code(session)
    opd_ids_upper = {code.upper(): oid for code, oid in opd_ids.items()}
    seen_nip: dict[str, int] = {}
    seen_email: dict[str, int] = {}
    checked: list[tuple[RosterRow, Any]] = []
    for r in rows:
        v = r.values
        for required in REQUIRED_FIELDS:
            if not v.get(required):
                plan.error(r.row, required, f"Kolom {COLUMN_LABEL[required]} wajib diisi.")
        profile = check_profile(
            nip=v.get("nip"),
            name=v.get("name"),
            email=v.get("email"),
            employment=v.get("employment"),
            pangkat_golongan=v.get("pangkat_golongan"),
            jabatan=v.get("jabatan"),
            jenis_jabatan=v.get("jenis_jabatan"),
            phone=v.get("phone"),
        )
        for fld, message in profile.errors:
            if v.get(fld):  # an empty required field is already reported above
                plan.error(r.row, fld, message)
        opd_code = (v.get("opd_code") or "").upper()
        if opd_code and opd_code not in opd_ids_upper:
            plan.error(r.row, "opd_code", f"Kode OPD '{v.get('opd_code')}' tidak ditemukan.")
        if profile.nip:
            if profile.nip in seen_nip:
                plan.error(
                    r.row,
                    "nip",
                    f"NIP {profile.nip} ganda: sudah ada di baris {seen_nip[profile.nip]}.",
                )
            else:
                seen_nip[profile.nip] = r.row
        if profile.email:
            if profile.email in seen_email:
                plan.error(
                    r.row,
                    "email",
                    f"Email {profile.email} ganda: sudah ada di baris {seen_email[profile.email]}.",
                )
            else:
                seen_email[profile.email] = r.row
        checked.append((r, profile))
    existing = repository.users_by_nips(session, seen_nip)
    email_owner = repository.user_ids_by_emails(session, seen_email)
    now = utcnow()
    for r, profile in checked:
        if r.row in plan.bad_rows or profile.nip is None:
            continue
        current = existing.get(profile.nip)
        owner = email_owner.get(profile.email) if profile.email else None
        if owner is not None and (current is None or owner != current[0]):
            plan.error(r.row, "email", f"Email {profile.email} sudah dipakai akun lain.")
            continue
        values: dict[str, Any] = {
            "_row": r.row,
            "name": profile.name,
            "employment": profile.employment,
            "opd_id": opd_ids_upper[(r.values.get("opd_code") or "").upper()],
            "updated_at": now,
        }
        # An optional column that is missing or blank (None here) says nothing: an update keeps
        # what the account holds (`keep_if_null`), e.g. an email the admin added by hand.
        values.update({fld: getattr(profile, fld) for fld in OPTIONAL_FIELDS})
        if current is None:
            values.update(nip=profile.nip, is_active=True, created_at=now)
            plan.inserts.append(values)
        else:
            values["id"] = current[0]
            plan.updates.append(values)
    return plan


def template_xlsx(opds: list[tuple[str, str]]) -> bytes:
    """The downloadable roster template: headers, one example row, and reference sheets."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Data ASN"
    sheet.append([*TEMPLATE_HEADERS, *OPTIONAL_HEADERS])
    sheet.append(xlsx_row(sheet,
        ["198503152010011001", "Budi Santoso, S.Kom.", "budi@example.go.id", "PNS", "III/b",
         "Pranata Komputer Ahli Pertama", opds[0][0] if opds else "DISKOMINFO", "fungsional",
         "0812-3456-7890"]
    ))  # fmt: skip
    for column, width in zip("ABCDEFGHI", (22, 30, 28, 14, 16, 34, 14, 16, 18), strict=True):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=1, max_row=200, min_col=1, max_col=9):
        for cell in row:
            if cell.column in (1, 9):
                cell.number_format = "@"  # NIP and phone as text: Excel drops zeros, rounds
    ref = book.create_sheet("Referensi")
    ref.append(
        [
            "Pangkat/Golongan PNS",
            "Nama Pangkat",
            "Golongan PPPK",
            "Jenis Jabatan",
            "Kode OPD",
            "Nama OPD",
        ]
    )
    pns = list(PANGKAT_PNS.items())
    longest = max(len(pns), len(GOLONGAN_PPPK), len(opds), len(JenisJabatan))
    jenis = [j.value for j in JenisJabatan]
    for i in range(longest):
        ref.append(xlsx_row(ref, [  # OPD codes and names are typed by people
            pns[i][0] if i < len(pns) else None,
            pns[i][1] if i < len(pns) else None,
            GOLONGAN_PPPK[i] if i < len(GOLONGAN_PPPK) else None,
            jenis[i] if i < len(jenis) else None,
            opds[i][0] if i < len(opds) else None,
            opds[i][1] if i < len(opds) else None,
        ]))  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
