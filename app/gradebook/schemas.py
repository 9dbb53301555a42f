"""API shapes of the gradebook (api-v1: `{items:[{id, title, weight}], rows:[{user_id, grades,
final_score, predikat}]}`; the rest is added)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field, field_validator


class GradebookItem(BaseModel):
    """One graded item. `weight`: its share of the final score in percent (the component's
    weight split among the component's items by their own weights; 0: shown, not scored)."""

    id: str  # "posttest:<quiz id>", "assignment:<activity id>", "attendance", "activities",
    # "survey", "rtl"
    title: str
    weight: float
    kind: str  # posttest | assignment | attendance | activities | survey | rtl


class OverrideRead(BaseModel):
    user_id: int
    score: float
    reason: str
    by_id: int | None
    at: dt.datetime


class GradebookRow(BaseModel):
    user_id: int
    name: str
    nip: str | None
    grades: dict[str, float | bool | None]  # item id -> percent (None: no grade yet) or flag
    computed_score: float | None  # by the course's formula
    final_score: float | None  # what the certificate uses: the override, else computed
    predikat: str | None
    override: OverrideRead | None = None
    completed: bool = False


class Gradebook(BaseModel):
    run_id: int
    run_name: str
    course_id: int
    course_title: str
    score_formula: str  # posttest | weighted
    items: list[GradebookItem]
    rows: list[GradebookRow]


class OverrideIn(BaseModel):
    """A final score set by hand (0-100) and why (recorded in the audit log)."""

    score: float = Field(ge=0, le=100)
    reason: str = Field(min_length=3, max_length=500)

    @field_validator("reason")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        text = " ".join(value.split())
        if len(text) < 3:
            raise ValueError("Tuliskan alasan perubahan nilai (paling sedikit 3 karakter).")
        return text
