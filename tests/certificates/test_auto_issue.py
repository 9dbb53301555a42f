"""Auto-issue through the outbox: the learner's completing action commits the completion and one
"certificate.issue" item, never the number counter, the certificate, JP, notice or audit; the
outbox then issues every waiting learner of a run in one transaction, re-checking eligibility."""

from __future__ import annotations

from sqlalchemy import select

from app.certificates import service as cert_service
from app.certificates.auto_issue import TOPIC_ISSUE
from app.certificates.models import Certificate, RunCompletion
from app.core.config import get_settings
from app.core.db import session_scope
from app.courses import service as courses_service
from app.courses.models import Enrolment
from app.jp.models import JpCredit
from app.outbox import service as outbox
from app.outbox.models import OutboxItem
from tests.factories import complete_activity, issue_certificates, make_completed_run
from tests.queries import count_queries


def _certs(run_id: int) -> list[Certificate]:
    with session_scope() as session:
        return list(
            session.scalars(
                select(Certificate).where(Certificate.run_id == run_id).order_by(Certificate.seq)
            )
        )


def _items() -> list[tuple[str, str, str | None]]:
    with session_scope() as session:
        rows = session.execute(
            select(OutboxItem.state, OutboxItem.last_error, OutboxItem.key)
            .where(OutboxItem.topic == TOPIC_ISSUE)
            .order_by(OutboxItem.id)
        ).all()
        return [(state, key or "", error) for state, error, key in rows]


def _finish_without_issue(data: dict[str, object], index: int) -> list[str]:
    """The learner's last step, as its request runs it (the outbox not run): its statements."""
    eid = data["enrolments"][index]  # type: ignore[index]
    pages = data["pages"]
    for page in pages[:-1]:  # type: ignore[index]
        complete_activity(eid, page, issue=False)
    with count_queries() as statements:
        complete_activity(eid, pages[-1], issue=False)  # type: ignore[index]
    return statements


def test_the_completing_step_leaves_issuing_to_the_outbox_which_issues_the_run_at_once() -> None:
    data = make_completed_run(3, complete=False, auto_issue=True)
    run_id = data["run"]
    steps = [_finish_without_issue(data, i) for i in range(3)]
    for statements in steps:
        text = "\n".join(statements)
        assert "certificate_counter" not in text and "INSERT INTO certificate " not in text
        assert "jp_credit" not in text and "audit" not in text and "notification" not in text
        assert sum("INSERT INTO outbox_item" in s for s in statements) == 1
    with session_scope() as session:
        assert len(list(session.scalars(select(RunCompletion)))) == 3
    assert _certs(run_id) == []  # type: ignore[arg-type]
    assert [state for state, _key, _error in _items()] == ["pending"] * 3

    stats = outbox.dispatch(get_settings(), only=[TOPIC_ISSUE])
    assert stats.sent == 3
    certs = _certs(run_id)  # type: ignore[arg-type]
    assert [c.seq for c in certs] == [1, 2, 3]  # gapless, one transaction
    assert sorted(c.user_id for c in certs) == sorted(data["users"])  # type: ignore[arg-type]
    with session_scope() as session:
        credited = session.scalars(select(JpCredit).where(JpCredit.source == "certificate")).all()
        assert len(credited) == 3
        pdfs = session.scalars(
            select(OutboxItem.key).where(OutboxItem.topic == "certificate.pdf")
        ).all()
        assert sorted(pdfs) == sorted(f"certificate.pdf:{c.id}" for c in certs)
    assert [state for state, _key, _error in _items()] == ["sent"] * 3
    assert outbox.dispatch(get_settings(), only=[TOPIC_ISSUE]).handled == 0  # nothing twice


def test_a_learner_withdrawn_before_the_outbox_ran_gets_no_certificate() -> None:
    data = make_completed_run(2, complete=False, auto_issue=True)
    for i in range(2):
        _finish_without_issue(data, i)
    with session_scope() as session:
        enrolment = session.get(Enrolment, data["enrolments"][1])  # type: ignore[index]
        assert enrolment is not None
        courses_service.withdraw(session, enrolment)
    issue_certificates()
    [cert] = _certs(data["run"])  # type: ignore[arg-type]
    assert cert.user_id == data["users"][0]  # type: ignore[index]
    states = [(state, error) for state, _key, error in _items()]
    assert states[0] == ("sent", None)
    assert states[1][0] == "cancelled" and "memenuhi syarat" in (states[1][1] or "")


def test_a_certificate_an_officer_issued_first_is_not_issued_twice() -> None:
    data = make_completed_run(1, complete=False, auto_issue=True)
    _finish_without_issue(data, 0)
    with session_scope() as session:
        done = cert_service.issue(session, data["run"], None, None, get_settings())  # type: ignore[arg-type]
        assert len(done.issued) == 1
    issue_certificates()
    assert len(_certs(data["run"])) == 1  # type: ignore[arg-type]
    assert [state for state, _key, _error in _items()] == ["sent"]


def test_the_action_response_says_the_certificate_is_being_issued() -> None:
    data = make_completed_run(1, complete=False, auto_issue=True)
    eid = data["enrolments"][0]  # type: ignore[index]
    pages = data["pages"]
    for page in pages[:-1]:  # type: ignore[index]
        complete_activity(eid, page, issue=False)
    from app.progress import service as progress_service

    with session_scope() as session:
        progress = progress_service.get_or_start(session, eid, pages[-1])  # type: ignore[index]
        progress_service.mark_completed(session, progress)
        said = cert_service.issued_now(session)
        assert said is not None and said.pending and said.id is None and said.number is None
        assert "sedang diterbitkan" in said.message
        assert cert_service.issued_now(session) is None  # told once
