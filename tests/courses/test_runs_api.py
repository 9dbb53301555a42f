"""Run editing, run staff and the waiting list through the API (issue 16, items 1-3)."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import select

from app.core import clock
from app.core.db import session_scope
from tests.factories import api_token, enrol, make_course, make_run, make_user


async def _token(
    client: httpx.AsyncClient, *roles: str, name: str = "Dewi Lestari"
) -> tuple[int, dict[str, str]]:
    user = make_user(roles=roles or ("learner",), name=name)
    return user.id, await api_token(client, user.email or "")


def _waitlist_run(capacity: int) -> int:
    from app.courses.models import Run

    course = make_course()
    run_id = make_run(course["course"], capacity=capacity)
    with session_scope() as session:
        run = session.get(Run, run_id)
        assert run is not None
        run.waitlist = True
    return run_id


def _statuses(run_id: int) -> dict[int, str]:
    from app.courses.models import Enrolment

    with session_scope() as session:
        rows = session.execute(
            select(Enrolment.user_id, Enrolment.status).where(Enrolment.run_id == run_id)
        )
        return {u: s for u, s in rows}


def _enrolled_count(run_id: int) -> int:
    from app.courses.models import Run

    with session_scope() as session:
        run = session.get(Run, run_id)
        assert run is not None
        return run.enrolled_count


# --- staff --------------------------------------------------------------------------------------


async def test_officer_names_staff_from_accounts(client: httpx.AsyncClient) -> None:
    course = make_course()
    run_id = make_run(course["course"])
    _oid, officer = await _token(client, "training_officer")
    wi = make_user(name="Dr. Siti Widyaiswara")
    grader = make_user(name="Budi Penilai")
    r = await client.post(f"/api/v1/runs/{run_id}/staff",
                          json={"user_id": wi.id, "role": "facilitator", "widyaiswara": True},
                          headers=officer)  # fmt: skip
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["role"] == "facilitator" and body["widyaiswara"] and body["name"] == wi.name
    assert body["added_by_id"] == _oid
    r = await client.post(f"/api/v1/runs/{run_id}/staff",
                          json={"user_id": grader.id, "role": "grader", "external": True},
                          headers=officer)  # fmt: skip
    assert r.status_code == 201
    dup = await client.post(f"/api/v1/runs/{run_id}/staff",
                            json={"user_id": wi.id, "role": "grader"}, headers=officer)  # fmt: skip
    assert dup.status_code == 409 and dup.json()["error"] == "duplicate_staff"
    unknown = await client.post(f"/api/v1/runs/{run_id}/staff",
                                json={"user_id": 987654, "role": "grader"}, headers=officer)  # fmt: skip
    assert unknown.status_code == 422 and unknown.json()["field"] == "user_id"
    inactive = make_user(active=False)
    r = await client.post(f"/api/v1/runs/{run_id}/staff",
                          json={"user_id": inactive.id, "role": "grader"}, headers=officer)  # fmt: skip
    assert r.status_code == 422 and r.json()["field"] == "user_id"
    bad_role = await client.post(f"/api/v1/runs/{run_id}/staff",
                                 json={"user_id": grader.id, "role": "boss"}, headers=officer)  # fmt: skip
    assert bad_role.status_code == 422

    listed = (await client.get(f"/api/v1/runs/{run_id}/staff", headers=officer)).json()
    assert [(m["user_id"], m["role"]) for m in listed] == [
        (wi.id, "facilitator"),
        (grader.id, "grader"),
    ]
    r = await client.patch(f"/api/v1/runs/{run_id}/staff/{grader.id}", json={"role": "facilitator"},
                           headers=officer)  # fmt: skip
    assert r.status_code == 200 and r.json()["role"] == "facilitator"
    assert (
        await client.delete(f"/api/v1/runs/{run_id}/staff/{grader.id}", headers=officer)
    ).status_code == 204
    assert (
        await client.delete(f"/api/v1/runs/{run_id}/staff/{grader.id}", headers=officer)
    ).status_code == 404
    listed = (await client.get(f"/api/v1/runs/{run_id}/staff", headers=officer)).json()
    assert [m["user_id"] for m in listed] == [wi.id]

    # Recorded: the run's history and the audit log.
    edits = (await client.get(f"/api/v1/runs/{run_id}/edits", headers=officer)).json()
    assert [e["field"] for e in edits] == [
        "staff_removed",
        "staff_changed",
        "staff_added",
        "staff_added",
    ]
    assert "Budi Penilai" in (edits[0]["old_value"] or "")
    from app.audit.models import AuditEntry

    with session_scope() as session:
        actions = list(session.scalars(select(AuditEntry.action)))
    assert actions.count("run.staff_changed") == 4


async def test_staff_permissions(client: httpx.AsyncClient) -> None:
    course = make_course()
    run_a, run_b = make_run(course["course"]), make_run(course["course"])
    facilitator = make_user(name="Fasilitator A")
    _oid, officer = await _token(client, "training_officer")
    await client.post(f"/api/v1/runs/{run_a}/staff",
                      json={"user_id": facilitator.id, "role": "facilitator"}, headers=officer)  # fmt: skip
    fac = await api_token(client, facilitator.email or "")
    _lid, learner = await _token(client)
    other = make_user()
    body = {"user_id": other.id, "role": "grader"}
    # Anonymous 401, learner 403, facilitator cannot add staff or edit any run (officer's job).
    assert (await client.post(f"/api/v1/runs/{run_a}/staff", json=body)).status_code == 401
    assert (
        await client.post(f"/api/v1/runs/{run_a}/staff", json=body, headers=learner)
    ).status_code == 403
    assert (
        await client.post(f"/api/v1/runs/{run_a}/staff", json=body, headers=fac)
    ).status_code == 403
    assert (
        await client.patch(f"/api/v1/runs/{run_b}", json={"capacity": 5}, headers=fac)
    ).status_code == 403
    assert (
        await client.patch(f"/api/v1/runs/{run_a}", json={"capacity": 5}, headers=learner)
    ).status_code == 403
    assert (await client.patch(f"/api/v1/runs/{run_a}", json={"capacity": 5})).status_code == 401
    # Staff see their own run's staff, not another run's.
    assert (await client.get(f"/api/v1/runs/{run_a}/staff", headers=fac)).status_code == 200
    assert (await client.get(f"/api/v1/runs/{run_b}/staff", headers=fac)).status_code == 403
    assert (await client.get(f"/api/v1/runs/{run_b}/staff", headers=learner)).status_code == 403
    assert (await client.get("/api/v1/runs/987654/staff", headers=officer)).status_code == 404


async def test_survey_rates_facilitators_then_falls_back_to_legacy_names(
    client: httpx.AsyncClient,
) -> None:
    from app.courses import runs
    from app.courses.models import Run

    course = make_course()
    run_id = make_run(course["course"])
    with session_scope() as session:
        run = session.get(Run, run_id)
        assert run is not None
        run.instructors = "Narasumber Lama\nnarasumber lama\n"
        assert runs.instructor_names(session, run) == ["Narasumber Lama"]
    _oid, officer = await _token(client, "training_officer")
    plain, wi = make_user(name="Andi Fasilitator"), make_user(name="Dr. Wati Widyaiswara")
    grader = make_user(name="Gita Penilai")
    for user, extra in ((plain, {}), (wi, {"widyaiswara": True}), (grader, {"role": "grader"})):
        await client.post(f"/api/v1/runs/{run_id}/staff",
                          json={"user_id": user.id, "role": "facilitator", **extra}, headers=officer)  # fmt: skip
    with session_scope() as session:
        run = session.get(Run, run_id)
        assert run is not None
        assert runs.instructor_names(session, run) == ["Dr. Wati Widyaiswara", "Andi Fasilitator"]
    learner = make_user()
    enrol(run_id, learner.id)
    h = await api_token(client, learner.email or "")
    form = await client.get(f"/api/v1/runs/{run_id}/survey", headers=h)
    assert form.status_code == 200, form.text  # the survey form lists them in that order
    assert form.json()["instructors"] == ["Dr. Wati Widyaiswara", "Andi Fasilitator"]


# --- editing ------------------------------------------------------------------------------------


async def test_patch_run_validates_and_records_changes(client: httpx.AsyncClient) -> None:
    course = make_course()
    run_id = make_run(course["course"], capacity=3)
    for _ in range(2):
        enrol(run_id, make_user().id)
    _oid, officer = await _token(client, "training_officer", name="Petugas Diklat")
    today = clock.today()
    url = f"/api/v1/runs/{run_id}"

    async def bad(body: dict[str, object], field: str) -> str:
        r = await client.patch(url, json=body, headers=officer)
        assert r.status_code == 422, r.text
        assert r.json().get("field") == field or field in r.text, r.text
        return str(r.json()["detail"])

    await bad({"ends_on": str(today - dt.timedelta(days=31))}, "ends_on")  # before starts_on
    await bad({"enrol_opens_on": str(today), "enrol_closes_on": str(today - dt.timedelta(days=1))},
              "enrol_closes_on")  # fmt: skip
    await bad({"enrol_closes_on": str(today + dt.timedelta(days=90))}, "enrol_closes_on")
    await bad({"enrol_opens_on": str(today + dt.timedelta(days=90))}, "enrol_opens_on")
    detail = await bad({"capacity": 1}, "capacity")
    assert "2" in detail and "aktif" in detail  # says how many are active
    await bad({"capacity": 0}, "capacity")
    await bad({"funding_source": "hibah"}, "funding_source")
    await bad({"delivery_mode": "hybrid"}, "delivery_mode")
    await bad({"name": None}, "name")

    r = await client.patch(url, json={"name": "Angkatan II  Klasikal", "capacity": 10,
                                      "delivery_mode": "blended", "funding_source": "apbn",
                                      "enrol_closes_on": str(today + dt.timedelta(days=10)),
                                      "waitlist": True}, headers=officer)  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"] == "Angkatan II Klasikal" and body["capacity"] == 10
    assert body["delivery_mode"] == "blended" and body["waitlist"] is True
    assert body["funding_source"] == "apbn" and body["enrolled_count"] == 2
    r = await client.patch(url, json={"capacity": None}, headers=officer)  # no limit
    assert r.status_code == 200 and r.json()["capacity"] is None
    edits = (await client.get(f"{url}/edits", headers=officer)).json()
    changed = {(e["field"], e["old_value"], e["new_value"]) for e in edits}
    assert ("capacity", "3", "10") in changed and ("capacity", "10", None) in changed
    assert ("delivery_mode", "online", "blended") in changed
    assert ("funding_source", "apbd_kabupaten", "apbn") in changed
    assert all(e["user_name"] == "Petugas Diklat" for e in edits)
    # Nothing changed: nothing recorded.
    before = len(edits)
    assert (
        await client.patch(url, json={"delivery_mode": "blended"}, headers=officer)
    ).status_code == 200
    assert len((await client.get(f"{url}/edits", headers=officer)).json()) == before


async def test_run_create_takes_delivery_mode(client: httpx.AsyncClient) -> None:
    course = make_course()
    _oid, officer = await _token(client, "training_officer")
    today = clock.today()
    r = await client.post(f"/api/v1/courses/{course['course']}/runs",
                          json={"name": "Angkatan Klasikal", "starts_on": str(today),
                                "ends_on": str(today + dt.timedelta(days=5)),
                                "funding_source": "apbn", "delivery_mode": "klasikal",
                                "waitlist": True, "capacity": 1}, headers=officer)  # fmt: skip
    assert r.status_code == 201, r.text
    run = (await client.get(f"/api/v1/runs/{r.json()['id']}", headers=officer)).json()
    assert run["delivery_mode"] == "klasikal" and run["waitlist"] is True and run["waiting"] == 0


# --- the waiting list ---------------------------------------------------------------------------


async def test_full_run_puts_learners_in_line_and_withdrawal_promotes(
    client: httpx.AsyncClient,
) -> None:
    run_id = _waitlist_run(capacity=1)
    people = [make_user(name=f"Peserta {i}") for i in range(4)]
    tokens = [await api_token(client, p.email or "") for p in people]
    url = f"/api/v1/runs/{run_id}/enrolments"
    first = await client.post(url, json={}, headers=tokens[0])
    assert first.status_code == 201 and first.json()["status"] == "active"
    for i in (1, 2, 3):
        r = await client.post(url, json={}, headers=tokens[i])
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["status"] == "waitlisted" and body["position"] == i and body["enrolled"] == []
        assert body["waitlisted"][0]["position"] == i
    again = await client.post(url, json={}, headers=tokens[2])
    assert again.status_code == 409
    assert _enrolled_count(run_id) == 1
    # A waitlisted learner is not a member: no content, no run pages.
    content = await client.get(
        f"/api/v1/activities/{make_course_page(run_id)}/content", headers=tokens[1]
    )
    assert content.status_code == 403
    # Peserta 1 withdraws: Peserta 1 in line (people[1]) is promoted and notified.
    assert (await client.delete(f"{url}/{people[0].id}", headers=tokens[0])).status_code == 204
    statuses = _statuses(run_id)
    assert statuses[people[1].id] == "active" and statuses[people[2].id] == "waitlisted"
    assert _enrolled_count(run_id) == 1
    assert (await client.get(f"/api/v1/activities/{make_course_page(run_id)}/content",
                             headers=tokens[1])).status_code == 200  # fmt: skip
    inbox = (await client.get("/api/v1/me/notifications", headers=tokens[1])).json()
    items = inbox["items"] if isinstance(inbox, dict) else inbox
    assert any(n["event"] == "waitlist_promoted" for n in items)
    # Peserta 3 leaves the line; Peserta 2 is now first.
    assert (await client.delete(f"{url}/{people[3].id}", headers=tokens[3])).status_code == 204
    _oid, officer = await _token(client, "training_officer")
    line = (await client.get(f"/api/v1/runs/{run_id}/waitlist", headers=officer)).json()
    assert [(w["user_id"], w["position"]) for w in line] == [(people[2].id, 1)]
    assert _statuses(run_id)[people[3].id] == "withdrawn"


def make_course_page(run_id: int) -> int:
    """The first page activity of the run's course."""
    from app.courses.models import Activity, Run

    with session_scope() as session:
        run = session.get(Run, run_id)
        assert run is not None
        found = session.scalar(select(Activity.id).where(Activity.course_id == run.course_id))
        assert found is not None
        return found


async def test_capacity_increase_promotes_several_in_order(client: httpx.AsyncClient) -> None:
    run_id = _waitlist_run(capacity=1)
    _oid, officer = await _token(client, "training_officer")
    people = [make_user(name=f"ASN {i}") for i in range(5)]
    r = await client.post(f"/api/v1/runs/{run_id}/enrolments",
                          json={"user_ids": [p.id for p in people]}, headers=officer)  # fmt: skip
    assert r.status_code == 201, r.text
    body = r.json()
    assert [e["user_id"] for e in body["enrolled"]] == [people[0].id]
    assert [(w["user_id"], w["position"]) for w in body["waitlisted"]] == [
        (p.id, i) for i, p in enumerate(people[1:], start=1)
    ]
    assert body["skipped"] == []
    r = await client.patch(f"/api/v1/runs/{run_id}", json={"capacity": 3}, headers=officer)
    assert r.status_code == 200 and r.json()["enrolled_count"] == 3 and r.json()["waiting"] == 2
    statuses = _statuses(run_id)
    assert [statuses[p.id] for p in people] == [
        "active",
        "active",
        "active",
        "waitlisted",
        "waitlisted",
    ]
    # Capacity cannot drop below the active learners; removing the limit seats everyone.
    r = await client.patch(f"/api/v1/runs/{run_id}", json={"capacity": 2}, headers=officer)
    assert r.status_code == 422 and r.json()["field"] == "capacity"
    r = await client.patch(f"/api/v1/runs/{run_id}", json={"capacity": None}, headers=officer)
    assert r.json()["enrolled_count"] == 5 and r.json()["waiting"] == 0


async def test_officer_promotes_out_of_turn(client: httpx.AsyncClient) -> None:
    run_id = _waitlist_run(capacity=1)
    _oid, officer = await _token(client, "training_officer")
    a, b, c = make_user(), make_user(), make_user()
    await client.post(f"/api/v1/runs/{run_id}/enrolments", json={"user_ids": [a.id, b.id, c.id]},
                      headers=officer)  # fmt: skip
    r = await client.post(f"/api/v1/runs/{run_id}/waitlist/{c.id}/promote", headers=officer)
    assert r.status_code == 204
    assert _statuses(run_id) == {a.id: "active", b.id: "waitlisted", c.id: "active"}
    run = (await client.get(f"/api/v1/runs/{run_id}", headers=officer)).json()
    assert run["capacity"] == 2 and run["enrolled_count"] == 2  # grew by one (recorded)
    edits = (await client.get(f"/api/v1/runs/{run_id}/edits", headers=officer)).json()
    assert ("capacity", "1", "2") in {(e["field"], e["old_value"], e["new_value"]) for e in edits}
    r = await client.post(f"/api/v1/runs/{run_id}/waitlist/{c.id}/promote", headers=officer)
    assert r.status_code == 404


async def test_run_without_waitlist_still_refuses_when_full(client: httpx.AsyncClient) -> None:
    course = make_course()
    run_id = make_run(course["course"], capacity=1)
    tokens = [await api_token(client, make_user().email or "") for _ in range(2)]
    assert (
        await client.post(f"/api/v1/runs/{run_id}/enrolments", json={}, headers=tokens[0])
    ).status_code == 201
    full = await client.post(f"/api/v1/runs/{run_id}/enrolments", json={}, headers=tokens[1])
    assert full.status_code == 409 and full.json()["error"] == "run_full"
