"""Notifications made in the transaction of their event: enrolment, certificate issue, external
training decision, a mentoring session to confirm, a graded essay. Each makes its in-app message
and an e-mail read back from a real SMTP server; a rolled-back event makes nothing; bulk events
make their messages in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.certificates import tasks as certificate_tasks
from app.certificates.models import Certificate
from app.core import clock
from app.core.config import get_settings
from app.core.db import session_scope
from app.core.errors import ValidationFailed
from app.courses import service as courses_service
from app.courses.schemas import EnrolRequest
from app.external_training import service as external_training_service
from app.external_training.models import ExternalTraining
from app.mentoring import service as mentoring_service
from app.mentoring.models import MentoringAssignment
from app.mentoring.schemas import SessionCreate
from app.notifications.models import Notification
from app.outbox.models import OutboxItem
from tests.factories import (
    api_token,
    enrol,
    make_completed_run,
    make_course,
    make_opd,
    make_quiz,
    make_run,
    make_user,
)
from tests.mailsink import text_of
from tests.notifications.helpers import deliver
from tests.queries import count_queries


def _as(user_id: int, *roles: str, name: str = "Petugas") -> Principal:
    return Principal(user_id=user_id, name=name, roles=frozenset(roles), via="session")


def _notifications(event: str | None = None) -> list[Notification]:
    with session_scope() as session:
        query = select(Notification).order_by(Notification.id)
        if event:
            query = query.where(Notification.event == event)
        rows = list(session.scalars(query))
        session.expunge_all()
        return rows


def _outbox_count() -> int:
    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(OutboxItem)) or 0)


def _message_statements(statements: list[str]) -> list[str]:
    """The statements that make messages (notifications, preferences, outbox)."""
    return [s for s in statements if "notification" in s or "outbox_item" in s]


# --- enrolment ------------------------------------------------------------------------------------


def test_self_enrolment_tells_the_learner_by_email_and_in_app(mail) -> None:  # type: ignore[no-untyped-def]
    ids = make_course(title="Literasi Digital bagi ASN", jp=20)
    run_id = make_run(ids["course"])
    user = make_user(email="dewi@example.go.id", name="Dewi Lestari")
    with session_scope() as session:
        run = courses_service.get_run(session, run_id)
        courses_service.self_enrol(session, run, _as(user.id, "learner", name=user.name))
        starts_on, ends_on = run.starts_on, run.ends_on
    (row,) = _notifications()
    assert (row.event, row.key, row.url) == (
        "enrolled", f"enrolled:{run_id}:{user.id}", f"/courses/{ids['course']}")  # fmt: skip
    assert row.context["starts_on"] == starts_on.isoformat() and row.context["jp"] == 20
    assert deliver().sent == 1
    (msg,) = mail.wait_for(1)
    assert msg["Subject"] == "Anda terdaftar di Literasi Digital bagi ASN"
    text = text_of(msg)
    assert "Halo Dewi Lestari," in text and "(20 JP)" in text
    assert f"{ends_on.day} " in text and str(ends_on.year) in text
    assert f"http://testserver/courses/{ids['course']}" in text


def test_a_rolled_back_enrolment_sends_nothing(mail) -> None:  # type: ignore[no-untyped-def]
    ids = make_course()
    run_id = make_run(ids["course"])
    user = make_user()
    with pytest.raises(RuntimeError), session_scope() as session:
        run = courses_service.get_run(session, run_id)
        courses_service.self_enrol(session, run, _as(user.id, "learner"))
        raise RuntimeError("the request failed after the enrolment")
    assert _notifications() == [] and _outbox_count() == 0
    assert deliver().handled == 0 and mail.messages == []


def _enrol_opd(code: str, size: int) -> tuple[list[int], list[str]]:
    """Enrol a new OPD of `size` ASN into a new run; (their ids, the statements sent)."""
    make_opd(code=code, name=f"Dinas {code}")
    people = [make_user(opd_code=code, name=f"Pegawai {code} {i}").id for i in range(size)]
    officer = make_user(roles=("training_officer",))
    run_id = make_run(make_course()["course"], self_enrol=False)
    with count_queries() as statements, session_scope() as session:
        result = courses_service.enrol_many(
            session, courses_service.get_run(session, run_id), EnrolRequest(opd_code=code),
            _as(officer.id, "training_officer"),
        )  # fmt: skip
    assert len(result.enrolled) == size
    return people, statements


def test_enrolling_a_whole_opd_makes_its_messages_in_a_fixed_number_of_queries(mail) -> None:  # type: ignore[no-untyped-def]
    small, small_statements = _enrol_opd("BAPPEDA", 3)
    large, large_statements = _enrol_opd("DINKES", 12)
    assert sorted(n.user_id for n in _notifications("enrolled")) == sorted(small + large)
    # Preferences, the notification insert, the outbox insert: the same for 3 or 12 learners.
    assert len(_message_statements(small_statements)) == 3
    assert len(_message_statements(large_statements)) == 3
    assert deliver().sent == 15


# --- certificates ---------------------------------------------------------------------------------


def test_an_issued_certificate_is_announced_once(mail) -> None:  # type: ignore[no-untyped-def]
    data = make_completed_run(1, jp=20, auto_issue=True)  # completing issues it
    with session_scope() as session:
        cert = session.scalars(select(Certificate)).one()
        cert_id, number = cert.id, cert.number
    users: Any = data["users"]
    (row,) = _notifications("certificate_issued")
    assert (row.key, row.url, row.user_id) == (
        f"certificate_issued:{cert_id}", f"/sertifikat/{cert_id}", users[0])  # fmt: skip
    assert deliver().by_topic.get("notify.email") == 1  # (and the certificate's PDF)
    (msg,) = mail.wait_for(1)
    assert msg["Subject"].startswith("Sertifikat ") and msg["Subject"].endswith(" sudah terbit")
    text = text_of(msg)
    assert number in text and "20 JP" in text and "20.0" not in text
    assert f"http://testserver/sertifikat/{cert_id}" in text


def test_a_bulk_issue_job_announces_each_certificate_with_one_insert_per_batch(
    mail, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    settings = get_settings()
    data = make_completed_run(5, auto_issue=False)
    monkeypatch.setattr(certificate_tasks, "enqueue", lambda job_id: None)
    with session_scope() as session:
        from app.certificates import service as certificates_service

        job_id = certificates_service.start_issue_job(session, data["run"], None, None, settings)  # type: ignore[arg-type]
    with count_queries() as statements:
        assert certificate_tasks.run_job(job_id, settings, render=False)
    rows = _notifications("certificate_issued")
    assert sorted(r.user_id for r in rows) == sorted(data["users"])  # type: ignore[arg-type]
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO NOTIFICATION")]
    assert len(inserts) == 1
    assert deliver().sent == 5
    assert len({m["Message-ID"] for m in mail.wait_for(5)}) == 5


# --- external training ----------------------------------------------------------------------------


def _external(user_id: int, name: str = "Bimtek Keamanan Informasi") -> int:
    today = clock.today()
    with session_scope() as session:
        row = ExternalTraining(
            user_id=user_id, name=name, organiser="BSSN", starts_on=today - dt.timedelta(days=10),
            ends_on=today - dt.timedelta(days=8), jp=16, certificate_number="BSSN/2026/77",
            certificate_key="BSSN/2026/77", funding_source="apbn", mode="klasikal",
            status="pending",
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


@pytest.mark.parametrize("approved", [True, False])
def test_an_external_training_decision_is_told_to_the_learner(mail, approved: bool) -> None:  # type: ignore[no-untyped-def]
    learner = make_user(email="budi@example.go.id", name="Budi Santoso")
    officer = make_user(roles=("training_officer",))
    record = _external(learner.id)
    reason = None if approved else "Sertifikat tidak terbaca; unggah ulang berkas yang jelas."
    with session_scope() as session:
        external_training_service.decide(
            session, record, _as(officer.id, "training_officer"), approved=approved, reason=reason
        )
    (row,) = _notifications()
    assert (row.event, row.key, row.user_id, row.url) == (
        "external_training_decided", f"external_training_decided:{record}", learner.id,
        "/my/external-trainings")  # fmt: skip
    deliver()
    (msg,) = mail.wait_for(1)
    text = text_of(msg)
    if approved:
        assert msg["Subject"] == "Pelatihan eksternal diverifikasi: Bimtek Keamanan Informasi"
        assert "16 JP dicatat" in text
    else:
        assert msg["Subject"] == "Pelatihan eksternal ditolak: Bimtek Keamanan Informasi"
        assert "Alasan: Sertifikat tidak terbaca" in text
    assert "Budi Santoso telah" not in text and "Budi Santoso belum" not in text


def test_a_refused_decision_sends_nothing() -> None:
    learner = make_user()
    officer = make_user(roles=("training_officer",))
    record = _external(learner.id)
    with pytest.raises(ValidationFailed), session_scope() as session:
        external_training_service.decide(
            session, record, _as(officer.id, "training_officer"), approved=False, reason=""
        )
    assert _notifications() == [] and _outbox_count() == 0


# --- mentoring ------------------------------------------------------------------------------------


def _log_session(session: Session, assignment_id: int, mentor_id: int, held: dt.date) -> int:
    logged = mentoring_service.log_session(
        session, assignment_id,
        SessionCreate(held_on=held, duration_minutes=90, goal="Tujuan", reality="Kenyataan",
                      options="Pilihan", way_forward="Langkah"),
        _as(mentor_id, "mentor", name="Drs. Bambang Wijaya"), get_settings(),
    )  # fmt: skip
    return logged.id


def test_a_logged_mentoring_session_asks_the_mentee_to_confirm(mail) -> None:  # type: ignore[no-untyped-def]
    mentor = make_user(roles=("mentor",), name="Drs. Bambang Wijaya")
    mentee = make_user(email="sari@example.go.id", name="Sari Utami")
    today = clock.today()
    with session_scope() as session:
        assignment = MentoringAssignment(
            mentor_id=mentor.id, mentee_id=mentee.id, competency_code="literasi_digital",
            goal="Mengelola data pribadi warga dengan aman.", planned_sessions=4,
            jp_per_session=2, starts_on=today - dt.timedelta(days=30),
            ends_on=today + dt.timedelta(days=60), status="active",
        )  # fmt: skip
        session.add(assignment)
        session.flush()
        assignment_id = assignment.id
    held = today - dt.timedelta(days=2)
    with pytest.raises(RuntimeError), session_scope() as session:
        _log_session(session, assignment_id, mentor.id, held)
        raise RuntimeError("the request failed after logging")
    assert _notifications() == [] and _outbox_count() == 0
    with session_scope() as session:
        session_id = _log_session(session, assignment_id, mentor.id, held)
    (row,) = _notifications()
    assert (row.event, row.user_id, row.key, row.url) == (
        "mentoring_session_pending", mentee.id, f"mentoring_session_pending:{session_id}",
        f"/mentoring/assignments/{assignment_id}")  # fmt: skip
    deliver()
    (msg,) = mail.wait_for(1)
    assert msg["Subject"] == "Konfirmasi sesi mentoring dengan Drs. Bambang Wijaya"
    text = text_of(msg)
    assert "Literasi Digital" in text and "(90 menit)" in text and str(held.year) in text


# --- quizzes --------------------------------------------------------------------------------------

ESSAY_ONLY = "::Esai::Jelaskan satu contoh penerapan SPBE di OPD Anda.{}\n"


async def test_a_graded_essay_is_told_to_the_learner(client: httpx.AsyncClient, mail) -> None:  # type: ignore[no-untyped-def]
    ids = make_course(title="Literasi Digital bagi ASN")
    run_id = make_run(ids["course"])
    quiz = make_quiz(ids["section"], gift=ESSAY_ONLY, kind="exercise", pass_score=60)["quiz"]
    learner = make_user(email="fajar@example.go.id", name="Fajar Nugroho")
    enrol(run_id, learner.id)
    headers = await api_token(client, learner.nip or "")
    started = (await client.post(f"/api/v1/quizzes/{quiz}/attempts", headers=headers)).json()
    question = started["questions"][0]["id"]
    await client.put(f"/api/v1/attempts/{started['id']}/answers", headers=headers,
                     json={"answers": [{"question_id": question, "text": "SRIKANDI."}]})  # fmt: skip
    submitted = await client.post(f"/api/v1/attempts/{started['id']}/submit", headers=headers)
    assert submitted.json()["state"] == "needs_grading"
    assert _notifications() == []
    grader = await api_token(client, make_user(roles=("training_officer",)).nip or "")
    graded = await client.post(f"/api/v1/attempts/{started['id']}/grades", headers=grader,
                               json=[{"question_id": question, "points": 1}])  # fmt: skip
    assert graded.status_code == 200 and graded.json()["state"] == "graded"
    (row,) = _notifications()
    assert (row.event, row.key, row.url) == (
        "essay_graded", f"essay_graded:{started['id']}", f"/attempts/{started['id']}/review")  # fmt: skip
    # Grading the same attempt again (a correction) does not repeat the message.
    again = await client.post(f"/api/v1/attempts/{started['id']}/grades", headers=grader,
                              json=[{"question_id": question, "points": 1}])  # fmt: skip
    assert again.status_code == 200 and len(_notifications()) == 1
    deliver()
    (msg,) = mail.wait_for(1)
    assert msg["Subject"] == "Jawaban esai Anda sudah dinilai: Tes Akhir"
    text = text_of(msg)
    assert "Nilai Tes Akhir (Literasi Digital bagi ASN): 100." in text and "Anda lulus." in text
