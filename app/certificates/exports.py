"""Exports of certificates: search results and the run monitor as XLSX, the SIASN riwayat kursus
(CSV/JSON) and a run's PDFs as one ZIP streamed in constant memory."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from app.certificates.models import Certificate
from app.certificates.schemas import CertificateRead, ParticipantRow
from app.core import clock
from app.core.tables import csv_safe

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# SIASN jenisDiklatId (DESIGN.md): 14 coaching, 15 mentoring, 16 e-learning, 17 distance.
SIASN_JENIS_E_LEARNING = 16
SIASN_FIELDS = (
    "nip", "nama", "namaKursus", "jumlahJam", "nomorSertipikat", "tanggalKursus",
    "tanggalSelesaiKursus", "tahunKursus", "institusiPenyelenggara", "jenisDiklatId",
)  # fmt: skip


def _text(value: Any) -> Any:
    """A cell that starts like a formula is written as text (CSV/Excel injection)."""
    return csv_safe(value) if isinstance(value, str) else value


def _workbook(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]],
              text_columns: Sequence[int] = ()) -> bytes:  # fmt: skip
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for number, values in enumerate(rows, start=2):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=number, column=column, value=_text(value))
            if isinstance(value, str):
                cell.data_type = "s"
        for column in text_columns:  # NIPs: 18 digits would be rounded as numbers
            sheet.cell(row=number, column=column).number_format = "@"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def certificates_xlsx(items: Sequence[CertificateRead]) -> bytes:
    header = ["Nomor", "Status", "Nama", "NIP", "Pangkat/Gol", "Jabatan", "OPD", "Kursus",
              "Angkatan", "JP", "Nilai", "Predikat", "Tanggal terbit", "Berlaku sampai",
              "Kode verifikasi"]  # fmt: skip
    rows = (
        [
            c.number,
            c.status,
            c.holder_name,
            c.holder_nip,
            c.holder_pangkat_golongan,
            c.holder_jabatan,
            c.holder_opd,
            c.course_title,
            c.run_name,
            c.jp,
            c.score,
            c.predikat,
            c.issued_on,
            c.valid_until,
            c.code_display,
        ]
        for c in items
    )
    return _workbook("Sertifikat", header, rows, text_columns=(4,))


def monitor_xlsx(rows: Sequence[ParticipantRow]) -> bytes:
    header = ["Nama", "NIP", "OPD", "Status", "Progres (%)", "Waktu belajar (menit)",
              f"Selesai ({clock.tz_label()})", "Layak sertifikat", "Yang belum",
              "Nomor sertifikat", "Status sertifikat"]  # fmt: skip
    data = (
        [
            r.name,
            r.nip,
            r.opd,
            r.enrolment_status,
            r.percent,
            r.learning_minutes,
            local.replace(tzinfo=None) if (local := clock.to_local(r.completed_at)) else None,
            "ya" if r.eligible else "tidak",
            "; ".join(r.missing),
            r.certificate_number,
            r.certificate_status,
        ]
        for r in rows
    )
    return _workbook("Monitor", header, data, text_columns=(2,))


def siasn_rows(certs: Iterable[Certificate]) -> list[dict[str, Any]]:
    """Riwayat kursus for SIASN (BKN), one per valid certificate; dates as dd-mm-yyyy."""
    return [
        {
            "nip": c.holder_nip,
            "nama": c.holder_name,
            "namaKursus": c.course_title,
            "jumlahJam": c.jp,
            "nomorSertipikat": c.number,
            "tanggalKursus": f"{c.run_starts_on:%d-%m-%Y}",
            "tanggalSelesaiKursus": f"{c.run_ends_on:%d-%m-%Y}",
            "tahunKursus": c.issued_on.year,
            "institusiPenyelenggara": c.issuer,
            "jenisDiklatId": SIASN_JENIS_E_LEARNING,
        }
        for c in certs
    ]


def siasn_csv(rows: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(SIASN_FIELDS))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _text(v) for k, v in row.items()})
    return out.getvalue()


class _Sink(io.RawIOBase):
    """A write-only, unseekable buffer the ZIP writer fills and the response drains."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.offset = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        self.offset += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.offset

    def drain(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def zip_name(number: str, holder: str) -> str:
    """A safe file name inside the ZIP: the number and the holder (slashes become dashes)."""
    clean = re.sub(r"[^A-Za-z0-9._ -]+", "-", f"{number} {holder}").strip(" -.")
    return f"{clean[:150] or 'sertifikat'}.pdf"


def zip_stream(entries: Sequence[tuple[str, Iterable[bytes]]]) -> Iterator[bytes]:
    """The ZIP of (name, chunks) built while it is sent: memory holds one chunk, never the
    archive (PDFs are already compressed, so entries are stored)."""
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED) as archive:
        seen: set[str] = set()
        for name, chunks in entries:
            unique, n = name, 1
            while unique in seen:
                n += 1
                unique = name.replace(".pdf", f" ({n}).pdf")
            seen.add(unique)
            info = zipfile.ZipInfo(unique)
            info.compress_type = zipfile.ZIP_STORED
            with archive.open(info, mode="w", force_zip64=True) as member:
                for chunk in chunks:
                    member.write(chunk)
                    if sink.offset and sink.parts:
                        yield sink.drain()
            yield sink.drain()
    yield sink.drain()
