"""HTML pages of live sessions: the staff session page, the full-screen rotating QR, the
attendance sheet (bulk marking, report import, match review), the scan page /attend and the
learner's calendar. Rules are the service's; routes parse forms and render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import FormData, UploadFile
from starlette.responses import RedirectResponse, Response

from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep
from app.auth.service import Principal
from app.core.config import Settings
from app.core.errors import ValidationFailed
from app.core.i18n import gettext_ as _
from app.courses import staff
from app.live import qr, service
from app.live.constants import AttendanceStatus, method_labels, platform_labels, status_labels
from app.live.schemas import ScheduleUpdate
from app.web.params import RowId
from app.web.routing import Router
from app.web.templating import render

router = Router(include_in_schema=False)


async def posted_form(request: Request) -> FormData:
    """The posted form, files included (CSRF was checked by the principal dependency)."""
    return await request.form()


Form = Annotated[FormData, Depends(posted_form)]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _labels() -> dict[str, Any]:
    return {
        "status_labels": status_labels(),
        "method_labels": method_labels(),
        "platform_labels": platform_labels(),
    }


def _here(activity_id: int, run_id: int, page: str = "") -> str:
    return f"/sessions/{activity_id}{page}?run_id={run_id}"


# --- staff session page -------------------------------------------------------------------------


def _session_page(
    request: Request, db: SessionDep, principal: Principal, settings: Settings,
    activity_id: int, run_id: int | None, *, notice: str | None = None,
    error: str | None = None,
) -> Response:  # fmt: skip
    activity = service.live_activity(db, activity_id)
    access = service.staff_run(db, principal, activity, run_id)
    read = service.session_read(db, principal, activity_id, access.run.id, settings)
    present, total = service.present_count(db, principal, activity_id, access.run.id)
    return render(
        request,
        "live/session.html",
        {
            "s": read, "run": access.run, "activity": activity, "present": present,
            "total": total, "notice": notice, "error": error, **_labels(),
        },
        status_code=422 if error else 200,
    )  # fmt: skip


@router.get("/sessions/{activity_id}")
def session_page(
    request: Request, activity_id: RowId, db: SessionDep, principal: CurrentPrincipal,
    settings: SettingsDep, run_id: RowId | None = None,
) -> Response:  # fmt: skip
    """The run's session page for its facilitators and managers."""
    return _session_page(request, db, principal, settings, activity_id, run_id)


@router.post("/sessions/{activity_id}/schedule")
def session_schedule(
    request: Request, activity_id: RowId, form: Form, db: SessionDep,
    principal: CurrentPrincipal, settings: SettingsDep, run_id: RowId,
) -> Response:  # fmt: skip
    data = ScheduleUpdate(
        starts_at=_text(form, "starts_at") or None, ends_at=_text(form, "ends_at") or None,
        join_url=_text(form, "join_url") or None, location=_text(form, "location") or None,
        recording_url=_text(form, "recording_url") or None,
    )  # fmt: skip
    try:
        service.put_schedule(db, principal, activity_id, run_id, data)
    except ValidationFailed as exc:
        db.rollback()
        return _session_page(
            request, db, principal, settings, activity_id, run_id, error=exc.detail
        )
    return RedirectResponse(_here(activity_id, run_id) + "&saved=1", status_code=303)


# --- full-screen QR -----------------------------------------------------------------------------


def _qr_frame(
    db: SessionDep, principal: Principal, settings: Settings, activity_id: int,
    run_id: int | None,
) -> dict[str, Any]:  # fmt: skip
    url, expires, chosen = service.current_qr(db, principal, activity_id, run_id, settings)
    return {"qr_svg": qr.svg(url), "qr_url": url, "expires_at": expires, "run_id": chosen,
            "step": settings.live_qr_step_seconds}  # fmt: skip


@router.get("/sessions/{activity_id}/qr")
def qr_page(
    request: Request, activity_id: RowId, db: SessionDep, principal: CurrentPrincipal,
    settings: SettingsDep, run_id: RowId | None = None,
) -> Response:  # fmt: skip
    """Full screen for a projector: the QR (redrawn every step by static/js/live-qr.js) and
    the live count of learners present (htmx poll)."""
    frame = _qr_frame(db, principal, settings, activity_id, run_id)
    activity = service.live_activity(db, activity_id)
    present, total = service.present_count(db, principal, activity_id, frame["run_id"])
    return render(
        request, "live/qr.html",
        {"activity": activity, "present": present, "total": total, **frame},
    )  # fmt: skip


@router.get("/sessions/{activity_id}/qr/frame")
def qr_frame(
    request: Request, activity_id: RowId, db: SessionDep, principal: CurrentPrincipal,
    settings: SettingsDep, run_id: RowId | None = None,
) -> Response:  # fmt: skip
    """The QR's box alone (what the page's script swaps in every step)."""
    frame = _qr_frame(db, principal, settings, activity_id, run_id)
    response = render(request, "live/_qr_frame.html", {"activity_id": activity_id, **frame})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/sessions/{activity_id}/qr.png")
def qr_png(
    activity_id: RowId, db: SessionDep, principal: CurrentPrincipal, settings: SettingsDep,
    run_id: RowId | None = None,
) -> Response:  # fmt: skip
    """The current QR as a PNG (for a slide or a second screen)."""
    url, _, _ = service.current_qr(db, principal, activity_id, run_id, settings)
    return Response(qr.png(url), media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get("/sessions/{activity_id}/present")
def present_fragment(
    request: Request, activity_id: RowId, db: SessionDep, principal: CurrentPrincipal,
    run_id: RowId | None = None,
) -> Response:  # fmt: skip
    present, total = service.present_count(db, principal, activity_id, run_id)
    return render(request, "live/_present.html",
                  {"present": present, "total": total, "activity_id": activity_id,
                   "run_id": run_id})  # fmt: skip


# --- attendance sheet ---------------------------------------------------------------------------


def _sheet(
    request: Request, db: SessionDep, principal: Principal, activity_id: int,
    run_id: int | None, *, notice: str | None = None, error: str | None = None,
    imported: Any = None,
) -> Response:  # fmt: skip
    access, rows = service.attendance_sheet(db, principal, activity_id, run_id)
    activity = service.live_activity(db, activity_id)
    teach = access.can(staff.TEACH)
    unmatched = service.unmatched_rows(db, principal, activity_id, access.run.id) if teach else []
    return render(
        request, "live/attendance.html",
        {
            "activity": activity, "run": access.run, "rows": rows, "teach": teach,
            "unmatched": unmatched, "notice": notice, "error": error, "imported": imported,
            "statuses": [s.value for s in AttendanceStatus], **_labels(),
        },
        status_code=422 if error else 200,
    )  # fmt: skip


@router.get("/sessions/{activity_id}/attendance")
def attendance_page(
    request: Request, activity_id: RowId, db: SessionDep, principal: CurrentPrincipal,
    run_id: RowId | None = None, done: str | None = None,
) -> Response:  # fmt: skip
    notice = {"marked": _("Kehadiran disimpan."), "resolved": _("Baris laporan diselesaikan.")}
    return _sheet(request, db, principal, activity_id, run_id, notice=notice.get(done or ""))


@router.post("/sessions/{activity_id}/attendance/mark")
def attendance_mark(
    request: Request, activity_id: RowId, form: Form, db: SessionDep,
    principal: CurrentPrincipal, run_id: RowId,
) -> Response:  # fmt: skip
    """Bulk marking: the selected learners, or everyone not marked yet."""
    try:
        status = AttendanceStatus(_text(form, "status"))
        ids = [int(v) for v in form.getlist("user_id") if isinstance(v, str) and v.isdigit()]
        everyone = _text(form, "scope") == "unmarked"
        if not ids and not everyone:
            raise ValidationFailed(_("Pilih peserta terlebih dahulu."), field="user_id")
        service.mark_bulk(db, principal, activity_id, run_id, status, ids, everyone)
    except ValueError:
        return _sheet(request, db, principal, activity_id, run_id,
                      error=_("Pilih status kehadiran."))  # fmt: skip
    except ValidationFailed as exc:
        db.rollback()
        return _sheet(request, db, principal, activity_id, run_id, error=exc.detail)
    return RedirectResponse(_here(activity_id, run_id, "/attendance") + "&done=marked", 303)


@router.post("/sessions/{activity_id}/attendance/import")
def attendance_import(
    request: Request, activity_id: RowId, form: Form, db: SessionDep,
    principal: CurrentPrincipal, settings: SettingsDep, run_id: RowId,
) -> Response:  # fmt: skip
    """Upload a Zoom/Meet participant report; the page then lists what did not match."""
    upload = form.get("file")
    data = upload.file.read(service.MAX_REPORT_BYTES + 1) if isinstance(upload, UploadFile) else b""
    try:
        if not data:
            raise ValidationFailed(_("Pilih berkas laporan CSV."), field="file")
        result = service.import_report(db, principal, activity_id, run_id, data, settings)
    except ValidationFailed as exc:
        db.rollback()
        return _sheet(request, db, principal, activity_id, run_id, error=exc.detail)
    return _sheet(request, db, principal, activity_id, run_id, imported=result,
                  notice=_("Laporan diimpor."))  # fmt: skip


@router.post("/sessions/{activity_id}/attendance/unmatched/{row_id}")
def attendance_resolve(
    request: Request, activity_id: RowId, row_id: RowId, form: Form, db: SessionDep,
    principal: CurrentPrincipal, settings: SettingsDep, run_id: RowId,
) -> Response:  # fmt: skip
    raw = _text(form, "user_id")
    user_id = int(raw) if raw.isdigit() else None
    try:
        service.resolve_unmatched(db, principal, activity_id, run_id, row_id, user_id, settings)
    except ValidationFailed as exc:
        db.rollback()
        return _sheet(request, db, principal, activity_id, run_id, error=exc.detail)
    return RedirectResponse(_here(activity_id, run_id, "/attendance") + "&done=resolved", 303)


# --- the scan -----------------------------------------------------------------------------------


def _scan_page(request: Request, outcome: service.ScanOutcome, token: str) -> Response:
    messages = {
        "recorded": _("Kehadiran Anda tercatat."),
        "already": _("Kehadiran Anda sudah tercatat."),
        "expired": _("Kode QR ini sudah kedaluwarsa. Pindai kode yang sedang tampil di layar."),
        "invalid": _("Kode QR tidak sah."),
        "not_enrolled": _("Anda tidak terdaftar di angkatan sesi ini."),
        "wrong_run": _("Kode QR ini untuk angkatan lain. Pindai kode di kelas Anda."),
        "needs_location": _("Sesi ini memeriksa lokasi Anda. Izinkan akses lokasi lalu kirim."),
        "outside": _("Lokasi Anda di luar area kelas."),
    }
    ok = outcome.state in ("recorded", "already")
    return render(
        request, "live/attend.html",
        {"o": outcome, "message": messages[outcome.state], "ok": ok, "token": token,
         **_labels()},
        status_code=200 if ok or outcome.state in ("needs_location", "outside") else 409
        if outcome.state == "expired" else 403 if outcome.state in ("not_enrolled", "wrong_run")
        else 400,
    )  # fmt: skip


@router.get("/attend")
def attend(
    request: Request, db: SessionDep, principal: CurrentPrincipal, settings: SettingsDep,
    t: str = "",
) -> Response:  # fmt: skip
    """What the QR opens: records the signed-in learner (login first, then back here)."""
    return _scan_page(request, service.scan(db, principal, t[:200], settings), t[:200])


@router.post("/attend")
def attend_located(
    request: Request, form: Form, db: SessionDep, principal: CurrentPrincipal,
    settings: SettingsDep,
) -> Response:  # fmt: skip
    """The scan of a geofenced session, with the browser's location."""
    token = _text(form, "t")[:200]
    try:
        lat, lon = float(_text(form, "lat")), float(_text(form, "lon"))
    except ValueError:
        lat = lon = None  # type: ignore[assignment]
    return _scan_page(request, service.scan(db, principal, token, settings, lat, lon), token)


# --- calendar -----------------------------------------------------------------------------------


@router.get("/me/calendar")
def calendar_page(
    request: Request, db: SessionDep, principal: CurrentPrincipal, settings: SettingsDep,
    renewed: str | None = None,
) -> Response:  # fmt: skip
    """Upcoming sessions and deadlines in local time, and the secret feed URL to copy."""
    now = service.now()
    items = [i for i in service.agenda(db, principal.user_id) if (i.ends_at or i.starts_at) >= now]
    return render(
        request, "live/calendar.html",
        {"items": items, "feed_url": service.calendar_url(db, principal.user_id, settings),
         "renewed": bool(renewed)},
    )  # fmt: skip


@router.post("/me/calendar/key")
def calendar_new_key(db: SessionDep, principal: CurrentPrincipal) -> Response:
    """A new secret: the old feed URL stops working."""
    service.regenerate_key(db, principal.user_id)
    return RedirectResponse("/me/calendar?renewed=1", status_code=303)
