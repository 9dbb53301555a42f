"""Pydantic shapes of the quizzes API (api-v1.md "Quizzes") and the data pages render."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from app.certificates.schemas import IssuedNow

QuizKind = Literal["pretest", "posttest", "exercise"]
Grading = Literal["highest", "last", "first", "average"]
ReviewWhen = Literal["after_submit", "after_close", "never"]
QuestionTypeName = Literal[
    "single", "multiple", "truefalse", "short", "numeric", "matching", "essay", "description"
]


class QuizSettings(BaseModel):
    """Everything a content admin sets on a quiz (create and update share it)."""

    title: str = Field(min_length=1, max_length=255)
    kind: QuizKind = "exercise"
    pass_score: float = Field(default=0, ge=0, le=100)
    time_limit_seconds: int | None = Field(default=None, ge=30, le=24 * 3600)
    max_attempts: int | None = Field(default=None, ge=1, le=100)
    attempt_delay_seconds: int = Field(default=0, ge=0, le=30 * 24 * 3600)
    grading: Grading = "highest"
    shuffle_questions: bool = False
    shuffle_choices: bool = True
    questions_per_attempt: int | None = Field(default=None, ge=1, le=500)
    open_at: dt.datetime | None = None
    close_at: dt.datetime | None = None
    sequential: bool = False
    review_correctness: ReviewWhen = "after_submit"
    review_points: ReviewWhen = "after_submit"
    review_feedback: ReviewWhen = "after_submit"
    review_answers: ReviewWhen = "after_close"
    intro: str | None = Field(default=None, max_length=20_000)
    duration_minutes: int = Field(default=0, ge=0, le=10_000)
    required: bool = True

    @model_validator(mode="after")
    def _times(self) -> QuizSettings:
        for name in ("open_at", "close_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} harus menyertakan zona waktu (mis. +07:00).")
        if self.open_at and self.close_at and self.close_at <= self.open_at:
            raise ValueError("Waktu tutup harus setelah waktu buka.")
        return self


class QuizCreated(BaseModel):
    id: int
    activity_id: int


class QuizRead(QuizSettings):
    id: int
    activity_id: int
    course_id: int
    question_count: int
    total_points: float


class ChoiceIn(BaseModel):
    text: str = Field(min_length=1, max_length=5000)
    correct: bool = False
    weight: float | None = Field(default=None, ge=-100, le=100)
    feedback: str = Field(default="", max_length=5000)
    id: str | None = Field(default=None, max_length=16)


class PairIn(BaseModel):
    left: str = Field(default="", max_length=2000)
    right: str = Field(min_length=1, max_length=2000)
    id: str | None = Field(default=None, max_length=16)


class NumericIn(BaseModel):
    value: float | None = None
    tolerance: float = Field(default=0, ge=0)
    min: float | None = None
    max: float | None = None
    weight: float = Field(default=100, ge=0, le=100)
    feedback: str = Field(default="", max_length=5000)


class QuestionIn(BaseModel):
    """A question as the API and the editor send it. `answers`: accepted texts (short) or numbers /
    `{value, tolerance}` / `{min, max}` (numeric); truefalse takes `correct` (or `answers:[true]`)."""

    type: QuestionTypeName
    text: str = Field(min_length=1, max_length=50_000)
    title: str = Field(default="", max_length=255)
    text_format: Literal["plain", "markdown", "html", "moodle"] = "plain"
    points: float = Field(default=1, gt=0, le=1000)
    category: str | None = Field(default=None, max_length=255)
    choices: list[ChoiceIn] = Field(default_factory=list, max_length=26)
    answers: list[Any] = Field(default_factory=list, max_length=50)
    tolerance: float | None = Field(default=None, ge=0)
    pairs: list[PairIn] = Field(default_factory=list, max_length=26)
    correct: bool | None = None
    general_feedback: str = Field(default="", max_length=10_000)
    feedback_true: str = Field(default="", max_length=5000)
    feedback_false: str = Field(default="", max_length=5000)
    incorrect_feedback: str = Field(default="", max_length=5000)


class QuestionUpdate(QuestionIn):
    regrade: bool = False  # apply the new version to finished attempts (a key fix)


class RandomSlotIn(BaseModel):
    category: str = Field(min_length=1, max_length=255)
    count: int = Field(ge=1, le=500)


class Created(BaseModel):
    id: int


class ImportError_(BaseModel):
    line: int
    message: str


class ImportResult(BaseModel):
    imported: int
    errors: list[ImportError_]


class ChoiceOut(BaseModel):
    id: str
    text: str
    html: str


class QuestionOut(BaseModel):
    """A question as an attempt shows it: never the key, weights or feedback."""

    id: int
    number: int
    type: str
    text: str
    html: str
    points: float
    choices: list[ChoiceOut] | None = None
    pairs: list[ChoiceOut] | None = None  # matching: the left items
    options: list[str] | None = None  # matching: the right answers to pick from, shuffled


class SavedAnswer(BaseModel):
    question_id: int
    choice_ids: list[str] | None = None
    text: str | None = None
    value: float | str | None = None
    pairs: list[dict[str, str]] | None = None


class AttemptRead(BaseModel):
    id: int
    quiz_id: int
    number: int
    state: str
    started_at: dt.datetime
    deadline: dt.datetime | None
    remaining_seconds: int | None
    sequential: bool
    furthest_position: int
    questions: list[QuestionOut]
    answers: list[SavedAnswer]


class AnswerIn(BaseModel):
    question_id: int
    choice_ids: list[str] | None = Field(default=None, max_length=26)
    text: str | None = Field(default=None, max_length=20_000)
    value: float | str | None = None
    pairs: list[dict[str, str]] | None = Field(default=None, max_length=26)


class AnswersIn(BaseModel):
    answers: list[AnswerIn] = Field(max_length=500)
    position: int | None = Field(default=None, ge=0)  # sequential: the question now shown


class SaveResult(BaseModel):
    saved: int
    saved_at: dt.datetime
    remaining_seconds: int | None


class SubmitResult(BaseModel):
    id: int
    score: float | None
    max_score: float | None
    percent: float | None
    passed: bool | None
    state: Literal["graded", "needs_grading"]
    # The certificate this submit issued (it completed the course); its PDF is being prepared.
    certificate: IssuedNow | None = None


class ReviewItem(BaseModel):
    question_id: int
    number: int
    type: str
    html: str
    points: float
    response: str  # the learner's answer, as text
    correct: bool | None = None  # None: not shown or not decided
    awarded: float | None = None
    feedback: list[str] = Field(default_factory=list)
    right_answer: str | None = None
    grader_comment: str | None = None


class ReviewRead(BaseModel):
    attempt: SubmitResult
    quiz_title: str
    number: int
    started_at: dt.datetime
    submitted_at: dt.datetime | None
    auto_submitted: bool
    shows: dict[str, bool]
    items: list[ReviewItem]


class EssayGrade(BaseModel):
    question_id: int
    points: float = Field(ge=0)
    comment: str = Field(default="", max_length=10_000)


class ResultRow(BaseModel):
    user_id: int
    nip: str
    name: str
    opd: str
    attempts: int
    grade_percent: float | None
    passed: bool | None
    state: str
    last_attempt_id: int | None
    submitted_at: dt.datetime | None
