"""XLSX question banks: the template parses to one question of every type, export -> parse gives
the questions back, header and type names work in Indonesian and English, numbers take a
decimal comma, and every broken row or file gives errors on the right row while parsing goes on.
"""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from app.core.errors import ValidationFailed
from app.quizzes import xlsx
from app.quizzes.questions import Choice, MatchPair, NumericAnswer, Question, QuestionType
from app.quizzes.xlsx import build_template, export_xlsx, parse_xlsx

HEADER = [
    "kategori",
    "tipe",
    "judul",
    "soal",
    "poin",
    "jawaban_benar",
    "pilihan_a",
    "pilihan_b",
    "pilihan_c",
    "pilihan_d",
    "umpan_balik",
]


def book(*sheets: tuple[str, list[list[Any]]]) -> bytes:
    """A workbook with the given sheets, rows written from row 1 (None = an empty cell)."""
    wb = Workbook()
    first = wb.active
    assert first is not None
    wb.remove(first)
    for title, rows in sheets:
        sheet = wb.create_sheet(title)
        for number, row in enumerate(rows, start=1):
            for column, value in enumerate(row, start=1):
                if value is not None:
                    sheet.cell(row=number, column=column, value=value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def soal(*rows: list[Any], header: list[str] = HEADER) -> bytes:
    return book(("Soal", [header, *rows]))


def row(
    tipe: Any,
    text: Any = "Teks soal",
    key: Any = None,
    *choices: Any,
    points: Any = None,
    feedback: Any = None,
    category: Any = "Uji",
    title: Any = None,
) -> list[Any]:
    cells = [*choices, *[None] * (4 - len(choices))]
    return [category, tipe, title, text, points, key, *cells, feedback]


def lines(data: bytes) -> list[int]:
    return [e.line for e in parse_xlsx(data).errors]


# --- template -------------------------------------------------------------------------------


def test_template_parses_to_one_question_of_every_type() -> None:
    result = parse_xlsx(build_template())
    assert result.errors == []
    assert Counter(q.type for q in result.questions) == Counter(
        t for t in QuestionType if t is not QuestionType.DESCRIPTION
    )
    assert [q.line for q in result.questions] == list(range(2, 9))
    assert all(q.text_format == "plain" and q.text and q.category for q in result.questions)
    by_type = {q.type: q for q in result.questions}
    assert [c.weight for c in by_type[QuestionType.SINGLE].choices].count(100) == 1
    assert sum(c.weight for c in by_type[QuestionType.MULTIPLE].choices if c.weight > 0) == 100
    assert by_type[QuestionType.TRUEFALSE].truefalse_key is True
    assert by_type[QuestionType.NUMERIC].numeric == (NumericAnswer(9.8, 0.1),)
    assert MatchPair("", "Semarang") in by_type[QuestionType.MATCHING].pairs


def test_template_sheets_header_and_instructions() -> None:
    wb = load_workbook(io.BytesIO(build_template()), read_only=True)
    assert wb.sheetnames == ["Soal", "Petunjuk"]
    header = next(wb["Soal"].iter_rows(values_only=True))
    assert list(header) == [
        "kategori",
        "tipe",
        "judul",
        "soal",
        "poin",
        "jawaban_benar",
        *(f"pilihan_{c}" for c in "abcdef"),
        "umpan_balik",
    ]
    help_text = "\n".join(
        str(v) for r in wb["Petunjuk"].iter_rows(values_only=True) for v in r if v
    )
    for word in [*map(str, header[:6]), "pilihan_a", "umpan_balik"]:
        assert word in help_text
    for name in ("pg", "pg_kompleks", "bs", "isian", "angka", "menjodohkan", "esai"):
        assert f"\n{name}\n" in help_text
    assert "Benar atau Salah" in help_text and "9,8±0,1" in help_text and "|" in help_text
    wb.close()


# --- round trip -----------------------------------------------------------------------------

EVERY_TYPE = [
    Question(
        QuestionType.SINGLE,
        "= 2 + 2? (a text that starts like a formula)",
        "Rumus",
        "plain",
        2.5,
        choices=tuple(Choice(t, 100.0 if t == "4" else 0.0) for t in "1234567"),
        general_feedback="Dua tambah dua.",
        category="Matematika/Dasar",
    ),
    Question(
        QuestionType.MULTIPLE,
        "Pilih bilangan genap.\nBoleh lebih dari satu.",
        "Genap",
        "plain",
        choices=(
            Choice("2", 100 / 3),
            Choice("3", -50.0),
            Choice("4", 100 / 3),
            Choice("5", -50.0),
            Choice("6", 100 / 3),
        ),
        category="Matematika/Dasar",
    ),
    Question(
        QuestionType.MULTIPLE,
        "Semua benar",
        text_format="plain",
        choices=(Choice("a", 50.0), Choice("b", 50.0)),
    ),
    Question(QuestionType.TRUEFALSE, "Air itu basah.", text_format="plain", truefalse_key=True),
    Question(QuestionType.TRUEFALSE, "Api itu dingin.", text_format="plain", truefalse_key=False),
    Question(
        QuestionType.SHORT,
        "Nama planet terbesar?",
        text_format="plain",
        answers=(Choice("Jupiter", 100.0), Choice("Yupiter", 100.0), Choice("Jup*", 100.0)),
    ),
    Question(
        QuestionType.NUMERIC,
        "Angka-angka",
        text_format="plain",
        points=1000.0,
        numeric=(
            NumericAnswer(3.14159, 0.001),
            NumericAnswer(-2.5),
            NumericAnswer.between(-7.25, -1.0),
            NumericAnswer(1e-07, 5e-09),
            NumericAnswer(1.5e20),
        ),
    ),
    Question(
        QuestionType.MATCHING,
        "Jodohkan.",
        text_format="plain",
        pairs=(
            MatchPair("H2O", "air"),
            MatchPair("NaCl", "garam -> dapur"),
            MatchPair("", "gula"),
        ),
        category="Kimia",
    ),
    Question(
        QuestionType.ESSAY,
        "Tulis esai.",
        "Esai",
        "plain",
        10.0,
        general_feedback="Dinilai manual.",
        category="Kimia",
    ),
]


def test_export_then_parse_gives_the_questions_back() -> None:
    data = export_xlsx(EVERY_TYPE)
    result = parse_xlsx(data)
    assert result.errors == []
    assert result.questions == EVERY_TYPE
    assert [q.line for q in result.questions] == list(range(2, 2 + len(EVERY_TYPE)))
    # Seven choices need a pilihan_g column; the layout otherwise matches the template.
    header = next(load_workbook(io.BytesIO(data), read_only=True)["Soal"].iter_rows())
    assert [c.value for c in header][-3:] == ["pilihan_f", "pilihan_g", "umpan_balik"]


def test_export_leaves_out_what_the_template_cannot_carry() -> None:
    q = Question(
        QuestionType.TRUEFALSE,
        "<b>Tebal</b>",
        text_format="html",
        truefalse_key=True,
        feedback_true="Ya",
        feedback_false="Bukan",
    )
    single = Question(
        QuestionType.SINGLE,
        "Pilih",
        choices=(Choice("a", 100.0, "bagus"), Choice("b", 0.0, "bukan")),
    )
    (tf, sc) = parse_xlsx(export_xlsx([q, single])).questions
    assert tf == Question(
        QuestionType.TRUEFALSE, "<b>Tebal</b>", text_format="plain", truefalse_key=True
    )
    assert [(c.text, c.weight, c.feedback) for c in sc.choices] == [("a", 100, ""), ("b", 0, "")]


def test_export_accepts_gift_style_thirds() -> None:
    q = Question(
        QuestionType.MULTIPLE,
        "Tiga benar",
        choices=(*(Choice(t, 33.33333) for t in "abc"), Choice("d", -100.0)),
    )
    (back,) = parse_xlsx(export_xlsx([q])).questions
    assert [c.weight for c in back.choices] == [100 / 3] * 3 + [-100.0]


@pytest.mark.parametrize(
    ("question", "message"),
    [
        (Question(QuestionType.DESCRIPTION, "Teks saja", points=0.0), "tidak dapat ditulis"),
        (
            Question(QuestionType.SINGLE, "S", choices=(Choice("a", 50.0), Choice("b", 100.0))),
            "tepat satu jawaban benar",
        ),
        (
            Question(QuestionType.SINGLE, "S", choices=(Choice("a", 0.0), Choice("b", 0.0))),
            "tepat satu jawaban benar",
        ),
        (
            Question(
                QuestionType.MULTIPLE,
                "M",
                choices=(Choice("a", 50.0), Choice("b", 50.0), Choice("c", 0.0)),
            ),
            "bobot pilihan",
        ),
        (
            Question(QuestionType.SHORT, "S", answers=(Choice("a|b", 100.0),)),
            "'|'",
        ),
        (
            Question(QuestionType.SHORT, "S", answers=(Choice("a", 100.0), Choice("b", 50.0))),
            "100%",
        ),
        (
            Question(QuestionType.NUMERIC, "N", numeric=(NumericAnswer(1.0, weight=50.0),)),
            "100%",
        ),
        (
            Question(
                QuestionType.MATCHING, "M", pairs=(MatchPair("a -> b", "c"), MatchPair("d", "e"))
            ),
            "'->'",
        ),
        (Question(QuestionType.TRUEFALSE, "T"), "tanpa kunci"),
        (Question(QuestionType.ESSAY, "E", points=0.0), "poin"),
        (Question(QuestionType.ESSAY, "  "), "teks soal kosong"),
        (Question(QuestionType.ESSAY, "x" * 40000), "32767"),
        (Question(QuestionType.ESSAY, "bel\x07"), "karakter kontrol"),
    ],
)
def test_export_refuses_what_would_not_come_back(question: Question, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        export_xlsx([question])


texts = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30).map(str.strip)


@settings(max_examples=40, deadline=None)
@given(
    text=texts.filter(bool),
    title=texts,
    category=texts,
    feedback=texts,
    options=st.lists(texts.filter(bool), min_size=2, max_size=8),
    points=st.floats(min_value=0.01, max_value=1e6),
)
def test_any_texts_survive_the_round_trip(
    text: str, title: str, category: str, feedback: str, options: list[str], points: float
) -> None:
    q = Question(
        QuestionType.SINGLE,
        text,
        title,
        "plain",
        points,
        choices=tuple(Choice(o, 100.0 if i == 0 else 0.0) for i, o in enumerate(options)),
        general_feedback=feedback,
        category=category,
    )
    result = parse_xlsx(export_xlsx([q]))
    assert result.errors == []
    assert result.questions == [q]


# --- reading --------------------------------------------------------------------------------


def test_english_headers_and_type_names_read_like_the_indonesian_ones() -> None:
    english = [
        "Category",
        "TYPE",
        "Title",
        "Question",
        "Points",
        "Correct Answer",
        "Choice A",
        "option-b",
        "Choice_C",
        "Notes",  # unknown columns are ignored
        "Feedback",
    ]
    rows: list[list[Any]] = [
        ["K", "Single", "J", "Soal?", 2, "b", "x", "y", "z", "catatan", "fb"],
        ["K", "Multiple", "", "Soal?", None, "A; C", "x", "y", "z", None, None],
        ["K", "TrueFalse", "", "Soal?", None, "false", None, None, None, None, None],
        ["K", "short answer", "", "Soal?", None, "abc", None, None, None, None, None],
        ["K", "Numeric", "", "Soal?", None, "3.5", None, None, None, None, None],
        ["K", "MATCHING", "", "Soal?", None, None, "a -> 1", "b → 2", None, None, None],
        ["K", "Essay", "", "Soal?", None, None, None, None, None, None, None],
    ]
    indonesian: list[list[Any]] = [
        ["K", "pg", "J", "Soal?", 2, "B", "x", "y", "z", "fb"],
        ["K", "pg_kompleks", "", "Soal?", None, "A,C", "x", "y", "z", None],
        ["K", "bs", "", "Soal?", None, "Salah", None, None, None, None],
        ["K", "Isian Singkat", "", "Soal?", None, "abc", None, None, None, None],
        ["K", "angka", "", "Soal?", None, "3,5", None, None, None, None],
        ["K", "menjodohkan", "", "Soal?", None, None, "a -> 1", "b -> 2", None, None],
        ["K", "ESAI", "", "Soal?", None, None, None, None, None, None],
    ]
    header_id = [
        "KATEGORI",
        "Jenis",
        "Nama",
        "Pertanyaan",
        "Nilai",
        "Kunci Jawaban",
        "Pilihan A",
        "pilihan-b",
        "Opsi C",
        "Pembahasan",
    ]
    en, id_ = (
        parse_xlsx(soal(*rows, header=english)),
        parse_xlsx(soal(*indonesian, header=header_id)),
    )
    assert en.errors == [] and id_.errors == []
    assert en.questions == id_.questions
    assert [q.type for q in en.questions] == [t for t in QuestionType][:7]
    first = en.questions[0]
    assert (first.title, first.points, first.general_feedback) == ("J", 2.0, "fb")
    assert [c.weight for c in en.questions[1].choices] == [50.0, -100.0, 50.0]
    assert en.questions[2].truefalse_key is False


def test_decimal_comma_in_numbers_and_points() -> None:
    result = parse_xlsx(
        soal(
            row("angka", "a", "3,14±0,01", points="2,5"),
            row("angka", "b", "3,14:0,01 | 3,14+-0,01 | 3,14 +/- 0,01"),
            row("angka", "c", "1,5..2,5"),
            row("angka", "d", "-2,5..-1"),
            row("numeric", "e", 9.8, points=0.5),  # a number cell, as Excel stores it
            row("angka", "f", "1.234,5"),
            row("angka", "g", "−4,75"),
        )
    )
    assert result.errors == []
    a, b, c, d, e, f, g = result.questions
    assert a.numeric == (NumericAnswer(3.14, 0.01),) and a.points == 2.5
    assert b.numeric == (NumericAnswer(3.14, 0.01),) * 3
    assert c.numeric == (NumericAnswer.between(1.5, 2.5),)
    assert d.numeric[0].interval == (-2.5, -1.0)
    assert e.numeric == (NumericAnswer(9.8),) and e.points == 0.5
    assert f.numeric == (NumericAnswer(1234.5),)
    assert g.numeric == (NumericAnswer(-4.75),)


def test_key_spellings() -> None:
    result = parse_xlsx(
        soal(
            row("pg", "a", " c ", "x", "y", "z"),
            row("pg_kompleks", "b", "a, d", "w", "x", "y", "z"),
            row("pg_kompleks", "c", "B/D/B", "w", "x", "y", "z"),
            row("bs", "d", "B"),
            row("bs", "e", "s"),
            row("bs", "f", True),  # Excel's TRUE
            row("bs", "g", "Benar"),
            row("isian", "h", " satu | dua || "),
        )
    )
    assert result.errors == []
    a, b, c, d, e, f, g, h = result.questions
    assert [ch.weight for ch in a.choices] == [0, 0, 100]
    assert [ch.weight for ch in b.choices] == [50, -50, -50, 50]
    assert [ch.weight for ch in c.choices] == [-50, 50, -50, 50]
    assert [q.truefalse_key for q in (d, e, f, g)] == [True, False, True, True]
    assert [x.text for x in h.answers] == ["satu", "dua"]


def test_empty_rows_are_skipped_and_lines_are_spreadsheet_rows() -> None:
    data = book(
        (
            "Soal",
            [
                [],
                HEADER,
                row("esai", "pertama"),
                [],
                [None, None, None, "  "],
                row("esai", "kedua", points=3),
            ],
        )
    )
    result = parse_xlsx(data)
    assert result.errors == []
    assert [(q.text, q.line, q.points) for q in result.questions] == [
        ("pertama", 3, 1.0),
        ("kedua", 6, 3.0),
    ]


def test_soal_sheet_is_read_wherever_it_is_else_the_first_sheet() -> None:
    petunjuk = ("Petunjuk", [["Kolom", "Penjelasan"], ["tipe", "…"]])
    data = book(petunjuk, ("Soal", [HEADER, row("esai", "dari Soal")]))
    assert [q.text for q in parse_xlsx(data).questions] == ["dari Soal"]
    data = book(("Lembar1", [HEADER, row("esai", "dari Lembar1")]), petunjuk)
    assert [q.text for q in parse_xlsx(data).questions] == ["dari Lembar1"]


def test_multiline_text_keeps_its_lines() -> None:
    (q,) = parse_xlsx(soal(row("esai", "baris satu\r\nbaris dua\n"))).questions
    assert q.text == "baris satu\nbaris dua"


# --- errors ---------------------------------------------------------------------------------

BAD_ROWS: list[tuple[list[Any], str]] = [
    (row("pilihan", "a", "A", "x", "y"), "tipe 'pilihan' tidak dikenal"),
    (row(None, "a", "A", "x", "y"), "kolom tipe kosong"),
    (row("pg", None, "A", "x", "y"), "kolom soal"),
    (row("pg", "a", "C", "x", "y"), "pilihan C, tetapi pilihan itu kosong"),
    (row("pg", "a", None, "x", "y"), "jawaban_benar kosong"),
    (row("pg", "a", ",", "x", "y"), "tidak berisi huruf"),
    (row("pg", "a", "A,B", "x", "y"), "hanya boleh satu jawaban benar"),
    (row("pg", "a", "A", "x"), "minimal 2 pilihan"),
    (row("pg_kompleks", "a", "Benar", "x", "y"), "tulis huruf pilihan"),
    (row("bs", "a", "Ya"), "harus Benar atau Salah"),
    (row("bs", "a", "Benar", "x"), "tidak memakai kolom pilihan"),
    (row("isian", "a", " | "), "tidak berisi jawaban"),
    (row("angka", "a", "tiga"), "'tiga' di jawaban_benar 'tiga' bukan angka"),
    (row("angka", "a", "3±x"), "'x' di jawaban_benar '3±x' bukan angka"),
    (row("angka", "a", "5..1"), "batas bawah lebih besar"),
    (row("angka", "a", "5±-1"), "tidak boleh negatif"),
    (row("angka", "a", "1e999"), "bukan angka"),
    (row("menjodohkan", "a", None, "a -> 1", "b = 2"), "pilihan B harus berbentuk"),
    (row("menjodohkan", "a", None, "a -> 1", "b ->"), "tanpa jawaban di kanan"),
    (row("menjodohkan", "a", None, "a -> 1", "-> 2"), "minimal 2 pasangan"),
    (row("menjodohkan", "a", "A", "a -> 1", "b -> 2"), "tidak memakai kolom jawaban_benar"),
    (row("esai", "a", "kunci"), "tidak memakai kolom jawaban_benar"),
    (row("esai", "a", points=0), "poin '0' tidak valid"),
    (row("esai", "a", points=-1), "poin '-1' tidak valid"),
    (row("esai", "a", points="dua"), "poin 'dua' tidak valid"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_ROWS, ids=[m for _, m in BAD_ROWS])
def test_each_bad_row_gives_an_error_on_its_row(bad: list[Any], message: str) -> None:
    result = parse_xlsx(soal(row("esai", "sebelum"), bad, row("esai", "sesudah")))
    assert [e.line for e in result.errors] == [3]
    assert result.errors[0].message.startswith("Baris 3: ")
    assert message in result.errors[0].message
    assert [q.text for q in result.questions] == ["sebelum", "sesudah"]


def test_every_error_is_reported_not_just_the_first() -> None:
    rows = [bad for bad, _ in BAD_ROWS]
    result = parse_xlsx(soal(*rows, row("esai", "baik")))
    assert sorted(set(e.line for e in result.errors)) == list(range(2, 2 + len(rows)))
    assert [q.text for q in result.questions] == ["baik"]
    # A row with several problems names each of them.
    result = parse_xlsx(soal(row("xx", None, points="nol")))
    assert len(result.errors) == 3 and {e.line for e in result.errors} == {2}


def test_missing_required_column_is_an_error_on_the_header_row() -> None:
    header = [h for h in HEADER if h != "jawaban_benar"]
    data = book(("Soal", [[], [], header, ["K", "esai", "", "Soal"]]))
    result = parse_xlsx(data)
    assert [e.line for e in result.errors] == [3]
    assert "'jawaban_benar'" in result.errors[0].message
    assert result.questions == []
    result = parse_xlsx(book(("Soal", [["judul", "catatan"], ["a", "b"]])))
    assert "'tipe', 'soal', 'jawaban_benar'" in result.errors[0].message


def test_duplicate_column_is_an_error() -> None:
    result = parse_xlsx(soal(header=[*HEADER, "Question"]))
    assert [e.line for e in result.errors] == [1]
    assert "'Question' sama dengan kolom 'soal'" in result.errors[0].message


def _zip(**files: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"kategori,tipe,soal\nK,esai,Apa?\n", "bukan lembar kerja Excel"),
        (b"", "bukan lembar kerja Excel"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "(.xls) tidak didukung"),
        (b"%PDF-1.7\n", "simpan ulang sebagai .xlsx"),
        (b"PK\x03\x04" + b"rusak" * 100, "rusak"),
        (_zip(**{"hello.txt": b"bukan workbook"}), "rusak"),
        (build_template()[:3000], "rusak"),
        (book(("Soal", [])), "kosong"),
        (book(("Soal", [HEADER])), "belum berisi soal"),
    ],
    ids=[
        "csv",
        "empty",
        "xls",
        "pdf",
        "bad-zip",
        "zip-not-xlsx",
        "truncated",
        "empty-sheet",
        "header-only",
    ],
)
def test_bad_files_give_one_file_error(data: bytes, message: str) -> None:
    result = parse_xlsx(data)
    assert len(result.errors) == 1
    assert result.errors[0].line == 0
    assert message in result.errors[0].message
    assert result.questions == []


def test_damaged_sheet_part_is_an_error() -> None:
    good = build_template()
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        parts = {i.filename: archive.read(i) for i in archive.infolist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"][:-200]
    result = parse_xlsx(_zip(**parts))
    assert [e.line for e in result.errors][-1:] == [0]
    assert "rusak" in result.errors[-1].message


def test_too_large_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    data = build_template()
    monkeypatch.setattr(xlsx, "MAX_FILE_BYTES", len(data) - 1)
    (error,) = parse_xlsx(data).errors
    assert (error.line, "terlalu besar" in error.message) == (0, True)


def test_too_much_unpacked_content_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx, "MAX_UNPACKED_BYTES", 1000)
    (error,) = parse_xlsx(build_template()).errors
    assert "terlalu besar" in error.message


def test_too_many_rows_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx, "MAX_QUESTIONS", 3)
    result = parse_xlsx(soal(*[row("esai", f"soal {i}") for i in range(5)]))
    assert [e.line for e in result.errors] == [0]
    assert "lebih dari 3 soal" in result.errors[0].message


def test_five_thousand_rows_are_fine() -> None:
    questions = [
        Question(QuestionType.ESSAY, f"Soal {i}", text_format="plain") for i in range(5000)
    ]
    result = parse_xlsx(export_xlsx(questions))
    assert result.errors == [] and len(result.questions) == 5000
    with pytest.raises(ValidationFailed, match="5000"):
        export_xlsx([*questions, questions[0]])
