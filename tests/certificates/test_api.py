"""The certificates API: issue for a run (inline or as a job), records, PDFs and credentials for
the holder and staff only (404 for another learner), revoke, re-issue, search."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from app.accounts.models import User
from app.certificates.models import Certificate
from app.core.db import session_scope
from tests.certificates.pdfs import make_pdfs
from tests.factories import api_token, make_completed_run, make_user


def _email(user_id: int) -> str:
    with session_scope() as session:
        user = session.get(User, user_id)
        assert user is not None and user.email
        return user.email


async def test_issue_inline_then_learner_reads_own_only(client) -> None:  # type: ignore[no-untyped-def]
    data = make_completed_run(2, auto_issue=False)
    officer = await api_token(client, make_user(roles=("training_officer",)).email)
    learner = await api_token(client, _email(data["users"][0]))  # type: ignore[index]
    other = await api_token(client, _email(data["users"][1]))  # type: ignore[index]
    url = f"/api/v1/runs/{data['run']}/certificates"
    assert (await client.post(url, headers=learner, json={})).status_code == 403
    response = await client.post(url, headers=officer, json={})
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["issued"]) == 2 and body["ineligible"] == [] and body["job_id"] is None
    mine = next(i for i in body["issued"] if i["user_id"] == data["users"][0])  # type: ignore[index]
    cid = mine["id"]

    # Issued at once; the PDF follows from the outbox: until then a clear 409 with Retry-After.
    record = (await client.get(f"/api/v1/certificates/{cid}", headers=learner)).json()
    assert record["status"] == "valid" and record["pdf_ready"] is False
    pending = await client.get(f"/api/v1/certificates/{cid}/pdf", headers=learner)
    assert pending.status_code == 409 and pending.json()["error"] == "pdf_not_ready"
    assert int(pending.headers["retry-after"]) > 0
    assert make_pdfs().sent == 2
    record = (await client.get(f"/api/v1/certificates/{cid}", headers=learner)).json()
    assert record["pdf_ready"] is True
    assert record["number"] == mine["number"] and record["status"] == "valid"
    assert record["verify_url"] == f"http://testserver/verify/{record['code']}"
    pdf = await client.get(f"/api/v1/certificates/{cid}/pdf", headers=learner)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == record["pdf_sha256"]
    cred = await client.get(f"/api/v1/certificates/{cid}/credential", headers=learner)
    assert cred.status_code == 200 and "OpenBadgeCredential" in cred.json()["type"]
    for path in ("", "/pdf", "/credential"):
        denied = await client.get(f"/api/v1/certificates/{cid}{path}", headers=other)
        assert denied.status_code == 404, path
        assert (
            await client.get(f"/api/v1/certificates/{cid}{path}", headers=officer)
        ).status_code == 200
    assert (await client.get("/api/v1/certificates/999999", headers=officer)).status_code == 404

    listed = (await client.get("/api/v1/me/certificates", headers=learner)).json()
    assert [c["id"] for c in listed] == [cid]
    assert set(listed[0]) >= {"id", "number", "code", "course_title", "jp", "predikat",
                              "issued_at", "status"}  # fmt: skip
    courses = (await client.get("/api/v1/me/courses", headers=learner)).json()
    assert courses[0]["completed"] is True and courses[0]["certificate_id"] == cid
    assert courses[0]["course"]["code"] and courses[0]["percent"] == 100


async def test_chosen_users_and_ineligible_reasons(client) -> None:  # type: ignore[no-untyped-def]
    done = make_completed_run(1, auto_issue=False)
    officer = await api_token(client, make_user(roles=("training_officer",)).email)
    stranger = make_user()
    response = await client.post(
        f"/api/v1/runs/{done['run']}/certificates", headers=officer,
        json={"user_ids": [stranger.id, done["users"][0]]},  # type: ignore[index]
    )  # fmt: skip
    body = response.json()
    assert [i["user_id"] for i in body["issued"]] == done["users"]
    assert body["ineligible"][0]["user_id"] == stranger.id


async def test_big_issue_becomes_a_job(client, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "cert_sync_issue_max", 2)
    data = make_completed_run(4, auto_issue=False)
    officer = await api_token(client, make_user(roles=("training_officer",)).email)
    response = await client.post(f"/api/v1/runs/{data['run']}/certificates", headers=officer)
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    job = (await client.get(f"/api/v1/jobs/{job_id}", headers=officer)).json()
    assert job["state"] == "done" and job["issued_count"] == 4 and job["percent"] == 100
    assert job["rendered_count"] == 4
    assert {i["state"] for i in job["items"]} == {"issued"}
    with session_scope() as session:
        certs = session.scalars(select(Certificate)).all()
        assert sorted(c.seq for c in certs) == [1, 2, 3, 4] and all(c.pdf_sha256 for c in certs)
    learner = await api_token(client, _email(data["users"][0]))  # type: ignore[index]
    assert (await client.get(f"/api/v1/jobs/{job_id}", headers=learner)).status_code == 403


async def test_revoke_and_reissue_api(client) -> None:  # type: ignore[no-untyped-def]
    data = make_completed_run(1, auto_issue=False)  # PDFs are signed in the app, not here
    officer = await api_token(client, make_user(roles=("training_officer",)).email)
    await client.post(f"/api/v1/runs/{data['run']}/certificates", headers=officer)
    with session_scope() as session:
        cid = session.scalars(select(Certificate.id)).one()
    again = await client.post(f"/api/v1/certificates/{cid}/reissue", headers=officer,
                              json={"reason": "Nama salah ketik"})  # fmt: skip
    assert again.status_code == 200 and again.json()["version"] == 2
    new_id = again.json()["id"]
    old = (await client.get(f"/api/v1/certificates/{cid}", headers=officer)).json()
    assert old["status"] == "superseded" and old["successor_id"] == new_id
    bad = await client.post(f"/api/v1/certificates/{new_id}/revoke", headers=officer, json={})
    assert bad.status_code == 422
    revoked = await client.post(f"/api/v1/certificates/{new_id}/revoke", headers=officer,
                                json={"reason": "Peserta tidak memenuhi syarat"})  # fmt: skip
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    conflict = await client.post(f"/api/v1/certificates/{new_id}/revoke", headers=officer,
                                 json={"reason": "lagi"})  # fmt: skip
    assert conflict.status_code == 409


async def test_search_and_filters(client) -> None:  # type: ignore[no-untyped-def]
    data = make_completed_run(3, auto_issue=False)
    officer = await api_token(client, make_user(roles=("training_officer",)).email)
    await client.post(f"/api/v1/runs/{data['run']}/certificates", headers=officer)
    page = (await client.get("/api/v1/certificates?q=peserta 002", headers=officer)).json()
    assert page["total"] == 1 and page["items"][0]["holder_name"] == "Peserta 002"
    assert (await client.get("/api/v1/certificates?status=revoked", headers=officer)).json()[
        "total"
    ] == 0
    assert (await client.get("/api/v1/certificates?per_page=2", headers=officer)).json()[
        "total"
    ] == 3
    learner = await api_token(client, make_user().email)
    assert (await client.get("/api/v1/certificates", headers=learner)).status_code == 403
