"""Official lists for ASN accounts: roles, employment, pangkat/golongan, jenis jabatan.

Sources: PP 99/2000 (pangkat PNS), Perpres 98/2020 (golongan PPPK I-XVII), PermenPANRB jabatan types.
"""

from __future__ import annotations

from enum import StrEnum

from app.core.i18n import gettext_ as _


class Role(StrEnum):
    LEARNER = "learner"
    MENTOR = "mentor"
    OPD_HEAD = "opd_head"  # kepala OPD: reads their own OPD's participation, gets the digest
    CONTENT_ADMIN = "content_admin"
    TRAINING_OFFICER = "training_officer"
    ADMIN = "admin"
    SIGNING_OFFICIAL = "signing_official"  # pejabat penandatangan: signs BSrE TTE batches


STAFF_ROLES = frozenset({Role.CONTENT_ADMIN, Role.TRAINING_OFFICER, Role.ADMIN})


def role_labels() -> dict[str, str]:
    """The roles as the admin pages name them (DESIGN.md's role names)."""
    return {
        Role.LEARNER.value: _("Peserta (ASN)"),
        Role.MENTOR.value: _("Mentor"),
        Role.OPD_HEAD.value: _("Kepala OPD"),
        Role.CONTENT_ADMIN.value: _("Pengelola konten"),
        Role.TRAINING_OFFICER.value: _("Penyelenggara pelatihan"),
        Role.ADMIN.value: _("Admin sistem"),
        Role.SIGNING_OFFICIAL.value: _("Pejabat penandatangan (TTE)"),
    }


class Employment(StrEnum):
    PNS = "PNS"
    PPPK = "PPPK"


class JenisJabatan(StrEnum):
    JPT = "JPT"
    ADMINISTRATOR = "administrator"
    PENGAWAS = "pengawas"
    PELAKSANA = "pelaksana"
    FUNGSIONAL = "fungsional"


# Golongan/ruang with the pangkat name, PP 99/2000.
PANGKAT_PNS: dict[str, str] = {
    "I/a": "Juru Muda",
    "I/b": "Juru Muda Tingkat I",
    "I/c": "Juru",
    "I/d": "Juru Tingkat I",
    "II/a": "Pengatur Muda",
    "II/b": "Pengatur Muda Tingkat I",
    "II/c": "Pengatur",
    "II/d": "Pengatur Tingkat I",
    "III/a": "Penata Muda",
    "III/b": "Penata Muda Tingkat I",
    "III/c": "Penata",
    "III/d": "Penata Tingkat I",
    "IV/a": "Pembina",
    "IV/b": "Pembina Tingkat I",
    "IV/c": "Pembina Utama Muda",
    "IV/d": "Pembina Utama Madya",
    "IV/e": "Pembina Utama",
}

# PPPK golongan, Perpres 98/2020.
GOLONGAN_PPPK: tuple[str, ...] = (
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX",
    "X", "XI", "XII", "XIII", "XIV", "XV", "XVI", "XVII",
)  # fmt: skip

PANGKAT_BY_EMPLOYMENT: dict[Employment, tuple[str, ...]] = {
    Employment.PNS: tuple(PANGKAT_PNS),
    Employment.PPPK: GOLONGAN_PPPK,
}


def pangkat_label(code: str) -> str:
    """'III/a' -> 'Penata Muda (III/a)'; PPPK golongan are shown as they are."""
    name = PANGKAT_PNS.get(code)
    return f"{name} ({code})" if name else code
