"""All SQL for courses, sections, activities, stored files, SCORM packages, runs and enrolments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Row,
    Select,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, selectinload

from app.accounts.models import Opd, User
from app.courses.models import (
    Activity,
    ContentFile,
    Course,
    CourseCompetency,
    CourseEdit,
    Enrolment,
    Run,
    RunEdit,
    RunStaff,
    ScormFile,
    ScormPackage,
    Section,
)
from app.progress.models import ActivityProgress


def add(session: Session, obj: object) -> None:
    session.add(obj)
    session.flush()


# --- courses ------------------------------------------------------------------------------------


def get_course(session: Session, course_id: int, *, with_content: bool = False) -> Course | None:
    query = select(Course).where(Course.id == course_id).options(selectinload(Course.competencies))
    if with_content:
        query = query.options(
            selectinload(Course.sections)
            .selectinload(Section.activities)
            .selectinload(Activity.file)
        )
    return session.scalar(query)


def _course_detail_statements() -> dict[str, Any]:
    course, links = Course.__table__, CourseCompetency.__table__
    sections, activities = Section.__table__, Activity.__table__
    files, runs = ContentFile.__table__, Run.__table__
    by_course: Any = bindparam("course_id")
    return {
        "course": select(course).where(course.c.id == by_course),
        "competencies": select(links.c.competency_code, links.c.target_level)
        .where(links.c.course_id == by_course)
        .order_by(links.c.competency_code),
        "content": select(
            sections.c.id.label("section_id"), sections.c.title.label("section_title"),
            sections.c.position.label("section_position"), activities,
            files.c.size.label("file_size"), files.c.content_type.label("file_content_type"),
            files.c.duration_seconds.label("file_duration_seconds"),
            files.c.page_count.label("file_page_count"),
        )
        .select_from(sections)
        .outerjoin(activities, activities.c.section_id == sections.c.id)
        .outerjoin(files, files.c.id == activities.c.file_id)
        .where(sections.c.course_id == by_course)
        .order_by(sections.c.position, sections.c.id, activities.c.position, activities.c.id),
        "runs": select(runs).where(runs.c.course_id == by_course)
        .order_by(runs.c.starts_on, runs.c.id),
    }  # fmt: skip


_COURSE_DETAIL = _course_detail_statements()  # built once: building costs as much as running


@dataclass(frozen=True, slots=True)
class CourseDetailRows:
    """A course page's data as plain rows (attribute names as on the models)."""

    course: Any
    competencies: Sequence[Any]
    content: Sequence[Any]  # a section and one of its activities (activity columns None if empty)
    runs: Sequence[Any]


def course_detail_rows(session: Session, course_id: int) -> CourseDetailRows | None:
    """The course, its competencies, sections with activities and their files, and its runs:
    four prepared Core reads on the session's connection, no ORM objects (the hot
    `GET /api/v1/courses/{id}`)."""
    connection = session.connection()
    params = {"course_id": course_id}
    course = connection.execute(_COURSE_DETAIL["course"], params).first()
    if course is None:
        return None
    return CourseDetailRows(
        course=course,
        competencies=connection.execute(_COURSE_DETAIL["competencies"], params).all(),
        content=connection.execute(_COURSE_DETAIL["content"], params).all(),
        runs=connection.execute(_COURSE_DETAIL["runs"], params).all(),
    )


# A section without activities: its activity columns are None.
ContentRow = Row[int, int, str, int, str, str, bool, bool, int]


def content_rows(session: Session, course_ids: Sequence[int]) -> Sequence[ContentRow]:
    """(course id, section title, activity id, kind, title, required, hidden, minutes) of
    several courses in course, section and activity order; a section without activities comes
    once with None activity columns."""
    if not course_ids:
        return []
    return session.execute(
        select(
            Section.course_id, Section.id, Section.title, Activity.id, Activity.kind,
            Activity.title, Activity.required, Activity.hidden, Activity.duration_minutes,
        )
        .outerjoin(Activity, Activity.section_id == Section.id)
        .where(Section.course_id.in_(list(course_ids)))
        .order_by(Section.course_id, Section.position, Section.id, Activity.position, Activity.id)
    ).all()  # fmt: skip


def get_course_by_code(session: Session, code: str) -> Course | None:
    return session.scalar(
        select(Course).where(Course.code == code).options(selectinload(Course.competencies))
    )


def catalog_query(
    *,
    q: str | None,
    category: str | None,
    mode: str | None,
    statuses: Sequence[str],
    open_on: dt.date | None = None,
) -> Select[Any]:
    """Courses by status and filters; `open_on` keeps those with a run taking enrolments then."""
    query = select(Course).where(Course.status.in_(statuses))
    if open_on is not None:
        query = query.where(exists().where(Run.course_id == Course.id, open_runs_filter(open_on)))
    if q:
        like = f"%{q.lower()}%"
        by_competency = exists().where(
            CourseCompetency.course_id == Course.id,
            func.lower(CourseCompetency.competency_code).like(like),
        )
        query = query.where(
            or_(
                func.lower(Course.title).like(like),
                func.lower(Course.code).like(like),
                by_competency,
            )
        )
    if category:
        query = query.where(Course.category == category)
    if mode:
        query = query.where(Course.learning_mode == mode)
    return query


def list_courses(
    session: Session, query: Select[Any], *, limit: int, offset: int
) -> Sequence[Course]:
    return session.scalars(
        query.order_by(Course.title, Course.id)
        .limit(limit)
        .offset(offset)
        .options(selectinload(Course.competencies))
    ).all()


def count(session: Session, query: Select[Any]) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def set_competencies(session: Session, course: Course, tags: Mapping[str, int | None]) -> None:
    """Replace the course's competency tags and target levels."""
    session.execute(delete(CourseCompetency).where(CourseCompetency.course_id == course.id))
    session.add_all(
        CourseCompetency(course_id=course.id, competency_code=code, target_level=level)
        for code, level in tags.items()
    )
    session.flush()
    session.expire(course, ["competencies"])


# --- sections and activities --------------------------------------------------------------------


def get_section(session: Session, section_id: int) -> Section | None:
    return session.get(Section, section_id)


def next_section_position(session: Session, course_id: int) -> int:
    current = session.scalar(
        select(func.max(Section.position)).where(Section.course_id == course_id)
    )
    return (current or 0) + 1


def next_activity_position(session: Session, section_id: int) -> int:
    current = session.scalar(
        select(func.max(Activity.position)).where(Activity.section_id == section_id)
    )
    return (current or 0) + 1


def get_activity(session: Session, activity_id: int) -> Activity | None:
    return session.scalar(
        select(Activity).where(Activity.id == activity_id).options(selectinload(Activity.file))
    )


def sections_of(session: Session, course_id: int) -> Sequence[Section]:
    return session.scalars(
        select(Section).where(Section.course_id == course_id).order_by(Section.position)
    ).all()


def activities_of_section(session: Session, section_id: int) -> Sequence[Activity]:
    return session.scalars(
        select(Activity).where(Activity.section_id == section_id).order_by(Activity.position)
    ).all()


def visible_activity_count(session: Session, course_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).where(Activity.course_id == course_id, Activity.hidden.is_(False))
        )
        or 0
    )


def remove(session: Session, obj: object) -> None:
    session.delete(obj)
    session.flush()


# --- files and SCORM ----------------------------------------------------------------------------


def get_file(session: Session, file_id: int) -> ContentFile | None:
    return session.get(ContentFile, file_id)


def get_package(session: Session, package_id: int) -> ScormPackage | None:
    return session.get(ScormPackage, package_id)


def get_scorm_file(session: Session, package_id: int, path: str) -> ScormFile | None:
    return session.scalar(
        select(ScormFile).where(ScormFile.package_id == package_id, ScormFile.path == path)
    )


def add_scorm_files(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(ScormFile), rows)


def activities_using_package(session: Session, package_id: int) -> Sequence[Activity]:
    return session.scalars(select(Activity).where(Activity.scorm_package_id == package_id)).all()


# --- runs and enrolments ------------------------------------------------------------------------


def get_run(session: Session, run_id: int) -> Run | None:
    return session.get(Run, run_id)


def runs_of(session: Session, course_ids: Sequence[int]) -> Sequence[Run]:
    if not course_ids:
        return []
    return session.scalars(
        select(Run).where(Run.course_id.in_(course_ids)).order_by(Run.starts_on, Run.id)
    ).all()


def take_seat(session: Session, run_id: int) -> bool:
    """Atomically count one more learner in, unless the run is full (safe under concurrency)."""
    result = session.execute(
        update(Run)
        .where(
            Run.id == run_id,
            or_(Run.capacity.is_(None), Run.enrolled_count < Run.capacity),
        )
        .values(enrolled_count=Run.enrolled_count + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def release_seat(session: Session, run_id: int) -> None:
    session.execute(
        update(Run)
        .where(Run.id == run_id, Run.enrolled_count > 0)
        .values(enrolled_count=Run.enrolled_count - 1)
        .execution_options(synchronize_session=False)
    )


def get_enrolment(session: Session, run_id: int, user_id: int) -> Enrolment | None:
    return session.scalar(
        select(Enrolment).where(Enrolment.run_id == run_id, Enrolment.user_id == user_id)
    )


def get_enrolment_by_id(session: Session, enrolment_id: int) -> Enrolment | None:
    return session.get(Enrolment, enrolment_id)


def enrolments_of_run(
    session: Session, run_id: int
) -> Sequence[tuple[Enrolment, User, str | None]]:
    rows = session.execute(
        select(Enrolment, User, Opd.code)
        .join(User, User.id == Enrolment.user_id)
        .outerjoin(Opd, Opd.id == User.opd_id)
        .where(Enrolment.run_id == run_id)
        .order_by(Enrolment.status, User.name)
    )
    return [(e, u, code) for e, u, code in rows]


def enrolments_by_user(
    session: Session, run_id: int, user_ids: Sequence[int]
) -> dict[int, Enrolment]:
    found: dict[int, Enrolment] = {}
    for i in range(0, len(user_ids), 900):
        rows = session.scalars(
            select(Enrolment).where(
                Enrolment.run_id == run_id, Enrolment.user_id.in_(user_ids[i : i + 900])
            )
        )
        found.update({e.user_id: e for e in rows})
    return found


def active_enrolment_for_course(session: Session, user_id: int, course_id: int) -> Enrolment | None:
    """The learner's current (or completed) enrolment in any run of the course, newest first."""
    return session.scalar(
        select(Enrolment)
        .join(Run, Run.id == Enrolment.run_id)
        .where(
            Run.course_id == course_id,
            Enrolment.user_id == user_id,
            Enrolment.status.in_(("active", "completed")),
        )
        .order_by(Enrolment.enrolled_at.desc())
        .limit(1)
    )


# The heartbeat path's look-up, built once: the few activity columns progress needs, the user's
# current enrolment id in its course (`active_enrolment_for_course` as a subquery) and that
# enrolment's progress row of the activity, if any (read, not locked: the write compares).
_CURRENT_ENROLMENT = (
    select(Enrolment.id)
    .join(Run, Run.id == Enrolment.run_id)
    .where(
        Run.course_id == Activity.course_id,
        Enrolment.user_id == bindparam("user_id"),
        Enrolment.status.in_(("active", "completed")),
    )
    .order_by(Enrolment.enrolled_at.desc())
    .limit(1)
    .correlate(Activity)
    .scalar_subquery()
)
_PROGRESS_TABLE = ActivityProgress.__table__
_ACTIVITY_WITH_ENROLMENT = (
    select(
        Activity.id,
        Activity.kind,
        Activity.completion_rule,
        Activity.duration_minutes,
        Activity.min_view_seconds,
        Activity.hidden,
        Activity.available_from,
        Activity.available_until,
        _CURRENT_ENROLMENT.label("enrolment_id"),
        *(column.label(f"progress_{column.name}") for column in _PROGRESS_TABLE.columns),
    )
    .outerjoin(
        _PROGRESS_TABLE,
        (_PROGRESS_TABLE.c.activity_id == Activity.id)
        & (_PROGRESS_TABLE.c.enrolment_id == _CURRENT_ENROLMENT),
    )
    .where(Activity.id == bindparam("activity_id"))
)
PROGRESS_COLUMNS = tuple(column.name for column in _PROGRESS_TABLE.columns)


def activity_with_enrolment(
    session: Session, activity_id: int, user_id: int
) -> tuple[Any, ...] | None:
    """(id, kind, completion_rule, duration_minutes, min_view_seconds, hidden, available_from,
    available_until, enrolment id or None, then every column of the enrolment's progress row
    of the activity, all None when there is none) in one query."""
    row = session.execute(
        _ACTIVITY_WITH_ENROLMENT, {"activity_id": activity_id, "user_id": user_id}
    ).first()
    return tuple(row) if row is not None else None


def user_enrolments(session: Session, user_id: int) -> Sequence[tuple[Enrolment, Run, Course]]:
    rows = session.execute(
        select(Enrolment, Run, Course)
        .join(Run, Run.id == Enrolment.run_id)
        .join(Course, Course.id == Run.course_id)
        .where(Enrolment.user_id == user_id, Enrolment.status.in_(("active", "completed")))
        .order_by(Run.starts_on.desc())
    )
    return [(e, r, c) for e, r, c in rows]


def users_by_ids(session: Session, ids: Sequence[int]) -> dict[int, User]:
    found: dict[int, User] = {}
    for i in range(0, len(ids), 900):
        found.update(
            {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids[i : i + 900])))}
        )
    return found


def users_by_nips(session: Session, nips: Sequence[str]) -> dict[str, User]:
    found: dict[str, User] = {}
    for i in range(0, len(nips), 900):
        rows = session.scalars(select(User).where(User.nip.in_(nips[i : i + 900])))
        found.update({u.nip: u for u in rows if u.nip})
    return found


def active_users_of_opd(session: Session, opd_code: str) -> Sequence[User]:
    return session.scalars(
        select(User)
        .join(Opd, Opd.id == User.opd_id)
        .where(Opd.code == opd_code, User.is_active.is_(True))
        .order_by(User.name)
    ).all()


def open_runs_filter(today: dt.date) -> Any:
    return and_(
        Run.ends_on >= today,
        or_(Run.enrol_opens_on.is_(None), Run.enrol_opens_on <= today),
        or_(Run.enrol_closes_on.is_(None), Run.enrol_closes_on >= today),
    )


def enrolment_rows(session: Session, run_id: int) -> list[tuple[int, int, str]]:
    """(enrolment id, user id, status) of a run's enrolments: plain columns for bulk work."""
    rows = session.execute(
        select(Enrolment.id, Enrolment.user_id, Enrolment.status).where(Enrolment.run_id == run_id)
    )
    return [(i, u, s) for i, u, s in rows]


def runs_dated(
    session: Session, *, starts_on: dt.date | None = None, ends_on: dt.date | None = None
) -> list[tuple[Run, Course]]:
    """Runs of published courses that start (or end) on a day, with their course."""
    query = (
        select(Run, Course)
        .join(Course, Course.id == Run.course_id)
        .where(Course.status == "published")
    )
    if starts_on is not None:
        query = query.where(Run.starts_on == starts_on)
    if ends_on is not None:
        query = query.where(Run.ends_on == ends_on)
    return [(r, c) for r, c in session.execute(query.order_by(Run.id))]


def active_participants(session: Session, run_ids: Sequence[int]) -> list[tuple[int, int]]:
    """(run id, user id) of the active enrolments of some runs."""
    if not run_ids:
        return []
    rows = session.execute(
        select(Enrolment.run_id, Enrolment.user_id).where(
            Enrolment.run_id.in_(list(run_ids)), Enrolment.status == "active"
        )
    )
    return [(r, u) for r, u in rows]


def runs_ending_between(
    session: Session, first: dt.date, last: dt.date, *, started_by: dt.date
) -> list[tuple[Run, Course]]:
    """Runs of published courses under way (started by `started_by`) that end between two days,
    soonest first, with their course."""
    rows = session.execute(
        select(Run, Course)
        .join(Course, Course.id == Run.course_id)
        .where(
            Course.status == "published",
            Run.starts_on <= started_by,
            Run.ends_on >= first,
            Run.ends_on <= last,
        )
        .order_by(Run.ends_on, Run.id)
    )
    return [(r, c) for r, c in rows]


def count_runs_under_way(session: Session, on: dt.date) -> int:
    """Runs of published courses that have started and not ended on a day."""
    return int(
        session.scalar(
            select(func.count(Run.id))
            .join(Course, Course.id == Run.course_id)
            .where(Course.status == "published", Run.starts_on <= on, Run.ends_on >= on)
        )
        or 0
    )


def count_enrolments_since(session: Session, since: dt.datetime) -> int:
    return int(
        session.scalar(select(func.count(Enrolment.id)).where(Enrolment.enrolled_at >= since)) or 0
    )


def course_health(session: Session) -> Sequence[Any]:
    """Per draft or published course, in one GROUP BY: (id, code, title, status, jp, visible
    activities, their minutes, those with no minutes, those missing their file or package)."""
    file_kinds = ("video", "document", "file")
    visible = Activity.hidden.is_(False)
    missing = or_(
        and_(Activity.kind.in_(file_kinds), Activity.file_id.is_(None)),
        and_(Activity.kind == "scorm", Activity.scorm_package_id.is_(None)),
    )
    return session.execute(
        select(
            Course.id,
            Course.code,
            Course.title,
            Course.status,
            Course.jp,
            func.count(Activity.id).filter(visible),
            func.coalesce(func.sum(Activity.duration_minutes).filter(visible), 0),
            func.count(Activity.id).filter(visible, Activity.duration_minutes == 0),
            func.count(Activity.id).filter(missing),
        )
        .outerjoin(Activity, Activity.course_id == Course.id)
        .where(Course.status.in_(("draft", "published")))
        .group_by(Course.id, Course.code, Course.title, Course.status, Course.jp)
        .order_by(Course.title, Course.id)
    ).all()


# --- authoring (edits, edit log) -----------------------------------------------------------------


def enrolment_count(session: Session, run_ids: Sequence[int]) -> int:
    """Active and completed enrolments of some runs (how big a completion recompute is)."""
    if not run_ids:
        return 0
    return (
        session.scalar(
            select(func.count()).where(
                Enrolment.run_id.in_(list(run_ids)),
                Enrolment.status.in_(("active", "completed")),
            )
        )
        or 0
    )


def add_edits(session: Session, edits: Sequence[CourseEdit]) -> None:
    session.add_all(edits)
    session.flush()


def course_edits(
    session: Session, course_id: int, *, limit: int = 100
) -> list[tuple[CourseEdit, str | None]]:
    """A course's recorded edits, newest first, with the editor's name (one query)."""
    rows = session.execute(
        select(CourseEdit, User.name)
        .outerjoin(User, User.id == CourseEdit.user_id)
        .where(CourseEdit.course_id == course_id)
        .order_by(CourseEdit.at.desc(), CourseEdit.id.desc())
        .limit(limit)
    )
    return [(e, name) for e, name in rows]


def run_labels(session: Session, run_ids: Sequence[int]) -> dict[int, tuple[int, str, str]]:
    if not run_ids:
        return {}
    rows = session.execute(
        select(Run.id, Course.id, Course.title, Run.name)
        .join(Course, Course.id == Run.course_id)
        .where(Run.id.in_(list(run_ids)))
    )
    return {int(r): (int(c), str(t), str(n)) for r, c, t, n in rows}


# --- run staff and membership (the one place that scopes run rows; app.courses.staff) ----------


def staff_role(session: Session, run_id: int, user_id: int) -> str | None:
    """The user's staff role in the run (facilitator, grader) or None (one indexed read)."""
    return session.scalar(
        select(RunStaff.role).where(RunStaff.run_id == run_id, RunStaff.user_id == user_id)
    )


def staff_runs(session: Session, user_id: int) -> dict[int, str]:
    """Run id -> the user's staff role, for every run they are staff of."""
    rows = session.execute(select(RunStaff.run_id, RunStaff.role).where(RunStaff.user_id == user_id))
    return {int(r): str(role) for r, role in rows}


def member_enrolment(session: Session, run_id: int, user_id: int) -> Enrolment | None:
    """The user's active or completed enrolment in the run (a waiting-list place is not one)."""
    return session.scalar(
        select(Enrolment).where(
            Enrolment.run_id == run_id,
            Enrolment.user_id == user_id,
            Enrolment.status.in_(("active", "completed")),
        )
    )


def staff_role_for_course(session: Session, course_id: int, user_id: int) -> str | None:
    """The user's strongest staff role in any run of the course (facilitator before grader)."""
    roles = set(
        session.scalars(
            select(RunStaff.role)
            .join(Run, Run.id == RunStaff.run_id)
            .where(Run.course_id == course_id, RunStaff.user_id == user_id)
        )
    )
    if "facilitator" in roles:
        return "facilitator"
    return "grader" if roles else None


# --- run editing, staff and the waiting list (app.courses.runs) ---------------------------------

WAITLISTED = "waitlisted"
_QUEUE_ORDER = (Enrolment.waitlisted_at, Enrolment.id)


def lock_run(session: Session, run_id: int) -> Run | None:
    """The run, re-read and row-locked until the transaction ends (PostgreSQL: SELECT ... FOR
    UPDATE; SQLite locks the whole database at the first write anyway). Every change to the
    run's seats or waiting list takes this lock first, so they happen one after another."""
    return session.scalar(
        select(Run)
        .where(Run.id == run_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def waiting_count(session: Session, run_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(Enrolment.id)).where(
                Enrolment.run_id == run_id, Enrolment.status == WAITLISTED
            )
        )
        or 0
    )


def waiting_counts(session: Session, run_ids: Sequence[int]) -> dict[int, int]:
    if not run_ids:
        return {}
    rows = session.execute(
        select(Enrolment.run_id, func.count(Enrolment.id))
        .where(Enrolment.run_id.in_(list(run_ids)), Enrolment.status == WAITLISTED)
        .group_by(Enrolment.run_id)
    )
    return {int(r): int(n) for r, n in rows}


def next_waiting(session: Session, run_id: int, limit: int) -> Sequence[Enrolment]:
    """The first `limit` enrolments in the run's waiting list, in line order (FIFO)."""
    return session.scalars(
        select(Enrolment)
        .where(Enrolment.run_id == run_id, Enrolment.status == WAITLISTED)
        .order_by(*_QUEUE_ORDER)
        .limit(limit)
    ).all()


def waiting_list(session: Session, run_id: int) -> list[tuple[Enrolment, User]]:
    rows = session.execute(
        select(Enrolment, User)
        .join(User, User.id == Enrolment.user_id)
        .where(Enrolment.run_id == run_id, Enrolment.status == WAITLISTED)
        .order_by(*_QUEUE_ORDER)
    )
    return [(e, u) for e, u in rows]


def waiting_position(session: Session, enrolment: Enrolment) -> int:
    """1 for the next in line; counts those ahead (earlier time, or same time and lower id)."""
    at = enrolment.waitlisted_at
    ahead = session.scalar(
        select(func.count(Enrolment.id)).where(
            Enrolment.run_id == enrolment.run_id,
            Enrolment.status == WAITLISTED,
            or_(
                Enrolment.waitlisted_at < at,
                and_(Enrolment.waitlisted_at == at, Enrolment.id < enrolment.id),
            ),
        )
    )
    return int(ahead or 0) + 1


def waiting_places_for_course(
    session: Session, user_id: int, course_id: int
) -> list[tuple[Enrolment, Run]]:
    """The user's waiting-list places in runs of a course."""
    rows = session.execute(
        select(Enrolment, Run)
        .join(Run, Run.id == Enrolment.run_id)
        .where(
            Run.course_id == course_id,
            Enrolment.user_id == user_id,
            Enrolment.status == WAITLISTED,
        )
        .order_by(Run.starts_on, Run.id)
    )
    return [(e, r) for e, r in rows]


def get_staff(session: Session, run_id: int, user_id: int) -> RunStaff | None:
    return session.scalar(
        select(RunStaff).where(RunStaff.run_id == run_id, RunStaff.user_id == user_id)
    )


def run_staff(session: Session, run_id: int) -> list[tuple[RunStaff, User]]:
    """A run's staff with their accounts: facilitators first, widyaiswara first, then by name."""
    rows = session.execute(
        select(RunStaff, User)
        .join(User, User.id == RunStaff.user_id)
        .where(RunStaff.run_id == run_id)
        .order_by(
            (RunStaff.role != "facilitator"), RunStaff.widyaiswara.desc(), User.name, User.id
        )
    )
    return [(m, u) for m, u in rows]


def facilitator_names(session: Session, run_id: int) -> list[str]:
    """Names of the run's facilitators, widyaiswara first, then in the order they were added."""
    return list(
        session.scalars(
            select(User.name)
            .join(RunStaff, RunStaff.user_id == User.id)
            .where(RunStaff.run_id == run_id, RunStaff.role == "facilitator")
            .order_by(RunStaff.widyaiswara.desc(), RunStaff.added_at, RunStaff.id)
        )
    )


def staffed_runs(session: Session, user_id: int) -> list[tuple[Run, Course, str]]:
    """Runs the user is staff of, with their course and the role, newest first."""
    rows = session.execute(
        select(Run, Course, RunStaff.role)
        .join(RunStaff, RunStaff.run_id == Run.id)
        .join(Course, Course.id == Run.course_id)
        .where(RunStaff.user_id == user_id)
        .order_by(Run.starts_on.desc(), Run.id.desc())
    )
    return [(r, c, str(role)) for r, c, role in rows]


def run_edits(session: Session, run_id: int, *, limit: int = 100) -> list[tuple[RunEdit, str | None]]:
    rows = session.execute(
        select(RunEdit, User.name)
        .outerjoin(User, User.id == RunEdit.user_id)
        .where(RunEdit.run_id == run_id)
        .order_by(RunEdit.at.desc(), RunEdit.id.desc())
        .limit(limit)
    )
    return [(e, name) for e, name in rows]


def search_accounts(session: Session, q: str, *, limit: int = 20) -> Sequence[User]:
    """Active accounts whose name or NIP contains the text (staff picker)."""
    text = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    like = f"%{text}%"
    return session.scalars(
        select(User)
        .where(
            User.is_active.is_(True),
            or_(func.lower(User.name).like(like, escape="\\"), User.nip.like(like, escape="\\")),
        )
        .order_by(User.name, User.id)
        .limit(limit)
    ).all()
