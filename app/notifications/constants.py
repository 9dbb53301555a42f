"""The catalogue of events the LMS tells people about, and its channels.

Each event has a template in templates/notifications/events/<name>.html (blocks `title`, `body`,
`action`), a default per channel that the reader may change (unless it is an account message,
which always goes), and a sample context for the officers' preview.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.core.i18n import gettext_ as _

EMAIL, WHATSAPP, IN_APP = "email", "whatsapp", "in_app"
CHANNELS = (IN_APP, EMAIL, WHATSAPP)

TOPIC_EMAIL = "notify.email"
TOPIC_WHATSAPP = "notify.whatsapp"
TOPIC_OF_CHANNEL = {EMAIL: TOPIC_EMAIL, WHATSAPP: TOPIC_WHATSAPP}


def channel_labels() -> dict[str, str]:
    return {IN_APP: _("Di aplikasi"), EMAIL: _("Email"), WHATSAPP: _("WhatsApp")}


ALL = frozenset(CHANNELS)


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    label: Callable[[], str]
    audience: str  # learner, mentor, opd_head, officer, account: who receives it
    sample: Callable[[], dict[str, Any]]
    defaults: frozenset[str] = ALL  # channels on until the reader turns them off
    optional: bool = True  # False: account messages (activation, reset) always go
    channels: frozenset[str] = ALL  # channels this event may use at all


def _sample_run() -> dict[str, Any]:
    return {
        "course_title": "Literasi Digital bagi ASN",
        "course_code": "LITDIG",
        "run_name": "Angkatan I 2026",
        "starts_on": "2026-12-07",
        "ends_on": "2026-12-20",
        "jp": 20,
    }


EVENTS: dict[str, EventType] = {
    e.name: e
    for e in (
        EventType("enrolled", lambda: _("Terdaftar di angkatan"), "learner", _sample_run),
        EventType(
            "waitlist_promoted",
            lambda: _("Naik dari daftar tunggu ke peserta angkatan"),
            "learner",
            _sample_run,
        ),
        EventType("run_starting", lambda: _("Angkatan dimulai besok"), "learner", _sample_run),
        EventType(
            "run_closing",
            lambda: _("Angkatan segera ditutup, syarat belum lengkap"),
            "learner",
            lambda: {
                **_sample_run(),
                "days_left": 3,
                "missing": [
                    {"code": "posttest_passed", "params": {"state": "not_taken", "minimum": "70"}},
                    {"code": "survey_sent", "params": {}},
                ],
            },
        ),
        EventType(
            "certificate_issued",
            lambda: _("Sertifikat terbit"),
            "learner",
            lambda: {
                **_sample_run(),
                "number": "0012/LITDIG/BKPSDM/XII/2026",
                "predikat": "Memuaskan",
                "certificate_id": 12,
            },
        ),
        EventType(
            "external_training_decided",
            lambda: _("Pelatihan eksternal diverifikasi atau ditolak"),
            "learner",
            lambda: {
                "training": "Bimtek Keamanan Informasi",  # not "name": that is the reader's
                "approved": False,
                "jp": 16,
                "reason": "Sertifikat tidak terbaca; unggah ulang berkas yang jelas.",
            },
        ),
        EventType(
            "mentoring_session_pending",
            lambda: _("Sesi mentoring menunggu konfirmasi"),
            "learner",
            lambda: {
                "mentor_name": "Drs. Bambang Wijaya",
                "held_on": "2026-12-04",
                "duration_minutes": 60,
                "competency": "Literasi Digital",
                "assignment_id": 3,
            },
        ),
        EventType(
            "essay_graded",
            lambda: _("Esai sudah dinilai"),
            "learner",
            lambda: {
                "quiz_title": "Post-test Literasi Digital",
                "course_title": "Literasi Digital bagi ASN",
                "percent": 85.0,
                "passed": True,
            },
        ),
        EventType(
            "assignment_graded",
            lambda: _("Nilai tugas dirilis"),
            "learner",
            lambda: {
                "assignment_title": "Laporan Aktualisasi",
                "course_title": "Latsar CPNS",
                "points": 85.0,
                "max_points": 100.0,
                "passed": True,
            },
        ),
        EventType(
            "forum_reply",
            lambda: _("Balasan baru di forum yang Anda ikuti"),
            "learner",
            lambda: {
                "course_title": "Literasi Digital bagi ASN",
                "run_name": "Angkatan I 2026",
                "thread_title": "Cara mengukur indeks SPBE di OPD?",
                "author_name": "Drs. Bambang Wijaya",
                "excerpt": "Gunakan instrumen evaluasi SPBE dari KemenPANRB ...",
                "new_thread": False,
                "thread_id": 7,
            },
            defaults=frozenset({IN_APP}),
        ),
        EventType(
            "below_pace",
            lambda: _("Pengingat bulanan: JP di bawah target"),
            "learner",
            lambda: {
                "year": 2026,
                "month": "2026-12",
                "jp": 6.0,
                "target": 20.0,
                "expected": 18.3,
                "courses": [
                    {
                        "title": "Literasi Digital bagi ASN",
                        "code": "LITDIG",
                        "jp": 20,
                        "competency": "Literasi Digital",
                        "id": 1,
                    }
                ],
            },
        ),
        EventType(
            "opd_digest",
            lambda: _("Ringkasan bulanan OPD"),
            "opd_head",
            lambda: {
                "opd_name": "Dinas Komunikasi dan Informatika",
                "month": "2026-11",
                "year": 2026,
                "active_asn": 120,
                "participated": 97,
                "participation_percent": 80.8,
                "jp_compliant": 64,
                "jp_compliance_percent": 53.3,
                "target_jp": 20.0,
                "below": [{"name": "Budi Santoso", "nip": "198503152010011001", "jp": 4.0}],
                "below_total": 56,
            },
            defaults=frozenset({IN_APP, EMAIL}),
        ),
        EventType(
            "verification_digest",
            lambda: _("Ringkasan mingguan verifikasi"),
            "officer",
            lambda: {"external_trainings": 7, "mentoring": 2, "week": "2026-W49"},
            defaults=frozenset({IN_APP, EMAIL}),
        ),
        EventType(
            "password_changed",
            lambda: _("Kata sandi diubah"),
            "account",
            lambda: {"when": "2026-12-06T07:15:00+00:00"},
            optional=False,
            channels=frozenset({IN_APP, EMAIL}),
        ),
        EventType(
            "activation",
            lambda: _("Aktivasi akun"),
            "account",
            lambda: {"url": "https://lms.example.go.id/activate?token=...", "expires_days": 7},
            optional=False,
            defaults=frozenset({EMAIL, WHATSAPP}),
            channels=frozenset({EMAIL, WHATSAPP}),
        ),
        EventType(
            "password_reset",
            lambda: _("Atur ulang kata sandi"),
            "account",
            lambda: {
                "url": "https://lms.example.go.id/password/reset?token=...",
                "expires_minutes": 60,
            },
            optional=False,
            defaults=frozenset({EMAIL, WHATSAPP}),
            channels=frozenset({EMAIL, WHATSAPP}),
        ),
    )
}


@dataclass(frozen=True, slots=True)
class NewNotification:
    """A message to make: `key` names the event, the recipient and the period (unique)."""

    event: str
    user_id: int
    key: str
    context: dict[str, Any] = field(default_factory=dict)
    url: str | None = None  # a path inside the LMS ("/sertifikat/12")
    channels: frozenset[str] | None = None  # account messages: exactly these channels
