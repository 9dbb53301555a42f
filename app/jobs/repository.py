"""All SQL for scheduled job runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.jobs.models import ScheduledRun


def claim(
    session: Session,
    job: str,
    period: str,
    now: dt.datetime,
    *,
    retry_failed_before: dt.datetime,
    stale_before: dt.datetime,
) -> int | None:
    """Take (job, period): a new row, or a failed run old enough to retry, or a running one whose
    runner died long ago. None when someone else holds it or it is done."""
    try:
        with session.begin_nested():
            row = ScheduledRun(job=job, period=period, state="running", started_at=now)
            session.add(row)
        return row.id
    except IntegrityError:
        pass
    taken = session.execute(
        update(ScheduledRun)
        .where(
            ScheduledRun.job == job,
            ScheduledRun.period == period,
            or_(
                and_(
                    ScheduledRun.state == "failed", ScheduledRun.finished_at < retry_failed_before
                ),
                and_(ScheduledRun.state == "running", ScheduledRun.started_at < stale_before),
            ),
        )
        .values(state="running", started_at=now, finished_at=None, error=None)
        .returning(ScheduledRun.id)
    ).scalar_one_or_none()
    return taken


def finish(
    session: Session, run_id: int, *, state: str, result: str, error: str | None, at: dt.datetime
) -> None:
    session.execute(
        update(ScheduledRun)
        .where(ScheduledRun.id == run_id)
        .values(state=state, result=result[:4000], error=error, finished_at=at)
    )


def last_runs(session: Session, jobs: Sequence[str]) -> dict[str, ScheduledRun]:
    """The newest run of each job (one query)."""
    newest = (
        select(ScheduledRun.job, func.max(ScheduledRun.id).label("id"))
        .where(ScheduledRun.job.in_(jobs))
        .group_by(ScheduledRun.job)
        .subquery()
    )
    rows = session.scalars(select(ScheduledRun).join(newest, ScheduledRun.id == newest.c.id))
    return {r.job: r for r in rows}


def runs_of(session: Session, job: str, limit: int) -> list[ScheduledRun]:
    return list(
        session.scalars(
            select(ScheduledRun)
            .where(ScheduledRun.job == job)
            .order_by(ScheduledRun.id.desc())
            .limit(limit)
        )
    )
