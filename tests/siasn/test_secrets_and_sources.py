"""The SIASN credentials never reach the logs, the database or the outbox; the SSO password
grant; external training and mentoring as SIASN records; the officer page; the pure mapping."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from app.core.config import get_settings
from app.core.db import Base, session_scope
from app.siasn import mapping
from app.siasn.mapping import Entry
from tests.factories import browser_login, make_user
from tests.siasn.fake import SECRET, SSO_TOKEN, FakeSiasn
from tests.siasn.helpers import completed_course_certificate, officer_headers, push, rows

API = "/api/v1/integrations/siasn/records"


def database_text() -> str:
    """Every row of every table as text."""
    out: list[str] = []
    with session_scope() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(text(f'SELECT * FROM "{table.name}"')):
                out.append(repr(tuple(row)))
    return "\n".join(out)


async def test_secrets_never_in_logs_database_or_outbox(
    client: Any, siasn_on: FakeSiasn, settings: Any, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    # The SSO token by the password grant this time: the operator's password is a secret too.
    password = "sandi-operator-5e8a"
    siasn_on.sso_user = ("199001012015031009", password)
    monkeypatch.setattr(settings, "siasn_sso_token", None)
    monkeypatch.setattr(
        settings,
        "siasn_sso_token_url",
        siasn_on.url + "/auth/realms/public-siasn/protocol/openid-connect/token",
    )
    monkeypatch.setattr(settings, "siasn_sso_username", "199001012015031009")
    monkeypatch.setattr(settings, "siasn_sso_password", SecretStr(password))
    caplog.set_level(logging.DEBUG)
    staff = await officer_headers(client)
    cert = completed_course_certificate()
    push()
    siasn_on.expire_tokens()
    siasn_on.reject_saves = "ditolak"
    await client.post(f"/api/v1/certificates/{cert.id}/revoke", headers=staff,
                      json={"reason": "Uji rahasia"})  # fmt: skip
    push()
    await client.get(f"/api/v1/integrations/siasn/reconcile/{cert.holder_nip}", headers=staff)
    assert siasn_on.stats.tokens_issued >= 3  # APIM twice (expired) and SSO by password
    issued = list(siasn_on.apim_tokens) + [t for t in siasn_on.sso_tokens if t != SSO_TOKEN]
    secrets = [SECRET, password, *issued]
    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    stored = database_text()
    for secret in secrets:
        assert secret not in logged
        assert secret not in stored
    assert repr(get_settings().siasn_consumer_secret) == "SecretStr('**********')"


async def test_verified_external_training_goes_with_its_jenis_and_file(
    client: Any, siasn_on: FakeSiasn
) -> None:
    from tests.external_training.test_api import people, submit

    _learner, mine, _officer, staff = await people(client)
    record_id = (await submit(client, mine, mode="coaching", jp=6)).json()["id"]
    verified = await client.post(f"/api/v1/external-trainings/{record_id}/verify",
                                 json={"approved": True}, headers=staff)  # fmt: skip
    assert verified.status_code == 200
    assert push().pushed == 1
    [record] = siasn_on.records()
    assert (record["jenisDiklatId"], record["jumlahJam"]) == (14, 6)
    assert record["institusiPenyelenggara"] == "BPSDM Provinsi Banten"
    assert record["tanggalKursus"].endswith(f"-03-{dt.date.today().year - 1}")
    assert "881" in record["path"]
    revoked = await client.post(f"/api/v1/external-trainings/{record_id}/revoke",
                                json={"reason": "Sertifikat palsu"}, headers=staff)  # fmt: skip
    assert revoked.status_code == 200
    assert push().deleted == 1 and siasn_on.records() == []


async def test_officer_page_shows_counts_siasn_message_and_retries(
    client: Any, siasn_on: FakeSiasn
) -> None:
    officer = make_user(roles=("training_officer",), name="Budi Petugas")
    completed_course_certificate()
    siasn_on.reject_saves = "Jenis kursus wajib diisi"
    push()
    csrf = await browser_login(client, str(officer.email))
    page = await client.get("/studio/siasn?state=failed")
    assert page.status_code == 200
    assert "Jenis kursus wajib diisi" in page.text and "Gagal: <strong>1</strong>" in page.text
    [row] = rows()
    siasn_on.reject_saves = None
    retried = await client.post("/studio/siasn/retry", data={"csrf_token": csrf, "id": str(row.id)})
    assert retried.status_code == 303
    assert push().pushed == 1
    nip = page.text.split("/studio/siasn/reconcile?nip=")[1][:18]
    reconcile = await client.get("/studio/siasn/reconcile", params={"nip": nip})
    assert reconcile.status_code == 200 and "Ada di keduanya" in reconcile.text
    learner = make_user(name="Bukan Petugas")
    await client.post("/logout", data={"csrf_token": csrf})
    await browser_login(client, str(learner.email))
    assert (await client.get("/studio/siasn")).status_code == 403


def entry(**overrides: Any) -> Entry:
    values: dict[str, Any] = {
        "source": "certificate", "source_id": 1, "user_id": 1, "nip": "199001012015031001",
        "jenis_diklat": 16, "name": "Literasi Digital", "organiser": "BKPSDM", "number": "1/X",
        "starts_on": dt.date(2026, 3, 2), "ends_on": dt.date(2026, 3, 9), "year": 2026,
        "jp": 12.5, "document": True,
    }  # fmt: skip
    values.update(overrides)
    return Entry(**values)


def test_mapping_per_source_and_payload_shapes() -> None:
    settings = get_settings()
    assert [mapping.jenis_for_run(m, settings) for m in ("online", "blended", "klasikal", None)] == [
        16, 17, 13, 16]  # fmt: skip
    assert mapping.jenis_for_external("coaching", 14) == 14
    assert mapping.jenis_for_external("seminar", None) == 9
    assert mapping.jenis_for_external("klasikal", None) == 13
    assert mapping.hours(12.5) == 13 and mapping.hours(0.4) == 0
    kursus = mapping.payload(entry(), pns_orang_id="ABC", siasn_id=None, settings=settings)
    assert (
        kursus["tanggalKursus"] == "02-03-2026" and kursus["tanggalSelesaiKursus"] == "09-03-2026"
    )
    assert kursus["jenisDiklatId"] == "16" and kursus["id"] is None and kursus["jumlahJam"] == 13
    struktural = entry(jenis_diklat=1)
    assert struktural.kind == "diklat"
    diklat = mapping.payload(struktural, pns_orang_id="ABC", siasn_id="X1", settings=settings)
    assert (diklat["id"], diklat["tanggal"], diklat["nomor"]) == ("X1", "02-03-2026", "1/X")
    assert "namaKursus" not in diklat


async def test_verified_mentoring_is_one_record_per_assignment(
    client: Any, siasn_on: FakeSiasn, settings: Any
) -> None:
    from tests.mentoring.test_mentoring_api import API as MENTORING
    from tests.mentoring.test_mentoring_api import _create, _grow, _months_back, _people

    p = await _people(client)
    aid = await _create(client, p)
    month = _months_back(1)
    for day in (4, 18):
        made = await client.post(
            f"{MENTORING}/assignments/{aid}/sessions",
            json=_grow(held_on=month.replace(day=day).isoformat()), headers=p["h_mentor"],
        )  # fmt: skip
        await client.post(f"{MENTORING}/assignments/{aid}/sessions/{made.json()['id']}/confirm",
                          headers=p["h_mentee"])  # fmt: skip
    await client.post(f"{MENTORING}/assignments/{aid}/signoff", headers=p["h_mentor"])
    await client.post(f"{MENTORING}/assignments/{aid}/verify", json={"approved": True},
                      headers=p["h_officer"])  # fmt: skip
    assert [(r.source, r.source_id) for r in rows()] == [("mentoring", aid)]
    assert push().pushed == 1
    [record] = siasn_on.records()
    assert (record["jenisDiklatId"], record["jumlahJam"]) == (15, 4)
    assert record["namaKursus"] == "Mentoring Keamanan Informasi"
    assert record["tanggalKursus"] == f"{month.replace(day=4):%d-%m-%Y}"
    assert record["noSertipikat"] == f"MENTORING-{aid}" and record["path"] == {}


async def test_reconcile_without_siasn_settings_is_a_conflict_not_an_outage(client) -> None:  # type: ignore[no-untyped-def]
    """No SIASN URL: 409 naming the missing setting (nothing to retry), never a 5xx."""
    headers = await officer_headers(client)
    answer = await client.get(
        "/api/v1/integrations/siasn/reconcile/199001012015031001", headers=headers
    )
    assert answer.status_code == 409
    assert answer.json()["error"] == "siasn_not_configured"
