"""The Esign Client Service client against the contract fake: v1 multipart and v2 JSON, the
user status check, every error shape of bsre.md mapped to an Indonesian message, and the check
of a returned PDF (signature intact, whole file, BSrE chain, issued bytes kept)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from app.certificates import pdf, signing
from app.tte import constants as c
from app.tte.client import (
    BsreError,
    CredentialRejected,
    Credentials,
    DocumentRejected,
    EsignClient,
    Placement,
    Unreachable,
)
from app.tte.signer import BsreSigner, SignedPdfRejected, verify_returned
from tests.ports import free_port
from tests.tte.fake import (
    NIK_EXPIRED,
    NIK_NO_CERT,
    NIK_OK,
    NIK_UNKNOWN,
    PASSPHRASE_OK,
    EsignFake,
)


@pytest.fixture(scope="module")
def issued_pdf() -> bytes:
    from app.core.config import get_settings

    settings = get_settings()
    unsigned = pdf.render(pdf.sample_data(settings), pdf.DEFAULT_TEMPLATE, settings)
    return signing.get_signer(settings).sign(unsigned)


def _client(settings, version: str = "1") -> EsignClient:  # type: ignore[no-untyped-def]
    settings.bsre_api_version = version
    return EsignClient.from_settings(settings)


@pytest.mark.parametrize("version", ["1", "2"])
def test_user_status_only_issue_may_sign(bsre: EsignFake, settings, version: str) -> None:  # type: ignore[no-untyped-def]
    with _client(settings, version) as client:
        ok = client.user_status(NIK_OK)
        assert ok.status == "ISSUE" and ok.may_sign and ok.code in ("1111",)
        client.require_issue(NIK_OK)
        with pytest.raises(CredentialRejected, match="kedaluwarsa"):
            client.require_issue(NIK_EXPIRED)
        with pytest.raises(CredentialRejected, match="belum memiliki sertifikat"):
            client.require_issue(NIK_NO_CERT)
        with pytest.raises(CredentialRejected, match="belum terdaftar"):
            client.require_issue(NIK_UNKNOWN)
    path = c.V2_USER_STATUS_PATH if version == "2" else "/api/user/status/"
    assert all(r["path"].startswith(path) for r in bsre.requests)


@pytest.mark.parametrize("version", ["1", "2"])
def test_signs_and_the_result_passes_our_check(bsre: EsignFake, settings, issued_pdf: bytes,
                                                version: str) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    with _client(settings, version) as client:
        signer = BsreSigner(client, Credentials(NIK_OK, PASSPHRASE_OK), Placement())
        signed = signer.sign(issued_pdf, link_qr="http://testserver/verify/X")
    assert signed.startswith(issued_pdf)
    verified = verify_returned(issued_pdf, signed, settings)
    assert verified.signatures == 2 and "Hendra Wijaya" in verified.signer
    check = signing.signature_check(signed, settings)  # the upload check trusts BSrE too
    assert check.authentic and check.signer and "Hendra" in check.signer
    sent = bsre.requests[-1]["fields"]
    assert sent["passphrase"] == "***" and sent["nik"] == NIK_OK  # the fake masks it
    if version == "1":
        assert sent["tampilan"] == "invisible" and sent["files"] == ["file"]
    else:
        assert sent["signatureProperties"][0]["tampilan"] == "INVISIBLE" and sent["files"] == 1


def test_v1_visible_with_qr_coordinates_and_tag(bsre: EsignFake, settings, issued_pdf: bytes) -> None:  # type: ignore[no-untyped-def]
    with _client(settings) as client:
        creds = Credentials(NIK_OK, PASSPHRASE_OK)
        placed = Placement(visible=True, page=1, x=420, y=40, width=120, height=60,
                           reason="Uji", location="Kabupaten Contoh")  # fmt: skip
        signed = client.sign_pdf(issued_pdf, creds, placed, link_qr="http://t/verify/ABC")
        verify_returned(issued_pdf, signed, settings)
        fields = bsre.requests[-1]["fields"]
        assert fields["tampilan"] == "visible" and fields["image"] == "false"
        assert fields["linkQR"] == "http://t/verify/ABC"
        assert (fields["page"], fields["xAxis"], fields["yAxis"]) == ("1", "420", "40")
        assert (fields["width"], fields["height"], fields["reason"]) == ("120", "60", "Uji")
        tagged = Placement(visible=True, tag="[ttd_bsre]", specimen=b"\x89PNG fake")
        client.sign_pdf(issued_pdf, creds, tagged)
        fields = bsre.requests[-1]["fields"]
        assert fields["tag_koordinat"] == "[ttd_bsre]" and "xAxis" not in fields
        assert fields["image"] == "true" and fields["files"] == ["file", "imageTTD"]


def test_v2_visible_sends_signature_properties(bsre: EsignFake, settings, issued_pdf: bytes) -> None:  # type: ignore[no-untyped-def]
    with _client(settings, "2") as client:
        placed = Placement(visible=True, page=1, x=10, y=20, width=30, height=40, tag="#")
        client.sign_pdf(issued_pdf, Credentials(NIK_OK, PASSPHRASE_OK), placed)
    props = bsre.requests[-1]["fields"]["signatureProperties"][0]
    assert props["tampilan"] == "VISIBLE" and props["tag"] == "#" and props["width"] == 30


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize(
    ("nik", "passphrase", "code", "text"),
    [
        (NIK_OK, "Keliru#Sekali9", 2031, "Passphrase salah"),
        (NIK_UNKNOWN, PASSPHRASE_OK, 2011, "belum terdaftar"),
        (NIK_NO_CERT, PASSPHRASE_OK, 2021, "belum memiliki sertifikat"),
        (NIK_EXPIRED, PASSPHRASE_OK, None, "kedaluwarsa"),
    ],
)
def test_credential_errors_are_mapped(bsre: EsignFake, settings, issued_pdf: bytes, version: str,
                                      nik: str, passphrase: str, code: int | None,
                                      text: str) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    with _client(settings, version) as client, pytest.raises(CredentialRejected) as caught:
        client.sign_pdf(issued_pdf, Credentials(nik, passphrase), Placement())
    assert text in caught.value.message
    if code is not None:
        assert caught.value.code == code
    assert passphrase not in str(caught.value) or passphrase == PASSPHRASE_OK


@pytest.mark.parametrize("version", ["1", "2"])
def test_bad_pdf_is_a_document_error(bsre: EsignFake, settings, version: str) -> None:  # type: ignore[no-untyped-def]
    with _client(settings, version) as client, pytest.raises(DocumentRejected):
        client.sign_pdf(b"%PDF-1.4 bukan pdf", Credentials(NIK_OK, PASSPHRASE_OK), Placement())


def test_wrong_api_user_and_unreachable_service(bsre: EsignFake, settings, issued_pdf: bytes) -> None:  # type: ignore[no-untyped-def]
    settings.bsre_password = SecretStr("salah")
    with _client(settings) as client, pytest.raises(BsreError) as caught:
        client.user_status(NIK_OK)
    assert caught.value.http_status == 401 and "Esign Client" in caught.value.message
    settings.bsre_url = f"http://127.0.0.1:{free_port()}"
    with _client(settings) as client, pytest.raises(Unreachable):
        client.sign_pdf(issued_pdf, Credentials(NIK_OK, PASSPHRASE_OK), Placement())


def test_returned_pdf_check_refuses_what_it_must(bsre: EsignFake, settings, issued_pdf: bytes,
                                                 tmp_path) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    with _client(settings) as client:
        signed = client.sign_pdf(issued_pdf, Credentials(NIK_OK, PASSPHRASE_OK), Placement())
    with pytest.raises(SignedPdfRejected, match="isinya berubah"):
        verify_returned(issued_pdf.replace(b"Sertifikat", b"SERTIFIKAT", 1), signed, settings)
    with pytest.raises(SignedPdfRejected, match="seluruh berkas"):
        verify_returned(issued_pdf, signed + b"\n% tambahan\n", settings)
    with pytest.raises(SignedPdfRejected, match="satu tanda tangan baru"):
        verify_returned(issued_pdf, issued_pdf, settings)
    other = EsignFake()  # another CA: intact but not BSrE's
    other.start()
    try:
        settings.bsre_url = other.url
        with _client(settings) as client:
            foreign = client.sign_pdf(issued_pdf, Credentials(NIK_OK, PASSPHRASE_OK), Placement())
    finally:
        other.stop()
    with pytest.raises(SignedPdfRejected, match="dipercaya"):
        verify_returned(issued_pdf, foreign, settings)
    settings.bsre_trust_pem = None
    with pytest.raises(SignedPdfRejected, match="LMS_BSRE_TRUST_PEM"):
        verify_returned(issued_pdf, signed, settings)
