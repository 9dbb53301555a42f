"""Gradebook of a run: every graded item (post-tests, assignments, attendance, required
activities, survey/RTL flags) with its share of the final score, each active or completed
learner's grades, final score and predikat, and overrides of the final score.

Rules:
- The final score is the certificates domain's (app.certificates.rules.final_score with every
  component); an override set here replaces it for the certificate and the predikat (until an
  issued certificate: that keeps its snapshot).
- Item weights: the course's component weights (weighted formula; the post-test formula is
  post-test 100) as percent of their sum, split among the component's items: post-tests
  equally (the component is their mean), assignments by each assignment's own weight,
  attendance and required activities one item each; survey and RTL are flags of weight 0.
- Who sees what: run managers and the run's facilitators and graders see every row (GRADE);
  a learner enrolled in the run sees only their own row; anyone else 403 (anonymous 401).
- A fixed number of statements whatever the number of learners and items.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.service import Principal
from app.certificates import rules as rules_mod
from app.certificates import service as certificates
from app.core.config import Settings
from app.core.db import utcnow
from app.core.errors import Forbidden, NotFound
from app.core.i18n import gettext_ as _
from app.courses import staff
from app.gradebook import repository
from app.gradebook.models import GradeOverride
from app.gradebook.schemas import (
    Gradebook,
    GradebookItem,
    GradebookRow,
    OverrideIn,
    OverrideRead,
)


@dataclass(frozen=True, slots=True)
class AssignmentRef:
    """What the gradebook shows of an assignment (app.assignments' AssignmentItem)."""

    activity_id: int
    title: str
    weight: float


def component_shares(formula: str, weights: dict[str, float]) -> dict[str, float]:
    """Each scored component's share of the final score, in percent (summing to 100): the
    weighted formula's positive weights over their sum; the post-test formula: post-test 100."""
    if formula != "weighted":
        return {"posttest": 100.0}
    used = {k: w for k, w in weights.items() if w > 0 and k in rules_mod.SCORE_COMPONENTS}
    total = math.fsum(used.values())
    return {k: 100.0 * w / total for k, w in used.items()} if total else {}


def build_items(
    formula: str,
    weights: dict[str, float],
    *,
    posttests: Sequence[tuple[int, str]],
    assignments: Sequence[AssignmentRef],
    attendance: bool,
    survey: bool,
    rtl: bool,
) -> list[GradebookItem]:
    """The gradebook's columns with their effective weights (see the module's rules)."""
    shares = component_shares(formula, weights)
    items: list[GradebookItem] = []
    for quiz_id, title in posttests:
        share = shares.get("posttest", 0.0) / len(posttests)
        items.append(GradebookItem(id=f"posttest:{quiz_id}", title=title or _("Post-test"),
                                   weight=round(share, 2), kind="posttest"))  # fmt: skip
    weighed = math.fsum(a.weight for a in assignments if a.weight > 0)
    for a in assignments:
        share = shares.get("assignments", 0.0) * a.weight / weighed if a.weight > 0 else 0.0
        items.append(GradebookItem(id=f"assignment:{a.activity_id}", title=a.title,
                                   weight=round(share, 2), kind="assignment"))  # fmt: skip
    if attendance or "attendance" in shares:
        items.append(GradebookItem(id="attendance", title=_("Kehadiran"),
                                   weight=round(shares.get("attendance", 0.0), 2),
                                   kind="attendance"))  # fmt: skip
    items.append(GradebookItem(id="activities", title=_("Aktivitas wajib selesai"),
                               weight=round(shares.get("activities", 0.0), 2),
                               kind="activities"))  # fmt: skip
    if survey:
        items.append(GradebookItem(id="survey", title=_("Evaluasi penyelenggaraan"), weight=0,
                                   kind="survey"))  # fmt: skip
    if rtl:
        items.append(GradebookItem(id="rtl", title=_("Rencana tindak lanjut (RTL)"), weight=0,
                                   kind="rtl"))  # fmt: skip
    return items


def _grades(row: certificates.ScoreRow, items: Sequence[GradebookItem]) -> dict[str, Any]:
    out: dict[str, float | bool | None] = {}
    for item in items:
        kind, _sep, key = item.id.partition(":")
        if kind == "posttest":
            out[item.id] = row.posttests.get(int(key))
        elif kind == "assignment":
            out[item.id] = row.assignments.get(int(key))
        elif kind == "attendance":
            out[item.id] = 100.0 if row.attendance is None else row.attendance
        elif kind == "activities":
            out[item.id] = row.activities
        elif kind == "survey":
            out[item.id] = row.survey_sent
        elif kind == "rtl":
            out[item.id] = row.rtl_sent
    return out


def override_read(row: GradeOverride) -> OverrideRead:
    return OverrideRead(user_id=row.user_id, score=row.score, reason=row.reason,
                        by_id=row.by_id, at=row.at)  # fmt: skip


def can_grade(session: Session, principal: Principal, run_id: int) -> bool:
    """Run managers and the run's facilitators and graders (404 for an unknown run)."""
    return staff.access(session, principal, run_id).can(staff.GRADE)


def gradebook(
    session: Session, run_id: int, principal: Principal, settings: Settings
) -> Gradebook:
    """The run's gradebook: every row for its staff, the learner's own row for a learner of
    the run, 403 for anyone else."""
    found = staff.access(session, principal, run_id)
    if found.can(staff.GRADE):
        user_ids: list[int] | None = None
    elif found.enrolment is not None:
        user_ids = [principal.user_id]
    else:
        raise Forbidden("Anda bukan peserta atau pengajar angkatan ini.", code="not_run_member")
    scores = certificates.run_scores(session, run_id, settings, user_ids)
    rules = scores.rules
    assignments = [AssignmentRef(aid, title, weight) for aid, title, weight in scores.assignments]
    items = build_items(
        rules.score_formula,
        rules.weights,
        posttests=scores.posttests,
        assignments=assignments,
        attendance=scores.has_live,
        survey=rules.require_survey,
        rtl=rules.require_rtl,
    )
    overrides = (
        {o.user_id: o for o in repository.overrides_of_run(session, run_id)}
        if any(r.override is not None for r in scores.rows)
        else {}
    )
    rows = [
        GradebookRow(
            user_id=r.user_id,
            name=r.name,
            nip=r.nip,
            grades=_grades(r, items),
            computed_score=r.computed,
            final_score=r.final_score,
            predikat=r.predikat,
            override=override_read(overrides[r.user_id]) if r.user_id in overrides else None,
            completed=r.completed,
        )
        for r in scores.rows
    ]
    return Gradebook(
        run_id=scores.run_id,
        run_name=scores.run_name,
        course_id=scores.course_id,
        course_title=scores.course_title,
        score_formula=rules.score_formula,
        items=items,
        rows=rows,
    )


def _learner_of_run(session: Session, run_id: int, user_id: int) -> None:
    from app.courses import service as courses_service

    enrolment = courses_service.get_enrolment(session, run_id, user_id)
    if enrolment.status not in ("active", "completed"):
        raise NotFound("Peserta tidak terdaftar di angkatan ini.", code="enrolment_not_found")


def set_override(
    session: Session,
    run_id: int,
    user_id: int,
    data: OverrideIn,
    principal: Principal,
    settings: Settings,
) -> OverrideRead:
    """Run staff who grade set a learner's final score by hand, with a reason (audited); the
    stored completion (not yet certified) takes the new score and predikat."""
    staff.require_staff(session, principal, run_id, staff.GRADE)
    _learner_of_run(session, run_id, user_id)
    row = repository.get_override(session, run_id, user_id)
    before = {"score": row.score, "reason": row.reason} if row is not None else None
    if row is None:
        row = GradeOverride(run_id=run_id, user_id=user_id, score=data.score, reason=data.reason)
        repository.add(session, row)
    row.score = round(data.score, 2)
    row.reason = data.reason
    row.by_id = principal.user_id
    row.at = utcnow()
    session.flush()
    audit.record(session, "gradebook.score_overridden", target=("run", run_id),
                 before=before, after={"user_id": user_id, "score": row.score,
                                       "reason": row.reason})  # fmt: skip
    certificates.score_changed(session, run_id, user_id, settings)
    return override_read(row)


def clear_override(
    session: Session, run_id: int, user_id: int, principal: Principal, settings: Settings
) -> None:
    """Back to the computed final score (audited); 404 when no override is set."""
    staff.require_staff(session, principal, run_id, staff.GRADE)
    row = repository.get_override(session, run_id, user_id)
    if row is None:
        raise NotFound("Nilai akhir peserta ini tidak diubah manual.", code="override_not_found")
    before = {"user_id": user_id, "score": row.score, "reason": row.reason}
    repository.delete(session, row)
    audit.record(session, "gradebook.override_cleared", target=("run", run_id),
                 before=before, after={"user_id": user_id})  # fmt: skip
    certificates.score_changed(session, run_id, user_id, settings)
