"""Scoring rules as pure functions: one per question type, the attempt total, the learner's grade
over several attempts, and the per-attempt shuffle.

No database here: the service maps stored choice/pair ids to their index in the `Question`.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, NamedTuple, TypeVar

from app.core.errors import ValidationFailed
from app.core.i18n import gettext_ as _
from app.quizzes.questions import Choice, NumericAnswer, Question, QuestionType

T = TypeVar("T")
GradingMethod = Literal["highest", "average", "first", "last"]
GRADING_METHODS: tuple[GradingMethod, ...] = ("highest", "average", "first", "last")


@dataclass(frozen=True, slots=True)
class Answer:
    """A learner's response to one question.

    `choices`: indexes into `question.choices` (single, multiple); `text`: what was typed (short,
    numeric, essay); `truth`: the true/false pick; `matches`: pair index -> the right-hand text
    picked for it (matching).
    """

    choices: frozenset[int] = frozenset()
    text: str | None = None
    truth: bool | None = None
    matches: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Score:
    """Points for one answer. `correct` is True for full marks, None while a grader must decide."""

    points: float
    max_points: float
    correct: bool | None
    feedback: tuple[str, ...] = ()


class AttemptGrade(NamedTuple):
    points: float
    max_points: float
    needs_grading: bool


def _fraction(percent: float) -> float:
    """A weight (or sum of weights) as a share of the points: clamped to 0..100 %, and rounded to
    5 decimals so that 3 × 33.33333 % (GIFT's way to write thirds) earns full marks."""
    return round(min(100.0, max(0.0, percent)) / 100, 5)


def _score(q: Question, fraction: float, feedback: Sequence[str]) -> Score:
    """Points for a share in [0, 1]; the question's general feedback comes last."""
    shown = tuple(f for f in (*feedback, q.general_feedback) if f)
    return Score(fraction * q.points, q.points, fraction >= 1, shown)


def _known_choices(q: Question, picked: Collection[int]) -> None:
    if any(not 0 <= i < len(q.choices) for i in picked):
        raise ValidationFailed("Pilihan jawaban tidak dikenal untuk soal ini.", field="choices")


def score_single(q: Question, picked: Collection[int]) -> Score:
    """Single choice: the picked choice's weight × points (a negative weight counts as 0).
    No pick, or more than one, earns 0."""
    _known_choices(q, picked)
    if len(picked) != 1:
        return _score(q, 0.0, ())
    choice = q.choices[next(iter(picked))]
    return _score(q, _fraction(choice.weight), (choice.feedback,))


def score_multiple(q: Question, picked: Collection[int]) -> Score:
    """Multiple response: the sum of the picked choices' weights, clamped to 0..100 %, × points.

    Right choices carry positive weights that add up to 100 %; a wrong choice's negative weight
    is subtracted when it is picked, the penalty for ticking everything. The sum never goes
    below 0 (and never above full marks). Same rule as Moodle's multichoice with several answers.
    """
    _known_choices(q, picked)
    total = math.fsum(q.choices[i].weight for i in picked)
    return _score(q, _fraction(total), [q.choices[i].feedback for i in sorted(picked)])


def score_truefalse(q: Question, truth: bool | None) -> Score:
    """True/false: full points when the pick equals the key; the feedback is the pick's."""
    if truth is None:
        return _score(q, 0.0, ())
    feedback = q.feedback_true if truth else q.feedback_false
    return _score(q, 1.0 if truth == q.truefalse_key else 0.0, (feedback,))


def normalise_text(text: str) -> str:
    """Compare typed answers as people read them: NFKC, case-folded, runs of whitespace as one
    space, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _glob_segments(pattern: str) -> list[str]:
    """Split an accepted answer at its `*` wildcards; `\\*` stands for a literal asterisk."""
    segments: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("\\*", i):
            current.append("*")
            i += 2
            continue
        if pattern[i] == "*":
            segments.append("".join(current))
            current = []
        else:
            current.append(pattern[i])
        i += 1
    segments.append("".join(current))
    return segments


def short_answer_matches(pattern: str, response: str) -> bool:
    """Whether a response fits an accepted answer; `*` matches any run of characters, also none.

    Both sides are normalised first. Matching is greedy left to right (linear time, no regex, so a
    long response cannot make it slow).
    """
    segments = _glob_segments(normalise_text(pattern))
    text = normalise_text(response)
    if len(segments) == 1:
        return text == segments[0]
    first, *middle, last = segments
    if len(text) < len(first) + len(last) or not text.startswith(first) or not text.endswith(last):
        return False
    pos, end = len(first), len(text) - len(last)
    for segment in middle:
        found = text.find(segment, pos, end)
        if found < 0:
            return False
        pos = found + len(segment)
    return True


def score_short(q: Question, text: str | None) -> Score:
    """Short answer: the best weight among the accepted answers the response matches (see
    `short_answer_matches`) × points, with that answer's feedback. A blank response earns 0."""
    if text is None or not normalise_text(text):
        return _score(q, 0.0, ())
    best: Choice | None = None
    for accepted in q.answers:
        if short_answer_matches(accepted.text, text) and (
            best is None or accepted.weight > best.weight
        ):
            best = accepted
    if best is None:
        return _score(q, 0.0, ())
    return _score(q, _fraction(best.weight), (best.feedback,))


_PLAIN_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def parse_number(text: str) -> Decimal | None:
    """A typed number, read the Indonesian way as well as the English one.

    "3,14" and "3.14" are both 3.14; a separator used more than once groups thousands
    ("1.000.000", "1,000,000"); with both kinds the last one is the decimal mark ("1.234,5",
    "1,234.5"). Spaces and the minus sign "−" are accepted. Anything else is None.
    """
    s = unicodedata.normalize("NFKC", text).replace("\u2212", "-")
    s = "".join(s.split())
    dots, commas = s.count("."), s.count(",")
    if dots and commas:
        decimal, group = (".", ",") if s.rfind(".") > s.rfind(",") else (",", ".")
    elif commas:
        decimal, group = (",", "") if commas == 1 else ("", ",")
    else:
        decimal, group = (".", "") if dots <= 1 else ("", ".")
    if group:
        grouped = rf"[-+]?\d{{1,3}}(?:{re.escape(group)}\d{{3}})+"
        tail = rf"(?:{re.escape(decimal)}\d*)?" if decimal else ""
        if not re.fullmatch(grouped + tail, s):
            return None
        s = s.replace(group, "")
    if decimal:
        s = s.replace(decimal, ".")
    if not _PLAIN_NUMBER.fullmatch(s):
        return None
    return Decimal(s)


def _accepts(answer: NumericAnswer, x: Decimal) -> bool:
    """Inside the interval or within the tolerance, both ends included. Decimal arithmetic on the
    numbers as written, so 3.141 is inside 3.1415 ± 0.0005 (binary floats would say no)."""
    if not answer.is_finite:
        return False
    if answer.interval is not None:
        low, high = (Decimal(repr(b)) for b in answer.interval)
        return low <= x <= high
    return abs(x - Decimal(repr(answer.value))) <= Decimal(repr(answer.tolerance))


def score_numeric(q: Question, text: str | None) -> Score:
    """Numeric: the best weight among the answers that accept the number × points (see
    `parse_number` for what may be typed). Otherwise 0, with the question's feedback for any
    other number."""
    if text is None or not text.strip():
        return _score(q, 0.0, ())
    value = parse_number(text)
    best: NumericAnswer | None = None
    if value is not None:
        for answer in q.numeric:
            if _accepts(answer, value) and (best is None or answer.weight > best.weight):
                best = answer
    if best is None:
        return _score(q, 0.0, (q.incorrect_feedback,))
    return _score(q, _fraction(best.weight), (best.feedback,))


def score_matching(q: Question, matches: Mapping[int, str]) -> Score:
    """Matching: points × the share of pairs given their right-hand text (distractors are not
    asked; texts compared after trimming)."""
    if any(not 0 <= i < len(q.pairs) for i in matches):
        raise ValidationFailed("Pasangan tidak dikenal untuk soal ini.", field="pairs")
    asked = [(i, p) for i, p in enumerate(q.pairs) if p.left]
    if not asked:
        return _score(q, 0.0, ())
    right = sum(1 for i, p in asked if matches.get(i, "").strip() == p.right.strip())
    return _score(q, right / len(asked), ())


def score_essay(q: Question) -> Score:
    """Essay: 0 points and `correct=None` until a grader gives points."""
    return Score(0.0, q.points, None, (q.general_feedback,) if q.general_feedback else ())


def score_answer(q: Question, answer: Answer | None) -> Score:
    """Score any question; a missing answer scores as an empty one. A description (nothing to
    answer) is 0 of 0 and counts as correct, so it never holds up grading."""
    a = answer or Answer()
    match q.type:
        case QuestionType.SINGLE:
            return score_single(q, a.choices)
        case QuestionType.MULTIPLE:
            return score_multiple(q, a.choices)
        case QuestionType.TRUEFALSE:
            return score_truefalse(q, a.truth)
        case QuestionType.SHORT:
            return score_short(q, a.text)
        case QuestionType.NUMERIC:
            return score_numeric(q, a.text)
        case QuestionType.MATCHING:
            return score_matching(q, a.matches)
        case QuestionType.ESSAY:
            return score_essay(q)
        case QuestionType.DESCRIPTION:
            return Score(0.0, 0.0, True)


def grade_attempt(
    questions: Sequence[Question],
    answers: Sequence[Answer | None],
    manual_points: Mapping[int, float] | None = None,
) -> AttemptGrade:
    """An attempt's total: the sum of its scores (rounded to 5 decimals).

    `answers[i]` answers `questions[i]`. Essays earn what a grader gave in `manual_points`
    (question index -> points, 0..the question's points); while one has none the attempt
    needs grading.
    """
    if len(answers) != len(questions):
        raise ValidationFailed("Jumlah jawaban tidak sama dengan jumlah soal.", field="answers")
    manual = manual_points or {}
    points = maximum = 0.0
    needs_grading = False
    for i, (q, answer) in enumerate(zip(questions, answers, strict=True)):
        score = score_answer(q, answer)
        maximum += score.max_points
        if score.correct is None:
            if i not in manual:
                needs_grading = True
                continue
            if not 0 <= manual[i] <= q.points:
                raise ValidationFailed(
                    _("Nilai soal %(value)s harus antara 0 dan %(points)s.")
                    % {"value": i + 1, "points": format(q.points, "g")},
                    field="points",
                )
            points += manual[i]
        else:
            points += score.points
    return AttemptGrade(round(points, 5), round(maximum, 5), needs_grading)


def grade_for_learner(attempt_scores: Sequence[float], method: GradingMethod) -> float | None:
    """The quiz grade from the attempts' scores, in the order taken: the highest, the average,
    the first or the last (the quiz's `grading` setting). None before any attempt."""
    if method not in GRADING_METHODS:
        raise ValidationFailed(
            _("Metode penilaian tidak dikenal: %(method)s.") % {"method": method}, field="grading"
        )
    if not attempt_scores:
        return None
    if method == "highest":
        return max(attempt_scores)
    if method == "average":
        return math.fsum(attempt_scores) / len(attempt_scores)
    return attempt_scores[0] if method == "first" else attempt_scores[-1]


def shuffle_order(seed: str, items: Sequence[T]) -> list[T]:
    """A shuffled copy of `items`, always the same for the same seed (e.g. the attempt id), so
    an attempt shows its questions and choices in one order however often it is reloaded."""
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    # Display order, not a secret: the seeded Mersenne Twister is what makes it repeatable.
    rng = random.Random(int.from_bytes(digest[:8], "big"))  # noqa: S311
    shuffled = list(items)
    rng.shuffle(shuffled)
    return shuffled
