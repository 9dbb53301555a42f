"""Pydantic shapes for courses, sections, activities, runs and enrolment (api-v1.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from app.courses.constants import Category, FundingSource, LearningMode

TargetLevel = Annotated[int | None, Field(ge=1, le=10)]


class CourseCreate(BaseModel):
    code: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    title: str = Field(min_length=3, max_length=255)
    summary: str | None = Field(default=None, max_length=1000)
    description: str | None = Field(default=None, max_length=100_000)
    jp: int = Field(ge=1, le=1000)
    category: Category
    learning_mode: LearningMode = LearningMode.E_LEARNING
    competencies: list[str] = Field(default_factory=list, max_length=50)
    # Target level per competency code (the level the course brings a learner to); optional.
    competency_levels: dict[str, TargetLevel] = Field(default_factory=dict, max_length=50)


class CourseUpdate(BaseModel):
    title: str | None = Field(default=None, min_length=3, max_length=255)
    summary: str | None = Field(default=None, max_length=1000)
    description: str | None = Field(default=None, max_length=100_000)
    jp: int | None = Field(default=None, ge=1, le=1000)
    category: Category | None = None
    learning_mode: LearningMode | None = None
    competencies: list[str] | None = Field(default=None, max_length=50)
    # None keeps the current target levels of the codes kept; {} clears them.
    competency_levels: dict[str, TargetLevel] | None = Field(default=None, max_length=50)


class RunBrief(BaseModel):
    id: int
    name: str
    starts_on: dt.date
    ends_on: dt.date
    enrol_opens_on: dt.date | None
    enrol_closes_on: dt.date | None
    capacity: int | None
    enrolled_count: int
    funding_source: str
    organiser: str | None
    self_enrol: bool
    open_for_enrolment: bool


class CourseSummary(BaseModel):
    id: int
    code: str
    title: str
    summary: str | None = None
    jp: int
    category: str
    learning_mode: str
    status: str
    competencies: list[str] = Field(default_factory=list)
    competency_levels: dict[str, int] = Field(default_factory=dict)  # codes with a target level
    open_runs: list[RunBrief] = Field(default_factory=list)


class ActivityRead(BaseModel):
    id: int
    kind: str
    title: str
    duration_minutes: int
    required: bool
    completion_rule: str
    locked_until_previous: bool
    hidden: bool
    position: int
    url: str | None = None
    file_name: str | None = None
    file_size: int | None = None
    content_type: str | None = None


class SectionRead(BaseModel):
    id: int
    title: str
    position: int
    activities: list[ActivityRead]


class CourseRead(CourseSummary):
    description: str | None = None
    description_html: str = ""
    sections: list[SectionRead] = Field(default_factory=list)
    runs: list[RunBrief] = Field(default_factory=list)


class SectionCreate(BaseModel):
    title: str = Field(min_length=1, max_length=255)


class Created(BaseModel):
    id: int


class ActivityCreated(BaseModel):
    id: int
    kind: str
    title: str
    section_id: int
    file_id: int | None = None
    scorm_package_id: int | None = None


class StatusRead(BaseModel):
    status: str


class RunCreate(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    starts_on: dt.date
    ends_on: dt.date
    enrol_opens_on: dt.date | None = None
    enrol_closes_on: dt.date | None = None
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    funding_source: FundingSource
    organiser: str | None = Field(default=None, max_length=255)
    self_enrol: bool = True
    # Widyaiswara/narasumber of the run; the post-course survey asks about each one.
    instructors: list[
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    ] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _dates_in_order(self) -> RunCreate:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on: tanggal selesai tidak boleh sebelum tanggal mulai")
        if (
            self.enrol_opens_on
            and self.enrol_closes_on
            and self.enrol_closes_on < self.enrol_opens_on
        ):
            raise ValueError("enrol_closes_on: pendaftaran tidak boleh ditutup sebelum dibuka")
        if self.enrol_closes_on and self.enrol_closes_on > self.ends_on:
            raise ValueError(
                "enrol_closes_on: pendaftaran harus ditutup paling lambat saat angkatan selesai"
            )
        return self


class EnrolRequest(BaseModel):
    user_ids: list[int] | None = Field(default=None, max_length=20_000)
    nips: list[str] | None = Field(default=None, max_length=20_000)
    opd_code: str | None = None


class EnrolledItem(BaseModel):
    user_id: int
    nip: str | None
    name: str
    enrolment_id: int


class SkippedItem(BaseModel):
    user_id: int | None = None
    nip: str | None = None
    row: int | None = None
    reason: str


class EnrolResult(BaseModel):
    enrolled: list[EnrolledItem]
    skipped: list[SkippedItem]


class EnrolmentRead(BaseModel):
    id: int
    run_id: int
    user_id: int
    nip: str | None
    name: str
    opd_code: str | None
    status: str
    enrolled_at: dt.datetime
    withdrawn_at: dt.datetime | None
