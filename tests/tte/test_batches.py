"""Signing batches through the API against the BSrE fake: the officer prepares, the signing
official signs; a wrong passphrase answers 422 with BSrE's reason and leaves every certificate
as it was; the right one replaces every PDF and its sha256 (valid for pyHanko, pdfsig and the
public upload check); a credential error mid-batch stops with the rest pending; an interrupted
batch asks for the data again; roles are enforced; no secret is ever stored or logged."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select, text

from app.certificates import documents, signing
from app.certificates.models import Certificate
from app.core.db import Base, get_engine, session_scope
from app.core.errors import NotFound
from app.tte import tasks
from app.tte.models import SigningBatch
from app.tte.signer import verify_returned
from tests.certificates.pdfs import make_pdfs
from tests.factories import api_token, make_completed_run, make_user
from tests.tte.fake import NIK_EXPIRED, NIK_OK, PASSPHRASE_OK, EsignFake

WRONG = "Bukan#Passphrase7"


def _certs(run_id: int) -> list[Certificate]:
    with session_scope() as session:
        rows = list(session.scalars(select(Certificate).where(Certificate.run_id == run_id)
                                    .order_by(Certificate.id)))  # fmt: skip
        session.expunge_all()
        return rows


async def _setup(client, learners: int = 3):  # type: ignore[no-untyped-def]
    data = make_completed_run(learners, auto_issue=False)
    officer = await api_token(client, make_user(roles=("training_officer",)).email)
    issued = await client.post(f"/api/v1/runs/{data['run']}/certificates", headers=officer)
    assert issued.status_code in (200, 202), issued.text
    make_pdfs()
    official = await api_token(client, make_user(roles=("signing_official",),
                                                 name="Dr. Hendra Wijaya").email)  # fmt: skip
    return int(data["run"]), officer, official  # type: ignore[call-overload]


def _stored(cert: Certificate) -> bytes:
    return documents.read_pdf(cert)


async def test_wrong_passphrase_then_right_one(client, bsre: EsignFake, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run_id, officer, official = await _setup(client, 3)
    before = _certs(run_id)
    assert len(before) == 3 and all(c.pdf_key for c in before)

    made = await client.post("/api/v1/certificates/signing-batches", headers=officer,
                             json={"run_id": run_id})  # fmt: skip
    assert made.status_code == 201, made.text
    batch = made.json()
    assert batch["count"] == 3

    wrong = await client.post(f"/api/v1/certificates/signing-batches/{batch['id']}/sign",
                              headers=official, json={"nik": NIK_OK, "passphrase": WRONG})  # fmt: skip
    assert wrong.status_code == 422, wrong.text
    assert "Passphrase salah" in wrong.json()["detail"]
    after_wrong = _certs(run_id)
    assert [(c.pdf_key, c.pdf_sha256) for c in after_wrong] == [
        (c.pdf_key, c.pdf_sha256) for c in before
    ]
    state = (await client.get(f"/api/v1/certificates/signing-batches/{batch['id']}",
                              headers=officer)).json()  # fmt: skip
    assert state["state"] == "failed" and state["error_code"] == 2031
    assert state["pending_count"] == 3 and state["signed_count"] == 0

    ok = await client.post(f"/api/v1/certificates/signing-batches/{batch['id']}/sign",
                           headers=official, json={"nik": NIK_OK, "passphrase": PASSPHRASE_OK})
    assert ok.status_code == 202, ok.text
    assert ok.json()["job_id"]
    state = (await client.get(f"/api/v1/certificates/signing-batches/{batch['id']}",
                              headers=official)).json()  # fmt: skip
    assert state["state"] == "done" and state["signed_count"] == 3, state
    assert {i["state"] for i in state["items"]} == {"signed"}

    pdfsig = shutil.which("pdfsig")
    assert pdfsig, "poppler-utils (pdfsig) is installed by scripts/test.sh"
    for old, new in zip(before, _certs(run_id), strict=True):
        data = _stored(new)
        assert new.pdf_sha256 == hashlib.sha256(data).hexdigest() != old.pdf_sha256
        assert new.pdf_key != old.pdf_key and new.pdf_size == len(data)
        assert verify_returned(_stored_bytes_of(old, data), data, settings).signatures == 2
        assert signing.signature_check(data, settings).authentic
        verdict = (await client.post("/api/v1/verify/pdf",
                                     files={"file": ("s.pdf", data, "application/pdf")})).json()
        assert verdict["authentic"] is True and verdict["number"] == new.number
        path = tmp_path / f"{new.id}.pdf"
        path.write_bytes(data)
        out = subprocess.run([pdfsig, str(path)], capture_output=True, text=True).stdout
        assert out.count("Signature #") == 2 and "Signature is Valid." in out
        assert "Hendra Wijaya" in out
        with pytest.raises(NotFound):  # the locally signed copy is gone
            documents.read_pdf(old)

    again = await client.post("/api/v1/certificates/signing-batches", headers=officer,
                              json={"run_id": run_id})  # fmt: skip
    assert again.status_code == 422 and again.json()["error"] == "nothing_to_sign"


def _stored_bytes_of(old: Certificate, signed: bytes) -> bytes:
    """The issued file is the signed one's prefix (its length is the old record's size)."""
    assert old.pdf_size is not None
    original = signed[: old.pdf_size]
    assert hashlib.sha256(original).hexdigest() == old.pdf_sha256
    return original


async def test_roles_and_status_check(client, bsre: EsignFake) -> None:  # type: ignore[no-untyped-def]
    run_id, officer, official = await _setup(client, 1)
    learner = await api_token(client, make_user().email)
    url = "/api/v1/certificates/signing-batches"
    assert (await client.post(url, json={"run_id": run_id})).status_code == 401
    assert (await client.post(url, headers=learner, json={"run_id": run_id})).status_code == 403
    assert (await client.post(url, headers=official, json={"run_id": run_id})).status_code == 403
    assert (await client.post(url, headers=officer, json={})).status_code == 422
    assert (await client.post(url, headers=officer, json={"run_id": 999999})).status_code == 404
    batch = (await client.post(url, headers=officer, json={"run_id": run_id})).json()
    sign = f"{url}/{batch['id']}/sign"
    body = {"nik": NIK_OK, "passphrase": PASSPHRASE_OK}
    assert (await client.post(sign, headers=officer, json=body)).status_code == 403
    assert (await client.post(sign, headers=official,
                              json={"nik": "123", "passphrase": "x"})).status_code == 422
    expired = await client.post(sign, headers=official,
                                json={"nik": NIK_EXPIRED, "passphrase": PASSPHRASE_OK})
    assert expired.status_code == 422 and "kedaluwarsa" in expired.json()["detail"]
    assert not any(r["path"] == "/api/sign/pdf" for r in bsre.requests)  # checked first


async def test_credential_error_mid_batch_stops_and_resumes(client, bsre: EsignFake, settings) -> None:  # type: ignore[no-untyped-def]
    settings.bsre_concurrency = 1
    run_id, officer, official = await _setup(client, 4)
    batch = (await client.post("/api/v1/certificates/signing-batches", headers=officer,
                               json={"run_id": run_id})).json()  # fmt: skip
    user = bsre.users[NIK_OK]
    real = tasks.record
    seen: list[int] = []

    def record_then_change(batch_id, outcome, by, settings_):  # type: ignore[no-untyped-def]
        real(batch_id, outcome, by, settings_)
        seen.append(outcome.cert_id)
        if len(seen) == 2:
            user.passphrase = "Diganti#Di-BSrE1"  # the certificate's passphrase changed at BSrE

    tasks.record = record_then_change  # type: ignore[assignment]
    try:
        accepted = await client.post(f"/api/v1/certificates/signing-batches/{batch['id']}/sign",
                                     headers=official,
                                     json={"nik": NIK_OK, "passphrase": PASSPHRASE_OK})
    finally:
        tasks.record = real  # type: ignore[assignment]
    assert accepted.status_code == 202
    state = (await client.get(f"/api/v1/certificates/signing-batches/{batch['id']}",
                              headers=officer)).json()  # fmt: skip
    assert state["state"] == "failed" and "Passphrase salah" in state["error"]
    assert (state["signed_count"], state["pending_count"]) == (2, 2)
    untouched = [c for c in _certs(run_id) if c.id not in seen]
    for cert in untouched:
        assert hashlib.sha256(_stored(cert)).hexdigest() == cert.pdf_sha256
        assert len(signing_count(_stored(cert))) == 1
    user.passphrase = "Diganti#Di-BSrE1"
    resumed = await client.post(f"/api/v1/certificates/signing-batches/{batch['id']}/sign",
                                headers=official,
                                json={"nik": NIK_OK, "passphrase": "Diganti#Di-BSrE1"})
    assert resumed.status_code == 202
    state = (await client.get(f"/api/v1/certificates/signing-batches/{batch['id']}",
                              headers=officer)).json()  # fmt: skip
    assert state["state"] == "done" and state["signed_count"] == 4
    assert sum(1 for r in bsre.requests if r["path"] == "/api/sign/pdf") == 2 + 1 + 2


def signing_count(data: bytes) -> list[object]:
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    return list(PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures)


async def test_v2_batch_and_revoked_meanwhile(client, bsre: EsignFake, settings) -> None:  # type: ignore[no-untyped-def]
    settings.bsre_api_version = "2"
    run_id, officer, official = await _setup(client, 2)
    batch = (await client.post("/api/v1/certificates/signing-batches", headers=officer,
                               json={"run_id": run_id})).json()  # fmt: skip
    _first, second = _certs(run_id)
    await client.post(f"/api/v1/certificates/{second.id}/revoke", headers=officer,
                      json={"reason": "Data peserta salah"})  # fmt: skip
    ok = await client.post(f"/api/v1/certificates/signing-batches/{batch['id']}/sign",
                           headers=official, json={"nik": NIK_OK, "passphrase": PASSPHRASE_OK})
    assert ok.status_code == 202
    state = (await client.get(f"/api/v1/certificates/signing-batches/{batch['id']}",
                              headers=officer)).json()  # fmt: skip
    assert state["state"] == "done"
    assert (state["signed_count"], state["skipped_count"]) == (1, 1)
    assert all(r["path"].startswith("/api/v2/") for r in bsre.requests)
    revoked = _certs(run_id)[1]
    assert revoked.pdf_sha256 == second.pdf_sha256  # untouched


async def test_interrupted_batch_asks_for_credentials_again(client, bsre: EsignFake, settings) -> None:  # type: ignore[no-untyped-def]
    run_id, officer, official = await _setup(client, 1)
    batch = (await client.post("/api/v1/certificates/signing-batches", headers=officer,
                               json={"run_id": run_id})).json()  # fmt: skip
    with session_scope() as session:  # as a process that died mid-batch leaves it
        row = session.get(SigningBatch, batch["id"])
        assert row is not None
        row.state, row.job_id = "running", "dead-job"
        row.heartbeat_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    state = (await client.get(f"/api/v1/certificates/signing-batches/{batch['id']}",
                              headers=officer)).json()  # fmt: skip
    assert state["state"] == "failed" and "masukkan lagi" in state["error"]
    ok = await client.post(f"/api/v1/certificates/signing-batches/{batch['id']}/sign",
                           headers=official, json={"nik": NIK_OK, "passphrase": PASSPHRASE_OK})
    assert ok.status_code == 202


async def test_no_secret_is_stored_or_logged(client, bsre: EsignFake, settings, caplog) -> None:  # type: ignore[no-untyped-def]
    """The passphrase and the API password never reach logs, answers or the database."""
    caplog.set_level(logging.DEBUG)
    run_id, officer, official = await _setup(client, 2)
    batch = (await client.post("/api/v1/certificates/signing-batches", headers=officer,
                               json={"run_id": run_id})).json()  # fmt: skip
    url = f"/api/v1/certificates/signing-batches/{batch['id']}/sign"
    answers = [
        await client.post(url, headers=official, json={"nik": NIK_OK, "passphrase": WRONG}),
        await client.post(url, headers=official, json={"nik": NIK_OK, "passphrase": PASSPHRASE_OK}),
    ]
    answers.append(await client.get(f"/api/v1/certificates/signing-batches/{batch['id']}",
                                    headers=official))  # fmt: skip
    secrets = [WRONG, PASSPHRASE_OK, settings.bsre_password.get_secret_value()]
    logged = caplog.text + "".join(repr(r.__dict__) for r in caplog.records)
    dumped = _database_text()
    for secret in secrets:
        assert secret not in logged
        assert all(secret not in a.text for a in answers)
        assert secret not in dumped
    assert NIK_OK not in dumped  # the NIK is not kept either


def _database_text() -> str:
    parts: list[str] = []
    with get_engine().connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(text(f'SELECT * FROM "{table.name}"')):
                parts.append(repr(tuple(row)))
    return "\n".join(parts)
