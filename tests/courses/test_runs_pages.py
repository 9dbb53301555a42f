"""Run pages: the studio run page (edit form, staff, waiting list, history), the teaching hub,
the learner's waiting-list place and the dashboard's "Angkatan yang Anda ampu"."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import select

from app.core import clock
from app.core.db import session_scope
from tests.factories import browser_login, enrol, make_activity, make_course, make_run, make_user


def _waitlist_run(capacity: int) -> tuple[int, int]:
    from app.courses.models import Run

    course = make_course(title="Latsar CPNS Golongan III")
    run_id = make_run(course["course"], capacity=capacity)
    with session_scope() as session:
        run = session.get(Run, run_id)
        assert run is not None
        run.waitlist = True
    return course["course"], run_id


def _status(run_id: int, user_id: int) -> str | None:
    from app.courses.models import Enrolment

    with session_scope() as session:
        return session.scalar(
            select(Enrolment.status).where(Enrolment.run_id == run_id, Enrolment.user_id == user_id)
        )


async def _officer(client: httpx.AsyncClient) -> str:
    officer = make_user(roles=("training_officer",), name="Petugas Diklat")
    return await browser_login(client, officer.email or "")


async def test_studio_run_page_edits_and_records(client: httpx.AsyncClient) -> None:
    _course_id, run_id = _waitlist_run(capacity=2)
    enrol(run_id, make_user().id)
    csrf = await _officer(client)
    page = await client.get(f"/studio/runs/{run_id}")
    assert page.status_code == 200
    for text in ("Ubah angkatan", "Pengajar angkatan", "Daftar tunggu", "Riwayat perubahan"):
        assert text in page.text
    today = clock.today()
    form = {
        "csrf_token": csrf, "name": "Angkatan Blended", "starts_on": str(today),
        "ends_on": str(today - dt.timedelta(days=1)), "capacity": "2",
        "funding_source": "apbn", "delivery_mode": "blended", "waitlist": "on",
    }  # fmt: skip
    bad = await client.post(f"/studio/runs/{run_id}/edit", data=form)
    assert bad.status_code == 422
    assert 'id="edit-ends_on-error"' in bad.text and "Angkatan Blended" in bad.text
    form["ends_on"] = str(today + dt.timedelta(days=20))
    form["capacity"] = "0"
    bad = await client.post(f"/studio/runs/{run_id}/edit", data=form)
    assert bad.status_code == 422 and 'id="edit-capacity-error"' in bad.text
    form["capacity"] = "5"
    saved = await client.post(f"/studio/runs/{run_id}/edit", data=form)
    assert saved.status_code == 303
    page = await client.get(saved.headers["location"])
    assert "Perubahan angkatan disimpan." in page.text
    history = page.text[page.text.index('id="run-history"') :]
    assert (
        "Moda penyelenggaraan" in history and "Blended" in history and "Petugas Diklat" in history
    )
    assert "Kuota" in history


async def test_studio_staff_picker_and_waiting_list(client: httpx.AsyncClient) -> None:
    _course_id, run_id = _waitlist_run(capacity=1)
    wi = make_user(name="Dr. Ratna Widyaiswara")
    first, second = make_user(name="Ani Aktif"), make_user(name="Beni Menunggu")
    csrf = await _officer(client)
    found = await client.get(f"/studio/runs/{run_id}", params={"staff_q": "ratna"})
    assert f'value="{wi.id}"' in found.text
    by_nip = await client.get(f"/studio/runs/{run_id}", params={"staff_q": wi.nip})
    assert f'value="{wi.id}"' in by_nip.text
    added = await client.post(f"/studio/runs/{run_id}/staff",
                              data={"csrf_token": csrf, "user_id": str(wi.id),
                                    "role": "facilitator", "widyaiswara": "on"})  # fmt: skip
    assert added.status_code == 303
    dup = await client.post(f"/studio/runs/{run_id}/staff",
                            data={"csrf_token": csrf, "user_id": str(wi.id), "role": "grader"})  # fmt: skip
    assert dup.status_code == 409 and "sudah menjadi pengajar" in dup.text
    page = await client.get(f"/studio/runs/{run_id}")
    staff = page.text[page.text.index('id="run-staff"') : page.text.index('id="run-waitlist"')]
    assert "Dr. Ratna Widyaiswara" in staff and "widyaiswara" in staff
    # Enrol two by NIP: the second waits, and is promoted from the page.
    r = await client.post(f"/studio/runs/{run_id}/enrol/nips",
                          data={"csrf_token": csrf, "nips": f"{first.nip}\n{second.nip}"})  # fmt: skip
    assert "1 orang masuk daftar tunggu" in r.text
    line = r.text[r.text.index('id="run-waitlist"') :]
    assert "Beni Menunggu" in line
    promoted = await client.post(f"/studio/runs/{run_id}/waitlist/{second.id}/promote",
                                 data={"csrf_token": csrf})  # fmt: skip
    assert promoted.status_code == 303 and _status(run_id, second.id) == "active"
    removed = await client.post(
        f"/studio/runs/{run_id}/staff/{wi.id}/remove", data={"csrf_token": csrf}
    )
    assert removed.status_code == 303
    # Without the CSRF token nothing changes.
    refused = await client.post(f"/studio/runs/{run_id}/staff",
                                data={"user_id": str(wi.id), "role": "facilitator"})  # fmt: skip
    assert refused.status_code == 403


async def test_teach_hub_is_for_this_runs_staff(client: httpx.AsyncClient) -> None:
    course = make_course(title="Bimtek Klasikal")
    run_a, run_b = make_run(course["course"]), make_run(course["course"])
    facilitator = make_user(name="Fasilitator A")
    from app.courses.models import RunStaff

    with session_scope() as session:
        session.add(RunStaff(run_id=run_a, user_id=facilitator.id, role="facilitator"))
    anonymous = await client.get(f"/runs/{run_a}/teach")
    assert anonymous.status_code in (303, 401)
    await browser_login(client, facilitator.email or "")
    hub = await client.get(f"/runs/{run_a}/teach")
    assert hub.status_code == 200, hub.text
    for link in (f"/runs/{run_a}/forum", f"/runs/{run_a}/gradebook"):
        assert link in hub.text
    assert (await client.get(f"/runs/{run_b}/teach")).status_code == 403
    home = await client.get("/")
    teaching = home.text[home.text.index('id="teaching-title"') :]
    assert "Angkatan yang Anda ampu" in home.text and f"/runs/{run_a}/teach" in teaching
    assert f"/runs/{run_b}/teach" not in teaching


async def test_teach_hub_lists_sessions_and_assignments(client: httpx.AsyncClient) -> None:
    ids = make_course(title="Latsar")
    run_id = make_run(ids["course"])
    live = make_activity(ids["section"], kind="live_session", title="Sesi Kelas 1")
    task = make_activity(ids["section"], kind="assignment", title="Laporan Aktualisasi")
    csrf = await _officer(client)
    hub = await client.get(f"/runs/{run_id}/teach")
    assert hub.status_code == 200
    assert f"/sessions/{live}?run_id={run_id}" in hub.text and "Sesi Kelas 1" in hub.text
    assert f"/assignments/{task}/grading?run_id={run_id}" in hub.text
    learner = make_user()
    enrol(run_id, learner.id)
    await client.post("/logout", data={"csrf_token": csrf})
    client.cookies.clear()
    await browser_login(client, learner.email or "")
    assert (await client.get(f"/runs/{run_id}/teach")).status_code == 403


async def test_learner_sees_waiting_place_and_leaves(client: httpx.AsyncClient) -> None:
    course_id, run_id = _waitlist_run(capacity=1)
    enrol(run_id, make_user().id)
    learner = make_user(name="Citra Menunggu")
    csrf = await browser_login(client, learner.email or "")
    joined = await client.post(f"/runs/{run_id}/enrol", data={"csrf_token": csrf})
    assert joined.status_code == 303 and "waitlisted=1" in joined.headers["location"]
    page = await client.get(joined.headers["location"])
    assert "Kuota angkatan penuh; Anda masuk daftar tunggu" in page.text
    assert "urutan ke-1" in page.text
    assert f'action="/runs/{run_id}/waitlist/leave"' in page.text
    left = await client.post(f"/runs/{run_id}/waitlist/leave", data={"csrf_token": csrf})
    assert left.status_code == 303
    assert _status(run_id, learner.id) == "withdrawn"
    page = await client.get(f"/courses/{course_id}?left_waitlist=1")
    assert "Anda keluar dari daftar tunggu." in page.text and "urutan ke-" not in page.text
