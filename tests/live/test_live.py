"""Live sessions: the kind through the course API, join-link visibility, the rotating QR
(valid, expired at 61 s, other run, once), manual and bulk marking, Zoom/Meet report import,
run-scope permissions and the calendar feed."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import httpx
import icalendar
import pytest
from PIL import Image

from app.core import clock
from app.core.db import session_scope
from app.courses.models import RunStaff
from app.live import service
from tests.clocks import freeze_clock
from tests.factories import api_token, browser_login, enrol, make_course, make_run, make_user

DATA = Path(__file__).resolve().parent.parent / "data" / "live"
# A Monday 08:00 WIB, the session starts then (the clock is frozen around it).
START = dt.datetime(2026, 12, 7, 8, 0, tzinfo=clock.institution_tz())


def add_staff(run_id: int, user_id: int, role: str = "facilitator") -> None:
    with session_scope() as session:
        session.add(RunStaff(run_id=run_id, user_id=user_id, role=role))


async def create_session(
    client: httpx.AsyncClient, headers: dict[str, str], section_id: int, **extra: Any
) -> httpx.Response:
    data = {
        "kind": "live_session", "title": "Sesi Aktualisasi", "starts_at": "2026-12-07T08:00",
        "ends_at": "2026-12-07T10:00", "platform": "zoom",
        "join_url": "https://zoom.us/j/81234567890", **extra,
    }  # fmt: skip
    return await client.post(
        f"/api/v1/sections/{section_id}/activities", data=data, headers=headers
    )


@pytest.fixture
async def world(client: httpx.AsyncClient) -> dict[str, Any]:
    ids = make_course(pages=1)
    run_a, run_b = make_run(ids["course"]), make_run(ids["course"])
    admin = make_user(roles=("content_admin",), name="Admin Konten")
    fac_a = make_user(roles=("learner",), name="Fasilitator A")
    fac_b = make_user(roles=("learner",), name="Fasilitator B")
    add_staff(run_a, fac_a.id)
    add_staff(run_b, fac_b.id)
    budi = make_user(name="Budi Santoso", email="budi.santoso@example.go.id")
    siti = make_user(name="Siti Rahmawati", email="siti.r@example.go.id")
    agus = make_user(name="Agus Salim", email="agus@example.go.id")
    other = make_user(name="Peserta Lain")
    enrolments = {u.id: enrol(run_a, u.id) for u in (budi, siti, agus)}
    enrol(run_b, other.id)
    headers = await api_token(client, admin.nip or "")
    response = await create_session(client, headers, ids["section"])
    assert response.status_code == 201, response.text
    return {
        "ids": ids, "run_a": run_a, "run_b": run_b, "admin": admin, "fac_a": fac_a,
        "fac_b": fac_b, "budi": budi, "siti": siti, "agus": agus, "other": other,
        "enrolments": enrolments, "aid": response.json()["id"], "admin_h": headers,
    }  # fmt: skip


async def h(client: httpx.AsyncClient, user: Any) -> dict[str, str]:
    return await api_token(client, user.nip)


# --- the kind ------------------------------------------------------------------------------------


async def test_kind_created_by_admin_and_facilitator_not_by_learner(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    section = world["ids"]["section"]
    fac = await create_session(client, await h(client, world["fac_a"]), section,
                               platform="classroom", join_url="", location="Aula BKPSDM")  # fmt: skip
    assert fac.status_code == 201, fac.text
    learner = await create_session(client, await h(client, world["budi"]), section)
    assert learner.status_code == 403
    bad = await create_session(client, world["admin_h"], section, join_url="http://zoom.us/j/1")
    assert bad.status_code == 422 and "join_url" in bad.text
    backwards = await create_session(client, world["admin_h"], section, ends_at="2026-12-07T07:00")
    assert backwards.status_code == 422
    read = await client.get(f"/api/v1/sessions/{world['aid']}", headers=world["admin_h"])
    assert read.status_code == 200
    # naive times are the institution's (WIB): 08:00 WIB is 01:00 UTC
    assert read.json()["starts_at"].startswith("2026-12-07T01:00:00")


async def test_join_link_for_enrolled_learners_from_the_opening_time(
    client: httpx.AsyncClient, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"/api/v1/sessions/{world['aid']}"
    budi = await h(client, world["budi"])
    freeze_clock(monkeypatch, START - dt.timedelta(minutes=31))
    early = (await client.get(url, headers=budi)).json()
    assert early["join_url"] is None
    staff = (await client.get(url, headers=await h(client, world["fac_a"]))).json()
    assert staff["join_url"] == "https://zoom.us/j/81234567890"
    freeze_clock(monkeypatch, START - dt.timedelta(minutes=29))
    assert (await client.get(url, headers=budi)).json()["join_url"].startswith("https://zoom.us")
    outsider = make_user(name="Bukan Peserta")
    assert (await client.get(url, headers=await h(client, outsider))).status_code == 403
    other_run = await client.get(f"{url}?run_id={world['run_a']}",
                                 headers=await h(client, world["other"]))  # fmt: skip
    assert other_run.status_code == 403
    assert (await client.get(url)).status_code == 401


async def test_run_schedule_and_ics(client: httpx.AsyncClient, world: dict[str, Any]) -> None:
    aid, run_a, run_b = world["aid"], world["run_a"], world["run_b"]
    fac_a = await h(client, world["fac_a"])
    put = await client.put(
        f"/api/v1/sessions/{aid}/schedule?run_id={run_a}", headers=fac_a,
        json={"starts_at": "2026-12-09T13:00", "ends_at": "2026-12-09T15:00",
              "location": "Ruang Kelas 2"},
    )  # fmt: skip
    assert put.status_code == 200, put.text
    assert put.json()["location"] == "Ruang Kelas 2"
    denied = await client.put(f"/api/v1/sessions/{aid}/schedule?run_id={run_b}", headers=fac_a,
                              json={"location": "x"})  # fmt: skip
    assert denied.status_code == 403
    ics = await client.get(f"/api/v1/sessions/{aid}.ics", headers=await h(client, world["budi"]))
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    event = next(iter(icalendar.Calendar.from_ical(ics.content).walk("VEVENT")))
    start = event.decoded("dtstart")
    assert start == dt.datetime(2026, 12, 9, 13, 0, tzinfo=clock.institution_tz())
    assert str(event["location"]) == "Ruang Kelas 2"
    # the other run keeps the default
    other = await client.get(f"/api/v1/sessions/{aid}", headers=await h(client, world["other"]))
    assert other.json()["starts_at"].startswith("2026-12-07T01:00")


# --- the QR ---------------------------------------------------------------------------------------


def token_of(url: str) -> str:
    found = re.search(r"/attend\?t=([^&\s]+)", url)
    assert found
    return found.group(1)


async def test_qr_valid_then_expired_at_61s_other_run_and_once(
    client: httpx.AsyncClient, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    aid, run_a = world["aid"], world["run_a"]
    at = START + dt.timedelta(minutes=2)  # a step boundary (30 s steps)
    freeze_clock(monkeypatch, at)
    fac_a = await h(client, world["fac_a"])
    qr = await client.get(f"/api/v1/sessions/{aid}/qr?run_id={run_a}", headers=fac_a)
    assert qr.status_code == 200, qr.text
    body = qr.json()
    assert body["url"].startswith("http://testserver/attend?t=")
    assert dt.datetime.fromisoformat(body["expires_at"]) == at + dt.timedelta(seconds=60)
    token = token_of(body["url"])

    await browser_login(client, world["budi"].nip)
    freeze_clock(monkeypatch, at + dt.timedelta(seconds=59))
    first = await client.get(f"/attend?t={token}")
    assert first.status_code == 200 and "tercatat" in first.text
    again = await client.get(f"/attend?t={token}")
    assert again.status_code == 200 and "sudah tercatat" in again.text
    rows = (await client.get(f"/api/v1/sessions/{aid}/attendance?run_id={run_a}",
                             headers=fac_a)).json()  # fmt: skip
    budi = next(r for r in rows if r["user_id"] == world["budi"].id)
    assert (budi["status"], budi["method"]) == ("present", "qr")
    assert sum(1 for r in rows if r["status"]) == 1

    client.cookies.clear()
    await browser_login(client, world["siti"].nip)
    freeze_clock(monkeypatch, at + dt.timedelta(seconds=61))
    late = await client.get(f"/attend?t={token}")
    assert late.status_code == 409 and "kedaluwarsa" in late.text

    # a learner of run B cannot use run A's code; a forged token is refused
    client.cookies.clear()
    await browser_login(client, world["other"].nip)
    freeze_clock(monkeypatch, at + dt.timedelta(seconds=10))
    wrong = await client.get(f"/attend?t={token}")
    assert wrong.status_code == 403
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert (await client.get(f"/attend?t={forged}")).status_code == 400


async def test_scan_after_grace_is_late_and_completes(
    client: httpx.AsyncClient, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    aid, run_a = world["aid"], world["run_a"]
    at = START + dt.timedelta(minutes=20)
    freeze_clock(monkeypatch, at)
    qr = await client.get(f"/api/v1/sessions/{aid}/qr?run_id={run_a}",
                          headers=await h(client, world["fac_a"]))  # fmt: skip
    await browser_login(client, world["agus"].nip)
    page = await client.get(f"/attend?t={token_of(qr.json()['url'])}")
    assert page.status_code == 200 and "Terlambat" in page.text
    from app.progress import service as progress_service

    with session_scope() as session:
        rows = progress_service.statuses(session, world["enrolments"][world["agus"].id])
        assert rows[aid].status == "completed"


async def test_anonymous_scan_goes_to_login_then_back(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    response = await client.get("/attend?t=1-2-3-abcdefghijabcdefghijab")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/attend")


async def test_qr_page_renders_a_decodable_code(
    client: httpx.AsyncClient, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import zxingcpp

    freeze_clock(monkeypatch, START)
    aid, run_a = world["aid"], world["run_a"]
    await browser_login(client, world["fac_a"].nip)
    page = await client.get(f"/sessions/{aid}/qr?run_id={run_a}")
    assert page.status_code == 200
    assert "<svg" in page.text and 'hx-trigger="every 5s"' in page.text
    assert "js/live-qr" in page.text and "<script>" not in page.text
    png = await client.get(f"/sessions/{aid}/qr.png?run_id={run_a}")
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)).convert("L"))
    assert found, "no QR code found"
    url = found[0].text
    shown = re.search(r'<p class="qr-link"><small>([^<]+)</small>', page.text)
    assert shown and shown.group(1).replace("&amp;", "&") == url
    client.cookies.clear()
    await browser_login(client, world["budi"].nip)
    scanned = await client.get(url.removeprefix("http://testserver"))
    assert scanned.status_code == 200 and "tercatat" in scanned.text
    # the facilitator of run B sees no QR of run A
    client.cookies.clear()
    await browser_login(client, world["fac_b"].nip)
    assert (await client.get(f"/sessions/{aid}/qr?run_id={run_a}")).status_code == 403


# --- manual and bulk ------------------------------------------------------------------------------


async def test_manual_and_bulk_marking(client: httpx.AsyncClient, world: dict[str, Any]) -> None:
    aid, run_a = world["aid"], world["run_a"]
    fac_a = await h(client, world["fac_a"])
    one = await client.post(f"/api/v1/sessions/{aid}/attendance", headers=fac_a,
                            json={"user_id": world["siti"].id, "status": "excused"})  # fmt: skip
    assert one.status_code == 200, one.text
    bulk = await client.post(f"/api/v1/sessions/{aid}/attendance/bulk?run_id={run_a}",
                             headers=fac_a, json={"status": "absent", "all_unmarked": True})  # fmt: skip
    assert bulk.json() == {"marked": 2}
    chosen = await client.post(f"/api/v1/sessions/{aid}/attendance/bulk?run_id={run_a}",
                               headers=fac_a,
                               json={"status": "present", "user_ids": [world["budi"].id]})  # fmt: skip
    assert chosen.json() == {"marked": 1}
    rows = {r["user_id"]: r["status"] for r in (await client.get(
        f"/api/v1/sessions/{aid}/attendance?run_id={run_a}", headers=fac_a)).json()}  # fmt: skip
    assert rows == {world["budi"].id: "present", world["siti"].id: "excused",
                    world["agus"].id: "absent"}  # fmt: skip
    with session_scope() as session:
        summary = service.attendance_of(session, run_a, world["budi"].id)
        everyone = service.attendance_by_user(session, run_a)
    assert (summary.sessions, summary.attended, summary.percent) == (1, 1, 100.0)
    assert summary.attended_minutes == 120
    assert everyone[world["siti"].id].percent == 100.0  # excused: nothing due
    assert everyone[world["agus"].id].percent == 0.0
    # the sheet page, bulk form for the selected
    await browser_login(client, world["fac_a"].nip)
    page = await client.get(f"/sessions/{aid}/attendance?run_id={run_a}")
    assert page.status_code == 200 and "Budi Santoso" in page.text


@pytest.mark.parametrize("who", ["fac_b", "other", "anonymous"])
async def test_other_run_staff_learner_and_anonymous_refused(
    client: httpx.AsyncClient, world: dict[str, Any], who: str
) -> None:
    aid, run_a = world["aid"], world["run_a"]
    headers = {} if who == "anonymous" else await h(client, world[who])
    expected = 401 if who == "anonymous" else 403
    base = f"/api/v1/sessions/{aid}"
    assert (
        await client.get(f"{base}/attendance?run_id={run_a}", headers=headers)
    ).status_code == expected
    posted = await client.post(f"{base}/attendance?run_id={run_a}", headers=headers,
                               json={"user_id": world["budi"].id, "status": "present"})  # fmt: skip
    assert posted.status_code == expected
    assert (await client.get(f"{base}/qr?run_id={run_a}", headers=headers)).status_code == expected
    imported = await client.post(
        f"{base}/attendance?run_id={run_a}", headers=headers,
        files={"file": ("z.csv", (DATA / "zoom_participants.csv").read_bytes(), "text/csv")},
    )  # fmt: skip
    assert imported.status_code == expected


# --- report imports ------------------------------------------------------------------------------


async def test_zoom_report_import(client: httpx.AsyncClient, world: dict[str, Any]) -> None:
    aid, run_a = world["aid"], world["run_a"]
    fac_a = await h(client, world["fac_a"])
    response = await client.post(
        f"/api/v1/sessions/{aid}/attendance?run_id={run_a}", headers=fac_a,
        files={"file": ("participants.csv", (DATA / "zoom_participants.csv").read_bytes(),
                        "text/csv")},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    # Budi by e-mail (two rows, 64 + 57 = 121 min), Siti by original name, Agus by name
    # without titles; the facilitator's own row and the phone are listed for review
    assert body["matched"] == 3
    assert sorted(u["name"] for u in body["unmatched"]) == ["Fasilitator BKPSDM", "iPhone Pak Made"]
    rows = {r["user_id"]: r for r in (await client.get(
        f"/api/v1/sessions/{aid}/attendance?run_id={run_a}", headers=fac_a)).json()}  # fmt: skip
    assert (rows[world["budi"].id]["status"], rows[world["budi"].id]["minutes"]) == ("present", 120)
    assert rows[world["siti"].id]["status"] == "present"  # 119 of 120 minutes
    assert (rows[world["agus"].id]["status"], rows[world["agus"].id]["minutes"]) == ("present", 90)
    assert {r["method"] for r in rows.values()} == {"import"}
    # resolve: the phone row is Agus's (adds 15 min), the facilitator's row is ignored
    phone = next(u for u in body["unmatched"] if u["name"].startswith("iPhone"))
    own = next(u for u in body["unmatched"] if u["name"].startswith("Fasilitator"))
    r1 = await client.post(f"/api/v1/sessions/{aid}/attendance/unmatched/{phone['id']}?run_id={run_a}",
                           headers=fac_a, json={"user_id": world["agus"].id})  # fmt: skip
    r2 = await client.post(f"/api/v1/sessions/{aid}/attendance/unmatched/{own['id']}?run_id={run_a}",
                           headers=fac_a, json={"user_id": None})  # fmt: skip
    assert (r1.status_code, r2.status_code) == (204, 204)
    left = await client.get(f"/api/v1/sessions/{aid}/attendance/unmatched?run_id={run_a}",
                            headers=fac_a)  # fmt: skip
    assert left.json() == []


async def test_meet_reports_import(client: httpx.AsyncClient, world: dict[str, Any]) -> None:
    aid, run_a = world["aid"], world["run_a"]
    fac_a = await h(client, world["fac_a"])
    first = await client.post(
        f"/api/v1/sessions/{aid}/attendance?run_id={run_a}", headers=fac_a,
        files={"file": ("meet.csv", (DATA / "meet_attendance.csv").read_bytes(), "text/csv")},
    )  # fmt: skip
    body = first.json()
    assert body["matched"] == 3 and [u["name"] for u in body["unmatched"]] == ["Tamu Undangan"]
    rows = {r["user_id"]: r["status"] for r in (await client.get(
        f"/api/v1/sessions/{aid}/attendance?run_id={run_a}", headers=fac_a)).json()}  # fmt: skip
    # 118 min present; 80 min short of 90 (75%) by more than the 15 min grace... late band is
    # 75..89: 80 is late; 45 min absent
    assert rows == {world["budi"].id: "present", world["siti"].id: "late",
                    world["agus"].id: "absent"}  # fmt: skip
    second = await client.post(
        f"/api/v1/sessions/{aid}/attendance?run_id={run_a}", headers=fac_a,
        files={"file": ("meet2.csv", (DATA / "meet_participants.csv").read_bytes(), "text/csv")},
    )  # fmt: skip
    assert second.json()["matched"] == 2
    assert [u["name"] for u in second.json()["unmatched"]] == ["Orang Asing"]


async def test_unknown_report_is_422(client: httpx.AsyncClient, world: dict[str, Any]) -> None:
    response = await client.post(
        f"/api/v1/sessions/{world['aid']}/attendance?run_id={world['run_a']}",
        headers=await h(client, world["fac_a"]),
        files={"file": ("x.csv", b"a,b,c\n1,2,3\n", "text/csv")},
    )  # fmt: skip
    assert response.status_code == 422


# --- calendar -------------------------------------------------------------------------------------


async def test_calendar_feed(client: httpx.AsyncClient, world: dict[str, Any]) -> None:
    budi = await h(client, world["budi"])
    link = (await client.get("/api/v1/me/calendar", headers=budi)).json()["url"]
    key = link.split("key=", 1)[1]
    feed = await client.get(f"/api/v1/me/calendar.ics?key={key}")
    assert feed.status_code == 200
    cal = icalendar.Calendar.from_ical(feed.content)
    events = list(cal.walk("VEVENT"))
    assert len(events) == 1
    event = events[0]
    assert event.decoded("dtstart") == START
    assert event["dtstart"].params["TZID"] == "Asia/Jakarta"
    assert list(cal.walk("VTIMEZONE"))
    assert str(event["uid"]) == f"live-{world['aid']}-run-{world['run_a']}@testserver"
    assert "Sesi Aktualisasi" in str(event["summary"]) and event.get("dtstamp")
    assert str(event["url"]).endswith(f"/activities/{world['aid']}")
    assert (await client.get("/api/v1/me/calendar.ics?key=salah")).status_code == 404
    renewed = (await client.post("/api/v1/me/calendar/key", headers=budi)).json()["url"]
    assert renewed != link
    assert (await client.get(f"/api/v1/me/calendar.ics?key={key}")).status_code == 404
    # the facilitator's feed has their run's session too
    fac = await h(client, world["fac_a"])
    fac_link = (await client.get("/api/v1/me/calendar", headers=fac)).json()["url"]
    fac_feed = await client.get(fac_link.removeprefix("http://testserver"))
    assert len(list(icalendar.Calendar.from_ical(fac_feed.content).walk("VEVENT"))) == 1
    await browser_login(client, world["budi"].nip)
    page = await client.get("/me/calendar")
    assert page.status_code == 200 and "calendar.ics?key=" in page.text


async def test_feed_has_assignment_deadlines_in_local_time(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    created = await client.post(
        f"/api/v1/sections/{world['ids']['section']}/activities", headers=world["admin_h"],
        data={"kind": "assignment", "title": "Laporan Aktualisasi",
              "instructions": "Unggah laporan.", "due_at": "2026-12-20T23:59"},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    budi = await h(client, world["budi"])
    link = (await client.get("/api/v1/me/calendar", headers=budi)).json()["url"]
    feed = await client.get(link.removeprefix("http://testserver"))
    events = {str(e["uid"]): e for e in icalendar.Calendar.from_ical(feed.content).walk("VEVENT")}
    due = events[f"assignment-{created.json()['id']}-run-{world['run_a']}@testserver"]
    assert due.decoded("dtstart") == dt.datetime(2026, 12, 20, 23, 59,
                                                 tzinfo=clock.institution_tz())  # fmt: skip
    assert "Laporan Aktualisasi" in str(due["summary"])


async def test_activity_page_shows_the_session(
    client: httpx.AsyncClient, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze_clock(monkeypatch, START - dt.timedelta(minutes=10))
    await browser_login(client, world["budi"].nip)
    page = await client.get(f"/activities/{world['aid']}")
    assert page.status_code == 200, page.text
    assert "Gabung ke sesi" in page.text and "https://zoom.us/j/81234567890" in page.text
    assert "08:00" in page.text  # local time (WIB)
    client.cookies.clear()
    await browser_login(client, world["fac_a"].nip)
    staff_page = await client.get(f"/activities/{world['aid']}")
    assert f"/sessions/{world['aid']}?run_id={world['run_a']}" in staff_page.text
    session_page = await client.get(f"/sessions/{world['aid']}?run_id={world['run_a']}")
    assert session_page.status_code == 200 and "QR presensi" in session_page.text
    wrong = await client.get(f"/sessions/{world['aid']}?run_id={world['run_b']}")
    assert wrong.status_code == 403
