"""The gradebook as an XLSX workbook (the certificates domain's writer: bold header, frozen
first row, formula-looking text written as text, NIPs as text)."""

from __future__ import annotations

from typing import Any

from app.certificates.exports import XLSX_TYPE, _workbook
from app.core.i18n import gettext_ as _
from app.gradebook.schemas import Gradebook

__all__ = ["XLSX_TYPE", "gradebook_xlsx"]


def _cell(value: float | bool | None) -> Any:
    if isinstance(value, bool):
        return _("Ya") if value else _("Tidak")
    return value


def gradebook_xlsx(book: Gradebook) -> bytes:
    """One row per learner: name, NIP, each item's grade, computed and final score, predikat,
    the override's reason. Item headers carry their weight in percent."""
    header = [_("Nama"), _("NIP")]
    header += [f"{item.title} ({item.weight:g}%)" for item in book.items]
    header += [_("Nilai terhitung"), _("Nilai akhir"), _("Predikat"), _("Alasan perubahan")]
    rows = (
        [row.name, row.nip]
        + [_cell(row.grades.get(item.id)) for item in book.items]
        + [
            row.computed_score,
            row.final_score,
            row.predikat,
            row.override.reason if row.override else None,
        ]
        for row in book.rows
    )
    return _workbook(_("Buku nilai"), header, rows, text_columns=(2,))
