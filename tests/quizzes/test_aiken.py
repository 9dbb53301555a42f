"""Aiken import/export: Moodle's fixtures and the aikenadv sample (read in place) give the
expected questions and line-accurate errors; single-choice questions survive export -> parse.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.errors import ValidationFailed
from app.quizzes.aiken import export_aiken, parse_aiken
from app.quizzes.gift import parse_gift
from app.quizzes.questions import Choice, Question, QuestionType
from tests.testdata import THIRD_PARTY

AIKEN = THIRD_PARTY / "aiken"
GIFT = AIKEN.parent / "gift"


def read(name: str) -> str:
    return (AIKEN / name).read_text(encoding="utf-8")


def key(q: Question) -> str:
    (right,) = [c.text for c in q.choices if c.weight == 100]
    return right


def test_moodle_questions_file() -> None:
    result = parse_aiken(read("moodle/questions.aiken.txt"))
    assert result.errors == []
    first, second = result.questions
    assert first.type is QuestionType.SINGLE
    assert first.text == "The Moodle project was started by:"
    assert [c.text for c in first.choices] == [
        "Petr Skoda",
        "Martin Dougiamas",
        "Eloy Lafuente",
        "Tim Hunt",
    ]
    assert key(first) == "Martin Dougiamas"
    # Raw markup stays as typed; text_format "plain" tells the page to escape it.
    assert second.text == (
        'Moodle\'s abilities include handling user input that includes <html class="cool"> & images:'
    )
    assert second.text_format == "plain"
    assert (key(second), second.line) == ("True", 8)


def test_moodle_error_fixture_gives_three_questions_and_line_accurate_errors() -> None:
    result = parse_aiken(read("moodle/aiken_errors.txt"))
    assert [q.text for q in result.questions] == [
        "A good question",
        "A second good question",
        "A third good question with HTML chars such as > < &",
    ]
    assert [c.text for c in result.questions[1].choices] == [
        "Incorrect (No space)",
        "Correct (No space)",
    ]
    assert key(result.questions[1]) == "Correct (No space)"
    assert key(result.questions[2]) == "Correct (< > &)"  # last line has no newline
    # Moodle reports the same four problems (its lines 3 and 18 are where it noticed them; we
    # point at the question that needs fixing).
    assert [(e.line, e.message) for e in result.errors] == [
        (1, "Baris 1: soal harus punya minimal 2 pilihan (ada 1)."),
        (5, "Baris 5: pilihan jawaban sebelum teks soal."),
        (7, "Baris 7: baris ANSWER tanpa soal sebelumnya."),
        (14, "Baris 14: soal tidak punya baris 'ANSWER: <huruf>'."),
    ]


def test_aikenadv_sample_is_not_standard_aiken() -> None:
    result = parse_aiken(read("moodle-qformat_aikenadv/aiken_hebrew_english_sample.txt"))
    # `NUMBERING:` lines (an aikenadv extension) and numbered options are reported, not guessed.
    assert [e.line for e in result.errors] == [6, 16, 19]
    assert result.questions == []
    assert "NUMBERING: 123" in result.errors[0].message
    assert "baris 20 diberi nomor" in result.errors[2].message


def test_crlf_bom_and_trailing_spaces_read_the_same() -> None:
    text = read("moodle/questions.aiken.txt")
    messy = "\ufeff" + "\r\n".join(line + "  \t" for line in text.split("\n"))
    assert parse_aiken(messy) == parse_aiken(text)


@pytest.mark.parametrize(
    ("text", "lines", "fragment", "kept"),
    [
        (
            "Soal?\nA) x\nB) y\nANSWER: C\n",
            [4],
            "jawaban 'C' tidak ada di antara pilihan (A, B)",
            0,
        ),
        ("Soal?\nA) x\nA) y\nANSWER: A\n", [3], "huruf pilihan 'A' dipakai dua kali", 0),
        ("Soal?\nA) x\nB) y\nANSWER:\n", [4], "ANSWER kosong", 0),
        ("A) x\nB) y\nANSWER: A\n", [1, 2, 3], "pilihan jawaban sebelum teks soal", 0),
        ("Soal?\nA) x\nB)\nANSWER: A\n", [3], "pilihan B kosong", 0),
        ("Soal?\nA) x\nB) y\n", [1], "tidak punya baris 'ANSWER", 0),
        ("Soal?\n\nSoal lain?\nA) x\nB) y\nANSWER: A", [1], "tidak punya pilihan jawaban.", 1),
        ("Soal?\nA) x\nB) y\nC) z lanjut\nbaris lepas\nANSWER: A", [5], "tidak dikenal", 0),
    ],
)
def test_each_problem_is_reported_on_its_line(
    text: str, lines: list[int], fragment: str, kept: int
) -> None:
    result = parse_aiken(text)
    assert [e.line for e in result.errors] == lines
    assert fragment in result.errors[0].message
    assert len(result.questions) == kept  # a question with a problem is never returned


def test_multi_line_stem_and_lower_case_answer_letter() -> None:
    result = parse_aiken("Baca teks:\nPancasila punya 5 sila.\nA. Benar\nB. Salah\nanswer: a\n")
    assert result.errors == []
    (q,) = result.questions
    assert q.text == "Baca teks:\nPancasila punya 5 sila."
    assert key(q) == "Benar"


@pytest.mark.parametrize("name", ["moodle/questions.aiken.txt", "moodle/aiken_errors.txt"])
def test_parsed_questions_survive_export_and_parse(name: str) -> None:
    questions = parse_aiken(read(name)).questions
    again = parse_aiken(export_aiken(questions))
    assert again.errors == []
    assert again.questions == questions


def test_gift_single_choice_questions_export_to_aiken() -> None:
    gift = parse_gift((GIFT / "RGIFTParser" / "test.gift").read_text(encoding="utf-8"))
    exportable = [
        q
        for q in gift.questions
        if q.type is QuestionType.SINGLE
        and sorted({c.weight for c in q.choices}) == [0, 100]
        and sum(c.weight == 100 for c in q.choices) == 1
    ]
    assert len(exportable) == 27  # 28 single choice, one of them with two right answers
    again = parse_aiken(export_aiken(exportable))
    assert again.errors == []
    assert [(q.text, [c.text for c in q.choices], key(q)) for q in again.questions] == [
        (q.text, [c.text for c in q.choices], key(q)) for q in exportable
    ]


@pytest.mark.parametrize(
    "question",
    [
        Question(QuestionType.TRUEFALSE, "Benar?", truefalse_key=True),
        Question(QuestionType.SINGLE, "Dua benar?", choices=(Choice("a", 100), Choice("b", 100))),
        Question(QuestionType.SINGLE, "Parsial?", choices=(Choice("a", 100), Choice("b", 50))),
        Question(QuestionType.SINGLE, "Satu pilihan?", choices=(Choice("a", 100),)),
        Question(QuestionType.SINGLE, "Baris?", choices=(Choice("a\nb", 100), Choice("c", 0))),
        Question(QuestionType.SINGLE, "Soal\nA) palsu", choices=(Choice("a", 100), Choice("c"))),
        Question(QuestionType.SINGLE, "Soal\n\nlagi", choices=(Choice("a", 100), Choice("c"))),
    ],
)
def test_export_refuses_what_aiken_cannot_say(question: Question) -> None:
    with pytest.raises(ValidationFailed):
        export_aiken([question])


line_text = (
    st.text(st.characters(exclude_categories=["Cs", "Cc", "Zl", "Zp"]), min_size=1, max_size=30)
    .map(str.strip)
    .filter(bool)
)


@given(
    st.lists(
        st.tuples(line_text, st.lists(line_text, min_size=2, max_size=8), st.data()),
        min_size=1,
        max_size=5,
    )
)
def test_generated_single_choice_questions_survive_export_and_parse(
    items: list[tuple[str, list[str], st.DataObject]],
) -> None:
    questions = []
    for stem, options, data in items:
        right = data.draw(st.integers(0, len(options) - 1))
        choices = tuple(Choice(o, 100.0 if i == right else 0.0) for i, o in enumerate(options))
        # A lower-case start keeps the stem from reading as an option or an ANSWER line.
        questions.append(
            Question(QuestionType.SINGLE, "q " + stem, text_format="plain", choices=choices)
        )
    result = parse_aiken(export_aiken(questions))
    assert result.errors == []
    assert result.questions == questions
