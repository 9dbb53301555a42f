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
from app.audit import service as audit
from app.auth.service import Principal
from app.core import clock, i18n, readcache
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.core.i18n import N_
from app.core.i18n import gettext_ as _
from app.core.markdown import render_markdown
from app.courses import kinds, media, repository
from app.courses.constants import (
    DEFAULT_RULE,
    ActivityKind,
    CompletionRule,
    CourseStatus,
    EnrolmentStatus,
)
from app.courses.models import (
    Activity,
    ContentFile,
    Course,
    CourseCompetency,
    CourseEdit,
    Enrolment,
    Run,
    ScormPackage,
    Section,
)
from app.courses.schemas import (
    ActivityLoss,
    ActivityRead,
    ActivityUpdate,
    CourseCreate,
    CourseEditRead,
    CourseRead,
    CourseSummary,
    CourseUpdate,
    EnrolledItem,
    EnrolmentRead,
    EnrolRequest,
    EnrolResult,
    RunBrief,
    RunCreate,
    SectionDeletion,
    SectionRead,
    SkippedItem,
    WaitlistedItem,
)
from app.notifications import service as notifications
from app.notifications.constants import NewNotification
from app.progress import service as progress_service
from app.progress.models import ActivityProgress
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
        raise Conflict(
            _("Kode kursus %(code)s sudah dipakai.") % {"code": code}, code="duplicate_course"
        )
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
        raise Conflict(
            _("Kode kursus %(code)s sudah dipakai.") % {"code": code}, code="duplicate_course"
        ) from None
    return course


def competency_tags(
    session: Session, codes: Sequence[str], levels: Mapping[str, int | None]
) -> dict[str, int | None]:
    """Competency codes checked against the catalog (codes or names, any case), each with its
    target level; an unknown code or a level outside the competency's levels is a 422."""
    # Imported here: the competency domain builds on courses (enrol-by-gap, recommendations).
    from app.competency import service as competency_service

    return competency_service.course_tags(session, codes, levels)


def update_course(
    session: Session, course: Course, data: CourseUpdate, by: Principal | None = None
) -> Course:
    """Change the course's details; on a published course each change is recorded."""
    fields = data.model_fields_set
    log = EditLog(course, by, "course", course.id, course.title)
    for name, attr in (
        ("title", "title"),
        ("summary", "summary"),
        ("description", "description_md"),
        ("jp", "jp"),
    ):
        if name in fields and getattr(data, name) is not None:
            log.assign(course, attr, getattr(data, name), field=name)
    if data.category is not None:
        log.assign(course, "category", data.category.value)
    if data.learning_mode is not None:
        log.assign(course, "learning_mode", data.learning_mode.value)
    if data.competencies is not None or data.competency_levels is not None:
        current = {c.competency_code: c.target_level for c in course.competencies}
        codes = data.competencies if data.competencies is not None else list(current)
        tags = competency_tags(session, codes, data.competency_levels or {})
        if data.competency_levels is None:
            tags = {code: current.get(code) for code in tags}
        if tags != current:
            log.change("competencies", _tags_value(current), _tags_value(tags))
        repository.set_competencies(session, course, tags)
    log.save(session)
    session.flush()
    return course


def _tags_value(tags: Mapping[str, int | None]) -> str:
    return ", ".join(f"{code}:{level}" if level else code for code, level in sorted(tags.items()))


# --- the edit log -------------------------------------------------------------------------------

_LOGGED_TEXT = 500  # a long text (a page's markdown) is recorded up to this many characters


def _logged(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    text = str(value)
    return text if len(text) <= _LOGGED_TEXT else text[: _LOGGED_TEXT - 1] + "…"


class EditLog:
    """Changes to one thing of a course, recorded (who, when, which field, old -> new) when the
    course is published: learners may already rely on what was there."""

    def __init__(
        self, course: Course, by: Principal | None, target: str, target_id: int | None,
        title: str,
    ) -> None:  # fmt: skip
        self.course, self.by = course, by
        self.target, self.target_id, self.title = target, target_id, title
        self.changed: list[tuple[str, str | None, str | None]] = []

    def assign(self, obj: object, attr: str, value: object, *, field: str | None = None) -> bool:
        """Set `obj.attr = value`; True (and noted) when it differs."""
        old = getattr(obj, attr)
        if old == value:
            return False
        setattr(obj, attr, value)
        self.change(field or attr, _logged(old), _logged(value))
        return True

    def change(self, field: str, old: object, new: object) -> None:
        self.changed.append((field, _logged(old), _logged(new)))

    def fields(self) -> set[str]:
        return {f for f, _o, _n in self.changed}

    def save(self, session: Session) -> None:
        if self.course.status != CourseStatus.PUBLISHED or not self.changed:
            return
        now = utcnow()
        repository.add_edits(
            session,
            [
                CourseEdit(
                    course_id=self.course.id, user_id=(self.by.user_id or None) if self.by else None,
                    at=now, target=self.target, target_id=self.target_id,
                    target_title=self.title[:255], field=f, old_value=o, new_value=n,
                )
                for f, o, n in self.changed
            ],
        )  # fmt: skip


def course_edits(session: Session, course_id: int, *, limit: int = 100) -> list[CourseEditRead]:
    """The recorded edits of a course, newest first."""
    return [
        CourseEditRead(
            id=e.id, at=e.at, user_id=e.user_id, user_name=name, target=e.target,
            target_id=e.target_id, target_title=e.target_title, field=e.field,
            old_value=e.old_value, new_value=e.new_value,
        )
        for e, name in repository.course_edits(session, course_id, limit=limit)
    ]  # fmt: skip


def requirements_changed(session: Session, course_id: int) -> bool:
    """What completion needs changed (an activity required, hidden, added or removed): each run's
    completions are worked out again by the progress service (queued when many learners).
    Returns True when it was queued."""
    run_ids = [r.id for r in repository.runs_of(session, [course_id])]
    if not run_ids:
        return False
    session.flush()
    learners = repository.enrolment_count(session, run_ids)
    return progress_service.requirements_changed(session, run_ids, learners, get_settings())


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


run_brief = _run_brief  # app.courses.runs


def _summary(course: Course, runs: Sequence[Run], on: dt.date) -> CourseSummary:
    return _summary_of(course, course.competencies, runs, on)


def _summary_of(
    course: Any, competencies: Sequence[Any], runs: Sequence[Any], on: dt.date
) -> CourseSummary:
    """A course's summary from a Course or a row of its columns, its competency links
    (competency_code, target_level) and its runs (Run objects or rows)."""
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
        competencies=[c.competency_code for c in competencies],
        competency_levels={c.competency_code: c.target_level for c in competencies
                           if c.target_level},
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


def activity_read(activity: Activity, *, with_body: bool = False) -> ActivityRead:
    """The activity as plain data (its file loaded); `with_body` adds a page's markdown."""
    return _activity_read(activity, activity.file, with_body=with_body)


@dataclass(frozen=True, slots=True)
class _FileFacts:
    """What an activity's page shows of its stored file (a ContentFile's columns)."""

    size: int
    content_type: str
    duration_seconds: float | None
    page_count: int | None


def _activity_read(activity: Any, stored: Any, *, with_body: bool) -> ActivityRead:
    """`activity_read` of an Activity or of a row with Activity's columns; `stored` is its
    ContentFile, _FileFacts or None."""
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
        file_size=stored.size if stored else None,
        content_type=stored.content_type if stored else None,
        available_from=activity.available_from,
        available_until=activity.available_until,
        duration_manual=activity.duration_manual,
        media_minutes=media_minutes(activity.kind, stored, activity.body_md),
        media_seconds=stored.duration_seconds if stored else None,
        page_count=stored.page_count if stored else None,
        min_view_seconds=activity.min_view_seconds or 0,
        body=activity.body_md if with_body else None,
    )


def media_minutes(kind: str, stored: ContentFile | None, body: str | None) -> int | None:
    """The minutes the media itself suggests: a video's length, a PDF's pages, a page's words;
    None where nothing can be read (links, downloads, SCORM, quizzes, unknown containers)."""
    if kind == ActivityKind.VIDEO and stored is not None and stored.duration_seconds:
        return media.minutes_of_video(stored.duration_seconds)
    if kind == ActivityKind.DOCUMENT and stored is not None and stored.page_count:
        return media.minutes_of_pages(stored.page_count)
    if kind == ActivityKind.PAGE and (body or "").strip():
        return media.reading_minutes(body)
    return None


def required_minutes(sections: Sequence[SectionRead]) -> int:
    """Minutes of the visible required activities: what the course's JP should cover."""
    return sum(
        a.duration_minutes for s in sections for a in s.activities if a.required and not a.hidden
    )


# A course's page data for learners and staff: read by every learner of every angkatan, changed
# by authors now and then. Keyed by (course id, staff view, day, language).
course_details = readcache.WatchedCache(
    "course_detail",
    {"course", "course_section", "activity", "content_file", "course_run", "course_competency"},
    lambda: get_settings().read_cache_seconds,
)


def course_detail_json(session: Session, course_id: int, principal: Principal) -> bytes:
    """`course_detail` as the JSON the API sends, from this process's cache when it has it."""
    key = course_detail_key(course_id, principal)
    found: bytes | None = course_details.get(key)
    if found is not None:
        return found
    generation = course_details.generation
    detail = course_detail(session, course_id, principal)
    body = detail.__pydantic_serializer__.to_json(detail, by_alias=True)
    course_details.put(key, body, generation)
    return body


def course_detail_key(course_id: int, principal: Principal) -> tuple[Any, ...]:
    return (course_id, is_staff(principal), today(), i18n.current_locale.get())


def course_detail(session: Session, course_id: int, principal: Principal) -> CourseRead:
    """The course with its sections and activities (hidden ones for staff only) and its runs,
    from four Core reads (no ORM objects: this is what every learner's course page asks for)."""
    rows = repository.course_detail_rows(session, course_id)
    staff = is_staff(principal)
    if rows is None or (rows.course.status == CourseStatus.DRAFT and not staff):
        raise NotFound("Kursus tidak ditemukan.", code="course_not_found")
    course = rows.course
    on = today()
    summary = _summary_of(course, rows.competencies, rows.runs, on)
    sections: list[SectionRead] = []
    for row in rows.content:
        if not sections or sections[-1].id != row.section_id:
            sections.append(SectionRead(id=row.section_id, title=row.section_title,
                                        position=row.section_position, activities=[]))  # fmt: skip
        if row.id is None or (row.hidden and not staff):
            continue
        stored = (
            _FileFacts(row.file_size, row.file_content_type, row.file_duration_seconds,
                       row.file_page_count)
            if row.file_size is not None
            else None
        )
        sections[-1].activities.append(_activity_read(row, stored, with_body=staff))
    for section in sections:
        section.required_minutes = required_minutes([section])
    minutes = required_minutes(sections)
    return CourseRead(
        **summary.model_dump(),
        description=course.description_md,
        description_html=render_markdown(course.description_md),
        runs=[_run_brief(r, on) for r in rows.runs],
        sections=sections,
        required_minutes=minutes,
        suggested_jp=media.suggested_jp(minutes, get_settings().minutes_per_jp),
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
    by: Principal | None = None  # who adds it (the edit log of a published course)
    details: Mapping[str, Any] | None = None  # a registered kind's own fields (app.courses.kinds)


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


def initial_duration(
    session: Session, *, kind: str, file_id: int | None, body: str | None, typed: int
) -> tuple[int, bool]:
    """(minutes, typed by hand) of a new or imported activity: 0 or nothing typed takes what the
    media says; a typed duration equal to the media's is not by hand."""
    stored = repository.get_file(session, file_id) if file_id else None
    auto = media_minutes(kind, stored, body)
    if typed <= 0:
        return (auto or 0), False
    return typed, typed != auto


def add_activity(session: Session, section: Section, data: ActivityInput) -> Activity:
    _check_activity_input(data)
    hooks = kinds.hooks_for(data.kind.value)
    if hooks is not None:
        hooks.check(session, data.details or {})
    minutes, manual = initial_duration(
        session,
        kind=data.kind.value,
        file_id=data.file_id,
        body=data.body,
        typed=data.duration_minutes,
    )
    activity = Activity(
        section_id=section.id,
        course_id=section.course_id,
        position=repository.next_activity_position(session, section.id),
        kind=data.kind.value,
        title=" ".join(data.title.split()),
        duration_minutes=minutes,
        duration_manual=manual,
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
    if hooks is not None:
        hooks.attach(session, activity, data.details or {}, data.by)
    course = repository.get_course(session, section.course_id)
    if course is not None and course.status == CourseStatus.PUBLISHED:
        log = EditLog(course, data.by, "activity", activity.id, activity.title)
        log.change("added", None, activity.title)
        log.save(session)
    if data.required:
        requirements_changed(session, section.course_id)
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


def _course_of(session: Session, course_id: int) -> Course:
    course = repository.get_course(session, course_id)
    if course is None:
        raise NotFound("Kursus tidak ditemukan.", code="course_not_found")
    return course


def _order_text(sections: Sequence[Section]) -> str:
    return " | ".join(s.title for s in sorted(sections, key=lambda x: x.position))


def move_section(
    session: Session, section: Section, direction: int, by: Principal | None = None
) -> None:
    sections = list(repository.sections_of(session, section.course_id))
    before = _order_text(sections)
    siblings: list[Section | Activity] = list(sections)
    _swap(siblings, section, direction)
    _log_order(session, section.course_id, by, before, _order_text(sections))
    session.flush()


def reorder_sections(
    session: Session, course: Course, section_ids: Sequence[int], by: Principal | None = None
) -> None:
    """Put the course's sections in the order given; the list must name each section once."""
    sections = list(repository.sections_of(session, course.id))
    if sorted(section_ids) != sorted(s.id for s in sections):
        raise ValidationFailed(
            _("Urutan harus menyebut setiap bagian kursus ini tepat satu kali."),
            field="section_ids",
            code="bad_section_order",
        )
    before = _order_text(sections)
    by_id = {s.id: s for s in sections}
    for position, sid in enumerate(section_ids, start=1):
        by_id[sid].position = position
    _log_order(session, course.id, by, before, _order_text(sections))
    session.flush()


def _log_order(
    session: Session, course_id: int, by: Principal | None, before: str, after: str
) -> None:
    if before == after:
        return
    course = _course_of(session, course_id)
    log = EditLog(course, by, "course", course.id, course.title)
    log.change("section_order", before, after)
    log.save(session)


def rename_section(
    session: Session, section: Section, title: str, by: Principal | None = None
) -> Section:
    cleaned = " ".join(title.split())
    if not cleaned:
        raise ValidationFailed(_("Judul bagian wajib diisi."), field="title")
    log = EditLog(_course_of(session, section.course_id), by, "section", section.id, section.title)
    log.assign(section, "title", cleaned)
    log.save(session)
    session.flush()
    return section


def section_deletion(session: Session, section: Section) -> SectionDeletion:
    """What deleting the section takes with it: each activity and how many learners began it."""
    activities = list(repository.activities_of_section(session, section.id))
    begun = progress_service.learners_with_progress(session, [a.id for a in activities])
    return SectionDeletion(
        section_id=section.id,
        title=section.title,
        activities=[
            ActivityLoss(
                id=a.id, title=a.title, kind=a.kind, learners_with_progress=begun.get(a.id, 0)
            )
            for a in activities
        ],
    )


def delete_section(
    session: Session, section: Section, *, confirm: bool = False, by: Principal | None = None
) -> SectionDeletion:
    """An empty section goes at once; one with activities only with `confirm`, after the editor
    was shown what is lost (section_deletion). Learners' progress in those activities goes too."""
    loss = section_deletion(session, section)
    if loss.activities and not confirm:
        names = ", ".join(f'"{a.title}"' for a in loss.activities)
        raise Conflict(
            _(
                "Bagian ini masih berisi %(n)s aktivitas (%(names)s). Kirim konfirmasi untuk menghapus bagian beserta aktivitas dan kemajuan peserta di dalamnya."
            )
            % {"n": len(loss.activities), "names": names},
            code="section_not_empty",
        )
    course = _course_of(session, section.course_id)
    log = EditLog(course, by, "section", section.id, section.title)
    log.change("deleted", section.title, None)
    for a in loss.activities:
        log.change("activity_deleted", a.title, None)
    log.save(session)
    had_required = any(a.required for a in repository.activities_of_section(session, section.id))
    repository.remove(session, section)
    _renumber_sections(session, course.id)
    if had_required:
        requirements_changed(session, course.id)
    return loss


def _renumber_sections(session: Session, course_id: int) -> None:
    for position, s in enumerate(repository.sections_of(session, course_id), start=1):
        s.position = position
    session.flush()


def move_activity(
    session: Session, activity: Activity, direction: int, by: Principal | None = None
) -> None:
    siblings: list[Section | Activity] = list(
        repository.activities_of_section(session, activity.section_id)
    )
    before = [x.id for x in siblings]
    _swap(siblings, activity, direction)
    if before != [x.id for x in sorted(siblings, key=lambda x: x.position)]:
        log = EditLog(
            _course_of(session, activity.course_id), by, "activity", activity.id, activity.title
        )
        log.change("moved", None, "up" if direction < 0 else "down")
        log.save(session)
    session.flush()


def _swap(items: Sequence[Section | Activity], item: Section | Activity, direction: int) -> None:
    index = next(i for i, x in enumerate(items) if x.id == item.id)
    other = index + (1 if direction > 0 else -1)
    if 0 <= other < len(items):
        a, b = items[index], items[other]
        a.position, b.position = b.position, a.position


def set_hidden(
    session: Session, activity: Activity, hidden: bool, by: Principal | None = None
) -> None:
    update_activity(session, activity, ActivityUpdate(hidden=hidden), by)


# Fields whose change alters what completion needs.
_REQUIREMENT_FIELDS = frozenset({"required", "hidden"})


def update_activity(
    session: Session, activity: Activity, data: ActivityUpdate, by: Principal | None = None
) -> Activity:
    """Change an activity in place (its id, and so every learner's progress, stays). Only the
    fields sent change; `duration_minutes: null` hands the duration back to the media."""
    sent = data.model_fields_set
    log = EditLog(
        _course_of(session, activity.course_id), by, "activity", activity.id, activity.title
    )
    if "title" in sent:
        title = " ".join((data.title or "").split())
        if not title:
            raise ValidationFailed(_("Judul aktivitas wajib diisi."), field="title")
        log.assign(activity, "title", title)
    if "body" in sent:
        if activity.kind != ActivityKind.PAGE:
            raise ValidationFailed(_("Isi markdown hanya untuk jenis Halaman."), field="body")
        if not (data.body or "").strip():
            raise ValidationFailed(_("Halaman memerlukan isi (markdown)."), field="body")
        log.assign(activity, "body_md", data.body, field="body")
    if "url" in sent:
        if activity.kind != ActivityKind.LINK:
            raise ValidationFailed(_("Alamat hanya untuk jenis Tautan."), field="url")
        url = (data.url or "").strip()
        if not url.startswith(("https://", "http://")) or len(url) > 2048 or " " in url:
            raise ValidationFailed(_("Tautan harus alamat http(s):// yang sah."), field="url")
        log.assign(activity, "url", url)
    for name in ("required", "hidden", "locked_until_previous", "min_view_seconds"):
        if name in sent and getattr(data, name) is not None:
            log.assign(activity, name, getattr(data, name))
    for name in ("available_from", "available_until"):
        if name in sent:
            log.assign(activity, name, getattr(data, name))
    if (
        activity.available_from
        and activity.available_until
        and activity.available_until <= activity.available_from
    ):
        raise ValidationFailed(
            _("Batas akhir harus sesudah waktu mulai tersedia."), field="available_until"
        )
    stored = repository.get_file(session, activity.file_id) if activity.file_id else None
    auto = media_minutes(activity.kind, stored, activity.body_md)
    if "duration_minutes" in sent:
        if data.duration_minutes is None:  # back to the media
            activity.duration_manual = False
            log.assign(activity, "duration_minutes", auto or 0)
        else:
            activity.duration_manual = data.duration_minutes != auto
            log.assign(activity, "duration_minutes", data.duration_minutes)
    elif "body" in sent and not activity.duration_manual and auto is not None:
        log.assign(activity, "duration_minutes", auto)
    log.save(session)
    session.flush()
    if log.fields() & _REQUIREMENT_FIELDS:
        requirements_changed(session, activity.course_id)
    return activity


def replace_file(
    session: Session, activity: Activity, stored: ContentFile, file_name: str,
    by: Principal | None = None,
) -> Activity:  # fmt: skip
    """A video, document or file gets new bytes; the activity (and learners' progress) stays.
    A duration that follows the media follows the new file."""
    if activity.kind not in (ActivityKind.VIDEO, ActivityKind.DOCUMENT, ActivityKind.FILE):
        raise ValidationFailed(_("Aktivitas ini tidak memakai berkas."), field="file")
    log = EditLog(
        _course_of(session, activity.course_id), by, "activity", activity.id, activity.title
    )
    log.change("file", activity.file_name, _safe_name(file_name))
    activity.file_id = stored.id
    activity.file_name = _safe_name(file_name)
    session.flush()
    session.expire(activity, ["file"])
    if not activity.duration_manual:
        auto = media_minutes(activity.kind, stored, activity.body_md)
        if auto is not None:
            log.assign(activity, "duration_minutes", auto)
    log.save(session)
    session.flush()
    return activity


def replace_package(
    session: Session, activity: Activity, package: ScormPackage, by: Principal | None = None
) -> int:
    """A SCORM activity gets a new package version; attempts already begun stay on theirs
    (their bookmark and suspend data belong to it), new attempts start on the new one.
    Returns how many attempts stay on the old version."""
    if activity.kind != ActivityKind.SCORM or activity.scorm_package_id is None:
        raise ValidationFailed(_("Aktivitas ini bukan paket SCORM."), field="file")
    old = activity.scorm_package_id
    kept = progress_service.pin_scorm_attempts(session, activity.id, old)
    log = EditLog(
        _course_of(session, activity.course_id), by, "activity", activity.id, activity.title
    )
    log.change("package", str(old), str(package.id))
    activity.scorm_package_id = package.id
    log.save(session)
    session.flush()
    return kept


def delete_activity(session: Session, activity: Activity, by: Principal | None = None) -> None:
    """Delete only when no learner has progress in it; otherwise it can be hidden, not deleted."""
    if progress_service.activity_has_progress(session, activity.id):
        raise Conflict(
            "Aktivitas ini sudah punya kemajuan peserta, jadi tidak dapat dihapus. Sembunyikan saja.",
            code="activity_has_progress",
        )
    course = _course_of(session, activity.course_id)
    log = EditLog(course, by, "activity", activity.id, activity.title)
    log.change("deleted", activity.title, None)
    log.save(session)
    was_required = activity.required and not activity.hidden
    repository.remove(session, activity)
    if was_required:
        requirements_changed(session, course.id)


def availability_problem(activity: Activity, now: dt.datetime) -> str | None:
    """Rule: learners open an activity only inside its availability window (when one is set)."""
    return _window_problem(activity.available_from, activity.available_until, now)


def _window_problem(
    opens: dt.datetime | None, closes: dt.datetime | None, now: dt.datetime
) -> str | None:
    if opens is not None and now < opens:
        when = i18n.local_datetime(opens)  # the reader's language
        return _("Aktivitas ini baru dapat dibuka mulai %(when)s.") % {"when": when}
    if closes is not None and now > closes:
        when = i18n.local_datetime(closes)  # the reader's language
        return _("Aktivitas ini sudah ditutup sejak %(when)s.") % {"when": when}
    return None


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
        delivery_mode=data.delivery_mode.value,
        waitlist=data.waitlist,
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
        return _("Angkatan sudah selesai.")
    if run.enrol_opens_on and on < run.enrol_opens_on:
        return _("Pendaftaran baru dibuka %(date)s.") % {
            "date": i18n.format_day(run.enrol_opens_on)
        }
    if run.enrol_closes_on and on > run.enrol_closes_on:
        return _("Pendaftaran sudah ditutup %(date)s.") % {
            "date": i18n.format_day(run.enrol_closes_on)
        }
    return None


def _enrol_one(
    session: Session, run: Run, user_id: int, by: int, existing: Enrolment | None
) -> Enrolment | str:
    """Enrol or re-activate one user; returns the enrolment or the reason it was skipped. A full
    run with a waiting list puts them in line instead (status "waitlisted"; app.courses.runs)."""
    if existing is not None and existing.status in (
        EnrolmentStatus.ACTIVE,
        EnrolmentStatus.COMPLETED,
    ):
        return N_("Sudah terdaftar di angkatan ini.")
    waiting = False
    if run.waitlist and run.capacity is not None:
        from app.courses import runs

        if existing is not None and existing.status == EnrolmentStatus.WAITLISTED:
            return N_("Sudah ada di daftar tunggu angkatan ini.")
        waiting = not runs.seat_in_turn(session, run.id)  # under the run's lock
    elif not repository.take_seat(session, run.id):
        return N_("Kuota angkatan sudah penuh.")
    status = EnrolmentStatus.WAITLISTED if waiting else EnrolmentStatus.ACTIVE
    now = utcnow()
    if existing is not None:
        existing.status = status.value
        existing.withdrawn_at = None
        existing.enrolled_by_id = by
        existing.enrolled_at = now
        existing.waitlisted_at = now if waiting else None
        session.flush()
        return existing
    enrolment = Enrolment(
        run_id=run.id, user_id=user_id, status=status.value, enrolled_by_id=by,
        waitlisted_at=now if waiting else None,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(enrolment)
    except IntegrityError:  # the same user enrolled concurrently: give the seat back
        if not waiting:
            repository.release_seat(session, run.id)
        return N_("Sudah terdaftar di angkatan ini.")
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
    if result.status == EnrolmentStatus.WAITLISTED:
        return result  # told on the page and in the answer; notified when promoted
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
                skipped.append(SkippedItem(user_id=uid, reason=_("Pengguna tidak ditemukan.")))
            elif not user.is_active:
                skipped.append(SkippedItem(user_id=uid, nip=user.nip, reason=_("Akun nonaktif.")))
            else:
                targets.append((user.id, user.nip, user.name))
    if request.nips:
        wanted = list(dict.fromkeys(normalise_nip(n) for n in request.nips if n.strip()))
        by_nip = repository.users_by_nips(session, wanted)
        for nip in wanted:
            user = by_nip.get(nip)
            if user is None:
                skipped.append(SkippedItem(nip=nip, reason=_("NIP tidak terdaftar.")))
            elif not user.is_active:
                skipped.append(SkippedItem(user_id=user.id, nip=nip, reason=_("Akun nonaktif.")))
            else:
                targets.append((user.id, user.nip, user.name))
    if request.opd_code:
        members = repository.active_users_of_opd(session, request.opd_code.strip())
        if not members:
            raise ValidationFailed(
                _("OPD '%(opd_code)s' tidak ditemukan atau tidak punya pegawai aktif.")
                % {"opd_code": request.opd_code},
                field="opd_code",
            )
        targets.extend((u.id, u.nip, u.name) for u in members)
    if not targets and not skipped:
        raise ValidationFailed("Pilih peserta: user_ids, nips, atau opd_code.", field="user_ids")
    unique = list({t[0]: t for t in targets}.values())
    existing = repository.enrolments_by_user(session, run.id, [t[0] for t in unique])
    enrolled: list[EnrolledItem] = []
    waitlisted: list[WaitlistedItem] = []
    for uid, nip, name in unique:
        result = _enrol_one(session, run, uid, principal.user_id, existing.get(uid))
        if isinstance(result, str):
            skipped.append(SkippedItem(user_id=uid, nip=nip, reason=_(result)))
        elif result.status == EnrolmentStatus.WAITLISTED:
            waitlisted.append(WaitlistedItem(user_id=uid, nip=nip, name=name,
                                             enrolment_id=result.id, position=0))  # fmt: skip
        else:
            enrolled.append(EnrolledItem(user_id=uid, nip=nip, name=name, enrolment_id=result.id))
    if enrolled:  # one summary entry for the whole list or OPD
        audit.record(session, "enrolment.officer_added", actor=principal, target=("run", run.id),
                     after={"count": len(enrolled), "skipped": len(skipped),
                            "opd_code": request.opd_code,
                            "user_ids": [e.user_id for e in enrolled]})  # fmt: skip
    course = repository.get_course(session, run.course_id) if enrolled else None
    if course is not None:  # one notify_many for the whole OPD: no query per learner
        notifications.notify_many(
            session, enrolled_notices(run, course, [e.user_id for e in enrolled])
        )
    if waitlisted:  # each one's place in line (one query for the whole list)
        from app.courses import runs

        places = {e.user_id: e.position for e in runs.waiting_list(session, run.id)}
        for item in waitlisted:
            item.position = places.get(item.user_id, 0)
    return EnrolResult(enrolled=enrolled, skipped=skipped, waitlisted=waitlisted)


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
    """Unenrol keeps the row and its history; the seat goes back to the run and, in the same
    transaction, to the next on its waiting list. A waiting-list place is simply given up."""
    from app.courses import runs

    if enrolment.status == EnrolmentStatus.WAITLISTED:
        runs.leave_waiting_list(session, enrolment)
        return
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise Conflict("Peserta ini tidak sedang aktif di angkatan.", code="not_active")
    repository.lock_run(session, enrolment.run_id)  # seats and the line change one at a time
    enrolment.status = EnrolmentStatus.WITHDRAWN.value
    enrolment.withdrawn_at = utcnow()
    repository.release_seat(session, enrolment.run_id)
    session.flush()
    runs.promote_waiting(session, enrolment.run_id)


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
    if enrolment is None and repository.staff_role_for_course(
        session, activity.course_id, principal.user_id
    ):
        return None  # run staff (facilitator, grader) of this course open it as staff do
    if enrolment is None or activity.hidden:
        raise Forbidden("Anda belum terdaftar di kursus ini.", code="not_enrolled")
    problem = availability_problem(activity, utcnow())
    if problem:
        raise Forbidden(problem, code="activity_unavailable")
    return enrolment


def progress_access(
    session: Session, principal: Principal, activity_id: int
) -> tuple[ActivityFacts, int | None, ActivityProgress | None]:
    """`ensure_content_access` for the heartbeat path in one query: what progress needs of the
    activity, the caller's enrolment id (None for staff previewing) and that enrolment's
    progress row of the activity as read (None when there is none yet; not locked: the
    heartbeat's write checks it is unchanged); 404 unknown, 403 not enrolled or hidden."""
    row = repository.activity_with_enrolment(session, activity_id, principal.user_id)
    if row is None:
        raise NotFound("Aktivitas tidak ditemukan.", code="activity_not_found")
    aid, kind, rule, minutes, min_view, hidden, opens, closes, enrolment_id = row[:9]
    staff = is_staff(principal)
    if not staff and enrolment_id is not None and not hidden and (opens or closes):
        problem = _window_problem(opens, closes, utcnow())
        if problem:
            raise Forbidden(problem, code="activity_unavailable")
    if not staff and (enrolment_id is None or hidden):
        raise Forbidden("Anda belum terdaftar di kursus ini.", code="not_enrolled")
    progress = None
    if row[9] is not None:  # the progress row's id
        progress = ActivityProgress(**dict(zip(repository.PROGRESS_COLUMNS, row[9:], strict=True)))
    return ActivityFacts(aid, kind, rule, minutes, min_view or 0), enrolment_id, progress


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
            _('Selesaikan dulu aktivitas "%(blocker)s" untuk membuka yang ini.')
            % {"blocker": blocker},
            code="activity_locked",
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


@dataclass(frozen=True, slots=True)
class ActivityBrief:
    """What judging progress needs of an activity (plain data for other domains)."""

    id: int
    kind: str
    title: str
    required: bool
    hidden: bool
    duration_minutes: int | None


@dataclass(frozen=True, slots=True)
class SectionBrief:
    title: str
    activities: list[ActivityBrief]


def brief_content(course: Course) -> list[SectionBrief]:
    """A course's sections and activities (loaded, course_content) as plain data, in order."""
    return [
        SectionBrief(
            s.title,
            [ActivityBrief(a.id, a.kind, a.title, a.required, a.hidden, a.duration_minutes)
             for a in s.activities],
        )
        for s in course.sections
    ]  # fmt: skip


# Courses' sections and activities as plain data (courses_brief_content): read for every run on
# every learner's home page, changed by authors now and then. Keyed by course id; the values are
# shared between requests, so callers only read them.
brief_contents = readcache.WatchedCache(
    "course_brief_content",
    {"course", "course_section", "activity"},
    lambda: get_settings().read_cache_seconds,
)


def courses_brief_content(
    session: Session, course_ids: Sequence[int]
) -> dict[int, list[SectionBrief]]:
    """Course id -> brief_content for several courses: this process's cached copy of each
    course, the others in one query (no ORM objects)."""
    out: dict[int, list[SectionBrief]] = {}
    missing: list[int] = []
    for course_id in course_ids:
        found: list[SectionBrief] | None = brief_contents.get(course_id)
        if found is None:
            missing.append(course_id)
        else:
            out[course_id] = found
    if not missing:
        return out
    generation = brief_contents.generation
    read: dict[int, list[SectionBrief]] = {c: [] for c in missing}
    last_section: int | None = None
    for row in repository.content_rows(session, missing):
        course_id, section_id, section_title, activity_id = row[0], row[1], row[2], row[3]
        if section_id != last_section:
            read[course_id].append(SectionBrief(section_title, []))
            last_section = section_id
        if activity_id is not None:
            read[course_id][-1].activities.append(ActivityBrief(activity_id, *row[4:]))
    for course_id, sections in read.items():
        brief_contents.put(course_id, sections, generation)
    out.update(read)
    return {c: out[c] for c in course_ids}


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


# --- the home pages' figures -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CourseHealth:
    """A draft or published course and what keeps it from being ready: visible activities
    without their file or package, no JP, no minutes at all, no activities."""

    id: int
    code: str
    title: str
    status: str
    jp: int
    activities: int
    minutes: int
    zero_minute_activities: int
    missing_files: int

    @property
    def problems(self) -> list[str]:
        found = []
        if self.missing_files:
            found.append("missing_files")
        if not self.jp:
            found.append("zero_jp")
        if self.activities and not self.minutes:
            found.append("zero_minutes")
        if not self.activities:
            found.append("no_activities")
        return found


def course_health(session: Session) -> list[CourseHealth]:
    """Every draft or published course with its readiness figures, in one query."""
    rows = repository.course_health(session)
    return [
        CourseHealth(
            id=int(i),
            code=str(code),
            title=str(title),
            status=str(status),
            jp=int(jp or 0),
            activities=int(n),
            minutes=int(minutes or 0),
            zero_minute_activities=int(zero),
            missing_files=int(missing),
        )
        for i, code, title, status, jp, n, minutes, zero, missing in rows
    ]


def runs_closing(session: Session, on: dt.date, days: int) -> list[tuple[Run, Course]]:
    """Runs under way on a day that end within `days` days (soonest first)."""
    return repository.runs_ending_between(session, on, on + dt.timedelta(days=days), started_by=on)


def runs_under_way(session: Session, on: dt.date) -> int:
    return repository.count_runs_under_way(session, on)


def enrolments_since(session: Session, since: dt.datetime) -> int:
    """Enrolments made since a moment (the officer's "this month")."""
    return repository.count_enrolments_since(session, since)


def run_labels(session: Session, run_ids: Sequence[int]) -> dict[int, tuple[int, str, str]]:
    """Run id -> (course id, course title, run name), in one query."""
    return repository.run_labels(session, run_ids)
