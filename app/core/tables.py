"""Reading the spreadsheets people upload (CSV in any common encoding and delimiter, or XLSX),
decided by the file's bytes. Used by the roster import and by enrolment from a file.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import IO, Any

from openpyxl import load_workbook

from app.core.errors import UnsupportedMediaType
from app.core.i18n import gettext_ as _

SNIFF_BYTES = 8192
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # Excel's "Unicode Text" export
# Bytes that plain text may contain; anything else in the head means a binary file.
_TEXT_BYTES = bytes({7, 8, 9, 10, 12, 13, 27} | set(range(0x20, 0x100)) - {0x7F})

# What a damaged workbook raises, on opening or later while its rows stream (a truncated sheet
# is a ParseError, a SyntaxError subclass; bad deflate data is zlib.error).
_XLSX_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    KeyError,
    ValueError,
    OSError,
    EOFError,
    SyntaxError,
)


def _bad_xlsx(exc: Exception) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        _("Berkas XLSX rusak atau bukan lembar kerja Excel: %(exc)s") % {"exc": exc},
        code="bad_xlsx",
    )


def read_table(data: IO[bytes], *, error_code: str) -> Iterator[list[Any]]:
    """Rows (lists of cell values) of the first sheet of an XLSX file, or of a CSV file.

    Anything else (PDF, old .xls, images, binary) is refused with 415 and `error_code`.
    """
    head = data.read(SNIFF_BYTES)
    data.seek(0)
    if head.startswith(b"PK\x03\x04"):
        return _xlsx_rows(data)
    if not head.startswith(UTF16_BOMS) and (
        head.startswith((b"\xd0\xcf\x11\xe0", b"%PDF")) or head.translate(None, _TEXT_BYTES)
    ):
        raise UnsupportedMediaType(
            "Berkas harus CSV atau XLSX (Excel 2007+). Simpan ulang sebagai .xlsx atau .csv.",
            code=error_code,
        )
    return _csv_rows(data, error_code)


def _xlsx_rows(data: IO[bytes]) -> Iterator[list[Any]]:
    try:
        book = load_workbook(data, read_only=True, data_only=True)
    except _XLSX_ERRORS as exc:
        raise _bad_xlsx(exc) from None

    def rows() -> Iterator[list[Any]]:
        try:
            for row in book.worksheets[0].iter_rows(values_only=True):
                yield list(row)
        except _XLSX_ERRORS as exc:
            raise _bad_xlsx(exc) from None
        finally:
            book.close()

    return rows()


def _csv_rows(data: IO[bytes], error_code: str) -> Iterator[list[Any]]:
    raw = data.read()
    # UTF-8 (with or without Excel's BOM), then the Windows code page older Excel writes;
    # latin-1 decodes any byte, so the loop always ends with text.
    encodings = ("utf-16",) if raw.startswith(UTF16_BOMS) else ("utf-8-sig", "cp1252", "latin-1")
    for encoding in encodings:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnsupportedMediaType(
            "Berkas teks tidak dapat dibaca; simpan ulang sebagai CSV UTF-8 atau XLSX.",
            code=error_code,
        )
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], ",;\t")
    except csv.Error:
        dialect = csv.excel
    return (list(r) for r in csv.reader(io.StringIO(text), dialect))


def cell_text(value: Any) -> str:
    """A cell as text; whole numbers without '.0'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        # A NIP typed as a number: Excel keeps 15 significant digits, so print those digits
        # (1.99001012015031e17 -> '...031000', which the NIP rules reject) and never the
        # binary float's made-up tail ('...031008', a wrong but valid-looking NIP).
        return format(Decimal(repr(value)), "f") if abs(value) >= 2**53 else str(int(value))
    return str(value).strip()


# Spreadsheets run a cell that starts with one of these as a formula (CSV/formula injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def clean_cell(value: str, *, csv: bool = False) -> str:
    """The one cleaner for text that a CSV or XLSX writer puts in a cell.

    The control characters XLSX cannot hold are removed (openpyxl raises IllegalCharacterError
    on them; in a CSV they only garble the file). In CSV, text that a spreadsheet would run as a
    formula gets a leading quote; XLSX writers store text as a string cell (`data_type = "s"`),
    which never runs, so the text is kept as typed there.
    """
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    text = ILLEGAL_CHARACTERS_RE.sub("", value)
    if csv and text.startswith(FORMULA_START):
        return "'" + text
    return text


def csv_safe(value: str) -> str:
    """A CSV cell text: no control characters, and never run as a formula (a leading quote)."""
    return clean_cell(value, csv=True)


def xlsx_safe(value: str) -> str:
    """A text for an openpyxl cell: characters XLSX cannot hold removed. Write it with
    `cell.data_type = "s"` so that a leading "=" stays text."""
    return clean_cell(value)


def xlsx_row(sheet: Any, values: Iterable[Any]) -> list[Any]:
    """A row for `sheet.append` (normal or write-only sheet) from values that people typed: text
    cleaned (`clean_cell`) in string cells, so that it never runs as a formula."""
    from openpyxl.cell import WriteOnlyCell

    row: list[Any] = []
    for value in values:
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, clean_cell(value))
            cell.data_type = "s"
            row.append(cell)
        else:
            row.append(value)
    return row


def sheet_title(value: str, fallback: str) -> str:
    """A worksheet name from text that people typed (a quiz title): Excel refuses \\ / ? * : [ ]
    and control characters in it, a quote at either end and more than 31 characters."""
    text = re.sub(r"[\\/?*:\[\]]", " ", clean_cell(value))
    text = " ".join(text.split())[:31].strip().strip("'").strip()
    return text or fallback
