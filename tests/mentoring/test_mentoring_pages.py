"""The mentoring pages as a browser uses them: the mentor logs a session (with evidence) and signs
off on a phone, the mentee confirms, the officer assigns (one or many) and verifies; errors are
shown next to their field and nothing is half-written; each person sees only their own."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import func, select

from app.core import clock
from app.core.db import session_scope
from app.jp.models import JpCredit
from app.mentoring.models import MentoringAssignment, MentoringSession
from tests.factories import PASSWORD, csrf_from, make_opd, make_user

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _months_back(n: int) -> dt.date:
    first = clock.today().replace(day=1)
    for _ in range(n):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return first


@asynccontextmanager
async def _browser(app: Any, username: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A signed-in browser of its own (cookies), and its CSRF token."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.20", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        page = await c.get("/login")
        r = await c.post(
            "/login",
            data={"csrf_token": csrf_from(page.text), "username": username, "password": PASSWORD,
                  "next": "/courses"},
        )  # fmt: skip
        assert r.status_code == 303, r.text
        yield c, csrf_from((await c.get("/courses")).text)


def _people() -> dict[str, Any]:
    make_opd(code="DISKOMINFO")
    return {
        "officer": make_user(roles=("training_officer",), name="Rina Petugas"),
        "mentor": make_user(roles=("mentor",), name="Kepala Dinas Kominfo", opd_code="DISKOMINFO"),
        "other_mentor": make_user(roles=("mentor",), name="Kepala Bappeda"),
        "mentee": make_user(name="Andi Pranata", opd_code="DISKOMINFO"),
        "learner": make_user(name="Budi Santoso", opd_code="DISKOMINFO"),
    }


def _count(model: Any) -> int:
    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _new_form(p: dict[str, Any], csrf: str, **extra: str) -> dict[str, str]:
    data = {
        "csrf_token": csrf, "mentor_id": str(p["mentor"].id), "nips": p["mentee"].nip,
        "competency": "literasi_digital", "goal": "Mahir memakai aplikasi SPBE",
        "planned_sessions": "4", "jp_per_session": "",
        "starts_on": _months_back(3).isoformat(),
        "ends_on": (clock.today() + dt.timedelta(days=30)).isoformat(),
    }  # fmt: skip
    data.update(extra)
    return data


async def test_mentoring_from_assignment_to_jp_through_the_pages(app: Any) -> None:
    p = _people()
    held = _months_back(1).replace(day=12)
    async with _browser(app, p["officer"].email) as (officer, o_csrf):
        form = await officer.get("/studio/mentoring/new")
        assert form.status_code == 200 and "Kepala Dinas Kominfo (DISKOMINFO)" in form.text
        assert "Kepala Bappeda" in form.text and "Andi Pranata" not in form.text
        r = await officer.post("/studio/mentoring/new", data=_new_form(p, o_csrf))
        assert r.status_code == 303, r.text
        url = r.headers["location"].split("?")[0]
        aid = int(url.rsplit("/", 1)[1])
        listing = await officer.get("/studio/mentoring?q=andi")
        assert (
            f"/mentoring/assignments/{aid}" in listing.text and "Literasi Digital" in listing.text
        )

    async with _browser(app, p["mentor"].email) as (mentor, m_csrf):
        page = await mentor.get("/mentoring/mentees")
        assert page.status_code == 200 and "Andi Pranata" in page.text and "Catat sesi" in page.text
        grow: dict[str, str] = {
            "csrf_token": m_csrf, "held_on": (clock.today() + dt.timedelta(days=2)).isoformat(),
            "duration_minutes": "45", "goal": "Memahami SPBE", "reality": "Belum paham",
            "options": "Belajar mandiri", "way_forward": "Ikut e-learning",
        }  # fmt: skip
        r = await mentor.post(f"/mentoring/assignments/{aid}/sessions", data=grow)
        assert r.status_code == 422
        assert "Tanggal sesi tidak boleh di masa depan" in r.text and 'id="e-held_on"' in r.text
        # A bad evidence file refuses the whole session: nothing half-written.
        r = await mentor.post(
            f"/mentoring/assignments/{aid}/sessions",
            data={**grow, "held_on": held.isoformat()},
            files={"evidence": ("foto.pdf", b"GIF89a" + b"\x00" * 40, "application/pdf")},
        )
        assert r.status_code == 415 and "Bukti harus berupa PDF, JPEG atau PNG" in r.text
        assert _count(MentoringSession) == 0
        r = await mentor.post(
            f"/mentoring/assignments/{aid}/sessions",
            data={**grow, "held_on": held.isoformat()},
            files={"evidence": ("notulen.pdf", PDF, "application/pdf")},
        )
        assert r.status_code == 303, r.text
        page = await mentor.get(f"/mentoring/assignments/{aid}")
        assert "Belum dikonfirmasi mentee" in page.text and "Bukti: notulen.pdf" in page.text
        r = await mentor.post(f"/mentoring/assignments/{aid}/signoff", data={"csrf_token": m_csrf})
        assert r.status_code == 422 and "dikonfirmasi mentee" in r.text
        r = await mentor.post(f"/mentoring/assignments/{aid}/signoff")  # no CSRF token
        assert r.status_code == 403

    with session_scope() as session:
        sid = session.scalar(select(MentoringSession.id))
    async with _browser(app, p["mentee"].email) as (mentee, e_csrf):
        mine = await mentee.get("/mentoring/saya")
        assert "1 sesi menunggu konfirmasi Anda" in mine.text
        page = await mentee.get(f"/mentoring/assignments/{aid}")
        assert "Konfirmasi sesi ini" in page.text and "Catat sesi" not in page.text
        evidence = await mentee.get(f"/api/v1/mentoring/assignments/{aid}/sessions/{sid}/evidence")
        assert evidence.status_code == 200 and evidence.content == PDF
        r = await mentee.post(
            f"/mentoring/assignments/{aid}/sessions/{sid}/confirm", data={"csrf_token": e_csrf}
        )
        assert r.status_code == 303

    async with _browser(app, p["mentor"].email) as (mentor, m_csrf):
        r = await mentor.post(f"/mentoring/assignments/{aid}/signoff", data={"csrf_token": m_csrf})
        assert r.status_code == 303
        assert "Menunggu verifikasi" in (await mentor.get(f"/mentoring/assignments/{aid}")).text

    async with _browser(app, p["officer"].email) as (officer, o_csrf):
        queue = await officer.get("/studio/mentoring?status=signed_off")
        assert f"/mentoring/assignments/{aid}#verifikasi" in queue.text
        r = await officer.post(
            f"/mentoring/assignments/{aid}/verify",
            data={"csrf_token": o_csrf, "approved": "0", "reason": ""},
        )
        assert r.status_code == 422 and "Alasan wajib diisi" in r.text
        assert _count(JpCredit) == 0
        r = await officer.post(
            f"/mentoring/assignments/{aid}/verify", data={"csrf_token": o_csrf, "approved": "1"}
        )
        assert r.status_code == 303
        page = await officer.get(r.headers["location"])
        assert "2 JP dikreditkan" in page.text
    with session_scope() as session:
        credit = session.scalars(select(JpCredit)).one()
        assert (credit.user_id, credit.jp, credit.credited_on) == (p["mentee"].id, 2.0, held)


async def test_each_person_sees_only_their_own_pages(app: Any, client: httpx.AsyncClient) -> None:
    p = _people()
    async with _browser(app, p["officer"].email) as (officer, o_csrf):
        r = await officer.post("/studio/mentoring/new", data=_new_form(p, o_csrf))
        aid = int(r.headers["location"].split("?")[0].rsplit("/", 1)[1])
    checks: list[tuple[str, str, int, Callable[[str], bool]]] = [
        ("other_mentor", f"/mentoring/assignments/{aid}", 404, lambda t: True),
        ("learner", f"/mentoring/assignments/{aid}", 404, lambda t: True),
        ("other_mentor", "/mentoring/mentees", 200, lambda t: "Andi Pranata" not in t),
        ("learner", "/mentoring/saya", 200, lambda t: "Anda belum mengikuti mentoring" in t),
        ("mentee", "/mentoring/mentees", 200, lambda t: "Belum ada mentee" in t),
        ("mentor", "/studio/mentoring", 403, lambda t: True),
        ("learner", "/studio/mentoring/new", 403, lambda t: True),
    ]
    for who, url, status, ok in checks:
        async with _browser(app, p[who].email) as (browser, _csrf):
            r = await browser.get(url)
            assert r.status_code == status, (who, url, r.status_code)
            assert ok(r.text), (who, url)
    async with _browser(app, p["other_mentor"].email) as (browser, csrf):
        r = await browser.post(f"/mentoring/assignments/{aid}/signoff", data={"csrf_token": csrf})
        assert r.status_code == 404
    async with _browser(app, p["mentee"].email) as (browser, csrf):
        r = await browser.post(
            f"/mentoring/assignments/{aid}/verify", data={"csrf_token": csrf, "approved": "1"}
        )
        assert r.status_code == 403


async def test_officer_assigns_many_by_nip_and_sees_each_result(app: Any) -> None:
    p = _people()
    others = [make_user(name=f"Peserta {i}", opd_code="DISKOMINFO") for i in range(2)]
    async with _browser(app, p["officer"].email) as (officer, csrf):
        prefilled = await officer.get(
            f"/studio/mentoring/new?competency=literasi_digital&mentee={others[0].id}&mentee={others[1].id}"
        )
        assert others[0].nip in prefilled.text and others[1].nip in prefilled.text
        r = await officer.post(
            "/studio/mentoring/new", data=_new_form(p, csrf, nips="199001019999")
        )
        assert r.status_code == 422 and "NIP tidak ditemukan: 199001019999" in r.text
        r = await officer.post(
            "/studio/mentoring/new", data=_new_form(p, csrf, planned_sessions="30")
        )
        assert r.status_code == 422 and "melebihi yang muat dalam periode" in r.text
        r = await officer.post("/studio/mentoring/new", data=_new_form(p, csrf, mentor_id=""))
        assert r.status_code == 422 and "Pilih mentor." in r.text
        r = await officer.post(
            "/studio/mentoring/new", data=_new_form(p, csrf, mentor_id=str(p["learner"].id))
        )
        assert r.status_code == 422 and "tidak memiliki peran mentor" in r.text
        assert _count(MentoringAssignment) == 0
        await officer.post("/studio/mentoring/new", data=_new_form(p, csrf))
        nips = "\n".join([p["mentee"].nip, others[0].nip, f" {others[1].nip} "])
        r = await officer.post("/studio/mentoring/new", data=_new_form(p, csrf, nips=nips))
        assert r.status_code == 200, r.text
        assert "2 penugasan dibuat" in r.text and "Peserta 0" in r.text and "Peserta 1" in r.text
        assert "Andi Pranata sudah punya penugasan berjalan" in r.text
    assert _count(MentoringAssignment) == 3
