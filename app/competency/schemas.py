"""Pydantic shapes of the competency catalog, imports, gaps, gap map and enrol-by-gap."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from app.competency.constants import CompetencyGroup
from app.courses.schemas import EnrolResult


class LevelRead(BaseModel):
    level: int
    description: str | None = None


class CompetencyRead(BaseModel):
    code: str
    name: str
    group: str
    description: str | None
    max_level: int
    levels: list[LevelRead]
    is_active: bool


class CompetencyCreate(BaseModel):
    code: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
    name: str = Field(min_length=2, max_length=255)
    group: CompetencyGroup = CompetencyGroup.TEKNIS
    description: str | None = Field(default=None, max_length=5000)
    max_level: int = Field(default=5, ge=1, le=10)
    level_descriptions: list[str] = Field(default_factory=list, max_length=10)


class CompetencyUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=2, max_length=255)
    group: CompetencyGroup | None = None
    description: str | None = Field(default=None, max_length=5000)
    max_level: int | None = Field(default=None, ge=1, le=10)
    level_descriptions: list[str] | None = Field(default=None, max_length=10)
    is_active: bool | None = None


class ImportRowError(BaseModel):
    row: int
    field: str
    message: str


class ImportResult(BaseModel):
    imported: int
    created: int = 0
    updated: int = 0
    errors: list[ImportRowError]


class GapRead(BaseModel):
    competency: str
    name: str
    required: int
    achieved: int
    gap: int


class CompetencyLevelRead(BaseModel):
    """One assessed competency of the ASN, with or without a standard."""

    competency: str
    name: str
    group: str | None
    required: int | None
    achieved: int
    gap: int
    assessed_on: dt.date


class RecommendedCourse(BaseModel):
    id: int
    code: str
    title: str
    jp: int
    competency: str
    target_level: int | None
    run_id: int | None  # an open run, if any (the learner can enrol now)
    enrolled: bool = False  # the ASN is already enrolled in a run of this course


class RecommendedMentor(BaseModel):
    id: int
    name: str
    opd_code: str | None
    competency: str
    level: int
    same_opd: bool


class GapsRead(BaseModel):
    user_id: int
    jpm_percent: float | None
    band: str | None
    assessed_on: dt.date | None
    gaps: list[GapRead]
    competencies: list[CompetencyLevelRead]
    recommended_courses: list[RecommendedCourse]
    recommended_mentors: list[RecommendedMentor]


class GapMapCell(BaseModel):
    competency: str
    opd_code: str
    assessed: int
    with_gap: int
    gap_percent: float


class GapMapCompetency(BaseModel):
    code: str
    name: str
    group: str


class GapMapOpd(BaseModel):
    code: str
    name: str


class GapMapRead(BaseModel):
    competencies: list[GapMapCompetency]
    opds: list[GapMapOpd]
    cells: list[GapMapCell]


class EnrolByGapIn(BaseModel):
    competency: str = Field(min_length=1, max_length=64)
    opd_code: str | None = Field(default=None, max_length=32)
    run_id: int
    dry_run: bool = False


class GapCandidate(BaseModel):
    user_id: int
    name: str
    nip: str | None
    opd_code: str | None
    achieved: int
    required: int


class EnrolByGapResult(BaseModel):
    competency: str
    run_id: int
    dry_run: bool
    candidates: list[GapCandidate]
    result: EnrolResult | None = None
