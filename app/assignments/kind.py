"""The "assignment" activity kind as the courses domain sees it (app.courses.kinds): checking and
storing its settings, and what its activity page shows to a learner or to run staff."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.assignments import repository, service
from app.auth.service import Principal
from app.core.markdown import render_markdown
from app.courses import kinds, staff
from app.courses import repository as courses_repository
from app.courses.constants import ActivityKind
from app.courses.models import Activity, Enrolment

TEMPLATE = "assignments/_activity.html"


def page_context(
    session: Session, activity: Activity, principal: Principal, enrolment: Enrolment | None
) -> dict[str, Any]:
    """The instructions and deadlines; a learner's draft and history; staff's grading links."""
    assignment, _activity = service.get_assignment(session, activity.id)
    rubric = service.rubric_read(session, assignment.rubric_id) if assignment.rubric_id else None
    context: dict[str, Any] = {
        "asg": assignment,
        "asg_instructions": render_markdown(assignment.instructions_md),
        "asg_state": service.window_state(assignment, service.now()),
        "asg_rubric": rubric,
        "asg_versions": [],
        "asg_draft": None,
        "asg_latest": None,
        "asg_can_submit": False,
        "asg_runs": [],
    }
    if enrolment is not None:
        versions = service.my_versions(session, activity.id, principal)
        draft = versions[0] if versions and versions[0].status == "draft" else None
        handed = [v for v in versions if v.status != "draft"]
        latest_row = next(
            (
                r
                for r in repository.versions(
                    session, activity.id, enrolment.run_id, principal.user_id
                )
                if r.status in ("submitted", "graded")
            ),
            None,
        )
        context.update(
            asg_versions=handed,
            asg_draft=draft,
            asg_latest=handed[0] if handed else None,
            asg_can_submit=context["asg_state"] in ("open", "late")
            and service.may_resubmit(assignment, latest_row),
        )
    runs = courses_repository.runs_of(session, [activity.course_id])
    if staff.is_manager(principal):
        context["asg_runs"] = [(r.id, r.name) for r in runs]
    else:
        mine = staff.staff_run_ids(session, principal)
        context["asg_runs"] = [(r.id, r.name) for r in runs if r.id in mine]
    return context


def register() -> None:
    kinds.register(
        ActivityKind.ASSIGNMENT.value,
        kinds.KindHooks(
            check=service.check_details,
            attach=service.attach_details,
            page_context=page_context,
            template=TEMPLATE,
        ),
    )


register()
