"""PAdES signatures: valid for pyHanko's validator and poppler's pdfsig; one changed byte, one
changed word or anything appended makes the upload check say "not authentic"; another CA's
signature is intact but untrusted; broken input gets a clear reason, never an exception."""

from __future__ import annotations

import asyncio
import hashlib
import io
import shutil
import subprocess
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from app.certificates import keys, pdf, signing
from app.certificates.layout import DEFAULT_LAYOUT

PDFSIG = shutil.which("pdfsig")
CERTUTIL = shutil.which("certutil")


@pytest.fixture(scope="module")
def signed(settings_module) -> bytes:  # type: ignore[no-untyped-def]
    unsigned = pdf.render(pdf.sample_data(settings_module), pdf.DEFAULT_TEMPLATE, settings_module)
    return signing.get_signer(settings_module).sign(unsigned)


@pytest.fixture(scope="module")
def settings_module():  # type: ignore[no-untyped-def]
    from app.core.config import get_settings

    return get_settings()


def _pdfsig(data: bytes, tmp_path: Path, *extra: str) -> str:
    path = tmp_path / "s.pdf"
    path.write_bytes(data)
    run = subprocess.run(["pdfsig", *extra, str(path)], capture_output=True, text=True)
    return run.stdout + run.stderr


def test_signed_pdf_is_authentic(settings, signed: bytes) -> None:  # type: ignore[no-untyped-def]
    check = signing.signature_check(signed, settings)
    assert (check.signed, check.intact, check.trusted, check.covers_whole_file) == (True,) * 4
    assert check.authentic
    assert check.signer and "Penandatangan Sertifikat" in check.signer
    assert "sah" in check.reason


def test_pyhanko_validator_reports_pades_and_whole_file(settings, signed: bytes) -> None:  # type: ignore[no-untyped-def]
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives.serialization import Encoding

    roots = [
        asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in keys.trust_roots(settings)
    ]
    embedded = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    assert len(embedded) == 1
    sig = embedded[0]
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    status = validate_pdf_signature(
        sig, ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
    )
    assert status.intact and status.valid and status.trusted
    assert status.coverage.name == "ENTIRE_FILE"
    assert status.md_algorithm == "sha256"
    # PAdES B-B: the ESS signing-certificate-v2 attribute binds the signer certificate.
    attrs = {a["type"].native for a in sig.signer_info["signed_attrs"]}
    assert {"content_type", "message_digest", "signing_certificate_v2"} <= attrs


@pytest.mark.skipif(not PDFSIG, reason="poppler-utils (pdfsig) not installed")
def test_pdfsig_says_valid_and_whole_document(signed: bytes, tmp_path: Path) -> None:
    out = _pdfsig(signed, tmp_path)
    assert "Signature Validation: Signature is Valid." in out, out
    assert "Total document signed" in out and "Not total document signed" not in out
    assert "Signature Type: ETSI.CAdES.detached" in out


@pytest.mark.skipif(not (PDFSIG and CERTUTIL), reason="needs pdfsig and certutil (libnss3-tools)")
def test_pdfsig_trusts_the_institution_ca_in_an_nss_db(
    settings, signed: bytes, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    nss = tmp_path / "nss"
    nss.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True)
    ca = keys.key_paths(settings).ca_cert
    subprocess.run(
        ["certutil", "-A", "-d", f"sql:{nss}", "-n", "lms-ca", "-t", "CT,C,C", "-i", str(ca)],
        check=True,
    )
    # No -no-ocsp: poppler 22.12 then reports "Unknown issue"; our certificates carry no
    # OCSP/AIA address, so nothing is fetched either way.
    out = _pdfsig(signed, tmp_path, "-nssdir", f"sql:{nss}")
    assert "Signature Validation: Signature is Valid." in out, out
    assert "Certificate Validation: Certificate is Trusted." in out, out


@pytest.mark.skipif(not PDFSIG, reason="poppler-utils (pdfsig) not installed")
def test_pdfsig_sees_a_changed_word(signed: bytes, tmp_path: Path) -> None:
    tampered = signed.replace(b"Kabupaten Contoh)", b"Kabupaten Cantoh)", 1)
    assert tampered != signed
    assert "Digest Mismatch" in _pdfsig(tampered, tmp_path)


def test_one_changed_byte_is_not_authentic(settings, signed: bytes) -> None:  # type: ignore[no-untyped-def]
    # A byte inside the page content stream (compressed drawing of the certificate).
    start = signed.index(b"stream\n", signed.index(b"/Filter [ /FlateDecode ]")) + 20
    tampered = bytearray(signed)
    tampered[start] ^= 0x01
    check = signing.signature_check(bytes(tampered), settings)
    assert check.signed and not check.intact and not check.authentic
    assert "diubah" in check.reason


def test_one_changed_word_is_not_authentic(settings, signed: bytes) -> None:  # type: ignore[no-untyped-def]
    tampered = signed.replace(b"Kabupaten Contoh)", b"Kabupaten Cantoh)", 1)
    check = signing.signature_check(tampered, settings)
    assert not check.intact and not check.authentic


def test_changed_length_word_is_not_authentic(settings, signed: bytes) -> None:  # type: ignore[no-untyped-def]
    tampered = signed.replace(b"(LMS Diklat ASN)", b"(LMS Diklat ASN Palsu)", 1)
    assert tampered != signed
    assert not signing.signature_check(tampered, settings).authentic


def test_appended_content_is_not_authentic(settings, signed: bytes) -> None:  # type: ignore[no-untyped-def]
    check = signing.signature_check(signed + b"\n% ditambahkan\n", settings)
    assert check.intact and check.trusted and not check.covers_whole_file
    assert not check.authentic
    assert "tambahan" in check.reason


def test_other_ca_signature_is_intact_but_not_trusted(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    keys.init_keys(tmp_path / "other", "Lembaga Lain")
    other = settings.model_copy(update={"keys_dir": str(tmp_path / "other")})
    forged = signing.LocalPkcs12Signer(keys.signing_material(other)).sign(
        pdf.render(pdf.sample_data(settings), pdf.DEFAULT_TEMPLATE, settings)
    )
    check = signing.signature_check(forged, settings)
    assert check.signed and check.intact and not check.trusted and not check.authentic
    assert "bukan dari penerbit" in check.reason


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "bukan PDF"),
        (b"GIF89a....", "bukan PDF"),
        (b"%PDF-1.7\n garbage \x00\xff", "rusak"),
        (
            b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
            "rusak",
        ),
    ],
)
def test_malformed_input_gives_a_reason(settings, data: bytes, reason: str) -> None:  # type: ignore[no-untyped-def]
    check = signing.signature_check(data, settings)
    assert not check.authentic
    assert reason in check.reason


def test_unsigned_pdf_is_reported_as_unsigned(settings) -> None:  # type: ignore[no-untyped-def]
    unsigned = pdf.render(pdf.sample_data(settings), pdf.DEFAULT_TEMPLATE, settings)
    check = signing.signature_check(unsigned, settings)
    assert not check.signed and "tidak memiliki tanda tangan" in check.reason


def test_templated_cms_matches_pyhankos_own_container(settings) -> None:  # type: ignore[no-untyped-def]
    """The per-process template gives exactly pyHanko's SignedData apart from the signature."""
    signer = signing.get_signer(settings)
    assert isinstance(signer, signing.LocalPkcs12Signer)
    inner = signer._signer
    digest = hashlib.sha256(b"dokumen").digest()
    fast = cms.ContentInfo.load(inner.fast_cms(digest))
    reference = asyncio.run(super(type(inner), inner).async_sign(digest, "sha256", use_pades=True))
    fast_sd, ref_sd = fast["content"], reference["content"]
    for name in ("version", "digest_algorithms", "encap_content_info", "certificates"):
        assert fast_sd[name].dump() == ref_sd[name].dump(), name
    fast_si, ref_si = fast_sd["signer_infos"][0], ref_sd["signer_infos"][0]
    for name in ("version", "sid", "digest_algorithm", "signed_attrs", "signature_algorithm"):
        assert fast_si[name].dump(force=True) == ref_si[name].dump(force=True), name
    material = keys.signing_material(settings)
    public = material.cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(
        fast_si["signature"].native,
        fast_si["signed_attrs"].untag().dump(force=True),
        ec.ECDSA(hashes.SHA256()),
    )


def test_bsre_signer_is_a_signer() -> None:
    """The remote TTE signer is real now (app.tte, tested against the BSrE fake in tests/tte)."""
    from app.tte.client import Credentials, EsignClient, Placement
    from app.tte.signer import BsreSigner

    signer: signing.Signer = BsreSigner(
        EsignClient("http://127.0.0.1:9", "u", "p"), Credentials("1" * 16, "x"), Placement()
    )
    assert callable(signer.sign)


def test_layout_default_is_used_by_default_template() -> None:
    assert pdf.DEFAULT_TEMPLATE.layout is DEFAULT_LAYOUT


async def test_signing_and_checking_work_inside_a_running_event_loop(settings) -> None:  # type: ignore[no-untyped-def]
    """An async route that completes a run signs its certificate on the loop's thread."""
    signing.forget_signers()  # the signer is built (and its CMS template made) on this thread
    unsigned = pdf.render(pdf.sample_data(settings), pdf.DEFAULT_TEMPLATE, settings)
    signed = signing.get_signer(settings).sign(unsigned)
    assert signing.signature_check(signed, settings).authentic
