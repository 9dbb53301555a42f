"""PAdES signing of certificate PDFs and the signature check behind the upload-a-PDF verification.

`Signer` is the seam: `LocalPkcs12Signer` signs with the institution's PKCS#12 (the `lms keys
init` default or a real one from settings); app.tte.signer.BsreSigner signs through BSrE.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from asn1crypto import cms
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from app.certificates import keys
from app.core.config import Settings

T = TypeVar("T")

log = logging.getLogger(__name__)

SIGNATURE_FIELD = "TandaTanganElektronik"
SIGNATURE_REASON = "Sertifikat pelatihan diterbitkan secara elektronik"


class Signer(Protocol):
    """Anything that turns an unsigned PDF into a PAdES-signed one."""

    def sign(self, pdf: bytes) -> bytes: ...


def _to_asn1_cert(cert: object) -> asn1_x509.Certificate:
    from cryptography import x509

    assert isinstance(cert, x509.Certificate)
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(content)) + content


def outside_event_loop(fn: Callable[..., T], *args: Any) -> T:
    """Run `fn` here, or on a helper thread when this thread runs an event loop: pyHanko's
    synchronous API calls asyncio.run(), which refuses to nest (an async route or test that
    completes a run would otherwise fail to sign its certificate)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf-sign") as pool:
        return pool.submit(fn, *args).result()


class _TemplatedCmsSigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner, with the CMS SignedData assembled from a per-process template.

    For PAdES B-B without a timestamp the signed attributes (content-type, message-digest,
    signing-certificate-v2) and everything around them are identical for every document
    except the 32-byte message digest and the signature value. pyHanko builds one reference
    container at start-up; each signature then splices the new digest in, signs the
    attributes with the key, and re-encodes the few enclosing DER lengths — ~0.2 ms instead
    of ~15 ms of asn1crypto object building. The result is the same structure pyHanko
    would produce (checked by pyHanko's validator and poppler in the tests)."""

    _marker = bytes(range(0xA0, 0xC0))  # an improbable 32-byte placeholder digest
    _crypto_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | Ed25519PrivateKey

    def prepare_template(self, md_algorithm: str) -> None:
        import asyncio

        reference = asyncio.run(
            super().async_sign(
                self._marker,
                md_algorithm,
                use_pades=True,
                signed_attr_settings=None,
            )
        )
        signed_data = reference["content"]
        signer_info = signed_data["signer_infos"][0]
        attrs_der = signer_info["signed_attrs"].untag().dump(force=True)
        if attrs_der.count(self._marker) != 1 or signer_info["unsigned_attrs"].native:
            raise SigningError("unexpected reference CMS layout")
        self._attrs_prefix, self._attrs_suffix = attrs_der.split(self._marker)
        self._si_head = b"".join(
            signer_info[name].dump() for name in ("version", "sid", "digest_algorithm")
        )
        self._si_sig_alg = signer_info["signature_algorithm"].dump()
        self._sd_head = b"".join(
            signed_data[name].dump()
            for name in ("version", "digest_algorithms", "encap_content_info", "certificates")
        )
        self._content_type = reference["content_type"].dump()
        self._hash = md_algorithm

    def fast_cms(self, digest: bytes) -> bytes:
        """DER ContentInfo for `digest` (the document's ByteRange hash)."""
        attrs = self._attrs_prefix + digest + self._attrs_suffix  # the SET OF, tag 0x31
        key = self._crypto_key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            signature = key.sign(attrs, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPrivateKey):
            signature = key.sign(attrs, padding.PKCS1v15(), hashes.SHA256())
        else:
            signature = key.sign(attrs)
        signed_attrs = b"\xa0" + attrs[1:]  # [0] IMPLICIT in SignerInfo
        signer_info = _tlv(
            0x30, self._si_head + signed_attrs + self._si_sig_alg + _tlv(0x04, signature)
        )
        signed_data = _tlv(0x30, self._sd_head + _tlv(0x31, signer_info))
        return _tlv(0x30, self._content_type + _tlv(0xA0, signed_data))

    async def async_sign(  # type: ignore[override]
        self, data_digest: bytes, digest_algorithm: str, dry_run: bool = False, **kwargs: Any
    ) -> cms.ContentInfo:
        if dry_run or digest_algorithm != getattr(self, "_hash", None) or kwargs.get("timestamper"):
            return await super().async_sign(
                data_digest, digest_algorithm, dry_run=dry_run, **kwargs
            )
        return cms.ContentInfo.load(self.fast_cms(data_digest))


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
        self._signer = _TemplatedCmsSigner(
            signing_cert=_to_asn1_cert(material.cert),
            signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
            cert_registry=SimpleCertificateStore.from_certs(chain),  # type: ignore[no-untyped-call]
        )
        self._signer._crypto_key = material.key
        outside_event_loop(self._signer.prepare_template, "sha256")
        # Room for this container (ECDSA signatures vary by a few bytes) and no more: every
        # reserved byte is written twice (hex) into each of the 10,000 PDFs of a bulk run.
        self._bytes_reserved = 2 * (len(self._signer.fast_cms(bytes(32))) + 64)  # hex digits
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
        return outside_event_loop(self._sign, pdf)

    def _sign(self, pdf: bytes) -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        out = io.BytesIO()
        self._pdf_signer.sign_pdf(writer, output=out, bytes_reserved=self._bytes_reserved)
        return out.getvalue()


# The BSrE TTE signer (a `Signer` for the signing official's batches, through the agency's Esign
# Client Service) lives in app.tte.signer.BsreSigner; the local PKCS#12 signer stays the default.


_signers: dict[tuple[str, int, str], LocalPkcs12Signer] = {}
_signers_lock = threading.Lock()


def get_signer(settings: Settings) -> Signer:
    """The institution's signer, loaded once per process (key file version and place)."""
    material = keys.signing_material(settings)
    cache_key = (
        material.cert.subject.rfc4514_string(),
        material.cert.serial_number,
        settings.cert_place,
    )
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
    others: list[asn1_x509.Certificate] = []
    if settings.bsre_trust_pem:  # BSrE-signed certificates (app.tte) verify as well
        from app.tte.signer import roots_and_others

        bsre_roots, others = roots_and_others(settings)
        roots.extend(bsre_roots)
    # No revocation information exists for the local CA and we never go to the network.
    return ValidationContext(trust_roots=roots, other_certs=others, allow_fetching=False,
                             revocation_mode="soft-fail")  # fmt: skip


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
        return SignatureCheck(
            False, False, False, None, "PDF tidak memiliki tanda tangan elektronik."
        )
    sig = embedded[-1]
    try:
        status = outside_event_loop(
            lambda: validate_pdf_signature(
                sig,
                signer_validation_context=_validation_context(settings),
                key_usage_settings=_KEY_USAGE,
            )
        )
    except Exception as exc:
        log.info("signature validation failed: %s", exc)
        return SignatureCheck(
            True, False, False, None, "Tanda tangan elektronik rusak atau tidak dapat diperiksa."
        )
    signer_name: str | None = None
    with contextlib.suppress(Exception):  # the name is informative only
        signer_name = str(status.signing_cert.subject.human_friendly)
    intact = bool(status.intact and status.valid)
    trusted = bool(status.trusted)
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
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
    "SignatureCheck",
    "Signer",
    "SigningError",
    "forget_signers",
    "get_signer",
    "signature_check",
]
