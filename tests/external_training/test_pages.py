"""External training pages: the learner's form and list, the officer's queue with duplicate
warnings, the verify / reject / revoke forms and recording on behalf; who may open which page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx

from app.core import clock
from app.core.db import session_scope
from app.jp import service as jp_service
from tests.external_training.test_api import LAST_YEAR, PDF, fields, pdf_file
from tests.factories import browser_login, make_opd, make_user


async def login(client: httpx.AsyncClient, user: Any) -> str:
    client.cookies.clear()
    return await browser_login(client, user.email)


async def learner_submits(client: httpx.AsyncClient, csrf: str, **overrides: Any) -> httpx.Response:
    return await client.post(
        "/my/external-trainings/new",
        data={"csrf_token": csrf, **fields(**overrides)},
        files=pdf_file(),
    )


def record_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r"/my/external-trainings/(\d+)/edit", html)]


async def test_learner_records_edits_and_withdraws_through_the_form(client) -> None:  # type: ignore[no-untyped-def]
    learner = make_user(name="Dewi Lestari")
    csrf = await login(client, learner)
    form = await client.get("/my/external-trainings/new")
    assert form.status_code == 200
    for name in ("name", "organiser", "starts_on", "ends_on", "jp", "certificate_number",
                 "funding_source", "mode", "file"):  # fmt: skip
        assert f'<label for="f-{name}">' in form.text  # every input is labelled
    assert 'enctype="multipart/form-data"' in form.text

    created = await learner_submits(client, csrf)
    assert created.status_code == 303
    assert created.headers["location"] == "/my/external-trainings?saved=created"
    page = (await client.get("/my/external-trainings")).text
    assert "Pelatihan Literasi Digital Pemprov Banten" in page
    assert "Menunggu verifikasi" in page and "APBD Provinsi" in page
    [record_id] = record_ids(page)

    edit = await client.get(f"/my/external-trainings/{record_id}/edit")
    assert 'value="24"' in edit.text
    bad = await client.post(f"/my/external-trainings/{record_id}/edit",
                            data={"csrf_token": csrf, **fields(jp="0")})  # fmt: skip
    assert bad.status_code == 422
    assert "Jumlah JP harus lebih dari 0" in bad.text and 'aria-invalid="true"' in bad.text
    good = await client.post(f"/my/external-trainings/{record_id}/edit",
                             data={"csrf_token": csrf, **fields(jp="12")})  # fmt: skip
    assert good.status_code == 303
    assert "12 JP" in (await client.get("/my/external-trainings")).text

    gone = await client.post(f"/my/external-trainings/{record_id}/withdraw",
                             data={"csrf_token": csrf})  # fmt: skip
    assert gone.status_code == 303
    assert record_ids((await client.get("/my/external-trainings")).text) == []


async def test_form_errors_name_each_field_and_write_nothing(client) -> None:  # type: ignore[no-untyped-def]
    learner = make_user()
    csrf = await login(client, learner)
    tomorrow = (clock.today() + dt.timedelta(days=1)).isoformat()
    response = await client.post(
        "/my/external-trainings/new",
        data={"csrf_token": csrf, **fields(name="", ends_on=tomorrow, funding_source="")},
    )
    assert response.status_code == 422
    text = response.text
    assert "Nama pelatihan wajib diisi." in text
    assert "Tanggal selesai tidak boleh di masa depan" in text
    assert "Sumber dana wajib diisi." in text
    assert 'value="BPSDM Provinsi Banten"' in text  # what was typed stays
    no_file = await client.post("/my/external-trainings/new", data={"csrf_token": csrf, **fields()})
    assert no_file.status_code == 422 and "Unggah sertifikat" in no_file.text
    not_pdf = await client.post(
        "/my/external-trainings/new", data={"csrf_token": csrf, **fields()},
        files={"file": ("foto.pdf", b"\x89PNG\r\n\x1a\n" + b"\0" * 32, "application/pdf")},
    )  # fmt: skip
    assert not_pdf.status_code == 415 and "bukan PDF" in not_pdf.text
    assert record_ids((await client.get("/my/external-trainings")).text) == []
    missing_csrf = await client.post("/my/external-trainings/new", data=fields(), files=pdf_file())
    assert missing_csrf.status_code == 403


async def test_officer_queue_flags_duplicates_and_decides(client, settings) -> None:  # type: ignore[no-untyped-def]
    make_opd(code="BKPSDM", name="BKPSDM")
    dewi = make_user(name="Dewi Lestari", opd_code="BKPSDM")
    rina = make_user(name="Rina Kartika")
    officer = make_user(roles=("training_officer",), name="Budi Petugas")
    csrf = await login(client, dewi)
    await learner_submits(client, csrf, certificate_number="SAMA-01")
    [dewi_id] = record_ids((await client.get("/my/external-trainings")).text)
    csrf = await login(client, rina)
    await learner_submits(client, csrf, certificate_number="sama-01", jp=8)
    [rina_id] = record_ids((await client.get("/my/external-trainings")).text)
    # A learner cannot open the officer pages.
    assert (await client.get("/studio/external-trainings")).status_code == 403
    assert (await client.get(f"/studio/external-trainings/{dewi_id}")).status_code == 403

    csrf = await login(client, officer)
    queue = await client.get("/studio/external-trainings")
    assert queue.status_code == 200
    assert queue.text.count("Nomor ganda") == 2
    assert f"/api/v1/external-trainings/{dewi_id}/file" in queue.text
    assert "BKPSDM" in queue.text and dewi.nip in queue.text
    detail = await client.get(f"/studio/external-trainings/{dewi_id}")
    assert (
        "Perhatian: nomor sertifikat ini juga dicatat" in detail.text
        and "Rina Kartika" in detail.text
    )

    url = f"/studio/external-trainings/{rina_id}/decide"
    no_reason = await client.post(url, data={"csrf_token": csrf, "decision": "reject"})
    assert no_reason.status_code == 422 and "alasan penolakan" in no_reason.text
    rejected = await client.post(
        url, data={"csrf_token": csrf, "decision": "reject", "reason": "Sertifikat ganda."}
    )
    assert rejected.status_code == 303
    verified = await client.post(f"/studio/external-trainings/{dewi_id}/decide",
                                 data={"csrf_token": csrf, "decision": "verify"})  # fmt: skip
    assert verified.status_code == 303
    twice = await client.post(f"/studio/external-trainings/{dewi_id}/decide",
                              data={"csrf_token": csrf, "decision": "reject", "reason": "x"})  # fmt: skip
    assert twice.status_code == 409 and "sudah diputuskan" in twice.text
    # The rejected one no longer flags the verified one.
    assert "Perhatian" not in (await client.get(f"/studio/external-trainings/{dewi_id}")).text
    with session_scope() as session:
        assert jp_service.summary(session, dewi.id, LAST_YEAR, settings).total_jp == 24
        assert jp_service.summary(session, rina.id, LAST_YEAR, settings).total_jp == 0

    # The learner sees the rejection reason.
    await login(client, rina)
    mine = (await client.get("/my/external-trainings")).text
    assert "Ditolak" in mine and "Sertifikat ganda." in mine

    # Revocation through the form withdraws the JP.
    csrf = await login(client, officer)
    revoke_url = f"/studio/external-trainings/{dewi_id}/revoke"
    blank = await client.post(revoke_url, data={"csrf_token": csrf, "revoke_reason": ""})
    assert blank.status_code == 422 and "alasan pembatalan" in blank.text
    done = await client.post(revoke_url, data={"csrf_token": csrf, "revoke_reason": "Palsu."})
    assert done.status_code == 303
    with session_scope() as session:
        assert jp_service.summary(session, dewi.id, LAST_YEAR, settings).total_jp == 0
    assert "Dibatalkan" in (await client.get("/studio/external-trainings?status=revoked")).text


async def test_learners_cannot_open_another_learners_record(client) -> None:  # type: ignore[no-untyped-def]
    owner = make_user(name="Pemilik")
    stranger = make_user(name="Orang Lain")
    csrf = await login(client, owner)
    await learner_submits(client, csrf)
    [record_id] = record_ids((await client.get("/my/external-trainings")).text)
    csrf = await login(client, stranger)
    assert (await client.get(f"/my/external-trainings/{record_id}/edit")).status_code == 404
    edit = await client.post(f"/my/external-trainings/{record_id}/edit",
                             data={"csrf_token": csrf, **fields()})  # fmt: skip
    assert edit.status_code == 404
    gone = await client.post(f"/my/external-trainings/{record_id}/withdraw",
                             data={"csrf_token": csrf})  # fmt: skip
    assert gone.status_code == 404
    assert (await client.get(f"/api/v1/external-trainings/{record_id}/file")).status_code == 404
    assert "Pelatihan Literasi" not in (await client.get("/my/external-trainings")).text
    # The owner still has it, file included.
    await login(client, owner)
    assert (await client.get(f"/api/v1/external-trainings/{record_id}/file")).content == PDF


async def test_officer_records_on_behalf_by_nip(client) -> None:  # type: ignore[no-untyped-def]
    learner = make_user(name="Dewi Lestari")
    officer = make_user(roles=("training_officer",))
    csrf = await login(client, officer)
    form = await client.get("/studio/external-trainings/new")
    assert '<label for="f-nip">' in form.text
    unknown = await client.post(
        "/studio/external-trainings/new",
        data={"csrf_token": csrf, "nip": "199001012015031999", **fields()}, files=pdf_file(),
    )  # fmt: skip
    assert unknown.status_code == 422 and "Tidak ada ASN dengan NIP" in unknown.text
    created = await client.post(
        "/studio/external-trainings/new",
        data={"csrf_token": csrf, "nip": learner.nip, **fields()}, files=pdf_file(),
    )  # fmt: skip
    assert created.status_code == 303
    assert "Catatan tersimpan" in (await client.get(created.headers["location"])).text
    await login(client, learner)
    mine = (await client.get("/my/external-trainings")).text
    assert "dicatat oleh petugas" in mine and "Menunggu verifikasi" in mine


async def test_officer_corrects_a_pending_record_before_verifying(client, settings) -> None:  # type: ignore[no-untyped-def]
    learner = make_user(name="Dewi Lestari")
    officer = make_user(roles=("training_officer",))
    csrf = await login(client, learner)
    await learner_submits(client, csrf, jp="32")
    [record_id] = record_ids((await client.get("/my/external-trainings")).text)
    csrf = await login(client, officer)
    form = await client.get(f"/studio/external-trainings/{record_id}/edit")
    assert form.status_code == 200 and 'value="32"' in form.text
    saved = await client.post(f"/studio/external-trainings/{record_id}/edit",
                              data={"csrf_token": csrf, **fields(jp="24")})  # fmt: skip
    assert saved.status_code == 303
    await client.post(f"/studio/external-trainings/{record_id}/decide",
                      data={"csrf_token": csrf, "decision": "verify"})  # fmt: skip
    with session_scope() as session:
        assert jp_service.summary(session, learner.id, LAST_YEAR, settings).total_jp == 24
    # A decided record is no longer editable.
    late = await client.post(f"/studio/external-trainings/{record_id}/edit",
                             data={"csrf_token": csrf, **fields(jp="30")})  # fmt: skip
    assert late.status_code == 409 and "sudah diputuskan" in late.text
    assert (await client.get(f"/studio/external-trainings/{record_id}/edit")).status_code == 303
