"""XLSX exports of the targets dashboard (one sheet per table) and of the drill-down list, written
with openpyxl's write-only mode so that 10,000 rows stay fast and small in memory."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from app.core.i18n import gettext_ as _
from app.core.tables import xlsx_safe
from app.targets.schemas import BelowTargetRowRead, TargetsReportRead

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_BOLD = Font(bold=True)


def _value(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """A cell value; text is cleaned of characters XLSX cannot hold and never run as a formula."""
    if not isinstance(value, str):
        return value
    text = xlsx_safe(value)
    if text.startswith("="):
        cell = WriteOnlyCell(sheet, text)
        cell.data_type = "s"
        return cell
    return text


def _sheet(book: Workbook, title: str, header: Sequence[str], rows: Iterable[Sequence[Any]],
           widths: Sequence[int] = ()) -> None:  # fmt: skip
    sheet = book.create_sheet(title[:31])
    assert isinstance(sheet, WriteOnlyWorksheet)
    for index, width in enumerate(widths):
        # write-only sheets take column widths before the first row (missing from the stubs)
        sheet.column_dimensions[chr(ord("A") + index)].width = width  # type: ignore[attr-defined]
    sheet.freeze_panes = "A2"
    head = []
    for text in header:
        cell = WriteOnlyCell(sheet, text)
        cell.font = _BOLD
        head.append(cell)
    sheet.append(head)
    for row in rows:
        sheet.append([_value(sheet, v) for v in row])


def _save(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def report_xlsx(
    report: TargetsReportRead,
    *,
    funding_labels: dict[str, str],
    bucket_labels: dict[str, str],
    month_names: Sequence[str],
) -> bytes:
    """Every table of the dashboard, one sheet each."""
    book = Workbook(write_only=True)
    r = report
    _sheet(book, _("Ringkasan"), [_("Ukuran"), _("Nilai"), _("Target")], [
        [_("Tahun"), r.year, None],
        [_("ASN aktif"), r.active_asn, None],
        [_("ASN ikut pengembangan kompetensi"), r.participated, None],
        [_("Partisipasi, persen"), r.participation_percent, r.participation_target_percent],
        [_("ASN memenuhi target JP"), r.jp_compliant, None],
        [_("Kepatuhan JP, persen"), r.jp_compliance_percent, None],
        [_("Target JP per ASN"), r.jp_target, None],
        [_("Total JP"), r.jp_total, None],
        [_("Rata-rata JP per ASN"), r.average_jp, None],
    ], widths=(36, 12, 10))  # fmt: skip
    _sheet(
        book,
        _("Per OPD"),
        [_("Kode OPD"), _("Nama OPD"), _("ASN aktif"), _("Ikut"), _("Partisipasi, persen"),
         _("Memenuhi target JP"), _("Kepatuhan JP, persen"), _("Total JP"), _("Rata-rata JP")],
        (
            [o.opd_code or "", o.opd_name or _("Tanpa OPD"), o.active_asn, o.participated,
             o.participation_percent, o.jp_compliant, o.jp_compliance_percent, o.jp_total,
             o.average_jp]
            for o in r.by_opd
        ),
        widths=(12, 40, 10, 10, 14, 18, 16, 12, 12),
    )  # fmt: skip
    _sheet(
        book,
        _("Sumber dana"),
        [_("Sumber dana"), _("Peserta"), _("JP")],
        ([funding_labels.get(f.funding_source, f.funding_source), f.participants, f.jp]
         for f in r.by_funding_source),
        widths=(24, 10, 12),
    )  # fmt: skip
    _sheet(
        book,
        _("Sebaran JP"),
        [_("Rentang JP"), _("ASN"), _("Persen")],
        ([bucket_labels.get(d.bucket, d.bucket), d.asn, d.percent] for d in r.distribution),
        widths=(16, 10, 10),
    )  # fmt: skip
    _sheet(
        book,
        _("Tren bulanan"),
        [_("Bulan"), _("JP dikreditkan"), _("ASN sudah ikut (kumulatif)"), _("Partisipasi, persen")],
        ([month_names[t.month - 1], t.jp, t.participants_cumulative, t.participation_percent]
         for t in r.trend),
        widths=(14, 16, 26, 16),
    )  # fmt: skip
    return _save(book)


def below_xlsx(
    rows: Sequence[BelowTargetRowRead], *, band_labels: dict[str, str], names: dict[str, str]
) -> bytes:
    """The ASN below the JP target with their JP and competency gaps."""
    book = Workbook(write_only=True)
    _sheet(
        book,
        _("Di bawah target JP"),
        [_("NIP"), _("Nama"), _("Status"), _("Kode OPD"), _("OPD"), _("JP"), _("Kurang JP"),
         _("JPM, persen"), _("Kategori JPM"), _("Jumlah gap"), _("Kompetensi dengan gap")],
        (
            [r.nip, r.name, r.employment or "", r.opd_code or "", r.opd_name or "", r.jp,
             r.shortfall, r.jpm_percent, band_labels.get(r.band, r.band) if r.band else "",
             r.gap_count, ", ".join(names.get(c, c) for c in r.gap_codes)]
            for r in rows
        ),
        widths=(20, 32, 8, 12, 32, 8, 10, 9, 16, 10, 40),
    )  # fmt: skip
    return _save(book)
