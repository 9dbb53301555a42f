"""A question's stored content: the `Question` value <-> a version's JSON, with opaque choice ids.

Choice and pair ids are random per version, so their order tells a learner nothing about the key
(GIFT files usually list the right answer first). Parsed versions are cached: a used version
never changes.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from app.quizzes.questions import Choice, MatchPair, NumericAnswer, Question, QuestionType

TRUE_ID, FALSE_ID = "true", "false"


def new_id() -> str:
    return secrets.token_hex(4)


@dataclass(frozen=True, slots=True)
class StoredQuestion:
    """A version as scoring and the attempt page need it: the content plus the ids shown."""

    version_id: int
    question: Question
    choice_ids: tuple[str, ...]  # parallel to question.choices
    pair_ids: tuple[str, ...]  # parallel to question.pairs

    def choice_index(self) -> dict[str, int]:
        return {cid: i for i, cid in enumerate(self.choice_ids)}

    def pair_index(self) -> dict[str, int]:
        return {pid: i for i, pid in enumerate(self.pair_ids)}


_USED: dict[int, StoredQuestion] = {}
_USED_LIMIT = 50_000


def cached(version_id: int) -> StoredQuestion | None:
    """A used (so immutable) version seen before by this process."""
    return _USED.get(version_id)


def remember(stored: StoredQuestion) -> None:
    if len(_USED) >= _USED_LIMIT:
        _USED.clear()
    _USED[stored.version_id] = stored


def to_json(q: Question, *, choice_ids: Sequence[str] = (), pair_ids: Sequence[str] = ()) -> str:
    """The version's `content_json`; ids given are kept (same position), the others are new."""
    choices = [
        {
            "id": choice_ids[i] if i < len(choice_ids) else new_id(),
            "text": c.text,
            "weight": c.weight,
            "feedback": c.feedback,
        }
        for i, c in enumerate(q.choices)
    ]
    pairs = [
        {"id": pair_ids[i] if i < len(pair_ids) else new_id(), "left": p.left, "right": p.right}
        for i, p in enumerate(q.pairs)
    ]
    return json.dumps(
        {
            "choices": choices,
            "answers": [
                {"text": a.text, "weight": a.weight, "feedback": a.feedback} for a in q.answers
            ],
            "numeric": [
                {
                    "value": n.value,
                    "tolerance": n.tolerance,
                    "interval": list(n.interval) if n.interval else None,
                    "weight": n.weight,
                    "feedback": n.feedback,
                }
                for n in q.numeric
            ],
            "pairs": pairs,
            "general_feedback": q.general_feedback,
            "truefalse_key": q.truefalse_key,
            "feedback_true": q.feedback_true,
            "feedback_false": q.feedback_false,
            "incorrect_feedback": q.incorrect_feedback,
        },
        ensure_ascii=False,
    )


def _numeric(n: dict[str, Any]) -> NumericAnswer:
    interval = n.get("interval")
    return NumericAnswer(
        float(n["value"]),
        float(n.get("tolerance", 0.0)),
        (float(interval[0]), float(interval[1])) if interval else None,
        float(n.get("weight", 100.0)),
        n.get("feedback", ""),
    )


def from_row(
    version_id: int,
    type_: str,
    text: str,
    title: str,
    text_format: str,
    points: float,
    content_json: str,
    category: str = "",
) -> StoredQuestion:
    return _parse(version_id, type_, text, title, text_format, points, content_json, category)


@lru_cache(maxsize=8192)
def _parse(
    version_id: int,
    type_: str,
    text: str,
    title: str,
    text_format: str,
    points: float,
    content_json: str,
    category: str,
) -> StoredQuestion:
    data = json.loads(content_json)
    choices = data.get("choices", [])
    pairs = data.get("pairs", [])
    question = Question(
        type=QuestionType(type_),
        text=text,
        title=title,
        text_format=text_format,  # type: ignore[arg-type]
        points=points,
        choices=tuple(
            Choice(c["text"], c.get("weight", 0.0), c.get("feedback", "")) for c in choices
        ),
        answers=tuple(
            Choice(a["text"], a.get("weight", 100.0), a.get("feedback", ""))
            for a in data.get("answers", [])
        ),
        numeric=tuple(_numeric(n) for n in data.get("numeric", [])),
        pairs=tuple(MatchPair(p["left"], p["right"]) for p in pairs),
        general_feedback=data.get("general_feedback", ""),
        truefalse_key=data.get("truefalse_key"),
        feedback_true=data.get("feedback_true", ""),
        feedback_false=data.get("feedback_false", ""),
        incorrect_feedback=data.get("incorrect_feedback", ""),
        category=category,
    )
    return StoredQuestion(
        version_id,
        question,
        tuple(c["id"] for c in choices),
        tuple(p["id"] for p in pairs),
    )


def forget_all() -> None:
    """Empty the cache of used versions (only when ids restart, as after a test wipes tables)."""
    _USED.clear()
