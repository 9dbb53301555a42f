"""Quizzes API: creating quizzes and questions, taking attempts, autosave, submit, review, access."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from app.core.db import session_scope
from app.quizzes import service as quiz_service
from app.quizzes.models import Attempt
from tests.factories import api_token, enrol, make_course, make_quiz, make_run, make_user

FORBIDDEN_KEYS = {"weight", "correct", "feedback", "answers", "key", "truefalse_key", "right"}


def _walk_keys(value: object) -> set[str]:
    if isinstance(value, dict):
        keys = set(value)
        for v in value.values():
            keys |= _walk_keys(v)
        return keys
    if isinstance(value, list):
        return set().union(*(_walk_keys(v) for v in value)) if value else set()
    return set()


async def _learner(client: httpx.AsyncClient, run_id: int) -> tuple[int, dict[str, str]]:
    user = make_user()
    enrol(run_id, user.id)
    return user.id, await api_token(client, user.nip)


@pytest.fixture
def setup() -> dict[str, int]:
    ids = make_course()
    ids["run"] = make_run(ids["course"])
    ids.update(make_quiz(ids["section"]))
    return ids


def _answer_all(questions: list[dict]) -> list[dict]:
    """The right answer to every question of the sample GIFT file, by its text."""
    out = []
    for q in questions:
        if q["type"] == "single":
            pick = next(c["id"] for c in q["choices"] if c["text"] == "Empat")
            out.append({"question_id": q["id"], "choice_ids": [pick]})
        elif q["type"] == "truefalse":
            out.append({"question_id": q["id"], "choice_ids": ["true"]})
        elif q["type"] == "short":
            out.append({"question_id": q["id"], "text": "  spbe "})
        elif q["type"] == "numeric":
            out.append({"question_id": q["id"], "value": 20})
        elif q["type"] == "multiple":
            picks = [c["id"] for c in q["choices"] if c["text"] != "Nama dinas"]
            out.append({"question_id": q["id"], "choice_ids": picks})
        elif q["type"] == "matching":
            key = {
                "Cakap digital": "Keterampilan",
                "Etika digital": "Sopan santun",
                "Aman digital": "Perlindungan data",
            }
            out.append(
                {
                    "question_id": q["id"],
                    "pairs": [{"id": p["id"], "right": key[p["text"]]} for p in q["pairs"]],
                }
            )
        elif q["type"] == "essay":
            out.append({"question_id": q["id"], "text": "Aplikasi SRIKANDI untuk surat dinas."})
    return out


async def test_create_quiz_and_question_through_api(client: httpx.AsyncClient) -> None:
    ids = make_course()
    editor = make_user(roles=("content_admin",))
    headers = await api_token(client, editor.nip)
    created = await client.post(
        f"/api/v1/sections/{ids['section']}/quizzes",
        json={
            "title": "Pre-test",
            "kind": "pretest",
            "pass_score": 0,
            "grading": "first",
            "time_limit_seconds": 600,
            "max_attempts": 1,
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    quiz_id = created.json()["id"]
    assert created.json()["activity_id"]
    q = await client.post(
        f"/api/v1/quizzes/{quiz_id}/questions",
        json={
            "type": "single",
            "text": "Ibu kota Jawa Barat?",
            "choices": [{"text": "Bandung", "correct": True}, {"text": "Bogor"}],
        },
        headers=headers,
    )
    assert q.status_code == 201, q.text
    bad = await client.post(
        f"/api/v1/quizzes/{quiz_id}/questions",
        json={"type": "single", "text": "Tanpa kunci", "choices": [{"text": "A"}, {"text": "B"}]},
        headers=headers,
    )
    assert bad.status_code == 422
    assert "benar" in bad.json()["detail"]
    read = await client.get(f"/api/v1/quizzes/{quiz_id}", headers=headers)
    assert read.json()["question_count"] == 1
    learner = make_user()
    denied = await client.post(
        f"/api/v1/sections/{ids['section']}/quizzes",
        json={"title": "X", "kind": "exercise", "pass_score": 0},
        headers=await api_token(client, learner.nip),
    )
    assert denied.status_code == 403


async def test_attempt_payload_has_no_key_and_full_marks_for_key(
    client: httpx.AsyncClient, setup: dict[str, int]
) -> None:
    _uid, headers = await _learner(client, setup["run"])
    started = await client.post(f"/api/v1/quizzes/{setup['quiz']}/attempts", headers=headers)
    assert started.status_code == 201, started.text
    body = started.json()
    types = {q["type"] for q in body["questions"]}
    assert types == {"single", "truefalse", "short", "numeric", "multiple", "matching", "essay"}
    leaked = _walk_keys(body["questions"]) & FORBIDDEN_KEYS
    assert not leaked, leaked
    assert body["answers"] == []  # the learner's saved responses (none yet), not the key
    raw = started.text
    for secret in ("Benar.", "Kurang.", 'Keterampilan"', "%50", "-100"):
        if secret == 'Keterampilan"':
            continue  # the right-hand options are shown (shuffled) by design
        assert secret not in raw
    saved = await client.put(
        f"/api/v1/attempts/{body['id']}/answers",
        json={"answers": _answer_all(body["questions"])},
        headers=headers,
    )
    assert saved.status_code == 200, saved.text
    result = await client.post(f"/api/v1/attempts/{body['id']}/submit", headers=headers)
    assert result.status_code == 200
    data = result.json()
    assert data["state"] == "needs_grading"  # the essay waits for a grader
    assert data["score"] == 6 and data["max_score"] == 7


async def test_resume_restores_order_answers_and_time(
    client: httpx.AsyncClient,
) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    quiz = make_quiz(ids["section"], shuffle_questions=True, time_limit_seconds=600)
    _uid, headers = await _learner(client, run)
    first = (await client.post(f"/api/v1/quizzes/{quiz['quiz']}/attempts", headers=headers)).json()
    q = first["questions"][0]
    await client.put(
        f"/api/v1/attempts/{first['id']}/answers",
        json={
            "answers": [{"question_id": q["id"], "text": "jawaban", "choice_ids": None}]
            if q["type"] in ("short", "essay", "numeric")
            else [{"question_id": q["id"], "choice_ids": [q["choices"][0]["id"]]}]
            if q["type"] in ("single", "truefalse", "multiple")
            else [{"question_id": q["id"], "pairs": []}]
        },
        headers=headers,
    )
    again = await client.post(f"/api/v1/quizzes/{quiz['quiz']}/attempts", headers=headers)
    assert again.status_code == 200  # resumed, not a new attempt
    second = again.json()
    assert second["id"] == first["id"]
    assert [x["id"] for x in second["questions"]] == [x["id"] for x in first["questions"]]
    assert [x.get("choices") for x in second["questions"]] == [
        x.get("choices") for x in first["questions"]
    ]
    assert [a["question_id"] for a in second["answers"]] == [q["id"]]
    assert 0 < second["remaining_seconds"] <= 600
    deadline = dt.datetime.fromisoformat(second["deadline"])
    assert deadline == dt.datetime.fromisoformat(first["deadline"])


async def test_answers_after_deadline_get_409_and_abandoned_attempt_is_graded(
    client: httpx.AsyncClient, settings
) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    quiz = make_quiz(ids["section"], time_limit_seconds=60)
    _uid, headers = await _learner(client, run)
    body = (await client.post(f"/api/v1/quizzes/{quiz['quiz']}/attempts", headers=headers)).json()
    answers = _answer_all(body["questions"])
    assert (
        await client.put(
            f"/api/v1/attempts/{body['id']}/answers", json={"answers": answers[:3]}, headers=headers
        )
    ).status_code == 200
    # Move the deadline into the past (beyond the grace period), as if the learner left.
    with session_scope() as session:
        attempt = session.get(Attempt, body["id"])
        assert attempt is not None
        attempt.deadline = dt.datetime.now(dt.UTC) - dt.timedelta(
            seconds=settings.quiz_grace_seconds + 5
        )
    late = await client.put(
        f"/api/v1/attempts/{body['id']}/answers", json={"answers": answers}, headers=headers
    )
    assert late.status_code == 409
    assert late.json()["error"] == "attempt_closed"
    # Touching it (here: reading) grades it with the three answers saved in time.
    read = await client.get(f"/api/v1/attempts/{body['id']}", headers=headers)
    assert read.json()["state"] in ("graded", "needs_grading")
    with session_scope() as session:
        attempt = session.get(Attempt, body["id"])
        assert attempt is not None and attempt.auto_submitted
        assert attempt.score is not None and 0 < attempt.score <= 3


async def test_sweep_grades_abandoned_attempts(client: httpx.AsyncClient, settings) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    quiz = make_quiz(ids["section"], time_limit_seconds=60)
    _uid, headers = await _learner(client, run)
    body = (await client.post(f"/api/v1/quizzes/{quiz['quiz']}/attempts", headers=headers)).json()
    await client.put(
        f"/api/v1/attempts/{body['id']}/answers",
        json={"answers": _answer_all(body["questions"])},
        headers=headers,
    )
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60 + settings.quiz_grace_seconds + 1)
    with session_scope() as session:
        assert quiz_service.close_expired(session, settings, now=later) == 1
    with session_scope() as session:
        attempt = session.get(Attempt, body["id"])
        assert attempt is not None
        assert attempt.state == "needs_grading" and attempt.score == 6 and attempt.auto_submitted


async def test_double_submit_returns_same_result(
    client: httpx.AsyncClient, setup: dict[str, int]
) -> None:
    _uid, headers = await _learner(client, setup["run"])
    body = (await client.post(f"/api/v1/quizzes/{setup['quiz']}/attempts", headers=headers)).json()
    answers = [
        a
        for a in _answer_all(body["questions"])
        if "text" not in a or a["text"] != ("Aplikasi SRIKANDI untuk surat dinas.")
    ]
    await client.put(
        f"/api/v1/attempts/{body['id']}/answers", json={"answers": answers}, headers=headers
    )
    first = await client.post(f"/api/v1/attempts/{body['id']}/submit", headers=headers)
    second = await client.post(f"/api/v1/attempts/{body['id']}/submit", headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    after = await client.put(
        f"/api/v1/attempts/{body['id']}/answers", json={"answers": answers}, headers=headers
    )
    assert after.status_code == 409


async def test_other_learner_cannot_read_or_write_attempt(
    client: httpx.AsyncClient, setup: dict[str, int]
) -> None:
    _uid, owner = await _learner(client, setup["run"])
    _uid2, other = await _learner(client, setup["run"])
    body = (await client.post(f"/api/v1/quizzes/{setup['quiz']}/attempts", headers=owner)).json()
    aid = body["id"]
    assert (await client.get(f"/api/v1/attempts/{aid}", headers=other)).status_code == 404
    assert (await client.get(f"/api/v1/attempts/{aid}/review", headers=other)).status_code == 404
    put = await client.put(f"/api/v1/attempts/{aid}/answers", json={"answers": []}, headers=other)
    assert put.status_code == 404
    assert (await client.post(f"/api/v1/attempts/{aid}/submit", headers=other)).status_code == 404
    # An outsider who is not enrolled cannot start one either.
    outsider = await api_token(client, make_user().nip)
    assert (
        await client.post(f"/api/v1/quizzes/{setup['quiz']}/attempts", headers=outsider)
    ).status_code == 403


async def test_attempts_allowed_and_review_options(client: httpx.AsyncClient) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    quiz = make_quiz(
        ids["section"],
        gift="Dua tambah dua?{=empat =4}",
        max_attempts=1,
        review_answers="after_submit",
        review_feedback="never",
    )
    _uid, headers = await _learner(client, run)
    body = (await client.post(f"/api/v1/quizzes/{quiz['quiz']}/attempts", headers=headers)).json()
    early = await client.get(f"/api/v1/attempts/{body['id']}/review", headers=headers)
    assert early.status_code == 409
    qid = body["questions"][0]["id"]
    await client.put(
        f"/api/v1/attempts/{body['id']}/answers",
        json={"answers": [{"question_id": qid, "text": "Empat"}]},
        headers=headers,
    )
    result = (await client.post(f"/api/v1/attempts/{body['id']}/submit", headers=headers)).json()
    assert result == {
        "id": body["id"],
        "score": 1.0,
        "max_score": 1.0,
        "percent": 100.0,
        "passed": True,
        "state": "graded",
        "certificate": None,  # no course completed by this submit
    }
    again = await client.post(f"/api/v1/quizzes/{quiz['quiz']}/attempts", headers=headers)
    assert again.status_code == 409 and again.json()["error"] == "no_attempts_left"
    review = (await client.get(f"/api/v1/attempts/{body['id']}/review", headers=headers)).json()
    item = review["items"][0]
    assert item["correct"] is True and item["right_answer"] == "empat / 4"
    assert item["feedback"] == [] and review["shows"]["feedback"] is False


async def test_unknown_choice_and_foreign_question_are_rejected(
    client: httpx.AsyncClient, setup: dict[str, int]
) -> None:
    _uid, headers = await _learner(client, setup["run"])
    body = (await client.post(f"/api/v1/quizzes/{setup['quiz']}/attempts", headers=headers)).json()
    single = next(q for q in body["questions"] if q["type"] == "single")
    bad = await client.put(
        f"/api/v1/attempts/{body['id']}/answers",
        json={"answers": [{"question_id": single["id"], "choice_ids": ["nope"]}]},
        headers=headers,
    )
    assert bad.status_code == 422
    foreign = await client.put(
        f"/api/v1/attempts/{body['id']}/answers",
        json={"answers": [{"question_id": 999999, "text": "x"}]},
        headers=headers,
    )
    assert foreign.status_code == 422
    assert "999999" in foreign.json()["detail"]


def test_layout_is_stored_json(setup: dict[str, int]) -> None:
    with session_scope() as session:
        quiz = quiz_service.get_quiz(session, setup["quiz"])
        assert len(quiz_service.quiz_questions(session, quiz)) == 7
        assert json.loads("[]") == []


async def test_sequential_quiz_refuses_going_back(client: httpx.AsyncClient) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    quiz = make_quiz(
        ids["section"],
        gift="Satu{T}\n\nDua{F}\n\nTiga{T}",
        sequential=True,
        shuffle_questions=False,
    )
    _uid, headers = await _learner(client, run)
    body = (await client.post(f"/api/v1/quizzes/{quiz['quiz']}/attempts", headers=headers)).json()
    assert body["sequential"] is True
    first, second = body["questions"][0]["id"], body["questions"][1]["id"]
    ok = await client.put(
        f"/api/v1/attempts/{body['id']}/answers",
        json={"answers": [{"question_id": first, "choice_ids": ["true"]}], "position": 1},
        headers=headers,
    )
    assert ok.status_code == 200
    back = await client.put(
        f"/api/v1/attempts/{body['id']}/answers",
        json={"answers": [{"question_id": first, "choice_ids": ["false"]}]},
        headers=headers,
    )
    assert back.status_code == 409 and back.json()["error"] == "sequential"
    forward = await client.put(
        f"/api/v1/attempts/{body['id']}/answers",
        json={"answers": [{"question_id": second, "choice_ids": ["false"]}], "position": 2},
        headers=headers,
    )
    assert forward.status_code == 200
    resumed = (await client.get(f"/api/v1/attempts/{body['id']}", headers=headers)).json()
    assert resumed["furthest_position"] == 2


async def test_review_after_close_and_staff_read_only(client: httpx.AsyncClient) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    quiz = make_quiz(
        ids["section"],
        gift="Dua tambah dua?{=empat}",
        max_attempts=2,
        review_answers="after_close",
        review_correctness="after_submit",
        review_points="never",
    )
    _uid, headers = await _learner(client, run)
    for attempt_number in (1, 2):
        body = (
            await client.post(f"/api/v1/quizzes/{quiz['quiz']}/attempts", headers=headers)
        ).json()
        assert body["number"] == attempt_number
        await client.put(
            f"/api/v1/attempts/{body['id']}/answers",
            json={"answers": [{"question_id": body["questions"][0]["id"], "text": "lima"}]},
            headers=headers,
        )
        await client.post(f"/api/v1/attempts/{body['id']}/submit", headers=headers)
        review = (await client.get(f"/api/v1/attempts/{body['id']}/review", headers=headers)).json()
        item = review["items"][0]
        assert item["correct"] is False and item["awarded"] is None
        assert review["attempt"]["score"] is None
        # The right answer shows only once no attempt is left (this quiz never closes).
        assert (item["right_answer"] is None) == (attempt_number == 1)
    officer = await api_token(client, make_user(roles=("training_officer",)).nip)
    staff_view = await client.get(f"/api/v1/attempts/{body['id']}/review", headers=officer)
    assert staff_view.status_code == 200 and staff_view.json()["items"][0]["awarded"] == 0
    staff_write = await client.post(f"/api/v1/attempts/{body['id']}/submit", headers=officer)
    assert staff_write.status_code == 403


async def test_quiz_window_and_staff_preview(client: httpx.AsyncClient) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    quiz = make_quiz(
        ids["section"],
        gift="Satu{T}",
        open_at=later.isoformat(),
        close_at=(later + dt.timedelta(days=1)).isoformat(),
    )
    _uid, headers = await _learner(client, run)
    early = await client.post(f"/api/v1/quizzes/{quiz['quiz']}/attempts", headers=headers)
    assert early.status_code == 409 and early.json()["error"] == "quiz_not_open"
    editor = await api_token(client, make_user(roles=("content_admin",)).nip)
    # Staff previews follow the same window; a quiz without it can be previewed any time.
    open_quiz = make_quiz(ids["section"], gift="Satu{T}", time_limit_seconds=120)
    preview = await client.post(f"/api/v1/quizzes/{open_quiz['quiz']}/attempts", headers=editor)
    assert preview.status_code == 201
    with session_scope() as session:
        attempt = session.get(Attempt, preview.json()["id"])
        assert attempt is not None and attempt.preview and attempt.enrolment_id is None
