"""API routes of live sessions: the session (and its .ics), per-run schedules, the attendance
QR, attendance (marks, bulk, Zoom/Meet report import, unmatched rows) and the calendar feed."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.responses import Response

from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep
from app.core.errors import ValidationFailed
from app.live import service
from app.live.schemas import (
    AttendanceBulk,
    AttendanceMark,
    AttendanceRead,
    CalendarLink,
    ImportResult,
    MarkResult,
    QrRead,
    Resolve,
    ScheduleUpdate,
    SessionRead,
    SessionUpdate,
    UnmatchedRead,
)
from app.web.params import RowId
from app.web.routing import Router

router = Router(prefix="/api/v1", tags=["live sessions"])

RunParam = Annotated[RowId | None, Query(description="the run (angkatan); see each route")]
ICS = "text/calendar; charset=utf-8"


@router.get("/sessions/{activity_id}.ics", response_class=Response)
def session_ics(
    activity_id: RowId, db: SessionDep, principal: CurrentPrincipal, settings: SettingsDep,
    run_id: RunParam = None,
) -> Response:  # fmt: skip
    """The session as an iCalendar file with the caller's run's times."""
    body = service.session_ics(db, principal, activity_id, run_id, settings)
    return Response(
        body, media_type=ICS,
        headers={"Content-Disposition": f'attachment; filename="sesi-{activity_id}.ics"'},
    )  # fmt: skip


@router.get("/sessions/{activity_id}", response_model=SessionRead)
def get_session(
    activity_id: RowId, db: SessionDep, principal: CurrentPrincipal, settings: SettingsDep,
    run_id: RunParam = None,
) -> SessionRead:  # fmt: skip
    """Members of a run of the course: the join link only for staff, and for enrolled learners
    from LMS_LIVE_JOIN_OPENS_MINUTES before the start until the end."""
    return service.session_read(db, principal, activity_id, run_id, settings)


@router.patch("/sessions/{activity_id}", response_model=SessionRead)
def patch_session(
    activity_id: RowId, data: SessionUpdate, db: SessionDep, principal: CurrentPrincipal,
    settings: SettingsDep,
) -> SessionRead:  # fmt: skip
    """The session's defaults (content admins, managers, facilitators of the course): times,
    platform, join link or place, `recording_url` afterwards, geofence (radius 0: off)."""
    service.update_session(db, principal, activity_id, data)
    return service.session_read(db, principal, activity_id, None, settings)


@router.put("/sessions/{activity_id}/schedule", response_model=SessionRead)
def put_schedule(
    activity_id: RowId, data: ScheduleUpdate, db: SessionDep, principal: CurrentPrincipal,
    settings: SettingsDep, run_id: RunParam = None,
) -> SessionRead:  # fmt: skip
    """A run's own times/place (facilitator of that run or manager); without run_id the
    session's defaults."""
    service.put_schedule(db, principal, activity_id, run_id, data)
    return service.session_read(db, principal, activity_id, run_id, settings)


@router.get("/sessions/{activity_id}/qr", response_model=QrRead)
def get_qr(
    activity_id: RowId, db: SessionDep, principal: CurrentPrincipal, settings: SettingsDep,
    run_id: RunParam = None,
) -> QrRead:  # fmt: skip
    """The current rotating attendance URL (a new one every LMS_LIVE_QR_STEP_SECONDS, each
    accepted until `expires_at`); facilitators of the run and managers."""
    url, expires, _ = service.current_qr(db, principal, activity_id, run_id, settings)
    return QrRead(url=url, expires_at=expires)


async def attendance_input(request: Request) -> AttendanceMark | bytes:
    """The POST body: JSON `{user_id, status}` or a multipart `file` (participant report)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationFailed("Unggah berkas laporan (field `file`).", field="file")
        data = await upload.read(service.MAX_REPORT_BYTES + 1)
        return data
    try:
        return AttendanceMark.model_validate_json(await request.body())
    except ValidationError as exc:
        wrong = next((str(e["loc"][0]) for e in exc.errors() if e["loc"]), "body")
        raise ValidationFailed("Isian kehadiran tidak sah.", field=wrong) from None


AttendanceInput = Annotated[AttendanceMark | bytes, Depends(attendance_input)]


@router.get("/sessions/{activity_id}/attendance", response_model=list[AttendanceRead])
def list_attendance(
    activity_id: RowId, db: SessionDep, principal: CurrentPrincipal, run_id: RunParam = None
) -> list[AttendanceRead]:
    """Every learner of the run with their status, method and time (run staff, managers)."""
    return service.attendance_sheet(db, principal, activity_id, run_id)[1]


@router.post(
    "/sessions/{activity_id}/attendance",
    response_model=ImportResult,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": AttendanceMark.model_json_schema()},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            }
        }
    },
)
def post_attendance(
    activity_id: RowId, body: AttendanceInput, db: SessionDep, principal: CurrentPrincipal,
    settings: SettingsDep, run_id: RunParam = None,
) -> ImportResult:  # fmt: skip
    """Facilitators of the run: mark one learner (`{user_id, status, note?}`; without run_id
    the learner's own run), or import a Zoom/Google Meet participant report (multipart
    `file`): `{matched, unmatched:[...]}`."""
    if isinstance(body, bytes):
        return service.import_report(db, principal, activity_id, run_id, body, settings)
    service.mark(db, principal, activity_id, run_id, body.user_id, body.status, body.note)
    return ImportResult(matched=1, unmatched=[])


@router.post("/sessions/{activity_id}/attendance/bulk", response_model=MarkResult)
def bulk_attendance(
    activity_id: RowId, data: AttendanceBulk, db: SessionDep, principal: CurrentPrincipal,
    run_id: RunParam = None,
) -> MarkResult:  # fmt: skip
    """Mark the listed learners, or every learner without a record (`all_unmarked`)."""
    marked = service.mark_bulk(
        db, principal, activity_id, run_id, data.status, data.user_ids, data.all_unmarked
    )
    return MarkResult(marked=marked)


@router.get("/sessions/{activity_id}/attendance/unmatched", response_model=list[UnmatchedRead])
def list_unmatched(
    activity_id: RowId, db: SessionDep, principal: CurrentPrincipal, run_id: RunParam = None
) -> list[UnmatchedRead]:
    """Report rows no learner matched, waiting for review."""
    return service.unmatched_rows(db, principal, activity_id, run_id)


@router.post("/sessions/{activity_id}/attendance/unmatched/{row_id}", status_code=204)
def resolve_unmatched(
    activity_id: RowId, row_id: RowId, data: Resolve, db: SessionDep,
    principal: CurrentPrincipal, settings: SettingsDep, run_id: RunParam = None,
) -> Response:  # fmt: skip
    """Give the row to a learner (`user_id`) or ignore it (`user_id` null)."""
    service.resolve_unmatched(db, principal, activity_id, run_id, row_id, data.user_id, settings)
    return Response(status_code=204)


@router.get("/me/calendar.ics", response_class=Response)
def calendar_feed(
    db: SessionDep, settings: SettingsDep, key: Annotated[str, Query(max_length=100)] = ""
) -> Response:
    """The personal calendar feed (no login: the key is the secret; 404 on a wrong key)."""
    return Response(
        service.feed(db, key, settings), media_type=ICS,
        headers={"Cache-Control": "private, max-age=300"},
    )  # fmt: skip


@router.get("/me/calendar", response_model=CalendarLink)
def calendar_link(
    db: SessionDep, principal: CurrentPrincipal, settings: SettingsDep
) -> CalendarLink:
    """The caller's secret feed URL (made on first use)."""
    return CalendarLink(url=service.calendar_url(db, principal.user_id, settings))


@router.post("/me/calendar/key", response_model=CalendarLink)
def new_calendar_key(
    db: SessionDep, principal: CurrentPrincipal, settings: SettingsDep
) -> CalendarLink:
    """A new secret: the old feed URL stops working."""
    service.regenerate_key(db, principal.user_id)
    return CalendarLink(url=service.calendar_url(db, principal.user_id, settings))
