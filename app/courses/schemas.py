"""Pydantic shapes for courses, sections, activities, runs and enrolment (api-v1.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from app.courses.constants import Category, DeliveryMode, FundingSource, LearningMode, StaffRole

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
    available_from: dt.datetime | None = None
    available_until: dt.datetime | None = None
    # True: typed by an editor; False: follows the media (video length, PDF pages, words).
    duration_manual: bool = False
    media_minutes: int | None = None  # what the media alone suggests
    media_seconds: float | None = None  # a video's length read from the file
    page_count: int | None = None  # a PDF's pages
    min_view_seconds: int = 0
    body: str | None = None  # a page's markdown (staff only)


class SectionRead(BaseModel):
    id: int
    title: str
    position: int
    activities: list[ActivityRead]
    required_minutes: int = 0  # minutes of its visible required activities


class CourseRead(CourseSummary):
    description: str | None = None
    description_html: str = ""
    sections: list[SectionRead] = Field(default_factory=list)
    runs: list[RunBrief] = Field(default_factory=list)
    # Minutes of the visible required activities and the JP they make (1 JP = 45 minutes).
    required_minutes: int = 0
    suggested_jp: float = 0.0


class SectionCreate(BaseModel):
    title: str = Field(min_length=1, max_length=255)


class SectionUpdate(BaseModel):
    title: str = Field(min_length=1, max_length=255)


class SectionOrder(BaseModel):
    """Every section id of the course, in the new order."""

    section_ids: list[int] = Field(min_length=1, max_length=500)


class ActivityUpdate(BaseModel):
    """Fields to change; those not sent stay. `duration_minutes: null` returns the duration to
    what the media says (video length, PDF pages, words of a page)."""

    title: str | None = Field(default=None, min_length=1, max_length=255)
    body: str | None = Field(default=None, max_length=200_000)
    url: str | None = Field(default=None, max_length=2048)
    duration_minutes: int | None = Field(default=None, ge=0, le=10_000)
    required: bool | None = None
    hidden: bool | None = None
    locked_until_previous: bool | None = None
    min_view_seconds: int | None = Field(default=None, ge=0, le=86_400)
    available_from: dt.datetime | None = None
    available_until: dt.datetime | None = None

    @model_validator(mode="after")
    def _window_in_order(self) -> ActivityUpdate:
        if (
            self.available_from is not None
            and self.available_until is not None
            and self.available_until <= self.available_from
        ):
            raise ValueError("available_until: batas akhir harus sesudah waktu mulai tersedia")
        return self


class ReplacedRead(BaseModel):
    activity: ActivityRead
    attempts_on_old_version: int = 0  # SCORM: attempts that stay on the previous package


class CourseEditRead(BaseModel):
    """One recorded change to a published course."""

    id: int
    at: dt.datetime
    user_id: int | None
    user_name: str | None
    target: str
    target_id: int | None
    target_title: str
    field: str
    old_value: str | None
    new_value: str | None


class ActivityLoss(BaseModel):
    id: int
    title: str
    kind: str
    learners_with_progress: int


class SectionDeletion(BaseModel):
    """What deleting a section takes with it: its activities and the learners' progress in them."""

    section_id: int
    title: str
    activities: list[ActivityLoss]


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
    delivery_mode: DeliveryMode = DeliveryMode.ONLINE
    waitlist: bool = False  # when full, new enrolments wait in order instead of a 409

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


class WaitlistedItem(EnrolledItem):
    """Put on the run's waiting list (the run was full): `position` 1 is next in line."""

    status: str = "waitlisted"
    position: int


class EnrolResult(BaseModel):
    enrolled: list[EnrolledItem]
    skipped: list[SkippedItem]
    waitlisted: list[WaitlistedItem] = Field(default_factory=list)
    # Self-enrolment: the caller's enrolment status ("active" or "waitlisted") and place in line.
    status: str | None = None
    position: int | None = None


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


# --- run editing, staff and the waiting list (app.courses.runs) ---------------------------------

_Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class RunUpdate(BaseModel):
    """Fields of a run to change (PATCH); those not sent stay. `null` clears an optional field
    (enrol window ends, capacity: no limit, organiser). Rules across fields are checked against
    the run's current values (app.courses.runs.update_run)."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    enrol_opens_on: dt.date | None = None
    enrol_closes_on: dt.date | None = None
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    funding_source: FundingSource | None = None
    organiser: str | None = Field(default=None, max_length=255)
    self_enrol: bool | None = None
    instructors: list[_Name] | None = Field(default=None, max_length=20)  # legacy names
    delivery_mode: DeliveryMode | None = None
    waitlist: bool | None = None


class StaffCreate(BaseModel):
    user_id: int = Field(ge=1)
    role: StaffRole
    widyaiswara: bool = False
    external: bool = False


class StaffUpdate(BaseModel):
    role: StaffRole | None = None
    widyaiswara: bool | None = None
    external: bool | None = None


class StaffRead(BaseModel):
    run_id: int
    user_id: int
    name: str
    nip: str | None
    role: str
    widyaiswara: bool
    external: bool
    added_by_id: int | None
    added_at: dt.datetime


class RunEditRead(BaseModel):
    """One recorded change to a run."""

    id: int
    at: dt.datetime
    user_id: int | None
    user_name: str | None
    field: str
    old_value: str | None
    new_value: str | None


class WaitlistEntry(BaseModel):
    enrolment_id: int
    user_id: int
    nip: str | None
    name: str
    position: int
    waitlisted_at: dt.datetime


class RunRead(RunBrief):
    """A run with what editing shows: its delivery mode, waiting list and staff."""

    course_id: int
    delivery_mode: str
    waitlist: bool
    waiting: int
    instructors: list[str]
