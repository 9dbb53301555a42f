"""Courses, sections, activities, runs, enrolment and content access through the API."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx

from app.core import clock
from tests.factories import api_token, enrol, make_course, make_opd, make_run, make_user


async def _staff(client: httpx.AsyncClient, role: str) -> dict[str, str]:
    user = make_user(roles=(role,))
    return await api_token(client, user.email or "")


async def test_content_admin_builds_and_publishes_a_course(client: httpx.AsyncClient) -> None:
    headers = await _staff(client, "content_admin")
    r = await client.post(
        "/api/v1/courses",
        json={"code": "lit-dig", "title": "Literasi Digital", "jp": 12, "category": "teknis",
              "competencies": ["Literasi_Digital"], "summary": "Dasar literasi digital"},
        headers=headers,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    course = r.json()
    assert course["code"] == "LIT-DIG" and course["status"] == "draft" and course["jp"] == 12
    assert course["competencies"] == ["literasi_digital"]
    dup = await client.post(
        "/api/v1/courses",
        json={"code": "LIT-DIG", "title": "Lagi", "jp": 1, "category": "teknis"},
        headers=headers,
    )
    assert dup.status_code == 409 and dup.json()["error"] == "duplicate_course"
    empty = await client.post(f"/api/v1/courses/{course['id']}/publish", headers=headers)
    assert empty.status_code == 409 and empty.json()["error"] == "course_empty"
    section = await client.post(
        f"/api/v1/courses/{course['id']}/sections", json={"title": "Modul 1"}, headers=headers
    )
    assert section.status_code == 201
    sid = section.json()["id"]
    page = await client.post(
        f"/api/v1/sections/{sid}/activities",
        data={
            "kind": "page",
            "title": "Apa itu literasi digital",
            "duration_minutes": "20",
            "body": "# Halo\n\n**Tebal**",
        },
        headers=headers,
    )
    assert page.status_code == 201, page.text
    link = await client.post(
        f"/api/v1/sections/{sid}/activities",
        data={"kind": "link", "title": "Situs Kominfo", "url": "javascript:alert(1)"},
        headers=headers,
    )
    assert link.status_code == 422 and link.json()["field"] == "url"
    no_body = await client.post(
        f"/api/v1/sections/{sid}/activities",
        data={"kind": "page", "title": "Kosong"},
        headers=headers,
    )
    assert no_body.status_code == 422 and no_body.json()["field"] == "body"
    published = await client.post(f"/api/v1/courses/{course['id']}/publish", headers=headers)
    assert published.json() == {"status": "published"}
    detail = (await client.get(f"/api/v1/courses/{course['id']}", headers=headers)).json()
    assert detail["sections"][0]["activities"][0] | {"id": 0} == detail["sections"][0][
        "activities"
    ][0] | {"id": 0}
    activity = detail["sections"][0]["activities"][0]
    assert {k: activity[k] for k in ("kind", "title", "duration_minutes", "required")} == {
        "kind": "page", "title": "Apa itu literasi digital", "duration_minutes": 20, "required": True,
    }  # fmt: skip


async def test_learner_cannot_author_and_sees_only_published(client: httpx.AsyncClient) -> None:
    draft = make_course(title="Draf Rahasia", published=False)
    live = make_course(title="Keamanan Informasi Dasar", competencies=("keamanan_informasi",))
    learner = make_user()
    headers = await api_token(client, learner.email or "")
    r = await client.post(
        "/api/v1/courses",
        json={"code": "X1", "title": "Xyz", "jp": 1, "category": "teknis"},
        headers=headers,
    )
    assert r.status_code == 403
    catalog = (await client.get("/api/v1/courses", headers=headers)).json()
    assert [c["id"] for c in catalog] == [live["course"]]
    assert (
        await client.get(f"/api/v1/courses/{draft['course']}", headers=headers)
    ).status_code == 404
    by_competency = (await client.get("/api/v1/courses?q=keamanan_inf", headers=headers)).json()
    assert [c["title"] for c in by_competency] == ["Keamanan Informasi Dasar"]
    assert (await client.get("/api/v1/courses?q=tidakada", headers=headers)).json() == []
    # ?open=true keeps courses with a run that takes enrolments today.
    assert (await client.get("/api/v1/courses?open=true", headers=headers)).json() == []
    make_run(live["course"], closed_days_ago=2)
    assert (await client.get("/api/v1/courses?open=true", headers=headers)).json() == []
    make_run(live["course"])
    assert [
        c["id"] for c in (await client.get("/api/v1/courses?open=true", headers=headers)).json()
    ] == [live["course"]]
    staff = await _staff(client, "training_officer")
    assert {c["id"] for c in (await client.get("/api/v1/courses", headers=staff)).json()} == {
        draft["course"],
        live["course"],
    }


async def test_runs_validate_dates_and_self_enrolment_windows(client: httpx.AsyncClient) -> None:
    course = make_course()
    officer = await _staff(client, "training_officer")
    bad = await client.post(
        f"/api/v1/courses/{course['course']}/runs",
        json={
            "name": "Angkatan I",
            "starts_on": "2026-03-10",
            "ends_on": "2026-03-01",
            "funding_source": "apbd_kabupaten",
        },
        headers=officer,
    )
    assert bad.status_code == 422 and "ends_on" in bad.json()["detail"]
    ok = await client.post(
        f"/api/v1/courses/{course['course']}/runs",
        json={"name": "Angkatan I", "starts_on": str(clock.today()), "ends_on": str(clock.today() + dt.timedelta(days=30)),
              "capacity": 2, "funding_source": "apbd_provinsi"},
        headers=officer,
    )  # fmt: skip
    assert ok.status_code == 201
    run_id = ok.json()["id"]
    learners = [make_user() for _ in range(3)]
    tokens = [await api_token(client, u.email or "") for u in learners]
    first = await client.post(f"/api/v1/runs/{run_id}/enrolments", json={}, headers=tokens[0])
    assert first.status_code == 201 and first.json()["enrolled"][0]["user_id"] == learners[0].id
    again = await client.post(f"/api/v1/runs/{run_id}/enrolments", json={}, headers=tokens[0])
    assert again.status_code == 409 and again.json()["error"] == "already_enrolled"
    assert (
        await client.post(f"/api/v1/runs/{run_id}/enrolments", json={}, headers=tokens[1])
    ).status_code == 201
    full = await client.post(f"/api/v1/runs/{run_id}/enrolments", json={}, headers=tokens[2])
    assert full.status_code == 409 and full.json()["error"] == "run_full"
    not_yet = make_run(course["course"], opens_in_days=3)
    r = await client.post(f"/api/v1/runs/{not_yet}/enrolments", json={}, headers=tokens[2])
    assert r.status_code == 409 and "dibuka" in r.json()["detail"]
    closed = make_run(course["course"], closed_days_ago=1)
    r = await client.post(f"/api/v1/runs/{closed}/enrolments", json={}, headers=tokens[2])
    assert r.status_code == 409 and "ditutup" in r.json()["detail"]
    # A learner cannot enrol others.
    r = await client.post(
        f"/api/v1/runs/{not_yet}/enrolments", json={"user_ids": [learners[2].id]}, headers=tokens[0]
    )
    assert r.status_code == 403


async def test_officer_enrols_by_ids_nips_and_opd_with_reasons(client: httpx.AsyncClient) -> None:
    make_opd(code="DISKOMINFO")
    make_opd(code="DINKES", name="Dinas Kesehatan")
    course = make_course()
    run_id = make_run(course["course"], capacity=4)
    a = make_user(opd_code="DISKOMINFO")
    b = make_user(opd_code="DISKOMINFO")
    c = make_user(opd_code="DINKES")
    inactive = make_user(opd_code="DINKES", active=False)
    officer = await _staff(client, "training_officer")
    r = await client.post(
        f"/api/v1/runs/{run_id}/enrolments",
        json={"user_ids": [a.id, 999_999], "nips": [c.nip, "199901012020011999", inactive.nip]},
        headers=officer,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert sorted(e["user_id"] for e in body["enrolled"]) == sorted([a.id, c.id])
    reasons = {(s.get("user_id"), s.get("nip")): s["reason"] for s in body["skipped"]}
    assert reasons[(999_999, None)] == "Pengguna tidak ditemukan."
    assert reasons[(None, "199901012020011999")] == "NIP tidak terdaftar."
    assert reasons[(inactive.id, inactive.nip)] == "Akun nonaktif."
    by_opd = (
        await client.post(
            f"/api/v1/runs/{run_id}/enrolments", json={"opd_code": "DISKOMINFO"}, headers=officer
        )
    ).json()
    assert [e["user_id"] for e in by_opd["enrolled"]] == [b.id]
    assert by_opd["skipped"] == [
        {"user_id": a.id, "nip": a.nip, "row": None, "reason": "Sudah terdaftar di angkatan ini."}
    ]
    # Withdraw keeps the row (history) and frees the seat.
    assert (
        await client.delete(f"/api/v1/runs/{run_id}/enrolments/{a.id}", headers=officer)
    ).status_code == 204
    rows = {
        e["user_id"]: e
        for e in (await client.get(f"/api/v1/runs/{run_id}/enrolments", headers=officer)).json()
    }
    assert rows[a.id]["status"] == "withdrawn" and rows[a.id]["withdrawn_at"]
    again = (
        await client.post(
            f"/api/v1/runs/{run_id}/enrolments", json={"user_ids": [a.id]}, headers=officer
        )
    ).json()
    assert [e["user_id"] for e in again["enrolled"]] == [a.id]


async def test_concurrent_self_enrolment_never_exceeds_capacity(client: httpx.AsyncClient) -> None:
    """Parallel requests (threads in the app's pool; on PostgreSQL real concurrent transactions)."""
    course = make_course()
    capacity = 5
    run_id = make_run(course["course"], capacity=capacity)
    users = [make_user() for _ in range(16)]
    tokens = [await api_token(client, u.email or "") for u in users]
    responses = await asyncio.gather(
        *(client.post(f"/api/v1/runs/{run_id}/enrolments", json={}, headers=t) for t in tokens)
    )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == capacity
    assert codes.count(409) == len(users) - capacity
    officer = await _staff(client, "training_officer")
    listed = (await client.get(f"/api/v1/runs/{run_id}/enrolments", headers=officer)).json()
    assert len([e for e in listed if e["status"] == "active"]) == capacity


async def test_content_is_only_for_enrolled_learners_and_staff(client: httpx.AsyncClient) -> None:
    course = make_course(pages=2)
    run_id = make_run(course["course"])
    member, outsider = make_user(), make_user()
    enrol(run_id, member.id)
    member_h = await api_token(client, member.email or "")
    outsider_h = await api_token(client, outsider.email or "")
    url = f"/api/v1/activities/{course['page1']}/content"
    assert (await client.get(url, headers=member_h)).status_code == 200
    denied = await client.get(url, headers=outsider_h)
    assert denied.status_code == 403 and denied.json()["error"] == "not_enrolled"
    assert (
        await client.get("/api/v1/activities/987654/content", headers=outsider_h)
    ).status_code == 404
    staff = await _staff(client, "content_admin")
    assert (await client.get(url, headers=staff)).status_code == 200


async def test_page_viewed_completes_and_unlocks_the_next(client: httpx.AsyncClient) -> None:
    course = make_course(pages=2, locked_second=True)
    run_id = make_run(course["course"])
    learner = make_user()
    enrol(run_id, learner.id)
    h = await api_token(client, learner.email or "")
    locked = await client.post(
        f"/api/v1/activities/{course['page2']}/progress", json={"event": "viewed"}, headers=h
    )
    assert locked.status_code == 200  # progress on a locked page is allowed; opening it is not
    r = await client.post(
        f"/api/v1/activities/{course['page1']}/progress", json={"event": "viewed"}, headers=h
    )
    body = r.json()
    assert body.pop("certificate")["pdf_ready"] is False  # the last activity issued it
    assert body == {"status": "completed", "percent": 100, "position_seconds": 0.0}


async def test_activity_with_progress_can_be_hidden_not_deleted(client: httpx.AsyncClient) -> None:
    course = make_course(pages=2)
    run_id = make_run(course["course"])
    learner = make_user()
    enrol(run_id, learner.id)
    h = await api_token(client, learner.email or "")
    await client.post(
        f"/api/v1/activities/{course['page1']}/progress", json={"event": "viewed"}, headers=h
    )
    admin = await _staff(client, "content_admin")
    refused = await client.delete(f"/api/v1/activities/{course['page1']}", headers=admin)
    assert refused.status_code == 409 and refused.json()["error"] == "activity_has_progress"
    assert (
        await client.post(f"/api/v1/activities/{course['page1']}/hide", headers=admin)
    ).status_code == 200
    assert (
        await client.delete(f"/api/v1/activities/{course['page2']}", headers=admin)
    ).status_code == 204
    learner_view = (await client.get(f"/api/v1/courses/{course['course']}", headers=h)).json()
    assert learner_view["sections"][0]["activities"] == []
    assert (
        await client.get(f"/api/v1/activities/{course['page1']}/content", headers=h)
    ).status_code == 403
