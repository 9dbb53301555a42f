"""A learner's action never fails or waits because of a certificate's side effects: the
certificate is issued in the transaction of the action (number, JP credit, notice) and its PDF is
made by the outbox afterwards. Signing keys missing, the object store unreachable (a real S3
server: moto, pointed at a dead port and back) or the mail server down: the quiz submit, the
last activity and the survey succeed, the PDF endpoint answers 409 with Retry-After, verification
says valid, and once the fault clears the dispatcher makes the PDF — no manual step, no
duplicate certificate, item or stored object."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from app.certificates import credential, delivery, keys, signing
from app.certificates.models import Certificate, CertificationRules
from app.core.config import Settings, get_settings
from app.core.db import session_scope, utcnow
from app.jp.models import JpCredit
from app.notifications.constants import TOPIC_EMAIL
from app.outbox.models import OutboxItem
from app.outbox.service import dispatch
from tests.certificates.pdfs import make_pdfs
from tests.factories import (
    api_token,
    complete_activity,
    issue_certificates,
    make_completed_run,
    make_quiz,
    make_user,
)
from tests.mailsink import MailSink
from tests.ports import free_port
from tests.storage.faults import S3Fault, app_on_s3

# --- faults ----------------------------------------------------------------------------------------


def _forget_keys() -> None:
    keys.forget_keys()
    signing.forget_signers()
    credential._material = None


@dataclass
class KeysFault:
    """The configured signing key files do not exist (a server restored without its keys)."""

    settings: Settings
    missing: Path
    saved: tuple[str | None, str | None] = (None, None)

    def break_(self) -> None:
        self.saved = (self.settings.signing_pkcs12_path, self.settings.credential_key_path)
        self.settings.signing_pkcs12_path = str(self.missing / "signing.p12")
        self.settings.credential_key_path = str(self.missing / "credential-ed25519.pem")
        _forget_keys()

    def clear(self) -> None:
        self.settings.signing_pkcs12_path, self.settings.credential_key_path = self.saved
        _forget_keys()


@pytest.fixture
def keys_fault(tmp_path: Path) -> Iterator[KeysFault]:
    fault = KeysFault(get_settings(), tmp_path / "no-keys")
    fault.saved = (fault.settings.signing_pkcs12_path, fault.settings.credential_key_path)
    fault.break_()
    try:
        yield fault
    finally:
        fault.clear()



@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Fault]:
    with app_on_s3(get_settings(), s3_endpoint, monkeypatch) as fault:
        yield fault


def _pdf_objects(s3: S3Fault, cert_id: int, year: int) -> list[str]:
    return [
        k
        for k in s3.object_keys()
        if k.startswith(f"{s3.storage.prefix}/certificates/{year}/{cert_id}-")
    ]


# --- helpers --------------------------------------------------------------------------------------


def _certs(run_id: int) -> list[Certificate]:
    with session_scope() as session:
        return list(session.scalars(select(Certificate).where(Certificate.run_id == run_id)))


def _pdf_items(cert_id: int) -> list[OutboxItem]:
    with session_scope() as session:
        return list(
            session.scalars(select(OutboxItem).where(OutboxItem.key == delivery.item_key(cert_id)))
        )


def _due_now(topic: str | None = None) -> None:
    """The backoff has passed (as the outbox tests do: the retry's time comes now)."""
    with session_scope() as session:
        stmt = update(OutboxItem).where(OutboxItem.state == "pending")
        if topic:
            stmt = stmt.where(OutboxItem.topic == topic)
        session.execute(stmt.values(next_attempt_at=utcnow() - dt.timedelta(seconds=1)))


def _email_of(user_id: int) -> str:
    from app.accounts.models import User

    with session_scope() as session:
        user = session.get(User, user_id)
        assert user is not None and user.email
        return user.email


def _one_certificate_with_pdf(run_id: int) -> Certificate:
    """Exactly one certificate, with its PDF and signed credential, one outbox item for it."""
    [cert] = _certs(run_id)
    assert cert.pdf_key and cert.pdf_sha256 and cert.credential_jws
    [item] = _pdf_items(cert.id)
    assert item.state == "sent"
    with session_scope() as session:
        credits = session.scalar(
            select(func.count()).select_from(JpCredit).where(JpCredit.source_id == cert.id)
        )
    assert credits == 1
    return cert


async def _submit_posttest(client: httpx.AsyncClient, quiz_id: int, user_id: int) -> Any:
    headers = await api_token(client, _email_of(user_id))
    started = await client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=headers)
    assert started.status_code in (200, 201), started.text
    body = started.json()
    answers = [{"question_id": q["id"], "choice_ids": ["true"]} for q in body["questions"]]
    saved = await client.put(f"/api/v1/attempts/{body['id']}/answers", headers=headers,
                             json={"answers": answers})  # fmt: skip
    assert saved.status_code == 200, saved.text
    return await client.post(f"/api/v1/attempts/{body['id']}/submit", headers=headers)


def _posttest_run() -> tuple[dict[str, Any], int]:
    """A run whose learner has read every page; the post-test (all statements true) is left."""
    gift = "\n\n".join(f"::S{i}::Pernyataan {i} benar.{{TRUE}}" for i in range(4))
    data = make_completed_run(1, auto_issue=True, complete=False)
    quiz = make_quiz(data["section"], gift=gift, pass_score=60)  # type: ignore[arg-type]
    for page in data["pages"]:  # type: ignore[attr-defined]
        complete_activity(data["enrolments"][0], page, seconds=900)  # type: ignore[index]
    assert _certs(data["run"]) == []  # type: ignore[arg-type]
    return data, quiz["quiz"]


# --- signing keys missing ----------------------------------------------------------------------------


async def test_quiz_submit_with_keys_missing_succeeds_and_the_pdf_follows(
    client: httpx.AsyncClient, keys_fault: KeysFault
) -> None:
    data, quiz_id = _posttest_run()
    uid = data["users"][0]
    response = await _submit_posttest(client, quiz_id, uid)
    assert response.status_code == 200, response.text
    assert response.json()["passed"] is True
    # The submit commits the completion; the outbox issues right after (number, JP credit);
    # the PDF and credential wait for the keys.
    said = response.json()["certificate"]  # the submit says so
    assert said["pending"] is True and said["pdf_ready"] is False
    assert "sedang diterbitkan" in said["message"]
    assert _certs(data["run"]) == []
    issue_certificates()
    [cert] = _certs(data["run"])
    assert cert.status == "valid" and cert.number and cert.pdf_key is None
    assert cert.credential_jws is None
    headers = await api_token(client, _email_of(uid))
    record = (await client.get(f"/api/v1/certificates/{cert.id}", headers=headers)).json()
    assert record["pdf_ready"] is False and record["status"] == "valid"
    pdf = await client.get(f"/api/v1/certificates/{cert.id}/pdf", headers=headers)
    assert pdf.status_code == 409 and pdf.json()["error"] == "pdf_not_ready"
    assert "disiapkan" in pdf.json()["detail"] and pdf.headers["retry-after"]
    badge = await client.get(f"/api/v1/certificates/{cert.id}/credential", headers=headers)
    assert badge.status_code == 409 and badge.json()["error"] == "credential_not_ready"
    verified = await client.get(f"/api/v1/verify/{cert.code}")
    assert verified.status_code == 200 and verified.json()["status"] == "valid"
    mine = (await client.get("/api/v1/me/courses", headers=headers)).json()
    assert mine[0]["certificate_id"] == cert.id and mine[0]["certificate_pdf_ready"] is False

    # The dispatcher tries: the keys are still missing, the item waits with the reason.
    stats = make_pdfs()
    assert stats.sent == 0 and stats.failed == 1
    [item] = _pdf_items(cert.id)
    assert item.state == "pending" and "kunci tanda tangan" in (item.last_error or "")
    assert item.next_attempt_at > utcnow()

    keys_fault.clear()  # the operator restores the keys; nobody touches the certificate
    _due_now()
    assert make_pdfs().sent == 1
    done = _one_certificate_with_pdf(data["run"])
    assert done.id == cert.id and done.number == cert.number
    assert make_pdfs().handled == 0  # nothing left, nothing made twice
    pdf = await client.get(f"/api/v1/certificates/{cert.id}/pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    badge = await client.get(f"/api/v1/certificates/{cert.id}/credential", headers=headers)
    assert badge.status_code == 200


def test_last_activity_with_keys_missing_issues_and_retries_until_the_keys_return(
    keys_fault: KeysFault, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = get_settings()
    monkeypatch.setattr(settings, "outbox_max_attempts", 2)
    data = make_completed_run(1, auto_issue=True, complete=False)
    eid = data["enrolments"][0]  # type: ignore[index]
    for page in data["pages"]:  # type: ignore[attr-defined]
        complete_activity(eid, page, seconds=900)  # the last one completes and issues
    [cert] = _certs(data["run"])  # type: ignore[arg-type]
    assert cert.pdf_key is None
    for _ in range(2):  # both attempts fail: the item goes dead ...
        _due_now()
        make_pdfs(rounds=1)
    [item] = _pdf_items(cert.id)
    assert item.state == "dead" and "kunci" in (item.last_error or "")
    # ... and the hourly sweep gives it new attempts (still no manual step).
    keys_fault.clear()
    with session_scope() as session:
        revived, scheduled = delivery.sweep(session)
    assert (revived, scheduled) == (1, 0)
    assert make_pdfs().sent == 1
    _one_certificate_with_pdf(data["run"])  # type: ignore[arg-type]


async def test_officer_issue_with_keys_missing_keeps_the_records(
    client: httpx.AsyncClient, keys_fault: KeysFault
) -> None:
    data = make_completed_run(2, auto_issue=False)
    officer = await api_token(client, make_user(roles=("training_officer",)).email or "")
    response = await client.post(f"/api/v1/runs/{data['run']}/certificates", headers=officer)
    assert response.status_code == 200, response.text
    assert len(response.json()["issued"]) == 2
    assert all(c.pdf_key is None for c in _certs(data["run"]))  # type: ignore[arg-type]
    keys_fault.clear()
    assert make_pdfs().sent == 2
    certs = _certs(data["run"])  # type: ignore[arg-type]
    assert len(certs) == 2 and all(c.pdf_key and c.credential_jws for c in certs)


def test_a_bulk_job_with_keys_missing_leaves_its_pdfs_to_the_outbox(
    keys_fault: KeysFault,
) -> None:
    from app.certificates import service, tasks

    data = make_completed_run(3, auto_issue=False)
    with session_scope() as session:
        job_id = service.create_issue_job(session, data["run"], None, None)  # type: ignore[arg-type]
    assert tasks.run_job(job_id, get_settings()) is False  # issued, rendering failed
    certs = _certs(data["run"])  # type: ignore[arg-type]
    assert len(certs) == 3 and all(c.pdf_key is None for c in certs)
    keys_fault.clear()
    assert make_pdfs().sent == 3
    assert all(c.pdf_key for c in _certs(data["run"]))  # type: ignore[arg-type]


# --- object storage unreachable ----------------------------------------------------------------------


def _survey_answers(form: dict[str, Any]) -> list[dict[str, Any]]:
    answers = []
    for q in form["questions"]:
        for name in form["instructors"] if q["target"] == "instructor" else [None]:
            answer: dict[str, Any] = {
                "question_id": q["id"],
                "value": 4 if q["kind"] == "likert" else "Baik.",
            }
            if name:
                answer["instructor"] = name
            answers.append(answer)
    return answers  # fmt: skip


async def test_survey_with_s3_down_succeeds_and_the_pdf_lands_in_s3_when_it_returns(
    client: httpx.AsyncClient, s3: S3Fault
) -> None:
    data = make_completed_run(1, complete=False)
    with session_scope() as session:
        session.add(CertificationRules(course_id=data["course"], auto_issue=True,
                                       require_survey=True))  # fmt: skip
    for page in data["pages"]:  # type: ignore[attr-defined]
        complete_activity(data["enrolments"][0], page, seconds=900)  # type: ignore[index]
    assert _certs(data["run"]) == []  # type: ignore[arg-type]  # the survey is missing
    s3.down()
    headers = await api_token(client, _email_of(data["users"][0]))  # type: ignore[index]
    form = (await client.get(f"/api/v1/runs/{data['run']}/survey", headers=headers)).json()
    sent = await client.post(f"/api/v1/runs/{data['run']}/survey", headers=headers,
                             json={"answers": _survey_answers(form)})  # fmt: skip
    assert sent.status_code == 201, sent.text
    assert sent.json()["certificate"]["pending"] is True
    issue_certificates()
    [cert] = _certs(data["run"])  # type: ignore[arg-type]
    assert cert.pdf_key is None and cert.credential_jws  # keys are fine: the credential is signed
    stats = make_pdfs()
    assert stats.failed == 1 and stats.sent == 0
    [item] = _pdf_items(cert.id)
    assert item.state == "pending" and "penyimpanan objek" in (item.last_error or "")
    assert _certs(data["run"])[0].pdf_key is None  # type: ignore[arg-type]  # no row -> nothing

    s3.up()
    _due_now()
    assert make_pdfs().sent == 1
    done = _one_certificate_with_pdf(data["run"])  # type: ignore[arg-type]
    assert _pdf_objects(s3, done.id, done.year) == [f"{s3.storage.prefix}/{done.pdf_key}"]
    assert s3.storage.stat(done.pdf_key or "").sha256 == done.pdf_sha256
    pdf = await client.get(f"/api/v1/certificates/{done.id}/pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


async def test_s3_down_while_downloading_a_pdf_is_a_503_naming_the_storage(
    client: httpx.AsyncClient, s3: S3Fault
) -> None:
    data = make_completed_run(1, auto_issue=True)
    make_pdfs()
    [cert] = _certs(data["run"])  # type: ignore[arg-type]
    headers = await api_token(client, _email_of(data["users"][0]))  # type: ignore[index]
    s3.down()
    response = await client.get(f"/api/v1/certificates/{cert.id}/pdf", headers=headers)
    assert response.status_code == 503 and response.json()["error"] == "storage_unavailable"
    assert "Penyimpanan berkas" in response.json()["detail"] and response.headers["retry-after"]
    s3.up()


# --- mail server down ------------------------------------------------------------------------------


def test_smtp_down_never_blocks_the_certificate_and_its_mail_follows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = get_settings()
    port = free_port()
    monkeypatch.setattr(settings, "smtp_url", f"smtp://127.0.0.1:{port}")
    data = make_completed_run(1, auto_issue=True)  # the last activity issues
    [cert] = _certs(data["run"])  # type: ignore[arg-type]
    stats = dispatch(settings, max_seconds=30)
    assert stats.by_topic.get(delivery.TOPIC_PDF) == 1  # the PDF does not wait for the mail
    _one_certificate_with_pdf(data["run"])  # type: ignore[arg-type]
    with session_scope() as session:
        mails = list(session.scalars(select(OutboxItem).where(OutboxItem.topic == TOPIC_EMAIL)))
    assert mails and all(m.state == "pending" and m.last_error for m in mails)

    sink = MailSink(port).start()
    try:
        _due_now(TOPIC_EMAIL)
        assert dispatch(settings, max_seconds=30).sent == len(mails)
        sink.wait_for(len(mails))
        assert any(cert.number in str(m.get_body(("plain",)).get_content())  # type: ignore[union-attr]
                   for m in sink.messages)  # fmt: skip
    finally:
        sink.stop()
    assert dispatch(settings, max_seconds=30).handled == 0  # nothing sent twice


# --- the handler's own rules -----------------------------------------------------------------------


def test_the_handler_skips_a_certificate_that_has_its_pdf() -> None:
    data = make_completed_run(1, auto_issue=True)
    assert make_pdfs().sent == 1
    [cert] = _certs(data["run"])  # type: ignore[arg-type]
    with session_scope() as session:  # asked again (an officer's retry): nothing is redrawn
        session.execute(update(OutboxItem).where(OutboxItem.key == delivery.item_key(cert.id))
                        .values(state="pending", next_attempt_at=utcnow()))  # fmt: skip
    assert make_pdfs().sent == 1
    assert _certs(data["run"])[0].pdf_key == cert.pdf_key  # type: ignore[arg-type]


def test_the_sweep_schedules_a_certificate_left_without_a_pdf() -> None:
    data = make_completed_run(1, auto_issue=False)
    from app.certificates import service

    with session_scope() as session:
        service.issue(session, data["run"], None, None, get_settings())  # type: ignore[arg-type]
    [cert] = _certs(data["run"])  # type: ignore[arg-type]
    with session_scope() as session:  # as if its item had been lost (a pre-outbox certificate)
        session.execute(update(OutboxItem).where(OutboxItem.key == delivery.item_key(cert.id))
                        .values(state="cancelled"))  # fmt: skip
    later = utcnow() + delivery.SWEEP_AFTER + dt.timedelta(minutes=1)
    with session_scope() as session:
        assert delivery.sweep(session, later) == (0, 1)
    with session_scope() as session:  # a second sweep finds its item waiting: nothing added
        assert delivery.sweep(session, later) == (0, 0)
    _due_now()
    assert make_pdfs().sent == 1
    assert len(_pdf_items(cert.id)) == 1 and _certs(data["run"])[0].pdf_key  # type: ignore[arg-type]
