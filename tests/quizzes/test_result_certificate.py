"""The quiz result page (the review after a submit) and the survey page show the run's
certificate while its PDF is prepared: "Sertifikat sedang disiapkan", polled with htmx until the
download link replaces it."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from app.certificates.models import Certificate, CertificationRules
from app.core.db import session_scope
from tests.certificates.pdfs import make_pdfs
from tests.factories import (
    api_token,
    browser_login,
    complete_activity,
    issue_certificates,
    make_completed_run,
    make_quiz,
)


def _email_of(user_id: int) -> str:
    from app.accounts.models import User

    with session_scope() as session:
        user = session.get(User, user_id)
        assert user is not None and user.email
        return user.email


def _certificate(run_id: int) -> Certificate:
    with session_scope() as session:
        [cert] = session.scalars(select(Certificate).where(Certificate.run_id == run_id))
        return cert


async def _issued_after(client: httpx.AsyncClient, page: str, run_id: int) -> str:
    """`page` says the certificate is being issued and polls for it; once the outbox issued it,
    the polled card shows it (returned)."""
    assert "Sertifikat Anda sedang diterbitkan" in page
    assert f'hx-get="/runs/{run_id}/sertifikat-status"' in page
    still = await client.get(f"/runs/{run_id}/sertifikat-status")
    assert still.status_code == 200 and "sedang diterbitkan" in still.text
    issue_certificates()  # the outbox, right after the learner's commit
    polled = await client.get(f"/runs/{run_id}/sertifikat-status")
    assert polled.status_code == 200
    assert "sedang diterbitkan" not in polled.text and "sudah terbit" in polled.text
    return polled.text


async def _pdf_state(client: httpx.AsyncClient, page: str, cert: Certificate) -> None:
    """`page` shows the certificate as being prepared, polling its status; once the outbox made
    the PDF, the polled fragment is the download link."""
    assert cert.number in page
    assert "Sertifikat sedang disiapkan" in page
    assert f'hx-get="/sertifikat/{cert.id}/pdf-status"' in page
    assert make_pdfs().sent == 1
    polled = await client.get(f"/sertifikat/{cert.id}/pdf-status")
    assert polled.status_code == 200
    assert f"/api/v1/certificates/{cert.id}/pdf" in polled.text
    assert "sedang disiapkan" not in polled.text


async def test_quiz_result_page_shows_the_certificate_being_prepared(
    client: httpx.AsyncClient,
) -> None:
    gift = "\n\n".join(f"::S{i}::Pernyataan {i} benar.{{TRUE}}" for i in range(3))
    data: dict[str, Any] = make_completed_run(1, auto_issue=True, complete=False)
    quiz = make_quiz(data["section"], gift=gift, pass_score=60)
    for page in data["pages"]:
        complete_activity(data["enrolments"][0], page, seconds=900)
    email = _email_of(data["users"][0])
    headers = await api_token(client, email)
    body = (await client.post(f"/api/v1/quizzes/{quiz['quiz']}/attempts", headers=headers)).json()
    answers = [{"question_id": q["id"], "choice_ids": ["true"]} for q in body["questions"]]
    saved = await client.put(
        f"/api/v1/attempts/{body['id']}/answers", headers=headers, json={"answers": answers}
    )
    assert saved.status_code == 200, saved.text
    submitted = await client.post(f"/api/v1/attempts/{body['id']}/submit", headers=headers)
    said = submitted.json()["certificate"]
    assert said["pending"] is True and said["id"] is None and said["pdf_ready"] is False
    assert "sedang diterbitkan" in said["message"]

    await browser_login(client, email)
    review = await client.get(f"/attempts/{body['id']}/review")
    assert review.status_code == 200
    card = await _issued_after(client, review.text, data["run"])
    await _pdf_state(client, card, _certificate(data["run"]))
    again = await client.get(f"/attempts/{body['id']}/review")
    assert _certificate(data["run"]).number in again.text


async def test_survey_page_shows_the_certificate_being_prepared(
    client: httpx.AsyncClient,
) -> None:
    data: dict[str, Any] = make_completed_run(1, complete=False)
    with session_scope() as session:
        session.add(CertificationRules(course_id=data["course"], auto_issue=True,
                                       require_survey=True))  # fmt: skip
    for page in data["pages"]:
        complete_activity(data["enrolments"][0], page, seconds=900)
    email = _email_of(data["users"][0])
    headers = await api_token(client, email)
    form = (await client.get(f"/api/v1/runs/{data['run']}/survey", headers=headers)).json()
    answers = []
    for q in form["questions"]:
        for name in form["instructors"] if q["target"] == "instructor" else [None]:
            answer = {"question_id": q["id"], "value": 4 if q["kind"] == "likert" else "Baik."}
            if name:
                answer["instructor"] = name
            answers.append(answer)
    sent = await client.post(
        f"/api/v1/runs/{data['run']}/survey", headers=headers, json={"answers": answers}
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["certificate"]["pending"] is True

    await browser_login(client, email)
    page = await client.get(f"/runs/{data['run']}/evaluasi?sent=1")
    assert page.status_code == 200
    card = await _issued_after(client, page.text, data["run"])
    await _pdf_state(client, card, _certificate(data["run"]))
