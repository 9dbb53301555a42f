"""Question bank through the API: importing the real GIFT/Aiken files, export round trip, XLSX,
versions when a used question is edited, regrading after a key fix, essays, random draws, hooks."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.core.db import session_scope
from app.progress.models import ActivityProgress
from app.quizzes import service as quiz_service
from app.quizzes import xlsx
from app.quizzes.models import Attempt, QuestionVersion, QuizAuditLog
from tests.factories import api_token, enrol, make_course, make_quiz, make_run, make_user
from tests.testdata import THIRD_PARTY

TESTDATA = THIRD_PARTY
GIFT_FILES = sorted(
    p for p in (TESTDATA / "gift").rglob("*") if p.is_file() and p.suffix in (".gift", ".txt")
)
AIKEN_FILES = sorted(
    p for p in (TESTDATA / "aiken").rglob("*") if p.is_file() and p.suffix in (".txt", ".aiken")
)

AIKEN_ERROR_LINES = {
    "aiken_errors.txt": [1, 5, 7, 14],
    "aiken_hebrew_english_sample.txt": [6, 16, 19],  # aikenadv's NUMBERING extension
}


async def _editor(client: httpx.AsyncClient) -> dict[str, str]:
    return await api_token(client, make_user(roles=("content_admin",)).nip)


def _empty_quiz() -> dict[str, int]:
    ids = make_course()
    ids["run"] = make_run(ids["course"])
    ids.update(make_quiz(ids["section"], gift=""))
    return ids


async def _import(
    client: httpx.AsyncClient,
    quiz_id: int,
    headers: dict[str, str],
    name: str,
    data: bytes,
    fmt: str,
) -> dict:
    response = await client.post(
        f"/api/v1/quizzes/{quiz_id}/questions/import",
        files={"file": (name, data)},
        data={"format": fmt},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_testdata_is_present() -> None:
    assert len(GIFT_FILES) >= 40 and len(AIKEN_FILES) >= 2


@pytest.mark.parametrize("path", GIFT_FILES, ids=lambda p: p.name)
async def test_every_gift_file_imports_or_reports_lines_and_round_trips(
    client: httpx.AsyncClient, path: Path
) -> None:
    headers = await _editor(client)
    first = _empty_quiz()
    result = await _import(client, first["quiz"], headers, path.name, path.read_bytes(), "gift")
    if result["errors"]:
        assert result["imported"] == 0
        lines = path.read_text(encoding="utf-8-sig").count("\n") + 1
        assert all(1 <= e["line"] <= lines for e in result["errors"])
        return
    assert result["imported"] >= 1
    exported = await client.get(
        f"/api/v1/quizzes/{first['quiz']}/questions/export?format=gift", headers=headers
    )
    assert exported.status_code == 200
    second = _empty_quiz()
    again = await _import(client, second["quiz"], headers, "x.gift", exported.content, "gift")
    assert again == {"imported": result["imported"], "errors": []}
    with session_scope() as session:
        a = [
            s.question
            for _, s in quiz_service.quiz_questions(
                session, quiz_service.get_quiz(session, first["quiz"])
            )
        ]
        b = [
            s.question
            for _, s in quiz_service.quiz_questions(
                session, quiz_service.get_quiz(session, second["quiz"])
            )
        ]
    assert a == b


@pytest.mark.parametrize("path", AIKEN_FILES, ids=lambda p: p.name)
async def test_every_aiken_file_imports_or_reports_lines(
    client: httpx.AsyncClient, path: Path
) -> None:
    headers = await _editor(client)
    quiz = _empty_quiz()
    result = await _import(client, quiz["quiz"], headers, path.name, path.read_bytes(), "aiken")
    if path.name in AIKEN_ERROR_LINES:  # refused whole, every problem on its line
        assert result["imported"] == 0
        assert [e["line"] for e in result["errors"]] == AIKEN_ERROR_LINES[path.name]
    else:
        assert result["errors"] == [] and result["imported"] >= 1
    with session_scope() as session:
        count = len(
            quiz_service.quiz_questions(session, quiz_service.get_quiz(session, quiz["quiz"]))
        )
    assert count == result["imported"]


async def test_bad_file_imports_nothing_and_names_lines(client: httpx.AsyncClient) -> None:
    headers = await _editor(client)
    quiz = _empty_quiz()
    text = "Baik{=ya ~tidak}\n\nRusak{=a ~b\n\nJuga baik{T}\n"
    result = await _import(client, quiz["quiz"], headers, "x.gift", text.encode(), "gift")
    assert result["imported"] == 0 and result["errors"][0]["line"] == 3
    not_utf8 = await _import(client, quiz["quiz"], headers, "x.gift", b"Soal\n\xff\xfe{T}", "gift")
    assert not_utf8["imported"] == 0 and not_utf8["errors"][0]["line"] == 2
    with session_scope() as session:
        assert (
            quiz_service.quiz_questions(session, quiz_service.get_quiz(session, quiz["quiz"])) == []
        )
    wrong = await client.post(
        f"/api/v1/quizzes/{quiz['quiz']}/questions/import",
        files={"file": ("x.doc", b"x")},
        data={"format": "doc"},
        headers=headers,
    )
    assert wrong.status_code == 422


async def test_xlsx_template_imports_every_type(client: httpx.AsyncClient) -> None:
    headers = await _editor(client)
    template = await client.get("/api/v1/quizzes/questions/template.xlsx", headers=headers)
    assert template.status_code == 200 and template.content[:2] == b"PK"
    quiz = _empty_quiz()
    result = await _import(client, quiz["quiz"], headers, "soal.xlsx", template.content, "xlsx")
    assert result["errors"] == []
    with session_scope() as session:
        types = {
            s.question.type.value
            for _, s in quiz_service.quiz_questions(
                session, quiz_service.get_quiz(session, quiz["quiz"])
            )
        }
    assert types >= {"single", "multiple", "truefalse", "short", "numeric", "matching", "essay"}
    broken = await _import(client, quiz["quiz"], headers, "x.xlsx", b"PK\x03\x04broken", "xlsx")
    assert broken["imported"] == 0 and broken["errors"]
    assert xlsx.parse_xlsx(template.content).ok


async def _take(
    client: httpx.AsyncClient, quiz_id: int, headers: dict[str, str], pick: str
) -> dict:
    body = (await client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=headers)).json()
    q = body["questions"][0]
    choice = next(c["id"] for c in q["choices"] if c["text"] == pick)
    await client.put(
        f"/api/v1/attempts/{body['id']}/answers",
        json={"answers": [{"question_id": q["id"], "choice_ids": [choice]}]},
        headers=headers,
    )
    return (await client.post(f"/api/v1/attempts/{body['id']}/submit", headers=headers)).json()


async def test_editing_a_used_question_makes_a_version_and_regrade_fixes_scores(
    client: httpx.AsyncClient,
) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    quiz = make_quiz(
        ids["section"], gift="Ibu kota Jawa Tengah?{=Surabaya ~Semarang ~Solo}", pass_score=50
    )
    learner = make_user()
    enrol(run, learner.id)
    headers = await api_token(client, learner.nip)
    wrong_key = await _take(client, quiz["quiz"], headers, "Semarang")
    assert wrong_key["percent"] == 0 and wrong_key["passed"] is False
    editor = await _editor(client)
    with session_scope() as session:
        ((_, stored),) = quiz_service.quiz_questions(
            session, quiz_service.get_quiz(session, quiz["quiz"])
        )
        form = quiz_service.question_input(stored).model_dump()
    qid = (
        await client.post(
            f"/api/v1/quizzes/{quiz['quiz']}/attempts",
            headers=await api_token(client, make_user(roles=("admin",)).nip),
        )
    ).json()["questions"][0]["id"]
    for choice in form["choices"]:
        choice["correct"] = choice["text"] == "Semarang"
        choice["weight"] = None
    # Without regrade: a new version for new attempts, the old attempt keeps its score.
    edited = await client.put(
        f"/api/v1/quizzes/{quiz['quiz']}/questions/{qid}",
        json={**form, "regrade": False},
        headers=editor,
    )
    assert edited.status_code == 200, edited.text
    with session_scope() as session:
        versions = session.scalars(
            select(QuestionVersion)
            .where(QuestionVersion.question_id == qid)
            .order_by(QuestionVersion.version)
        ).all()
        assert [v.version for v in versions] == [1, 2]
        attempt = session.get(Attempt, wrong_key["id"])
        assert attempt is not None and attempt.percent == 0
        assert json.loads(attempt.layout_json)[0]["v"] == versions[0].id
    # With regrade: the finished attempt is rescored with the fixed key and the change logged.
    form["general_feedback"] = "Semarang adalah ibu kota Jawa Tengah."
    fixed = await client.put(
        f"/api/v1/quizzes/{quiz['quiz']}/questions/{qid}",
        json={**form, "regrade": True},
        headers=editor,
    )
    assert fixed.status_code == 200
    with session_scope() as session:
        attempt = session.get(Attempt, wrong_key["id"])
        assert attempt is not None and attempt.percent == 100 and attempt.passed is True
        log = session.scalars(select(QuizAuditLog).where(QuizAuditLog.action == "regrade")).all()
        assert len(log) == 1 and json.loads(log[0].detail_json)["percent_before"] == 0
        progress = session.scalars(select(ActivityProgress)).one()
        assert progress.status == "completed"  # passing after the regrade completes the activity


async def test_editing_an_unused_question_changes_it_in_place(client: httpx.AsyncClient) -> None:
    quiz = _empty_quiz()
    editor = await _editor(client)
    created = await client.post(
        f"/api/v1/quizzes/{quiz['quiz']}/questions",
        json={"type": "short", "text": "Singkatan Aparatur Sipil Negara?", "answers": ["ASN"]},
        headers=editor,
    )
    qid = created.json()["id"]
    again = await client.put(
        f"/api/v1/quizzes/{quiz['quiz']}/questions/{qid}",
        json={
            "type": "short",
            "text": "Singkatan Aparatur Sipil Negara?",
            "answers": ["ASN", "A.S.N."],
        },
        headers=editor,
    )
    assert again.status_code == 200
    with session_scope() as session:
        versions = session.scalars(
            select(QuestionVersion).where(QuestionVersion.question_id == qid)
        ).all()
        assert len(versions) == 1 and "A.S.N." in versions[0].content_json


async def test_essay_grading_completes_the_attempt(client: httpx.AsyncClient) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    quiz = make_quiz(ids["section"], gift="Jelaskan SPBE.{}", pass_score=60)
    learner = make_user()
    enrol(run, learner.id)
    headers = await api_token(client, learner.nip)
    body = (await client.post(f"/api/v1/quizzes/{quiz['quiz']}/attempts", headers=headers)).json()
    qid = body["questions"][0]["id"]
    await client.put(
        f"/api/v1/attempts/{body['id']}/answers",
        json={"answers": [{"question_id": qid, "text": "SPBE adalah ..."}]},
        headers=headers,
    )
    submitted = (await client.post(f"/api/v1/attempts/{body['id']}/submit", headers=headers)).json()
    assert submitted["state"] == "needs_grading" and submitted["passed"] is None
    officer = await api_token(client, make_user(roles=("training_officer",)).nip)
    too_much = await client.post(
        f"/api/v1/attempts/{body['id']}/grades",
        json=[{"question_id": qid, "points": 2}],
        headers=officer,
    )
    assert too_much.status_code == 422
    by_learner = await client.post(
        f"/api/v1/attempts/{body['id']}/grades",
        json=[{"question_id": qid, "points": 1}],
        headers=headers,
    )
    assert by_learner.status_code == 403
    graded = await client.post(
        f"/api/v1/attempts/{body['id']}/grades",
        json=[{"question_id": qid, "points": 0.75, "comment": "Cukup baik."}],
        headers=officer,
    )
    assert graded.json()["state"] == "graded" and graded.json()["percent"] == 75
    review = (await client.get(f"/api/v1/attempts/{body['id']}/review", headers=headers)).json()
    assert review["items"][0]["grader_comment"] == "Cukup baik."
    with session_scope() as session:
        assert quiz_service.activity_passed(session, quiz["activity"], learner.id)
        assert quiz_service.posttest_percent(session, ids["course"], learner.id) == 75


async def test_random_questions_per_category(client: httpx.AsyncClient) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    gift = "$CATEGORY: Bank\n\n" + "\n\n".join(f"Soal {i}?{{T}}" for i in range(10))
    quiz = make_quiz(ids["section"], gift="")
    editor = await _editor(client)
    # The bank questions live in the course; a second quiz holds the pool.
    pool = make_quiz(ids["section"], gift=gift)
    del pool
    added = await client.post(
        f"/api/v1/quizzes/{quiz['quiz']}/random",
        json={"category": "Bank", "count": 3},
        headers=editor,
    )
    assert added.status_code == 201, added.text
    too_many = await client.post(
        f"/api/v1/quizzes/{quiz['quiz']}/random",
        json={"category": "Bank", "count": 11},
        headers=editor,
    )
    assert too_many.status_code == 422
    seen = set()
    for _ in range(4):
        learner = make_user()
        enrol(run, learner.id)
        body = (
            await client.post(
                f"/api/v1/quizzes/{quiz['quiz']}/attempts",
                headers=await api_token(client, learner.nip),
            )
        ).json()
        assert len(body["questions"]) == 3
        assert len({q["id"] for q in body["questions"]}) == 3
        seen |= {q["id"] for q in body["questions"]}
    assert len(seen) > 3  # different learners draw different questions


async def test_grading_methods_and_delay(client: httpx.AsyncClient) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    quiz = make_quiz(ids["section"], gift="Pilih A{=A ~B}", grading="average", pass_score=50)
    learner = make_user()
    enrol(run, learner.id)
    headers = await api_token(client, learner.nip)
    await _take(client, quiz["quiz"], headers, "A")
    await _take(client, quiz["quiz"], headers, "B")
    with session_scope() as session:
        outcome = quiz_service.learner_outcome(session, quiz["quiz"], learner.id)
    assert outcome.grade_percent == 50 and outcome.best_percent == 100 and outcome.passed
    assert outcome.finished_attempts == 2
    delayed = make_quiz(ids["section"], gift="Pilih A{=A ~B}", attempt_delay_seconds=3600)
    await _take(client, delayed["quiz"], headers, "B")
    again = await client.post(f"/api/v1/quizzes/{delayed['quiz']}/attempts", headers=headers)
    assert again.status_code == 409 and again.json()["error"] == "attempt_delay"
