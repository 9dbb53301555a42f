"""Every audited action writes its entry: who (id and NIP), from where, what, before and after."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import select

from app.audit import service as audit
from app.certificates.models import Certificate
from app.core import clock
from app.core.db import session_scope
from tests.audit.helpers import entries, one
from tests.factories import (
    PASSWORD,
    api_token,
    enrol,
    make_completed_run,
    make_course,
    make_quiz,
    make_run,
    make_user,
)

ADDRESS = "203.0.113.10"  # the test client's address


def _verify_ok() -> None:
    with session_scope() as s:
        result = audit.verify(s)
    assert result.ok, result.problem


async def test_login_success_records_actor_address_and_request_id(
    client: httpx.AsyncClient,
) -> None:
    user = make_user()
    response = await client.post("/api/v1/auth/token", data={"username": user.nip, "password": PASSWORD},
                                 headers={"X-Request-ID": "req-login-1"})  # fmt: skip
    assert response.status_code == 200
    row = one("auth.login.success")
    assert row["actor_id"] == user.id and row["actor_label"] == user.nip
    assert row["target_type"] == "user" and row["target_id"] == str(user.id)
    assert row["address"] == ADDRESS and row["request_id"] == "req-login-1"
    assert row["after"] == {"via": "password"}


async def test_failed_logins_are_recorded_though_the_request_fails(
    client: httpx.AsyncClient, settings
) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    for n in range(settings.login_max_failures_per_account):
        assert entries("auth.lockout") == [], n  # not locked before the last allowed failure
        bad = await client.post(
            "/api/v1/auth/token", data={"username": user.nip, "password": "salah-salah"}
        )
        assert bad.status_code == 401
    failures = entries("auth.login.failure")
    assert len(failures) == settings.login_max_failures_per_account
    assert failures[0]["actor_id"] == user.id and failures[0]["address"] == ADDRESS
    assert failures[0]["after"] == {"login": user.nip, "reason": "invalid_credentials"}
    assert "salah-salah" not in str(failures)  # never the password
    locked = await client.post(
        "/api/v1/auth/token", data={"username": user.nip, "password": PASSWORD}
    )
    assert locked.status_code == 429
    again = await client.post(
        "/api/v1/auth/token", data={"username": user.nip, "password": PASSWORD}
    )
    assert again.status_code == 429
    lockout = one("auth.lockout")  # once, when the limit was reached; refusals add nothing
    assert lockout["target_id"] == str(user.id) and lockout["id"] == failures[-1]["id"] + 1
    assert lockout["after"]["reason"] == "too_many_failures"
    assert 0 < lockout["after"]["retry_after"] <= settings.login_window_seconds + 1
    assert len(entries("auth.login.failure")) == settings.login_max_failures_per_account
    unknown = await client.post(
        "/api/v1/auth/token", data={"username": "nobody@example.go.id", "password": "x"}
    )
    assert unknown.status_code == 401
    last = entries("auth.login.failure")[-1]
    assert last["actor_id"] is None and last["actor_label"] == "anonim"
    assert last["after"]["login"] == "nobody@example.go.id" and last["target_type"] is None
    _verify_ok()


async def test_browser_login_failure_and_inactive_account(client: httpx.AsyncClient) -> None:
    from tests.factories import csrf_from

    inactive = make_user(active=False)
    page = await client.get("/login")
    response = await client.post("/login", data={"csrf_token": csrf_from(page.text),
                                                 "username": inactive.email, "password": PASSWORD})  # fmt: skip
    assert response.status_code == 403
    row = one("auth.login.failure")
    assert row["after"]["reason"] == "account_inactive" and row["actor_id"] == inactive.id


async def test_admin_account_changes(client: httpx.AsyncClient) -> None:
    admin = make_user(roles=("admin",), name="Admin Sistem")
    user = make_user(name="Dewi Lestari")
    headers = await api_token(client, admin.nip)
    changed = await client.patch(f"/api/v1/users/{user.id}", headers=headers,
                                 json={"name": "Dewi Lestari Putri", "roles": ["learner", "mentor"],
                                       "password": "Sandi-Baru-Yang-Kuat-2026"})  # fmt: skip
    assert changed.status_code == 200, changed.text
    updated = one("account.updated")
    assert updated["actor_id"] == admin.id and updated["actor_label"] == admin.nip
    assert updated["target_id"] == str(user.id)
    assert updated["before"] == {"name": "Dewi Lestari", "password": "***"}
    assert updated["after"] == {"name": "Dewi Lestari Putri", "password": "changed"}
    roles = one("account.role_changed")
    assert roles["before"] == {"roles": ["learner"]} and roles["after"] == {
        "roles": ["learner", "mentor"]
    }
    off = await client.patch(f"/api/v1/users/{user.id}", headers=headers, json={"is_active": False})
    assert off.status_code == 200
    row = one("account.deactivated")
    assert row["before"] == {"is_active": True} and row["after"] == {"is_active": False}
    # Saving the same values again changes nothing and records nothing.
    same = await client.patch(
        f"/api/v1/users/{user.id}", headers=headers, json={"name": "Dewi Lestari Putri"}
    )
    assert same.status_code == 200
    assert len(entries("account.updated")) == 1
    _verify_ok()


async def test_account_created_by_an_admin(client: httpx.AsyncClient) -> None:
    from tests.factories import valid_nip

    admin = make_user(roles=("admin",))
    headers = await api_token(client, admin.nip)
    nip = valid_nip(seq=901)
    created = await client.post("/api/v1/users", headers=headers,
                                json={"nip": nip, "name": "Budi Santoso", "roles": ["learner"],
                                      "email": "budi@example.go.id"})  # fmt: skip
    assert created.status_code == 201, created.text
    row = entries("account.created")[-1]
    assert row["actor_id"] == admin.id and row["target_id"] == str(created.json()["id"])
    assert row["after"] == {
        "nip": nip,
        "name": "Budi Santoso",
        "opd_id": None,
        "roles": ["learner"],
    }
    assert entries("account.created")[0]["actor_label"] == "system"  # made by the test setup


async def test_roster_import(client: httpx.AsyncClient) -> None:
    from tests.accounts.test_roster import csv_bytes
    from tests.factories import make_opd, valid_nip

    make_opd()
    admin = make_user(roles=("admin",))
    headers = await api_token(client, admin.nip)
    rows = [[valid_nip(seq=700 + i), f"Pegawai {i}", f"p{i}@example.go.id", "PNS", "III/a", "Analis", "DISKOMINFO"]
            for i in range(3)]  # fmt: skip
    response = await client.post("/api/v1/users/import", headers=headers,
                                 files={"file": ("data.csv", csv_bytes(rows), "text/csv")})  # fmt: skip
    assert response.status_code == 200, response.text
    row = one("roster.imported")
    assert row["actor_id"] == admin.id and row["target_type"] == "roster_import"
    assert row["after"] == {"file_name": "data.csv", "created": 3, "updated": 0, "skipped": 0}


async def test_officer_enrolment_is_one_summary_entry(client: httpx.AsyncClient) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    learners = [make_user(name=f"Peserta {i}") for i in range(3)]
    officer = make_user(roles=("training_officer",))
    headers = await api_token(client, officer.nip)
    response = await client.post(f"/api/v1/runs/{run}/enrolments", headers=headers,
                                 json={"user_ids": [u.id for u in learners] + [999999]})  # fmt: skip
    assert response.status_code == 201, response.text
    row = one("enrolment.officer_added")
    assert row["actor_id"] == officer.id and row["target_id"] == str(run)
    assert row["after"]["count"] == 3 and row["after"]["skipped"] == 1
    assert row["after"]["user_ids"] == [u.id for u in learners]


async def test_essay_grading_is_a_grade_override(client: httpx.AsyncClient) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    quiz = make_quiz(ids["section"], gift="Jelaskan SPBE.{}", pass_score=60)
    learner = make_user()
    enrol(run, learner.id)
    headers = await api_token(client, learner.nip)
    body = (await client.post(f"/api/v1/quizzes/{quiz['quiz']}/attempts", headers=headers)).json()
    qid = body["questions"][0]["id"]
    await client.put(f"/api/v1/attempts/{body['id']}/answers", headers=headers,
                     json={"answers": [{"question_id": qid, "text": "SPBE adalah ..."}]})  # fmt: skip
    await client.post(f"/api/v1/attempts/{body['id']}/submit", headers=headers)
    officer = make_user(roles=("training_officer",))
    graded = await client.post(f"/api/v1/attempts/{body['id']}/grades", headers=await api_token(client, officer.nip),
                               json=[{"question_id": qid, "points": 0.75}])  # fmt: skip
    assert graded.status_code == 200, graded.text
    row = one("quiz.grade_override")
    assert row["actor_id"] == officer.id and row["actor_label"] == officer.nip
    assert (row["target_type"], row["target_id"]) == ("attempt", str(body["id"]))
    assert row["before"]["state"] == "needs_grading" and row["before"]["passed"] is None
    assert row["after"]["state"] == "graded" and row["after"]["percent"] == 75
    assert row["after"]["essays"] == {str(qid): 0.75} and row["after"]["learner_id"] == learner.id


async def test_certificate_issue_revoke_reissue(client: httpx.AsyncClient) -> None:
    data = make_completed_run(2, auto_issue=False)
    officer = make_user(roles=("training_officer",))
    headers = await api_token(client, officer.nip)
    issued = await client.post(f"/api/v1/runs/{data['run']}/certificates", headers=headers)
    assert issued.status_code in (200, 201), issued.text
    rows = entries("certificate.issued")
    assert len(rows) == 2 and {r["actor_id"] for r in rows} == {officer.id}
    assert sorted(r["after"]["user_id"] for r in rows) == sorted(data["users"])  # type: ignore[arg-type]
    with session_scope() as s:
        first, second = s.scalars(select(Certificate.id).order_by(Certificate.id)).all()
    again = await client.post(f"/api/v1/certificates/{first}/reissue", headers=headers,
                              json={"reason": "Nama salah ketik"})  # fmt: skip
    assert again.status_code == 200
    row = one("certificate.reissued")
    assert row["target_id"] == str(first) and row["after"]["new_id"] == again.json()["id"]
    assert row["after"]["reason"] == "Nama salah ketik" and row["before"]["status"] == "valid"
    revoked = await client.post(f"/api/v1/certificates/{second}/revoke", headers=headers,
                                json={"reason": "Peserta tidak memenuhi syarat"})  # fmt: skip
    assert revoked.status_code == 200
    row = one("certificate.revoked")
    assert row["actor_label"] == officer.nip and row["target_id"] == str(second)
    assert row["before"] == {"status": "valid"} and row["after"]["status"] == "revoked"
    assert row["after"]["reason"] == "Peserta tidak memenuhi syarat"
    _verify_ok()


async def test_bulk_issue_job_and_signing_are_recorded(
    client: httpx.AsyncClient, settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "cert_sync_issue_max", 2)
    data = make_completed_run(4, auto_issue=False)
    officer = make_user(roles=("training_officer",))
    headers = await api_token(client, officer.nip)
    response = await client.post(f"/api/v1/runs/{data['run']}/certificates", headers=headers)
    assert response.status_code == 202, response.text
    issued = entries("certificate.issued")
    assert len(issued) == 4 and {r["actor_id"] for r in issued} == {officer.id}
    signed = entries("certificate.signed")
    with session_scope() as s:
        certs = {c.id: c.pdf_sha256 for c in s.scalars(select(Certificate))}
    assert {int(r["target_id"]): r["after"]["pdf_sha256"] for r in signed} == certs
    assert all(r["actor_label"] == "system" for r in signed)
    _verify_ok()


async def test_rules_and_template_changes(client: httpx.AsyncClient) -> None:
    ids = make_course()
    admin = make_user(roles=("admin",))
    headers = await api_token(client, admin.nip)
    put = await client.put(f"/api/v1/courses/{ids['course']}/certification-rules", headers=headers,
                           json={"pass_score": 80, "require_survey": True})  # fmt: skip
    assert put.status_code == 200, put.text
    row = one("certificate.rules_changed")
    assert row["target_id"] == str(ids["course"]) and row["actor_id"] == admin.id
    assert row["before"] == {"pass_score": None, "require_survey": None}
    assert row["after"] == {"pass_score": 80, "require_survey": True}
    template = (await client.get("/api/v1/certificate-templates/default", headers=headers)).json()
    saved = await client.put("/api/v1/certificate-templates/default", headers=headers,
                             json={"name": "Templat baru", "layout": template["layout"]})  # fmt: skip
    assert saved.status_code == 200, saved.text
    row = one("certificate.template_changed")
    assert row["actor_id"] == admin.id and row["target_type"] == "certificate_template"
    assert row["before"]["name"] == template["name"] and row["after"]["name"] == "Templat baru"
    assert row["after"]["version"] == row["before"]["version"] + 1


def test_external_training_and_mentoring_decisions(settings) -> None:  # type: ignore[no-untyped-def]
    from app.external_training import service as external
    from tests.external_training.test_api import _principal, _record

    learner = make_user()
    officer_user = make_user(roles=("training_officer",))
    officer = _principal(officer_user.id, "training_officer")
    with session_scope() as s:
        rid = _record(s, learner.id, settings)
        external.decide(s, rid, officer, approved=False, reason="Sertifikat tidak terbaca")
    row = one("external_training.decided")
    assert row["actor_id"] == officer_user.id and row["target_id"] == str(rid)
    assert row["before"] == {"status": "pending"}
    assert row["after"]["status"] == "rejected" and row["after"]["user_id"] == learner.id


async def test_mentoring_decision(client: httpx.AsyncClient) -> None:
    from tests.mentoring.test_mentoring_api import API, _create, _grow, _months_back, _people

    p = await _people(client)
    aid = await _create(client, p)
    base = f"{API}/assignments/{aid}"
    s1 = await client.post(f"{base}/sessions", headers=p["h_mentor"],
                           json=_grow(held_on=_months_back(1).replace(day=3).isoformat()))  # fmt: skip
    await client.post(f"{base}/sessions/{s1.json()['id']}/confirm", headers=p["h_mentee"])
    await client.post(f"{base}/signoff", headers=p["h_mentor"])
    r = await client.post(f"{base}/verify", json={"approved": True}, headers=p["h_officer"])
    assert r.status_code == 200, r.text
    row = one("mentoring.decided")
    assert row["actor_id"] == p["officer"] and row["target_id"] == str(aid)
    assert row["before"] == {"status": "signed_off"}
    assert row["after"]["status"] == "verified" and row["after"]["mentee_id"] == p["mentee"]


async def test_personal_data_exports_are_recorded(client: httpx.AsyncClient) -> None:
    data = make_completed_run(2, auto_issue=False)
    officer = make_user(roles=("training_officer",))
    headers = await api_token(client, officer.nip)
    await client.post(f"/api/v1/runs/{data['run']}/certificates", headers=headers)
    xlsx = await client.get("/api/v1/certificates", params={"format": "xlsx", "year": clock.today().year},
                            headers=headers)  # fmt: skip
    assert xlsx.status_code == 200
    monitor = await client.get(
        f"/api/v1/runs/{data['run']}/monitor", params={"format": "xlsx"}, headers=headers
    )
    assert monitor.status_code == 200
    json_list = await client.get("/api/v1/certificates", headers=headers)
    assert json_list.status_code == 200
    rows = entries("export.personal_data")
    assert [r["after"]["export"] for r in rows] == ["certificates", "run_monitor"]
    assert rows[0]["actor_id"] == officer.id and rows[0]["after"]["rows"] == 2
    assert rows[0]["after"]["filters"] == {"year": clock.today().year}
    assert rows[1]["target_id"] == str(data["run"])


def test_entries_about_a_user(db) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    other = make_user()
    audit.record(db, "auth.login.success", actor=user.id, target=("user", user.id))
    audit.record(db, "account.deactivated", actor=other.id, target=("user", other.id))
    audit.record(db, "account.updated", actor=other.id, target=("user", user.id),
                 before={"name": "A"}, after={"name": "B"})  # fmt: skip
    db.flush()
    about = audit.entries_about(db, user.id)
    assert [e["action"] for e in about] == [
        "account.created",
        "auth.login.success",
        "account.updated",
    ]
    assert about[2]["after"] == {"name": "B"} and "hash" not in about[2]
    assert isinstance(dt.datetime.fromisoformat(about[0]["at"]), dt.datetime)
