"""Fixed vocabularies of the courses domain (values stored in the database and used by the API)."""

from __future__ import annotations

from enum import StrEnum

from app.core.i18n import gettext_ as _


class Category(StrEnum):
    """PermenPANRB 38/2017 competency groups a course builds."""

    MANAJERIAL = "manajerial"
    SOSIAL_KULTURAL = "sosial_kultural"
    TEKNIS = "teknis"


class LearningMode(StrEnum):
    E_LEARNING = "e_learning"
    BLENDED = "blended"
    KLASIKAL = "klasikal"


class CourseStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class ActivityKind(StrEnum):
    VIDEO = "video"
    DOCUMENT = "document"
    PAGE = "page"
    FILE = "file"
    LINK = "link"
    SCORM = "scorm"
    QUIZ = "quiz"
    LIVE_SESSION = "live_session"  # a scheduled session: online (join URL) or in a classroom
    ASSIGNMENT = "assignment"  # work handed in and graded by run staff


class CompletionRule(StrEnum):
    """How an activity counts as complete (the Progress issue evaluates them)."""

    VIEWED = "viewed"  # opened (page, document, file, link)
    WATCHED = "watched"  # video: the configured share actually watched
    SCORM_COMPLETED = "scorm_completed"  # lesson_status completed or passed
    SCORM_PASSED = "scorm_passed"
    QUIZ_PASSED = "quiz_passed"
    QUIZ_ATTEMPTED = "quiz_attempted"
    ATTENDED = "attended"  # live session: marked present or late
    ASSIGNMENT_SUBMITTED = "assignment_submitted"  # handed in for grading
    ASSIGNMENT_PASSED = "assignment_passed"  # graded at or above the assignment's pass mark


DEFAULT_RULE: dict[ActivityKind, CompletionRule] = {
    ActivityKind.VIDEO: CompletionRule.WATCHED,
    ActivityKind.DOCUMENT: CompletionRule.VIEWED,
    ActivityKind.PAGE: CompletionRule.VIEWED,
    ActivityKind.FILE: CompletionRule.VIEWED,
    ActivityKind.LINK: CompletionRule.VIEWED,
    ActivityKind.SCORM: CompletionRule.SCORM_COMPLETED,
    ActivityKind.QUIZ: CompletionRule.QUIZ_PASSED,
    ActivityKind.LIVE_SESSION: CompletionRule.ATTENDED,
    ActivityKind.ASSIGNMENT: CompletionRule.ASSIGNMENT_SUBMITTED,
}


class FundingSource(StrEnum):
    """Sumber dana."""

    APBD_KABUPATEN = "apbd_kabupaten"
    APBD_PROVINSI = "apbd_provinsi"
    APBN = "apbn"
    NON_ANGGARAN = "non_anggaran"


class EnrolmentStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    COMPLETED = "completed"
    WAITLISTED = "waitlisted"  # the run was full: waits in order for a free place


class DeliveryMode(StrEnum):
    """How a run (angkatan) is delivered: the API's `delivery_mode`."""

    ONLINE = "online"
    KLASIKAL = "klasikal"
    BLENDED = "blended"


class StaffRole(StrEnum):
    """DESIGN: run staff, per run and not global. A facilitator teaches, takes attendance, grades
    and moderates the run's forum; a grader grades only."""

    FACILITATOR = "facilitator"
    GRADER = "grader"


# --- labels people read for the stored values (in the reader's language) -----------------------


def category_labels() -> dict[str, str]:
    return {
        Category.MANAJERIAL.value: _("Manajerial"),
        Category.SOSIAL_KULTURAL.value: _("Sosial kultural"),
        Category.TEKNIS.value: _("Teknis"),
    }


def mode_labels() -> dict[str, str]:
    return {
        LearningMode.E_LEARNING.value: _("E-learning"),
        LearningMode.BLENDED.value: _("Blended"),
        LearningMode.KLASIKAL.value: _("Klasikal"),
    }


def funding_labels() -> dict[str, str]:
    return {
        FundingSource.APBD_KABUPATEN.value: "APBD Kabupaten",
        FundingSource.APBD_PROVINSI.value: "APBD Provinsi",
        FundingSource.APBN.value: "APBN",
        FundingSource.NON_ANGGARAN.value: _("Non-anggaran"),
    }


def kind_labels() -> dict[str, str]:
    return {
        ActivityKind.VIDEO.value: _("Video"),
        ActivityKind.DOCUMENT.value: _("Dokumen PDF"),
        ActivityKind.PAGE.value: _("Bacaan"),
        ActivityKind.FILE.value: _("Berkas"),
        ActivityKind.LINK.value: _("Tautan"),
        ActivityKind.SCORM.value: _("Modul interaktif (SCORM)"),
        ActivityKind.QUIZ.value: _("Kuis"),
        ActivityKind.LIVE_SESSION.value: _("Sesi tatap muka/daring"),
        ActivityKind.ASSIGNMENT.value: _("Penugasan"),
    }


def delivery_labels() -> dict[str, str]:
    return {
        DeliveryMode.ONLINE.value: _("Daring"),
        DeliveryMode.KLASIKAL.value: _("Klasikal"),
        DeliveryMode.BLENDED.value: _("Blended"),
    }


def staff_role_labels() -> dict[str, str]:
    return {
        StaffRole.FACILITATOR.value: _("Fasilitator"),
        StaffRole.GRADER.value: _("Penilai"),
    }


def status_labels() -> dict[str, str]:
    """A course's publication state: shown to staff in the catalog and on the course page."""
    return {
        CourseStatus.DRAFT.value: _("Draf"),
        CourseStatus.PUBLISHED.value: _("Terbit"),
        CourseStatus.ARCHIVED.value: _("Diarsipkan"),
    }
