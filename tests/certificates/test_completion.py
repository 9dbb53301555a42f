"""Completion on the event that completes it: stored with its timestamp, the certificate issued
at once when the course auto-issues, and nothing recomputed when nothing changed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.certificates.models import Certificate, CertificationRules, RunCompletion
from app.core.db import session_scope
from app.jp.models import JpCredit
from tests.certificates.pdfs import make_pdfs
from tests.factories import (
    complete_activity,
    enrol,
    issue_certificates,
    make_completed_run,
    make_learner,
    set_profile,
)
from tests.queries import count_queries


def _completion(enrolment_id: int) -> RunCompletion | None:
    with session_scope() as session:
        return session.get(RunCompletion, enrolment_id)


def _certs(run_id: int) -> list[Certificate]:
    with session_scope() as session:
        return list(session.scalars(select(Certificate).where(Certificate.run_id == run_id)))


def test_last_activity_completes_and_auto_issues_with_pdf_and_jp() -> None:
    data = make_completed_run(1, complete=False, jp=12)
    eid = data["enrolments"][0]  # type: ignore[index]
    pages = data["pages"]
    complete_activity(eid, pages[0])  # type: ignore[index]
    assert _completion(eid) is None
    assert _certs(data["run"]) == []  # type: ignore[arg-type]
    complete_activity(eid, pages[1])  # type: ignore[index]
    done = _completion(eid)
    assert done is not None and done.completed_at is not None
    [cert] = _certs(data["run"])  # type: ignore[arg-type]
    assert cert.status == "valid" and cert.seq == 1 and cert.jp == 12
    assert cert.pdf_key is None, "the PDF is never made inside the learner's request"
    assert make_pdfs().sent == 1
    [cert] = _certs(data["run"])  # type: ignore[arg-type]
    assert cert.pdf_sha256 and cert.pdf_key, "the outbox made the PDF after the commit"
    assert cert.number.startswith("0001/")
    with session_scope() as session:
        credit = session.scalar(select(JpCredit).where(JpCredit.source_id == cert.id))
        assert credit is not None and credit.jp == 12 and credit.reference == cert.number


def test_officer_issued_course_only_stores_completion() -> None:
    data = make_completed_run(2, auto_issue=False)
    for eid in data["enrolments"]:  # type: ignore[attr-defined]
        assert _completion(eid) is not None
    assert _certs(data["run"]) == []  # type: ignore[arg-type]


def test_already_complete_costs_one_read() -> None:
    data = make_completed_run(1, auto_issue=False)
    eid = data["enrolments"][0]  # type: ignore[index]
    from app.certificates import service

    with session_scope() as session, count_queries() as statements:
        service.enrolment_changed(session, eid, service.get_settings())
    assert len(statements) == 1, statements


def test_completing_the_profile_completes_the_run() -> None:
    data = make_completed_run(0, complete=False, auto_issue=True)
    with session_scope() as session:
        rules = session.get(CertificationRules, data["course"])
        assert rules is not None
        rules.require_profile = True
    user = make_learner(complete_profile=False)
    eid = enrol(data["run"], user.id)  # type: ignore[arg-type]
    for page in data["pages"]:  # type: ignore[attr-defined]
        complete_activity(eid, page)
    assert _completion(eid) is None
    set_profile(user.id)
    from app.accounts import service as accounts_service
    from app.accounts.schemas import UserUpdate
    from app.core.config import get_settings

    with session_scope() as session:  # a profile edit through accounts emits user_changed
        db_user = accounts_service.get_user(session, user.id)
        accounts_service.update_user(session, db_user, UserUpdate(jabatan="Pranata Komputer"),
                                     get_settings())  # fmt: skip
    assert _completion(eid) is not None
    issue_certificates()
    [cert] = _certs(data["run"])  # type: ignore[arg-type]
    assert cert.holder_jabatan == "Pranata Komputer"


@pytest.mark.parametrize("learners", [3])
def test_each_learner_gets_the_next_number(learners: int) -> None:
    data = make_completed_run(learners)
    certs = sorted(_certs(data["run"]), key=lambda c: c.seq)  # type: ignore[arg-type]
    assert [c.seq for c in certs] == [1, 2, 3]
    assert len({c.code for c in certs}) == 3


async def test_posttest_graded_by_the_course_pass_score_completes_the_run(client) -> None:  # type: ignore[no-untyped-def]
    """The quiz asks 80 to complete its activity; the course's certificate rule asks 70. A
    75 completes the run at submit (the post-test announces every graded attempt)."""
    from tests.factories import api_token, make_quiz

    gift = "\n\n".join(f"::S{i}::Pernyataan {i} benar.{{TRUE}}" for i in range(4))
    data = make_completed_run(1, auto_issue=True, complete=False)
    quiz = make_quiz(data["section"], gift=gift, pass_score=80)  # type: ignore[arg-type]
    eid = data["enrolments"][0]  # type: ignore[index]
    for page in data["pages"]:  # type: ignore[attr-defined]
        complete_activity(eid, page)
    with session_scope() as session:
        from app.accounts.models import User

        email = session.get(User, data["users"][0]).email  # type: ignore[index, union-attr]
    headers = await api_token(client, email)
    started = (
        await client.post(f"/api/v1/quizzes/{quiz['quiz']}/attempts", headers=headers)
    ).json()
    answers = [
        {"question_id": q["id"], "choice_ids": ["true" if i else "false"]}
        for i, q in enumerate(started["questions"])
    ]
    saved = await client.put(f"/api/v1/attempts/{started['id']}/answers", headers=headers,
                             json={"answers": answers})  # fmt: skip
    assert saved.status_code == 200, saved.text
    result = (await client.post(f"/api/v1/attempts/{started['id']}/submit", headers=headers)).json()
    assert result["percent"] == 75 and result["passed"] is False
    done = _completion(eid)
    assert done is not None and done.final_score == 75 and done.predikat == "Cukup Memuaskan"
    assert result["certificate"]["pending"] is True  # issued by the outbox after the submit
    issue_certificates()
    make_pdfs()
    [cert] = _certs(data["run"])  # type: ignore[arg-type]
    assert cert.score == 75 and cert.predikat == "Cukup Memuaskan" and cert.pdf_sha256
