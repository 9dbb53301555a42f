"""Certification rules of a course resolved against the institution's settings, and the pure
scoring rules: final score and predikat."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from typing import Any

from app.certificates.models import CertificationRules
from app.core.config import Settings

# Row column -> Settings attribute: a None column means "the institution's setting".
_DEFAULTS: dict[str, str] = {
    "pass_score": "cert_pass_score",
    "score_formula": "cert_score_formula",
    "require_posttest": "cert_require_posttest",
    "min_learning_minutes": "cert_min_learning_minutes",
    "require_survey": "cert_require_survey",
    "require_rtl": "cert_require_rtl",
    "require_profile": "cert_require_profile",
    "auto_issue": "cert_auto_issue",
    "validity_years": "cert_validity_years",
    "curriculum_page": "cert_curriculum_page",
    "min_attendance_percent": "cert_min_attendance_percent",
}
SCORE_COMPONENTS = ("posttest", "activities", "assignments", "attendance")


@dataclass(frozen=True, slots=True)
class Rules:
    """A course's effective certification rules (course override, else institution setting)."""

    course_id: int
    pass_score: float
    predikat_bands: list[tuple[float, str]]
    predikat_lowest: str
    score_formula: str
    weights: dict[str, float]
    require_posttest: bool
    min_learning_minutes: int
    require_survey: bool
    require_rtl: bool
    require_profile: bool
    auto_issue: bool
    validity_years: int
    curriculum_page: bool
    template_id: int | None = None
    min_attendance_percent: float = 0.0  # 0: rule off
    overridden: tuple[str, ...] = field(default=())


def resolve(course_id: int, row: CertificationRules | None, settings: Settings) -> Rules:
    """Rule: each course field overrides the institution's setting; None inherits it."""
    values: dict[str, Any] = {}
    overridden: list[str] = []
    for column, setting in _DEFAULTS.items():
        own = getattr(row, column) if row is not None else None
        values[column] = getattr(settings, setting) if own is None else own
        if own is not None:
            overridden.append(column)
    bands = settings.cert_predikat_bands
    if row is not None and row.predikat_bands_json:
        bands = [(float(a), str(label)) for a, label in json.loads(row.predikat_bands_json)]
        overridden.append("predikat_bands")
    weights = dict(settings.cert_weights)
    if row is not None and row.weights_json:
        weights = {str(k): float(v) for k, v in json.loads(row.weights_json).items()}
        overridden.append("weights")
    return Rules(
        course_id=course_id,
        predikat_bands=sorted(bands, key=lambda b: -b[0]),
        predikat_lowest=settings.cert_predikat_lowest,
        weights=weights,
        template_id=row.template_id if row is not None else None,
        overridden=tuple(overridden),
        **values,
    )


def rule_names() -> list[str]:
    return [f.name for f in fields(Rules)]


def predikat(score: float | None, bands: list[tuple[float, str]], lowest: str) -> str | None:
    """DESIGN: predikat from the final score, strictly above each band's bound (> 90 Sangat
    Memuaskan, > 80 Memuaskan, > 70 Cukup Memuaskan, > 60 Kurang Memuaskan, else Tidak
    Memuaskan); no score, no predikat."""
    if score is None:
        return None
    for above, label in sorted(bands, key=lambda b: -b[0]):
        if score > above:
            return label
    return lowest


def final_score(
    formula: str,
    weights: dict[str, float],
    *,
    posttest: float | None,
    activities: float,
    assignments: float | None = None,
    attendance: float | None = None,
) -> float | None:
    """Final score: the post-test grade ("posttest"), or the weighted mean of the components
    named in the weights ("weighted"):

    - posttest: the post-test grade (mean of the course's post-tests);
    - activities: % of required activities done;
    - assignments: the weighted mean of the released assignment grades in percent
      (`assignments_percent`);
    - attendance: the attendance percent of the run's live sessions.

    A component with a positive weight but no value (a post-test not graded yet, an assignment
    grade not released yet) gives no score yet; a component with weight 0 or absent is ignored,
    so courses without the new weights score as before."""
    if formula != "weighted":
        return None if posttest is None else round(posttest, 2)
    parts = {
        "posttest": posttest,
        "activities": activities,
        "assignments": assignments,
        "attendance": attendance,
    }
    used = {k: w for k, w in weights.items() if w > 0 and k in parts}
    if not used or any(parts[k] is None for k in used):
        return None
    total = math.fsum(used.values())
    return round(math.fsum(float(parts[k] or 0.0) * w for k, w in used.items()) / total, 2)


def assignments_percent(
    items: list[tuple[int, float]], grades: dict[int, float]
) -> float | None:
    """The assignments component: the mean of the released grades (percent of max points)
    weighted by each assignment's weight (`items`: activity id, weight). Assignments weighing 0
    do not count. Any weighted assignment without a released grade (not submitted, not graded
    or not released yet) means no component yet (None), like a post-test not graded yet: the
    final score waits for it. No weighted assignment at all: None."""
    used = [(aid, w) for aid, w in items if w > 0]
    if not used or any(aid not in grades for aid, _ in used):
        return None
    total = math.fsum(w for _, w in used)
    return round(math.fsum(grades[aid] * w for aid, w in used) / total, 2)


def check_weights(weights: dict[str, float]) -> str | None:
    """Weights name known components, are not negative, and at least one is positive."""
    unknown = sorted(set(weights) - set(SCORE_COMPONENTS))
    if unknown:
        return (
            f"Komponen nilai tidak dikenal: {', '.join(unknown)} "
            f"(pilihan: {', '.join(SCORE_COMPONENTS)})."
        )
    if any(w < 0 for w in weights.values()) or not any(w > 0 for w in weights.values()):
        return "Bobot nilai tidak boleh negatif dan paling sedikit satu harus lebih dari 0."
    return None
