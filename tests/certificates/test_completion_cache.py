"""The completion listener reads a course's facts (content, quizzes, rules, template) once per
process and forgets them when one of their tables changes; the institution's settings
apply on every call; a completion stored concurrently wins without a savepoint or an error."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.certificates import repository
from app.certificates import service as cert_service
from app.certificates.models import (
    Certificate,
    CertificateTemplate,
    CertificationRules,
    RunCompletion,
)
from app.core.config import get_settings
from app.core.db import session_factory, session_scope, utcnow
from app.progress import service as progress_service
from tests.factories import (
    complete_activity,
    enrol,
    issue_certificates,
    make_completed_run,
    make_learner,
)
from tests.queries import count_queries

_FIRST_TABLE = re.compile(r"^\s*SELECT\b.*?\bFROM\s+(\w+)", re.IGNORECASE | re.DOTALL)
_CONTEXT_TABLES = {"course", "course_section", "activity", "quiz",
                   "certification_rules", "certificate_template"}  # fmt: skip


def _reads_context(statements: list[str]) -> list[str]:
    """The SELECTs whose (first) table is one a run's facts come from."""
    found = [(s, _FIRST_TABLE.match(s)) for s in statements]
    return [s for s, m in found if m and m.group(1).lower() in _CONTEXT_TABLES]


def _learner_in(run_id: int, name: str) -> int:
    return enrol(run_id, make_learner(name=name).id)


def _finish(eid: int, pages: list[int]) -> list[str]:
    """Complete every page but the last, then the last one counting its statements."""
    for page in pages[:-1]:
        complete_activity(eid, page)
    with count_queries() as statements:
        complete_activity(eid, pages[-1], issue=False)
    issue_certificates()  # the outbox, after the learner's request
    return statements


def _cert_of(eid: int) -> Certificate | None:
    with session_scope() as session:
        return session.scalar(select(Certificate).where(Certificate.enrolment_id == eid))


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    cert_service.course_facts_cache.clear()  # ids restart after each test's wipe


def test_later_completions_in_a_run_read_no_course_data() -> None:
    data = make_completed_run(3, complete=False, auto_issue=True)
    first, second, third = data["enrolments"]  # type: ignore[misc]
    pages = data["pages"]
    # The first issue makes the institution's template (a write: nothing is cached from it).
    assert _reads_context(_finish(first, pages))  # type: ignore[arg-type]
    reading = _finish(second, pages)  # type: ignore[arg-type]
    assert _reads_context(reading), "the course's facts are read and kept"
    cached = _finish(third, pages)  # type: ignore[arg-type]
    assert _reads_context(cached) == [], cached
    assert len(cached) < len(reading)
    certs = [_cert_of(e) for e in (first, second, third)]
    assert [c.seq for c in certs if c is not None] == [1, 2, 3]
    assert len({(c.template_id, c.signer_name, c.course_title) for c in certs if c}) == 1


def _warm(data: dict[str, object]) -> None:
    """Two learners complete: the institution template exists and the course's facts are kept."""
    for eid in data["enrolments"][:2]:  # type: ignore[index]
        _finish(eid, data["pages"])  # type: ignore[arg-type]
        assert _cert_of(eid) is not None
    assert len(cert_service.course_facts_cache) == 1


def test_a_rule_change_is_seen_by_the_next_completion() -> None:
    data = make_completed_run(2, complete=False, auto_issue=True)
    run, pages = data["run"], data["pages"]
    _warm(data)
    with session_scope() as session:  # an officer switches auto-issue off
        rules = session.get(CertificationRules, data["course"])
        assert rules is not None
        rules.auto_issue = False
    eid = _learner_in(run, "Peserta Kedua")  # type: ignore[arg-type]
    _finish(eid, pages)  # type: ignore[arg-type]
    with session_scope() as session:
        assert session.get(RunCompletion, eid) is not None
    assert _cert_of(eid) is None, "completed, waiting for the officer"


def test_a_template_change_is_seen_by_the_next_certificate() -> None:
    data = make_completed_run(2, complete=False, auto_issue=True)
    run, pages = data["run"], data["pages"]
    _warm(data)
    first = _cert_of(data["enrolments"][1])  # type: ignore[index]
    assert first is not None and first.template_id is not None
    with session_scope() as session:
        template = session.get(CertificateTemplate, first.template_id)
        assert template is not None
        template.signer_name = "Dr. Penanda Tangan Baru"
        template.version += 1
    eid = _learner_in(run, "Peserta Kedua")  # type: ignore[arg-type]
    _finish(eid, pages)  # type: ignore[arg-type]
    cert = _cert_of(eid)
    assert cert is not None
    assert cert.signer_name == "Dr. Penanda Tangan Baru"
    assert cert.template_version == first.template_version + 1


def test_settings_apply_on_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_completed_run(2, complete=False)  # the course follows the institution
    run, pages = data["run"], data["pages"]
    _warm(data)
    settings = get_settings()
    monkeypatch.setattr(settings, "cert_signer_name", "Kepala BKPSDM Pengganti")
    monkeypatch.setattr(settings, "cert_validity_years", 3)
    eid = _learner_in(run, "Peserta Kedua")  # type: ignore[arg-type]
    _finish(eid, pages)  # type: ignore[arg-type]
    cert = _cert_of(eid)
    assert cert is not None and cert.signer_name == "Kepala BKPSDM Pengganti"
    assert cert.valid_until is not None and cert.valid_until.year == cert.issued_on.year + 3
    monkeypatch.setattr(settings, "cert_auto_issue", False)
    third = _learner_in(run, "Peserta Ketiga")  # type: ignore[arg-type]
    _finish(third, pages)  # type: ignore[arg-type]
    assert _cert_of(third) is None


def test_an_uncommitted_rule_change_is_used_but_never_cached() -> None:
    data = make_completed_run(2, complete=False, auto_issue=True)
    run, pages = data["run"], data["pages"]
    _warm(data)
    eid = _learner_in(run, "Peserta Kedua")  # type: ignore[arg-type]
    for page in pages[:-1]:  # type: ignore[index]
        complete_activity(eid, page)
    # A transaction that switches auto-issue off, then completes a learner, sees its change...
    session = session_factory()()
    try:
        rules = session.get(CertificationRules, data["course"])
        assert rules is not None
        rules.auto_issue = False
        session.flush()
        progress_service.complete_activity(session, eid, pages[-1])  # type: ignore[index]
        assert session.get(RunCompletion, eid) is not None
        assert session.scalar(select(Certificate).where(Certificate.enrolment_id == eid)) is None
    finally:
        session.rollback()
        session.close()
    # ...and, rolled back, leaves nothing behind: the learner's real completion issues.
    complete_activity(eid, pages[-1])  # type: ignore[index]
    assert _cert_of(eid) is not None


def test_a_completion_stored_first_elsewhere_wins_quietly() -> None:
    data = make_completed_run(1, complete=False, auto_issue=True)
    eid = data["enrolments"][0]  # type: ignore[index]
    row = {"enrolment_id": eid, "run_id": data["run"], "user_id": data["users"][0],  # type: ignore[index]
           "completed_at": utcnow(), "final_score": None, "predikat": None}  # fmt: skip
    with session_scope() as session:
        assert repository.insert_completion(session, row) is True
    with session_scope() as session:
        assert repository.insert_completion(session, row) is False  # no error, no savepoint
    with session_scope() as session, count_queries() as statements:
        cert_service.enrolment_changed(session, eid, get_settings())  # type: ignore[arg-type]
    assert len(statements) == 1  # already complete: one read
    assert _cert_of(eid) is None  # type: ignore[arg-type]


def test_concurrent_completions_store_one_row_on_postgresql() -> None:
    """Two transactions complete the same enrolment at once: the second waits for the first's
    row and then stores nothing (no error, no savepoint, no second certificate)."""
    import threading

    if session_factory().kw["bind"].dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    data = make_completed_run(1, complete=False, auto_issue=True)
    eid = data["enrolments"][0]  # type: ignore[index]
    row = {"enrolment_id": eid, "run_id": data["run"], "user_id": data["users"][0],  # type: ignore[index]
           "completed_at": utcnow(), "final_score": None, "predikat": None}  # fmt: skip
    first = session_factory()()
    assert repository.insert_completion(first, row) is True  # not committed yet
    second_result: list[bool] = []

    def second() -> None:
        with session_scope() as session:
            second_result.append(repository.insert_completion(session, row))

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive(), "the second insert waits for the first transaction"
    first.commit()
    first.close()
    thread.join(10)
    assert second_result == [False]
