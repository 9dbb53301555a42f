"""The quiz sweep (app.quizzes.tasks): attempts past deadline plus grace are graded with what was
saved in time, attempts within grace are left alone; the thread, the lifespan and the CLI."""

from __future__ import annotations

import datetime as dt
import threading
import time

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import Settings
from app.core.db import session_scope
from app.quizzes import service as quiz_service
from app.quizzes import tasks
from app.quizzes.models import Attempt
from tests.factories import api_token, enrol, make_course, make_quiz, make_run, make_user

TF_GIFT = "::A:: Satu {TRUE}\n\n::B:: Dua {FALSE}\n\n::C:: Tiga {TRUE}\n"


async def _open_attempt(client: httpx.AsyncClient, run_id: int, quiz_id: int) -> int:
    """A learner's started attempt with its first two questions answered right."""
    user = make_user()
    enrol(run_id, user.id)
    headers = await api_token(client, user.nip)
    body = (await client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=headers)).json()
    key = {"Satu": "true", "Dua": "false", "Tiga": "true"}
    answers = [
        {"question_id": q["id"], "choice_ids": [key[q["text"]]]} for q in body["questions"][:2]
    ]
    saved = await client.put(
        f"/api/v1/attempts/{body['id']}/answers", json={"answers": answers}, headers=headers
    )
    assert saved.status_code == 200, saved.text
    return int(body["id"])


def _set_deadline(attempt_id: int, deadline: dt.datetime) -> None:
    with session_scope() as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        attempt.deadline = deadline


def _attempt(attempt_id: int) -> Attempt:
    with session_scope() as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        session.expunge(attempt)
        return attempt


@pytest.fixture
def quiz_ids() -> dict[str, int]:
    ids = make_course()
    ids["run"] = make_run(ids["course"])
    ids.update(make_quiz(ids["section"], gift=TF_GIFT, time_limit_seconds=600, pass_score=50))
    return ids


async def test_sweep_grades_expired_attempts_and_leaves_those_within_grace(
    client: httpx.AsyncClient, settings: Settings, quiz_ids: dict[str, int]
) -> None:
    expired = await _open_attempt(client, quiz_ids["run"], quiz_ids["quiz"])
    in_grace = await _open_attempt(client, quiz_ids["run"], quiz_ids["quiz"])
    running = await _open_attempt(client, quiz_ids["run"], quiz_ids["quiz"])
    now = dt.datetime.now(dt.UTC)
    grace = dt.timedelta(seconds=settings.quiz_grace_seconds)
    _set_deadline(expired, now - grace - dt.timedelta(seconds=5))
    _set_deadline(in_grace, now - grace + dt.timedelta(seconds=20))

    assert tasks.close_expired_once(settings) == 1

    graded = _attempt(expired)
    assert graded.state == "graded" and graded.auto_submitted
    assert graded.score == 2 and graded.max_score == 3 and graded.passed
    assert graded.submitted_at == graded.deadline and graded.graded_at is not None
    for untouched in (in_grace, running):
        attempt = _attempt(untouched)
        assert attempt.state == "in_progress"
        assert attempt.submitted_at is None and attempt.score is None
    # Nothing left to do: a second sweep grades nothing.
    assert tasks.close_expired_once(settings) == 0


async def test_concurrent_sweeps_grade_each_attempt_once(
    client: httpx.AsyncClient,
    settings: Settings,
    quiz_ids: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempt_ids = [await _open_attempt(client, quiz_ids["run"], quiz_ids["quiz"]) for _ in range(6)]
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=settings.quiz_grace_seconds + 60)
    for attempt_id in attempt_ids:
        _set_deadline(attempt_id, past)
    gradings: list[int] = []
    lock = threading.Lock()
    real = quiz_service._apply_grade

    def counting(session, attempt, quiz, now):  # type: ignore[no-untyped-def]
        with lock:
            gradings.append(attempt.id)
        real(session, attempt, quiz, now)

    monkeypatch.setattr(quiz_service, "_apply_grade", counting)
    start = threading.Barrier(3, timeout=10)
    results: list[int] = []
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            start.wait()
            results.append(tasks.close_expired_once(settings))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert sorted(gradings) == sorted(attempt_ids)  # each graded exactly once
    assert sum(results) >= len(attempt_ids)
    with session_scope() as session:
        rows = session.scalars(select(Attempt).where(Attempt.id.in_(attempt_ids))).all()
        assert {(a.state, a.score) for a in rows} == {("graded", 2.0)}


async def test_sweeper_thread_runs_until_stopped(
    client: httpx.AsyncClient, settings: Settings, quiz_ids: dict[str, int]
) -> None:
    attempt_id = await _open_attempt(client, quiz_ids["run"], quiz_ids["quiz"])
    _set_deadline(
        attempt_id,
        dt.datetime.now(dt.UTC) - dt.timedelta(seconds=settings.quiz_grace_seconds + 5),
    )
    sweeper = tasks.Sweeper(settings, interval=0.05).start()
    try:
        deadline = time.monotonic() + 10
        while _attempt(attempt_id).state == "in_progress" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sweeper.stop()
    assert not sweeper.alive
    assert sweeper.runs >= 1
    assert _attempt(attempt_id).state == "graded"


async def test_lifespan_starts_the_sweep_only_when_configured(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def sweep_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "quiz-sweep" and t.is_alive()]

    assert settings.quiz_sweep_seconds == 0  # tests/conftest.py turns it off
    async with tasks.lifespan(None):
        assert sweep_threads() == []

    monkeypatch.setattr(
        tasks, "get_settings", lambda: settings.model_copy(update={"quiz_sweep_seconds": 3600})
    )
    async with tasks.lifespan(None):
        assert len(sweep_threads()) == 1
    assert sweep_threads() == []  # stopped cleanly at shutdown


async def test_cli_close_expired_prints_the_count(
    client: httpx.AsyncClient, settings: Settings, quiz_ids: dict[str, int]
) -> None:
    attempt_id = await _open_attempt(client, quiz_ids["run"], quiz_ids["quiz"])
    _set_deadline(
        attempt_id,
        dt.datetime.now(dt.UTC) - dt.timedelta(seconds=settings.quiz_grace_seconds + 5),
    )
    result = CliRunner().invoke(cli, ["quizzes", "close-expired"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "graded 1 expired attempt(s)"
    assert _attempt(attempt_id).state == "graded"
    again = CliRunner().invoke(cli, ["quizzes", "close-expired"])
    assert again.output.strip() == "graded 0 expired attempt(s)"
