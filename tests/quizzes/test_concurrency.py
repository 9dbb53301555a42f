"""Attempts under concurrency, through the API: parallel submits grade once, parallel starts
make one attempt, and an autosave racing a submit is either counted or refused.

The httpx ASGI client runs the app in this process and FastAPI runs the sync routes in its
thread pool, so requests sent with `asyncio.gather` run in parallel threads with their own
database sessions. To be sure they overlap where it matters, a barrier is put in front of the
statement that decides the race (the claim UPDATE, the INSERT, the autosave's lock): every
request must reach it before any may run it. If the requests were not truly parallel the
barrier would time out and the test would fail.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.core.db import session_scope
from app.quizzes import repository
from app.quizzes import service as quiz_service
from app.quizzes.models import Attempt, AttemptAnswer, QuizAuditLog
from tests.factories import api_token, enrol, make_course, make_quiz, make_run, make_user

PARALLEL = 10
# Five 1-point questions; the learner's right answers are known by question text.
GIFT = "\n\n".join(
    [
        "::Q1:: Pilar literasi digital ada {=empat ~tiga ~lima}",
        "::Q2:: OTP boleh dibagikan kepada helpdesk. {FALSE}",
        "::Q3:: Domain situs pemerintah adalah {=go.id}",
        "::Q4:: Berapa JP minimal per tahun? {#20}",
        "::Q5:: Data pribadi: {~%50%NIK ~%50%Nomor telepon ~%-100%Nama dinas}",
    ]
)


def _right_answers(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for q in questions:
        if q["type"] == "single":
            out.append(
                {"question_id": q["id"], "choice_ids": [_choice(q, "empat")]},
            )
        elif q["type"] == "truefalse":
            out.append({"question_id": q["id"], "choice_ids": ["false"]})
        elif q["type"] == "short":
            out.append({"question_id": q["id"], "text": "go.id"})
        elif q["type"] == "numeric":
            out.append({"question_id": q["id"], "value": 20})
        elif q["type"] == "multiple":
            out.append(
                {
                    "question_id": q["id"],
                    "choice_ids": [_choice(q, "NIK"), _choice(q, "Nomor telepon")],
                }
            )
    return out


def _choice(question: dict[str, Any], text: str) -> str:
    found = [c["id"] for c in question["choices"] if c["text"] == text]
    assert found, question
    return found[0]


class Rendezvous:
    """Wraps a repository function so that its first `parties` calls wait for each other, then
    it steps aside: this proves that the requests really run at the same time. `after=True`
    waits once the real call has returned (every caller has read before any goes on)."""

    def __init__(self, parties: int, *, after: bool = False, timeout: float = 20.0) -> None:
        self.barrier = threading.Barrier(parties, timeout=timeout)
        self.left = parties
        self.after = after
        self.lock = threading.Lock()

    def _turn(self) -> bool:
        with self.lock:
            self.left -= 1
            return self.left >= 0

    def wrap(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            wait = self._turn()
            if wait and not self.after:
                self.barrier.wait()
            result = real(*args, **kwargs)
            if wait and self.after:
                self.barrier.wait()
            return result

        return wrapper


async def _learner(client: httpx.AsyncClient, run_id: int) -> dict[str, str]:
    user = make_user()
    enrol(run_id, user.id)
    return await api_token(client, user.nip)


def _count_attempts(quiz_id: int) -> int:
    with session_scope() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Attempt).where(Attempt.quiz_id == quiz_id)
            )
            or 0
        )


@pytest.fixture
def course() -> dict[str, int]:
    ids = make_course()
    ids["run"] = make_run(ids["course"])
    return ids


# --- (a) parallel submits -----------------------------------------------------------------------


async def test_parallel_submits_grade_once_and_answer_alike(
    client: httpx.AsyncClient, course: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    quiz = make_quiz(course["section"], gift=GIFT, pass_score=70)
    headers = await _learner(client, course["run"])
    body = (await client.post(f"/api/v1/quizzes/{quiz['quiz']}/attempts", headers=headers)).json()
    answers = _right_answers(body["questions"])[:4]  # four of five right: 80 %
    saved = await client.put(
        f"/api/v1/attempts/{body['id']}/answers", json={"answers": answers}, headers=headers
    )
    assert saved.status_code == 200, saved.text

    gradings: list[int] = []
    real_grade = quiz_service._apply_grade

    def counting(session, attempt, quiz_, now):  # type: ignore[no-untyped-def]
        gradings.append(attempt.id)
        real_grade(session, attempt, quiz_, now)

    monkeypatch.setattr(quiz_service, "_apply_grade", counting)
    monkeypatch.setattr(repository, "claim", Rendezvous(PARALLEL).wrap(repository.claim))

    responses = await asyncio.gather(
        *(
            client.post(f"/api/v1/attempts/{body['id']}/submit", headers=headers)
            for _ in range(PARALLEL)
        )
    )
    assert [r.status_code for r in responses] == [200] * PARALLEL, [r.text for r in responses]
    bodies = [r.json() for r in responses]
    assert all(b == bodies[0] for b in bodies)
    assert bodies[0] == {
        "id": body["id"],
        "score": 4.0,
        "max_score": 5.0,
        "percent": 80.0,
        "passed": True,
        "state": "graded",
        "certificate": None,
    }
    assert gradings == [body["id"]]  # graded exactly once
    with session_scope() as session:
        attempt = session.get(Attempt, body["id"])
        assert attempt is not None
        assert attempt.state == "graded" and attempt.score == 4.0 and not attempt.auto_submitted
        assert attempt.graded_at is not None and attempt.submitted_at is not None
        results = json.loads(attempt.results_json or "[]")
        assert sum(1 for r in results if r["correct"]) == 4
        assert session.scalar(select(func.count()).select_from(QuizAuditLog)) == 0
    # And later submits still answer the same.
    again = await client.post(f"/api/v1/attempts/{body['id']}/submit", headers=headers)
    assert again.json() == bodies[0]


# --- (b) and (c) parallel starts ----------------------------------------------------------------


async def _parallel_starts(
    client: httpx.AsyncClient, quiz_id: int, headers: dict[str, str]
) -> list[httpx.Response]:
    return list(
        await asyncio.gather(
            *(
                client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=headers)
                for _ in range(PARALLEL)
            )
        )
    )


async def test_parallel_starts_make_one_attempt(
    client: httpx.AsyncClient, course: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    quiz = make_quiz(course["section"], gift=GIFT, max_attempts=1, time_limit_seconds=600)
    headers = await _learner(client, course["run"])
    # Every start has checked "no open attempt" and "attempts left" before any inserts: all
    # insert attempt number 1, the unique key lets one win and the others resume it.
    monkeypatch.setattr(
        repository, "attempts_of", Rendezvous(PARALLEL, after=True).wrap(repository.attempts_of)
    )
    responses = await _parallel_starts(client, quiz["quiz"], headers)
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {200, 201}, [r.text[:300] for r in responses if r.status_code >= 300]
    assert statuses.count(201) == 1
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 1
    assert _count_attempts(quiz["quiz"]) == 1
    # Everyone got the same attempt: same questions, same deadline.
    assert len({json.dumps(r.json()["questions"]) for r in responses}) == 1
    assert len({r.json()["deadline"] for r in responses}) == 1


async def test_parallel_starts_after_a_finished_attempt_respect_max_attempts(
    client: httpx.AsyncClient, course: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    quiz = make_quiz(course["section"], gift=GIFT, max_attempts=2)
    headers = await _learner(client, course["run"])
    first = (await client.post(f"/api/v1/quizzes/{quiz['quiz']}/attempts", headers=headers)).json()
    assert (
        await client.post(f"/api/v1/attempts/{first['id']}/submit", headers=headers)
    ).status_code == 200

    real_attempts_of = repository.attempts_of
    monkeypatch.setattr(
        repository, "attempts_of", Rendezvous(PARALLEL, after=True).wrap(real_attempts_of)
    )
    responses = await _parallel_starts(client, quiz["quiz"], headers)
    assert sorted(r.status_code for r in responses).count(201) == 1, [r.text for r in responses]
    assert {r.status_code for r in responses} <= {200, 201}
    second = {r.json()["id"] for r in responses}
    assert len(second) == 1 and first["id"] not in second
    assert _count_attempts(quiz["quiz"]) == 2

    # With both used, parallel starts are all refused and nothing is added.
    second_id = second.pop()
    assert (
        await client.post(f"/api/v1/attempts/{second_id}/submit", headers=headers)
    ).status_code == 200
    monkeypatch.setattr(repository, "attempts_of", Rendezvous(PARALLEL).wrap(real_attempts_of))
    refused = await _parallel_starts(client, quiz["quiz"], headers)
    assert {r.status_code for r in refused} == {409}
    assert {r.json()["error"] for r in refused} == {"no_attempts_left"}
    with session_scope() as session:
        numbers = session.scalars(
            select(Attempt.number).where(Attempt.quiz_id == quiz["quiz"]).order_by(Attempt.number)
        ).all()
    assert numbers == [1, 2]


@pytest.mark.parametrize("max_attempts", [1, None])
async def test_start_reading_after_a_concurrent_start_resumes_it(
    client: httpx.AsyncClient,
    course: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    max_attempts: int | None,
) -> None:
    """Deterministic interleaving of a double click: start A finds no open attempt and is held
    there; start B runs completely (201); then A goes on. A must resume B's attempt."""
    quiz = make_quiz(course["section"], gift=GIFT, max_attempts=max_attempts)
    headers = await _learner(client, course["run"])
    entered, release = threading.Event(), threading.Event()
    calls = itertools.count()
    real = repository.attempts_of

    def held(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        if next(calls) == 0:
            entered.set()
            release.wait(20)
        return result

    monkeypatch.setattr(repository, "attempts_of", held)
    url = f"/api/v1/quizzes/{quiz['quiz']}/attempts"
    slow = asyncio.ensure_future(client.post(url, headers=headers))
    assert await asyncio.to_thread(entered.wait, 20)
    fast = await client.post(url, headers=headers)
    release.set()
    late = await slow
    assert fast.status_code == 201, fast.text
    assert late.status_code == 200, late.text
    assert late.json()["id"] == fast.json()["id"]
    assert _count_attempts(quiz["quiz"]) == 1


# --- (d) autosave racing a submit ---------------------------------------------------------------


async def test_autosave_racing_submit_is_counted_or_refused(
    client: httpx.AsyncClient, course: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The autosave and the submit of one attempt reach their locking UPDATE together; either
    the answers are saved first and graded, or the save is refused with 409. Never are answers
    stored after grading without being counted."""
    quiz = make_quiz(course["section"], gift=GIFT)
    real_touch, real_claim = repository.touch_open, repository.claim
    outcomes: list[tuple[int, float]] = []
    for _round in range(8):
        headers = await _learner(client, course["run"])
        body = (
            await client.post(f"/api/v1/quizzes/{quiz['quiz']}/attempts", headers=headers)
        ).json()
        answers = _right_answers(body["questions"])
        rendezvous = Rendezvous(2)
        monkeypatch.setattr(repository, "touch_open", rendezvous.wrap(real_touch))
        monkeypatch.setattr(repository, "claim", rendezvous.wrap(real_claim))
        saved, submitted = await asyncio.gather(
            client.put(
                f"/api/v1/attempts/{body['id']}/answers",
                json={"answers": answers},
                headers=headers,
            ),
            client.post(f"/api/v1/attempts/{body['id']}/submit", headers=headers),
        )
        monkeypatch.setattr(repository, "touch_open", real_touch)
        monkeypatch.setattr(repository, "claim", real_claim)
        assert submitted.status_code == 200, submitted.text
        assert saved.status_code in (200, 409), saved.text
        score = submitted.json()["score"]
        with session_scope() as session:
            attempt = session.get(Attempt, body["id"])
            assert attempt is not None and attempt.state == "graded"
            stored = session.scalars(
                select(AttemptAnswer).where(AttemptAnswer.attempt_id == body["id"])
            ).all()
            # The grade is exactly what the stored answers are worth.
            items = quiz_service._attempt_questions(session, attempt)
            regraded = quiz_service._grade(items, {a.question_id: a for a in stored})
            assert regraded.points == attempt.score == score
        if saved.status_code == 200:
            assert score == 5.0 and len(stored) == 5  # saved before grading, and counted
        else:
            assert saved.json()["error"] == "attempt_closed"
            assert score == 0.0 and stored == []  # refused: nothing stored after grading
        outcomes.append((saved.status_code, score))
    assert {status for status, _ in outcomes} <= {200, 409}
