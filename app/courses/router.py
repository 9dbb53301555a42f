"""API routes for courses, sections, activities, runs, enrolment and content delivery."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Body, Depends, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.core.config import Settings
from app.core.errors import Forbidden, PayloadTooLarge, ValidationFailed, pydantic_message
from app.courses import content, service, staff
from app.courses.constants import ActivityKind, CompletionRule
from app.courses.schemas import (
    ActivityCreated,
    ActivityRead,
    ActivityUpdate,
    CourseCreate,
    CourseEditRead,
    CourseRead,
    CourseSummary,
    CourseUpdate,
    Created,
    EnrolledItem,
    EnrolmentRead,
    EnrolRequest,
    EnrolResult,
    ReplacedRead,
    RunCreate,
    SectionCreate,
    SectionDeletion,
    SectionOrder,
    SectionUpdate,
    StatusRead,
)
from app.progress import service as progress_service
from app.progress.schemas import ProgressEvent, ProgressRead
from app.web.params import Offset, RowId
from app.web.routing import Router

router = Router(prefix="/api/v1", tags=["courses"])

MAX_SCORM_COMMIT_BYTES = 320 * 1024  # suspend_data cap (256 KiB) plus the other cmi fields

Editor = Annotated[Principal, Depends(require_roles(*service.COURSE_EDITORS))]
RunManager = Annotated[Principal, Depends(require_roles(*service.RUN_MANAGERS))]


@router.post("/courses", status_code=201, response_model=CourseRead)
def create_course(data: CourseCreate, db: SessionDep, principal: Editor) -> CourseRead:
    course = service.create_course(db, data, principal)
    return service.course_detail(db, course.id, principal)


@router.get("/courses", response_model=list[CourseSummary])
def list_courses(
    db: SessionDep,
    principal: CurrentPrincipal,
    q: str | None = None,
    category: str | None = None,
    mode: str | None = None,
    open: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> list[CourseSummary]:
    """Published catalog (staff also see drafts); `q` searches title, code and competency."""
    _total, items = service.catalog(
        db, principal, q=q, category=category, mode=mode, open_only=open, limit=limit, offset=offset
    )
    return items


@router.get("/courses/{course_id}", response_model=CourseRead)
async def get_course(course_id: RowId, db: SessionDep, principal: CurrentPrincipal) -> Response:
    """Every learner of a course asks for the same answer: served from this process's cache on
    the event loop when it holds it (no thread, no query), else read in a worker thread."""
    body = service.course_details.get(service.course_detail_key(course_id, principal))
    if body is None:
        body = await run_in_threadpool(service.course_detail_json, db, course_id, principal)
    return Response(body, media_type="application/json")


@router.patch("/courses/{course_id}", response_model=CourseRead)
def update_course(
    course_id: RowId, data: CourseUpdate, db: SessionDep, principal: Editor
) -> CourseRead:
    service.update_course(db, service.get_course(db, course_id, principal), data, principal)
    return service.course_detail(db, course_id, principal)


@router.post("/courses/{course_id}/publish", response_model=StatusRead)
def publish_course(course_id: RowId, db: SessionDep, principal: Editor) -> StatusRead:
    course = service.publish(db, service.get_course(db, course_id, principal))
    return StatusRead(status=course.status)


@router.post("/courses/{course_id}/archive", response_model=StatusRead)
def archive_course(course_id: RowId, db: SessionDep, principal: Editor) -> StatusRead:
    course = service.archive(db, service.get_course(db, course_id, principal))
    return StatusRead(status=course.status)


@router.post("/courses/{course_id}/sections", status_code=201, response_model=Created)
def add_section(course_id: RowId, data: SectionCreate, db: SessionDep, principal: Editor) -> Created:
    section = service.add_section(db, service.get_course(db, course_id, principal), data.title)
    return Created(id=section.id)


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on", "ya")


@router.post("/sections/{section_id}/activities", status_code=201, response_model=ActivityCreated)
def add_activity(
    section_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    kind: Annotated[ActivityKind, Form()],
    title: Annotated[str, Form(max_length=255)],
    duration_minutes: Annotated[int, Form(ge=0, le=10_000)] = 0,
    required: Annotated[str | None, Form()] = None,
    locked_until_previous: Annotated[str | None, Form()] = None,
    completion_rule: Annotated[CompletionRule | None, Form()] = None,
    body: Annotated[str | None, Form(max_length=200_000)] = None,
    url: Annotated[str | None, Form(max_length=2048)] = None,
    file_id: Annotated[RowId | None, Form()] = None,
    file_name: Annotated[str | None, Form(max_length=255)] = None,
    file: Annotated[UploadFile | None, File()] = None,
    min_view_seconds: Annotated[int, Form(ge=0, le=86_400)] = 0,
    # live_session (app.live): times are ISO 8601; without an offset, the institution's zone
    starts_at: Annotated[str | None, Form(max_length=40)] = None,
    ends_at: Annotated[str | None, Form(max_length=40)] = None,
    platform: Annotated[str | None, Form(max_length=32)] = None,
    join_url: Annotated[str | None, Form(max_length=2048)] = None,
    location: Annotated[str | None, Form(max_length=500)] = None,
    # assignment (app.assignments)
    instructions: Annotated[str | None, Form(max_length=100_000)] = None,
    opens_at: Annotated[str | None, Form(max_length=40)] = None,
    due_at: Annotated[str | None, Form(max_length=40)] = None,
    cutoff_at: Annotated[str | None, Form(max_length=40)] = None,
    late_policy: Annotated[str | None, Form(max_length=16)] = None,
    max_files: Annotated[int | None, Form(ge=0, le=20)] = None,
    max_file_mb: Annotated[int | None, Form(ge=1, le=2048)] = None,
    allowed_types: Annotated[str | None, Form(max_length=500)] = None,
    online_text: Annotated[str | None, Form()] = None,
    max_points: Annotated[float | None, Form(gt=0, le=1000)] = None,
    pass_points: Annotated[float | None, Form(ge=0, le=1000)] = None,
    rubric_id: Annotated[RowId | None, Form()] = None,
    weight: Annotated[float | None, Form(ge=0, le=1000)] = None,
    grader_ids: Annotated[list[RowId] | None, Form()] = None,
    resubmit_after_grading: Annotated[str | None, Form()] = None,
) -> ActivityCreated:
    """Add a video, document, page, file, link or SCORM package (413 too large, 415 wrong type),
    a live session or an assignment; `min_view_seconds`: a document/page counts as viewed after
    that long on the page. Content admins add any kind; a facilitator of a run of the course adds
    live sessions and assignments."""
    if kind == ActivityKind.QUIZ:
        raise ValidationFailed("Kuis dibuat lewat /sections/{id}/quizzes.", field="kind")
    section = service.get_section(db, section_id)
    if not principal.has_any(*service.COURSE_EDITORS):
        facilitator = (
            kind in (ActivityKind.LIVE_SESSION, ActivityKind.ASSIGNMENT)
            and staff.course_staff_role(db, principal, section.course_id) == "facilitator"
        )
        if not facilitator:
            raise Forbidden(
                "Anda tidak berwenang membuka halaman atau data ini.", code="forbidden_role"
            )
    details = {
        "starts_at": starts_at, "ends_at": ends_at, "platform": platform, "join_url": join_url,
        "location": location, "instructions": instructions, "opens_at": opens_at,
        "due_at": due_at, "cutoff_at": cutoff_at, "late_policy": late_policy,
        "max_files": max_files, "max_file_mb": max_file_mb, "allowed_types": allowed_types,
        "online_text": online_text, "max_points": max_points, "pass_points": pass_points,
        "rubric_id": rubric_id, "weight": weight, "grader_ids": grader_ids,
        "resubmit_after_grading": resubmit_after_grading,
    }  # fmt: skip
    activity = content.create_activity(
        db,
        section,
        settings,
        kind=kind,
        title=title,
        duration_minutes=duration_minutes,
        required=_bool(required, True),
        locked_until_previous=_bool(locked_until_previous, False),
        completion_rule=completion_rule,
        body=body,
        url=url,
        file_id=file_id,
        file_name=file_name,
        upload=file,
        min_view_seconds=min_view_seconds,
        by=principal,
        details=details,
    )
    return ActivityCreated(
        id=activity.id,
        kind=activity.kind,
        title=activity.title,
        section_id=activity.section_id,
        file_id=activity.file_id,
        scorm_package_id=activity.scorm_package_id,
    )


@router.post("/activities/{activity_id}/hide", response_model=StatusRead)
def hide_activity(
    activity_id: RowId, db: SessionDep, principal: Editor, hidden: bool = True
) -> StatusRead:
    service.set_hidden(db, service.get_activity(db, activity_id), hidden, principal)
    return StatusRead(status="hidden" if hidden else "visible")


@router.delete("/activities/{activity_id}", status_code=204)
def delete_activity(activity_id: RowId, db: SessionDep, principal: Editor) -> Response:
    """409 when learners already have progress in it: hide it instead."""
    service.delete_activity(db, service.get_activity(db, activity_id), principal)
    return Response(status_code=204)


@router.patch("/activities/{activity_id}", response_model=ActivityRead)
def update_activity(
    activity_id: RowId, data: ActivityUpdate, db: SessionDep, principal: Editor
) -> ActivityRead:
    """Change title, body (page), url (link), duration (`null`: from the media), required,
    hidden, lock, minimum view time or the availability window; the activity keeps its id and
    every learner's progress. Required/hidden changes recompute completions."""
    activity = service.update_activity(db, service.get_activity(db, activity_id), data, principal)
    return service.activity_read(activity, with_body=True)


@router.put("/activities/{activity_id}/file", response_model=ReplacedRead)
def replace_activity_file(
    activity_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: Editor,
    file: Annotated[UploadFile | None, File()] = None,
    file_id: Annotated[RowId | None, Form()] = None,
    file_name: Annotated[str | None, Form(max_length=255)] = None,
) -> ReplacedRead:
    """New bytes for a video, document, file (multipart `file`, or `file_id` of a finished
    direct upload) or SCORM package (`file`). Progress stays; a duration that follows the media
    follows the new file; SCORM attempts already begun stay on their package version."""
    activity = service.get_activity(db, activity_id)
    done = content.replace_content(
        db, activity, settings, upload=file, file_id=file_id, file_name=file_name, by=principal
    )
    return ReplacedRead(
        activity=service.activity_read(service.get_activity(db, done.activity.id), with_body=True),
        attempts_on_old_version=done.attempts_on_old_version,
    )


@router.patch("/sections/{section_id}", response_model=Created)
def rename_section(
    section_id: RowId, data: SectionUpdate, db: SessionDep, principal: Editor
) -> Created:
    section = service.rename_section(db, service.get_section(db, section_id), data.title, principal)
    return Created(id=section.id)


@router.post("/sections/{section_id}/move", response_model=Created)
def move_section(
    section_id: RowId,
    db: SessionDep,
    principal: Editor,
    direction: Annotated[Literal["up", "down"], Query(alias="dir")],
) -> Created:
    section = service.get_section(db, section_id)
    service.move_section(db, section, -1 if direction == "up" else 1, principal)
    return Created(id=section.id)


@router.put("/courses/{course_id}/sections/order", response_model=list[int])
def reorder_sections(
    course_id: RowId, data: SectionOrder, db: SessionDep, principal: Editor
) -> list[int]:
    """`{section_ids:[...]}`, every section of the course once, in the new order."""
    course = service.get_course(db, course_id, principal)
    service.reorder_sections(db, course, data.section_ids, principal)
    return data.section_ids


@router.get("/sections/{section_id}/deletion", response_model=SectionDeletion)
def section_deletion(section_id: RowId, db: SessionDep, _editor: Editor) -> SectionDeletion:
    """What deleting the section would take with it (activities, learners with progress)."""
    return service.section_deletion(db, service.get_section(db, section_id))


@router.delete("/sections/{section_id}", response_model=SectionDeletion)
def delete_section(
    section_id: RowId, db: SessionDep, principal: Editor, confirm: bool = False
) -> SectionDeletion:
    """An empty section at once; one with activities only with `?confirm=true` (409 otherwise,
    naming the activities). Returns what was deleted."""
    section = service.get_section(db, section_id)
    return service.delete_section(db, section, confirm=confirm, by=principal)


@router.get("/courses/{course_id}/edits", response_model=list[CourseEditRead])
def course_edits(
    course_id: RowId,
    db: SessionDep,
    principal: Editor,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CourseEditRead]:
    """Changes made to the course while it was published: who, when, which field, old -> new."""
    course = service.get_course(db, course_id, principal)
    return service.course_edits(db, course.id, limit=limit)


@router.head("/activities/{activity_id}/content", include_in_schema=False)
@router.get("/activities/{activity_id}/content")
def activity_content(
    activity_id: RowId,
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> Response:
    """The activity's bytes for enrolled learners and staff: Range on disk, presigned redirect on S3."""
    activity = service.get_activity(db, activity_id)
    enrolment = service.ensure_content_access(db, principal, activity)
    if activity.kind == ActivityKind.LINK and activity.url:
        return RedirectResponse(activity.url, status_code=307)
    if activity.kind == ActivityKind.PAGE:
        return Response(activity.body_md or "", media_type="text/markdown; charset=utf-8")
    if activity.kind == ActivityKind.SCORM and activity.scorm_package_id:
        # An attempt begun before the package was replaced stays on its version.
        package_id = content.attempt_package_id(db, enrolment, activity)
        return RedirectResponse(
            content.scorm_launch_url(db, settings, principal, package_id), status_code=307
        )
    return content.serve_activity_file(
        request, db, settings, activity, download=request.query_params.get("download") == "1"
    )


@router.post("/courses/{course_id}/runs", status_code=201, response_model=Created)
def create_run(course_id: RowId, data: RunCreate, db: SessionDep, principal: RunManager) -> Created:
    run = service.create_run(db, service.get_course(db, course_id, principal), data, principal)
    return Created(id=run.id)


@router.post("/runs/{run_id}/enrolments", status_code=201, response_model=EnrolResult)
def enrol(
    run_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    data: Annotated[EnrolRequest | None, Body()] = None,
) -> EnrolResult:
    """`{}` enrols the caller; officers send `user_ids`, `nips` or `opd_code` (409 full or closed)."""
    run = service.get_run(db, run_id)
    data = data or EnrolRequest()
    if data.user_ids or data.nips or data.opd_code:
        _ensure_run_manager(principal)
        return service.enrol_many(db, run, data, principal)
    enrolment = service.self_enrol(db, run, principal)
    if enrolment.status == "waitlisted":  # the run was full: in line (app.courses.runs)
        from app.courses import runs

        return runs.waitlisted_result(db, enrolment, principal)
    return EnrolResult(
        enrolled=[
            EnrolledItem(
                user_id=principal.user_id, nip=None, name=principal.name, enrolment_id=enrolment.id
            )
        ],
        skipped=[],
        status="active",
    )


def _ensure_run_manager(principal: Principal) -> None:
    if not principal.has_any(*service.RUN_MANAGERS):
        raise Forbidden(
            "Hanya penyelenggara yang dapat mendaftarkan atau mengeluarkan orang lain.",
            code="forbidden_role",
        )


@router.get("/runs/{run_id}/enrolments", response_model=list[EnrolmentRead])
def list_enrolments(run_id: RowId, db: SessionDep, _officer: RunManager) -> list[EnrolmentRead]:
    return service.run_enrolments(db, service.get_run(db, run_id))


@router.delete("/runs/{run_id}/enrolments/{user_id}", status_code=204)
def withdraw(run_id: RowId, user_id: RowId, db: SessionDep, principal: CurrentPrincipal) -> Response:
    """Officers unenrol anyone; a learner may withdraw themself. History is kept."""
    if user_id != principal.user_id:
        _ensure_run_manager(principal)
    service.withdraw(db, service.get_enrolment(db, run_id, user_id))
    return Response(status_code=204)


@router.post("/activities/{activity_id}/progress", response_model=ProgressRead)
def report_progress(
    activity_id: RowId,
    event: ProgressEvent,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> ProgressRead:
    """Heartbeats and views from the player; staff previews are not recorded."""
    facts, enrolment_id, progress = service.progress_access(db, principal, activity_id)
    if enrolment_id is None:
        return progress_service.to_read(None, facts)
    from app.certificates import service as certificates

    result = progress_service.record_event(
        db, enrolment_id, facts, event, settings, as_read=progress
    )
    result.certificate = certificates.issued_now(db)  # the last activity completed the course
    return result


class ScormCommit(BaseModel):
    launch_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    seq: int | None = Field(default=None, ge=0)
    finished: bool = False
    cmi: dict[str, str] = Field(max_length=64)


@router.post("/activities/{activity_id}/scorm", response_model=ProgressRead)
async def scorm_commit(
    activity_id: RowId,
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> ProgressRead:
    """LMSCommit/LMSFinish from the SCORM player: bookmark, status, score, time, suspend_data."""
    raw = await request.body()
    if len(raw) > MAX_SCORM_COMMIT_BYTES:
        raise PayloadTooLarge("Data SCORM terlalu besar.", code="scorm_commit_too_large")
    try:
        body = ScormCommit.model_validate_json(raw)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise ValidationFailed(f"{field}: {pydantic_message(first)}", field=field) from None
    return await run_in_threadpool(_scorm_commit, activity_id, body, db, settings, principal)


def _scorm_commit(
    activity_id: int, body: ScormCommit, db: Session, settings: Settings, principal: Principal
) -> ProgressRead:
    activity = service.get_activity(db, activity_id)
    enrolment = service.ensure_content_access(db, principal, activity)
    if activity.kind != ActivityKind.SCORM or activity.scorm_package_id is None:
        raise ValidationFailed("Aktivitas ini bukan SCORM.", field="activity_id")
    facts = content.facts(activity)
    if enrolment is None:  # a staff preview is not recorded
        return progress_service.to_read(None, facts)
    package = content.get_package(db, content.attempt_package_id(db, enrolment, activity))
    return progress_service.scorm_commit(
        db,
        enrolment.id,
        facts,
        launch_id=body.launch_id,
        sequence=body.seq,
        cmi=body.cmi,
        mastery_score=package.mastery_score,
        settings=settings,
        package_id=package.id,
    )
