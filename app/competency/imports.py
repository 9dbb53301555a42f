"""Standards and assessment-result imports (CSV or XLSX, Indonesian header aliases), all or
nothing: every bad row is reported as {row, field, message} and then nothing is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from openpyxl import Workbook
from sqlalchemy.orm import Session

from app.accounts.nip import normalise_nip
from app.accounts.roster import header_key
from app.competency import repository
from app.competency.constants import EVERYONE, JENIS_JABATAN_KEYS, ImportKind
from app.competency.models import (
    Competency,
    CompetencyAssessment,
    CompetencyImport,
    CompetencyStandard,
)
from app.competency.schemas import ImportResult, ImportRowError
from app.competency.service import CatalogLookup, fold
from app.core.config import Settings
from app.core.db import utcnow
from app.core.errors import ValidationFailed
from app.core.i18n import gettext_ as _
from app.core.numbers import ascii_int
from app.core.tables import cell_text, read_table, xlsx_row


@dataclass(frozen=True, slots=True)
class Column:
    field: str
    label: str  # the template's header
    required: bool
    aliases: tuple[str, ...]


STANDARD_COLUMNS = (
    Column("jabatan", "jabatan", True,
           ("jabatan", "nama jabatan", "jabatan/kelompok", "kelompok jabatan", "position")),
    Column("competency_code", "kode_kompetensi", True,
           ("kode kompetensi", "competency code", "kompetensi", "competency", "kode")),
    Column("required_level", "level_standar", True,
           ("level standar", "required level", "standar", "level", "level kompetensi")),
)  # fmt: skip
ASSESSMENT_COLUMNS = (
    Column("nip", "nip", True, ("nip", "nip asn")),
    Column("competency_code", "kode_kompetensi", True,
           ("kode kompetensi", "competency code", "kompetensi", "competency", "kode")),
    Column("level", "level", True,
           ("level", "level capaian", "capaian", "level hasil", "nilai", "achieved level")),
    Column("assessed_on", "tanggal_asesmen", True,
           ("tanggal asesmen", "tanggal penilaian", "tanggal", "assessed on", "date")),
    Column("method", "metode", True, ("metode", "metode asesmen", "method")),
    Column("assessor", "asesor", False, ("asesor", "penilai", "assessor")),
    Column("required_level", "level_standar", False,
           ("level standar", "required level", "standar")),
)  # fmt: skip
COLUMNS = {ImportKind.STANDARDS: STANDARD_COLUMNS, ImportKind.ASSESSMENTS: ASSESSMENT_COLUMNS}
EVERYONE_WORDS = frozenset({EVERYONE, "semua", "semua asn", "all"})
# Indonesian month names (and their short forms), for dates typed as "1 Maret 2026".
MONTHS = {
    name: i + 1
    for i, names in enumerate(
        (("januari", "jan"), ("februari", "feb", "pebruari"), ("maret", "mar"),
         ("april", "apr"), ("mei",), ("juni", "jun"), ("juli", "jul"),
         ("agustus", "agu", "agt", "aug"), ("september", "sep"), ("oktober", "okt", "oct"),
         ("november", "nov", "nop"), ("desember", "des", "dec"))
    )
    for name in names
}  # fmt: skip
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")


@dataclass(slots=True)
class SheetRow:
    row: int  # as the spreadsheet numbers it, header = 1
    values: dict[str, Any]


class _Errors:
    def __init__(self) -> None:
        self.items: list[ImportRowError] = []
        self.rows: set[int] = set()

    def add(self, row: int, field: str, message: str) -> None:
        self.items.append(ImportRowError(row=row, field=field, message=message))
        self.rows.add(row)


def read_sheet(data: IO[bytes], columns: tuple[Column, ...], max_rows: int) -> list[SheetRow]:
    """Rows of a CSV/XLSX file keyed by field; the header row is matched through the aliases."""
    table = read_table(data, error_code="unsupported_competency_format")
    try:
        header = next(table)
    except StopIteration:
        raise ValidationFailed("Berkas kosong.", field="file", code="empty_file") from None
    by_alias = {header_key(a): c.field for c in columns for a in (c.label, c.field, *c.aliases)}
    mapped: dict[int, str] = {}
    for index, cell in enumerate(header):
        fld = by_alias.get(header_key(str(cell or "")))
        if fld is not None and fld not in mapped.values():
            mapped[index] = fld
    missing = [c.label for c in columns if c.required and c.field not in mapped.values()]
    if missing:
        raise ValidationFailed(
            _(
                "Kolom wajib tidak ada di baris judul: %(value)s. Gunakan templat dengan kolom: %(value2)s."
            )
            % {"value": ", ".join(missing), "value2": ", ".join(c.label for c in columns)},
            field="file",
            code="missing_columns",
        )
    rows: list[SheetRow] = []
    for number, raw in enumerate(table, start=2):
        values = {fld: raw[i] if i < len(raw) else None for i, fld in mapped.items()}
        if not any(cell_text(v) for v in values.values()):
            continue
        rows.append(SheetRow(number, values))
        if len(rows) > max_rows:
            raise ValidationFailed(
                _("Berkas melebihi %(max_rows)s baris; bagi menjadi beberapa berkas.")
                % {"max_rows": max_rows},
                field="file",
            )
    if not rows:
        raise ValidationFailed("Berkas tidak berisi baris data.", field="file", code="empty_file")
    return rows


def parse_date(value: Any) -> dt.date | None:
    """A date cell: a real Excel date, ISO, dd/mm/yyyy, dd-mm-yyyy, or '1 Maret 2026'."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = cell_text(value)
    if not text:
        return None
    text = text.split("T")[0].split(" 00:00")[0].strip()
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    match = re.fullmatch(r"(\d{1,2})\s+([A-Za-z]+)\.?\s+(\d{4})", text)
    if match and match.group(2).lower() in MONTHS:
        try:
            return dt.date(int(match.group(3)), MONTHS[match.group(2).lower()], int(match.group(1)))
        except ValueError:
            return None
    return None


def _parse_level(value: Any) -> int | None:
    return ascii_int(cell_text(value), minimum=0)


def _competency(catalog: CatalogLookup, errors: _Errors, row: int, raw: Any) -> Competency | None:
    text = cell_text(raw)
    if not text:
        errors.add(row, "competency_code", "Kolom kode_kompetensi wajib diisi.")
        return None
    competency = catalog.find(text)
    if competency is None:
        errors.add(
            row, "competency_code",
            f"Kompetensi '{text}' tidak ada di katalog; lihat lembar Referensi pada templat.",
        )  # fmt: skip
        return None
    if not competency.is_active:
        errors.add(row, "competency_code", f"Kompetensi '{competency.name}' sudah nonaktif.")
        return None
    return competency


def _level(
    errors: _Errors, row: int, field: str, label: str, raw: Any, competency: Competency | None,
    *, required: bool = True,
) -> int | None:  # fmt: skip
    text = cell_text(raw)
    if not text:
        if required:
            errors.add(row, field, f"Kolom {label} wajib diisi.")
        return None
    level = _parse_level(raw)
    top = competency.max_level if competency is not None else None
    if level is None or level < 1 or (top is not None and level > top):
        errors.add(
            row, field, f"{label} harus bilangan bulat 1–{top or 5} (diterima '{text}')."
        )  # fmt: skip
        return None
    return level


def _checksum(data: IO[bytes]) -> str:
    digest = hashlib.sha256(data.read()).hexdigest()
    data.seek(0)
    return digest


def import_standards(
    session: Session, data: IO[bytes], *, file_name: str, user_id: int | None,
    settings: Settings,
) -> ImportResult:  # fmt: skip
    """Upsert the required level per (jabatan or jenis jabatan or "*", competency)."""
    checksum = _checksum(data)
    rows = read_sheet(data, STANDARD_COLUMNS, settings.max_competency_import_rows)
    catalog = CatalogLookup(list(repository.competencies(session)))
    errors = _Errors()
    seen: dict[tuple[str, str], int] = {}
    planned: list[dict[str, Any]] = []
    for r in rows:
        v = r.values
        jabatan = " ".join(cell_text(v.get("jabatan")).split())
        key = fold(jabatan)
        if not jabatan:
            errors.add(r.row, "jabatan", "Kolom jabatan wajib diisi (nama jabatan, jenis jabatan, "
                       "atau * untuk semua ASN).")  # fmt: skip
        elif len(jabatan) > 255:
            errors.add(r.row, "jabatan", "Jabatan paling panjang 255 karakter.")
        if key in EVERYONE_WORDS:
            key = jabatan = EVERYONE
        elif key in JENIS_JABATAN_KEYS:
            jabatan = key if key != "jpt" else "JPT"
        competency = _competency(catalog, errors, r.row, v.get("competency_code"))
        level = _level(errors, r.row, "required_level", "level_standar",
                       v.get("required_level"), competency)  # fmt: skip
        if not jabatan or competency is None or level is None:
            continue
        pair = (key, competency.code)
        if pair in seen:
            errors.add(r.row, "jabatan",
                       f"Standar {jabatan} – {competency.code} ganda: sudah ada di baris "
                       f"{seen[pair]}.")  # fmt: skip
            continue
        seen[pair] = r.row
        planned.append({"jabatan": jabatan, "jabatan_key": key,
                        "competency_code": competency.code, "required_level": level})  # fmt: skip
    if errors.items:
        return ImportResult(imported=0, errors=errors.items)
    now = utcnow()
    inserts, updates = _split(
        planned, repository.standard_ids(session, seen), ("jabatan_key", "competency_code"),
        {"created_at": now, "updated_at": now}, ("jabatan", "required_level"), {"updated_at": now},
    )  # fmt: skip
    repository.insert_rows(session, CompetencyStandard, inserts)
    repository.update_rows(session, CompetencyStandard, updates)
    repository.add_import(session, CompetencyImport(
        kind=ImportKind.STANDARDS.value, file_name=file_name[:255], sha256=checksum,
        rows=len(planned), imported_by_id=user_id,
    ))  # fmt: skip
    return ImportResult(
        imported=len(planned), created=len(inserts), updated=len(updates), errors=[]
    )


def _split(
    planned: list[dict[str, Any]],
    existing: Mapping[Any, int],
    key: tuple[str, ...],
    insert_extra: dict[str, Any],
    update_fields: tuple[str, ...],
    update_extra: dict[str, Any],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Planned rows as bulk INSERT rows (no id in `existing` under their `key` fields) and bulk
    UPDATE rows by id (the `update_fields` and `update_extra` only)."""
    inserts, updates = [], []
    for p in planned:
        row_id = existing.get(tuple(p[k] for k in key))
        if row_id is None:
            inserts.append({**p, **insert_extra})
        else:
            updates.append({"id": row_id, **{f: p[f] for f in update_fields}, **update_extra})
    return inserts, updates


def import_assessments(
    session: Session, data: IO[bytes], *, file_name: str, user_id: int | None,
    settings: Settings, today: dt.date,
) -> ImportResult:  # fmt: skip
    """Insert assessment results; the same ASN + competency + date again updates that result."""
    checksum = _checksum(data)
    rows = read_sheet(data, ASSESSMENT_COLUMNS, settings.max_competency_import_rows)
    catalog = CatalogLookup(list(repository.competencies(session)))
    nips = list(dict.fromkeys(normalise_nip(cell_text(r.values.get("nip"))) for r in rows))
    user_ids = repository.user_ids_by_nip(session, [n for n in nips if n])
    errors = _Errors()
    seen: dict[tuple[int, str, dt.date], int] = {}
    planned: list[dict[str, Any]] = []
    for r in rows:
        v = r.values
        nip = normalise_nip(cell_text(v.get("nip")))
        user_id_ = user_ids.get(nip) if nip else None
        if not nip:
            errors.add(r.row, "nip", "Kolom nip wajib diisi.")
        elif user_id_ is None:
            errors.add(r.row, "nip", f"NIP {nip} tidak terdaftar; impor data ASN terlebih dahulu.")
        competency = _competency(catalog, errors, r.row, v.get("competency_code"))
        level = _level(errors, r.row, "level", "level", v.get("level"), competency)
        required = _level(errors, r.row, "required_level", "level_standar",
                          v.get("required_level"), competency, required=False)  # fmt: skip
        assessed_on = parse_date(v.get("assessed_on"))
        if assessed_on is None:
            text = cell_text(v.get("assessed_on"))
            errors.add(
                r.row, "assessed_on",
                f"Tanggal asesmen '{text}' tidak dikenali; tulis seperti 2026-03-01 atau "
                "01/03/2026." if text else "Kolom tanggal_asesmen wajib diisi.",
            )  # fmt: skip
        elif assessed_on > today:
            errors.add(r.row, "assessed_on",
                       f"Tanggal asesmen {assessed_on:%d/%m/%Y} belum terjadi.")  # fmt: skip
        elif assessed_on.year < 1990:
            errors.add(r.row, "assessed_on", f"Tanggal asesmen {assessed_on:%d/%m/%Y} tidak wajar.")
        method = " ".join(cell_text(v.get("method")).split())
        if not method:
            errors.add(r.row, "method", "Kolom metode wajib diisi (mis. assessment center, "
                       "uji kompetensi, penilaian atasan).")  # fmt: skip
        elif len(method) > 64:
            errors.add(r.row, "method", "Metode paling panjang 64 karakter.")
        assessor = " ".join(cell_text(v.get("assessor")).split()) or None
        if assessor and len(assessor) > 255:
            errors.add(r.row, "assessor", "Nama asesor paling panjang 255 karakter.")
        if r.row in errors.rows:
            continue
        assert user_id_ is not None and competency is not None and assessed_on is not None
        key = (user_id_, competency.code, assessed_on)
        if key in seen:
            errors.add(r.row, "nip",
                       f"Hasil NIP {nip} – {competency.code} – {assessed_on:%d/%m/%Y} ganda: "
                       f"sudah ada di baris {seen[key]}.")  # fmt: skip
            continue
        seen[key] = r.row
        planned.append({"user_id": user_id_, "competency_code": competency.code, "level": level,
                        "required_level": required, "assessed_on": assessed_on,
                        "method": method, "assessor": assessor})  # fmt: skip
    if errors.items:
        return ImportResult(imported=0, errors=errors.items)
    import_id = repository.add_import(session, CompetencyImport(
        kind=ImportKind.ASSESSMENTS.value, file_name=file_name[:255], sha256=checksum,
        rows=len(planned), imported_by_id=user_id,
    ))  # fmt: skip
    existing = repository.assessment_ids(session, sorted({p["user_id"] for p in planned}))
    inserts, updates = _split(
        planned, existing, ("user_id", "competency_code", "assessed_on"),
        {"import_id": import_id, "created_at": utcnow()},
        ("level", "required_level", "method", "assessor"), {"import_id": import_id},
    )  # fmt: skip
    repository.insert_rows(session, CompetencyAssessment, inserts)
    repository.update_rows(session, CompetencyAssessment, updates)
    session.flush()
    return ImportResult(
        imported=len(planned), created=len(inserts), updated=len(updates), errors=[]
    )


def template_xlsx(kind: ImportKind, competencies: list[Competency]) -> bytes:
    """The downloadable template: the header row, example rows, and a reference sheet."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    columns = COLUMNS[kind]
    widths: tuple[int, ...]
    sheet.append([c.label for c in columns])
    if kind is ImportKind.STANDARDS:
        sheet.title = "Standar Kompetensi"
        sheet.append(["Pranata Komputer Ahli Pertama", "literasi_digital", 3])
        sheet.append(["pelaksana", "integritas", 2])
        sheet.append(["*", "perekat_bangsa", 2])
        widths = (34, 30, 14)
    else:
        sheet.title = "Hasil Asesmen"
        sheet.append(["198503152010011001", "integritas", 2, "2026-03-01", "assessment center",
                      "Tim Asesor BKPSDM", None])  # fmt: skip
        widths = (22, 30, 8, 16, 22, 24, 14)
        for row in sheet.iter_rows(min_row=1, max_row=500, min_col=1, max_col=1):
            for cell in row:
                cell.number_format = "@"  # NIP as text so Excel does not round it
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    ref = book.create_sheet("Referensi")
    ref.append(["kode_kompetensi", "Nama", "Kelompok", "Level tertinggi", "Jenis jabatan / *"])
    groups = [*sorted(JENIS_JABATAN_KEYS), EVERYONE]
    active = [c for c in competencies if c.is_active]
    for i in range(max(len(active), len(groups))):
        c = active[i] if i < len(active) else None
        ref.append(xlsx_row(ref, [  # names typed by people: never a formula
            c.code if c else None, c.name if c else None, c.group if c else None,
            c.max_level if c else None, groups[i] if i < len(groups) else None,
        ]))  # fmt: skip
    ref.column_dimensions["A"].width = 34
    ref.column_dimensions["B"].width = 40
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
