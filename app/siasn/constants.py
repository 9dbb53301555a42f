"""Every SIASN path, field name and code the push uses, in one place (facts and sources in
shared/integrations/siasn.md); the URLs themselves are settings (production or training)."""

from __future__ import annotations

from typing import Final

# --- paths, relative to settings.siasn_api_url ----------------------------------------------------
DATA_UTAMA: Final = "/pns/data-utama/{nip}"
RW_KURSUS: Final = "/pns/rw-kursus/{nip}"
RW_DIKLAT: Final = "/pns/rw-diklat/{nip}"
SAVE: Final = {"kursus": "/kursus/save", "diklat": "/diklat/save"}
DELETE: Final = {"kursus": "/kursus/delete/{id}", "diklat": "/diklat/delete/{id}"}
UPLOAD_DOK_RW: Final = "/upload-dok-rw"

# --- the SSO realm (Keycloak), for settings that name only the host -----------------------------
SSO_TOKEN_PATH: Final = "/auth/realms/public-siasn/protocol/openid-connect/token"  # noqa: S105

# --- headers: APIM bearer in Authorization, the SSO token in "Auth" -------------------------------
AUTH_HEADER: Final = "Auth"
AUTH_SCHEME: Final = "bearer"  # BKN clients send both cases; lowercase as black-coffee/rumahASN

# --- reply fields ---------------------------------------------------------------------------------
SAVED_ID_FIELD: Final = {"kursus": "rwKursusId", "diklat": "rwDiklatId"}
NUMBER_FIELD: Final = {"kursus": "noSertipikat", "diklat": "nomor"}  # in rw-* list items

# Token errors (answered with or without 401): rumahASN's list.
TOKEN_ERROR_MESSAGES: Final = ("invalid or expired jwt", "Invalid Credentials")
TOKEN_ERROR_DATA: Final = ("Token SSO mismatch",)
RUNTIME_ERROR: Final = "Runtime Error"  # a token error, unless its description says SUSPENDED
THROTTLED_MARK: Final = "SUSPENDED"
THROTTLED_STATUS: Final = (429, 503)
WSO2_THROTTLE_CODES: Final = range(900800, 900810)  # WSO2 "Message throttled out" family

# --- documents: id_ref_dokumen of the certificate per riwayat ----------------------------------
DOK_SERTIFIKAT: Final = {"kursus": 881, "diklat": 874}
MAX_DOCUMENT_BYTES: Final = 1_000_000  # a 1,077,423-byte PDF is refused as oversize [ID-test]

# --- reference: jenis diklat (id -> letter for jenisKursusSertipikat) --------------------------
JENIS_DIKLAT_STRUKTURAL: Final = 1  # goes to /diklat/save, not /kursus/save [RA-form]
JENIS_DIKLAT_LETTER: Final[dict[int, str]] = {
    1: "T", 2: "F", 3: "T", 4: "P", 5: "T", 6: "T", 7: "P", 8: "T", 9: "P", 10: "T", 11: "T",
    12: "T", 13: "T", 14: "T", 15: "T", 16: "T", 17: "T", 18: "T", 19: "T", 20: "T", 21: "T",
    22: "T", 23: "T", 24: "T", 25: "T",
}  # fmt: skip
JENIS_COACHING: Final = 14
JENIS_MENTORING: Final = 15
JENIS_E_LEARNING: Final = 16
JENIS_DISTANCE: Final = 17
JENIS_CLASSROOM_OTHER: Final = 13
JENIS_SEMINAR: Final = 9
LATIHAN_STRUKTURAL_OTHER: Final = "8"
# External training modes without a jenis in DESIGN.md get the BKN reference's nearest one.
EXTERNAL_MODE_FALLBACK: Final[dict[str, int]] = {
    "klasikal": JENIS_CLASSROOM_OTHER, "blended": JENIS_DISTANCE, "seminar": JENIS_SEMINAR,
}  # fmt: skip

DATE_FORMAT: Final = "%d-%m-%Y"  # every SIASN date: dd-mm-yyyy
REVOKED_PREFIX: Final = "[DICABUT] "  # the flag a revoked record carries in its name

# --- our sync table -----------------------------------------------------------------------------
SOURCES: Final = ("certificate", "mentoring", "external_training")
PENDING: Final = "pending"
PUSHED: Final = "pushed"
FAILED: Final = "failed"
SKIPPED: Final = "skipped"
STATES: Final = (PENDING, PUSHED, FAILED, SKIPPED)
SAVE_ACTION: Final = "save"
DELETE_ACTION: Final = "delete"
