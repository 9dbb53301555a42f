"""API routes for mentoring (induksi): assignments, sessions, sign-off and verification."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, File, Query, Request, UploadFile
from starlette.responses import Response

from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.mentoring import service
from app.mentoring.schemas import (
    AssignmentCreate,
    AssignmentDetail,
    AssignmentPage,
    BulkAssignmentCreate,
    BulkResult,
    CancelIn,
    Created,
    DecisionIn,
    SessionCreate,
    SessionRead,
)
from app.storage.service import get_storage
from app.web.delivery import serve_object
from app.web.params import PageNumber, RowId
from app.web.routing import Router

router = Router(prefix="/api/v1/mentoring", tags=["mentoring"])

Officer = Annotated[Principal, Depends(require_roles(*service.OFFICERS))]


def _session_read(
    db: SessionDep, assignment_id: int, session_id: int, principal: Principal
) -> SessionRead:
    detail = service.get_assignment(db, assignment_id, principal)
    return next(s for s in detail.sessions if s.id == session_id)


@router.get("/assignments", response_model=AssignmentPage)
def list_assignments(
    db: SessionDep,
    principal: CurrentPrincipal,
    role: Annotated[str | None, Query(description="mentor | mentee: only the caller's own")] = None,
    status: str | None = None,
    competency: str | None = None,
    opd: Annotated[str | None, Query(description="the mentee's OPD code (officers)")] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    mentor_id: RowId | None = None,
    page: PageNumber = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AssignmentPage:
    """Officers: all assignments with filters. Mentors and mentees: only their own."""
    return service.list_assignments(
        db, principal, role=role, status=status, competency=competency, opd_code=opd, q=q,
        mentor_id=mentor_id, page=page, per_page=per_page,
    )  # fmt: skip


@router.post("/assignments", status_code=201, response_model=Created)
def create_assignment(
    data: AssignmentCreate, db: SessionDep, principal: Officer, settings: SettingsDep
) -> Created:
    return Created(id=service.create_assignment(db, data, principal, settings).id)


@router.post("/assignments/bulk", status_code=201, response_model=BulkResult)
def create_bulk(
    data: BulkAssignmentCreate, db: SessionDep, principal: Officer, settings: SettingsDep
) -> BulkResult:
    """One mentor for many mentees (e.g. from the gap list); existing pairs are skipped."""
    return service.create_bulk(db, data, principal, settings)


@router.get("/assignments/{assignment_id}", response_model=AssignmentDetail)
def get_assignment(
    assignment_id: RowId, db: SessionDep, principal: CurrentPrincipal
) -> AssignmentDetail:
    """The mentor, the mentee and officers; 404 for anyone else."""
    return service.get_assignment(db, assignment_id, principal)


@router.post("/assignments/{assignment_id}/sessions", status_code=201, response_model=SessionRead)
def log_session(
    assignment_id: RowId,
    data: SessionCreate,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
) -> SessionRead:
    """The own mentor only (404 otherwise); 422 names the broken rule."""
    row = service.log_session(db, assignment_id, data, principal, settings)
    return _session_read(db, assignment_id, row.id, principal)


@router.delete("/assignments/{assignment_id}/sessions/{session_id}", status_code=204)
def delete_session(
    assignment_id: RowId, session_id: RowId, db: SessionDep, principal: CurrentPrincipal
) -> Response:
    service.delete_session(db, assignment_id, session_id, principal)
    return Response(status_code=204)


@router.post(
    "/assignments/{assignment_id}/sessions/{session_id}/evidence", response_model=SessionRead
)
def upload_evidence(
    assignment_id: RowId,
    session_id: RowId,
    file: Annotated[UploadFile, File()],
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
) -> SessionRead:
    """PDF, JPEG or PNG (by content), at most max_evidence_bytes; the own mentor only."""
    service.attach_evidence(
        db, assignment_id, session_id, principal, stream=file.file, filename=file.filename,
        size=file.size, settings=settings,
    )  # fmt: skip
    return _session_read(db, assignment_id, session_id, principal)


@router.get("/assignments/{assignment_id}/sessions/{session_id}/evidence")
def get_evidence(
    request: Request,
    assignment_id: RowId,
    session_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
) -> Response:
    """Only to the mentor, the mentee and officers."""
    stored, name = service.evidence(db, assignment_id, session_id, principal)
    return serve_object(
        request, get_storage(settings), key=stored.storage_key, filename=name,
        content_type=stored.content_type, inline=True, etag_hint=stored.sha256,
    )  # fmt: skip


@router.post(
    "/assignments/{assignment_id}/sessions/{session_id}/confirm", response_model=SessionRead
)
def confirm_session(
    assignment_id: RowId, session_id: RowId, db: SessionDep, principal: CurrentPrincipal
) -> SessionRead:
    """The mentee confirms the session took place (the mentee only; 404 otherwise)."""
    service.confirm_session(db, assignment_id, session_id, principal)
    return _session_read(db, assignment_id, session_id, principal)


@router.post("/assignments/{assignment_id}/signoff", response_model=AssignmentDetail)
def sign_off(assignment_id: RowId, db: SessionDep, principal: CurrentPrincipal) -> AssignmentDetail:
    service.sign_off(db, assignment_id, principal)
    return service.get_assignment(db, assignment_id, principal)


@router.post("/assignments/{assignment_id}/verify", response_model=AssignmentDetail)
def verify(
    assignment_id: RowId, data: DecisionIn, db: SessionDep, principal: Officer
) -> AssignmentDetail:
    """Approved: JP for each confirmed session to the ledger; not approved: reason required."""
    service.verify(db, assignment_id, data, principal)
    return service.get_assignment(db, assignment_id, principal)


@router.post("/assignments/{assignment_id}/cancel", response_model=AssignmentDetail)
def cancel(
    assignment_id: RowId, data: CancelIn, db: SessionDep, principal: Officer
) -> AssignmentDetail:
    service.cancel(db, assignment_id, data.reason, principal)
    return service.get_assignment(db, assignment_id, principal)
