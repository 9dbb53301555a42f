"""The BSrE TTE `Signer` (app.certificates.signing.Signer) and the check of every PDF BSrE sends
back before it may replace a stored certificate.

`BsreSigner` holds the signing official's credentials for one batch (memory only) and signs
through the Esign Client Service. The local PKCS#12 signer stays the default for issuing; BSrE
adds the official's legally recognised TTE on top of the issued PDF (an incremental update: the
institution's own signature and every byte of the issued file stay as they were).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from app.certificates.signing import outside_event_loop
from app.core.config import Settings
from app.core.i18n import gettext_ as _
from app.tte.client import Credentials, EsignClient, Placement

log = logging.getLogger(__name__)


class SignedPdfRejected(Exception):
    """The PDF BSrE returned fails our check; `message` says why (Indonesian)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BsreSigner:
    """A `Signer`: the PDF goes to the Esign Client Service with the official's NIK and
    passphrase and comes back PAdES-signed by BSrE. One per batch; credentials are not kept
    anywhere else."""

    def __init__(self, client: EsignClient, credentials: Credentials, placement: Placement) -> None:
        self._client = client
        self._credentials = credentials
        self._placement = placement

    def sign(self, pdf: bytes, *, link_qr: str | None = None) -> bytes:
        return self._client.sign_pdf(pdf, self._credentials, self._placement, link_qr=link_qr)


# --- trust ---------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _load_pem(path: str, mtime_ns: int) -> tuple[asn1_x509.Certificate, ...]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    certs = x509.load_pem_x509_certificates(Path(path).read_bytes())
    return tuple(
        asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)) for cert in certs
    )


def trusted_certs(settings: Settings) -> list[asn1_x509.Certificate]:
    """BSrE's root and intermediate certificates (LMS_BSRE_TRUST_PEM, files joined by ",")."""
    found: list[asn1_x509.Certificate] = []
    for raw in (settings.bsre_trust_pem or "").split(","):
        path = raw.strip()
        if path:
            try:
                found.extend(_load_pem(path, Path(path).stat().st_mtime_ns))
            except (OSError, ValueError):
                log.error("LMS_BSRE_TRUST_PEM: %s cannot be read as PEM certificates", path)
    return found


def roots_and_others(settings: Settings) -> tuple[list[asn1_x509.Certificate],
                                                  list[asn1_x509.Certificate]]:  # fmt: skip
    """Self-signed certificates are trust roots; the others are intermediates to build paths."""
    roots: list[asn1_x509.Certificate] = []
    others: list[asn1_x509.Certificate] = []
    for cert in trusted_certs(settings):
        (roots if cert.self_signed else others).append(cert)
    return roots, others


# Any of the usual e-signature key usages: BSrE's profile is not published [?].
_KEY_USAGE = KeyUsageConstraints(key_usage={"non_repudiation", "digital_signature"},
                                 match_all_key_usages=False)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Verified:
    signer: str
    signatures: int


def verify_returned(original: bytes, signed: bytes, settings: Settings) -> Verified:
    """Before a returned PDF replaces a stored one: it is the issued file with one more
    signature appended (every original byte kept), that signature is intact, covers the whole
    file, and its certificate chains to the configured BSrE roots. Raises SignedPdfRejected."""
    if not signed.startswith(original):
        raise SignedPdfRejected(_("PDF dari BSrE bukan berkas sertifikat yang dikirim (isinya berubah)."))
    try:
        before = len(PdfFileReader(io.BytesIO(original), strict=False).embedded_signatures)
        embedded = PdfFileReader(io.BytesIO(signed), strict=False).embedded_signatures
    except Exception as exc:  # pyHanko raises many kinds on malformed input
        log.info("unreadable PDF from BSrE: %s", type(exc).__name__)
        raise SignedPdfRejected(_("PDF dari BSrE rusak atau tidak dapat dibaca.")) from None
    if len(embedded) != before + 1:
        raise SignedPdfRejected(_("PDF dari BSrE tidak membawa tepat satu tanda tangan baru."))
    roots, others = roots_and_others(settings)
    if not roots:
        raise SignedPdfRejected(
            _("Sertifikat akar BSrE belum dikonfigurasi (LMS_BSRE_TRUST_PEM); PDF tidak dapat diperiksa.")
        )
    context = ValidationContext(trust_roots=roots, other_certs=others, allow_fetching=False,
                                revocation_mode="soft-fail")  # fmt: skip
    try:
        status = outside_event_loop(lambda: validate_pdf_signature(
            embedded[-1], signer_validation_context=context, key_usage_settings=_KEY_USAGE))
    except Exception as exc:
        log.info("BSrE signature not checkable: %s", type(exc).__name__)
        raise SignedPdfRejected(_("Tanda tangan BSrE rusak atau tidak dapat diperiksa.")) from None
    if not (status.intact and status.valid):
        raise SignedPdfRejected(_("Tanda tangan BSrE tidak utuh."))
    if not status.trusted:
        raise SignedPdfRejected(_("Tanda tangan tidak berasal dari sertifikat BSrE yang dipercaya."))
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        raise SignedPdfRejected(_("Tanda tangan BSrE tidak mencakup seluruh berkas."))
    return Verified(str(status.signing_cert.subject.human_friendly), len(embedded))
