"""Rules for courses, their content, runs (angkatan) and enrolment.

Other domains ask this module: may this user open this activity, which enrolment is theirs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts.constants import Role
from app.accounts.nip import normalise_nip
from app.auth.service import Principal
from app.core import clock
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.core.markdown import render_markdown
from app.courses import repository
from app.courses.constants import (
    DEFAULT_RULE,
    ActivityKind,
    CompletionRule,
    CourseStatus,
    EnrolmentStatus,
)
from app.courses.models import Activity, Course, CourseCompetency, Enrolment, Run, Section
from app.courses.schemas import (
    ActivityRead,
    CourseCreate,
    CourseRead,
    CourseSummary,
    CourseUpdate,
    EnrolledItem,
    EnrolmentRead,
    EnrolRequest,
    EnrolResult,
    RunBrief,
    RunCreate,
    SectionRead,
    SkippedItem,
)
from app.notifications import service as notifications
from app.notifications.constants import NewNotification
from app.progress import service as progress_service
from app.progress.service import ActivityFacts

COURSE_EDITORS = (Role.CONTENT_ADMIN, Role.ADMIN)
RUN_MANAGERS = (Role.TRAINING_OFFICER, Role.ADMIN)
STAFF = (Role.CONTENT_ADMIN, Role.TRAINING_OFFICER, Role.ADMIN)


def is_staff(principal: Principal) -> bool:
    """Content admins, training officers and admins see drafts and every course's content."""
    return principal.has_any(*STAFF)


def today() -> dt.date:
    """The institution's date (its time zone, not the server's); tests monkeypatch this."""
    return clock.today()


# --- courses ------------------------------------------------------------------------------------


def get_course(session: Session, course_id: int, principal: Principal) -> Course:
    """A course the caller may see: learners see published and archived courses only."""
    course = repository.get_course(session, course_id)
    if course is None or (course.status == CourseStatus.DRAFT and not is_staff(principal)):
        raise NotFound("Kursus tidak ditemukan.", code="course_not_found")
    return course


def create_course(session: Session, data: CourseCreate, principal: Principal) -> Course:
    code = data.code.strip().upper()
    if repository.get_course_by_code(session, code) is not None:
        raise Conflict(f"Kode kursus {code} sudah dipakai.", code="duplicate_course")
    course = Course(
        code=code,
        title=" ".join(data.title.split()),
        summary=data.summary,
        description_md=data.description,
        category=data.category.value,
        learning_mode=data.learning_mode.value,
        jp=data.jp,
        status=CourseStatus.DRAFT.value,
        created_by_id=principal.user_id or None,
        competencies=[
            CourseCompetency(competency_code=code, target_level=level)
            for code, level in competency_tags(
                session, data.competencies, data.competency_levels
            ).items()
        ],
    )
    try:
        repository.add(session, course)
    except IntegrityError:
        raise Conflict(f"Kode kursus {code} sudah dipakai.", code="duplicate_course") from None
    return course


def competency_tags(
    session: Session, codes: Sequence[str], levels: Mapping[str, int | None]
) -> dict[str, int | None]:
    """Competency codes checked against the catalog (codes or names, any case), each with its
    target level; an unknown code or a level outside the competency's levels is a 422."""
    # Imported here: the competency domain builds on courses (enrol-by-gap, recommendations).
    from app.competency import service as competency_service

    return competency_service.course_tags(session, codes, levels)


def update_course(session: Session, course: Course, data: CourseUpdate) -> Course:
    fields = data.model_fields_set
    for name, attr in (
        ("title", "title"),
        ("summary", "summary"),
        ("description", "description_md"),
        ("jp", "jp"),
    ):
        if name in fields and getattr(data, name) is not None:
            setattr(course, attr, getattr(data, name))
    if data.category is not None:
        course.category = data.category.value
    if data.learning_mode is not None:
        course.learning_mode = data.learning_mode.value
    if data.competencies is not None or data.competency_levels is not None:
        current = {c.competency_code: c.target_level for c in course.competencies}
        codes = data.competencies if data.competencies is not None else list(current)
        tags = competency_tags(session, codes, data.competency_levels or {})
        if data.competency_levels is None:
            tags = {code: current.get(code) for code in tags}
        repository.set_competencies(session, course, tags)
    session.flush()
    return course


def publish(session: Session, course: Course) -> Course:
    """A course needs at least one visible activity before learners can see it."""
    if repository.visible_activity_count(session, course.id) == 0:
        raise Conflict(
            "Kursus belum punya aktivitas yang tampil; tambahkan materi sebelum menerbitkan.",
            code="course_empty",
        )
    course.status = CourseStatus.PUBLISHED.value
    course.published_at = course.published_at or utcnow()
    session.flush()
    return course


def archive(session: Session, course: Course) -> Course:
    course.status = CourseStatus.ARCHIVED.value
    session.flush()
    return course


def _run_brief(run: Run, on: dt.date) -> RunBrief:
    return RunBrief(
        id=run.id,
        name=run.name,
        starts_on=run.starts_on,
        ends_on=run.ends_on,
        enrol_opens_on=run.enrol_opens_on,
        enrol_closes_on=run.enrol_closes_on,
        capacity=run.capacity,
        enrolled_count=run.enrolled_count,
        funding_source=run.funding_source,
        organiser=run.organiser,
        self_enrol=run.self_enrol,
        open_for_enrolment=enrolment_window_open(run, on) is None,
    )


def _summary(course: Course, runs: Sequence[Run], on: dt.date) -> CourseSummary:
    briefs = [_run_brief(r, on) for r in runs]
    return CourseSummary(
        id=course.id,
        code=course.code,
        title=course.title,
        summary=course.summary,
        jp=course.jp,
        category=course.category,
        learning_mode=course.learning_mode,
        status=course.status,
        competencies=[c.competency_code for c in course.competencies],
        competency_levels={
            c.competency_code: c.target_level for c in course.competencies if c.target_level
        },
        open_runs=[b for b in briefs if b.open_for_enrolment],
    )


def catalog(
    session: Session,
    principal: Principal,
    *,
    q: str | None = None,
    category: str | None = None,
    mode: str | None = None,
    open_only: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[CourseSummary]]:
    """Published courses (staff also see drafts and archived), searchable by title/code/competency."""
    statuses = (
        [s.value for s in CourseStatus] if is_staff(principal) else [CourseStatus.PUBLISHED.value]
    )
    on = today()
    query = repository.catalog_query(
        q=q, category=category, mode=mode, statuses=statuses, open_on=on if open_only else None
    )
    total = repository.count(session, query)
    courses = repository.list_courses(session, query, limit=limit, offset=offset)
    runs_by_course: dict[int, list[Run]] = {}
    for run in repository.runs_of(session, [c.id for c in courses]):
        runs_by_course.setdefault(run.course_id, []).append(run)
    return total, [_summary(c, runs_by_course.get(c.id, []), on) for c in courses]


def activity_read(activity: Activity) -> ActivityRead:
    return ActivityRead(
        id=activity.id,
        kind=activity.kind,
        title=activity.title,
        duration_minutes=activity.duration_minutes,
        required=activity.required,
        completion_rule=activity.completion_rule,
        locked_until_previous=activity.locked_until_previous,
        hidden=activity.hidden,
        position=activity.position,
        url=activity.url,
        file_name=activity.file_name,
        file_size=activity.file.size if activity.file else None,
        content_type=activity.file.content_type if activity.file else None,
    )


def course_detail(session: Session, course_id: int, principal: Principal) -> CourseRead:
    """The course with its sections and activities (hidden ones for staff only) and its runs."""
    course = repository.get_course(session, course_id, with_content=True)
    if course is None or (course.status == CourseStatus.DRAFT and not is_staff(principal)):
        raise NotFound("Kursus tidak ditemukan.", code="course_not_found")
    staff = is_staff(principal)
    on = today()
    runs = repository.runs_of(session, [course.id])
    summary = _summary(course, runs, on)
    return CourseRead(
        **summary.model_dump(),
        description=course.description_md,
        description_html=render_markdown(course.description_md),
        runs=[_run_brief(r, on) for r in runs],
        sections=[
            SectionRead(
                id=s.id,
                title=s.title,
                position=s.position,
                activities=[activity_read(a) for a in s.activities if staff or not a.hidden],
            )
            for s in course.sections
        ],
    )


# --- sections and activities --------------------------------------------------------------------


def add_section(session: Session, course: Course, title: str) -> Section:
    section = Section(
        course_id=course.id,
        title=" ".join(title.split()),
        position=repository.next_section_position(session, course.id),
    )
    repository.add(session, section)
    return section


def get_section(session: Session, section_id: int) -> Section:
    section = repository.get_section(session, section_id)
    if section is None:
        raise NotFound("Bagian kursus tidak ditemukan.", code="section_not_found")
    return section


@dataclass(slots=True)
class ActivityInput:
    kind: ActivityKind
    title: str
    duration_minutes: int = 0
    required: bool = True
    locked_until_previous: bool = False
    completion_rule: CompletionRule | None = None
    body: str | None = None
    url: str | None = None
    file_id: int | None = None
    file_name: str | None = None
    scorm_package_id: int | None = None
    min_view_seconds: int = 0  # document/page: least time on the page before "viewed" counts


def _check_activity_input(data: ActivityInput) -> None:
    if not data.title.strip():
        raise ValidationFailed("Judul aktivitas wajib diisi.", field="title")
    if data.duration_minutes < 0 or data.duration_minutes > 10_000:
        raise ValidationFailed("Durasi harus 0 sampai 10.000 menit.", field="duration_minutes")
    if data.kind == ActivityKind.PAGE and not (data.body or "").strip():
        raise ValidationFailed("Halaman memerlukan isi (markdown).", field="body")
    if data.kind == ActivityKind.LINK:
        url = (data.url or "").strip()
        if not url.startswith(("https://", "http://")) or len(url) > 2048 or " " in url:
            raise ValidationFailed("Tautan harus alamat http(s):// yang sah.", field="url")
    if (
        data.kind in (ActivityKind.VIDEO, ActivityKind.DOCUMENT, ActivityKind.FILE)
        and data.file_id is None
    ):
        raise ValidationFailed("Aktivitas ini memerlukan berkas yang diunggah.", field="file")
    if data.kind == ActivityKind.SCORM and data.scorm_package_id is None:
        raise ValidationFailed("Aktivitas SCORM memerlukan paket .zip.", field="file")


def add_activity(session: Session, section: Section, data: ActivityInput) -> Activity:
    _check_activity_input(data)
    activity = Activity(
        section_id=section.id,
        course_id=section.course_id,
        position=repository.next_activity_position(session, section.id),
        kind=data.kind.value,
        title=" ".join(data.title.split()),
        duration_minutes=data.duration_minutes,
        required=data.required,
        completion_rule=(data.completion_rule or DEFAULT_RULE[data.kind]).value,
        locked_until_previous=data.locked_until_previous,
        body_md=data.body if data.kind == ActivityKind.PAGE else None,
        url=(data.url or "").strip() if data.kind == ActivityKind.LINK else None,
        file_id=data.file_id,
        file_name=_safe_name(data.file_name) if data.file_name else None,
        scorm_package_id=data.scorm_package_id,
        min_view_seconds=data.min_view_seconds,
    )
    repository.add(session, activity)
    return activity


def _safe_name(name: str) -> str:
    """A display/download name: no path parts, no control characters, at most 255 chars."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip() or "berkas"
    return cleaned[:255]


def get_activity(session: Session, activity_id: int) -> Activity:
    activity = repository.get_activity(session, activity_id)
    if activity is None:
        raise NotFound("Aktivitas tidak ditemukan.", code="activity_not_found")
    return activity


def move_section(session: Session, section: Section, direction: int) -> None:
    siblings: list[Section | Activity] = list(repository.sections_of(session, section.course_id))
    _swap(siblings, section, direction)
    session.flush()


def move_activity(session: Session, activity: Activity, direction: int) -> None:
    siblings: list[Section | Activity] = list(
        repository.activities_of_section(session, activity.section_id)
    )
    _swap(siblings, activity, direction)
    session.flush()


def _swap(items: Sequence[Section | Activity], item: Section | Activity, direction: int) -> None:
    index = next(i for i, x in enumerate(items) if x.id == item.id)
    other = index + (1 if direction > 0 else -1)
    if 0 <= other < len(items):
        a, b = items[index], items[other]
        a.position, b.position = b.position, a.position


def set_hidden(session: Session, activity: Activity, hidden: bool) -> None:
    activity.hidden = hidden
    session.flush()


def delete_activity(session: Session, activity: Activity) -> None:
    """Delete only when no learner has progress in it; otherwise it can be hidden, not deleted."""
    if progress_service.activity_has_progress(session, activity.id):
        raise Conflict(
            "Aktivitas ini sudah punya kemajuan peserta, jadi tidak dapat dihapus. Sembunyikan saja.",
            code="activity_has_progress",
        )
    repository.remove(session, activity)


# --- runs ---------------------------------------------------------------------------------------


def create_run(session: Session, course: Course, data: RunCreate, principal: Principal) -> Run:
    if course.status == CourseStatus.ARCHIVED:
        raise Conflict(
            "Kursus sudah diarsipkan; tidak dapat membuka angkatan baru.", code="course_archived"
        )
    run = Run(
        course_id=course.id,
        name=" ".join(data.name.split()),
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        enrol_opens_on=data.enrol_opens_on,
        enrol_closes_on=data.enrol_closes_on,
        capacity=data.capacity,
        funding_source=data.funding_source.value,
        organiser=data.organiser,
        self_enrol=data.self_enrol,
        instructors="\n".join(data.instructors) or None,
        created_by_id=principal.user_id or None,
    )
    repository.add(session, run)
    return run


def get_run(session: Session, run_id: int) -> Run:
    run = repository.get_run(session, run_id)
    if run is None:
        raise NotFound("Angkatan tidak ditemukan.", code="run_not_found")
    return run


def enrolment_window_open(run: Run, on: dt.date) -> str | None:
    """None when the run takes enrolments on this day, else the reason in plain Indonesian."""
    if run.ends_on < on:
        return "Angkatan sudah selesai."
    if run.enrol_opens_on and on < run.enrol_opens_on:
        return f"Pendaftaran baru dibuka {run.enrol_opens_on:%d-%m-%Y}."
    if run.enrol_closes_on and on > run.enrol_closes_on:
        return f"Pendaftaran sudah ditutup {run.enrol_closes_on:%d-%m-%Y}."
    return None


def _enrol_one(
    session: Session, run: Run, user_id: int, by: int, existing: Enrolment | None
) -> Enrolment | str:
    """Enrol or re-activate one user; returns the enrolment or the reason it was skipped."""
    if existing is not None and existing.status in (
        EnrolmentStatus.ACTIVE,
        EnrolmentStatus.COMPLETED,
    ):
        return "Sudah terdaftar di angkatan ini."
    if not repository.take_seat(session, run.id):
        return "Kuota angkatan sudah penuh."
    if existing is not None:
        existing.status = EnrolmentStatus.ACTIVE.value
        existing.withdrawn_at = None
        existing.enrolled_by_id = by
        existing.enrolled_at = utcnow()
        session.flush()
        return existing
    enrolment = Enrolment(
        run_id=run.id, user_id=user_id, status=EnrolmentStatus.ACTIVE.value, enrolled_by_id=by
    )
    try:
        with session.begin_nested():
            session.add(enrolment)
    except IntegrityError:  # the same user enrolled concurrently: give the seat back
        repository.release_seat(session, run.id)
        return "Sudah terdaftar di angkatan ini."
    return enrolment


def self_enrol(session: Session, run: Run, principal: Principal) -> Enrolment:
    """A learner joins an open run of a published course; 409 when full, closed or not open."""
    course = repository.get_course(session, run.course_id)
    if course is None or course.status != CourseStatus.PUBLISHED:
        raise Conflict("Kursus ini belum dibuka untuk pendaftaran.", code="course_not_published")
    if not run.self_enrol:
        raise Conflict("Angkatan ini hanya diisi oleh penyelenggara.", code="run_closed")
    reason = enrolment_window_open(run, today())
    if reason:
        raise Conflict(reason, code="run_closed")
    result = _enrol_one(
        session,
        run,
        principal.user_id,
        principal.user_id,
        repository.get_enrolment(session, run.id, principal.user_id),
    )
    if isinstance(result, str):
        code = "run_full" if "penuh" in result else "already_enrolled"
        raise Conflict(result, code=code)
    notifications.notify_many(session, enrolled_notices(run, course, [principal.user_id]))
    return result


def enrol_many(
    session: Session, run: Run, request: EnrolRequest, principal: Principal
) -> EnrolResult:
    """Officer enrolment by user ids, NIPs or a whole OPD; each skip says who and why."""
    if run.ends_on < today():
        raise Conflict("Angkatan sudah selesai.", code="run_closed")
    skipped: list[SkippedItem] = []
    targets: list[tuple[int, str | None, str]] = []  # (user_id, nip, name)
    nip: str | None
    if request.user_ids:
        users = repository.users_by_ids(session, request.user_ids)
        for uid in dict.fromkeys(request.user_ids):
            user = users.get(uid)
            if user is None:
                skipped.append(SkippedItem(user_id=uid, reason="Pengguna tidak ditemukan."))
            elif not user.is_active:
                skipped.append(SkippedItem(user_id=uid, nip=user.nip, reason="Akun nonaktif."))
            else:
                targets.append((user.id, user.nip, user.name))
    if request.nips:
        wanted = list(dict.fromkeys(normalise_nip(n) for n in request.nips if n.strip()))
        by_nip = repository.users_by_nips(session, wanted)
        for nip in wanted:
            user = by_nip.get(nip)
            if user is None:
                skipped.append(SkippedItem(nip=nip, reason="NIP tidak terdaftar."))
            elif not user.is_active:
                skipped.append(SkippedItem(user_id=user.id, nip=nip, reason="Akun nonaktif."))
            else:
                targets.append((user.id, user.nip, user.name))
    if request.opd_code:
        members = repository.active_users_of_opd(session, request.opd_code.strip())
        if not members:
            raise ValidationFailed(
                f"OPD '{request.opd_code}' tidak ditemukan atau tidak punya pegawai aktif.",
                field="opd_code",
            )
        targets.extend((u.id, u.nip, u.name) for u in members)
    if not targets and not skipped:
        raise ValidationFailed("Pilih peserta: user_ids, nips, atau opd_code.", field="user_ids")
    unique = list({t[0]: t for t in targets}.values())
    existing = repository.enrolments_by_user(session, run.id, [t[0] for t in unique])
    enrolled: list[EnrolledItem] = []
    for uid, nip, name in unique:
        result = _enrol_one(session, run, uid, principal.user_id, existing.get(uid))
        if isinstance(result, str):
            skipped.append(SkippedItem(user_id=uid, nip=nip, reason=result))
        else:
            enrolled.append(EnrolledItem(user_id=uid, nip=nip, name=name, enrolment_id=result.id))
    course = repository.get_course(session, run.course_id) if enrolled else None
    if course is not None:  # one notify_many for the whole OPD: no query per learner
        notifications.notify_many(
            session, enrolled_notices(run, course, [e.user_id for e in enrolled])
        )
    return EnrolResult(enrolled=enrolled, skipped=skipped)


def run_context(run: Run, course: Course) -> dict[str, Any]:
    """What the run messages (enrolled, run_starting, run_closing) print of a run (JSON)."""
    return {
        "course_title": course.title, "run_name": run.name,
        "starts_on": run.starts_on.isoformat(), "ends_on": run.ends_on.isoformat(),
        "jp": course.jp,
    }  # fmt: skip


def enrolled_notices(run: Run, course: Course, user_ids: Sequence[int]) -> list[NewNotification]:
    """The "you are enrolled" message of each new participant; keyed by run and learner, so
    enrolling again (after a withdrawal) does not repeat it."""
    context = run_context(run, course)
    return [
        NewNotification(event="enrolled", user_id=uid, key=f"enrolled:{run.id}:{uid}",
                        context=context, url=f"/courses/{course.id}")
        for uid in user_ids
    ]  # fmt: skip


def get_enrolment(session: Session, run_id: int, user_id: int) -> Enrolment:
    enrolment = repository.get_enrolment(session, run_id, user_id)
    if enrolment is None:
        raise NotFound("Peserta tidak terdaftar di angkatan ini.", code="enrolment_not_found")
    return enrolment


def withdraw(session: Session, enrolment: Enrolment) -> None:
    """Unenrol keeps the row and its history; the seat goes back to the run."""
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise Conflict("Peserta ini tidak sedang aktif di angkatan.", code="not_active")
    enrolment.status = EnrolmentStatus.WITHDRAWN.value
    enrolment.withdrawn_at = utcnow()
    repository.release_seat(session, enrolment.run_id)
    session.flush()


def run_enrolments(session: Session, run: Run) -> list[EnrolmentRead]:
    return [
        EnrolmentRead(
            id=e.id,
            run_id=e.run_id,
            user_id=u.id,
            nip=u.nip,
            name=u.name,
            opd_code=code,
            status=e.status,
            enrolled_at=e.enrolled_at,
            withdrawn_at=e.withdrawn_at,
        )
        for e, u, code in repository.enrolments_of_run(session, run.id)
    ]


# --- access -------------------------------------------------------------------------------------


def learner_enrolment(session: Session, principal: Principal, course_id: int) -> Enrolment | None:
    return repository.active_enrolment_for_course(session, principal.user_id, course_id)


def ensure_content_access(
    session: Session, principal: Principal, activity: Activity
) -> Enrolment | None:
    """Staff may open any activity; a learner only a visible one of a course they are enrolled in.

    Returns the learner's enrolment (None for staff previewing). 403 otherwise, also for guessed ids.
    """
    if is_staff(principal):
        return repository.active_enrolment_for_course(
            session, principal.user_id, activity.course_id
        )
    enrolment = repository.active_enrolment_for_course(
        session, principal.user_id, activity.course_id
    )
    if enrolment is None or activity.hidden:
        raise Forbidden("Anda belum terdaftar di kursus ini.", code="not_enrolled")
    return enrolment


def progress_access(
    session: Session, principal: Principal, activity_id: int
) -> tuple[ActivityFacts, int | None]:
    """`ensure_content_access` for the heartbeat path in one query: what progress needs of the
    activity and the caller's enrolment id (None for staff previewing); 404 unknown, 403 not
    enrolled or hidden."""
    row = repository.activity_with_enrolment(session, activity_id, principal.user_id)
    if row is None:
        raise NotFound("Aktivitas tidak ditemukan.", code="activity_not_found")
    aid, kind, rule, minutes, min_view, hidden, enrolment_id = row
    if not is_staff(principal) and (enrolment_id is None or hidden):
        raise Forbidden("Anda belum terdaftar di kursus ini.", code="not_enrolled")
    return ActivityFacts(aid, kind, rule, minutes, min_view or 0), enrolment_id


# --- the learner's view -------------------------------------------------------------------------


@dataclass(slots=True)
class OutlineItem:
    activity: ActivityRead
    status: str
    percent: int
    locked: bool
    locked_by: str | None


@dataclass(slots=True)
class Outline:
    course: CourseRead
    enrolment_id: int | None
    run_id: int | None
    sections: list[tuple[SectionRead, list[OutlineItem]]]
    percent: int


def lock_states(items: list[tuple[ActivityRead, str]]) -> dict[int, str | None]:
    """Rule: an activity marked "locked until previous" opens when the required activity before it
    (in course order) is complete. Returns activity id -> title of the blocking activity or None."""
    locks: dict[int, str | None] = {}
    previous_required: tuple[str, str] | None = None  # (title, status)
    for activity, status in items:
        blocked = (
            activity.locked_until_previous
            and previous_required is not None
            and previous_required[1] != "completed"
        )
        locks[activity.id] = previous_required[0] if blocked and previous_required else None
        if activity.required:
            previous_required = (activity.title, status)
    return locks


def outline(session: Session, course_id: int, principal: Principal) -> Outline:
    """Course page data: sections, each activity's status for this learner, and locks."""
    detail = course_detail(session, course_id, principal)
    enrolment = repository.active_enrolment_for_course(session, principal.user_id, course_id)
    states = progress_service.statuses(session, enrolment.id) if enrolment else {}
    ordered = [
        (a, states[a.id].status if a.id in states else "not_started")
        for s in detail.sections
        for a in s.activities
    ]
    locks = lock_states(ordered) if enrolment else {}
    sections = []
    for s in detail.sections:
        items = []
        for a in s.activities:
            row = states.get(a.id)
            status = row.status if row else "not_started"
            percent = 100 if status == "completed" else (50 if status == "in_progress" else 0)
            items.append(
                OutlineItem(a, status, percent, locks.get(a.id) is not None, locks.get(a.id))
            )
        sections.append((s, items))
    required = [st for a, st in ordered if a.required and not a.hidden]
    done = sum(1 for st in required if st == "completed")
    return Outline(
        course=detail,
        enrolment_id=enrolment.id if enrolment else None,
        run_id=enrolment.run_id if enrolment else None,
        sections=sections,
        percent=int(100 * done / len(required)) if required else 0,
    )


def my_courses(session: Session, principal: Principal) -> list[tuple[Enrolment, Run, Course]]:
    return list(repository.user_enrolments(session, principal.user_id))


def ensure_unlocked(session: Session, enrolment: Enrolment | None, activity: Activity) -> None:
    """A learner cannot open an activity whose lock still holds (staff previews are never locked)."""
    if enrolment is None or not activity.locked_until_previous:
        return
    course = repository.get_course(session, activity.course_id, with_content=True)
    assert course is not None
    states = progress_service.statuses(session, enrolment.id)
    ordered = [
        (activity_read(a), states[a.id].status if a.id in states else "not_started")
        for s in course.sections
        for a in s.activities
        if not a.hidden
    ]
    blocker = lock_states(ordered).get(activity.id)
    if blocker:
        raise Forbidden(
            f'Selesaikan dulu aktivitas "{blocker}" untuk membuka yang ini.', code="activity_locked"
        )


# --- read access for other domains (certificates) ------------------------------------------------


def enrolment_by_id(session: Session, enrolment_id: int) -> Enrolment | None:
    return repository.get_enrolment_by_id(session, enrolment_id)


def course_content(session: Session, course_id: int) -> Course:
    """A course with its sections and activities loaded (any status)."""
    course = repository.get_course(session, course_id, with_content=True)
    if course is None:
        raise NotFound("Kursus tidak ditemukan.", code="course_not_found")
    return course


def course_runs(session: Session, course_id: int) -> list[Run]:
    return list(repository.runs_of(session, [course_id]))


def user_enrolments(session: Session, user_id: int) -> list[tuple[Enrolment, Run, Course]]:
    """A user's active and completed enrolments with their runs and courses, newest run first."""
    return list(repository.user_enrolments(session, user_id))


def enrolment_rows(session: Session, run_id: int) -> list[tuple[int, int, str]]:
    """(enrolment id, user id, status) of every enrolment of a run (no ORM objects: bulk)."""
    return repository.enrolment_rows(session, run_id)


def runs_dated(
    session: Session, *, starts_on: dt.date | None = None, ends_on: dt.date | None = None
) -> list[tuple[Run, Course]]:
    """Runs of published courses starting (or ending) on a day, with their courses (reminders)."""
    return repository.runs_dated(session, starts_on=starts_on, ends_on=ends_on)


def active_participants(session: Session, run_ids: Sequence[int]) -> dict[int, list[int]]:
    """User ids of each run's active participants, in one query."""
    found: dict[int, list[int]] = {rid: [] for rid in run_ids}
    for run_id, user_id in repository.active_participants(session, run_ids):
        found[run_id].append(user_id)
    return found
