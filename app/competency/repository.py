"""All SQL for the competency catalog, job standards, assessment results and the gap queries.

The required level of an ASN in a competency is resolved in SQL (exact jabatan > jenis jabatan >
"*" > the assessment's own standard) so gaps, the gap map and enrol-by-gap aggregate in one query.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVarTuple

from sqlalchemy import (
    Row,
    Select,
    and_,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from app.accounts.models import Opd, User, UserRole
from app.competency.constants import EVERYONE
from app.competency.models import (
    Competency,
    CompetencyAssessment,
    CompetencyImport,
    CompetencyStandard,
)
from app.courses.models import Course, CourseCompetency, Enrolment, Run

_CHUNK = 900  # ids per IN list (SQLite's parameter limit is far above; plans stay small)
# The gap query scans the assessments once per IN list: few, large lists (2 for 10,000 users;
# SQLite >= 3.32 and psycopg both take 32,766 parameters and more).
_GAP_CHUNK = 5000
_Ts = TypeVarTuple("_Ts")


def add(session: Session, obj: object) -> None:
    session.add(obj)
    session.flush()


# --- catalog ------------------------------------------------------------------------------------


def competencies(session: Session, *, include_inactive: bool = True) -> Sequence[Competency]:
    query = select(Competency).order_by(Competency.group, Competency.name)
    if not include_inactive:
        query = query.where(Competency.is_active.is_(True))
    return session.scalars(query).all()


def get_competency(session: Session, code: str) -> Competency | None:
    return session.scalar(select(Competency).where(Competency.code == code))


def competency_names(session: Session) -> dict[str, str]:
    return {code: name for code, name in session.execute(select(Competency.code, Competency.name))}


# --- standards and assessments ------------------------------------------------------------------


def standards(session: Session) -> Sequence[CompetencyStandard]:
    return session.scalars(
        select(CompetencyStandard).order_by(
            CompetencyStandard.jabatan_key, CompetencyStandard.competency_code
        )
    ).all()


def _rows_in(
    session: Session,
    query: Select[*_Ts],
    column: Any,
    values: Sequence[Any],
    *,
    chunk: int = _CHUNK,
) -> Iterator[Row[*_Ts]]:
    """The rows of `query` where `column` is one of `values`, an IN list of `chunk` at a time."""
    for i in range(0, len(values), chunk):
        yield from session.execute(query.where(column.in_(values[i : i + chunk])))


def standard_ids(session: Session, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Ids of the standards with these (jabatan_key, competency_code) pairs."""
    wanted = set(keys)
    jabatan_keys = sorted({k for k, _c in wanted})
    query = select(
        CompetencyStandard.jabatan_key, CompetencyStandard.competency_code, CompetencyStandard.id
    )
    rows = _rows_in(session, query, CompetencyStandard.jabatan_key, jabatan_keys)
    return {(k, c): sid for k, c, sid in rows if (k, c) in wanted}


def insert_rows(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), 2000):
        session.execute(insert(model), rows[i : i + 2000])


def update_rows(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Bulk UPDATE by primary key (`id` in every dict)."""
    for i in range(0, len(rows), 2000):
        session.execute(update(model), rows[i : i + 2000])


def user_ids_by_nip(session: Session, nips: Sequence[str]) -> dict[str, int]:
    rows = _rows_in(session, select(User.nip, User.id), User.nip, nips)
    return {nip: uid for nip, uid in rows if nip}


def assessment_ids(
    session: Session, user_ids: Sequence[int]
) -> dict[tuple[int, str, dt.date], int]:
    """Existing assessments of these users by (user, competency, date)."""
    query = select(
        CompetencyAssessment.user_id,
        CompetencyAssessment.competency_code,
        CompetencyAssessment.assessed_on,
        CompetencyAssessment.id,
    )
    rows = _rows_in(session, query, CompetencyAssessment.user_id, user_ids)
    return {(u, c, d): aid for u, c, d, aid in rows}


def add_import(session: Session, record: CompetencyImport) -> int:
    session.add(record)
    session.flush()
    return record.id


# --- gaps ---------------------------------------------------------------------------------------


def _latest_assessments() -> Any:
    """Each ASN's latest assessment per competency (history is kept; the newest date counts)."""
    a = CompetencyAssessment
    ranked = select(
        a.user_id,
        a.competency_code,
        a.level,
        a.required_level,
        a.assessed_on,
        func.row_number()
        .over(
            partition_by=(a.user_id, a.competency_code),
            order_by=(a.assessed_on.desc(), a.id.desc()),
        )
        .label("rn"),
    ).subquery("ranked")
    return (
        select(
            ranked.c.user_id,
            ranked.c.competency_code,
            ranked.c.level,
            ranked.c.required_level,
            ranked.c.assessed_on,
        )
        # "< 2", not "== 1": PostgreSQL guesses 0.5% of the rows for an equality on a window
        # column (then sorts the gap map on disk); a range guess (1/3) keeps hash joins.
        .where(ranked.c.rn < 2)
        .subquery("latest")
    )


def _jabatan_key_sql(column: Any) -> ColumnElement[Any]:
    return func.lower(func.trim(column))


@functools.cache  # built once: SQL constructs are immutable, callers refine them generatively
def gap_rows_query(*, with_user: bool = False) -> tuple[Select[Any], Any, Any]:
    """SELECT user_id, competency_code, level, required, assessed_on, opd_id over each ASN's
    latest assessment in an active competency; returns (query, latest, user) for filtering.
    Building it (three aliased standards joined to a window subquery) cost more CPU than
    running it for one ASN on the home page."""
    latest = _latest_assessments()
    exact = aliased(CompetencyStandard)
    by_type = aliased(CompetencyStandard)
    everyone = aliased(CompetencyStandard)
    required = func.coalesce(
        exact.required_level,
        by_type.required_level,
        everyone.required_level,
        latest.c.required_level,
    ).label("required")
    columns: list[Any] = [
        latest.c.user_id,
        latest.c.competency_code,
        latest.c.level,
        required,
        latest.c.assessed_on,
        User.opd_id,
    ]
    if with_user:
        columns += [User.name, User.nip]
    query = (
        select(*columns)
        .select_from(latest)
        .join(User, User.id == latest.c.user_id)
        .join(
            Competency,
            and_(
                Competency.code == latest.c.competency_code,
                Competency.is_active.is_(True),
            ),
        )
        .outerjoin(
            exact,
            and_(
                exact.competency_code == latest.c.competency_code,
                exact.jabatan_key == _jabatan_key_sql(User.jabatan),
            ),
        )
        .outerjoin(
            by_type,
            and_(
                by_type.competency_code == latest.c.competency_code,
                by_type.jabatan_key == _jabatan_key_sql(User.jenis_jabatan),
            ),
        )
        .outerjoin(
            everyone,
            and_(
                everyone.competency_code == latest.c.competency_code,
                everyone.jabatan_key == EVERYONE,
            ),
        )
    )
    return query, latest, required


def gap_rows(session: Session, user_ids: Sequence[int]) -> list[tuple[int, str, int, int | None]]:
    """(user_id, competency_code, achieved level, required level or None) of these users."""
    query, latest, _required = gap_rows_query()
    rows = _rows_in(session, query, latest.c.user_id, user_ids, chunk=_GAP_CHUNK)
    return [(r.user_id, r.competency_code, r.level, r.required) for r in rows]


def user_gap_rows(session: Session, user_id: int) -> list[Any]:
    query, latest, _required = gap_rows_query()
    return list(session.execute(query.where(latest.c.user_id == user_id)))


def gap_map_cells(
    session: Session, *, group: str | None, opd_code: str | None
) -> list[tuple[int | None, str, int, int]]:
    """(opd_id, competency_code, assessed ASN with a standard, of whom with a gap) per cell;
    active ASN only; one GROUP BY query."""
    query, _latest, required = gap_rows_query()
    inner = query.where(User.is_active.is_(True)).where(required.is_not(None))
    if group:
        inner = inner.where(Competency.group == group)
    if opd_code:
        inner = inner.join(Opd, Opd.id == User.opd_id).where(Opd.code == opd_code)
    rows = inner.subquery("rows")
    gap = case((rows.c.level < rows.c.required, 1), else_=0)
    result = session.execute(
        select(rows.c.opd_id, rows.c.competency_code, func.count(), func.sum(gap)).group_by(
            rows.c.opd_id, rows.c.competency_code
        )
    )
    return [(o, c, int(n), int(g or 0)) for o, c, n, g in result]


def users_with_gap(session: Session, competency_code: str, *, opd_code: str | None) -> list[Any]:
    """Active ASN whose latest level in the competency is below their required level."""
    query, latest, required = gap_rows_query(with_user=True)
    query = (
        query.add_columns(Opd.code.label("opd_code"))
        .outerjoin(Opd, Opd.id == User.opd_id)
        .where(
            latest.c.competency_code == competency_code,
            User.is_active.is_(True),
            required.is_not(None),
            latest.c.level < required,
        )
        .order_by(Opd.code, User.name, User.id)
    )
    if opd_code:
        query = query.where(Opd.code == opd_code)
    return list(session.execute(query))


# --- recommendations ----------------------------------------------------------------------------


def _open_run(today: Any) -> Any:
    """The lowest id of a course's runs open to self-enrolment on `today` (a date or a bound
    parameter), as a scalar subquery correlated to Course; None when there is none."""
    return (
        select(func.min(Run.id))
        .where(
            Run.course_id == Course.id,
            Run.self_enrol.is_(True),
            Run.ends_on >= today,
            or_(Run.enrol_opens_on.is_(None), Run.enrol_opens_on <= today),
            or_(Run.enrol_closes_on.is_(None), Run.enrol_closes_on >= today),
            or_(Run.capacity.is_(None), Run.enrolled_count < Run.capacity),
        )
        .correlate(Course)
        .scalar_subquery()
    )


def courses_for(session: Session, codes: Sequence[str], today: dt.date) -> list[Any]:
    """Published courses tagged with these competencies: (course, tag, target level, an open
    self-enrol run id or None)."""
    if not codes:
        return []
    open_run = _open_run(today)
    return list(
        session.execute(
            select(
                Course.id,
                Course.code,
                Course.title,
                Course.jp,
                CourseCompetency.competency_code,
                CourseCompetency.target_level,
                open_run.label("run_id"),
            )
            .join(CourseCompetency, CourseCompetency.course_id == Course.id)
            .where(Course.status == "published", CourseCompetency.competency_code.in_(codes))
            .order_by(Course.title, Course.id)
        )
    )


def enrolled_course_ids(session: Session, user_id: int, course_ids: Sequence[int]) -> set[int]:
    """Courses in which the user has a live (not withdrawn) enrolment in any run."""
    if not course_ids:
        return set()
    return set(
        session.scalars(
            select(Run.course_id)
            .join(Enrolment, Enrolment.run_id == Run.id)
            .where(
                Enrolment.user_id == user_id,
                Enrolment.withdrawn_at.is_(None),
                Run.course_id.in_(list(course_ids)),
            )
        )
    )


def enrolled_course_ids_of_users(
    session: Session, user_ids: Sequence[int], course_ids: Sequence[int]
) -> dict[int, set[int]]:
    """user -> courses (of these) in which they have a live enrolment; one query per IN chunk."""
    found: dict[int, set[int]] = {}
    if not user_ids or not course_ids:
        return found
    query = (
        select(Enrolment.user_id, Run.course_id)
        .join(Run, Run.id == Enrolment.run_id)
        .where(Enrolment.withdrawn_at.is_(None), Run.course_id.in_(list(course_ids)))
    )
    for uid, cid in _rows_in(session, query, Enrolment.user_id, list(user_ids), chunk=_GAP_CHUNK):
        found.setdefault(uid, set()).add(cid)
    return found


def mentors_for(session: Session, codes: Sequence[str]) -> list[Any]:
    """Active users with role mentor and their latest level in these competencies."""
    if not codes:
        return []
    latest = _latest_assessments()
    return list(
        session.execute(
            select(
                User.id,
                User.name,
                User.opd_id,
                Opd.code.label("opd_code"),
                latest.c.competency_code,
                latest.c.level,
            )
            .join(UserRole, and_(UserRole.user_id == User.id, UserRole.role == "mentor"))
            .join(latest, latest.c.user_id == User.id)
            .outerjoin(Opd, Opd.id == User.opd_id)
            .where(User.is_active.is_(True), latest.c.competency_code.in_(codes))
            .order_by(User.name, User.id)
        )
    )


# --- lookups for pages --------------------------------------------------------------------------


def opds(session: Session) -> list[tuple[int, str, str]]:
    rows = session.execute(select(Opd.id, Opd.code, Opd.name).order_by(Opd.code))
    return [(oid, code, name) for oid, code, name in rows]


def opd_id(session: Session, code: str) -> int | None:
    return session.scalar(select(Opd.id).where(Opd.code == code))


def user_brief(session: Session, user_id: int) -> Any:
    return session.execute(
        select(User.id, User.name, User.nip, User.jabatan, User.jenis_jabatan, Opd.code, Opd.name)
        .outerjoin(Opd, Opd.id == User.opd_id)
        .where(User.id == user_id)
    ).first()


def assessment_history(session: Session, user_id: int) -> Sequence[CompetencyAssessment]:
    return session.scalars(
        select(CompetencyAssessment)
        .where(CompetencyAssessment.user_id == user_id)
        .order_by(CompetencyAssessment.assessed_on.desc(), CompetencyAssessment.competency_code)
    ).all()


def search_users(session: Session, q: str, limit: int = 50) -> list[Any]:
    like = f"%{q.lower()}%"
    return list(
        session.execute(
            select(User.id, User.name, User.nip, Opd.code)
            .outerjoin(Opd, Opd.id == User.opd_id)
            .where(
                User.nip.is_not(None),
                or_(func.lower(User.name).like(like), User.nip.like(like)),
            )
            .order_by(User.name)
            .limit(limit)
        )
    )


def recent_imports(session: Session, limit: int = 10) -> Sequence[CompetencyImport]:
    return session.scalars(
        select(CompetencyImport).order_by(CompetencyImport.id.desc()).limit(limit)
    ).all()


def open_runs(session: Session, today: dt.date, competency_code: str | None) -> list[Any]:
    """Runs not yet ended, those of courses tagged with the competency first."""
    tagged = (
        select(CourseCompetency.course_id)
        .where(CourseCompetency.competency_code == (competency_code or ""))
        .scalar_subquery()
    )
    is_tagged = case((Run.course_id.in_(tagged), 0), else_=1)
    return list(
        session.execute(
            select(
                Run.id,
                Run.name,
                Run.starts_on,
                Run.ends_on,
                Course.code,
                Course.title,
                is_tagged.label("untagged"),
            )
            .join(Course, Course.id == Run.course_id)
            .where(Run.ends_on >= today, Course.status == "published")
            .order_by(is_tagged, Course.title, Run.starts_on, Run.id)
            .limit(500)
        )
    )


# --- one ASN's course suggestions (the home page) -------------------------------------------------


def catalog_names(session: Session) -> list[Any]:
    """(code, name, group) of every competency, inactive ones too: what naming and ordering gaps
    need, without loading the catalog as ORM objects."""
    return list(session.execute(_catalog_names_query()))


@functools.cache
def _catalog_names_query() -> Select[str, str, str]:
    return select(Competency.code, Competency.name, Competency.group)


def user_gap_levels(session: Session, user_id: int) -> list[tuple[str, int, int | None]]:
    """`gap_rows` of one user: (competency_code, achieved level, required level or None)."""
    rows = session.execute(_user_gap_levels_query(), {"user_id": user_id})
    return [(r.competency_code, r.level, r.required) for r in rows]


@functools.cache
def _user_gap_levels_query() -> Select[Any]:
    query, latest, _required = gap_rows_query()
    return query.where(latest.c.user_id == bindparam("user_id"))


def courses_for_user(
    session: Session, codes: Sequence[str], today: dt.date, user_id: int
) -> list[Any]:
    """`courses_for` with `enrolled`: whether the user has a live (not withdrawn) enrolment in a
    run of the course (`enrolled_course_ids`), in the same query."""
    if not codes:
        return []
    params = {"codes": list(codes), "today": today, "user_id": user_id}
    return list(session.execute(_courses_for_user_query(), params))


@functools.cache
def _courses_for_user_query() -> Select[Any]:
    """Built once (SQL constructs are immutable); the values are bound parameters."""
    today = bindparam("today", type_=Run.ends_on.type)
    open_run = _open_run(today)
    enrolled_run = aliased(Run)
    enrolled = (
        select(Enrolment.id)
        .join(enrolled_run, enrolled_run.id == Enrolment.run_id)
        .where(
            enrolled_run.course_id == Course.id,
            Enrolment.user_id == bindparam("user_id"),
            Enrolment.withdrawn_at.is_(None),
        )
        .correlate(Course)
        .exists()
    )
    return (
        select(
            Course.id,
            Course.code,
            Course.title,
            Course.jp,
            CourseCompetency.competency_code,
            CourseCompetency.target_level,
            open_run.label("run_id"),
            enrolled.label("enrolled"),
        )
        .join(CourseCompetency, CourseCompetency.course_id == Course.id)
        .where(
            Course.status == "published",
            CourseCompetency.competency_code.in_(bindparam("codes", expanding=True)),
        )
        .order_by(Course.title, Course.id)
    )
