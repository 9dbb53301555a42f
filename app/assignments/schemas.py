"""Pydantic shapes of assignments, submissions, grades and rubrics (api-v1.md, "Classroom and
blended delivery")."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

TEXT_MAX = 200_000
FEEDBACK_MAX = 50_000


class SubmissionCreate(BaseModel):
    """Files uploaded through /api/v1/assignments/{id}/uploads and/or online text; `draft`
    keeps it as a draft instead of handing it in."""

    file_ids: list[int] | None = Field(default=None, max_length=20)
    text: str | None = Field(default=None, max_length=TEXT_MAX)
    draft: bool = False


class SubmissionCreated(BaseModel):
    id: int
    status: str
    late: bool
    version: int


class FileRead(BaseModel):
    id: int
    file_id: int  # the stored file (what a submission's file_ids name)
    filename: str
    size: int
    content_type: str
    url: str


class RubricScoreRead(BaseModel):
    criterion_id: int
    level_id: int
    points: float


class SubmissionRead(BaseModel):
    """A version of a learner's work; the grade fields are null for a learner until released."""

    id: int
    activity_id: int
    run_id: int
    user_id: int
    version: int
    status: str
    late: bool
    text: str | None
    submitted_at: dt.datetime | None
    files: list[FileRead]
    released: bool
    points: float | None = None
    max_points: float | None = None
    feedback: str | None = None
    rubric: list[RubricScoreRead] = []
    feedback_files: list[FileRead] = []
    graded_at: dt.datetime | None = None


class QueueRow(BaseModel):
    submission_id: int
    user_id: int
    name: str
    nip: str | None
    version: int
    status: str
    late: bool
    submitted_at: dt.datetime | None
    points: float | None


class QueueRead(BaseModel):
    activity_id: int
    run_id: int
    state: str
    released: bool
    learners: int
    counts: dict[str, int]
    rows: list[QueueRow]


class RubricPick(BaseModel):
    criterion_id: int
    level_id: int


class GradeIn(BaseModel):
    """`{points}` or `{rubric:[{criterion_id, level_id}]}`, with optional feedback text."""

    points: float | None = Field(default=None, ge=0, le=1000)
    rubric: list[RubricPick] | None = Field(default=None, max_length=100)
    feedback: str | None = Field(default=None, max_length=FEEDBACK_MAX)


class GradeRead(BaseModel):
    id: int
    status: str
    points: float
    max_points: float
    released: bool


class ReleaseRead(BaseModel):
    activity_id: int
    run_id: int
    released_at: dt.datetime
    notified: int
    completed: int


class LevelIn(BaseModel):
    title: str = Field(min_length=1, max_length=255)
    points: float = Field(ge=0, le=1000)
    description: str | None = Field(default=None, max_length=4000)


class CriterionIn(BaseModel):
    title: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=4000)
    levels: list[LevelIn] = Field(min_length=1, max_length=10)


class RubricCreate(BaseModel):
    title: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=4000)
    criteria: list[CriterionIn] = Field(min_length=1, max_length=50)


class LevelRead(BaseModel):
    id: int
    title: str
    points: float
    description: str | None


class CriterionRead(BaseModel):
    id: int
    title: str
    description: str | None
    levels: list[LevelRead]

    @property
    def best(self) -> float:
        return max((lv.points for lv in self.levels), default=0.0)


class RubricRead(BaseModel):
    id: int
    title: str
    description: str | None
    max_points: float
    archived: bool
    in_use: bool = False
    criteria: list[CriterionRead]


class RubricBrief(BaseModel):
    id: int
    title: str
    archived: bool


QueueState = Literal["ungraded", "late", "all", "graded"]
