"""The survey report as CSV and XLSX files for staff (cells never run as formulas)."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from app.core.i18n import gettext_ as _
from app.core.tables import csv_safe, xlsx_safe
from app.evaluation.constants import LIKERT_MAX, LIKERT_MIN
from app.evaluation.schemas import SurveyReport

SCALE = [str(v) for v in range(LIKERT_MIN, LIKERT_MAX + 1)]


def _headers() -> list[str]:
    return [
        _("Bagian"),
        _("Pertanyaan"),
        _("Pengajar"),
        _("Jumlah jawaban"),
        _("Rata-rata"),
        *[_("Nilai %(v)s") % {"v": v} for v in SCALE],
        _("Jawaban"),
    ]


def _rows(report: SurveyReport) -> list[list[Any]]:
    """One row per Likert item (per instructor), then one row per free-text answer."""
    rows: list[list[Any]] = []
    for item in report.items:
        part = _("Pengajar") if item.instructor else _("Penyelenggaraan")
        rows.append(
            [part, item.text, item.instructor or "", item.count, item.mean,
             *[item.distribution.get(v, 0) for v in SCALE], ""]
        )  # fmt: skip
    for stat in report.instructors:
        rows.append(
            [_("Rata-rata pengajar"), "", stat.name, stat.count, stat.mean, *[""] * len(SCALE), ""]
        )
    for block in report.texts:
        for answer in block.answers:
            rows.append(
                [_("Jawaban teks"), block.text, block.instructor or "", "", None,
                 *[""] * len(SCALE), answer]
            )  # fmt: skip
    return rows


def report_csv(report: SurveyReport) -> bytes:
    """UTF-8 CSV with a byte order mark (Excel reads the accents), formula-looking text quoted."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_headers())
    for row in _rows(report):
        writer.writerow(
            [csv_safe(v) if isinstance(v, str) else ("" if v is None else f"{v:g}") for v in row]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def report_xlsx(report: SurveyReport) -> bytes:
    """The same rows as a workbook; numbers as numbers, every text a text cell."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Evaluasi")[:31]
    sheet.append([xlsx_safe(f"{report.course_title} · {report.run_name}")])
    sheet.append([_("Responden"), report.responses, _("Peserta"), report.enrolled])
    sheet.append([])
    header_row = sheet.max_row + 1
    sheet.append(_headers())
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
    sheet["A1"].font = Font(bold=True)
    for row in _rows(report):
        number = sheet.max_row + 1
        for column, value in enumerate(row, start=1):
            cell = sheet.cell(row=number, column=column, value=value)
            if isinstance(value, str):
                cell.value = xlsx_safe(value)
                cell.data_type = "s"  # never a formula, even when an answer starts with "="
                if column in (2, 11):
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in zip("ABCDEFGHIJK", (18, 60, 24, 10, 10, 8, 8, 8, 8, 8, 60), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = f"A{header_row + 1}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
