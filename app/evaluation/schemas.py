"""Pydantic shapes of the survey (evaluasi penyelenggaraan), its report and the RTL."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from app.certificates.schemas import IssuedNow
from app.evaluation.constants import MAX_QUESTIONS, QuestionKind, QuestionTarget


class SurveyQuestionIn(BaseModel):
    kind: QuestionKind
    target: QuestionTarget = QuestionTarget.COURSE
    text: str = Field(min_length=1, max_length=1000)
    required: bool = True


class SurveyConfigIn(BaseModel):
    """A course's own question set; an empty list returns the course to the institution's."""

    questions: list[SurveyQuestionIn] = Field(max_length=MAX_QUESTIONS)


class SurveyQuestionRead(BaseModel):
    id: int
    position: int
    kind: str
    target: str
    text: str
    required: bool


class SurveyConfigRead(BaseModel):
    course_id: int | None
    uses_default: bool
    questions: list[SurveyQuestionRead]


class AnswerIn(BaseModel):
    question_id: int
    instructor: str | None = Field(default=None, max_length=255)
    value: int | str | None = None


class SurveySubmit(BaseModel):
    answers: list[AnswerIn] = Field(max_length=1000)


class AnswerRead(BaseModel):
    question_id: int
    instructor: str | None = None
    value: int | str


class SurveyForm(BaseModel):
    """What the learner answers (instructor items once per listed instructor), and their answers
    once sent."""

    run_id: int
    run_name: str
    course_title: str
    instructors: list[str]
    questions: list[SurveyQuestionRead]
    submitted: bool
    submitted_at: dt.datetime | None = None
    answers: list[AnswerRead] = []


class SurveySubmitted(BaseModel):
    run_id: int
    submitted_at: dt.datetime
    # The certificate this survey issued (it completed the course); its PDF is being prepared.
    certificate: IssuedNow | None = None


class ItemStat(BaseModel):
    question_id: int
    text: str
    target: str
    instructor: str | None = None
    count: int
    mean: float | None
    distribution: dict[str, int]  # "1".."5" -> answers


class InstructorStat(BaseModel):
    name: str
    count: int  # Likert answers about this instructor
    mean: float | None


class TextAnswers(BaseModel):
    question_id: int
    text: str
    instructor: str | None = None
    answers: list[str]


class SurveyReport(BaseModel):
    run_id: int
    run_name: str
    course_title: str
    enrolled: int
    responses: int
    items: list[ItemStat]
    instructors: list[InstructorStat]
    texts: list[TextAnswers]


class RtlIn(BaseModel):
    plan: str = Field(max_length=10_000)
    target_date: dt.date


class RtlRead(BaseModel):
    run_id: int
    plan: str
    target_date: dt.date
    submitted_at: dt.datetime
    updated_at: dt.datetime
    editable: bool
