"""Public verification: status valid/revoked/superseded/expired with a masked NIP, 404 without
a hint for unknown codes, rate-limited per client address; the PDF upload check says whether a
file is exactly an issued certificate (or institution-signed and unchanged)."""

from __future__ import annotations

import datetime as dt

import anyio
from sqlalchemy import select

from app.certificates import documents
from app.certificates.models import Certificate
from app.core import clock
from app.core.db import session_scope
from tests.certificates.pdfs import make_pdfs
from tests.factories import api_token, make_completed_run, make_user


async def _issued(client, learners: int = 1) -> tuple[dict[str, str], list[int]]:  # type: ignore[no-untyped-def]
    data = make_completed_run(learners, auto_issue=False)
    officer = await api_token(client, make_user(roles=("training_officer",)).email)
    body = (await client.post(f"/api/v1/runs/{data['run']}/certificates", headers=officer)).json()
    make_pdfs()
    return officer, [i["id"] for i in body["issued"]]


def _cert(cid: int) -> Certificate:
    with session_scope() as session:
        cert = session.get(Certificate, cid)
        assert cert is not None
        return cert


async def test_verify_statuses(client) -> None:  # type: ignore[no-untyped-def]
    officer, [cid, cid2, cid3] = await _issued(client, 3)
    cert = _cert(cid)
    body = (await client.get(f"/api/v1/verify/{cert.code}")).json()
    assert body["status"] == "valid" and body["number"] == cert.number
    assert body["holder_name"] == cert.holder_name and body["pdf_sha256"] == cert.pdf_sha256
    assert (
        cert.holder_nip
        and body["holder_nip_masked"] == cert.holder_nip[:4] + "*" * 10 + cert.holder_nip[-4:]
    )
    assert set(body) >= {"status", "number", "holder_name", "holder_nip_masked", "course_title",
                         "jp", "predikat", "issued_at", "issuer", "pdf_sha256"}  # fmt: skip
    grouped = "-".join(cert.code[i : i + 4] for i in range(0, 32, 4)).lower()
    assert (await client.get(f"/api/v1/verify/{grouped}")).json()["number"] == cert.number

    await client.post(f"/api/v1/certificates/{cid}/revoke", headers=officer,
                      json={"reason": "Dicabut karena data tidak benar"})  # fmt: skip
    revoked = (await client.get(f"/api/v1/verify/{cert.code}")).json()
    assert revoked["status"] == "revoked" and revoked["revoked_reason"]

    new = (await client.post(f"/api/v1/certificates/{cid2}/reissue", headers=officer,
                             json={"reason": "Salah nama"})).json()  # fmt: skip
    old = (await client.get(f"/api/v1/verify/{_cert(cid2).code}")).json()
    assert old["status"] == "superseded" and old["superseded_by"] == new["code"]

    with session_scope() as session:
        row = session.get(Certificate, cid3)
        assert row is not None
        row.valid_until = clock.today() - dt.timedelta(days=1)
    assert (await client.get(f"/api/v1/verify/{_cert(cid3).code}")).json()["status"] == "expired"


async def test_unknown_code_is_a_plain_404(client) -> None:  # type: ignore[no-untyped-def]
    for code in ("A" * 32, "not-a-code", "ABCD"):
        response = await client.get(f"/api/v1/verify/{code}")
        assert response.status_code == 404
        assert (
            response.json()["detail"]
            == "Sertifikat tidak ditemukan. Periksa kembali kode verifikasi."
        )


async def test_verification_is_rate_limited_per_address(client, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "verify_rate_per_minute", 3)
    for _ in range(3):
        assert (await client.get("/api/v1/verify/" + "B" * 32)).status_code == 404
    limited = await client.get("/api/v1/verify/" + "B" * 32)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    upload = await client.post(
        "/api/v1/verify/pdf", files={"file": ("a.pdf", b"%PDF-1.7", "application/pdf")}
    )
    assert upload.status_code == 429


async def test_verify_pdf_original_edited_and_resigned(client, settings) -> None:  # type: ignore[no-untyped-def]
    _officer, [cid] = await _issued(client)
    cert = _cert(cid)
    original = documents.read_pdf(cert, settings)

    async def check(data: bytes) -> dict[str, object]:
        response = await client.post("/api/v1/verify/pdf",
                                     files={"file": ("s.pdf", data, "application/pdf")})  # fmt: skip
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    ok = await check(original)
    assert ok["authentic"] is True and ok["number"] == cert.number and ok["status"] == "valid"

    flipped = bytearray(original)
    middle = len(flipped) // 3
    flipped[middle] = (flipped[middle] + 1) % 256
    edited = await check(bytes(flipped))
    assert edited["authentic"] is False and edited["reason"]

    word = original.replace(cert.holder_name.encode(), b"Nama Palsu!", 1)
    if word != original:
        assert (await check(word))["authentic"] is False
    appended = await check(original + b"\n% tambahan\n")
    assert appended["authentic"] is False
    assert (await check(b"bukan pdf"))["authentic"] is False

    # A PDF produced again for the same record (e.g. after a template fix) is no longer the
    # stored one, but its institution signature is intact and it names a known certificate.
    def produce_again() -> None:
        with session_scope() as session:
            row = session.get(Certificate, cid)
            assert row is not None
            documents.produce(session, row, settings)

    await anyio.to_thread.run_sync(produce_again)  # pyHanko signs with its own event loop
    assert _cert(cid).pdf_sha256 != cert.pdf_sha256
    again = await check(original)
    assert again["authentic"] is True and again["number"] == cert.number


async def test_verify_keys_and_issuer(client) -> None:  # type: ignore[no-untyped-def]
    jwks = (await client.get("/api/v1/verify/keys")).json()
    assert jwks["keys"][0]["kty"] == "OKP" and jwks["keys"][0]["crv"] == "Ed25519"
    issuer = (await client.get("/api/v1/verify/issuer")).json()
    assert issuer["type"] == ["Profile"] and issuer["publicKey"]["x"] == jwks["keys"][0]["x"]
    with session_scope() as session:
        assert session.scalars(select(Certificate)).first() is None
