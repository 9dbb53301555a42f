"""PAdES signing of certificate PDFs and the signature check behind the upload-a-PDF verification.

`Signer` is the seam: `LocalPkcs12Signer` signs with the institution's PKCS#12 (the `lms keys
init` default or a real one from settings); a remote TTE provider (BSrE) can plug in later.
"""

from __future__ import annotations

import io
import logging
import threading
from dataclasses import dataclass
from typing import Protocol

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from app.certificates import keys
from app.core.config import Settings

log = logging.getLogger(__name__)

SIGNATURE_FIELD = "TandaTanganElektronik"
SIGNATURE_REASON = "Sertifikat pelatihan diterbitkan secara elektronik"
# Enough room for an ECDSA or RSA-4096 CMS with a 3-certificate chain; pyHanko fails loudly
# if a real (agency) chain needs more, and the setting-free default keeps files small.
_BYTES_RESERVED = 8192


class Signer(Protocol):
    """Anything that turns an unsigned PDF into a PAdES-signed one."""

    def sign(self, pdf: bytes) -> bytes: ...


def _to_asn1_cert(cert: object) -> asn1_x509.Certificate:
    from cryptography import x509

    assert isinstance(cert, x509.Certificate)
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class LocalPkcs12Signer:
    """PAdES B-B (ETSI.CAdES.detached, SHA-256, signer certificate and chain embedded) with a
    key held in a local PKCS#12. No timestamp server: the issue date is in the record."""

    def __init__(self, material: keys.SigningMaterial, *, location: str | None = None) -> None:
        key_der = material.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        chain = [_to_asn1_cert(c) for c in material.chain]
        self._signer = signers.SimpleSigner(
            signing_cert=_to_asn1_cert(material.cert),
            signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
            cert_registry=SimpleCertificateStore.from_certs(chain),
        )
        self._meta = signers.PdfSignatureMetadata(
            field_name=SIGNATURE_FIELD,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=SIGNATURE_REASON,
            location=location,
            # Our own certificate has no CRL/OCSP; the validation context at verify time
            # decides trust, so signing does not fetch or check anything.
            signer_key_usage={"non_repudiation"},
        )
        self._pdf_signer = signers.PdfSigner(self._meta, signer=self._signer)
        self.subject = material.cert.subject.rfc4514_string()

    def sign(self, pdf: bytes) -> bytes:
        """Append an incremental update holding the CMS signature over the whole file."""
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        out = io.BytesIO()
        self._pdf_signer.sign_pdf(writer, output=out, bytes_reserved=_BYTES_RESERVED)
        return out.getvalue()


class RemoteTteSigner:
    """Placeholder for a remote TTE provider (BSrE / BSSN): the PDF digest would be sent to the
    provider's signing API with the signer's NIK and passphrase and the returned CMS embedded
    with pyHanko's `PdfSigner` + an external `Signer` (`signers.ExternalSigner`). Not available
    yet: configuring it fails loudly instead of producing unsigned certificates."""

    def __init__(self, endpoint: str, client_id: str) -> None:
        self.endpoint = endpoint
        self.client_id = client_id

    def sign(self, pdf: bytes) -> bytes:
        raise NotImplementedError(
            "Penandatanganan TTE jarak jauh (BSrE) belum tersedia; gunakan PKCS#12 lokal "
            "(LMS_SIGNING_PKCS12_PATH) sampai integrasi BSrE dibuat."
        )


_signers: dict[tuple[str, int, str], LocalPkcs12Signer] = {}
_signers_lock = threading.Lock()


def get_signer(settings: Settings) -> Signer:
    """The institution's signer, loaded once per process (key file version and place)."""
    material = keys.signing_material(settings)
    cache_key = (material.cert.subject.rfc4514_string(), material.cert.serial_number, settings.cert_place)
    with _signers_lock:
        signer = _signers.get(cache_key)
        if signer is None:
            signer = LocalPkcs12Signer(material, location=settings.cert_place)
            _signers[cache_key] = signer
        return signer


def forget_signers() -> None:
    with _signers_lock:
        _signers.clear()


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """What a PDF's signature says: present, bytes unchanged, chained to our CA, by whom.
    `covers_whole_file` is False when content was appended after signing."""

    signed: bool
    intact: bool
    trusted: bool
    signer: str | None
    reason: str
    covers_whole_file: bool = False

    @property
    def authentic(self) -> bool:
        """Authentic = signed by our institution, unchanged, and nothing added afterwards."""
        return self.signed and self.intact and self.trusted and self.covers_whole_file


def _validation_context(settings: Settings) -> ValidationContext:
    roots = [_to_asn1_cert(c) for c in keys.trust_roots(settings)]
    # No revocation information exists for the local CA and we never go to the network.
    return ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")


_KEY_USAGE = KeyUsageConstraints(key_usage={"non_repudiation"}, match_all_key_usages=False)


def signature_check(data: bytes, settings: Settings) -> SignatureCheck:
    """Check the last signature of an uploaded PDF against the institution's CA; never raises
    for bad input — the reason says what is wrong in plain Indonesian."""
    if not data.startswith(b"%PDF-") and b"%PDF-" not in data[:1024]:
        return SignatureCheck(False, False, False, None, "Berkas bukan PDF.")
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        embedded = reader.embedded_signatures
    except Exception as exc:  # pyHanko raises many kinds on malformed input
        log.info("unreadable PDF in signature check: %s", exc)
        return SignatureCheck(False, False, False, None, "PDF rusak atau tidak dapat dibaca.")
    if not embedded:
        return SignatureCheck(False, False, False, None, "PDF tidak memiliki tanda tangan elektronik.")
    sig = embedded[-1]
    try:
        status = validate_pdf_signature(
            sig, signer_validation_context=_validation_context(settings), key_usage_settings=_KEY_USAGE
        )
    except Exception as exc:
        log.info("signature validation failed: %s", exc)
        return SignatureCheck(
            True, False, False, None, "Tanda tangan elektronik rusak atau tidak dapat diperiksa."
        )
    signer_name = None
    try:
        signer_name = status.signing_cert.subject.human_friendly
    except Exception:  # noqa: S110 - the name is informative only
        pass
    intact = bool(status.intact and status.valid)
    trusted = bool(status.trusted)
    whole = False
    try:
        from pyhanko.sign.general import SignatureCoverageLevel

        whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    except Exception:  # noqa: S110
        whole = False
    if not intact:
        reason = "Isi PDF telah diubah setelah ditandatangani."
    elif not trusted:
        reason = "Tanda tangan utuh tetapi bukan dari penerbit sertifikat ini."
    elif not whole:
        reason = "Ada tambahan isi setelah tanda tangan; PDF bukan berkas asli yang diterbitkan."
    else:
        reason = "Tanda tangan elektronik sah dan PDF tidak diubah."
    return SignatureCheck(True, intact, trusted, signer_name, reason, whole)


__all__ = [
    "LocalPkcs12Signer",
    "RemoteTteSigner",
    "SignatureCheck",
    "Signer",
    "SigningError",
    "forget_signers",
    "get_signer",
    "signature_check",
]
