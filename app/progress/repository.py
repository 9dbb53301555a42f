"""All SQL for activity progress and SCORM tracking data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Row, Table, and_, bindparam, exists, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.courses.models import Activity, Enrolment, Run
from app.progress.models import ActivityProgress, ScormTrack
from app.quizzes.models import Quiz


def add(session: Session, obj: object) -> None:
    session.add(obj)
    session.flush()


_PROGRESS = select(ActivityProgress).where(
    ActivityProgress.enrolment_id == bindparam("enrolment_id"),
    ActivityProgress.activity_id == bindparam("activity_id"),
)
# Ignored by SQLite, which locks the whole database on write.
_PROGRESS_FOR_UPDATE = _PROGRESS.with_for_update()


def get_progress(
    session: Session, enrolment_id: int, activity_id: int, *, for_update: bool = False
) -> ActivityProgress | None:
    return session.scalar(
        _PROGRESS_FOR_UPDATE if for_update else _PROGRESS,
        {"enrolment_id": enrolment_id, "activity_id": activity_id},
    )


_TABLE = cast(Table, ActivityProgress.__table__)
_LOCK_ROW = (
    select(_TABLE)
    .where(
        _TABLE.c.enrolment_id == bindparam("enrolment_id"),
        _TABLE.c.activity_id == bindparam("activity_id"),
    )
    .with_for_update()
)
# What a heartbeat changes; everything else of the row stays.
HEARTBEAT_COLUMNS = (
    "status",
    "position_seconds",
    "watched_seconds",
    "watched_intervals",
    "media_seconds",
    "time_seconds",
    "last_seen_at",
    "completed_at",
)
_SAVE_HEARTBEAT = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"))
    .values({name: bindparam(name) for name in HEARTBEAT_COLUMNS})
)


def lock_progress(session: Session, enrolment_id: int, activity_id: int) -> ActivityProgress | None:
    """The row, locked until commit (PostgreSQL), as a plain object outside the session: the
    heartbeat path writes it back with `save_heartbeat`, one UPDATE without the unit of work."""
    row = session.execute(
        _LOCK_ROW, {"enrolment_id": enrolment_id, "activity_id": activity_id}
    ).first()
    return ActivityProgress(**row._mapping) if row is not None else None


_SAVE_HEARTBEAT_IF_UNCHANGED = _SAVE_HEARTBEAT.where(
    _TABLE.c.last_seen_at == bindparam("seen_last_seen_at"),
    _TABLE.c.status == bindparam("seen_status"),
)


def save_heartbeat(
    session: Session,
    progress: ActivityProgress,
    unless_changed_from: tuple[Any, str] | None = None,
) -> bool:
    """Write the heartbeat's columns back; with `unless_changed_from` (last_seen_at, status as
    read), only if the row still has them: False when another request changed it meanwhile."""
    values = {name: getattr(progress, name) for name in HEARTBEAT_COLUMNS}
    if unless_changed_from is None:
        session.execute(_SAVE_HEARTBEAT, {"row_id": progress.id, **values})
        return True
    seen_last_seen_at, seen_status = unless_changed_from
    result = session.execute(
        _SAVE_HEARTBEAT_IF_UNCHANGED,
        {
            "row_id": progress.id,
            "seen_last_seen_at": seen_last_seen_at,
            "seen_status": seen_status,
            **values,
        },
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


_INSERT_COLUMNS = tuple(c.name for c in _TABLE.columns if c.name != "id")
_insert_once: dict[str, Any] = {}


def _insert_statement(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id (PostgreSQL and SQLite 3.24+), built once."""
    statement = _insert_once.get(dialect)
    if statement is None:
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = _insert_once[dialect] = (
            insert(_TABLE)
            .values({name: bindparam(name) for name in _INSERT_COLUMNS})
            .on_conflict_do_nothing(index_elements=["enrolment_id", "activity_id"])
            .returning(_TABLE.c.id)
        )
    return statement


def insert_progress(session: Session, progress: ActivityProgress) -> bool:
    """INSERT a new row in one statement; False (nothing written) when the same enrolment and
    activity got one from a concurrent request first."""
    statement = _insert_statement(session.get_bind().dialect.name)
    values = {name: getattr(progress, name) for name in _INSERT_COLUMNS}
    new_id = session.execute(statement, values).scalar()
    if new_id is None:
        return False
    progress.id = new_id
    return True


def _upsert_statement(dialect: str) -> Any:
    """INSERT a completed row, or complete the existing one unless it already is; RETURNING id
    only when something changed (built once per dialect)."""
    key = dialect + ":complete"
    statement = _insert_once.get(key)
    if statement is None:
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        base = insert(_TABLE).values({name: bindparam(name) for name in _INSERT_COLUMNS})
        statement = _insert_once[key] = base.on_conflict_do_update(
            index_elements=["enrolment_id", "activity_id"],
            set_={"status": base.excluded.status, "completed_at": base.excluded.completed_at},
            where=_TABLE.c.status != base.excluded.status,
        ).returning(_TABLE.c.id)
    return statement


def complete_row(session: Session, progress: ActivityProgress) -> bool:
    """Write `progress` (status completed) as a new row, or complete the existing row of the
    same enrolment and activity; True when it was not complete before (one statement)."""
    statement = _upsert_statement(session.get_bind().dialect.name)
    values = {name: getattr(progress, name) for name in _INSERT_COLUMNS}
    return session.execute(statement, values).scalar() is not None


# Certificates' first completion check, without loading the course: a required, visible
# activity not yet complete (post-tests are judged by their grade, so they do not count here).
_REQUIRED_PENDING = (
    select(literal(1))
    .select_from(Enrolment)
    .join(Run, Run.id == Enrolment.run_id)
    .join(Activity, Activity.course_id == Run.course_id)
    .where(
        Enrolment.id == bindparam("enrolment_id"),
        Activity.required.is_(True),
        Activity.hidden.is_(False),
        ~exists().where(Quiz.activity_id == Activity.id, Quiz.kind == "posttest"),
        ~exists().where(
            and_(
                ActivityProgress.enrolment_id == Enrolment.id,
                ActivityProgress.activity_id == Activity.id,
                ActivityProgress.status == "completed",
            )
        ),
    )
    .limit(1)
)


def required_pending(session: Session, enrolment_id: int) -> bool:
    return session.execute(_REQUIRED_PENDING, {"enrolment_id": enrolment_id}).first() is not None


def progress_of_enrolment(session: Session, enrolment_id: int) -> dict[int, ActivityProgress]:
    rows = session.scalars(
        select(ActivityProgress).where(ActivityProgress.enrolment_id == enrolment_id)
    )
    return {p.activity_id: p for p in rows}


def progress_of_run(
    session: Session, run_id: int
) -> Sequence[Row[int, int | None, str | None, float | None]]:
    """(enrolment id, activity id, status, time) for every enrolment of the run; an enrolment
    without progress comes once with None activity. Reads `enrolment` only to find the run's
    enrolments (progress rows carry no run id)."""
    return session.execute(
        select(
            Enrolment.id,
            ActivityProgress.activity_id,
            ActivityProgress.status,
            ActivityProgress.time_seconds,
        )
        .outerjoin(ActivityProgress, ActivityProgress.enrolment_id == Enrolment.id)
        .where(Enrolment.run_id == run_id)
    ).all()


def activity_has_progress(session: Session, activity_id: int) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(ActivityProgress.activity_id == activity_id)
                | exists().where(ScormTrack.activity_id == activity_id)
            )
        )
    )


def get_track(session: Session, enrolment_id: int, activity_id: int) -> ScormTrack | None:
    return session.scalar(
        select(ScormTrack).where(
            ScormTrack.enrolment_id == enrolment_id, ScormTrack.activity_id == activity_id
        )
    )


def learners_with_progress(session: Session, activity_ids: Sequence[int]) -> dict[int, int]:
    """Activity id -> how many enrolments have a progress row in it (one grouped query)."""
    if not activity_ids:
        return {}
    rows = session.execute(
        select(ActivityProgress.activity_id, func.count())
        .where(ActivityProgress.activity_id.in_(list(activity_ids)))
        .group_by(ActivityProgress.activity_id)
    )
    return {aid: n for aid, n in rows}


def pin_tracks(session: Session, activity_id: int, package_id: int) -> int:
    """Attempts of an activity not yet tied to a package version get `package_id`; returns how
    many attempts of the activity are on that version now."""
    session.execute(
        update(ScormTrack)
        .where(ScormTrack.activity_id == activity_id, ScormTrack.package_id.is_(None))
        .values(package_id=package_id)
        .execution_options(synchronize_session=False)
    )
    return (
        session.scalar(
            select(func.count()).where(
                ScormTrack.activity_id == activity_id, ScormTrack.package_id == package_id
            )
        )
        or 0
    )


def track_on_package(session: Session, package_id: int, enrolment_ids: Sequence[int]) -> bool:
    if not enrolment_ids:
        return False
    return bool(
        session.scalar(
            select(
                exists().where(
                    ScormTrack.package_id == package_id,
                    ScormTrack.enrolment_id.in_(list(enrolment_ids)),
                )
            )
        )
    )


def last_seen_per_run(session: Session, user_id: int) -> dict[int, Any]:
    """Run id -> when the user last touched any of its activities (the home page's "Lanjutkan"),
    in one GROUP BY."""
    rows = session.execute(
        select(Enrolment.run_id, func.max(ActivityProgress.last_seen_at))
        .join(ActivityProgress, ActivityProgress.enrolment_id == Enrolment.id)
        .where(Enrolment.user_id == user_id)
        .group_by(Enrolment.run_id)
    )
    return {int(run_id): seen for run_id, seen in rows}


def learners_active_since(session: Session, since: Any) -> int:
    """How many different users touched an activity since a moment (one COUNT DISTINCT)."""
    return int(
        session.scalar(
            select(func.count(func.distinct(Enrolment.user_id)))
            .join(ActivityProgress, ActivityProgress.enrolment_id == Enrolment.id)
            .where(ActivityProgress.last_seen_at >= since)
        )
        or 0
    )


CHUNK = 900  # ids per IN list: SQLite's bound-parameter limit is 999 on older builds


def progress_of_enrolments(
    session: Session, enrolment_ids: Sequence[int]
) -> list[Row[int, int, str, float | None]]:
    """(enrolment_id, activity_id, status, time_seconds) of every progress row of these
    enrolments (one query per CHUNK ids)."""
    ids = list(enrolment_ids)
    rows: list[Row[int, int, str, float | None]] = []
    for start in range(0, len(ids), CHUNK):
        rows.extend(
            session.execute(
                select(
                    ActivityProgress.enrolment_id,
                    ActivityProgress.activity_id,
                    ActivityProgress.status,
                    ActivityProgress.time_seconds,
                ).where(ActivityProgress.enrolment_id.in_(ids[start : start + CHUNK]))
            )
        )
    return rows
