"""Fixed vocabularies of external training: statuses, funding sources (sumber dana), modes and
their SIASN jenisDiklatId. Numbers that LAN or BKN may change live in settings, not here."""

from __future__ import annotations

from typing import Final

from app.accounts.constants import Role
from app.courses.constants import FundingSource

PENDING: Final = "pending"
VERIFIED: Final = "verified"
REJECTED: Final = "rejected"
REVOKED: Final = "revoked"  # verified, then withdrawn by an officer (its JP credit is withdrawn)
STATUSES: Final = (PENDING, VERIFIED, REJECTED, REVOKED)
# A record in these statuses never flags another as a duplicate certificate.
INACTIVE_STATUSES: Final = (REJECTED, REVOKED)

FUNDING_SOURCES: Final = tuple(f.value for f in FundingSource)  # sumber dana, as runs have
MODES: Final = (
    "klasikal", "e_learning", "blended", "jarak_jauh", "coaching", "mentoring", "seminar",
)  # fmt: skip

# BKN SIASN jenisDiklatId (DESIGN.md): 14 coaching, 15 mentoring, 16 e-learning, 17 distance.
# The other modes have no id named in DESIGN.md; they export empty until the agency names them.
SIASN_JENIS_DIKLAT: Final[dict[str, int | None]] = {
    "coaching": 14,
    "mentoring": 15,
    "e_learning": 16,
    "jarak_jauh": 17,
    "klasikal": None,
    "blended": None,
    "seminar": None,
}

# Who verifies, rejects, revokes, records on behalf and sees every record and file.
OFFICERS: Final = (Role.TRAINING_OFFICER, Role.ADMIN)

MAX_REASON_CHARS: Final = 1000
MAX_PAGE_SIZE: Final = 200
