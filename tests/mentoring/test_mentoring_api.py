"""Mentoring (induksi) through the API: an assignment from creation to JP in the ledger with each
rule refused with its message, who sees what, evidence uploads, bulk assignment, SIASN rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.core import clock
from app.core.db import session_scope
from app.jp.models import JpCredit
from app.mentoring import service
from app.mentoring.models import MentoringAssignment
from tests.factories import api_token, make_opd, make_user
from tests.queries import count_queries

API = "/api/v1/mentoring"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _months_back(n: int) -> dt.date:
    """The first day of the month `n` months before this one (always fully in the past)."""
    first = clock.today().replace(day=1)
    for _ in range(n):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return first


def _grow(**extra: Any) -> dict[str, Any]:
    body = {
        "duration_minutes": 60,
        "goal": "Menyusun rencana keamanan informasi",
        "reality": "Belum ada SOP insiden",
        "options": "Adopsi SOP BSSN; pelatihan singkat",
        "way_forward": "Draf SOP dalam dua minggu",
    }
    body.update(extra)
    return body


async def _people(client: httpx.AsyncClient) -> dict[str, Any]:
    make_opd(code="DISKOMINFO")
    make_opd(code="BAPPEDA", name="Badan Perencanaan Pembangunan Daerah")
    officer = make_user(roles=("training_officer",), name="Rina Petugas")
    mentor = make_user(
        roles=("learner", "mentor"), name="Kepala Dinas Kominfo", opd_code="DISKOMINFO"
    )
    other_mentor = make_user(roles=("mentor",), name="Kepala Bappeda", opd_code="BAPPEDA")
    mentee = make_user(name="Andi Pranata", opd_code="DISKOMINFO")
    other_mentee = make_user(name="Budi Santoso", opd_code="BAPPEDA")
    users = {
        "officer": officer, "mentor": mentor, "other_mentor": other_mentor, "mentee": mentee,
        "other_mentee": other_mentee,
    }  # fmt: skip
    out: dict[str, Any] = {k: v.id for k, v in users.items()}
    for key, user in users.items():
        out[f"h_{key}"] = await api_token(client, user.email or "")
    return out


def _assignment(p: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {
        "mentor_id": p["mentor"],
        "mentee_id": p["mentee"],
        "competency": "keamanan_informasi",
        "goal": "Mampu menyusun SOP penanganan insiden keamanan informasi",
        "planned_sessions": 4,
        "starts_on": _months_back(3).isoformat(),
        "ends_on": (clock.today() + dt.timedelta(days=60)).isoformat(),
    }
    body.update(extra)
    return body


async def _create(client: httpx.AsyncClient, p: dict[str, Any], **extra: Any) -> int:
    r = await client.post(
        f"{API}/assignments", json=_assignment(p, **extra), headers=p["h_officer"]
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _refused(r: httpx.Response, status: int, field: str | None, words: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert words in body["detail"], body
    if field is not None:
        assert body["field"] == field, body


def _ledger(user_id: int) -> list[JpCredit]:
    with session_scope() as session:
        rows = list(
            session.scalars(
                select(JpCredit).where(JpCredit.user_id == user_id).order_by(JpCredit.credited_on)
            )
        )
        session.expunge_all()
    return rows


async def test_assignment_from_creation_to_jp_in_the_ledger(client: httpx.AsyncClient) -> None:
    p = await _people(client)
    aid = await _create(client, p)
    base = f"{API}/assignments/{aid}"
    month = _months_back(1)
    first = await client.post(
        f"{base}/sessions", json=_grow(held_on=month.replace(day=3).isoformat()),
        headers=p["h_mentor"],
    )  # fmt: skip
    assert first.status_code == 201, first.text
    assert first.json()["confirmed"] is False
    second = await client.post(
        f"{base}/sessions", json=_grow(held_on=month.replace(day=17).isoformat(), duration_minutes=90),
        headers=p["h_mentor"],
    )  # fmt: skip
    assert second.status_code == 201
    s1, s2 = first.json()["id"], second.json()["id"]

    # Monthly cap (2 a month by default): a third session in the same month is refused.
    r = await client.post(
        f"{base}/sessions", json=_grow(held_on=month.replace(day=24).isoformat()),
        headers=p["h_mentor"],
    )  # fmt: skip
    _refused(r, 422, "held_on", "paling banyak 2 sesi per bulan")
    assert r.json()["error"] == "monthly_cap"

    # Sign-off needs a confirmed session; verification needs the sign-off.
    r = await client.post(f"{base}/signoff", headers=p["h_mentor"])
    _refused(r, 422, "sessions", "dikonfirmasi mentee")
    r = await client.post(f"{base}/verify", json={"approved": True}, headers=p["h_officer"])
    _refused(r, 422, "status", "belum ditandatangani")

    # Only the mentee confirms; anyone else gets 404.
    for who in ("h_mentor", "h_other_mentee", "h_officer"):
        r = await client.post(f"{base}/sessions/{s1}/confirm", headers=p[who])
        assert r.status_code == 404, (who, r.text)
    r = await client.post(f"{base}/sessions/{s1}/confirm", headers=p["h_mentee"])
    assert r.status_code == 200 and r.json()["confirmed"] is True

    r = await client.post(f"{base}/signoff", headers=p["h_mentor"])
    assert r.status_code == 200 and r.json()["status"] == "signed_off"
    assert _ledger(p["mentee"]) == [], "no JP before verification"
    r = await client.post(
        f"{base}/sessions", json=_grow(held_on=_months_back(2).replace(day=5).isoformat()),
        headers=p["h_mentor"],
    )  # fmt: skip
    _refused(r, 409, None, "menunggu verifikasi")

    # Returned: a reason is required, no JP; the mentor may continue and sign off again.
    r = await client.post(f"{base}/verify", json={"approved": False}, headers=p["h_officer"])
    _refused(r, 422, "reason", "Alasan wajib diisi")
    r = await client.post(
        f"{base}/verify", json={"approved": False, "reason": "Sesi kedua belum dikonfirmasi"},
        headers=p["h_officer"],
    )  # fmt: skip
    assert r.status_code == 200
    assert r.json()["status"] == "returned"
    assert r.json()["decision_reason"] == "Sesi kedua belum dikonfirmasi"
    assert _ledger(p["mentee"]) == []

    r = await client.post(f"{base}/sessions/{s2}/confirm", headers=p["h_mentee"])
    assert r.status_code == 200
    r = await client.post(f"{base}/signoff", headers=p["h_mentor"])
    assert r.status_code == 200
    detail = r.json()
    assert (
        detail["confirmed_count"] == 2 and detail["jp_expected"] == 4 and detail["jp_credited"] == 0
    )

    r = await client.post(f"{base}/verify", json={"approved": True}, headers=p["h_officer"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "verified" and r.json()["jp_credited"] == 4

    credits = _ledger(p["mentee"])
    assert [
        (c.source, c.source_id, c.jp, c.credited_on, c.year, c.funding_source) for c in credits
    ] == [
        ("mentoring", s1, 2.0, month.replace(day=3), month.year, "non_anggaran"),
        ("mentoring", s2, 2.0, month.replace(day=17), month.year, "non_anggaran"),
    ]
    assert credits[0].reference == "Mentoring Keamanan Informasi — Kepala Dinas Kominfo"
    summary = await client.get(f"/api/v1/me/jp?year={month.year}", headers=p["h_mentee"])
    assert summary.json()["total_jp"] == 4

    r = await client.post(f"{base}/verify", json={"approved": True}, headers=p["h_officer"])
    _refused(r, 409, None, "sudah diverifikasi")
    assert len(_ledger(p["mentee"])) == 2
    r = await client.post(f"{base}/cancel", json={"reason": "x"}, headers=p["h_officer"])
    assert r.status_code == 409


async def test_assignment_rules_are_refused_with_their_message(client: httpx.AsyncClient) -> None:
    p = await _people(client)
    url = f"{API}/assignments"
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"mentor_id": p["mentee"]}, "mentor_id", "tidak memiliki peran mentor"),
        ({"mentor_id": 999_999}, "mentor_id", "Mentor tidak ditemukan"),
        ({"mentee_id": p["mentor"]}, "mentee_id", "tidak boleh orang yang sama"),
        ({"mentee_id": 999_999}, "mentee_id", "Mentee tidak ditemukan"),
        ({"competency": "sulap"}, "competency", "tidak ada di katalog"),
        ({"goal": "  "}, "goal", "Tujuan mentoring wajib diisi"),
        ({"ends_on": _months_back(4).isoformat()}, "ends_on", "tidak boleh sebelum tanggal mulai"),
        ({"planned_sessions": 0}, "planned_sessions", "antara 1 dan"),
        ({"planned_sessions": 20}, "planned_sessions", "melebihi yang muat dalam periode"),
        ({"jp_per_session": 0}, "jp_per_session", "JP per sesi"),
    ]
    for change, field, words in cases:
        r = await client.post(url, json=_assignment(p, **change), headers=p["h_officer"])
        _refused(r, 422, field, words)
    for who in ("h_mentor", "h_mentee"):
        r = await client.post(url, json=_assignment(p), headers=p[who])
        assert r.status_code == 403
    with session_scope() as session:
        assert session.scalars(select(MentoringAssignment)).all() == []

    aid = await _create(client, p, jp_per_session=1.5)
    r = await client.post(url, json=_assignment(p), headers=p["h_officer"])
    _refused(r, 409, None, "sudah punya penugasan mentoring yang berjalan")
    detail = (await client.get(f"{url}/{aid}", headers=p["h_officer"])).json()
    assert detail["jp_per_session"] == 1.5 and detail["competency_name"] == "Keamanan Informasi"
    default = await _create(client, p, competency="literasi_digital")
    assert (await client.get(f"{url}/{default}", headers=p["h_officer"])).json()[
        "jp_per_session"
    ] == 2


async def test_session_rules_are_refused_with_their_message(client: httpx.AsyncClient) -> None:
    p = await _people(client)
    starts = _months_back(3)
    aid = await _create(client, p, starts_on=starts.isoformat())
    url = f"{API}/assignments/{aid}/sessions"
    past = _months_back(1).replace(day=10).isoformat()
    tomorrow = (clock.today() + dt.timedelta(days=1)).isoformat()
    cases: list[tuple[dict[str, Any], str, str]] = [
        (_grow(held_on=tomorrow), "held_on", "tidak boleh di masa depan"),
        (_grow(held_on=(starts - dt.timedelta(days=1)).isoformat()), "held_on", "dalam periode"),
        (_grow(held_on=past, duration_minutes=29), "duration_minutes", "paling sedikit 30 menit"),
        (_grow(held_on=past, reality=""), "reality", "Reality (kondisi saat ini) wajib diisi"),
    ]
    for body, field, words in cases:
        r = await client.post(url, json=body, headers=p["h_mentor"])
        _refused(r, 422, field, words)
    r = await client.post(
        url, json={"held_on": past, "duration_minutes": 45}, headers=p["h_mentor"]
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["goal", "reality", "options", "way_forward"]

    # Only the own mentor logs (or signs off): everyone else, officers too, gets 404.
    for who in ("h_other_mentor", "h_mentee", "h_officer"):
        r = await client.post(url, json=_grow(held_on=past), headers=p[who])
        assert r.status_code == 404, (who, r.text)
        r = await client.post(f"{API}/assignments/{aid}/signoff", headers=p[who])
        assert r.status_code == 404
    with session_scope() as session:
        assert service.repository.sessions_of(session, [aid])[aid] == []

    # Not more sessions than planned.
    one = await _create(client, p, planned_sessions=1, competency="integritas")
    r = await client.post(
        f"{API}/assignments/{one}/sessions", json=_grow(held_on=past), headers=p["h_mentor"]
    )
    assert r.status_code == 201
    r = await client.post(
        f"{API}/assignments/{one}/sessions",
        json=_grow(held_on=_months_back(2).replace(day=4).isoformat()), headers=p["h_mentor"],
    )  # fmt: skip
    _refused(r, 422, "held_on", "Semua 1 sesi rencana sudah dicatat")
    # An unconfirmed session logged by mistake may be removed; a confirmed one may not.
    sid = (await client.get(f"{API}/assignments/{one}", headers=p["h_mentor"])).json()["sessions"][
        0
    ]["id"]
    await client.post(f"{API}/assignments/{one}/sessions/{sid}/confirm", headers=p["h_mentee"])
    r = await client.delete(f"{API}/assignments/{one}/sessions/{sid}", headers=p["h_mentor"])
    _refused(r, 409, None, "sudah dikonfirmasi")


async def test_mentors_and_learners_only_see_their_own(client: httpx.AsyncClient) -> None:
    p = await _people(client)
    mine = await _create(client, p)
    theirs = await _create(client, p, mentor_id=p["other_mentor"], mentee_id=p["other_mentee"])
    past = _months_back(1).replace(day=8).isoformat()
    r = await client.post(
        f"{API}/assignments/{theirs}/sessions",
        json=_grow(held_on=past),
        headers=p["h_other_mentor"],
    )
    sid = r.json()["id"]

    def ids(r: httpx.Response) -> list[int]:
        assert r.status_code == 200, r.text
        return [a["id"] for a in r.json()["items"]]

    assert ids(await client.get(f"{API}/assignments", headers=p["h_mentor"])) == [mine]
    assert ids(await client.get(f"{API}/assignments?role=mentor", headers=p["h_mentor"])) == [mine]
    assert ids(await client.get(f"{API}/assignments?role=mentee", headers=p["h_mentor"])) == []
    assert ids(await client.get(f"{API}/assignments", headers=p["h_mentee"])) == [mine]
    assert ids(await client.get(f"{API}/assignments", headers=p["h_other_mentee"])) == [theirs]
    # A filter cannot widen a non-officer's view.
    r = await client.get(f"{API}/assignments?mentor_id={p['other_mentor']}", headers=p["h_mentor"])
    assert ids(r) == [mine]
    assert ids(await client.get(f"{API}/assignments", headers=p["h_officer"])) == [theirs, mine]
    assert ids(await client.get(f"{API}/assignments?opd=bappeda", headers=p["h_officer"])) == [
        theirs
    ]
    assert ids(await client.get(f"{API}/assignments?q=andi", headers=p["h_officer"])) == [mine]

    for who in ("h_mentor", "h_mentee"):
        assert (await client.get(f"{API}/assignments/{theirs}", headers=p[who])).status_code == 404
        r = await client.get(f"{API}/assignments/{theirs}/sessions/{sid}/evidence", headers=p[who])
        assert r.status_code == 404
    assert (
        await client.get(f"{API}/assignments/{theirs}", headers=p["h_other_mentee"])
    ).status_code == 200
    assert (
        await client.get(f"{API}/assignments/{theirs}", headers=p["h_officer"])
    ).status_code == 200
    r = await client.post(
        f"{API}/assignments/{theirs}/sessions/{sid}/confirm", headers=p["h_mentee"]
    )
    assert r.status_code == 404
    r = await client.get(f"{API}/assignments?status=nonsense", headers=p["h_officer"])
    assert r.status_code == 422


async def test_evidence_by_content_size_capped_served_to_the_people_involved(
    client: httpx.AsyncClient, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = await _people(client)
    aid = await _create(client, p)
    past = _months_back(1).replace(day=8).isoformat()
    sid = (
        await client.post(
            f"{API}/assignments/{aid}/sessions", json=_grow(held_on=past), headers=p["h_mentor"]
        )
    ).json()["id"]
    url = f"{API}/assignments/{aid}/sessions/{sid}/evidence"
    r = await client.post(url, files={"file": ("foto.png", b"MZ\x90\x00" + b"\x00" * 80, "image/png")},
                          headers=p["h_mentor"])  # fmt: skip
    _refused(r, 415, None, "Bukti harus berupa PDF, JPEG atau PNG")
    r = await client.post(
        url, files={"file": ("notulen.pdf", PDF, "application/pdf")}, headers=p["h_mentee"]
    )
    assert r.status_code == 404
    r = await client.post(url, files={"file": ("notulen.pdf", PDF, "application/octet-stream")},
                          headers=p["h_mentor"])  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["evidence_name"] == "notulen.pdf" and r.json()["evidence_url"] == url
    for who in ("h_mentor", "h_mentee", "h_officer"):
        got = await client.get(url, headers=p[who])
        assert got.status_code == 200 and got.content == PDF, who
        assert got.headers["content-type"] == "application/pdf"
    for who in ("h_other_mentor", "h_other_mentee"):
        assert (await client.get(url, headers=p[who])).status_code == 404

    monkeypatch.setattr(settings, "max_evidence_bytes", 1000)
    r = await client.post(url, files={"file": ("besar.png", PNG + b"\x00" * 2000, "image/png")},
                          headers=p["h_mentor"])  # fmt: skip
    _refused(r, 413, None, "Berkas bukti paling besar")
    assert (await client.get(url, headers=p["h_mentee"])).content == PDF  # unchanged

    # An unconfirmed session logged by mistake is removed by its mentor (with its evidence link).
    r = await client.delete(f"{API}/assignments/{aid}/sessions/{sid}", headers=p["h_other_mentor"])
    assert r.status_code == 404
    r = await client.delete(f"{API}/assignments/{aid}/sessions/{sid}", headers=p["h_mentor"])
    assert r.status_code == 204
    detail = await client.get(f"{API}/assignments/{aid}", headers=p["h_mentor"])
    assert detail.json()["sessions"] == []
    assert (await client.get(url, headers=p["h_mentor"])).status_code == 404


async def test_bulk_assignment_skips_open_pairs_and_refuses_unknown_mentees(
    client: httpx.AsyncClient,
) -> None:
    p = await _people(client)
    extra = [make_user(name=f"Peserta {i}", opd_code="DISKOMINFO").id for i in range(3)]
    await _create(client, p)  # the mentee already has one in keamanan_informasi
    body = {
        "mentor_id": p["mentor"], "mentee_ids": [p["mentee"], *extra, extra[0]],
        "competency": "keamanan_informasi", "goal": "Literasi keamanan informasi",
        "planned_sessions": 2, "starts_on": _months_back(2).isoformat(),
        "ends_on": clock.today().isoformat(),
    }  # fmt: skip
    r = await client.post(f"{API}/assignments/bulk", json={**body, "mentee_ids": [*extra, 999_999]},
                          headers=p["h_officer"])  # fmt: skip
    _refused(r, 422, "mentee_ids", "999999")
    r = await client.post(f"{API}/assignments/bulk", json={**body, "mentee_ids": [p["mentor"]]},
                          headers=p["h_officer"])  # fmt: skip
    _refused(r, 422, "mentee_ids", "dirinya sendiri")
    r = await client.post(f"{API}/assignments/bulk", json=body, headers=p["h_mentor"])
    assert r.status_code == 403
    r = await client.post(f"{API}/assignments/bulk", json=body, headers=p["h_officer"])
    assert r.status_code == 201, r.text
    result = r.json()
    assert result["created_mentee_ids"] == extra
    assert [s["mentee_id"] for s in result["skipped"]] == [p["mentee"]]
    assert "Andi Pranata" in result["skipped"][0]["reason"]
    listed = await client.get(f"{API}/assignments?role=mentor", headers=p["h_mentor"])
    assert listed.json()["total"] == 4


async def test_cancel_by_officer_with_reason(client: httpx.AsyncClient) -> None:
    p = await _people(client)
    aid = await _create(client, p)
    r = await client.post(
        f"{API}/assignments/{aid}/cancel", json={"reason": "x"}, headers=p["h_mentor"]
    )
    assert r.status_code == 403
    r = await client.post(
        f"{API}/assignments/{aid}/cancel", json={"reason": " "}, headers=p["h_officer"]
    )
    _refused(r, 422, "reason", "Alasan pembatalan wajib diisi")
    r = await client.post(
        f"{API}/assignments/{aid}/cancel", json={"reason": "Mutasi"}, headers=p["h_officer"]
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    past = _months_back(1).replace(day=8).isoformat()
    r = await client.post(
        f"{API}/assignments/{aid}/sessions", json=_grow(held_on=past), headers=p["h_mentor"]
    )
    _refused(r, 409, None, "dibatalkan")
    # A cancelled pair no longer blocks a new assignment.
    await _create(client, p)


async def test_list_reads_in_a_constant_number_of_queries(client: httpx.AsyncClient) -> None:
    p = await _people(client)
    counts = []
    for n in (2, 6):
        while True:
            listed = await client.get(f"{API}/assignments", headers=p["h_officer"])
            if listed.json()["total"] >= n:
                break
            mentee = make_user(name="Peserta", opd_code="DISKOMINFO").id
            aid = await _create(client, p, mentee_id=mentee)
            await client.post(
                f"{API}/assignments/{aid}/sessions",
                json=_grow(held_on=_months_back(1).replace(day=2).isoformat()), headers=p["h_mentor"],
            )  # fmt: skip
        with count_queries() as statements:
            r = await client.get(f"{API}/assignments", headers=p["h_officer"])
        assert r.status_code == 200 and r.json()["total"] == n
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


async def test_siasn_rows_of_verified_mentoring(client: httpx.AsyncClient, settings: Any) -> None:
    p = await _people(client)
    aid = await _create(client, p)
    month = _months_back(1)
    ids = []
    for day in (4, 18):
        r = await client.post(
            f"{API}/assignments/{aid}/sessions", json=_grow(held_on=month.replace(day=day).isoformat()),
            headers=p["h_mentor"],
        )  # fmt: skip
        ids.append(r.json()["id"])
        await client.post(
            f"{API}/assignments/{aid}/sessions/{ids[-1]}/confirm", headers=p["h_mentee"]
        )
    await client.post(f"{API}/assignments/{aid}/signoff", headers=p["h_mentor"])
    with session_scope() as session:
        assert service.siasn_rows(session, month.year) == []  # not verified yet
    await client.post(
        f"{API}/assignments/{aid}/verify", json={"approved": True}, headers=p["h_officer"]
    )
    with session_scope() as session:
        rows = service.siasn_rows(session, month.year)
        assert service.siasn_rows(session, month.year - 1) == []
    from app.certificates.exports import SIASN_FIELDS

    assert len(rows) == 1 and set(rows[0]) == set(SIASN_FIELDS)
    row = rows[0]
    assert row["namaKursus"] == "Mentoring Keamanan Informasi"
    assert row["jumlahJam"] == 4 and row["jenisDiklatId"] == 15 and row["tahunKursus"] == month.year
    assert row["tanggalKursus"] == f"{month.replace(day=4):%d-%m-%Y}"
    assert row["tanggalSelesaiKursus"] == f"{month.replace(day=18):%d-%m-%Y}"
    assert row["institusiPenyelenggara"] == settings.institution_name
