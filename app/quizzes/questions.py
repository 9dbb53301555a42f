"""Question content as plain, immutable values, independent of the database.

Importers (GIFT, Aiken) produce these, scoring reads them; models are filled from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from app.core.i18n import gettext_ as _

TextFormat = Literal["moodle", "html", "markdown", "plain"]
TEXT_FORMATS: tuple[TextFormat, ...] = ("moodle", "html", "markdown", "plain")

# The blank a missing-word question shows where its answer block stood (Moodle's marker).
BLANK = "_____"


class QuestionType(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    TRUEFALSE = "truefalse"
    SHORT = "short"
    NUMERIC = "numeric"
    MATCHING = "matching"
    ESSAY = "essay"
    DESCRIPTION = "description"  # text only, nothing to answer (GIFT "description")


@dataclass(frozen=True, slots=True)
class Choice:
    """A weighted text with feedback: an option of a choice question, or an accepted short answer.

    `weight` is a percentage of the question's points, -100..100 (negative = penalty).
    """

    text: str
    weight: float = 0.0
    feedback: str = ""


@dataclass(frozen=True, slots=True)
class NumericAnswer:
    """An accepted number: `value` ± `tolerance`, or the closed `interval` (low, high) when set."""

    value: float
    tolerance: float = 0.0
    interval: tuple[float, float] | None = None
    weight: float = 100.0
    feedback: str = ""

    @classmethod
    def between(
        cls, low: float, high: float, *, weight: float = 100.0, feedback: str = ""
    ) -> NumericAnswer:
        """An interval answer; `value`/`tolerance` hold its midpoint and half-width for display."""
        mid = (low + high) / 2
        return cls(mid, high - mid, (low, high), weight, feedback)

    @property
    def bounds(self) -> tuple[float, float]:
        if self.interval is not None:
            return self.interval
        return (self.value - self.tolerance, self.value + self.tolerance)

    @property
    def is_finite(self) -> bool:
        return all(math.isfinite(x) for x in (*self.bounds, self.value, self.tolerance))


@dataclass(frozen=True, slots=True)
class MatchPair:
    """One left item and its right answer; an empty `left` is a distractor (extra right answer)."""

    left: str
    right: str


@dataclass(frozen=True, slots=True)
class Question:
    """One question's content. Only the fields of its `type` are filled.

    - single/multiple: `choices`; truefalse: `truefalse_key`, `feedback_true`, `feedback_false`
      (the feedback shown to whoever picked True / False);
    - short: `answers` (accepted texts, `*` is a wildcard); numeric: `numeric`,
      `incorrect_feedback` (for any other number); matching: `pairs`; essay, description: none.

    `line` is where the question starts in its source file; it takes no part in equality.
    """

    type: QuestionType
    text: str
    title: str = ""
    text_format: TextFormat = "moodle"
    points: float = 1.0
    choices: tuple[Choice, ...] = ()
    answers: tuple[Choice, ...] = ()
    numeric: tuple[NumericAnswer, ...] = ()
    pairs: tuple[MatchPair, ...] = ()
    general_feedback: str = ""
    truefalse_key: bool | None = None
    feedback_true: str = ""
    feedback_false: str = ""
    incorrect_feedback: str = ""
    category: str = ""
    line: int = field(default=0, compare=False)

    @property
    def gradable_pairs(self) -> tuple[MatchPair, ...]:
        """The matching pairs a learner must answer (distractors left out)."""
        return tuple(p for p in self.pairs if p.left)


@dataclass(frozen=True, slots=True)
class ParseError:
    line: int
    message: str


@dataclass(slots=True)
class ParseResult:
    """What an importer read. The caller imports nothing when `errors` is not empty."""

    questions: list[Question] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, line: int, message: str) -> None:
        """Record a problem; the message starts with the line, as the importer UI shows it."""
        self.errors.append(
            ParseError(line, _("Baris %(line)s: %(message)s") % {"line": line, "message": message})
        )


def category_name(path: str | None) -> str:
    """A bank category as people read it: Moodle's GIFT paths ("$course$/Literasi Digital/Tes
    awal", "$system$/top/Umum") show their last element; the full path stays in the data."""
    parts = [p.strip() for p in (path or "").split("/") if p.strip()]
    parts = [p for p in parts if not (p.startswith("$") and p.endswith("$")) and p != "top"]
    return parts[-1] if parts else (path or "")
