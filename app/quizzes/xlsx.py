"""Question banks as Excel workbooks, for content admins who prefer a spreadsheet to GIFT.

`build_template` gives the workbook to fill (sheet "Soal": a header and one example row per
question type; sheet "Petunjuk": every column and type explained), `parse_xlsx` reads a filled
one into questions plus every error with its row, and `export_xlsx` writes questions in the same
layout so that parsing the result gives them back.

One row is one question. Columns (header names are matched case-insensitively, spaces and `-`
count as `_`, Indonesian and English names both work; unknown columns are ignored):

    kategori | tipe | judul | soal | poin | jawaban_benar | pilihan_a … pilihan_f | umpan_balik

`tipe`, `soal` and `jawaban_benar` are required columns; more choice columns (`pilihan_g`, …,
up to `pilihan_z`) may be added. What `jawaban_benar` and the choice columns hold per type:

- pg / single: the letter of the one right choice (`B`); the choices in `pilihan_*`.
- pg_kompleks / multiple: the right letters (`A,C`); they share 100 % equally and each wrong
  choice weighs -100 % / number of wrong choices, so ticking everything earns nothing.
- bs / truefalse: `Benar` or `Salah` (also `B`/`S`, `True`/`False`, `T`/`F`).
- isian / short: accepted answers separated by `|`, each worth 100 %; `*` is a wildcard.
- angka / numeric: `9,8`, `9,8±0,1` (also `+-` or `:` before the tolerance) or `9,7..9,9`;
  several accepted numbers separated by `|`; decimal comma or point (see `parse_number`).
- menjodohkan / matching: `jawaban_benar` empty; each choice column holds `left -> right`,
  and `-> right` (nothing on the left) is an extra wrong answer (a distractor).
- esai / essay: `jawaban_benar` and the choice columns empty.

Cells are plain text: imported questions get `text_format="plain"`. The workbook has no place
for per-choice feedback, true/false feedback, the numeric "any other number" feedback or partial
weights, so `export_xlsx` leaves the feedback out and refuses weights it cannot write.

A problem with the whole file (not an XLSX, damaged, too large) is reported with line 0 and a
message without the "Baris n:" prefix.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from app.core.errors import ValidationFailed
from app.core.i18n import gettext_ as _
from app.core.tables import cell_text
from app.quizzes.questions import (
    Choice,
    MatchPair,
    NumericAnswer,
    ParseError,
    ParseResult,
    Question,
    QuestionType,
)
from app.quizzes.scoring import parse_number

QUESTION_SHEET = "Soal"
HELP_SHEET = "Petunjuk"
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_UNPACKED_BYTES = 100 * 1024 * 1024  # all parts of the zip together, as they claim
MAX_QUESTIONS = 5000
MAX_CELL_CHARS = 32767  # Excel's limit for one cell
TEMPLATE_CHOICES = 6  # pilihan_a … pilihan_f
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# What a damaged workbook raises, on opening or while its rows stream (as in app.core.tables).
_XLSX_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    KeyError,
    ValueError,
    OSError,
    EOFError,
    SyntaxError,
    TypeError,
)

# Column keys and the header names (normalised) that mean them.
_COLUMNS: dict[str, tuple[str, ...]] = {
    "kategori": ("kategori", "category", "kategori_soal"),
    "tipe": ("tipe", "jenis", "tipe_soal", "jenis_soal", "type", "question_type"),
    "judul": ("judul", "nama", "nama_soal", "judul_soal", "title", "name"),
    "soal": ("soal", "pertanyaan", "teks_soal", "question", "question_text", "text"),
    "poin": ("poin", "nilai", "skor", "points", "point", "score", "mark", "marks"),
    "jawaban_benar": (
        "jawaban_benar",
        "kunci",
        "kunci_jawaban",
        "jawaban",
        "correct_answer",
        "correct",
        "answer",
        "key",
    ),
    "umpan_balik": (
        "umpan_balik",
        "umpan_balik_umum",
        "pembahasan",
        "feedback",
        "general_feedback",
    ),
}
_ALIASES = {alias: key for key, aliases in _COLUMNS.items() for alias in aliases}
_CHOICE_HEADER = re.compile(r"(?:pilihan|opsi|choice|option)_([a-z])")
_REQUIRED = ("tipe", "soal", "jawaban_benar")

# Type names (normalised) accepted in `tipe`; the first one of each type is what export writes.
_TYPE_NAMES: dict[QuestionType, tuple[str, ...]] = {
    QuestionType.SINGLE: ("pg", "pilihan_ganda", "single", "single_choice", "multichoice"),
    QuestionType.MULTIPLE: (
        "pg_kompleks",
        "pilihan_ganda_kompleks",
        "pgk",
        "multiple",
        "multiple_choice",
        "multiple_response",
    ),
    QuestionType.TRUEFALSE: ("bs", "benar_salah", "truefalse", "true_false", "tf"),
    QuestionType.SHORT: ("isian", "isian_singkat", "short", "short_answer", "shortanswer"),
    QuestionType.NUMERIC: ("angka", "numerik", "numeric", "number", "numerical"),
    QuestionType.MATCHING: ("menjodohkan", "jodohkan", "matching", "match"),
    QuestionType.ESSAY: ("esai", "essay", "uraian"),
}
_TYPES = {name: kind for kind, names in _TYPE_NAMES.items() for name in names}
_TRUEFALSE = {
    "benar": True,
    "b": True,
    "true": True,
    "t": True,
    "salah": False,
    "s": False,
    "false": False,
    "f": False,
}
_KEY_SPLIT = re.compile(r"[\s,;/&+]+")
_ARROW = "->"
_ARROW_RE = re.compile(r"->|→")  # Office's AutoCorrect may have turned "->" into "→"
_TOLERANCE_MARKS = ("±", "+/-", "+-", ":")
# Weights read from elsewhere (GIFT's 33.33333 %) still count as the template's equal shares.
_WEIGHT_SLACK = 0.01


def _normalise(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.casefold()).strip("_")


# --- reading -----------------------------------------------------------------------------------


def _file_error(result: ParseResult, message: str) -> ParseResult:
    result.errors.append(ParseError(0, message))
    return result


def parse_xlsx(data: bytes) -> ParseResult:
    """Read the "Soal" sheet (else the first sheet) of an XLSX file: questions in row order, each
    with `line` = its row number, and every problem found (the file is read to the end)."""
    result = ParseResult()
    if len(data) > MAX_FILE_BYTES:
        return _file_error(
            result,
            f"Berkas terlalu besar ({len(data) / 1024 / 1024:.1f} MB); "
            f"maksimal {MAX_FILE_BYTES // 1024 // 1024} MB. Bagi soal menjadi beberapa berkas.",
        )
    if not data.startswith(b"PK\x03\x04"):
        hint = (
            "Excel 97-2003 (.xls) tidak didukung; "
            if data.startswith(b"\xd0\xcf\x11\xe0")
            else "Berkas ini bukan lembar kerja Excel; "
        )
        return _file_error(result, hint + "simpan ulang sebagai .xlsx (Excel 2007 ke atas).")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except _XLSX_ERRORS as exc:
        return _file_error(result, f"Berkas XLSX rusak atau bukan lembar kerja Excel: {exc}")
    if unpacked > MAX_UNPACKED_BYTES:
        return _file_error(
            result, "Isi berkas XLSX terlalu besar; bagi soal menjadi beberapa berkas."
        )
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except _XLSX_ERRORS as exc:
        return _file_error(result, f"Berkas XLSX rusak atau bukan lembar kerja Excel: {exc}")
    try:
        sheets = book.worksheets
        if not sheets:
            return _file_error(result, "Berkas XLSX tidak berisi lembar kerja.")
        sheet = next(
            (s for s in sheets if s.title.strip().casefold() in ("soal", "questions")), sheets[0]
        )
        _read_sheet(sheet.iter_rows(values_only=True), sheet.title, result)
    except _XLSX_ERRORS as exc:
        _file_error(result, f"Berkas XLSX rusak; pembacaan berhenti di tengah jalan: {exc}")
    finally:
        book.close()
    return result


@dataclass(slots=True)
class _Header:
    row: int
    columns: dict[str, int] = field(default_factory=dict)
    choices: list[tuple[str, int]] = field(default_factory=list)  # (letter, index), A first


def _read_header(cells: list[str], row: int, result: ParseResult) -> _Header | None:
    header = _Header(row)
    before = len(result.errors)
    seen: dict[str, str] = {}
    for index, raw in enumerate(cells):
        name = _normalise(raw)
        if not name:
            continue
        if m := _CHOICE_HEADER.fullmatch(name):
            key = "pilihan_" + m[1]
        elif name in _ALIASES:
            key = _ALIASES[name]
        else:
            continue  # notes and other columns of the admin's own
        if key in seen:
            result.error(
                row,
                _("kolom '%(raw)s' sama dengan kolom '%(value)s'; hapus salah satu.")
                % {"raw": raw, "value": seen[key]},
            )
            continue
        seen[key] = raw
        if key.startswith("pilihan_"):
            header.choices.append((key[-1].upper(), index))
        else:
            header.columns[key] = index
    missing = [key for key in _REQUIRED if key not in header.columns]
    if missing:
        names = ", ".join(f"'{key}'" for key in missing)
        result.error(
            row,
            _(
                "kolom %(names)s tidak ditemukan di baris judul kolom. Pakai templat dari halaman impor; baris judul berisi antara lain: kategori, tipe, judul, soal, poin, jawaban_benar, pilihan_a … pilihan_f, umpan_balik."
            )
            % {"names": names},
        )
    header.choices.sort()
    return None if len(result.errors) > before else header


def _read_sheet(rows: Iterator[Sequence[Any]], title: str, result: ParseResult) -> None:
    header: _Header | None = None
    count = 0
    for number, values in enumerate(rows, start=1):
        cells = [cell_text(v).replace("\r\n", "\n").replace("\r", "\n") for v in values]
        if not any(cells):
            continue
        if header is None:
            header = _read_header(cells, number, result)
            if header is None:
                return
            continue
        count += 1
        if count > MAX_QUESTIONS:
            _file_error(
                result,
                f"Lembar '{title}' berisi lebih dari {MAX_QUESTIONS} soal; "
                "bagi soal menjadi beberapa berkas.",
            )
            return
        question = _RowReader(header, cells, number, result).read()
        if question is not None:
            result.questions.append(question)
    if header is None:
        _file_error(result, f"Lembar '{title}' kosong; isi soal mulai baris kedua templat.")
    elif count == 0:
        _file_error(result, f"Lembar '{title}' belum berisi soal di bawah baris judul kolom.")


class _RowReader:
    """One question row; every problem goes to `result`, and the row is dropped if any."""

    def __init__(self, header: _Header, cells: list[str], row: int, result: ParseResult) -> None:
        self.header = header
        self.cells = cells
        self.row = row
        self.result = result
        self.failed = False

    def error(self, message: str) -> None:
        self.failed = True
        self.result.error(self.row, message)

    def cell(self, key: str) -> str:
        index = self.header.columns.get(key)
        if index is None or index >= len(self.cells):
            return ""
        return self.cells[index]

    def read(self) -> Question | None:
        type_text = self.cell("tipe")
        kind = _TYPES.get(_normalise(type_text))
        if not type_text:
            self.error("kolom tipe kosong; isi misalnya pg, pg_kompleks, bs, isian, angka, ….")
        elif kind is None:
            self.error(
                f"tipe '{type_text}' tidak dikenal; pakai pg, pg_kompleks, bs, isian, angka, "
                "menjodohkan atau esai (lihat lembar Petunjuk)."
            )
        text = self.cell("soal")
        if not text:
            self.error("kolom soal (teks pertanyaan) kosong.")
        points = self._points()
        if kind is None:
            return None
        question = Question(
            kind,
            text,
            self.cell("judul"),
            "plain",
            points,
            general_feedback=self.cell("umpan_balik"),
            category=self.cell("kategori"),
            line=self.row,
        )
        question = self._typed(question)
        return None if self.failed else question

    def _points(self) -> float:
        raw = self.cell("poin")
        if not raw:
            return 1.0
        value = parse_number(raw)
        points = float(value) if value is not None else math.nan
        if not (math.isfinite(points) and points > 0):
            self.error(f"poin '{raw}' tidak valid; tulis angka lebih dari 0, mis. 1 atau 2,5.")
            return 1.0
        return points

    def _choices(self) -> list[tuple[str, str]]:
        """The filled choice columns as (letter, text), A first."""
        out: list[tuple[str, str]] = []
        for letter, index in self.header.choices:
            if index < len(self.cells) and self.cells[index]:
                out.append((letter, self.cells[index]))
        return out

    def _typed(self, q: Question) -> Question:
        key = self.cell("jawaban_benar")
        choices = self._choices()
        name = _TYPE_NAMES[q.type][0]
        if q.type in (QuestionType.MATCHING, QuestionType.ESSAY) and key:
            self.error(f"tipe {name} tidak memakai kolom jawaban_benar; kosongkan kolom itu.")
        if choices and q.type not in (
            QuestionType.SINGLE,
            QuestionType.MULTIPLE,
            QuestionType.MATCHING,
        ):
            letters = ", ".join(letter for letter, _ in choices)
            self.error(
                f"tipe {name} tidak memakai kolom pilihan, tetapi pilihan {letters} diisi; "
                "kosongkan atau periksa tipe soal."
            )
        if q.type not in (QuestionType.MATCHING, QuestionType.ESSAY) and not key:
            self.error(f"kolom jawaban_benar kosong; tipe {name} memerlukan kunci jawaban.")
            return q
        match q.type:
            case QuestionType.SINGLE | QuestionType.MULTIPLE:
                return self._choice_question(q, key, choices)
            case QuestionType.TRUEFALSE:
                truth = _TRUEFALSE.get(key.strip().casefold())
                if truth is None:
                    self.error(f"jawaban_benar '{key}' untuk tipe bs harus Benar atau Salah.")
                return replace(q, truefalse_key=truth)
            case QuestionType.SHORT:
                accepted = [a.strip() for a in key.split("|") if a.strip()]
                if not accepted:
                    self.error("jawaban_benar tidak berisi jawaban; pisahkan jawaban dengan '|'.")
                return replace(q, answers=tuple(Choice(a, 100.0) for a in accepted))
            case QuestionType.NUMERIC:
                numbers = [self._number_spec(s.strip()) for s in key.split("|") if s.strip()]
                if not numbers:
                    self.error("jawaban_benar tidak berisi angka.")
                return replace(q, numeric=tuple(n for n in numbers if n is not None))
            case QuestionType.MATCHING:
                return self._matching(q, choices)
            case _:
                return q

    def _choice_question(self, q: Question, key: str, choices: list[tuple[str, str]]) -> Question:
        filled = [letter for letter, _ in choices]
        if len(choices) < 2:
            self.error(f"tipe {_TYPE_NAMES[q.type][0]} memerlukan minimal 2 pilihan terisi.")
        picked: list[str] = []
        for token in _KEY_SPLIT.split(key.strip()):
            if not token:
                continue
            letter = token.upper()
            if len(letter) != 1 or letter not in _LETTERS:
                self.error(
                    f"jawaban_benar '{key}' tidak dikenal; tulis huruf pilihan, mis. 'B' "
                    "(pg) atau 'A,C' (pg_kompleks)."
                )
                return q
            if letter not in filled:
                self.error(f"jawaban_benar menunjuk pilihan {letter}, tetapi pilihan itu kosong.")
            elif letter not in picked:
                picked.append(letter)
        if q.type is QuestionType.SINGLE and len(picked) > 1:
            self.error(
                f"tipe pg hanya boleh satu jawaban benar (ada {', '.join(picked)}); "
                "untuk beberapa jawaban benar pakai tipe pg_kompleks."
            )
        if not picked and not self.failed:
            self.error("jawaban_benar tidak berisi huruf pilihan; tulis mis. 'B' atau 'A,C'.")
        if self.failed:
            return q
        if q.type is QuestionType.SINGLE:
            weights = {letter: 100.0 if letter in picked else 0.0 for letter in filled}
        else:
            wrong = len(filled) - len(picked)
            weights = {
                letter: 100.0 / len(picked) if letter in picked else -100.0 / wrong
                for letter in filled
            }
        return replace(q, choices=tuple(Choice(text, weights[letter]) for letter, text in choices))

    def _matching(self, q: Question, choices: list[tuple[str, str]]) -> Question:
        pairs: list[MatchPair] = []
        for letter, text in choices:
            left, arrow, right = _ARROW_RE.sub(_ARROW, text, count=1).partition(_ARROW)
            if not arrow:
                self.error(
                    f"pilihan {letter} harus berbentuk 'kiri -> kanan' untuk tipe menjodohkan."
                )
                continue
            if not right.strip():
                self.error(f"pilihan {letter}: pasangan tanpa jawaban di kanan '->'.")
                continue
            pairs.append(MatchPair(left.strip(), right.strip()))
        if len([p for p in pairs if p.left]) < 2 and not self.failed:
            self.error("tipe menjodohkan memerlukan minimal 2 pasangan 'kiri -> kanan'.")
        return replace(q, pairs=tuple(pairs))

    def _number_spec(self, spec: str) -> NumericAnswer | None:
        """`value`, `value±tolerance` (also `+/-`, `+-`, `:`) or `low..high`."""
        if (dots := spec.find("..", 1)) > 0:
            low, high = self._number(spec[:dots], spec), self._number(spec[dots + 2 :], spec)
            if low is None or high is None:
                return None
            if low > high:
                self.error(f"rentang '{spec}': batas bawah lebih besar dari batas atas.")
                return None
            return NumericAnswer.between(low, high)
        value_text, tolerance_text = spec, ""
        for mark in _TOLERANCE_MARKS:
            if mark in spec:
                value_text, _, tolerance_text = spec.partition(mark)
                break
        value = self._number(value_text, spec)
        tolerance = self._number(tolerance_text, spec) if tolerance_text.strip() else 0.0
        if value is None or tolerance is None:
            return None
        if tolerance < 0:
            self.error(f"toleransi pada '{spec}' tidak boleh negatif.")
            return None
        return NumericAnswer(value, tolerance)

    def _number(self, text: str, spec: str) -> float | None:
        parsed = parse_number(text)
        value = float(parsed) if parsed is not None else math.nan
        if not math.isfinite(value):
            self.error(
                f"'{text.strip()}' di jawaban_benar '{spec}' bukan angka; tulis mis. 9,8 atau "
                "9,8±0,1 atau 9,7..9,9."
            )
            return None
        return value


# --- writing -----------------------------------------------------------------------------------


def _number_text(x: float) -> str:
    """Exact (repr) digits with a decimal comma, as Indonesian admins write them."""
    return repr(float(x)).removesuffix(".0").replace(".", ",")


def _points_cell(points: float) -> int | float | str:
    """A number cell, unless Excel's 15 significant digits would change it (then exact text)."""
    if float(points).is_integer() and abs(points) < 2**53:
        return int(points)
    if float(f"{points:.15g}") == points:
        return float(points)
    return _number_text(points)


def _row_for(q: Question, name: str) -> tuple[str, list[str]]:
    """The `jawaban_benar` cell and the choice cells of one question."""
    match q.type:
        case QuestionType.SINGLE:
            right = [i for i, c in enumerate(q.choices) if c.weight == 100]
            if len(right) != 1 or any(c.weight not in (0, 100) for c in q.choices):
                raise ValidationFailed(
                    _(
                        "%(name)s: tipe pg di XLSX perlu tepat satu jawaban benar tanpa bobot parsial."
                    )
                    % {"name": name}
                )
            return _LETTERS[right[0]], _choice_texts(q, name)
        case QuestionType.MULTIPLE:
            right = [i for i, c in enumerate(q.choices) if c.weight > 0]
            wrong = len(q.choices) - len(right)
            if not right or any(
                abs(c.weight - (100 / len(right) if i in right else -100 / wrong)) > _WEIGHT_SLACK
                for i, c in enumerate(q.choices)
            ):
                raise ValidationFailed(
                    _(
                        "%(name)s: bobot pilihan tidak dapat ditulis di XLSX (jawaban benar harus berbagi 100%% sama rata, jawaban salah berbagi -100%% sama rata)."
                    )
                    % {"name": name}
                )
            return ",".join(_LETTERS[i] for i in right), _choice_texts(q, name)
        case QuestionType.TRUEFALSE:
            if q.truefalse_key is None:
                raise ValidationFailed(
                    _("%(name)s: soal benar/salah tanpa kunci jawaban.") % {"name": name}
                )
            return ("Benar" if q.truefalse_key else "Salah"), []
        case QuestionType.SHORT:
            if not q.answers or any(a.weight != 100 for a in q.answers):
                raise ValidationFailed(
                    _(
                        "%(name)s: di XLSX setiap jawaban isian bernilai 100%% (tanpa bobot parsial)."
                    )
                    % {"name": name}
                )
            if any("|" in a.text or not a.text.strip() for a in q.answers):
                raise ValidationFailed(
                    _("%(name)s: jawaban isian tidak boleh kosong atau memuat '|' di XLSX.")
                    % {"name": name}
                )
            return "|".join(a.text.strip() for a in q.answers), []
        case QuestionType.NUMERIC:
            if not q.numeric or any(n.weight != 100 for n in q.numeric):
                raise ValidationFailed(
                    _(
                        "%(name)s: di XLSX setiap jawaban angka bernilai 100%% (tanpa bobot parsial)."
                    )
                    % {"name": name}
                )
            specs: list[str] = []
            for n in q.numeric:
                if n.interval is not None:
                    specs.append(f"{_number_text(n.interval[0])}..{_number_text(n.interval[1])}")
                elif n.tolerance:
                    specs.append(f"{_number_text(n.value)}±{_number_text(n.tolerance)}")
                else:
                    specs.append(_number_text(n.value))
            return "|".join(specs), []
        case QuestionType.MATCHING:
            cells: list[str] = []
            for p in q.pairs:
                if _ARROW_RE.search(p.left) or not p.right.strip():
                    raise ValidationFailed(
                        _(
                            "%(name)s: pasangan menjodohkan '%(value)s' tidak dapat ditulis di XLSX ('->' di sisi kiri atau sisi kanan kosong)."
                        )
                        % {"name": name, "value": p.left[:40]}
                    )
                cells.append(f"{p.left.strip()} {_ARROW} {p.right.strip()}".strip())
            return "", cells
        case QuestionType.ESSAY:
            return "", []
        case _:
            raise ValidationFailed(
                _("%(name)s: tipe %(type)s tidak dapat ditulis di XLSX.")
                % {"name": name, "type": q.type}
            )


def _choice_texts(q: Question, name: str) -> list[str]:
    if len(q.choices) > len(_LETTERS):
        raise ValidationFailed(
            _("%(name)s: XLSX menampung paling banyak 26 pilihan.") % {"name": name}
        )
    if any(not c.text.strip() for c in q.choices):
        raise ValidationFailed(
            _("%(name)s: pilihan kosong tidak dapat ditulis di XLSX.") % {"name": name}
        )
    return [c.text.strip() for c in q.choices]


def _header(choice_count: int) -> list[str]:
    letters = _LETTERS[: max(TEMPLATE_CHOICES, choice_count)].lower()
    return [
        "kategori",
        "tipe",
        "judul",
        "soal",
        "poin",
        "jawaban_benar",
        *(f"pilihan_{letter}" for letter in letters),
        "umpan_balik",
    ]


def _question_rows(questions: Iterable[Question]) -> tuple[list[str], list[list[Any]]]:
    rows: list[tuple[Question, str, list[str]]] = []
    for number, q in enumerate(questions, start=1):
        name = f"Soal {number} ({q.title or q.text[:40]})"
        if not q.text.strip():
            raise ValidationFailed(_("%(name)s: teks soal kosong.") % {"name": name})
        key, cells = _row_for(q, name)
        if not (math.isfinite(q.points) and q.points > 0):
            raise ValidationFailed(
                _("%(name)s: poin harus lebih dari 0 untuk XLSX.") % {"name": name}
            )
        rows.append((q, key, cells))
    if len(rows) > MAX_QUESTIONS:
        raise ValidationFailed(
            _("XLSX menampung paling banyak %(MAX_QUESTIONS)s soal per berkas (ada %(n)s).")
            % {"MAX_QUESTIONS": MAX_QUESTIONS, "n": len(rows)}
        )
    width = max((len(cells) for _, _, cells in rows), default=0)
    header = _header(width)
    slots = len(header) - 7
    out: list[list[Any]] = []
    for q, key, cells in rows:
        out.append(
            [
                q.category,
                _TYPE_NAMES[q.type][0],
                q.title,
                q.text.strip(),
                _points_cell(q.points),
                key,
                *cells,
                *[""] * (slots - len(cells)),
                q.general_feedback,
            ]
        )
    return header, out


_HEAD_FONT = Font(bold=True, color="FFFFFF")
_HEAD_FILL = PatternFill("solid", fgColor="305496")
_WRAP = Alignment(wrap_text=True, vertical="top")


def _put(sheet: Worksheet, row: int, column: int, value: Any, where: str) -> None:
    """Write one cell as a value, never as a formula (a text may start with '=')."""
    if isinstance(value, str):
        if len(value) > MAX_CELL_CHARS:
            raise ValidationFailed(
                _("%(where)s: teks lebih dari %(MAX_CELL_CHARS)s karakter.")
                % {"where": where, "MAX_CELL_CHARS": MAX_CELL_CHARS}
            )
        if ILLEGAL_CHARACTERS_RE.search(value):
            raise ValidationFailed(
                _("%(where)s: teks memuat karakter kontrol yang tidak didukung.") % {"where": where}
            )
        if not value:
            return
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    cell.alignment = _WRAP


def _write_questions(sheet: Worksheet, header: list[str], rows: list[list[Any]]) -> None:
    sheet.title = QUESTION_SHEET
    for column, name in enumerate(header, start=1):
        _put(sheet, 1, column, name, "Judul kolom")
        sheet.cell(row=1, column=column).font = _HEAD_FONT
        sheet.cell(row=1, column=column).fill = _HEAD_FILL
    for number, values in enumerate(rows, start=2):
        for column, value in enumerate(values, start=1):
            _put(sheet, number, column, value, f"Soal {number - 1}")
    widths = {"kategori": 16, "tipe": 14, "judul": 22, "soal": 50, "poin": 7}
    for column, name in enumerate(header, start=1):
        width = widths.get(name, 24 if name != "umpan_balik" else 40)
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A2"


def _help_rows() -> list[tuple[str, ...]]:
    return [
        ("PETUNJUK PENGISIAN BANK SOAL",),
        (
            "Isi lembar 'Soal': satu baris = satu soal. Baris pertama adalah judul kolom, "
            "jangan diubah. Baris kosong dilewati. Hapus baris contoh sebelum mengunggah, "
            "kecuali ingin ikut diimpor.",
        ),
        (
            "Bila ada satu kesalahan, tidak ada soal yang diimpor: perbaiki baris yang disebut "
            "di pesan kesalahan, lalu unggah ulang. Maksimal "
            f"{MAX_QUESTIONS} soal dan {MAX_FILE_BYTES // 1024 // 1024} MB per berkas.",
        ),
        (
            "Nama kolom tidak membedakan huruf besar/kecil, dan nama bahasa Inggris juga "
            "dikenali (category, type, title, question, points, answer, choice_a, feedback). "
            "Kolom lain yang Anda tambahkan (mis. catatan) diabaikan.",
        ),
        (),
        ("Kolom", "Wajib?", "Penjelasan", "Contoh"),
        (
            "kategori",
            "Tidak",
            "Nama kategori di bank soal. Soal dengan kategori sama dikelompokkan bersama.",
            "Geografi",
        ),
        (
            "tipe",
            "Ya",
            "Jenis soal: pg, pg_kompleks, bs, isian, angka, menjodohkan, atau esai "
            "(lihat tabel jenis soal di bawah). Nama bahasa Inggris juga boleh.",
            "pg",
        ),
        ("judul", "Tidak", "Nama singkat soal, untuk mencarinya di bank soal.", "Ibu kota"),
        (
            "soal",
            "Ya",
            "Teks pertanyaan. Untuk pindah baris di dalam sel tekan Alt+Enter. "
            "Teks ditampilkan apa adanya (tanpa format HTML).",
            "Ibu kota Indonesia adalah …",
        ),
        (
            "poin",
            "Tidak",
            "Nilai maksimal soal, angka lebih dari 0. Kosong = 1. Koma desimal boleh.",
            "2,5",
        ),
        (
            "jawaban_benar",
            "Ya (kolomnya)",
            "Kunci jawaban; isinya tergantung jenis soal (lihat tabel di bawah). "
            "Dikosongkan untuk menjodohkan dan esai.",
            "B",
        ),
        (
            "pilihan_a … pilihan_f",
            "Tergantung jenis",
            "Teks pilihan jawaban untuk pg dan pg_kompleks; pasangan 'kiri -> kanan' untuk "
            "menjodohkan. Kosongkan untuk jenis lain. Perlu lebih dari 6? Tambah kolom "
            "pilihan_g, pilihan_h, dst.",
            "Jakarta",
        ),
        (
            "umpan_balik",
            "Tidak",
            "Umpan balik umum (pembahasan) yang ditampilkan kepada peserta setelah menjawab.",
            "Jakarta adalah ibu kota sejak 1945.",
        ),
        (),
        ("Jenis soal (tipe)", "Nama lain", "Isi jawaban_benar", "Isi kolom pilihan"),
        (
            "pg",
            "single, pilihan ganda",
            "Satu huruf pilihan yang benar, mis. B.",
            "Minimal 2 pilihan (pilihan_a, pilihan_b, …).",
        ),
        (
            "pg_kompleks",
            "multiple, pilihan ganda kompleks",
            "Semua huruf yang benar dipisah koma, mis. A,C. Jawaban benar berbagi nilai "
            "sama rata; setiap pilihan salah yang dicentang mengurangi nilai (jumlah pengurangan "
            "semua pilihan salah = 100%), jadi mencentang semua pilihan tidak mendapat nilai.",
            "Minimal 2 pilihan.",
        ),
        (
            "bs",
            "truefalse, benar salah",
            "Benar atau Salah (boleh juga B/S atau True/False).",
            "Kosongkan.",
        ),
        (
            "isian",
            "short, isian singkat",
            "Jawaban yang diterima, dipisah tanda |, mis. Soekarno|Sukarno. Huruf besar/kecil "
            "tidak dibedakan. Tanda * berarti 'teks apa saja', mis. *karno.",
            "Kosongkan.",
        ),
        (
            "angka",
            "numeric, numerik",
            "Angka yang benar: 9,8 (tepat), 9,8±0,1 atau 9,8+-0,1 atau 9,8:0,1 (dengan "
            "toleransi), atau 9,7..9,9 (rentang). Koma atau titik desimal boleh. Beberapa "
            "jawaban benar dipisah tanda |.",
            "Kosongkan.",
        ),
        (
            "menjodohkan",
            "matching, jodohkan",
            "Kosongkan.",
            "Setiap kolom pilihan berisi satu pasangan 'kiri -> kanan', mis. "
            "Jawa Barat -> Bandung. Minimal 2 pasangan. '-> Semarang' (kiri kosong) menambah "
            "jawaban pengecoh.",
        ),
        (
            "esai",
            "essay, uraian",
            "Kosongkan (dinilai manual oleh pengajar).",
            "Kosongkan.",
        ),
    ]


def _write_help(sheet: Worksheet) -> None:
    sheet.title = HELP_SHEET
    for number, values in enumerate(_help_rows(), start=1):
        for column, value in enumerate(values, start=1):
            _put(sheet, number, column, value, HELP_SHEET)
        if len(values) == 4 and values[0] in ("Kolom", "Jenis soal (tipe)"):
            for column in range(1, 5):
                sheet.cell(row=number, column=column).font = _HEAD_FONT
                sheet.cell(row=number, column=column).fill = _HEAD_FILL
    sheet["A1"].font = Font(bold=True, size=14)
    for number in (2, 3, 4):
        sheet.merge_cells(start_row=number, start_column=1, end_row=number, end_column=4)
        sheet.row_dimensions[number].height = 45
    for letter, width in zip("ABCD", (22, 22, 70, 45), strict=True):
        sheet.column_dimensions[letter].width = width


def _workbook(questions: Iterable[Question]) -> bytes:
    header, rows = _question_rows(questions)
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    _write_questions(sheet, header, rows)
    _write_help(book.create_sheet(HELP_SHEET))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_xlsx(questions: Iterable[Question]) -> bytes:
    """Write questions in the template's layout (with the "Petunjuk" sheet).

    Feedback other than the general one and the text format are left out (a re-import gives
    plain text); a question the layout cannot hold (a description, partial weights, weights
    other than the template's rule, a `|` in a short answer, `->` on a matching item's left,
    points not above 0) raises `ValidationFailed` naming it.
    """
    return _workbook(questions)


_EXAMPLES = (
    Question(
        QuestionType.SINGLE,
        "Ibu kota Indonesia adalah …",
        "Ibu kota",
        "plain",
        choices=(
            Choice("Bandung"),
            Choice("Jakarta", 100.0),
            Choice("Surabaya"),
            Choice("Medan"),
        ),
        general_feedback="Jakarta menjadi ibu kota sejak proklamasi 1945.",
        category="Contoh",
    ),
    Question(
        QuestionType.MULTIPLE,
        "Manakah yang termasuk bilangan prima? (pilih semua yang benar)",
        "Bilangan prima",
        "plain",
        2.0,
        choices=(Choice("2", 50.0), Choice("4", -50.0), Choice("7", 50.0), Choice("9", -50.0)),
        category="Contoh",
    ),
    Question(
        QuestionType.TRUEFALSE,
        "Matahari terbit dari arah timur.",
        "Arah matahari terbit",
        "plain",
        truefalse_key=True,
        category="Contoh",
    ),
    Question(
        QuestionType.SHORT,
        "Siapa presiden pertama Republik Indonesia?",
        "Presiden pertama",
        "plain",
        answers=(
            Choice("Soekarno", 100.0),
            Choice("Sukarno", 100.0),
            Choice("Ir* Soekarno", 100.0),
        ),
        category="Contoh",
    ),
    Question(
        QuestionType.NUMERIC,
        "Berapa percepatan gravitasi di permukaan bumi dalam m/s²?",
        "Gravitasi bumi",
        "plain",
        numeric=(NumericAnswer(9.8, 0.1),),
        general_feedback="Nilai yang biasa dipakai adalah 9,8 m/s².",
        category="Contoh",
    ),
    Question(
        QuestionType.MATCHING,
        "Pasangkan provinsi dengan ibu kotanya.",
        "Ibu kota provinsi",
        "plain",
        3.0,
        pairs=(
            MatchPair("Jawa Barat", "Bandung"),
            MatchPair("Jawa Timur", "Surabaya"),
            MatchPair("Sumatera Utara", "Medan"),
            MatchPair("", "Semarang"),
        ),
        category="Contoh",
    ),
    Question(
        QuestionType.ESSAY,
        "Jelaskan dampak pemanasan global bagi wilayah pesisir.",
        "Pemanasan global",
        "plain",
        5.0,
        general_feedback=(
            "Jawaban yang baik menyebut kenaikan muka air laut, abrasi, dan intrusi air laut."
        ),
        category="Contoh",
    ),
)


def build_template() -> bytes:
    """The workbook admins download: "Soal" with one example per type, and "Petunjuk"."""
    return _workbook(_EXAMPLES)
