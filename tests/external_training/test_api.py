"""External training through the API: recording with a PDF, every field rule, verify and reject
flows with the JP ledger, revocation, duplicate certificate flags and who may see what."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import httpx
from sqlalchemy import select

from app.core import clock
from app.core.db import session_scope
from app.external_training import service
from app.jp import service as jp_service
from app.jp.models import JpCredit
from tests.factories import api_token, make_user
from tests.queries import count_queries

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TODAY = clock.today()
LAST_YEAR = TODAY.year - 1


def fields(**overrides: Any) -> dict[str, str]:
    data = {
        "name": "Pelatihan Literasi Digital Pemprov Banten",
        "organiser": "BPSDM Provinsi Banten",
        "starts_on": f"{LAST_YEAR}-03-01",
        "ends_on": f"{LAST_YEAR}-03-03",
        "jp": "24",
        "certificate_number": "800/123/BPSDM/2025",
        "funding_source": "apbd_provinsi",
        "mode": "klasikal",
    }
    data.update({k: str(v) for k, v in overrides.items()})
    return data


def pdf_file(content: bytes = PDF, name: str = "sertifikat.pdf") -> dict[str, Any]:
    return {"file": (name, content, "application/pdf")}


async def submit(
    client: httpx.AsyncClient, headers: dict[str, str], *, url: str = "/api/v1/me/external-trainings",
    content: bytes = PDF, **overrides: Any,
) -> httpx.Response:  # fmt: skip
    return await client.post(
        url, data=fields(**overrides), files=pdf_file(content), headers=headers
    )


def credits_of(user_id: int) -> list[JpCredit]:
    with session_scope() as session:
        rows = list(session.scalars(select(JpCredit).where(JpCredit.user_id == user_id)))
        session.expunge_all()
    return rows


def live_total(user_id: int, year: int, settings: Any) -> float:
    with session_scope() as session:
        return jp_service.summary(session, user_id, year, settings).total_jp


async def people(client: httpx.AsyncClient) -> tuple[Any, dict[str, str], Any, dict[str, str]]:
    learner = make_user(name="Dewi Lestari")
    officer = make_user(roles=("training_officer",), name="Budi Petugas")
    return (learner, await api_token(client, learner.email), officer,
            await api_token(client, officer.email))  # fmt: skip


async def test_record_then_verify_credits_jp_with_funding_source(client, settings) -> None:  # type: ignore[no-untyped-def]
    learner, mine, _officer, staff = await people(client)
    created = await submit(client, mine)
    assert created.status_code == 201, created.text
    record_id = created.json()["id"]
    assert created.json()["status"] == "pending"
    # Pending: nothing in the ledger.
    assert credits_of(learner.id) == []
    assert live_total(learner.id, LAST_YEAR, settings) == 0

    listed = (await client.get("/api/v1/me/external-trainings", headers=mine)).json()
    assert [(r["id"], r["status"], r["jp"]) for r in listed] == [(record_id, "pending", 24.0)]
    assert listed[0]["file_url"] == f"/api/v1/external-trainings/{record_id}/file"

    verified = await client.post(
        f"/api/v1/external-trainings/{record_id}/verify", json={"approved": True}, headers=staff
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "verified"
    [credit] = credits_of(learner.id)
    assert (credit.source, credit.source_id, credit.jp, credit.year) == (
        "external_training", record_id, 24.0, LAST_YEAR)  # fmt: skip
    assert credit.credited_on == dt.date(LAST_YEAR, 3, 3)
    assert credit.funding_source == "apbd_provinsi"
    assert credit.reference == "800/123/BPSDM/2025"
    assert live_total(learner.id, LAST_YEAR, settings) == 24

    again = await client.post(
        f"/api/v1/external-trainings/{record_id}/verify", json={"approved": False, "reason": "x"},
        headers=staff,
    )  # fmt: skip
    assert again.status_code == 409 and again.json()["error"] == "already_decided"
    assert live_total(learner.id, LAST_YEAR, settings) == 24


async def test_reject_needs_a_reason_and_never_counts(client, settings) -> None:  # type: ignore[no-untyped-def]
    learner, mine, _officer, staff = await people(client)
    record_id = (await submit(client, mine)).json()["id"]
    url = f"/api/v1/external-trainings/{record_id}/verify"
    no_reason = await client.post(url, json={"approved": False, "reason": "  "}, headers=staff)
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    assert "alasan" in no_reason.json()["detail"].lower()
    too_long = await client.post(url, json={"approved": False, "reason": "x" * 1001}, headers=staff)
    assert too_long.status_code == 422 and "paling panjang 1000" in too_long.json()["detail"]
    rejected = await client.post(
        url, json={"approved": False, "reason": "Sertifikat tidak terbaca."}, headers=staff
    )
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["decision_reason"] == "Sertifikat tidak terbaca."
    assert credits_of(learner.id) == []
    assert live_total(learner.id, LAST_YEAR, settings) == 0
    # The learner sees the reason; a decided record cannot be changed, withdrawn or re-decided.
    mine_list = (await client.get("/api/v1/me/external-trainings", headers=mine)).json()
    assert mine_list[0]["decision_reason"] == "Sertifikat tidak terbaca."
    assert (await client.post(url, json={"approved": True}, headers=staff)).status_code == 409
    edit = await client.put(f"/api/v1/external-trainings/{record_id}", data=fields(jp=30),
                            headers=mine)  # fmt: skip
    assert edit.status_code == 409
    gone = await client.delete(f"/api/v1/external-trainings/{record_id}", headers=mine)
    assert gone.status_code == 409
    assert credits_of(learner.id) == []


async def test_revoking_a_verified_record_withdraws_its_jp(client, settings) -> None:  # type: ignore[no-untyped-def]
    learner, mine, _officer, staff = await people(client)
    record_id = (await submit(client, mine, jp=10)).json()["id"]
    base = f"/api/v1/external-trainings/{record_id}"
    early = await client.post(f"{base}/revoke", json={"reason": "Palsu"}, headers=staff)
    assert early.status_code == 409  # only verified records can be revoked
    await client.post(f"{base}/verify", json={"approved": True}, headers=staff)
    assert live_total(learner.id, LAST_YEAR, settings) == 10
    blank = await client.post(f"{base}/revoke", json={"reason": ""}, headers=staff)
    assert blank.status_code == 422
    revoked = await client.post(
        f"{base}/revoke", json={"reason": "Sertifikat palsu."}, headers=staff
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert live_total(learner.id, LAST_YEAR, settings) == 0
    [credit] = credits_of(learner.id)
    assert credit.withdrawn_at is not None and credit.withdrawn_reason == "Sertifikat palsu."
    # The learner cannot revoke or verify (role), and gets the same answer for a stranger's id.
    assert (
        await client.post(f"{base}/revoke", json={"reason": "x"}, headers=mine)
    ).status_code == 403


async def test_unverified_and_rejected_records_never_count(client, settings) -> None:  # type: ignore[no-untyped-def]
    learner, mine, _officer, staff = await people(client)
    pending = (await submit(client, mine, certificate_number="A-1", jp=5)).json()["id"]
    rejected = (await submit(client, mine, certificate_number="A-2", jp=7)).json()["id"]
    verified = (await submit(client, mine, certificate_number="A-3", jp=11)).json()["id"]
    await client.post(f"/api/v1/external-trainings/{rejected}/verify",
                      json={"approved": False, "reason": "Bukan pelatihan."}, headers=staff)  # fmt: skip
    await client.post(f"/api/v1/external-trainings/{verified}/verify", json={"approved": True},
                      headers=staff)  # fmt: skip
    assert [c.source_id for c in credits_of(learner.id)] == [verified]
    assert live_total(learner.id, LAST_YEAR, settings) == 11
    me = (await client.get(f"/api/v1/me/jp?year={LAST_YEAR}", headers=mine)).json()
    assert me["total_jp"] == 11 and [e["reference"] for e in me["entries"]] == ["A-3"]
    statuses = {r["id"]: r["status"] for r in
                (await client.get("/api/v1/me/external-trainings", headers=mine)).json()}  # fmt: skip
    assert statuses == {pending: "pending", rejected: "rejected", verified: "verified"}


async def test_field_rules_are_refused_with_indonesian_messages(client, settings) -> None:  # type: ignore[no-untyped-def]
    _learner, mine, _officer, _staff = await people(client)
    tomorrow = TODAY + dt.timedelta(days=1)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"name": ""}, "name", "wajib diisi"),
        ({"ends_on": f"{LAST_YEAR}-02-01"}, "ends_on", "sebelum tanggal mulai"),
        ({"starts_on": TODAY.isoformat(), "ends_on": tomorrow.isoformat()}, "ends_on",
         "masa depan"),
        ({"starts_on": "31-02-2025"}, "starts_on", "bukan tanggal"),
        ({"jp": "0"}, "jp", "lebih dari 0"),
        ({"jp": str(settings.external_training_max_jp + 1)}, "jp", "paling banyak"),
        ({"jp": "banyak"}, "jp", "angka"),
        ({"funding_source": "hibah"}, "funding_source", "Sumber dana"),
        ({"mode": "webinar"}, "mode", "Metode pelatihan"),
    ]  # fmt: skip
    for overrides, field, words in cases:
        response = await submit(client, mine, **overrides)
        assert response.status_code == 422, (overrides, response.text)
        body = response.json()
        assert any(e["field"] == field and words in e["message"] for e in body["errors"]), body
    # Several wrong fields are all listed at once.
    many = await submit(client, mine, name="", jp="-1", mode="x")
    assert {e["field"] for e in many.json()["errors"]} == {"name", "jp", "mode"}
    # A decimal comma is a number.
    ok = await submit(client, mine, jp="2,5")
    assert ok.status_code == 201
    assert (await client.get("/api/v1/me/external-trainings", headers=mine)).json()[0]["jp"] == 2.5
    # Nothing was written by the refused ones.
    assert len((await client.get("/api/v1/me/external-trainings", headers=mine)).json()) == 1


async def test_the_certificate_must_be_a_pdf_within_the_size_cap(client, settings) -> None:  # type: ignore[no-untyped-def]
    _learner, mine, _officer, _staff = await people(client)
    no_file = await client.post("/api/v1/me/external-trainings", data=fields(), headers=mine)
    assert no_file.status_code == 422 and no_file.json()["field"] == "file"
    png = await submit(client, mine, content=b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    assert png.status_code == 415 and "PDF" in png.json()["detail"]
    big = await submit(client, mine, content=PDF + b"0" * settings.max_evidence_bytes)
    assert big.status_code == 413 and "MB" in big.json()["detail"]
    assert (await client.get("/api/v1/me/external-trainings", headers=mine)).json() == []


async def test_duplicate_certificate_numbers_are_flagged_for_officers(client) -> None:  # type: ignore[no-untyped-def]
    _first, first_h, _officer, staff = await people(client)
    second = make_user(name="Rina Kartika")
    second_h = await api_token(client, second.email)
    a = (await submit(client, first_h, certificate_number="800/123/BPSDM/2025")).json()["id"]
    b = (await submit(client, second_h, certificate_number=" 800/123/bpsdm/2025 ")).json()["id"]
    c = (await submit(client, second_h, certificate_number="OTHER-1")).json()["id"]
    queue = (await client.get("/api/v1/external-trainings?status=pending", headers=staff)).json()
    assert queue["total"] == 3
    flags = {r["id"]: [(d["id"], d["user_name"]) for d in r["duplicates"]] for r in queue["items"]}
    assert flags == {a: [(b, "Rina Kartika")], b: [(a, "Dewi Lestari")], c: []}
    # A rejected record no longer flags the other one.
    await client.post(f"/api/v1/external-trainings/{b}/verify",
                      json={"approved": False, "reason": "Duplikat."}, headers=staff)  # fmt: skip
    one = (await client.get(f"/api/v1/external-trainings/{a}", headers=staff)).json()
    assert one["duplicates"] == []
    # Learners never see the other user's record through the flags.
    own = (await client.get("/api/v1/me/external-trainings", headers=first_h)).json()
    assert all(r["duplicates"] == [] for r in own)
    # ...but are told when they recorded the same certificate twice themselves.
    again = (await submit(client, first_h, certificate_number="800/123/BPSDM/2025")).json()["id"]
    own = (await client.get("/api/v1/me/external-trainings", headers=first_h)).json()
    assert {r["id"]: [d["id"] for d in r["duplicates"]] for r in own} == {a: [again], again: [a]}
    single = (await client.get(f"/api/v1/external-trainings/{a}", headers=first_h)).json()
    assert [d["id"] for d in single["duplicates"]] == [again]


async def test_learners_see_only_their_own_records_and_files(client) -> None:  # type: ignore[no-untyped-def]
    _owner, owner_h, _officer, staff = await people(client)
    other = make_user(name="Orang Lain")
    other_h = await api_token(client, other.email)
    record_id = (await submit(client, owner_h)).json()["id"]
    base = f"/api/v1/external-trainings/{record_id}"
    for method, url, kwargs in (
        ("GET", base, {}),
        ("GET", f"{base}/file", {}),
        ("PUT", base, {"data": fields(jp=1)}),
        ("DELETE", base, {}),
    ):
        response = await client.request(method, url, headers=other_h, **kwargs)
        assert response.status_code == 404, (method, url, response.text)
    assert (await client.get("/api/v1/me/external-trainings", headers=other_h)).json() == []
    assert (await client.get("/api/v1/external-trainings", headers=other_h)).status_code == 403
    assert (await client.post(f"{base}/verify", json={"approved": True},
                              headers=other_h)).status_code == 403  # fmt: skip
    # Owner and officer read the file (inline PDF).
    for headers in (owner_h, staff):
        response = await client.get(f"{base}/file", headers=headers)
        assert response.status_code == 200 and response.content == PDF
        assert response.headers["content-type"] == "application/pdf"
    assert (await client.get(f"{base}/file")).status_code == 401
    # An unknown id is the same 404 as a stranger's.
    assert (
        await client.get("/api/v1/external-trainings/999999", headers=owner_h)
    ).status_code == 404


async def test_owner_edits_or_withdraws_while_pending(client) -> None:  # type: ignore[no-untyped-def]
    _learner, mine, _officer, _staff = await people(client)
    record_id = (await submit(client, mine)).json()["id"]
    base = f"/api/v1/external-trainings/{record_id}"
    bad = await client.put(base, data=fields(jp="0"), headers=mine)
    assert bad.status_code == 422
    edited = await client.put(base, data=fields(jp="16", name="Pelatihan SPBE"), headers=mine)
    assert edited.status_code == 200, edited.text
    assert (edited.json()["jp"], edited.json()["name"]) == (16.0, "Pelatihan SPBE")
    assert edited.json()["file_name"] == "sertifikat.pdf"  # the file stays without a new one
    replaced = await client.put(base, data=fields(), files=pdf_file(PDF + b"% v2\n", "baru.pdf"),
                                headers=mine)  # fmt: skip
    assert replaced.json()["file_name"] == "baru.pdf"
    assert (await client.get(f"{base}/file", headers=mine)).content == PDF + b"% v2\n"
    assert (await client.delete(base, headers=mine)).status_code == 204
    assert (await client.get(base, headers=mine)).status_code == 404


async def test_officer_records_on_behalf(client, settings) -> None:  # type: ignore[no-untyped-def]
    learner, mine, officer, staff = await people(client)
    url = f"/api/v1/users/{learner.id}/external-trainings"
    assert (await submit(client, mine, url=url)).status_code == 403
    created = await submit(client, staff, url=url)
    assert created.status_code == 201
    listed = (await client.get("/api/v1/me/external-trainings", headers=mine)).json()
    assert listed[0]["recorded_by_officer"] is True
    unknown = await submit(client, staff, url="/api/v1/users/999999/external-trainings")
    assert unknown.status_code == 404
    assert live_total(learner.id, LAST_YEAR, settings) == 0  # still needs verification
    assert officer.id != learner.id


def _principal(user_id: int, *roles: str) -> Any:
    from app.auth.service import Principal

    return Principal(user_id=user_id, name="x", roles=frozenset(roles), via="token")


def _record(session: Any, user_id: int, settings: Any, **overrides: Any) -> int:
    row = service.record(
        session, user_id=user_id, raw=fields(**overrides),
        upload=service.Upload(stream=io.BytesIO(PDF), filename="s.pdf", size=len(PDF)),
        principal=_principal(user_id, "learner"), settings=settings,
    )  # fmt: skip
    return row.id


def test_queue_reads_in_a_constant_number_of_queries(settings) -> None:  # type: ignore[no-untyped-def]
    counts = []
    for n in (2, 10):
        users = [make_user(name=f"Peserta {n}-{i}") for i in range(n)]
        with session_scope() as session:
            for i, user in enumerate(users):
                _record(session, user.id, settings, certificate_number=f"DUP-{n}-{i // 2}")
        with session_scope() as session, count_queries() as statements:
            page = service.queue(session, status="pending", user_id=None, limit=200, offset=0)
        assert all(len(item.duplicates) == 1 for item in page.items)
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_siasn_rows_of_verified_records(settings) -> None:  # type: ignore[no-untyped-def]
    learner = make_user(name="Dewi Lestari")
    officer = _principal(make_user(roles=("training_officer",)).id, "training_officer")
    with session_scope() as session:
        ids = [
            _record(session, learner.id, settings, mode=mode, certificate_number=number)
            for mode, number in (("e_learning", "E-1"), ("coaching", "C-1"), ("seminar", "S-1"))
        ]
        service.decide(session, ids[0], officer, approved=True, reason=None)
        service.decide(session, ids[1], officer, approved=True, reason=None)
    with session_scope() as session:
        rows = service.siasn_rows(session, LAST_YEAR)
        assert service.siasn_rows(session, TODAY.year) == []
    from app.certificates.exports import SIASN_FIELDS

    assert [set(r) for r in rows] == [set(SIASN_FIELDS)] * 2
    assert [(r["nomorSertipikat"], r["jenisDiklatId"]) for r in rows] == [("E-1", 16), ("C-1", 14)]
    assert rows[0]["nip"] == learner.nip and rows[0]["jumlahJam"] == 24
    assert rows[0]["institusiPenyelenggara"] == "BPSDM Provinsi Banten"
    assert rows[0]["tanggalSelesaiKursus"] == f"03-03-{LAST_YEAR}"


async def test_queue_search_by_name_nip_training_and_certificate(client) -> None:  # type: ignore[no-untyped-def]
    dewi, dewi_h, _officer, staff = await people(client)
    rina = make_user(name="Rina Kartika")
    rina_h = await api_token(client, rina.email)
    a = (await submit(client, dewi_h, certificate_number="800/123/BPSDM/2025")).json()["id"]
    b = (await submit(client, rina_h, certificate_number="LAN-99", name="Pelatihan SPBE")).json()[
        "id"
    ]

    async def found(q: str) -> list[int]:
        response = await client.get("/api/v1/external-trainings", params={"q": q}, headers=staff)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert await found("rina") == [b]
    assert await found(dewi.nip) == [a]
    assert await found("spbe") == [b]
    assert await found("800 / 123/bpsdm") == [a]  # case and spaces ignored, as for duplicates
    assert await found("lan-99") == [b]
    assert await found("%") == []  # a literal percent sign, not a wildcard
    assert sorted(await found("")) == [a, b]
