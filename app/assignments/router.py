"""API routes for assignments: learners' uploads and submissions, grading, release, rubrics
(api-v1.md, "Classroom and blended delivery")."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote

import anyio.to_thread
from fastapi import File, Query, Request, UploadFile
from pydantic import BaseModel, Field
from starlette.responses import Response

from app.assignments import kind as _kind  # noqa: F401 - registers the activity kind
from app.assignments import service
from app.assignments.schemas import (
    FileRead,
    GradeIn,
    GradeRead,
    QueueRead,
    ReleaseRead,
    RubricBrief,
    RubricCreate,
    RubricRead,
    SubmissionCreate,
    SubmissionCreated,
    SubmissionRead,
)
from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep
from app.core.errors import ValidationFailed
from app.core.numbers import ascii_int
from app.courses import uploads
from app.courses.filetypes import UploadKind
from app.storage.service import get_storage
from app.web.delivery import serve_object
from app.web.params import RowId
from app.web.routing import Router

router = Router(prefix="/api/v1", tags=["assignments"])

KIND = UploadKind.FILE  # learners' work is checked by content like any course file


class StoredUpload(BaseModel):
    file_id: int
    filename: str
    size: int
    content_type: str
    sha256: str


class UploadStart(BaseModel):
    filename: str = Field(min_length=1, max_length=255)
    size: int = Field(ge=1)


class UploadStarted(BaseModel):
    upload_id: str
    part_size: int
    part_count: int


class SignRequest(BaseModel):
    part_numbers: list[int] = Field(min_length=1, max_length=100)


class PartDone(BaseModel):
    part_number: int = Field(ge=1, le=10_000)
    etag: str = Field(min_length=1, max_length=200)


class CompleteRequest(BaseModel):
    filename: str = Field(min_length=1, max_length=255)
    parts: list[PartDone] | None = None


def _check_size(size: int, assignment_max: int) -> None:
    if size > assignment_max:
        raise uploads._too_large(assignment_max)


# --- learners' uploads (the existing upload path, with the learner's ownership recorded) --------


@router.post(
    "/assignments/{activity_id}/uploads/stream", status_code=201, response_model=StoredUpload
)
async def upload_stream(
    activity_id: RowId,
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    filename: Annotated[str | None, Query(max_length=255)] = None,
) -> StoredUpload:
    """Disk storage: the raw body is streamed, checked by content and by the assignment's size
    and type rules, and recorded as the caller's upload (its file id goes into a submission)."""
    assignment = await anyio.to_thread.run_sync(
        service.check_upload_allowed, db, activity_id, principal
    )
    declared = request.headers.get("content-length")
    declared_size = ascii_int(declared, minimum=0) if declared is not None else None
    if declared is not None and declared_size is None:
        raise ValidationFailed("Content-Length tidak sah.", field="content-length")
    if declared_size is not None:
        _check_size(declared_size, service.max_bytes(assignment))
    name = filename or unquote(request.headers.get("x-file-name", "")) or "berkas"
    row = await uploads.store_request_body(
        db, get_storage(settings), request.stream(), kind=KIND, settings=settings,
        declared_size=declared_size,
    )  # fmt: skip
    record = await anyio.to_thread.run_sync(
        service.record_upload, db, assignment, principal, row, name
    )
    return StoredUpload(
        file_id=row.id, filename=record.filename, size=row.size, content_type=row.content_type,
        sha256=row.sha256,
    )  # fmt: skip


@router.post("/assignments/{activity_id}/uploads", status_code=201, response_model=UploadStarted)
def upload_start(
    activity_id: RowId,
    data: UploadStart,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> UploadStarted:
    """S3 storage: open a presigned multipart upload (501 on disk storage: use /stream)."""
    assignment = service.check_upload_allowed(db, activity_id, principal)
    _check_size(data.size, service.max_bytes(assignment))
    upload = uploads.start_upload(
        db, get_storage(settings), user_id=principal.user_id, kind=KIND, filename=data.filename,
        size=data.size, settings=settings,
    )  # fmt: skip
    return UploadStarted(
        upload_id=upload.id, part_size=upload.part_size, part_count=uploads.part_count(upload)
    )


@router.post("/assignments/{activity_id}/uploads/{upload_id}/sign")
def upload_sign(
    activity_id: RowId,
    upload_id: str,
    data: SignRequest,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> dict[str, dict[str, str]]:
    service.check_upload_allowed(db, activity_id, principal)
    urls = uploads.sign_parts(
        db, get_storage(settings), upload_id, principal.user_id, data.part_numbers,
        settings=settings,
    )  # fmt: skip
    return {"urls": {str(n): url for n, url in urls.items()}}


@router.post(
    "/assignments/{activity_id}/uploads/{upload_id}/complete",
    status_code=201,
    response_model=StoredUpload,
)
def upload_complete(
    activity_id: RowId,
    upload_id: str,
    data: CompleteRequest,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> StoredUpload:
    assignment = service.check_upload_allowed(db, activity_id, principal)
    row = uploads.complete_upload(
        db, get_storage(settings), upload_id, principal.user_id,
        [(p.part_number, p.etag) for p in data.parts] if data.parts is not None else None,
        KIND, settings,
    )  # fmt: skip
    record = service.record_upload(db, assignment, principal, row, data.filename)
    return StoredUpload(
        file_id=row.id, filename=record.filename, size=row.size, content_type=row.content_type,
        sha256=row.sha256,
    )  # fmt: skip


# --- submissions ---------------------------------------------------------------------------------


@router.post(
    "/assignments/{activity_id}/submissions", status_code=201, response_model=SubmissionCreated
)
def submit(
    activity_id: RowId, data: SubmissionCreate, db: SessionDep, principal: CurrentPrincipal
) -> SubmissionCreated:
    """An enrolled learner hands in files (ids from the uploads above) and/or text; `draft:
    true` only saves. 409 before opening, after the cut-off ("refuse") or once graded."""
    row = service.save(
        db, activity_id, principal, file_ids=data.file_ids, text=data.text, draft=data.draft
    )
    return SubmissionCreated(id=row.id, status=row.status, late=row.late, version=row.version)


@router.get("/assignments/{activity_id}/submissions", response_model=QueueRead)
def queue(
    activity_id: RowId,
    run_id: Annotated[int, Query(ge=1)],
    db: SessionDep,
    principal: CurrentPrincipal,
    state: Annotated[str, Query(pattern="^(ungraded|late|graded|all)$")] = "all",
) -> QueueRead:
    """The grading queue: staff of the run who grade (403 for anyone else)."""
    return service.grading_queue(db, principal, activity_id, run_id, state)


@router.get("/assignments/{activity_id}/submissions/mine", response_model=list[SubmissionRead])
def mine(activity_id: RowId, db: SessionDep, principal: CurrentPrincipal) -> list[SubmissionRead]:
    """The caller's own versions, newest first; grades appear once released."""
    return service.my_versions(db, activity_id, principal)


@router.get("/submissions/{submission_id}", response_model=SubmissionRead)
def read_submission(
    submission_id: RowId, db: SessionDep, principal: CurrentPrincipal
) -> SubmissionRead:
    """Its learner or the graders of its run; 403 for everyone else."""
    return service.read_submission(db, principal, submission_id)


@router.get("/submissions/{submission_id}/files/{file_row_id}")
def submission_file(
    request: Request,
    submission_id: RowId,
    file_row_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> Response:
    row, stored = service.submission_file(db, principal, submission_id, file_row_id)
    return serve_object(
        request, get_storage(settings), key=stored.storage_key, filename=row.filename,
        content_type=stored.content_type, inline=False, etag_hint=stored.sha256,
        cache_control="private, no-store",
    )  # fmt: skip


@router.post("/submissions/{submission_id}/grade", response_model=GradeRead)
def grade(
    submission_id: RowId, data: GradeIn, db: SessionDep, principal: CurrentPrincipal
) -> GradeRead:
    """A facilitator or grader of the submission's run (a facilitator of another run: 403)."""
    row, released = service.grade(db, principal, submission_id, data)
    assert row.points is not None and row.max_points is not None
    return GradeRead(
        id=row.id, status=row.status, points=row.points, max_points=row.max_points,
        released=released,
    )  # fmt: skip


@router.post(
    "/submissions/{submission_id}/feedback-files", status_code=201, response_model=FileRead
)
def feedback_file(
    submission_id: RowId,
    file: Annotated[UploadFile, File()],
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> FileRead:
    """A grader attaches a feedback file (checked by content like any course file)."""
    service.submission_access(db, principal, submission_id, grade=True)
    stored = uploads.store_stream(
        db, get_storage(settings), file.file, kind=KIND, settings=settings
    )
    row = service.add_feedback_file(db, principal, submission_id, stored, file.filename or "")
    return service.file_read(row)


@router.post("/assignments/{activity_id}/release", response_model=ReleaseRead)
def release(
    activity_id: RowId,
    run_id: Annotated[int, Query(ge=1)],
    db: SessionDep,
    principal: CurrentPrincipal,
) -> ReleaseRead:
    """A facilitator of the run releases its grades: learners see them and are notified."""
    row, notified, completed = service.release(db, principal, activity_id, run_id)
    return ReleaseRead(
        activity_id=row.activity_id, run_id=row.run_id, released_at=row.released_at,
        notified=notified, completed=completed,
    )  # fmt: skip


# --- rubrics -------------------------------------------------------------------------------------


@router.get("/rubrics", response_model=list[RubricBrief])
def rubrics(db: SessionDep, principal: CurrentPrincipal) -> list[RubricBrief]:
    return [
        RubricBrief(id=r.id, title=r.title, archived=r.archived)
        for r in service.list_rubrics(db, principal)
    ]


@router.post("/rubrics", status_code=201, response_model=RubricRead)
def create_rubric(data: RubricCreate, db: SessionDep, principal: CurrentPrincipal) -> RubricRead:
    """Content admins and facilitators build the rubric library (criteria x levels)."""
    rubric = service.create_rubric(db, principal, data)
    return service.rubric_read(db, rubric.id)


@router.get("/rubrics/{rubric_id}", response_model=RubricRead)
def read_rubric(rubric_id: RowId, db: SessionDep, principal: CurrentPrincipal) -> RubricRead:
    return service.rubric_for_staff(db, principal, rubric_id)


@router.post("/rubrics/{rubric_id}/archive", response_model=RubricBrief)
def archive_rubric(rubric_id: RowId, db: SessionDep, principal: CurrentPrincipal) -> RubricBrief:
    rubric = service.archive_rubric(db, principal, rubric_id)
    return RubricBrief(id=rubric.id, title=rubric.title, archived=rubric.archived)
