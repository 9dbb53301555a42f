"""API routes for editing a run (angkatan), its staff, its change history and its waiting list
(api-v1 "Classroom and blended delivery"). Rules live in app.courses.runs; run scope in
app.courses.staff."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.responses import Response

from app.auth.dependencies import CurrentPrincipal, SessionDep, require_roles
from app.auth.service import Principal
from app.courses import runs, service, staff
from app.courses.schemas import (
    RunEditRead,
    RunRead,
    RunUpdate,
    StaffCreate,
    StaffRead,
    StaffUpdate,
    WaitlistEntry,
)
from app.web.params import RowId
from app.web.routing import Router

router = Router(prefix="/api/v1", tags=["runs"])

RunManager = Annotated[Principal, Depends(require_roles(*staff.RUN_MANAGERS))]


@router.get("/runs/{run_id}", response_model=RunRead)
def get_run(run_id: RowId, db: SessionDep, principal: CurrentPrincipal) -> RunRead:
    """The run with its delivery mode, waiting-list size and instructors: for its managers,
    its staff and its learners (403 for anyone else)."""
    found = staff.require_member(db, principal, run_id)
    return runs.run_read(db, found.run)


@router.patch("/runs/{run_id}", response_model=RunRead)
def update_run(run_id: RowId, data: RunUpdate, db: SessionDep, principal: RunManager) -> RunRead:
    """Change any run field (and `delivery_mode`, `waitlist`); each change is recorded. More
    capacity promotes from the waiting list at once. 422 names the field."""
    run = runs.update_run(db, service.get_run(db, run_id), data, principal)
    return runs.run_read(db, run)


@router.get("/runs/{run_id}/edits", response_model=list[RunEditRead])
def run_edits(run_id: RowId, db: SessionDep, _officer: RunManager) -> list[RunEditRead]:
    """The run's change history, newest first."""
    service.get_run(db, run_id)
    return runs.run_edits(db, run_id)


@router.get("/runs/{run_id}/staff", response_model=list[StaffRead])
def list_staff(run_id: RowId, db: SessionDep, principal: CurrentPrincipal) -> list[StaffRead]:
    """The run's staff, for its managers and its staff."""
    staff.require_staff(db, principal, run_id, staff.GRADE)
    return runs.list_staff(db, run_id)


@router.post("/runs/{run_id}/staff", status_code=201, response_model=StaffRead)
def add_staff(run_id: RowId, data: StaffCreate, db: SessionDep, principal: RunManager) -> StaffRead:
    """Name a facilitator or grader from the accounts (422 unknown or inactive, 409 twice)."""
    return runs.add_staff(db, service.get_run(db, run_id), data, principal)


@router.patch("/runs/{run_id}/staff/{user_id}", response_model=StaffRead)
def update_staff(
    run_id: RowId, user_id: RowId, data: StaffUpdate, db: SessionDep, principal: RunManager
) -> StaffRead:
    return runs.update_staff(db, service.get_run(db, run_id), user_id, data, principal)


@router.delete("/runs/{run_id}/staff/{user_id}", status_code=204)
def remove_staff(run_id: RowId, user_id: RowId, db: SessionDep, principal: RunManager) -> Response:
    runs.remove_staff(db, service.get_run(db, run_id), user_id, principal)
    return Response(status_code=204)


@router.get("/runs/{run_id}/waitlist", response_model=list[WaitlistEntry])
def waiting_list(run_id: RowId, db: SessionDep, _officer: RunManager) -> list[WaitlistEntry]:
    """The run's waiting list in line order (a learner leaves it with DELETE
    /runs/{run_id}/enrolments/{user_id})."""
    service.get_run(db, run_id)
    return runs.waiting_list(db, run_id)


@router.post("/runs/{run_id}/waitlist/{user_id}/promote", status_code=204)
def promote(run_id: RowId, user_id: RowId, db: SessionDep, principal: RunManager) -> Response:
    """An officer seats one waiting learner now (out of turn; the capacity grows by one when
    the run is full, recorded)."""
    runs.promote_one(db, service.get_run(db, run_id), user_id, principal)
    return Response(status_code=204)
