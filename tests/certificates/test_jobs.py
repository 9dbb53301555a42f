"""Bulk issuance as a job: items with per-user results, numbers by batch, PDFs afterwards; a
job whose runner died (stale heartbeat) is resumed without duplicates or gaps, and a job held
by a live runner is not run twice."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.certificates import service, tasks
from app.certificates.models import Certificate, IssueJob, IssueJobItem
from app.core.config import get_settings
from app.core.db import session_scope, utcnow
from app.jobs import queue
from tests.factories import make_completed_run, make_user


def _start(run_id: int, user_ids: list[int] | None = None) -> str:
    with session_scope() as session:
        job_id = service.start_issue_job(session, run_id, user_ids, None, get_settings())
    return job_id


def test_job_issues_in_batches_and_records_each_user(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = get_settings()
    monkeypatch.setattr(settings, "cert_job_batch", 3)
    data = make_completed_run(7, auto_issue=False)
    stranger = make_user()
    users = [*data["users"], stranger.id]  # type: ignore[misc]
    batches: list[int] = []
    monkeypatch.setattr(tasks, "enqueue", lambda job_id: None)
    job_id = _start(data["run"], users)  # type: ignore[arg-type]
    assert tasks.run_job(job_id, settings, on_batch=batches.append)
    assert batches == [3, 6, 8]
    with session_scope() as session:
        job = service.job_status(session, job_id)
    assert job.state == "done" and job.issued_count == 7 and job.ineligible_count == 1
    assert job.rendered_count == 7 and job.percent == 100
    items = {i.user_id: i for i in job.items}
    assert items[stranger.id].state == "ineligible" and items[stranger.id].message
    with session_scope() as session:
        certs = session.scalars(select(Certificate)).all()
    assert sorted(c.seq for c in certs) == list(range(1, 8)) and all(c.pdf_sha256 for c in certs)


def test_resume_after_crash_no_duplicates_no_gaps(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = get_settings()
    monkeypatch.setattr(settings, "cert_job_batch", 2)
    data = make_completed_run(5, auto_issue=False)
    monkeypatch.setattr(tasks, "enqueue", lambda job_id: None)
    job_id = _start(data["run"])  # type: ignore[arg-type]

    class Crash(BaseException):
        pass

    def crash_after_first(done: int) -> None:
        raise Crash  # the process "dies" after the first committed batch

    with pytest.raises(Crash):
        tasks.run_job(job_id, settings, on_batch=crash_after_first)
    with session_scope() as session:
        assert len(session.scalars(select(Certificate)).all()) == 2
        job = session.get(IssueJob, job_id)
        assert job is not None and job.state == "running"
    # A live runner holds it: nobody takes it over.
    assert tasks.resume_stale(settings) == []
    assert not tasks.run_job(job_id, settings)
    with session_scope() as session:  # the heartbeat goes stale
        job = session.get(IssueJob, job_id)
        assert job is not None
        job.heartbeat_at = utcnow() - dt.timedelta(seconds=settings.cert_job_stale_seconds + 1)
    assert tasks.resume_stale(settings, inline=True) == [job_id]
    with session_scope() as session:
        certs = session.scalars(select(Certificate)).all()
        states = {i.state for i in session.scalars(select(IssueJobItem))}
        job = session.get(IssueJob, job_id)
        assert job is not None and job.state == "done" and job.issued_count == 5
    assert sorted(c.seq for c in certs) == [1, 2, 3, 4, 5] and states == {"issued"}
    assert all(c.pdf_sha256 for c in certs)
    assert len({c.enrolment_id for c in certs}) == 5


def test_the_minute_tick_resumes_a_stale_job_while_workers_keep_running(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker restarted at once (systemd, compose `restart:`) found the job's heartbeat still
    fresh; the minute tick of any running worker picks it up once it goes stale."""
    settings = get_settings()
    data = make_completed_run(2, auto_issue=False)
    queued: list[str] = []
    monkeypatch.setattr(tasks, "enqueue", queued.append)
    job_id = _start(data["run"])  # type: ignore[arg-type]
    with session_scope() as session:  # its runner died mid-job, heartbeat still fresh
        job = session.get(IssueJob, job_id)
        assert job is not None
        job.state, job.heartbeat_at = "running", utcnow()
    queued.clear()
    assert "certificates.resume_stale" in queue._periodic
    queue._periodic["certificates.resume_stale"]()
    assert queued == []
    with session_scope() as session:
        job = session.get(IssueJob, job_id)
        assert job is not None
        job.heartbeat_at = utcnow() - dt.timedelta(seconds=settings.cert_job_stale_seconds + 1)
    queue._periodic["certificates.resume_stale"]()
    assert queued == [job_id]


def test_huey_backends_from_settings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert queue.make_huey("immediate").immediate
    sqlite = queue.make_huey(f"sqlite:///{tmp_path}/jobs.db")
    assert type(sqlite).__name__ == "SqliteHuey"
    assert type(queue.make_huey("redis://127.0.0.1:6379/0")).__name__ == "RedisHuey"
    with pytest.raises(ValueError):
        queue.make_huey("ftp://nope")


def test_in_process_worker_runs_a_queued_job(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    settings = get_settings()
    monkeypatch.setattr(settings, "jobs_url", f"sqlite:///{tmp_path}/jobs.db")
    monkeypatch.setattr(settings, "jobs_in_process_worker", True)
    queue.reset_huey()
    data = make_completed_run(2, auto_issue=False)
    worker = queue.start_worker(settings)
    assert worker is not None
    try:
        with session_scope() as session:
            job_id = service.start_issue_job(session, data["run"], None, None, settings)  # type: ignore[arg-type]
        import time

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with session_scope() as session:
                if service.job_status(session, job_id).state in ("done", "failed"):
                    break
            time.sleep(0.2)
        with session_scope() as session:
            assert service.job_status(session, job_id).state == "done"
    finally:
        worker.stop()
        queue.reset_huey()


def test_cli_issue_run_and_resume() -> None:
    from typer.testing import CliRunner

    from app.cli import cli

    data = make_completed_run(3, auto_issue=False)
    runner = CliRunner()
    result = runner.invoke(cli, ["certificates", "issue-run", str(data["run"])])
    assert result.exit_code == 0, result.output
    assert "done: issued 3, ineligible 0, failed 0, PDFs 3" in result.output
    again = runner.invoke(cli, ["certificates", "issue-run", str(data["run"])])
    assert "issued 0, ineligible 0, already certified 3" in again.output
    assert "no job to resume" in runner.invoke(cli, ["certificates", "resume"]).output
