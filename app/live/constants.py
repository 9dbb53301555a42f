"""Fixed vocabularies of live sessions: platforms, attendance statuses and methods, and their
labels in the reader's language."""

from __future__ import annotations

from enum import StrEnum

from app.core.i18n import gettext_ as _


class Platform(StrEnum):
    ZOOM = "zoom"
    GOOGLE_MEET = "google_meet"
    JITSI = "jitsi"
    BIGBLUEBUTTON = "bigbluebutton"
    TEAMS = "teams"
    OTHER = "other"
    CLASSROOM = "classroom"  # a physical place: `location`, no join link


class AttendanceStatus(StrEnum):
    PRESENT = "present"
    LATE = "late"
    ABSENT = "absent"
    EXCUSED = "excused"


ATTENDED = frozenset({AttendanceStatus.PRESENT.value, AttendanceStatus.LATE.value})


class AttendanceMethod(StrEnum):
    QR = "qr"
    MANUAL = "manual"
    IMPORT = "import"


def platform_labels() -> dict[str, str]:
    return {
        Platform.ZOOM.value: "Zoom",
        Platform.GOOGLE_MEET.value: "Google Meet",
        Platform.JITSI.value: "Jitsi",
        Platform.BIGBLUEBUTTON.value: "BigBlueButton",
        Platform.TEAMS.value: "Microsoft Teams",
        Platform.OTHER.value: _("Lainnya"),
        Platform.CLASSROOM.value: _("Tatap muka di kelas"),
    }


def status_labels() -> dict[str, str]:
    return {
        AttendanceStatus.PRESENT.value: _("Hadir"),
        AttendanceStatus.LATE.value: _("Terlambat"),
        AttendanceStatus.ABSENT.value: _("Tidak hadir"),
        AttendanceStatus.EXCUSED.value: _("Izin"),
    }


def method_labels() -> dict[str, str]:
    return {
        AttendanceMethod.QR.value: _("Pindai QR"),
        AttendanceMethod.MANUAL.value: _("Manual"),
        AttendanceMethod.IMPORT.value: _("Impor laporan"),
    }
