"""The schedule: periodic jobs (reminders, digests, housekeeping) that domains register, when each
is due in the institution's time, and the record of every run.

A job runs once per period ("2026-12-06" daily, "2026-W49" weekly, "2026-12" monthly): the
unique (job, period) row is its claim, so several web processes with their in-process workers,
a `lms jobs worker` and a cron `lms jobs run-due` may all tick and each period still runs once.
A failed run is retried on a later tick of the same period; jobs are idempotent anyway (their
messages carry unique keys).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from app.core import clock
from app.core.config import Settings, get_settings
from app.core.db import session_scope, utcnow
from app.core.errors import Conflict, NotFound
from app.core.i18n import gettext_ as _
from app.core.logging import job_context
from app.jobs import queue, repository
from app.jobs.schemas import JobStatus

log = logging.getLogger(__name__)

Cadence = Literal["minutes", "hourly", "daily", "weekly", "monthly"]
JobFn = Callable[[Settings, dt.datetime], str]  # (settings, now UTC) -> a one-line result

RETRY_FAILED_AFTER = dt.timedelta(minutes=10)
STALE_RUNNING_AFTER = dt.timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    label: Callable[[], str]  # translated at display time
    cadence: Cadence
    fn: JobFn
    every_minutes: int = 5  # cadence "minutes"
    at: Callable[[Settings], str] | None = None  # local "HH:MM" for daily/weekly/monthly


_jobs: dict[str, Job] = {}


def scheduled(
    name: str,
    *,
    label: Callable[[], str],
    cadence: Cadence,
    every_minutes: int = 5,
    at: Callable[[Settings], str] | None = None,
) -> Callable[[JobFn], JobFn]:
    """Register `fn(settings, now) -> result text` as a scheduled job (decorator)."""

    def register(fn: JobFn) -> JobFn:
        _jobs[name] = Job(name, label, cadence, fn, every_minutes, at)
        return fn

    return register


def jobs() -> list[Job]:
    return sorted(_jobs.values(), key=lambda j: j.name)


def get_job(name: str) -> Job | None:
    return _jobs.get(name)


def known_job(name: str) -> Job:
    """The registered job of that name (404 otherwise)."""
    found = _jobs.get(name)
    if found is None:
        raise NotFound(_("Tugas terjadwal '%(n)s' tidak dikenal.") % {"n": name},
                       code="job_not_found")  # fmt: skip
    return found


def _daily_at(settings: Settings) -> str:
    return settings.schedule_daily_at


def current_period(job: Job, now: dt.datetime, settings: Settings) -> str | None:
    """The period key `job` is due for at `now` (UTC), or None while not yet due in this period
    (before its time of day, its weekday or its day of month, in the institution's zone)."""
    local = clock.to_local(now)
    assert local is not None
    if job.cadence == "minutes":
        minute = (local.hour * 60 + local.minute) // job.every_minutes * job.every_minutes
        return f"{local:%Y-%m-%d}T{minute // 60:02d}:{minute % 60:02d}"
    if job.cadence == "hourly":
        return f"{local:%Y-%m-%dT%H}"
    at = clock.parse_hhmm((job.at or _daily_at)(settings))
    after_time = local.time() >= at
    if job.cadence == "daily":
        return local.date().isoformat() if after_time else None
    if job.cadence == "weekly":
        weekday, day = local.isoweekday(), settings.schedule_weekly_day
        if weekday < day or (weekday == day and not after_time):
            return None
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    day = settings.schedule_monthly_day
    if local.day < day or (local.day == day and not after_time):
        return None
    return f"{local:%Y-%m}"


@dataclass(frozen=True, slots=True)
class RunOutcome:
    job: str
    period: str
    state: str  # done | failed
    result: str


def run_job(job: Job, period: str, settings: Settings, now: dt.datetime) -> RunOutcome | None:
    """Claim (job, period) and run it; None when another runner has it or it is done."""
    with session_scope() as session:
        run_id = repository.claim(
            session, job.name, period, utcnow(),
            retry_failed_before=utcnow() - RETRY_FAILED_AFTER,
            stale_before=utcnow() - STALE_RUNNING_AFTER,
        )  # fmt: skip
    if run_id is None:
        return None
    with job_context(job.name, kind="scheduled", period=period, run_id=run_id) as run:
        try:
            result = job.fn(settings, now)
            state, error = "done", None
        except Exception as exc:
            log.exception("scheduled job %s (%s) failed", job.name, period)
            result, state, error = "", "failed", f"{type(exc).__name__}: {exc}"[:4000]
        run.outcome, run.fields["result"] = state, (error or result)[:500]
    with session_scope() as session:
        repository.finish(session, run_id, state=state, result=result, error=error, at=utcnow())
    return RunOutcome(job.name, period, state, error or result)


def manual_period(now: dt.datetime) -> str:
    """The period key of a run started by hand: its local moment to the microsecond, so two
    "run now" in the same second are two runs (28 characters; the column holds 32)."""
    return f"manual-{clock.to_local(now):%Y%m%dT%H%M%S%f}"


def run_due(
    settings: Settings | None = None,
    *,
    now: dt.datetime | None = None,
    only: str | None = None,
    force: bool = False,
) -> list[RunOutcome]:
    """Run every job due now (or only `only`); `force` runs it for its current period even
    before its time of day (an officer's "run now")."""
    settings = settings or get_settings()
    now = now or utcnow()
    outcomes: list[RunOutcome] = []
    for job in jobs():
        if only is not None and job.name != only:
            continue
        period = current_period(job, now, settings)
        if period is None and force:
            period = manual_period(now)
        if period is None:
            continue
        outcome = run_job(job, period, settings, now)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def run_now(name: str, settings: Settings | None = None) -> RunOutcome:
    """An officer's "run now": the job's current period (even before its time of day); when
    that period is done already, a manual run of its own (jobs are idempotent). A run still
    going is not started twice."""
    settings = settings or get_settings()
    job = known_job(name)
    now = utcnow()
    outcomes = run_due(settings, now=now, only=name, force=True)
    if outcomes:
        return outcomes[0]
    period = current_period(job, now, settings)
    with session_scope() as session:
        last = repository.last_runs(session, [name]).get(name)
    if last is None or last.state != "running":
        manual = run_job(job, manual_period(utcnow()), settings, now)
        if manual is not None:
            return manual
    raise Conflict(
        _("Tugas ini sedang berjalan (periode %(p)s). Coba lagi setelah selesai.")
        % {"p": period or "-"},
        code="job_running",
    )


def status(session: Session, settings: Settings) -> list[JobStatus]:
    """Every job with its last run, for the officers' page."""
    last = repository.last_runs(session, [j.name for j in jobs()])
    now = utcnow()
    rows: list[JobStatus] = []
    for job in jobs():
        run = last.get(job.name)
        rows.append(
            JobStatus(
                name=job.name,
                label=job.label(),
                cadence=job.cadence,
                at=(job.at or _daily_at)(settings)
                if job.cadence in ("daily", "weekly", "monthly")
                else None,
                due_now=current_period(job, now, settings) is not None,
                last_period=run.period if run else None,
                last_state=run.state if run else None,
                last_started_at=run.started_at if run else None,
                last_finished_at=run.finished_at if run else None,
                last_result=(run.error or run.result) if run else None,
            )
        )
    return rows


def history(session: Session, job: str, limit: int = 20) -> list[JobStatus]:
    found = get_job(job)
    return [
        JobStatus(
            name=job,
            label=found.label() if found else job,
            cadence=found.cadence if found else "daily",
            last_period=r.period,
            last_state=r.state,
            last_started_at=r.started_at,
            last_finished_at=r.finished_at,
            last_result=r.error or r.result,
        )
        for r in repository.runs_of(session, job, limit)
    ]


# --- the minute tick -----------------------------------------------------------------------------


@queue.every_minute("jobs.tick")
def tick() -> None:
    """Every minute on the queue: run the scheduled jobs that are due."""
    for outcome in run_due():
        log.info("scheduled job %s (%s): %s", outcome.job, outcome.period, outcome.state)
