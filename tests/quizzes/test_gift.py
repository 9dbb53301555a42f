"""GIFT import/export: every real file in tests/data/third_party/gift (vendored, read in place) parses to the
expected questions and survives export -> parse; broken input gives errors on the right lines.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import ValidationFailed
from app.quizzes.gift import export_gift, parse_gift
from app.quizzes.questions import (
    BLANK,
    Choice,
    MatchPair,
    NumericAnswer,
    Question,
    QuestionType,
)
from tests.testdata import THIRD_PARTY

GIFT = THIRD_PARTY / "gift"
PEG = "fuhrmanator-GIFT-grammar-PEG.js"

# Question types per file, counted by reading each file (see SOURCES.md for what they exercise).
EXPECTED: dict[str, dict[str, int]] = {
    "RGIFTParser/test.gift": {"single": 28, "multiple": 11},
    f"{PEG}/TFTwoFeedback.gift": {"truefalse": 3},
    f"{PEG}/category1.gift": {},
    f"{PEG}/categorySpecialCharacter.gift": {},
    f"{PEG}/description1.gift": {"description": 1, "truefalse": 1},
    f"{PEG}/descriptionTitleEscapedColon.gift": {"description": 1, "truefalse": 1},
    f"{PEG}/descriptionWithID.gift": {"description": 1, "truefalse": 1},
    f"{PEG}/escapeAll.gift": {"single": 1},
    f"{PEG}/escapeColon.gift": {"single": 1},
    f"{PEG}/escapeEquals.gift": {"single": 1},
    f"{PEG}/essay1.gift": {"essay": 1},
    f"{PEG}/formatExamples.gift": {"single": 1},
    f"{PEG}/giftFormatPhpExamples.gift": {
        "single": 4,
        "truefalse": 1,
        "short": 2,
        "numeric": 2,
        "matching": 1,
    },
    f"{PEG}/markdown.gift": {"description": 4},
    f"{PEG}/matching1.gift": {"matching": 2},
    f"{PEG}/mc1.gift": {"single": 1},
    f"{PEG}/mc2.gift": {"single": 1},
    f"{PEG}/mc4.gift": {"single": 1},
    f"{PEG}/mc5.gift": {"single": 4},
    f"{PEG}/mcHTMLComment.gift": {"single": 1},
    f"{PEG}/multiLineFeedback1.gift": {"single": 2},
    f"{PEG}/multipleAnswersFloat.gift": {"multiple": 1},
    f"{PEG}/newlineAndLaTeX.gift": {"essay": 1},
    f"{PEG}/numerical1.gift": {"numeric": 10},
    f"{PEG}/options1.gift": {"numeric": 1, "short": 4, "single": 6, "truefalse": 1, "multiple": 2},
    f"{PEG}/shortAnswer1.gift": {"short": 2},
    f"{PEG}/shortAnswer2.gift": {"short": 2},
    f"{PEG}/shortAnswerNotMatching.gift": {"single": 2},
    f"{PEG}/shortFirstEmbedded.gift": {"short": 2},
    f"{PEG}/shortFirstEmbeddedUnderline.gift": {"short": 2},
    f"{PEG}/shortFirstEmbeddedUnderlineHTML.gift": {"short": 2},
    f"{PEG}/symbolsAll.gift": {"truefalse": 1},
    f"{PEG}/tag_id.gift": {"essay": 1},
    f"{PEG}/tag_id_and_two_tags.gift": {"essay": 1},
    f"{PEG}/tag_two_tags.gift": {"essay": 1},
    f"{PEG}/tf1.gift": {"truefalse": 1},
    f"{PEG}/tf1_html.gift": {"truefalse": 1},
    f"{PEG}/tf1_markdown.gift": {"truefalse": 1},
    f"{PEG}/tf2.gift": {"truefalse": 2},
    f"{PEG}/totara_moodle_backslash.gift": {"essay": 1},
    f"{PEG}/totara_moodle_essay.gift": {"essay": 1},
    f"{PEG}/totara_moodle_match.gift": {"matching": 1},
    f"{PEG}/totara_moodle_multichoice.gift": {"single": 1},
    f"{PEG}/totara_moodle_multichoice_multi.gift": {"multiple": 1},
    f"{PEG}/totara_moodle_numerical.gift": {"numeric": 1},
    f"{PEG}/totara_moodle_pre_content.gift": {"essay": 1},
    f"{PEG}/totara_moodle_shortanswer.gift": {"short": 1},
    f"{PEG}/totara_moodle_shortanswer_general_feedback.gift": {"short": 1},
    f"{PEG}/totara_moodle_truefalse.gift": {"truefalse": 1},
    f"{PEG}/totara_moodle_truefalse_true_answer1.gift": {"truefalse": 1},
    f"{PEG}/totara_moodle_truefalse_true_answer2.gift": {"truefalse": 1},
    f"{PEG}/type_inferred_multiline_markdown.gift": {"short": 1},
    "moodle/examples.txt": {
        "single": 16,
        "truefalse": 5,
        "short": 9,
        "numeric": 8,
        "matching": 3,
        "multiple": 2,
    },
    "moodle/questions.gift.txt": {
        "essay": 1,
        "matching": 1,
        "single": 1,
        "multiple": 1,
        "numeric": 1,
        "short": 1,
        "truefalse": 3,
    },
    "moodle/questions_in_category.gift.txt": {
        "matching": 1,
        "single": 1,
        "short": 1,
        "truefalse": 1,
    },
}


def parse_file(name: str) -> list[Question]:
    result = parse_gift((GIFT / name).read_text(encoding="utf-8"))
    assert result.errors == []
    return result.questions


def by_title(questions: list[Question], title: str) -> Question:
    (found,) = [q for q in questions if q.title == title]
    return found


def test_the_table_covers_every_gift_file() -> None:
    on_disk = {p.relative_to(GIFT).as_posix() for p in GIFT.rglob("*") if p.is_file()}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_file_parses_with_the_expected_types(name: str) -> None:
    questions = parse_file(name)
    assert Counter(q.type.value for q in questions) == Counter(EXPECTED[name])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_file_survives_export_and_parse(name: str) -> None:
    questions = parse_file(name)
    again = parse_gift(export_gift(questions))
    assert again.errors == []
    assert again.questions == questions


def test_moodle_fixture_reads_as_moodle_does() -> None:
    qs = parse_file("moodle/questions.gift.txt")
    assert [q.line for q in qs] == [2, 5, 14, 22, 31, 34, 41, 46, 49]

    essay = by_title(qs, "Q8")
    assert (essay.type, essay.text) == (QuestionType.ESSAY, "How are you?")

    match = by_title(qs, "Moodle activities")
    assert match.text_format == "html"
    assert match.text == "Match the <b>activity</b> to the description."
    assert match.pairs[0] == MatchPair("An activity supporting asynchronous discussions.", "Forum")
    assert match.pairs[-1] == MatchPair("", "Chat")  # a distractor
    assert len(match.gradable_pairs) == 4

    colours = by_title(qs, "colours")
    assert colours.type is QuestionType.MULTIPLE
    assert [(c.text, c.weight) for c in colours.choices] == [
        ("yellow", 50),
        ("red", -100),
        ("off-beige", 50),
        ("blue", -100),
    ]
    assert colours.choices[1].feedback == "wrong"  # the [html] prefix is not part of the text

    numeric = by_title(qs, "Q5")
    assert numeric.numeric == (NumericAnswer(3.0, 2.0),)
    assert numeric.incorrect_feedback == "Completely wrong"
    # Stray `";` after the block: Moodle's missing-word rule puts a blank where the block was.
    assert numeric.text == f'What is a number from 1 to 5? {BLANK}";'

    short = by_title(qs, "Shortanswer")
    assert [(a.text, a.weight, a.feedback) for a in short.answers] == [
        ("Frog", 100, "Good!"),
        ("Cat", 50, "What is it with Moodlers and cats?"),
        ("*", 0, "Completely wrong"),
    ]

    tf = by_title(qs, "Q1")
    assert tf.truefalse_key is False
    # {FALSE#wrong#right}: picking True is wrong here.
    assert tf.feedback_true == "42 is the Ultimate Answer."
    assert tf.feedback_false == "You gave the right answer."
    assert tf.general_feedback.startswith("This is, of course")


def test_category_applies_to_the_questions_after_it() -> None:
    qs = parse_file("moodle/questions_in_category.gift.txt")
    assert {q.category for q in qs} == {"$course$/Default for New Features"}
    greeting = by_title(qs, "Greeting")
    assert greeting.text.startswith(
        '<a href="http://demo.moodle.net/file.php/5/media/bonjour.mp3">Listen to this greeting:</a>'
    )
    assert by_title(qs, "Moodle user").answers == (Choice("Moodler", 100.0, ""),)

    bank = parse_file("RGIFTParser/test.gift")
    assert Counter(q.category for q in bank) == {
        "IDEA/Alerte-Investigation": 6,
        "IDEA/Schemas": 12,
        "IDEA/Biostatistiques": 7,
        "IDEA/Surveillance": 4,
        "IDEA/Enquetes": 5,
        "IDEA/EpidemiesVaccins": 3,
        "IDEA/Environnement": 2,
    }
    thirds = by_title(bank, "AI-types_signaux")
    assert [c.weight for c in thirds.choices] == [33.33333, 33.33333, 33.33333, -50, -50]
    # Two '=' answers: Moodle keeps it single choice, either answer earns full marks.
    two_right = by_title(bank, "Envir-preoccupations")
    assert two_right.type is QuestionType.SINGLE
    assert [c.weight for c in two_right.choices] == [0, 100, 100, 0]


def test_escapes_and_backslashes() -> None:
    (q,) = parse_file(f"{PEG}/escapeAll.gift")
    assert [c.text for c in q.choices] == ["~", "=", "#", "{", "}", ":", "\\"]
    assert q.choices[-1].weight == 100
    assert q.choices[0].feedback == "~ is a control character."

    (backslash,) = parse_file(f"{PEG}/totara_moodle_backslash.gift")
    assert backslash.text == "A \\\\ B \\\\\\\\ C"  # the file doubles every backslash

    (latex,) = parse_file(f"{PEG}/newlineAndLaTeX.gift")
    assert latex.text == "Blah\nblah $ 1 \\neq 0 $"

    (title,) = parse_file(f"{PEG}/descriptionTitleEscapedColon.gift")[:1]
    assert title.title == "Description Title:"

    (pre,) = parse_file(f"{PEG}/totara_moodle_pre_content.gift")
    assert "public void test() {" in pre.text and pre.text.rstrip().endswith("</pre>")


def test_missing_word_and_formats() -> None:
    qs = parse_file("moodle/examples.txt")
    assert qs[1].text == f"Grant is {BLANK} in Grant's tomb."
    assert [c.text for c in qs[1].choices if c.weight == 100] == ["entombed"]
    thanksgiving = by_title(qs, "Thanksgiving Date")
    assert thanksgiving.text == (
        f"The American holiday of Thanksgiving is\ncelebrated on the {BLANK} Thursday of November."
    )
    markdown = next(q for q in qs if q.text_format == "markdown")
    assert markdown.text == "Who's buried in **Grant's tomb**?"

    first, second = parse_file(f"{PEG}/shortFirstEmbedded.gift")
    assert first.text == second.text == f"{BLANK} is the largest continent in the world."
    assert second.title == "Continents"

    (multiline,) = parse_file(f"{PEG}/type_inferred_multiline_markdown.gift")
    assert multiline.text == "stem line1  \nstem line2"  # markdown hard line breaks kept
    assert multiline.answers[0].text == "answer1 line1  \nanswer1 line2"


def test_numeric_forms() -> None:
    qs = parse_file(f"{PEG}/numerical1.gift")
    assert qs[0].numeric == (NumericAnswer(1822.0),)
    assert qs[1].numeric == (NumericAnswer(-1.0),)
    assert qs[2].numeric == (NumericAnswer(3.1415, 0.0005),)
    assert qs[4].numeric[0].interval == (3.141, 3.142)
    assert qs[5].numeric[0].interval == (-3.142, -3.141)
    assert qs[7].numeric[0].interval == (-5.0, 5.0)
    assert qs[8].numeric == (NumericAnswer(1822.0, 0.0), NumericAnswer(1822.0, 2.0, weight=50.0))
    grasp = qs[9]
    assert [(n.value, n.weight) for n in grasp.numeric] == [(5, 0), (9, 100), (23, 0)]
    assert grasp.text == "<p>Combien de principes GRASP y a-t-il?</p>"


def test_truefalse_feedback_forms() -> None:
    one, two, three = parse_file(f"{PEG}/TFTwoFeedback.gift")
    assert (one.truefalse_key, one.feedback_true, one.feedback_false) == (
        False,
        "feedback for true",
        "feedback for false",
    )
    assert (two.truefalse_key, two.feedback_false) == (True, "feedback for true")
    assert (three.feedback_true, three.feedback_false) == ("feedback for false", "")


def test_general_feedback_spans_lines() -> None:
    q, _ = parse_file(f"{PEG}/multiLineFeedback1.gift")
    assert q.general_feedback == "Global feedback split\non multiple lines"
    assert q.choices[1].feedback == "feedback comment on this wrong answer\non multiple lines"


BROKEN = """\
::Q1:: Siapa proklamator? {~Soekarno ~Hatta}

Ibu kota Indonesia adalah {=Jakarta ~Bandung
~Surabaya

=Medan}

Berapa 1 + 1,5? {#2,5}

::Judul tanpa penutup Soal? {T}

Pilih dua {
~%50%a
~%30%b
~c
}

Soal satu {=a ~b}
Soal dua {=c ~d}

Cocokkan {=a -> 1 =b}

Bobot {~%150%a =b}

Toleransi {#5:-1}

Soal dengan pilihan kosong {
=benar
~
~salah
}

Isian {=%50%kira-kira}

{=a ~b}
"""


def test_broken_gift_reports_every_error_on_its_line() -> None:
    result = parse_gift(BROKEN)
    got = [(e.line, e.message) for e in result.errors]
    expected = [
        (1, "pilihan ganda tanpa jawaban benar (=)."),
        (3, "'{' tidak ditutup"),
        (6, "'}' tanpa '{'"),
        (8, "angka '2,5' tidak valid; pakai titik"),
        (10, "judul soal dibuka dengan '::'"),
        (12, "jumlah bobot positif harus 100% (sekarang 80%)"),
        (19, "lebih dari satu blok jawaban"),
        (21, "pasangan menjodohkan ditulis '=kiri -> kanan'"),
        (21, "menjodohkan harus punya minimal 2 pasangan"),
        (23, "bobot '%150%' tidak valid"),
        (25, "toleransi '-1' tidak boleh negatif"),
        (29, "pilihan jawaban kosong"),
        (33, "minimal satu jawaban bernilai 100%"),
        (35, "teks soal kosong"),
    ]
    assert [line for line, _ in got] == [line for line, _ in expected]
    for (line, message), (_, fragment) in zip(got, expected, strict=True):
        assert fragment in message
        assert message.startswith(f"Baris {line}: ")
    assert result.questions == []
    assert not result.ok


def test_good_questions_next_to_errors_are_still_read_but_the_result_is_not_ok() -> None:
    result = parse_gift("Baik {=a ~b}\n\nRusak {~a ~b}\n")
    assert len(result.questions) == 1
    assert [e.line for e in result.errors] == [3]
    assert not result.ok


def test_crlf_bom_and_a_category_glued_to_its_question() -> None:
    text = "\ufeff$CATEGORY: Umum/Dasar\r\n::T::Pertanyaan {T}\r\n\r\n// akhir\r\n"
    result = parse_gift(text)
    assert result.errors == []
    (q,) = result.questions
    assert (q.category, q.title, q.line, q.truefalse_key) == ("Umum/Dasar", "T", 2, True)


def test_export_refuses_what_gift_cannot_say() -> None:
    short = Question(QuestionType.SHORT, "Arah?", answers=(Choice("kiri->kanan", 100),))
    with pytest.raises(ValidationFailed):
        export_gift([short])
    matching = Question(
        QuestionType.MATCHING, "Cocokkan", pairs=(MatchPair("a->b", "1"), MatchPair("c", "2"))
    )
    with pytest.raises(ValidationFailed):
        export_gift([matching])


def test_export_looks_like_moodle_gift() -> None:
    q = Question(
        QuestionType.SINGLE,
        f"Ibu kota {BLANK} adalah Jakarta.",
        title="Ibu kota",
        choices=(Choice("Indonesia", 100, "Benar!"), Choice("Malaysia", 0, "Bukan: KL")),
        general_feedback="Jakarta = DKI",
    )
    assert export_gift([q]) == (
        "::Ibu kota::Ibu kota {\n"
        "\t=Indonesia#Benar!\n"
        "\t~Malaysia#Bukan\\: KL\n"
        "\t####Jakarta \\= DKI\n"
        "} adalah Jakarta.\n"
    )


TRICKY = [
    Question(QuestionType.SINGLE, "Semua benar", choices=(Choice("a", 100), Choice("b", 100))),
    Question(QuestionType.SINGLE, "Persen", choices=(Choice("%50% diskon", 100), Choice("%5%", 0))),
    Question(QuestionType.MULTIPLE, "Jamak", choices=(Choice("%1%", 100), Choice("b", -50))),
    Question(QuestionType.ESSAY, "[html] bukan format", title=""),
    Question(QuestionType.DESCRIPTION, "// bukan komentar", points=0.0),
    Question(QuestionType.DESCRIPTION, "$CATEGORY: bukan kategori", points=0.0),
    Question(QuestionType.SHORT, f"{BLANK} dan {BLANK}", answers=(Choice("%5% saja", 100),)),
    Question(QuestionType.SHORT, f"Akhir {BLANK}", answers=(Choice("T", 100), Choice("*", 0, "x"))),
    Question(
        QuestionType.MATCHING,
        "Pasangan",
        pairs=(MatchPair("a-", ">b"), MatchPair("[plain]c", "->d"), MatchPair("", "e")),
    ),
    Question(
        QuestionType.NUMERIC,
        "Angka",
        numeric=(NumericAnswer(1e-05, 2.5e-06), NumericAnswer.between(-5.0, -0.0, weight=50)),
        incorrect_feedback="Salah",
    ),
    Question(QuestionType.TRUEFALSE, "Benar?", truefalse_key=True, feedback_true="ya"),
    Question(QuestionType.TRUEFALSE, "Salah?", truefalse_key=False, general_feedback="g"),
    Question(QuestionType.ESSAY, "Kategori lagi kosong", category="Bab 1"),
    Question(QuestionType.ESSAY, "Tanpa kategori"),
]


@pytest.mark.parametrize("question", TRICKY, ids=[q.text[:20] for q in TRICKY])
def test_tricky_questions_survive_export_and_parse(question: Question) -> None:
    result = parse_gift(export_gift([question]))
    assert result.errors == []
    assert result.questions == [question]


def test_a_category_can_be_left_again() -> None:
    result = parse_gift(export_gift(TRICKY))
    assert result.errors == []
    assert result.questions == TRICKY
    assert [q.category for q in result.questions[-2:]] == ["Bab 1", ""]


# --- generated questions --------------------------------------------------------------------

# Every GIFT control character, the escape, newlines, and things that look like syntax.
ALPHABET = "ab Zé~=#{}:\\\n%[]/_-*$>"


def clean(alphabet: str = ALPHABET, min_size: int = 1) -> st.SearchStrategy[str]:
    """Texts as a parser returns them: trimmed (GIFT trims every text)."""
    return (
        st.text(alphabet, min_size=min_size, max_size=24)
        .map(str.strip)
        .filter(lambda t: len(t) >= min_size)
    )


def maybe(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), strategy)


NO_ARROW = ALPHABET.replace(">", "")  # '->' cannot be written in short answers and match lefts
formats = st.sampled_from(["moodle", "html", "markdown", "plain"])
finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


def weights(low: float, high: float) -> st.SearchStrategy[float]:
    """Any weight in range, often one of the values people write (100 makes '=' ambiguous)."""
    usual = [w for w in (-100.0, -50.0, 0.0, 25.0, 33.33333, 50.0, 100.0) if low <= w <= high]
    return st.one_of(st.sampled_from(usual), st.floats(low, high))


@st.composite
def gift_questions(draw: st.DrawFn) -> Question:
    kind = draw(st.sampled_from(list(QuestionType)))
    fields: dict[str, object] = {
        "title": draw(maybe(clean())),
        "text_format": draw(formats),
        "category": draw(st.sampled_from(["", "Umum", "$course$/Top: Bab 1"])),
    }
    if kind is not QuestionType.DESCRIPTION:
        fields["general_feedback"] = draw(maybe(clean()))
    else:
        fields["points"] = 0.0
    text = draw(clean())
    feedback = maybe(clean())
    if kind is QuestionType.SINGLE:
        others = draw(st.lists(weights(-100, 100), min_size=1, max_size=4))
        ws = draw(st.permutations([100.0, *others]))
        fields["choices"] = tuple(Choice(draw(clean()), w, draw(feedback)) for w in ws)
    elif kind is QuestionType.MULTIPLE:
        right = draw(st.integers(1, 4))
        wrong = draw(st.lists(weights(-100, 0), min_size=1, max_size=3))
        ws = draw(st.permutations([100 / right] * right + wrong))
        fields["choices"] = tuple(Choice(draw(clean()), w, draw(feedback)) for w in ws)
    elif kind is QuestionType.TRUEFALSE:
        fields["truefalse_key"] = draw(st.booleans())
        fields["feedback_true"] = draw(feedback)
        fields["feedback_false"] = draw(feedback)
    elif kind is QuestionType.SHORT:
        ws = [100.0, *draw(st.lists(weights(0, 100), max_size=3))]
        fields["answers"] = tuple(
            Choice(draw(clean(NO_ARROW)), w, draw(maybe(clean(NO_ARROW)))) for w in ws
        )
    elif kind is QuestionType.NUMERIC:
        answers = []
        for weight in [100.0, *draw(st.lists(weights(0, 100), max_size=3))]:
            if draw(st.booleans()):
                value, tolerance = draw(finite), draw(st.floats(0, 1e3))
                answers.append(NumericAnswer(value, tolerance, None, weight, draw(feedback)))
            else:
                low, high = sorted([draw(finite), draw(finite)])
                answers.append(
                    NumericAnswer.between(low, high, weight=weight, feedback=draw(feedback))
                )
        fields["numeric"] = tuple(answers)
        fields["incorrect_feedback"] = draw(feedback)
    elif kind is QuestionType.MATCHING:
        lefts = draw(st.lists(clean(NO_ARROW), min_size=2, max_size=4))
        lefts += draw(st.lists(st.just(""), max_size=1))
        fields["pairs"] = tuple(MatchPair(left, draw(clean())) for left in lefts)
    return Question(kind, text, **fields)  # type: ignore[arg-type]


@settings(max_examples=400)
@given(st.lists(gift_questions(), min_size=1, max_size=4))
def test_generated_questions_survive_export_and_parse(questions: list[Question]) -> None:
    text = export_gift(questions)
    result = parse_gift(text)
    assert result.errors == [], text
    assert result.questions == questions, text


@given(clean(), clean(), clean(), maybe(clean()))
def test_special_characters_survive_escaping(title: str, stem: str, right: str, fb: str) -> None:
    q = Question(
        QuestionType.SINGLE,
        stem,
        title=title,
        choices=(Choice(right, 100, fb), Choice("~=#{}:\\", 0, "#{x}=y:z~")),
    )
    (again,) = parse_gift(export_gift([q])).questions
    assert again == q


@given(st.text(st.one_of(st.sampled_from("{}~=#:\\\n\r/%->[]$T"), st.characters()), max_size=300))
def test_any_text_parses_without_crashing_and_errors_point_at_real_lines(text: str) -> None:
    result = parse_gift(text)
    lines = max(1, len(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")))
    assert all(1 <= e.line <= lines for e in result.errors)
    assert all(1 <= q.line <= lines for q in result.questions)
