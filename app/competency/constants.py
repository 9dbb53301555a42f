"""Fixed vocabularies of the competency domain: groups (PermenPANRB 38/2017), the import kinds,
and the jabatan keys that stand for a whole group of ASN."""

from __future__ import annotations

from enum import StrEnum

from app.accounts.constants import JenisJabatan


class CompetencyGroup(StrEnum):
    """PermenPANRB 38/2017: manajerial, sosial kultural, teknis."""

    MANAJERIAL = "manajerial"
    SOSIAL_KULTURAL = "sosial_kultural"
    TEKNIS = "teknis"


GROUP_LABELS = {
    CompetencyGroup.MANAJERIAL: "Manajerial",
    CompetencyGroup.SOSIAL_KULTURAL: "Sosial kultural",  # msgids of courses.pages.category_labels
    CompetencyGroup.TEKNIS: "Teknis",
}


class ImportKind(StrEnum):
    STANDARDS = "standards"
    ASSESSMENTS = "assessments"


EVERYONE = "*"
# A standard whose jabatan is one of these (folded) applies to every ASN of that jenis jabatan.
JENIS_JABATAN_KEYS = frozenset(j.value.lower() for j in JenisJabatan)
