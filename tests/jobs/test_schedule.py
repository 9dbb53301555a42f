"""The schedule: when each cadence is due in the institution's time zone, one run per period
however many runners tick, failed runs recorded with their error and retried, `lms jobs run-due`."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import Settings
from app.core.db import session_scope
from app.jobs import service as jobs
from app.jobs.models import ScheduledRun
from app.notifications import service as notifications
from app.notifications.constants import NewNotification
from tests.factories import make_user
from tests.notifications.helpers import deliver

UTC = dt.UTC
calls: list[tuple[str, dt.datetime]] = []


def _utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture
def job() -> Iterator[dict[str, Any]]:
    """A daily test job whose behaviour the test scripts; removed afterwards."""
    calls.clear()
    script: dict[str, Any] = {"fail": False, "sleep": 0.0}

    def run(settings: Settings, now: dt.datetime) -> str:
        calls.append(("test.daily", now))
        time.sleep(script["sleep"])
        if script["fail"]:
            raise RuntimeError("server laporan tidak menjawab")
        return f"{len(calls)} kali"

    jobs.scheduled("test.daily", label=lambda: "Uji harian", cadence="daily")(run)
    yield script
    jobs._jobs.pop("test.daily", None)


def _period(cadence: str, now: dt.datetime, settings: Settings, **extra: Any) -> str | None:
    probe = jobs.Job("probe", lambda: "probe", cadence, lambda s, n: "", **extra)  # type: ignore[arg-type]
    return jobs.current_period(probe, now, settings)


# --- periods in the institution's time ---------------------------------------------------------


def test_daily_is_due_from_its_local_time_of_day(settings: Settings) -> None:
    assert settings.timezone == "Asia/Jakarta" and settings.schedule_daily_at == "07:00"
    # 6 December 23:59 UTC is 7 December 06:59 WIB: the 7th's run is not due yet.
    assert _period("daily", _utc(2026, 12, 6, 23, 59), settings) is None
    assert _period("daily", _utc(2026, 12, 7, 0, 0), settings) == "2026-12-07"
    assert _period("daily", _utc(2026, 12, 7, 16, 59), settings) == "2026-12-07"
    assert _period("daily", _utc(2026, 12, 7, 17, 0), settings) is None  # 8 Dec 00:00 WIB


def test_the_same_moment_is_another_period_in_another_zone(settings: Settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    moment = _utc(2026, 12, 6, 22, 30)  # 05:30 WIB, 07:30 WIT (Asia/Jayapura) on 7 December
    assert _period("daily", moment, settings) is None
    monkeypatch.setattr(settings, "timezone", "Asia/Jayapura")
    assert _period("daily", moment, settings) == "2026-12-07"
    assert _period("hourly", moment, settings) == "2026-12-07T07"


def test_weekly_from_its_weekday_and_monthly_from_its_day(settings: Settings) -> None:
    assert settings.schedule_weekly_day == 1 and settings.schedule_monthly_day == 1
    # Monday 7 December 2026 is ISO week 50; Sunday the 6th still belongs to week 49's run.
    assert _period("weekly", _utc(2026, 12, 6, 12), settings) == "2026-W49"  # Sun 19:00 WIB
    assert _period("weekly", _utc(2026, 12, 6, 23, 59), settings) is None  # Mon 06:59 WIB
    assert _period("weekly", _utc(2026, 12, 7, 0, 0), settings) == "2026-W50"  # Mon 07:00 WIB
    assert _period("weekly", _utc(2026, 12, 10, 3), settings) == "2026-W50"
    assert _period("monthly", _utc(2026, 11, 30, 23, 59), settings) is None  # 1 Dec 06:59 WIB
    assert _period("monthly", _utc(2026, 12, 1, 0, 0), settings) == "2026-12"
    assert _period("monthly", _utc(2026, 12, 31, 16, 59), settings) == "2026-12"
    assert _period("minutes", _utc(2026, 12, 7, 3, 7), settings, every_minutes=5) == (
        "2026-12-07T10:05"
    )


def test_a_week_before_its_weekday_is_not_due(settings: Settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "schedule_weekly_day", 3)  # Wednesday
    assert _period("weekly", _utc(2026, 12, 8, 12), settings) is None  # Tuesday of week 50
    assert _period("weekly", _utc(2026, 12, 9, 0, 0), settings) == "2026-W50"  # Wed 07:00 WIB


# --- claims: once per period -------------------------------------------------------------------


def _runs() -> list[ScheduledRun]:
    with session_scope() as session:
        rows = list(session.scalars(select(ScheduledRun).order_by(ScheduledRun.id)))
        session.expunge_all()
        return rows


def test_a_period_runs_once_however_often_it_is_ticked(job, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    now = _utc(2026, 12, 7, 1)
    (first,) = jobs.run_due(settings, now=now, only="test.daily")
    assert (first.period, first.state, first.result) == ("2026-12-07", "done", "1 kali")
    assert jobs.run_due(settings, now=now + dt.timedelta(hours=3), only="test.daily") == []
    assert len(calls) == 1 and calls[0][1] == now  # the job is told the moment it runs for
    (tomorrow,) = jobs.run_due(settings, now=now + dt.timedelta(days=1), only="test.daily")
    assert tomorrow.period == "2026-12-08" and len(calls) == 2
    with session_scope() as session:
        (status,) = [s for s in jobs.status(session, settings) if s.name == "test.daily"]
        assert (status.last_period, status.last_state, status.last_result) == (
            "2026-12-08", "done", "2 kali")  # fmt: skip
        assert [h.last_period for h in jobs.history(session, "test.daily")] == [
            "2026-12-08", "2026-12-07"]  # fmt: skip


def test_two_runners_at_once_run_the_period_once(job, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    job["sleep"] = 0.3
    now = _utc(2026, 12, 7, 1)
    outcomes: list[list[jobs.RunOutcome]] = []

    def tick() -> None:
        outcomes.append(jobs.run_due(settings, now=now, only="test.daily"))

    workers = [threading.Thread(target=tick) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=30)
    assert len(calls) == 1
    assert sorted(len(o) for o in outcomes) == [0, 1]
    assert [(r.period, r.state) for r in _runs()] == [("2026-12-07", "done")]


def test_a_failed_run_is_recorded_with_its_error_and_retried(job, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    job["fail"] = True
    now = _utc(2026, 12, 7, 1)
    (failed,) = jobs.run_due(settings, now=now, only="test.daily")
    assert failed.state == "failed"
    assert failed.result == "RuntimeError: server laporan tidak menjawab"
    (row,) = _runs()
    assert (row.state, row.error) == ("failed", "RuntimeError: server laporan tidak menjawab")
    # The next tick of the same period leaves it alone for a while (no hammering)...
    assert jobs.run_due(settings, now=now, only="test.daily") == []
    assert len(calls) == 1
    # ... then retries it.
    job["fail"] = False
    with session_scope() as session:
        long_ago = dt.datetime.now(UTC) - jobs.RETRY_FAILED_AFTER - dt.timedelta(minutes=1)
        session.execute(update(ScheduledRun).values(finished_at=long_ago))
    (retried,) = jobs.run_due(settings, now=now, only="test.daily")
    assert (retried.period, retried.state) == ("2026-12-07", "done")
    (row,) = _runs()
    assert (row.state, row.error, row.result) == ("done", None, "2 kali")


def test_a_run_whose_runner_died_is_taken_over(job, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    now = _utc(2026, 12, 7, 1)
    with session_scope() as session:
        session.add(ScheduledRun(job="test.daily", period="2026-12-07", state="running",
                                 started_at=dt.datetime.now(UTC) - dt.timedelta(hours=1)))  # fmt: skip
    assert jobs.run_due(settings, now=now, only="test.daily") == []  # still running elsewhere
    with session_scope() as session:
        session.execute(
            update(ScheduledRun).values(
                started_at=dt.datetime.now(UTC) - jobs.STALE_RUNNING_AFTER - dt.timedelta(1)
            )
        )
    (taken,) = jobs.run_due(settings, now=now, only="test.daily")
    assert taken.state == "done" and len(calls) == 1


def test_force_runs_before_the_time_of_day(job, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    early = _utc(2026, 12, 6, 23)  # 06:00 WIB
    assert jobs.run_due(settings, now=early, only="test.daily") == []
    (forced,) = jobs.run_due(settings, now=early, only="test.daily", force=True)
    assert forced.period.startswith("manual-20261207T06") and forced.state == "done"


# --- the cron command ----------------------------------------------------------------------------


def test_lms_jobs_run_due_runs_the_due_jobs_and_delivers(job, mail) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    user = make_user(email="rina@example.go.id", name="Rina Wati")
    with session_scope() as session:
        notifications.notify(session, NewNotification(
            event="verification_digest", user_id=user.id, key="verification_digest:cli",
            context={"external_trainings": 2, "mentoring": 1, "week": "2026-W50"}))  # fmt: skip
    result = runner.invoke(cli, ["jobs", "run-due", "--job", "test.daily", "--force"])
    assert result.exit_code == 0, result.output
    assert "test.daily [" in result.output and "done — 1 kali" in result.output
    assert "outbox: 1 sent" in result.output
    (msg,) = mail.wait_for(1)
    assert msg["Subject"] == "Menunggu verifikasi: 2 pelatihan eksternal, 1 mentoring"
    listed = runner.invoke(cli, ["jobs", "list"])
    assert listed.exit_code == 0 and "test.daily" in listed.output
    for name in ("notifications.below_pace", "notifications.opd_digest",
                 "notifications.run_reminders", "notifications.verification_digest",
                 "courses.expired_uploads", "auth.purge_expired", "outbox.purge_done"):  # fmt: skip
        assert name in listed.output
    assert deliver().handled == 0


def test_lms_jobs_run_due_without_force_runs_only_what_is_due() -> None:
    ran: list[dt.datetime] = []

    def every_five_minutes(settings: Settings, now: dt.datetime) -> str:
        ran.append(now)
        return "sekali"

    jobs.scheduled("test.minutes", label=lambda: "Uji", cadence="minutes")(every_five_minutes)
    try:
        runner = CliRunner()
        first = runner.invoke(cli, ["jobs", "run-due", "--job", "test.minutes", "--no-outbox"])
        assert first.exit_code == 0, first.output
        assert "test.minutes [" in first.output and "done — sekali" in first.output
        second = runner.invoke(cli, ["jobs", "run-due", "--job", "test.minutes", "--no-outbox"])
        assert second.exit_code == 0
        # Run again only if the 5-minute period turned between the two commands.
        assert ("test.minutes [" in second.output) == (len(ran) == 2)
        assert len(_runs()) == len(ran)
    finally:
        jobs._jobs.pop("test.minutes", None)
