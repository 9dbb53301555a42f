"""Scoring rules: examples on questions parsed from the real GIFT files, and properties
(bounds, full marks for the key, display order, penalties, wildcards, tolerance edges, grading).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.errors import ValidationFailed
from app.quizzes.gift import parse_gift
from app.quizzes.questions import Choice, NumericAnswer, Question, QuestionType
from app.quizzes.scoring import (
    Answer,
    AttemptGrade,
    Score,
    grade_attempt,
    grade_for_learner,
    parse_number,
    score_answer,
    score_matching,
    score_multiple,
    score_numeric,
    score_short,
    score_single,
    score_truefalse,
    short_answer_matches,
    shuffle_order,
)
from tests.testdata import THIRD_PARTY

GIFT = THIRD_PARTY / "gift"


def gift_question(path: str, title: str | None = None, index: int = 0) -> Question:
    result = parse_gift((GIFT / path).read_text(encoding="utf-8"))
    assert result.errors == []
    if title is None:
        return result.questions[index]
    (q,) = [q for q in result.questions if q.title == title]
    return q


# --- examples on real questions --------------------------------------------------------------


def test_single_choice_with_partial_credit() -> None:
    q = dataclasses.replace(gift_question("moodle/examples.txt", index=27), points=2.0)
    assert (q.title, q.type) == ("Jesus' hometown", QuestionType.SINGLE)
    assert [c.text for c in q.choices] == ["Jerusalem", "Bethlehem", "Galilee", "Nazareth"]
    assert score_single(q, {3}) == Score(2.0, 2.0, True, ("Yes! That's right!",))
    assert score_single(q, {1}).points == 0.5
    assert score_single(q, {2}) == Score(1.0, 2.0, False, ("You need to be more specific.",))
    assert score_single(q, {0}).points == 0
    assert score_single(q, set()).points == 0
    assert score_single(q, {2, 3}).points == 0  # a single choice takes one pick


def test_multiple_response_adds_weights_and_penalises_wrong_picks() -> None:
    q = gift_question(
        "moodle/questions.gift.txt", "colours"
    )  # yellow 50, red -100, beige 50, blue -100
    assert score_multiple(q, {0, 2}) == Score(1.0, 1.0, True, ("right; good!", "right; good!"))
    assert score_multiple(q, {0}).points == 0.5
    assert score_multiple(q, {0, 1, 2}).points == 0  # 50 - 100 + 50, never below 0
    assert score_multiple(q, {0, 1, 2, 3}).points == 0  # ticking everything earns nothing
    assert score_multiple(q, {1, 3}) == Score(0.0, 1.0, False, ("wrong", "wrong"))


def test_thirds_written_as_33_33333_percent_give_full_marks() -> None:
    q = gift_question("RGIFTParser/test.gift", "AI-types_signaux")
    score = score_multiple(q, {0, 1, 2})
    assert (score.points, score.correct) == (1.0, True)
    assert score_multiple(q, {0, 1, 2, 3}).points == pytest.approx(0.5, abs=1e-5)


def test_truefalse_feedback_is_the_picked_sides() -> None:
    q = gift_question("moodle/questions.gift.txt", "Q1")  # key FALSE
    gf = q.general_feedback
    assert score_truefalse(q, False) == Score(1.0, 1.0, True, ("You gave the right answer.", gf))
    assert score_truefalse(q, True) == Score(0.0, 1.0, False, ("42 is the Ultimate Answer.", gf))
    assert score_truefalse(q, None) == Score(0.0, 1.0, False, (gf,))


def test_short_answer_best_weight_and_catch_all() -> None:
    q = gift_question("moodle/questions.gift.txt", "Shortanswer")  # Frog 100, Cat 50, * 0
    assert score_short(q, "  fROG ") == Score(1.0, 1.0, True, ("Good!",))
    assert score_short(q, "ｃａｔ").points == 0.5  # full-width letters, NFKC
    assert score_short(q, "dog") == Score(0.0, 1.0, False, ("Completely wrong",))
    assert score_short(q, "   ") == Score(0.0, 1.0, False, ())
    assert score_short(q, None).points == 0


@pytest.mark.parametrize(
    ("pattern", "response", "expected"),
    [
        ("no one", "No   One", True),
        ("no*one", "noone", True),
        ("no*one", "no-body one", True),
        ("no*one", "no on", False),
        ("*", "anything at all", True),
        ("a*b*c", "abc", True),
        ("a*b*c", "acb", False),
        ("a*a", "a", False),  # the two ends may not overlap
        ("5 \\* 3", "5 * 3", True),
        ("5 \\* 3", "5 x 3", False),
        ("Jakarta", "Jakarta Pusat", False),
        ("ﬁle", "file", True),  # NFKC ligature
    ],
)
def test_short_answer_wildcard_and_normalisation(
    pattern: str, response: str, expected: bool
) -> None:
    assert short_answer_matches(pattern, response) is expected


words = st.text("abcxyzé19-", max_size=8)


@given(words, words, st.text(max_size=12))
def test_a_wildcard_matches_any_run_between_its_ends(head: str, tail: str, middle: str) -> None:
    assert short_answer_matches(f"{head}*{tail}", head + middle.strip() + tail)


@given(
    st.lists(words.filter(bool), min_size=1, max_size=4),
    st.lists(st.sampled_from([" ", "\t", "  ", "\u3000"]), min_size=5, max_size=5),
)
def test_case_and_whitespace_do_not_matter(parts: list[str], gaps: list[str]) -> None:
    typed = gaps[0] + "".join(p.upper() + g for p, g in zip(parts, gaps[1:], strict=False))
    assert short_answer_matches(" ".join(parts), typed)


def test_numeric_tolerance_edges_and_decimal_comma() -> None:
    pi = gift_question("moodle/examples.txt", index=16)  # {#3.1415:0.0005}
    assert pi.numeric == (NumericAnswer(3.1415, 0.0005),)
    for typed in ["3.141", "3.142", "3,141", "3,1415", " 3.1415 "]:
        assert score_numeric(pi, typed).points == 1.0, typed
    for typed in ["3.1409", "3.14201", "3", "pi"]:
        assert score_numeric(pi, typed).points == 0, typed

    interval = gift_question("moodle/examples.txt", index=17)  # {#3.141..3.142}
    assert [score_numeric(interval, t).points for t in ["3.141", "3,142", "3.1409", "3.1421"]] == [
        1,
        1,
        0,
        0,
    ]

    grant = gift_question("moodle/examples.txt", "Numerical example")  # 1822:0, 50% 1822:2
    assert score_numeric(grant, "1822").feedback == ("Correct! 100% credit",)
    assert score_numeric(grant, "1820").points == 0.5
    assert score_numeric(grant, "1819.99").points == 0

    wrong = gift_question("moodle/questions.gift.txt", "Q5")  # 3:2 ~#Completely wrong
    assert score_numeric(wrong, "1") == Score(1.0, 1.0, True, ())
    assert score_numeric(wrong, "tiga") == Score(0.0, 1.0, False, ("Completely wrong",))
    assert score_numeric(wrong, "") == Score(0.0, 1.0, False, ())


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("3,14", "3.14"),
        ("3.14", "3.14"),
        ("-2,5", "-2.5"),
        ("−2,5", "-2.5"),
        ("1.234,5", "1234.5"),
        ("1,234.5", "1234.5"),
        ("1.000.000", "1000000"),
        ("1,000,000", "1000000"),
        ("1 000", "1000"),
        ("１２", "12"),
        ("1e3", "1000"),
        ("1.000", "1.000"),  # one separator once: a decimal mark
        ("1,2,3", None),
        ("1.2.3,4", None),
        ("12,34.5,6", None),
        ("abc", None),
        ("", None),
        ("--1", None),
    ],
)
def test_parse_number(typed: str, value: str | None) -> None:
    assert parse_number(typed) == (None if value is None else Decimal(value))


@given(
    st.integers(-(10**7), 10**7),
    st.integers(0, 10**4),
    st.booleans(),
)
def test_numeric_tolerance_includes_both_ends_exactly(
    thousandths: int, tol: int, comma: bool
) -> None:
    value, tolerance = Decimal(thousandths) / 1000, Decimal(tol) / 1000
    q = Question(
        QuestionType.NUMERIC, "x?", numeric=(NumericAnswer(float(value), float(tolerance)),)
    )
    step = Decimal("0.0001")

    def typed(x: Decimal) -> str:
        return str(x).replace(".", ",") if comma else str(x)

    assert score_numeric(q, typed(value - tolerance)).correct
    assert score_numeric(q, typed(value + tolerance)).correct
    assert not score_numeric(q, typed(value + tolerance + step)).correct
    assert not score_numeric(q, typed(value - tolerance - step)).correct


def test_matching_counts_the_share_of_right_pairs() -> None:
    q = dataclasses.replace(
        gift_question("moodle/questions.gift.txt", "Moodle activities"), points=4.0
    )
    right = {i: p.right for i, p in enumerate(q.pairs) if p.left}
    assert score_matching(q, right) == Score(4.0, 4.0, True, ())
    half = {0: "Forum", 1: "Choice", 2: "Chat", 3: "Forum"}  # Chat is the distractor
    assert score_matching(q, half).points == 2.0
    assert score_matching(q, {}).points == 0
    with pytest.raises(ValidationFailed):
        score_matching(q, {9: "Forum"})


def test_essay_waits_for_a_grader_and_description_never_does() -> None:
    essay = gift_question("moodle/questions.gift.txt", "Q8")
    assert score_answer(essay, Answer(text="Baik")) == Score(0.0, 1.0, None, ())
    description = gift_question("fuhrmanator-GIFT-grammar-PEG.js/description1.gift")
    assert score_answer(description, None) == Score(0.0, 0.0, True, ())


def test_unknown_choice_is_refused() -> None:
    q = gift_question("fuhrmanator-GIFT-grammar-PEG.js/mc1.gift")
    with pytest.raises(ValidationFailed):
        score_answer(q, Answer(choices=frozenset({7})))


def test_a_missing_answer_scores_zero_for_every_type() -> None:
    questions = parse_gift((GIFT / "moodle" / "questions.gift.txt").read_text()).questions
    for q in questions:
        score = score_answer(q, None)
        assert score.points == 0
        assert score.correct is (None if q.type is QuestionType.ESSAY else False)


# --- properties -------------------------------------------------------------------------------

points = st.sampled_from([1.0, 2.0, 2.5, 10.0, 0.5])


@st.composite
def choice_questions(draw: st.DrawFn) -> Question:
    """Single choice (one 100 % key, other weights anywhere in -100..100) or multiple response
    (k right choices of 100/k %, wrong ones with penalties)."""
    if draw(st.booleans()):
        weights = [100.0, *draw(st.lists(st.floats(-100, 100), min_size=1, max_size=5))]
        kind = QuestionType.SINGLE
    else:
        k = draw(st.integers(1, 5))
        weights = [100 / k] * k + draw(st.lists(st.floats(-100, 0), min_size=1, max_size=4))
        kind = QuestionType.MULTIPLE
    weights = draw(st.permutations(weights))
    choices = tuple(Choice(f"pilihan {i}", w, f"fb {i}") for i, w in enumerate(weights))
    return Question(kind, "Pilih", points=draw(points), choices=choices)


def key_of(q: Question) -> frozenset[int]:
    if q.type is QuestionType.SINGLE:
        return frozenset({next(i for i, c in enumerate(q.choices) if c.weight == 100)})
    return frozenset(i for i, c in enumerate(q.choices) if c.weight > 0)


@given(choice_questions(), st.data())
def test_score_stays_within_zero_and_max(q: Question, data: st.DataObject) -> None:
    picked = data.draw(st.frozensets(st.integers(0, len(q.choices) - 1)))
    score = score_answer(q, Answer(choices=picked))
    assert 0 <= score.points <= score.max_points == q.points


@given(choice_questions())
def test_the_key_earns_full_marks(q: Question) -> None:
    score = score_answer(q, Answer(choices=key_of(q)))
    assert score.points == q.points
    assert score.correct is True


@given(choice_questions(), st.data(), st.text(max_size=8))
def test_score_does_not_depend_on_the_order_choices_were_shown(
    q: Question, data: st.DataObject, seed: str
) -> None:
    picked = data.draw(st.frozensets(st.integers(0, len(q.choices) - 1)))
    order = shuffle_order(seed, list(range(len(q.choices))))  # shown position -> original index
    shown = dataclasses.replace(q, choices=tuple(q.choices[i] for i in order))
    picked_on_screen = frozenset(pos for pos, i in enumerate(order) if i in picked)
    original = score_answer(q, Answer(choices=picked))
    reordered = score_answer(shown, Answer(choices=picked_on_screen))
    assert (reordered.points, reordered.correct) == (original.points, original.correct)
    assert sorted(reordered.feedback) == sorted(original.feedback)


@given(choice_questions(), st.data())
def test_multiple_response_penalty_never_goes_below_zero(q: Question, data: st.DataObject) -> None:
    q = dataclasses.replace(q, type=QuestionType.MULTIPLE)
    picked = data.draw(st.frozensets(st.integers(0, len(q.choices) - 1)))
    total = sum(q.choices[i].weight for i in picked)
    score = score_multiple(q, picked)
    assert score.points >= 0
    assert score.points == pytest.approx(min(1.0, max(0.0, total / 100)) * q.points, abs=1e-4)
    if total <= 0:
        assert score.points == 0


@given(st.booleans(), st.sampled_from([True, False, None]), points)
def test_truefalse_bounds_and_key(key: bool, truth: bool | None, value: float) -> None:
    q = Question(QuestionType.TRUEFALSE, "Benar?", points=value, truefalse_key=key)
    score = score_truefalse(q, truth)
    assert score.points == (value if truth is key else 0.0)


# --- attempts and grades ----------------------------------------------------------------------


def test_grade_attempt_with_an_essay() -> None:
    single = gift_question("fuhrmanator-GIFT-grammar-PEG.js/mc1.gift")
    essay = dataclasses.replace(gift_question("moodle/questions.gift.txt", "Q8"), points=2.0)
    description = gift_question("fuhrmanator-GIFT-grammar-PEG.js/description1.gift")
    questions = [single, essay, description]
    answers = [Answer(choices=frozenset({2})), Answer(text="..."), None]
    assert grade_attempt(questions, answers) == AttemptGrade(1.0, 3.0, True)
    assert grade_attempt(questions, answers, {1: 1.5}) == AttemptGrade(2.5, 3.0, False)
    with pytest.raises(ValidationFailed):
        grade_attempt(questions, answers, {1: 3.0})
    with pytest.raises(ValidationFailed):
        grade_attempt(questions, answers[:2])


def test_grade_attempt_sums_without_float_noise() -> None:
    q = Question(QuestionType.SINGLE, "?", points=0.1, choices=(Choice("a", 100), Choice("b", 0)))
    grade = grade_attempt([q] * 3, [Answer(choices=frozenset({0}))] * 3)
    assert grade == AttemptGrade(0.3, 0.3, False)


def test_grading_methods() -> None:
    scores = [60.0, 85.0, 70.0]
    assert grade_for_learner(scores, "highest") == 85
    assert grade_for_learner(scores, "average") == pytest.approx(71.666666)
    assert grade_for_learner(scores, "first") == 60
    assert grade_for_learner(scores, "last") == 70
    assert grade_for_learner([], "highest") is None
    with pytest.raises(ValidationFailed):
        grade_for_learner(scores, "best")  # type: ignore[arg-type]


@given(st.lists(st.floats(0, 100), min_size=1, max_size=10))
def test_grading_methods_agree_with_each_other(scores: list[float]) -> None:
    highest = grade_for_learner(scores, "highest")
    average = grade_for_learner(scores, "average")
    assert highest == max(scores)
    assert average is not None and min(scores) - 1e-9 <= average <= max(scores) + 1e-9
    assert grade_for_learner(scores, "first") == scores[0]
    assert grade_for_learner(scores, "last") == scores[-1]


def test_shuffle_is_repeatable_per_seed_and_leaves_the_input_alone() -> None:
    items = list(range(10))
    first = shuffle_order("attempt-42", items)
    assert first == shuffle_order("attempt-42", items)
    assert sorted(first) == items and items == list(range(10))
    orders = {tuple(shuffle_order(f"attempt-{n}", items)) for n in range(20)}
    assert len(orders) > 15


@given(st.text(max_size=20), st.lists(st.integers(), max_size=30))
def test_shuffle_is_a_permutation(seed: str, items: list[int]) -> None:
    assert sorted(shuffle_order(seed, items)) == sorted(items)
