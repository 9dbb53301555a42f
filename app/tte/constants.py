"""Everything the BSrE Esign Client Service contract fixes, in one place (shared/integrations/
bsre.md: paths, field names, status words and error codes), and the Indonesian message for each.

Base URL, credentials, API version and placement are settings (LMS_BSRE_*); only the contract's
constants live here.
"""

from __future__ import annotations

from typing import Final

from app.core.i18n import N_

# --- paths (JUK p.7-36) ---------------------------------------------------------------------------

V1_SIGN_PATH: Final = "/api/sign/pdf"
V1_USER_STATUS_PATH: Final = "/api/user/status/{nik}"
V1_VERIFY_PATH: Final = "/api/sign/verify"
V2_SIGN_PATH: Final = "/api/v2/sign/pdf"
V2_USER_STATUS_PATH: Final = "/api/v2/user/check/status"
V2_VERIFY_PATH: Final = "/api/v2/verify/pdf"

# --- v1 multipart fields ----------------------------------------------------------------------

F_FILE: Final = "file"
F_NIK: Final = "nik"
F_PASSPHRASE: Final = "passphrase"  # noqa: S105 - a field name
F_TAMPILAN: Final = "tampilan"  # visible | invisible
F_IMAGE: Final = "image"  # "true": specimen in imageTTD; "false": QR code drawn from linkQR
F_IMAGE_TTD: Final = "imageTTD"
F_LINK_QR: Final = "linkQR"
F_PAGE: Final = "page"
F_X: Final = "xAxis"
F_Y: Final = "yAxis"
F_WIDTH: Final = "width"
F_HEIGHT: Final = "height"
F_TAG_KOORDINAT: Final = "tag_koordinat"
F_REASON: Final = "reason"
F_LOCATION: Final = "location"
V1_VISIBLE: Final = "visible"
V1_INVISIBLE: Final = "invisible"
V1_DOCUMENT_ID_HEADER: Final = "id_dokumen"

# --- v2 JSON fields ---------------------------------------------------------------------------

J_SIGNATURE_PROPERTIES: Final = "signatureProperties"
J_FILE: Final = "file"  # a list of base64 PDFs, in and out
J_TAMPILAN: Final = "tampilan"  # VISIBLE | INVISIBLE
J_IMAGE: Final = "imageBase64"
J_PAGE: Final = "page"
J_X: Final = "originX"
J_Y: Final = "originY"
J_WIDTH: Final = "width"
J_HEIGHT: Final = "height"
J_TAG: Final = "tag"  # the manual's text; its example says tag_koordinat [?]
J_REASON: Final = "reason"
J_LOCATION: Final = "location"
V2_VISIBLE: Final = "VISIBLE"
V2_INVISIBLE: Final = "INVISIBLE"

# --- answers ----------------------------------------------------------------------------------

ERROR_FIELDS: Final = ("message", "error")  # clients read `message` first, then `error`
CODE_FIELD: Final = "status_code"
STATUS_FIELD: Final = "status"

# User status words (JUK p.31-33): only ISSUE may sign.
STATUS_ISSUE: Final = "ISSUE"
STATUS_CODE_ISSUE: Final = "1111"
USER_STATUSES: Final = (
    "ISSUE", "EXPIRED", "RENEW", "WAITING_FOR_VERIFICATION", "NEW", "NO_CERTIFICATE",
    "NOT_REGISTERED", "SUSPEND", "REVOKE",
)  # fmt: skip

# Error codes seen (bsre.md section 3).
CODE_NOT_REGISTERED: Final = 2011
CODE_NO_CERTIFICATE: Final = 2021
CODE_WRONG_PASSPHRASE: Final = 2031
CODE_FILE_GONE: Final = 4044

# The signer's own problem: the batch stops and the official enters their data again.
CREDENTIAL_CODES: Final = frozenset({CODE_NOT_REGISTERED, CODE_NO_CERTIFICATE,
                                     CODE_WRONG_PASSPHRASE})  # fmt: skip

CODE_MESSAGES: Final[dict[int, str]] = {
    CODE_WRONG_PASSPHRASE: N_("Passphrase salah. Periksa kembali passphrase TTE Anda."),
    CODE_NOT_REGISTERED: N_("NIK belum terdaftar sebagai pengguna TTE BSrE."),
    CODE_NO_CERTIFICATE: N_("NIK terdaftar tetapi belum memiliki sertifikat elektronik BSrE."),
    CODE_FILE_GONE: N_("Dokumen bertanda tangan sudah diunduh atau tidak tersedia di BSrE."),
}

STATUS_MESSAGES: Final[dict[str, str]] = {
    "EXPIRED": N_("Sertifikat elektronik BSrE Anda sudah kedaluwarsa; perpanjang dulu di BSrE."),
    "RENEW": N_("Sertifikat elektronik BSrE Anda sedang dalam proses perpanjangan."),
    "WAITING_FOR_VERIFICATION": N_("Sertifikat elektronik BSrE Anda masih diverifikasi."),
    "NEW": N_("Sertifikat elektronik BSrE Anda belum diaktifkan."),
    "NO_CERTIFICATE": N_("NIK terdaftar tetapi belum memiliki sertifikat elektronik BSrE."),
    "NOT_REGISTERED": N_("NIK belum terdaftar sebagai pengguna TTE BSrE."),
    "SUSPEND": N_("Akun TTE BSrE Anda sedang ditangguhkan."),
    "REVOKE": N_("Sertifikat elektronik BSrE Anda sudah dicabut."),
}

MSG_AUTH: Final = N_(
    "Aplikasi ditolak oleh Esign Client Service (nama pengguna/sandi API salah atau dinonaktifkan)."
)
MSG_UNREACHABLE: Final = N_("Layanan TTE BSrE tidak dapat dihubungi. Coba lagi nanti.")
MSG_BAD_PDF: Final = N_("BSrE menolak dokumen ini: %(reason)s")
MSG_UNKNOWN: Final = N_("BSrE menolak permintaan: %(reason)s")
MSG_STATUS_UNKNOWN: Final = N_("Status sertifikat elektronik BSrE Anda tidak dapat dipakai: %(s)s")
