"""Rules of live sessions: schedules (a run may have its own), who sees the join link and when,
attendance by rotating QR, by hand and from Zoom/Meet reports, the attendance summary other
domains read, and the calendar (one session's .ics, a user's secret feed)."""

from __future__ import annotations

import datetime as dt
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.core import clock, events
from app.core.config import Settings, get_settings
from app.core.errors import Forbidden, NotFound, ValidationFailed
from app.courses import kinds, staff
from app.courses import repository as courses_repository
from app.courses.constants import ActivityKind, CompletionRule
from app.courses.models import Activity, Enrolment
from app.courses.service import COURSE_EDITORS
from app.live import calendar, qr, reports, repository
from app.live.constants import (
    ATTENDED,
    AttendanceMethod,
    AttendanceStatus,
    Platform,
    platform_labels,
    status_labels,
)
from app.live.models import Attendance, LiveSchedule, LiveSession, UnmatchedParticipant
from app.live.schemas import (
    AttendanceRead,
    ImportResult,
    ScheduleUpdate,
    SessionRead,
    SessionUpdate,
    UnmatchedRead,
)
from app.progress import service as progress_service

MAX_REPORT_BYTES = 10 * 1024 * 1024


# --- what other domains read (contracts.md) -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttendanceSummary:
    sessions: int  # visible live sessions of the course that have ended or were marked
    attended: int  # present or late
    percent: float  # 100 * attended / (sessions - excused); 100.0 when nothing is due
    attended_minutes: int  # minutes of attended sessions (feed learning time for JP)


@dataclass(frozen=True, slots=True)
class SessionEvent:
    activity_id: int
    run_id: int
    course_title: str
    title: str
    starts_at: dt.datetime  # aware UTC
    ends_at: dt.datetime
    location: str | None
    join_url: str | None


@dataclass(frozen=True, slots=True)
class Slot:
    """A session's times and place for one run: its own schedule over the session's default."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    join_url: str | None
    location: str | None
    recording_url: str | None

    @property
    def minutes(self) -> int:
        return max(int((self.ends_at - self.starts_at).total_seconds() // 60), 0)


def slot_of(live: LiveSession, own: LiveSchedule | None) -> Slot:
    """The run's own value where it set one, else the session's default."""
    if own is None:
        return Slot(live.starts_at, live.ends_at, live.join_url, live.location, live.recording_url)
    return Slot(
        own.starts_at or live.starts_at,
        own.ends_at or live.ends_at,
        own.join_url or live.join_url,
        own.location or live.location,
        own.recording_url or live.recording_url,
    )


def _now() -> dt.datetime:
    """The current moment (UTC), through the institution's clock so tests can freeze it."""
    return clock.now_local().astimezone(dt.UTC)


now = _now


def attendance_summary(
    slots: Sequence[Slot],
    statuses: Mapping[int, tuple[str, int | None]],
    activity_ids: Sequence[int],
    now: dt.datetime,
) -> AttendanceSummary:
    """Sessions that ended or were marked count; excused ones leave the denominator; attended
    minutes are the report's minutes (capped at the session's length) or the whole session."""
    sessions = attended = excused = minutes = 0
    for activity_id, slot in zip(activity_ids, slots, strict=True):
        found = statuses.get(activity_id)
        if found is None and slot.ends_at > now:
            continue
        sessions += 1
        if found is None:
            continue
        status, reported = found
        if status in ATTENDED:
            attended += 1
            minutes += min(reported, slot.minutes) if reported is not None else slot.minutes
        elif status == AttendanceStatus.EXCUSED:
            excused += 1
    due = sessions - excused
    percent = 100.0 if due <= 0 else round(100.0 * attended / due, 2)
    return AttendanceSummary(sessions, attended, percent, minutes)


def attendance_by_user(session: Session, run_id: int) -> dict[int, AttendanceSummary]:
    """User id -> attendance summary of every learner of the run (three queries)."""
    rows = repository.sessions_of_runs(session, [run_id])
    ids = [activity.id for _, _, activity, _, _ in rows]
    slots = [slot_of(live, own) for _, _, _, live, own in rows]
    marks: dict[int, dict[int, tuple[str, int | None]]] = {}
    for user_id, activity_id, status, minutes in repository.attendance_rows_of_run(session, run_id):
        marks.setdefault(user_id, {})[activity_id] = (status, minutes)
    now = _now()
    return {
        user_id: attendance_summary(slots, marks.get(user_id, {}), ids, now)
        for _, user_id, _, _, _ in repository.members(session, run_id)
    }


def attendance_of(session: Session, run_id: int, user_id: int) -> AttendanceSummary:
    """One learner's attendance summary in a run."""
    rows = repository.sessions_of_runs(session, [run_id])
    marks = {
        activity_id: (status, minutes)
        for _, activity_id, status, minutes in repository.attendance_rows_of_run(
            session, run_id, user_id
        )
    }
    return attendance_summary(
        [slot_of(live, own) for _, _, _, live, own in rows],
        marks,
        [activity.id for _, _, activity, _, _ in rows],
        _now(),
    )


def sessions_for_runs(session: Session, run_ids: list[int]) -> list[SessionEvent]:
    """Every visible live session of the runs, with each run's own times, by start."""
    events = []
    for run_id, course_title, activity, live, own in repository.sessions_of_runs(session, run_ids):
        slot = slot_of(live, own)
        events.append(
            SessionEvent(
                activity.id,
                int(run_id),
                str(course_title),
                activity.title,
                slot.starts_at,
                slot.ends_at,
                slot.location,
                slot.join_url,
            )
        )
    events.sort(key=lambda e: (e.starts_at, e.activity_id, e.run_id))
    return events


# --- details of a new live_session activity (app.courses.kinds) --------------------------------


def parse_moment(text: str | None, field: str) -> dt.datetime:
    """ISO 8601; without an offset it is the institution's local time; stored as UTC."""
    try:
        value = dt.datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise ValidationFailed(
            "Waktu harus berformat ISO 8601, mis. 2026-12-07T08:00.", field=field
        ) from None
    return clock.from_local(value)


def _https(url: str | None, field: str) -> str | None:
    """Join and recording links: https only (a meeting link over plain http leaks its code)."""
    value = (url or "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc or " " in value or len(value) > 2048:
        raise ValidationFailed("Tautan harus alamat https:// yang sah.", field=field)
    return value


def _text(value: Any, limit: int) -> str | None:
    cleaned = " ".join(str(value or "").split())
    return cleaned[:limit] or None


@dataclass(frozen=True, slots=True)
class _Details:
    starts_at: dt.datetime
    ends_at: dt.datetime
    platform: str
    join_url: str | None
    location: str | None


def _details(details: Mapping[str, Any]) -> _Details:
    starts = parse_moment(details.get("starts_at"), "starts_at")
    ends = parse_moment(details.get("ends_at"), "ends_at")
    if ends <= starts:
        raise ValidationFailed("Waktu selesai harus setelah waktu mulai.", field="ends_at")
    if ends - starts > dt.timedelta(hours=24):
        raise ValidationFailed("Satu sesi paling lama 24 jam.", field="ends_at")
    join_url = _https(details.get("join_url"), "join_url")
    location = _text(details.get("location"), 500)
    raw = str(details.get("platform") or "").strip().lower()
    if not raw:
        raw = Platform.OTHER.value if join_url else Platform.CLASSROOM.value
    if raw not in {p.value for p in Platform}:
        raise ValidationFailed("Platform tidak dikenal.", field="platform")
    if raw == Platform.CLASSROOM and not location:
        raise ValidationFailed("Sesi tatap muka memerlukan lokasi.", field="location")
    if not join_url and not location:
        raise ValidationFailed(
            "Isi tautan bergabung (https://) atau lokasi sesi.", field="join_url"
        )
    return _Details(starts, ends, raw, join_url, location)


def check_details(session: Session, details: Mapping[str, Any]) -> None:
    """Times (end after start, at most a day), a known platform, an https join link or a
    place (a classroom session needs the place)."""
    _details(details)


def attach_details(
    session: Session, activity: Activity, details: Mapping[str, Any], by: Principal | None
) -> None:
    found = _details(details)
    repository.add(
        session,
        LiveSession(
            activity_id=activity.id,
            starts_at=found.starts_at,
            ends_at=found.ends_at,
            platform=found.platform,
            join_url=found.join_url,
            location=found.location,
        ),
    )


# --- who reaches a session, and through which run ----------------------------------------------


def _live(session: Session, activity_id: int) -> tuple[Activity, LiveSession]:
    activity = courses_repository.get_activity(session, activity_id)
    live = repository.get_live(session, activity_id) if activity is not None else None
    if activity is None or live is None or activity.kind != ActivityKind.LIVE_SESSION:
        raise NotFound("Sesi tidak ditemukan.", code="session_not_found")
    return activity, live


def live_activity(session: Session, activity_id: int) -> Activity:
    """The live_session activity (404 for anything else)."""
    return _live(session, activity_id)[0]


def _check_course(access: staff.RunAccess, activity: Activity) -> None:
    if access.run.course_id != activity.course_id:
        raise NotFound("Sesi tidak ditemukan di angkatan ini.", code="session_not_found")


def _course_editor(principal: Principal) -> bool:
    return principal.has_any(*COURSE_EDITORS) or staff.is_manager(principal)


def _facilitator_runs(session: Session, principal: Principal, course_id: int) -> list[int]:
    runs = set(repository.runs_of_course(session, course_id))
    return sorted(
        r
        for r, role in staff.staff_run_ids(session, principal).items()
        if r in runs and role in staff.TEACH
    )


def staff_run(
    session: Session, principal: Principal, activity: Activity, run_id: int | None
) -> staff.RunAccess:
    """The run a staff action is about: the given one (facilitator of it or manager), else the
    caller's only facilitated run of the course (or the course's only run for a manager)."""
    if run_id is None:
        mine = _facilitator_runs(session, principal, activity.course_id)
        if staff.is_manager(principal) and not mine:
            mine = repository.runs_of_course(session, activity.course_id)
        if len(mine) != 1:
            if not mine and not staff.is_manager(principal):
                raise Forbidden("Anda bukan pengajar angkatan ini.", code="not_run_staff")
            raise ValidationFailed("Pilih angkatan (run_id).", field="run_id")
        run_id = mine[0]
    found = staff.require_staff(session, principal, run_id, staff.TEACH)
    _check_course(found, activity)
    return found


def member_run(
    session: Session, principal: Principal, activity: Activity, run_id: int | None
) -> staff.RunAccess | None:
    """The run whose schedule the caller sees: the given one (any member), else their own
    enrolment's, else their only staff run of the course; None (the default schedule) for
    course editors and managers; 403 for anyone else."""
    if run_id is not None:
        found = staff.require_member(session, principal, run_id)
        _check_course(found, activity)
        return found
    enrolment = repository.enrolment_in_course(session, activity.course_id, principal.user_id)
    if enrolment is not None:
        return staff.access(session, principal, enrolment.run_id)
    runs = set(repository.runs_of_course(session, activity.course_id))
    mine = sorted(r for r in staff.staff_run_ids(session, principal) if r in runs)
    if len(mine) == 1:
        return staff.access(session, principal, mine[0])
    if _course_editor(principal) or mine:
        return None
    raise Forbidden("Anda bukan peserta angkatan ini.", code="not_run_member")


def join_visible(
    now: dt.datetime, slot: Slot, opens_minutes: int, *, staff_member: bool, enrolled: bool
) -> bool:
    """Staff always see the join link; an enrolled learner from LMS_LIVE_JOIN_OPENS_MINUTES
    before the start until the end; nobody else."""
    if staff_member:
        return True
    if not enrolled:
        return False
    return slot.starts_at - dt.timedelta(minutes=opens_minutes) <= now <= slot.ends_at


def _slot_for(session: Session, live: LiveSession, run_id: int | None) -> Slot:
    own = repository.get_schedule(session, live.activity_id, run_id) if run_id else None
    return slot_of(live, own)


def session_read(
    session: Session,
    principal: Principal,
    activity_id: int,
    run_id: int | None,
    settings: Settings,
) -> SessionRead:
    """The session as the caller may see it (join link per `join_visible`)."""
    activity, live = _live(session, activity_id)
    access = member_run(session, principal, activity, run_id)
    chosen = access.run.id if access is not None else None
    slot = _slot_for(session, live, chosen)
    staff_member = access.staff if access is not None else True
    enrolment = access.enrolment if access is not None else None
    own = None
    if enrolment is not None:
        row = repository.get_attendance(session, activity.id, enrolment.id)
        own = row.status if row is not None else None
    visible = join_visible(
        _now(),
        slot,
        settings.live_join_opens_minutes,
        staff_member=staff_member,
        enrolled=enrolment is not None,
    )
    return SessionRead(
        activity_id=activity.id,
        run_id=chosen,
        title=activity.title,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        platform=live.platform,
        location=slot.location,
        join_url=slot.join_url if visible else None,
        join_opens_at=slot.starts_at - dt.timedelta(minutes=settings.live_join_opens_minutes),
        recording_url=slot.recording_url,
        geofence=bool(live.geo_radius_m),
        attendance=own,
    )


def _may_edit_defaults(session: Session, principal: Principal, activity: Activity) -> None:
    if _course_editor(principal):
        return
    if staff.course_staff_role(session, principal, activity.course_id) != "facilitator":
        raise Forbidden("Anda tidak berwenang mengubah sesi ini.", code="forbidden_role")


def update_session(
    session: Session, principal: Principal, activity_id: int, data: SessionUpdate
) -> None:
    """Change the session's defaults (course editors, managers, facilitators of the course):
    times, platform, link or place, the recording afterwards, the geofence."""
    activity, live = _live(session, activity_id)
    _may_edit_defaults(session, principal, activity)
    given = data.model_fields_set
    starts = parse_moment(data.starts_at, "starts_at") if data.starts_at else live.starts_at
    ends = parse_moment(data.ends_at, "ends_at") if data.ends_at else live.ends_at
    if ends <= starts:
        raise ValidationFailed("Waktu selesai harus setelah waktu mulai.", field="ends_at")
    live.starts_at, live.ends_at = starts, ends
    if "platform" in given and data.platform is not None:
        live.platform = data.platform.value
    if "join_url" in given:
        live.join_url = _https(data.join_url, "join_url")
    if "location" in given:
        live.location = _text(data.location, 500)
    if "recording_url" in given:
        live.recording_url = _https(data.recording_url, "recording_url")
    if "geo_radius_m" in given:
        if data.geo_radius_m:
            if data.geo_lat is None or data.geo_lon is None:
                raise ValidationFailed("Geofence memerlukan lintang dan bujur.", field="geo_lat")
            live.geo_lat, live.geo_lon, live.geo_radius_m = (
                data.geo_lat,
                data.geo_lon,
                data.geo_radius_m,
            )
        else:
            live.geo_lat = live.geo_lon = live.geo_radius_m = None
    if live.platform == Platform.CLASSROOM and not live.location:
        raise ValidationFailed("Sesi tatap muka memerlukan lokasi.", field="location")
    session.flush()


def put_schedule(
    session: Session,
    principal: Principal,
    activity_id: int,
    run_id: int | None,
    data: ScheduleUpdate,
) -> Slot:
    """A run's own times and place (facilitator of that run or manager); without a run, the
    session's defaults. Empty fields follow the default."""
    activity, live = _live(session, activity_id)
    if run_id is None:
        update_session(
            session,
            principal,
            activity_id,
            SessionUpdate.model_validate(data.model_dump(exclude_unset=True)),
        )
        return slot_of(live, None)
    access = staff_run(session, principal, activity, run_id)
    own = repository.get_schedule(session, activity.id, access.run.id)
    if own is None:
        own = LiveSchedule(activity_id=activity.id, run_id=access.run.id)
        session.add(own)
    own.starts_at = parse_moment(data.starts_at, "starts_at") if data.starts_at else None
    own.ends_at = parse_moment(data.ends_at, "ends_at") if data.ends_at else None
    own.join_url = _https(data.join_url, "join_url")
    own.location = _text(data.location, 500)
    own.recording_url = _https(data.recording_url, "recording_url")
    own.updated_by_id = principal.user_id
    slot = slot_of(live, own)
    if slot.ends_at <= slot.starts_at:
        raise ValidationFailed("Waktu selesai harus setelah waktu mulai.", field="ends_at")
    session.flush()
    return slot


# --- the activity page (kinds hook) -------------------------------------------------------------


def page_context(
    session: Session, activity: Activity, principal: Principal, enrolment: Enrolment | None
) -> dict[str, Any]:
    """What templates/live/_activity.html shows: local times, join button or place, the
    recording; staff get links to each of their runs' session pages."""
    live = repository.get_live(session, activity.id)
    if live is None:
        return {"live": None}
    settings = get_settings()
    run_id = enrolment.run_id if enrolment is not None else None
    slot = _slot_for(session, live, run_id)
    if _course_editor(principal):
        runs = repository.runs_of_course(session, activity.course_id)
    else:
        runs = sorted(
            r
            for r in staff.staff_run_ids(session, principal)
            if r in set(repository.runs_of_course(session, activity.course_id))
        )
    staff_member = bool(runs) or _course_editor(principal)
    visible = join_visible(
        _now(),
        slot,
        settings.live_join_opens_minutes,
        staff_member=staff_member,
        enrolled=enrolment is not None,
    )
    own = repository.get_attendance(session, activity.id, enrolment.id) if enrolment else None
    return {
        "live_platform_labels": platform_labels(),
        "live_status_labels": status_labels(),
        "live": {
            "activity_id": activity.id,
            "starts_at": slot.starts_at,
            "ends_at": slot.ends_at,
            "platform": live.platform,
            "location": slot.location,
            "join_url": slot.join_url if visible else None,
            "has_join_url": bool(slot.join_url),
            "join_opens_at": slot.starts_at
            - dt.timedelta(minutes=settings.live_join_opens_minutes),
            "ended": slot.ends_at <= _now(),
            "recording_url": slot.recording_url,
            "attendance": own.status if own else None,
            "staff_runs": repository.run_names(session, runs),
            "ics_url": f"/api/v1/sessions/{activity.id}.ics"
            + (f"?run_id={run_id}" if run_id else ""),
        },
    }


kinds.register(
    ActivityKind.LIVE_SESSION.value,
    kinds.KindHooks(
        check=check_details,
        attach=attach_details,
        page_context=page_context,
        template="live/_activity.html",
    ),
)


# --- attendance ---------------------------------------------------------------------------------


def _completes(activity: Activity) -> bool:
    return activity.completion_rule == CompletionRule.ATTENDED


def _after_mark(session: Session, activity: Activity, enrolment_id: int, status: str) -> None:
    """Present or late completes the activity (rule "attended"); never taken back. Any other
    change still moves the learner's attendance share, which a course's minimum-attendance rule
    reads: completion is re-checked (one read when the run is complete already)."""
    if status in ATTENDED:
        events.learning(session, events.LearningEvent("attended", enrolment_id, activity.id))
    if (
        status in ATTENDED
        and _completes(activity)
        and progress_service.complete_activity(session, enrolment_id, activity.id)
    ):
        return  # the new completion was announced
    events.enrolment_changed(session, enrolment_id)


def current_qr(
    session: Session,
    principal: Principal,
    activity_id: int,
    run_id: int | None,
    settings: Settings,
) -> tuple[str, dt.datetime, int]:
    """(URL, expiry, run id) of the attendance QR now (facilitators of the run, managers)."""
    activity, _ = _live(session, activity_id)
    access = staff_run(session, principal, activity, run_id)
    token, step = qr.make_token(
        settings.secret_key, activity.id, access.run.id, _now(), settings.live_qr_step_seconds
    )
    expires = qr.expires_at(step, settings.live_qr_step_seconds, settings.live_qr_accept_seconds)
    return settings.absolute_url(f"/attend?t={quote(token)}"), expires, access.run.id


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    """What a scan did: recorded | already | expired | invalid | not_enrolled | wrong_run |
    needs_location | outside; with the status and the session's title when known."""

    state: str
    status: str | None = None
    title: str | None = None
    activity_id: int | None = None
    geofence: bool = False


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine, mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def scan(
    session: Session,
    principal: Principal,
    token: str,
    settings: Settings,
    lat: float | None = None,
    lon: float | None = None,
) -> ScanOutcome:
    """Record the caller present (late after LMS_LIVE_LATE_AFTER_MINUTES from the start) from a
    QR token of the current minute, exactly once; an earlier "absent" mark is corrected."""
    parsed = qr.parse(settings.secret_key, token)
    if parsed is None:
        return ScanOutcome("invalid")
    activity = courses_repository.get_activity(session, parsed.activity_id)
    live = repository.get_live(session, parsed.activity_id) if activity else None
    if activity is None or live is None:
        return ScanOutcome("invalid")
    title, now = activity.title, _now()
    if not qr.is_current(
        parsed, now, settings.live_qr_step_seconds, settings.live_qr_accept_seconds
    ):
        return ScanOutcome("expired", title=title, activity_id=activity.id)
    enrolment = courses_repository.member_enrolment(session, parsed.run_id, principal.user_id)
    if enrolment is None:
        other = repository.enrolment_in_course(session, activity.course_id, principal.user_id)
        return ScanOutcome(
            "wrong_run" if other is not None else "not_enrolled",
            title=title,
            activity_id=activity.id,
        )
    if live.geo_radius_m:
        if lat is None or lon is None:
            return ScanOutcome(
                "needs_location", title=title, activity_id=activity.id, geofence=True
            )
        assert live.geo_lat is not None and live.geo_lon is not None
        if distance_m(lat, lon, live.geo_lat, live.geo_lon) > live.geo_radius_m:
            return ScanOutcome("outside", title=title, activity_id=activity.id, geofence=True)
    slot = _slot_for(session, live, parsed.run_id)
    late = now > slot.starts_at + dt.timedelta(minutes=settings.live_late_after_minutes)
    status = AttendanceStatus.LATE.value if late else AttendanceStatus.PRESENT.value
    values = {
        "activity_id": activity.id,
        "enrolment_id": enrolment.id,
        "status": status,
        "method": AttendanceMethod.QR.value,
        "recorded_at": now,
        "recorded_by_id": principal.user_id,
    }
    if not repository.insert_attendance(session, values):
        existing = repository.get_attendance(session, activity.id, enrolment.id)
        if existing is None or existing.status != AttendanceStatus.ABSENT:
            return ScanOutcome("already", existing.status if existing else None, title, activity.id)
        existing.status, existing.method = status, AttendanceMethod.QR.value
        existing.recorded_at, existing.recorded_by_id = now, principal.user_id
        session.flush()
    _after_mark(session, activity, enrolment.id, status)
    return ScanOutcome("recorded", status, title, activity.id)


def attendance_sheet(
    session: Session, principal: Principal, activity_id: int, run_id: int | None
) -> tuple[staff.RunAccess, list[AttendanceRead]]:
    """Every learner of the run with their attendance (run staff of any role, managers)."""
    activity, _ = _live(session, activity_id)
    if run_id is None:
        access = staff_run(session, principal, activity, None)
    else:
        access = staff.require_staff(session, principal, run_id, staff.GRADE)
        _check_course(access, activity)
    marks = repository.attendance_of_run(session, activity.id, access.run.id)
    rows = []
    for enrolment_id, user_id, name, _, _ in repository.members(session, access.run.id):
        mark = marks.get(enrolment_id)
        rows.append(
            AttendanceRead(
                user_id=user_id,
                name=name,
                status=mark.status if mark else None,
                method=mark.method if mark else None,
                recorded_at=mark.recorded_at if mark else None,
                minutes=mark.minutes if mark else None,
            )
        )
    return access, rows


def _write(
    session: Session,
    activity: Activity,
    enrolment_id: int,
    status: str,
    method: str,
    by: int | None,
    *,
    minutes: int | None = None,
    note: str | None = None,
    existing: Attendance | None = None,
) -> None:
    now = _now()
    if existing is None:
        existing = repository.get_attendance(session, activity.id, enrolment_id)
    if existing is None:
        session.add(
            Attendance(
                activity_id=activity.id,
                enrolment_id=enrolment_id,
                status=status,
                method=method,
                recorded_at=now,
                recorded_by_id=by,
                minutes=minutes,
                note=note,
            )
        )
    else:
        existing.status, existing.method = status, method
        existing.recorded_at, existing.recorded_by_id = now, by
        if minutes is not None:
            existing.minutes = minutes
        if note is not None:
            existing.note = note


def mark(
    session: Session,
    principal: Principal,
    activity_id: int,
    run_id: int | None,
    user_id: int,
    status: AttendanceStatus,
    note: str | None = None,
) -> None:
    """Mark one learner by hand (facilitators of the run, managers); without a run, the
    learner's own run of the course."""
    activity, _ = _live(session, activity_id)
    if run_id is None:
        enrolment = repository.enrolment_in_course(session, activity.course_id, user_id)
        if enrolment is None:
            raise NotFound("Peserta tidak terdaftar di angkatan ini.", code="not_enrolled")
        run_id = enrolment.run_id
    access = staff_run(session, principal, activity, run_id)
    enrolment = courses_repository.member_enrolment(session, access.run.id, user_id)
    if enrolment is None:
        raise NotFound("Peserta tidak terdaftar di angkatan ini.", code="not_enrolled")
    _write(
        session,
        activity,
        enrolment.id,
        status.value,
        AttendanceMethod.MANUAL.value,
        principal.user_id,
        note=_text(note, 500),
    )
    session.flush()
    _after_mark(session, activity, enrolment.id, status.value)


def mark_bulk(
    session: Session,
    principal: Principal,
    activity_id: int,
    run_id: int | None,
    status: AttendanceStatus,
    user_ids: Sequence[int],
    all_unmarked: bool,
) -> int:
    """Mark the chosen learners, or every learner without a record yet; how many were marked."""
    activity, _ = _live(session, activity_id)
    access = staff_run(session, principal, activity, run_id)
    marks = repository.attendance_of_run(session, activity.id, access.run.id)
    wanted = set(user_ids)
    chosen = [
        e
        for e, u, _, _, _ in repository.members(session, access.run.id)
        if (all_unmarked and e not in marks) or u in wanted
    ]
    for enrolment_id in chosen:
        _write(
            session,
            activity,
            enrolment_id,
            status.value,
            AttendanceMethod.MANUAL.value,
            principal.user_id,
            existing=marks.get(enrolment_id),
        )
    session.flush()
    for enrolment_id in chosen:
        _after_mark(session, activity, enrolment_id, status.value)
    return len(chosen)


def import_report(
    session: Session,
    principal: Principal,
    activity_id: int,
    run_id: int | None,
    data: bytes,
    settings: Settings,
) -> ImportResult:
    """Fill attendance from a Zoom/Meet participant report: minutes against the session's
    length (see reports.status_for_minutes); a QR or manual mark is kept (its minutes noted);
    unmatched rows wait on the review page."""
    if len(data) > MAX_REPORT_BYTES:
        raise ValidationFailed("Berkas laporan terlalu besar (maks. 10 MB).", field="file")
    activity, live = _live(session, activity_id)
    access = staff_run(session, principal, activity, run_id)
    participants = reports.parse_report(data)
    slot = _slot_for(session, live, access.run.id)
    members = [
        reports.Member(e, u, n, m) for e, u, n, m, _ in repository.members(session, access.run.id)
    ]
    result = reports.match(participants, members)
    marks = repository.attendance_of_run(session, activity.id, access.run.id)
    attended: list[tuple[int, str]] = []  # (enrolment, status) written by this import
    for enrolment_id, raw in result.minutes.items():
        minutes = min(round(raw), slot.minutes)
        existing = marks.get(enrolment_id)
        if existing is not None and existing.method != AttendanceMethod.IMPORT:
            existing.minutes = minutes  # a QR scan or a facilitator's mark wins
            continue
        status = reports.status_for_minutes(
            minutes, slot.minutes, settings.live_min_share, settings.live_late_after_minutes
        )
        _write(
            session,
            activity,
            enrolment_id,
            status,
            AttendanceMethod.IMPORT.value,
            principal.user_id,
            minutes=minutes,
            existing=existing,
        )
        attended.append((enrolment_id, status))
    repository.clear_open_unmatched(session, activity.id, access.run.id)
    rows = [
        UnmatchedParticipant(
            activity_id=activity.id,
            run_id=access.run.id,
            name=(u.name or "?")[:255],
            email=u.email[:320] if u.email else None,
            minutes=min(round(u.minutes), 24 * 60),
            imported_at=_now(),
            imported_by_id=principal.user_id,
        )
        for u in result.unmatched
    ]
    repository.add_all(session, rows)
    for enrolment_id, status in attended:
        _after_mark(session, activity, enrolment_id, status)
    return ImportResult(
        matched=len(result.minutes),
        unmatched=[
            UnmatchedRead(id=r.id, name=r.name, email=r.email, minutes=r.minutes) for r in rows
        ],
    )


def unmatched_rows(
    session: Session, principal: Principal, activity_id: int, run_id: int | None
) -> list[UnmatchedRead]:
    activity, _ = _live(session, activity_id)
    access = staff_run(session, principal, activity, run_id)
    return [
        UnmatchedRead(id=r.id, name=r.name, email=r.email, minutes=r.minutes)
        for r in repository.unmatched(session, activity.id, access.run.id)
    ]


def resolve_unmatched(
    session: Session,
    principal: Principal,
    activity_id: int,
    run_id: int | None,
    row_id: int,
    user_id: int | None,
    settings: Settings,
) -> None:
    """Give an unmatched report row to a learner of the run (their minutes then count as the
    import's would), or ignore it (user_id None)."""
    activity, live = _live(session, activity_id)
    access = staff_run(session, principal, activity, run_id)
    row = repository.get_unmatched(session, row_id)
    if row is None or row.activity_id != activity.id or row.run_id != access.run.id:
        raise NotFound("Baris laporan tidak ditemukan.", code="row_not_found")
    if row.state != "open":
        return
    if user_id is None:
        row.state = "ignored"
        session.flush()
        return
    enrolment = courses_repository.member_enrolment(session, access.run.id, user_id)
    if enrolment is None:
        raise NotFound("Peserta tidak terdaftar di angkatan ini.", code="not_enrolled")
    slot = _slot_for(session, live, access.run.id)
    existing = repository.get_attendance(session, activity.id, enrolment.id)
    minutes = min(row.minutes + (existing.minutes or 0 if existing else 0), slot.minutes)
    row.state = "assigned"
    if existing is not None and existing.method != AttendanceMethod.IMPORT:
        existing.minutes = minutes
        session.flush()
        return
    status = reports.status_for_minutes(
        minutes, slot.minutes, settings.live_min_share, settings.live_late_after_minutes
    )
    _write(
        session,
        activity,
        enrolment.id,
        status,
        AttendanceMethod.IMPORT.value,
        principal.user_id,
        minutes=minutes,
        existing=existing,
    )
    session.flush()
    _after_mark(session, activity, enrolment.id, status)


def present_count(
    session: Session, principal: Principal, activity_id: int, run_id: int | None
) -> tuple[int, int]:
    """(present or late, learners) of a run: the live count on the QR page."""
    activity, _ = _live(session, activity_id)
    access = staff_run(session, principal, activity, run_id)
    return (
        repository.attended_count(session, activity.id, access.run.id),
        len(repository.members(session, access.run.id)),
    )


# --- calendar -----------------------------------------------------------------------------------


def _host(settings: Settings) -> str:
    return urlsplit(settings.base_url).hostname or "lms"


def _session_events(events: Sequence[SessionEvent], settings: Settings) -> list[calendar.Event]:
    """Sessions as calendar entries; the URL is the LMS page (the join link opens there at the
    right time, not in a calendar that anyone forwarded)."""
    found = []
    for e in events:
        found.append(
            calendar.Event(
                uid=f"live-{e.activity_id}-run-{e.run_id}@{_host(settings)}",
                summary=f"{e.title} — {e.course_title}",
                starts_at=e.starts_at,
                ends_at=e.ends_at,
                location=e.location,
                url=settings.absolute_url(f"/activities/{e.activity_id}"),
            )
        )
    return found


def session_ics(
    session: Session,
    principal: Principal,
    activity_id: int,
    run_id: int | None,
    settings: Settings,
) -> bytes:
    """One session's .ics with the caller's run's times."""
    read = session_read(session, principal, activity_id, run_id, settings)
    activity, _ = _live(session, activity_id)
    course = courses_repository.get_course(session, activity.course_id)
    event = SessionEvent(
        read.activity_id,
        read.run_id or 0,
        course.title if course else "",
        read.title,
        read.starts_at,
        read.ends_at,
        read.location,
        read.join_url,
    )
    return calendar.build(_session_events([event], settings), name=read.title, now=_now())


def calendar_key(session: Session, user_id: int) -> str:
    """The user's feed secret, made on first use."""
    found = repository.calendar_key_of(session, user_id)
    if found is not None:
        return found.key
    return regenerate_key(session, user_id)


def regenerate_key(session: Session, user_id: int) -> str:
    """A new secret: the old feed URL stops working (404)."""
    key = secrets.token_urlsafe(32)
    repository.set_calendar_key(session, user_id, key, _now())
    return key


def calendar_url(session: Session, user_id: int, settings: Settings) -> str:
    return settings.absolute_url(f"/api/v1/me/calendar.ics?key={calendar_key(session, user_id)}")


@dataclass(frozen=True, slots=True)
class Upcoming:
    kind: str  # "session" | "deadline"
    activity_id: int
    run_id: int
    title: str
    course_title: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    location: str | None


def _run_ids_of(session: Session, user_id: int) -> list[int]:
    """Runs the user learns in or is staff of."""
    learner = set(repository.learner_run_ids(session, user_id))
    return sorted(learner | set(courses_repository.staff_runs(session, user_id)))


def _deadlines(session: Session, run_ids: list[int]) -> list[Any]:
    from app.assignments import service as assignments_service  # calendar reads assignments

    return list(assignments_service.deadlines_for_runs(session, run_ids))


def agenda(session: Session, user_id: int) -> list[Upcoming]:
    """Every session and assignment deadline of the user's runs, by time."""
    run_ids = _run_ids_of(session, user_id)
    items = [
        Upcoming(
            "session",
            e.activity_id,
            e.run_id,
            e.title,
            e.course_title,
            e.starts_at,
            e.ends_at,
            e.location,
        )
        for e in sessions_for_runs(session, run_ids)
    ]
    items += [
        Upcoming("deadline", d.activity_id, d.run_id, d.title, d.course_title, d.due_at, None, None)
        for d in _deadlines(session, run_ids)
    ]
    items.sort(key=lambda i: (i.starts_at, i.kind, i.activity_id, i.run_id))
    return items


def feed(session: Session, key: str, settings: Settings) -> bytes:
    """The user's calendar feed (404 for an unknown key): sessions and deadlines."""
    user_id = repository.user_by_calendar_key(session, key) if key else None
    if user_id is None:
        raise NotFound("Kalender tidak ditemukan.", code="calendar_not_found")
    run_ids = _run_ids_of(session, user_id)
    events = _session_events(sessions_for_runs(session, run_ids), settings)
    for d in _deadlines(session, run_ids):
        events.append(
            calendar.Event(
                uid=f"assignment-{d.activity_id}-run-{d.run_id}@{_host(settings)}",
                summary=f"Batas tugas: {d.title} — {d.course_title}",
                starts_at=d.due_at,
                ends_at=None,
                url=settings.absolute_url(f"/activities/{d.activity_id}"),
            )
        )
    return calendar.build(events, name=f"LMS Diklat — {settings.institution_name}", now=_now())
