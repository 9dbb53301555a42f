"""HTML pages for a run (angkatan) beyond enrolment: the studio run page's edit form, staff,
waiting list and change history (forms posted here, the page drawn by app.courses.studio), the
teaching hub /runs/{run_id}/teach for run staff and managers, and the learner leaving a waiting
list. Rules are app.courses.runs'; run scope is app.courses.staff's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from app.auth.dependencies import CurrentPrincipal, SessionDep, require_roles
from app.auth.service import Principal
from app.core.errors import LMSError
from app.core.i18n import gettext_ as _
from app.courses import runs, service, staff, studio
from app.courses.constants import delivery_labels, staff_role_labels
from app.courses.models import Run
from app.courses.schemas import RunUpdate, StaffCreate, StaffUpdate
from app.web.params import RowId
from app.web.routing import Router
from app.web.templating import render

router = Router(tags=["pages"], include_in_schema=False)

RunManager = Annotated[Principal, Depends(require_roles(*staff.RUN_MANAGERS))]
FormText = Annotated[str | None, Form()]


@dataclass(frozen=True, slots=True)
class EditRow:
    """One line of a run's change history as the page shows it."""

    at: Any
    user_name: str | None
    what: str
    old: str
    new: str


def _edit_values(run: Run) -> dict[str, Any]:
    """The edit form's values from the run (dates as yyyy-mm-dd, blanks for nothing)."""
    return {
        "name": run.name,
        "starts_on": run.starts_on.isoformat(),
        "ends_on": run.ends_on.isoformat(),
        "enrol_opens_on": run.enrol_opens_on.isoformat() if run.enrol_opens_on else "",
        "enrol_closes_on": run.enrol_closes_on.isoformat() if run.enrol_closes_on else "",
        "capacity": str(run.capacity) if run.capacity is not None else "",
        "funding_source": run.funding_source,
        "organiser": run.organiser or "",
        "self_enrol": run.self_enrol,
        "delivery_mode": run.delivery_mode,
        "waitlist": run.waitlist,
        "instructors": run.instructors or "",
    }


def studio_context(request: Request, db: Session, run: Run) -> dict[str, Any]:
    """What the studio run page adds for editing: the form values, staff, the waiting list in
    order, the change history and (after a search) the accounts found for the staff picker."""
    labels = runs.field_labels()
    staff_q = (request.query_params.get("staff_q") or "").strip()[:100]
    return {
        "edit_values": _edit_values(run),
        "edit_errors": {},
        "delivery_options": list(delivery_labels().items()),
        "delivery_labels": delivery_labels(),
        "role_options": runs.role_options(),
        "role_labels": staff_role_labels(),
        "staff": runs.list_staff(db, run.id),
        "waiting": runs.waiting_list(db, run.id),
        "run_edits": [
            EditRow(
                e.at,
                e.user_name,
                labels.get(e.field, e.field),
                runs.present_value(e.field, e.old_value),
                runs.present_value(e.field, e.new_value),
            )
            for e in runs.run_edits(db, run.id)
        ],
        "run_model": run,
        "staff_q": staff_q,
        "staff_found": runs.search_accounts(db, staff_q) if staff_q else [],
    }


def _back(run_id: int, notice: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/studio/runs/{run_id}?notice={notice}{anchor}", status_code=303)


def _failed(
    request: Request, db: Session, principal: Principal, run_id: int,
    exc: LMSError | ValidationError, extra: dict[str, Any] | None = None,
) -> Response:  # fmt: skip
    db.rollback()
    message, fields, status = studio._form_error(exc)
    return studio._run_page(
        request, db, principal, run_id, error=message, status_code=status,
        extra={"edit_errors": fields, **(extra or {})},
    )  # fmt: skip


def _checked(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("1", "true", "on", "yes", "ya")


@router.post("/studio/runs/{run_id}/edit")
def edit_run_page(
    request: Request, run_id: RowId, db: SessionDep, principal: RunManager,
    name: FormText = None, starts_on: FormText = None, ends_on: FormText = None,
    enrol_opens_on: FormText = None, enrol_closes_on: FormText = None, capacity: FormText = None,
    funding_source: FormText = None, organiser: FormText = None, self_enrol: FormText = None,
    delivery_mode: FormText = None, waitlist: FormText = None, instructors: FormText = None,
) -> Response:  # fmt: skip
    """Save the edit form: every field is sent; blanks clear the optional ones."""
    raw: dict[str, Any] = {
        "name": name, "starts_on": starts_on, "ends_on": ends_on,
        "enrol_opens_on": enrol_opens_on, "enrol_closes_on": enrol_closes_on,
        "capacity": capacity, "funding_source": funding_source, "organiser": organiser,
        "delivery_mode": delivery_mode, "instructors": instructors,
    }  # fmt: skip
    data: dict[str, Any] = {k: (v.strip() if v and v.strip() else None) for k, v in raw.items()}
    data["instructors"] = [x.strip() for x in (instructors or "").splitlines() if x.strip()]
    data["self_enrol"] = _checked(self_enrol)
    data["waitlist"] = _checked(waitlist)
    typed = {**{k: v or "" for k, v in raw.items()}, "self_enrol": data["self_enrol"],
             "waitlist": data["waitlist"]}  # fmt: skip
    run = service.get_run(db, run_id)
    try:
        runs.update_run(db, run, RunUpdate.model_validate(data), principal)
    except (LMSError, ValidationError) as exc:
        return _failed(request, db, principal, run_id, exc, {"edit_values": typed,
                                                             "edit_open": True})  # fmt: skip
    return _back(run_id, "run_saved", "#run-edit")


@router.post("/studio/runs/{run_id}/staff")
def add_staff_page(
    request: Request, run_id: RowId, db: SessionDep, principal: RunManager,
    user_id: FormText = None, role: FormText = None, widyaiswara: FormText = None,
    external: FormText = None,
) -> Response:  # fmt: skip
    run = service.get_run(db, run_id)
    try:
        data = StaffCreate.model_validate(
            {"user_id": (user_id or "").strip() or None, "role": role or "facilitator",
             "widyaiswara": _checked(widyaiswara), "external": _checked(external)}
        )  # fmt: skip
        runs.add_staff(db, run, data, principal)
    except (LMSError, ValidationError) as exc:
        return _failed(request, db, principal, run_id, exc, {"staff_open": True})
    return _back(run_id, "staff_added", "#run-staff")


@router.post("/studio/runs/{run_id}/staff/{user_id}")
def update_staff_page(
    request: Request, run_id: RowId, user_id: RowId, db: SessionDep, principal: RunManager,
    role: FormText = None, widyaiswara: FormText = None, external: FormText = None,
) -> Response:  # fmt: skip
    run = service.get_run(db, run_id)
    try:
        data = StaffUpdate.model_validate(
            {"role": role or None, "widyaiswara": _checked(widyaiswara),
             "external": _checked(external)}
        )  # fmt: skip
        runs.update_staff(db, run, user_id, data, principal)
    except (LMSError, ValidationError) as exc:
        return _failed(request, db, principal, run_id, exc)
    return _back(run_id, "staff_saved", "#run-staff")


@router.post("/studio/runs/{run_id}/staff/{user_id}/remove")
def remove_staff_page(
    request: Request, run_id: RowId, user_id: RowId, db: SessionDep, principal: RunManager
) -> Response:
    try:
        runs.remove_staff(db, service.get_run(db, run_id), user_id, principal)
    except LMSError as exc:
        return _failed(request, db, principal, run_id, exc)
    return _back(run_id, "staff_removed", "#run-staff")


@router.post("/studio/runs/{run_id}/waitlist/{user_id}/promote")
def promote_page(
    request: Request, run_id: RowId, user_id: RowId, db: SessionDep, principal: RunManager
) -> Response:
    try:
        runs.promote_one(db, service.get_run(db, run_id), user_id, principal)
    except LMSError as exc:
        return _failed(request, db, principal, run_id, exc)
    return _back(run_id, "promoted", "#run-waitlist")


@router.post("/studio/runs/{run_id}/waitlist/{user_id}/remove")
def remove_waiting_page(
    request: Request, run_id: RowId, user_id: RowId, db: SessionDep, principal: RunManager
) -> Response:
    try:
        runs.leave_waiting_list(db, service.get_enrolment(db, run_id, user_id))
    except LMSError as exc:
        return _failed(request, db, principal, run_id, exc)
    return _back(run_id, "waitlist_removed", "#run-waitlist")


# --- learners -----------------------------------------------------------------------------------


@router.post("/runs/{run_id}/waitlist/leave")
def leave_waiting_list_page(run_id: RowId, db: SessionDep, principal: CurrentPrincipal) -> Response:
    """The learner gives up their own waiting-list place (the course page's button)."""
    run = service.get_run(db, run_id)
    runs.leave_waiting_list(db, service.get_enrolment(db, run_id, principal.user_id))
    return RedirectResponse(f"/courses/{run.course_id}?left_waitlist=1", status_code=303)


# --- the teaching hub ---------------------------------------------------------------------------


@router.get("/runs/{run_id}/teach")
def teach_page(
    request: Request, run_id: RowId, db: SessionDep, principal: CurrentPrincipal
) -> Response:
    """Run staff and managers: the course's live sessions, assignments, the forum and the
    gradebook of this run (a facilitator of another run gets 403)."""
    found = staff.require_staff(db, principal, run_id, staff.GRADE)
    run = found.run
    course = service.course_content(db, run.course_id)
    hub = runs.teach_hub(db, run)
    return render(
        request,
        "courses/run_teach.html",
        {
            "run": run, "course": course, "hub": hub, "manager": found.manager,
            "role": found.staff_role, "can_teach": found.can(staff.TEACH),
            "role_labels": staff_role_labels(), "delivery_labels": delivery_labels(),
            "staff": runs.list_staff(db, run.id),
            "breadcrumbs": [(_("Beranda"), "/"), (course.title, f"/courses/{course.id}"),
                            (run.name, None)],
        },
    )  # fmt: skip
