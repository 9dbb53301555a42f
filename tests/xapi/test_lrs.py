"""xAPI to a real LRS: Ralph started on 127.0.0.1 (file-system backend) from .venv-ralph. A learner
journey (pages, a quiz failed then passed, the certificate) ends up in Ralph, read back with GET
/xAPI/statements filtered by agent and verb; the statements validate against Ralph's xAPI models;
an LRS outage loses nothing; the LRS key appears in no log, table or outbox payload."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select, text

from app.core.db import session_scope, utcnow
from app.outbox import service as outbox
from app.outbox.models import OutboxItem
from app.xapi import service as xapi_service
from app.xapi.constants import TOPIC, Extension, Verb
from tests.factories import (
    api_token,
    browser_login,
    complete_activity,
    make_completed_run,
    make_quiz,
    make_user,
)
from tests.xapi.ralph import Ralph, validate

ONE_QUESTION = "::Q1::Berapa pilar literasi digital?{=Empat ~Tiga ~Lima}\n"


@pytest.fixture
def ralph(settings, monkeypatch) -> Iterator[Ralph]:  # type: ignore[no-untyped-def]
    with Ralph() as lrs:
        monkeypatch.setattr(settings, "xapi_endpoint", lrs.endpoint)
        monkeypatch.setattr(settings, "xapi_username", "lms-diklat")
        monkeypatch.setattr(settings, "xapi_password", SecretStr(lrs.password))
        yield lrs


def _deliver(settings) -> outbox.DispatchStats:  # type: ignore[no-untyped-def]
    return outbox.dispatch(settings, only=[TOPIC])


def _agent(settings, user_id: int) -> str:  # type: ignore[no-untyped-def]
    return json.dumps({"account": {"homePage": settings.base_url.rstrip("/"),
                                   "name": str(user_id)}})  # fmt: skip


async def _take_quiz(client: httpx.AsyncClient, quiz_id: int, headers: dict[str, str],
                     answer: str) -> bool:  # fmt: skip
    started = await client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=headers)
    assert started.status_code == 201, started.text
    body = started.json()
    (question,) = body["questions"]
    pick = next(c["id"] for c in question["choices"] if c["text"] == answer)
    saved = await client.put(f"/api/v1/attempts/{body['id']}/answers", headers=headers,
                             json={"answers": [{"question_id": question["id"],
                                                "choice_ids": [pick]}]})  # fmt: skip
    assert saved.status_code == 200, saved.text
    result = await client.post(f"/api/v1/attempts/{body['id']}/submit", headers=headers)
    assert result.status_code == 200, result.text
    return bool(result.json()["passed"])


async def test_a_learner_journey_lands_in_ralph_with_one_earned_statement_of_10_jp(
    client: httpx.AsyncClient, settings, ralph: Ralph, caplog  # type: ignore[no-untyped-def]
) -> None:
    caplog.set_level(logging.DEBUG)
    ids = make_completed_run(learners=1, jp=10, pages=2, complete=False)
    quiz = make_quiz(ids["section"], gift=ONE_QUESTION, kind="exercise", pass_score=60)  # type: ignore[arg-type]
    (user_id,) = ids["users"]  # type: ignore[misc]
    (enrolment_id,) = ids["enrolments"]  # type: ignore[misc]
    with session_scope() as session:
        from app.accounts.models import User

        nip = session.get(User, user_id).nip  # type: ignore[union-attr]
    headers = await api_token(client, nip)
    assert await _take_quiz(client, quiz["quiz"], headers, "Tiga") is False
    assert await _take_quiz(client, quiz["quiz"], headers, "Empat") is True
    for page in ids["pages"]:  # type: ignore[attr-defined]
        complete_activity(enrolment_id, page, seconds=600)

    stats = _deliver(settings)
    assert stats.sent > 0 and stats.failed == 0 and stats.dead == 0

    mine = ralph.get(agent=_agent(settings, user_id))
    verbs = sorted({s["verb"]["id"] for s in mine})
    assert set(verbs) == {Verb.LAUNCHED, Verb.PROGRESSED, Verb.COMPLETED, Verb.FAILED,
                          Verb.PASSED, Verb.EARNED}, verbs  # fmt: skip
    earned = ralph.get(agent=_agent(settings, user_id), verb=Verb.EARNED)
    assert len(earned) == 1
    assert earned[0]["result"]["extensions"][Extension.JP] == 10
    assert earned[0]["context"]["contextActivities"]["parent"][0]["id"].endswith(
        f"/courses/{ids['course']}"
    )
    passed = ralph.get(verb=Verb.PASSED)
    assert len(passed) == 1 and passed[0]["result"]["score"]["scaled"] == 1.0
    failed = ralph.get(verb=Verb.FAILED)
    assert len(failed) == 1 and failed[0]["result"]["success"] is False
    assert len(ralph.get(verb=Verb.LAUNCHED)) == 1  # once per enrolment
    completed = ralph.get(verb=Verb.COMPLETED)
    assert len(completed) == 3  # two pages and the quiz
    registrations = {s["context"]["registration"] for s in mine}
    assert len(registrations) == 1  # the enrolment
    assert all(s["context"]["extensions"][Extension.OPD]["code"] for s in mine)
    assert validate(mine) == []

    # Sent again (lms xapi resend): the LRS keeps one statement per id.
    with session_scope() as session:
        again = xapi_service.resend_since(session, utcnow().replace(year=2000))
    assert again == len(mine)
    assert _deliver(settings).sent == again
    assert len(ralph.get(agent=_agent(settings, user_id))) == len(mine)

    # The officers' page shows the queue, never the key.
    officer = make_user(roles=("training_officer",), name="Petugas Diklat")
    await browser_login(client, officer.nip)  # type: ignore[arg-type]
    page = await client.get("/studio/integrations/xapi")
    assert page.status_code == 200
    assert ralph.endpoint in page.text and ralph.password not in page.text

    # The LRS key: not in the logs, the outbox, any table.
    assert ralph.password not in caplog.text
    with session_scope() as session:
        payloads = session.scalars(select(OutboxItem.payload)).all()
        assert ralph.password not in json.dumps(payloads)
        for table in ("outbox_item", "job_run", "audit_log"):
            try:
                rows = session.execute(text(f"SELECT * FROM {table}")).all()
            except Exception:
                session.rollback()
                continue
            assert ralph.password not in repr(rows)


async def test_statements_wait_while_ralph_is_down_and_go_once_it_is_up(
    settings, ralph: Ralph  # type: ignore[no-untyped-def]
) -> None:
    ids = make_completed_run(learners=3, jp=10, pages=2, complete=False)
    ralph.stop()
    for eid in ids["enrolments"]:  # type: ignore[attr-defined]
        for page in ids["pages"]:  # type: ignore[attr-defined]
            complete_activity(eid, page)
    stats = _deliver(settings)
    assert stats.sent == 0 and stats.failed > 0
    with session_scope() as session:
        state = xapi_service.queue_state(session, settings)
        assert state.pending == stats.failed and state.sent == 0
        assert state.last_error and "LRS" in state.last_error
        assert ralph.password not in state.last_error
        # The LRS stays down past every attempt: dead, then revived by the hourly job.
        session.execute(OutboxItem.__table__.update().where(OutboxItem.topic == TOPIC)
                        .values(state="dead"))  # fmt: skip
    with session_scope() as session:
        assert xapi_service.revive(session) == stats.failed
        session.execute(OutboxItem.__table__.update().values(next_attempt_at=utcnow()))
    ralph.start()
    assert _deliver(settings).sent == stats.failed
    assert len(ralph.stored()) == stats.failed
    assert len({s["id"] for s in ralph.stored()}) == stats.failed


def test_nothing_is_queued_while_the_endpoint_is_unset(settings) -> None:  # type: ignore[no-untyped-def]
    assert not settings.xapi_endpoint
    make_completed_run(learners=1, pages=1)
    with session_scope() as session:
        assert session.scalars(select(OutboxItem).where(OutboxItem.topic == TOPIC)).all() == []
