"""SIASN push end to end against the contract fake: a completed course's certificate becomes a
riwayat kursus with the right jenis diklat, dd-mm-yyyy dates, JP as hours and the PDF; a second
push changes nothing; revocation deletes or flags; 401 refresh; SIASN's validation message;
throttling; the officer's API and its permissions."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from app.certificates import documents
from app.core.db import session_scope
from app.siasn import client as siasn_client
from tests.factories import api_token, make_user
from tests.siasn.fake import FakeSiasn
from tests.siasn.helpers import (
    completed_course_certificate,
    officer_headers,
    push,
    rows,
    set_row,
)

API = "/api/v1/integrations/siasn/records"


async def test_certificate_reaches_siasn_with_its_pdf_and_a_second_push_changes_nothing(
    client: Any, siasn_on: FakeSiasn
) -> None:
    fake = siasn_on
    staff = await officer_headers(client)
    cert = completed_course_certificate(jp=10)

    waiting = (await client.get(API, headers=staff)).json()
    assert [(r["source"], r["source_id"], r["state"]) for r in waiting] == [
        ("certificate", cert.id, "pending")
    ]
    stats = push()
    assert (stats.pushed, stats.failed) == (1, 0)

    [record] = fake.records("kursus")
    assert record["jenisDiklatId"] == 16  # an online run: e-learning
    assert record["namaKursus"] == cert.course_title
    assert record["noSertipikat"] == cert.number
    assert record["tanggalKursus"] == cert.run_starts_on.strftime("%d-%m-%Y")
    assert record["tanggalSelesaiKursus"] == cert.run_ends_on.strftime("%d-%m-%Y")
    assert record["jumlahJam"] == 10 and isinstance(record["jumlahJam"], int)
    assert record["nipBaru"] == cert.holder_nip
    assert record["jenisKursusSertifikat"] == "T"
    with session_scope() as session:
        pdf = documents.read_pdf(session.merge(cert))
    assert record["path"]["881"]["sha256"] == hashlib.sha256(pdf).hexdigest()

    [pushed] = (await client.get(API, params={"state": "pushed"}, headers=staff)).json()
    assert pushed["siasn_id"] == record["id"] and pushed["last_error"] is None
    assert pushed["document"] is True

    # Nothing due: no call at all. A retry re-saves under the stored id: still one record.
    calls = dict(fake.stats.calls)
    assert push().pushed == 0 and fake.stats.calls == calls
    retried = await client.post(f"{API}/{pushed['id']}/retry", headers=staff)
    assert retried.status_code == 202
    assert push().pushed == 1
    assert fake.records("kursus") == [record]
    assert (fake.stats.created, fake.stats.updated, fake.stats.uploads) == (1, 1, 1)


async def test_a_reissued_certificate_updates_the_same_record(
    client: Any, siasn_on: FakeSiasn
) -> None:
    from tests.certificates.pdfs import make_pdfs

    staff = await officer_headers(client)
    cert = completed_course_certificate()
    push()
    [before] = siasn_on.records()
    again = await client.post(f"/api/v1/certificates/{cert.id}/reissue", headers=staff,
                              json={"reason": "Nama salah ketik"})  # fmt: skip
    assert again.status_code == 200, again.text
    assert push().pushed == 0  # the new PDF is not made yet: the push waits for it
    make_pdfs()
    [row] = rows()
    set_row(row.id, next_attempt_at=row.created_at)
    assert push().pushed == 1
    [after] = siasn_on.records()
    assert after["id"] == before["id"] and after["noSertipikat"] == again.json()["number"]
    assert after["path"]["881"]["sha256"] != before["path"]["881"]["sha256"]
    assert (siasn_on.stats.created, siasn_on.stats.updated) == (1, 1)


async def test_revocation_deletes_the_siasn_record(client: Any, siasn_on: FakeSiasn) -> None:
    staff = await officer_headers(client)
    cert = completed_course_certificate()
    push()
    assert len(siasn_on.records()) == 1
    revoked = await client.post(f"/api/v1/certificates/{cert.id}/revoke", headers=staff,
                                json={"reason": "Peserta ternyata tidak hadir"})  # fmt: skip
    assert revoked.status_code == 200, revoked.text
    assert push().deleted == 1
    assert siasn_on.records() == []
    [row] = (await client.get(API, headers=staff)).json()
    assert (row["state"], row["revoked"], row["deleted"]) == ("pushed", True, True)


async def test_revocation_flags_the_record_when_set_so(
    client: Any, siasn_on: FakeSiasn, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "siasn_revocation", "flag")
    staff = await officer_headers(client)
    cert = completed_course_certificate()
    push()
    await client.post(f"/api/v1/certificates/{cert.id}/revoke", headers=staff,
                      json={"reason": "Sertifikat salah terbit"})  # fmt: skip
    assert push().pushed == 1
    [record] = siasn_on.records()
    assert record["namaKursus"] == f"[DICABUT] {cert.course_title}"
    assert siasn_on.stats.created == 1 and siasn_on.stats.deleted == 0


async def test_revoked_before_the_push_is_never_sent(client: Any, siasn_on: FakeSiasn) -> None:
    staff = await officer_headers(client)
    cert = completed_course_certificate()
    await client.post(f"/api/v1/certificates/{cert.id}/revoke", headers=staff,
                      json={"reason": "Salah peserta"})  # fmt: skip
    push()
    assert siasn_on.records() == [] and siasn_on.stats.calls == {}
    [row] = rows()
    assert row.state == "skipped"


async def test_an_expired_token_is_fetched_again_once(client: Any, siasn_on: FakeSiasn) -> None:
    completed_course_certificate()
    push()
    assert siasn_on.stats.tokens_issued == 1
    siasn_on.expire_tokens()
    completed_course_certificate()
    assert push().pushed == 1
    assert siasn_on.stats.unauthorized == 1 and siasn_on.stats.tokens_issued == 2
    assert len(siasn_on.records()) == 2


async def test_wrong_credentials_keep_the_record_waiting(
    client: Any, siasn_on: FakeSiasn, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic import SecretStr

    monkeypatch.setattr(settings, "siasn_sso_token", SecretStr("sso-yang-salah"))
    completed_course_certificate()
    stats = push()
    assert stats.pushed == 0 and siasn_on.records() == []
    [row] = rows()
    assert row.state == "pending" and "Token SSO mismatch" in (row.last_error or "")


async def test_a_validation_error_is_stored_with_siasn_message_and_retried(
    client: Any, siasn_on: FakeSiasn
) -> None:
    staff = await officer_headers(client)
    completed_course_certificate()
    siasn_on.reject_saves = "Tanggal kursus melewati tanggal hari ini"
    assert push().failed == 1
    [row] = (await client.get(API, params={"state": "failed"}, headers=staff)).json()
    assert row["last_error"] == "Tanggal kursus melewati tanggal hari ini"
    assert push().failed == 0  # a failed record waits for the officer

    siasn_on.reject_saves = None
    again = await client.post(f"{API}/retry-all", headers=staff)
    assert again.status_code == 202 and again.json() == {"count": 1}
    assert push().pushed == 1 and len(siasn_on.records()) == 1


async def test_an_unknown_nip_fails_with_siasn_answer(client: Any, siasn_on: FakeSiasn) -> None:
    cert = completed_course_certificate()
    assert cert.holder_nip
    siasn_on.unknown_nips.add(cert.holder_nip)
    assert push().failed == 1
    [row] = rows()
    assert row.last_error == "Data tidak ditemukan"


async def test_throttling_is_retried_with_backoff(
    client: Any, siasn_on: FakeSiasn, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "siasn_backoff_seconds", 0.2)
    completed_course_certificate()
    siasn_on.throttle(0.3)
    assert push().pushed == 1
    assert siasn_on.stats.throttled >= 1 and len(siasn_on.records()) == 1


async def test_throttling_past_the_retries_waits_for_a_later_round(
    client: Any, siasn_on: FakeSiasn, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "siasn_retries", 1)
    completed_course_certificate()
    siasn_on.throttle(30)
    stats = push()
    assert stats.pushed == 0 and stats.waiting == 1
    [row] = rows()
    assert row.state == "pending" and "membatasi" in (row.last_error or "")
    siasn_on.throttle(0)
    set_row(row.id, next_attempt_at=row.created_at)
    assert push().pushed == 1 and siasn_on.stats.created == 1


async def test_a_retried_first_push_adopts_the_record_it_created(
    client: Any, siasn_on: FakeSiasn
) -> None:
    """The save went through but the answer was lost (the worker died): the next attempt finds
    the record by its certificate number and updates it."""
    completed_course_certificate()
    push()
    [row] = rows()
    set_row(row.id, siasn_id=None, state="pending", attempts=1, document_sha256=None)
    assert push().pushed == 1
    assert len(siasn_on.records()) == 1 and siasn_on.stats.created == 1
    assert rows()[0].siasn_id == row.siasn_id


async def test_skip_needs_a_reason(client: Any, siasn_on: FakeSiasn) -> None:
    staff = await officer_headers(client)
    completed_course_certificate()
    [row] = rows()
    bad = await client.post(f"{API}/{row.id}/skip", headers=staff, json={"reason": ""})
    assert bad.status_code == 422
    ok = await client.post(f"{API}/{row.id}/skip", headers=staff,
                           json={"reason": "Sudah diinput manual di SIASN"})  # fmt: skip
    assert ok.status_code == 200 and ok.json()["state"] == "skipped"
    assert ok.json()["skip_reason"] == "Sudah diinput manual di SIASN"
    push()
    assert siasn_on.records() == []


async def test_reconcile_shows_what_is_missing_on_either_side(
    client: Any, siasn_on: FakeSiasn
) -> None:
    staff = await officer_headers(client)
    cert = completed_course_certificate()
    assert cert.holder_nip
    person = siasn_on.person(cert.holder_nip)
    assert person is not None
    siasn_on.save("kursus", {
        "id": None, "pnsOrangId": person["id"], "jenisDiklatId": "3", "namaKursus": "Diklat Lama",
        "nomorSertipikat": "LAMA/2019", "jumlahJam": 30, "tahunKursus": 2019,
        "tanggalKursus": "01-02-2019", "tanggalSelesaiKursus": "05-02-2019",
    })  # fmt: skip
    url = f"/api/v1/integrations/siasn/reconcile/{cert.holder_nip}"
    before = (await client.get(url, headers=staff)).json()
    assert sorted((line["where"], line["number"]) for line in before["lines"]) == [
        ("lms", cert.number), ("siasn", "LAMA/2019")]  # fmt: skip
    push()
    after = (await client.get(url, headers=staff)).json()
    assert sorted(line["where"] for line in after["lines"]) == ["both", "siasn"]


async def test_only_officers_see_and_act(client: Any, siasn_on: FakeSiasn) -> None:
    completed_course_certificate()
    [row] = rows()
    learner = make_user(name="Peserta Lain")
    mine = await api_token(client, str(learner.email))
    for method, url in (
        ("GET", API), ("POST", f"{API}/{row.id}/retry"), ("POST", f"{API}/retry-all"),
        ("POST", f"{API}/{row.id}/skip"), ("GET", "/api/v1/integrations/siasn/reconcile/1"),
    ):  # fmt: skip
        kwargs: dict[str, Any] = {"json": {"reason": "abc"}} if method == "POST" else {}
        assert (await client.request(method, url, **kwargs)).status_code == 401
        assert (await client.request(method, url, headers=mine, **kwargs)).status_code == 403
    staff = await officer_headers(client)
    assert (await client.post(f"{API}/999999/retry", headers=staff)).status_code == 404


async def test_nothing_is_recorded_while_siasn_is_off(client: Any, fake: FakeSiasn) -> None:
    completed_course_certificate()
    assert rows() == []
    assert push().pushed == 0 and fake.stats.calls == {}


def test_token_cache_is_shared_and_kept_until_expiry(siasn_on: FakeSiasn, settings: Any) -> None:
    one, two = siasn_client.SiasnClient(settings), siasn_client.SiasnClient(settings)
    try:
        one.riwayat("kursus", "199001012015031001")
        two.riwayat("kursus", "199001012015031001")
    finally:
        one.close()
        two.close()
    assert siasn_on.stats.tokens_issued == 1
