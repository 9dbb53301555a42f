"""Completion and eligibility as small named checks, each a pure function of plain facts that
returns passed/failed with what is missing as a code and parameters; `describe` turns them into a
plain sentence in the reader's language (gettext) at display time."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.certificates.rules import Rules
from app.core.i18n import gettext_ as _
from app.core.i18n import ngettext_


@dataclass(frozen=True, slots=True)
class Check:
    """One named check; `params` say what is missing (JSON-safe: numbers, strings, lists)."""

    name: str
    passed: bool
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        """What is missing, in the current locale ("" when the check passed)."""
        return "" if self.passed else describe(self.name, self.params)

    def as_data(self) -> dict[str, Any]:
        """The check's code and parameters, for storing (e-mails, job items) and rendering later
        in the reader's language."""
        return {"code": self.name, "params": dict(self.params)}


def profile_labels() -> dict[str, str]:
    return {
        "nip": _("NIP"),
        "pangkat_golongan": _("pangkat/golongan"),
        "jabatan": _("jabatan"),
        "opd": _("OPD"),
    }


def describe(code: str, params: Mapping[str, Any]) -> str:
    """A failed check as a sentence in the current locale (gettext), from its code and params."""
    p = dict(params)
    if code == "enrolment_active":
        return _("Peserta tidak aktif di angkatan ini.")
    if code == "enrolled":
        return _("Tidak terdaftar di angkatan ini.")
    if code == "required_activities":
        titles = [str(t) for t in p.get("titles", [])]
        return ngettext_(
            "Aktivitas wajib belum selesai (%(n)d): %(titles)s.",
            "Aktivitas wajib belum selesai (%(n)d): %(titles)s.",
            len(titles),
        ) % {"n": len(titles), "titles": ", ".join(titles)}
    if code == "posttest_passed":
        values = {"best": p.get("best", ""), "minimum": p.get("minimum", "")}
        if p.get("state") == "not_taken":
            return _("Post-test belum dikerjakan (nilai minimal %(minimum)s).") % values
        if p.get("state") == "not_graded":
            return (
                _(
                    "Post-test belum dinilai atau belum lulus (nilai terbaik %(best)s, minimal "
                    "%(minimum)s)."
                )
                % values
            )
        return _("Post-test belum lulus (nilai terbaik %(best)s, minimal %(minimum)s).") % values
    if code == "min_learning_time":
        return _("Waktu belajar baru %(minutes)s menit, minimal %(minimum)s menit.") % {
            "minutes": p.get("minutes", 0),
            "minimum": p.get("minimum", 0),
        }
    if code == "attendance_min":
        return _("Kehadiran baru %(percent)s%%, minimal %(minimum)s%%.") % {
            "percent": p.get("percent", 0),
            "minimum": p.get("minimum", 0),
        }
    if code == "survey_sent":
        return _("Evaluasi penyelenggaraan (survei) belum dikirim.")
    if code == "rtl_sent":
        return _("Rencana tindak lanjut (RTL) belum dikirim.")
    if code == "profile_complete":
        labels = profile_labels()
        names = [labels.get(str(f), str(f)) for f in p.get("fields", [])]
        return _("Profil belum lengkap: %(fields)s.") % {"fields": ", ".join(names)}
    if code == "not_already_issued":
        if p.get("status") == "revoked":
            return _("Sertifikat %(number)s telah dicabut.") % {"number": p.get("number", "")}
        return _("Sertifikat sudah terbit (nomor %(number)s).") % {"number": p.get("number", "")}
    return _("Syarat belum terpenuhi: %(code)s.") % {"code": code}


def describe_item(item: Any) -> str:
    """A stored reason (`{"code", "params"}`) in the current locale; plain text stored before
    reasons were structured is shown as it is."""
    if isinstance(item, Mapping) and "code" in item:
        return describe(str(item["code"]), item.get("params") or {})
    return str(item)


def encode_reasons(checks: list[Check]) -> str:
    """Failed checks as JSON for a text column (bulk job items)."""
    return json.dumps([c.as_data() for c in checks], ensure_ascii=False)


def decode_reasons(text: str | None) -> str | None:
    """A stored job-item message in the current locale: structured reasons are described and
    joined; anything else (a certificate number, an error) is returned unchanged."""
    if not text or not text.startswith("[{"):
        return text
    try:
        items = json.loads(text)
    except ValueError:
        return text
    if not isinstance(items, list):
        return text
    return "; ".join(describe_item(i) for i in items)


@dataclass(frozen=True, slots=True)
class CourseFacts:
    """What the checks need to know about a course (plain data from the courses domain)."""

    course_id: int
    code: str
    title: str
    jp: float
    required: list[tuple[int, str]]  # (activity id, title): required, visible, in course order
    posttest_activity_ids: frozenset[int] = frozenset()
    # (activity id, weight) of each visible assignment, in course order (final score)
    assignments: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True, slots=True)
class LearnerFacts:
    """What the checks need to know about one learner in one run."""

    enrolment_id: int
    user_id: int
    enrolment_status: str
    statuses: dict[int, str] = field(default_factory=dict)
    learning_seconds: float = 0.0
    posttest_grades: list[float | None] = field(default_factory=list)  # one per post-test
    posttest_best: list[float | None] = field(default_factory=list)
    survey_sent: bool = False
    rtl_sent: bool = False
    # Attendance of the run's live sessions in percent (None: not read, no rule needs it).
    attendance_percent: float | None = None
    assignment_grades: dict[int, float] = field(default_factory=dict)  # released, % of max
    missing_profile: tuple[str, ...] = ()  # keys of profile fields still empty (PROFILE_FIELDS)
    certificate_status: str | None = None  # of the newest certificate, if any
    certificate_number: str | None = None


@dataclass(frozen=True, slots=True)
class Eligibility:
    eligible: bool
    completed: bool
    checks: list[Check]

    @property
    def missing(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def enrolment_active(learner: LearnerFacts) -> Check:
    """Only an active (or completed) enrolment can complete a run."""
    ok = learner.enrolment_status in ("active", "completed")
    return Check("enrolment_active", ok)


def required_activities(course: CourseFacts, learner: LearnerFacts) -> Check:
    """Every required, visible activity is complete (post-tests are judged by posttest_passed)."""
    pending = [
        title
        for aid, title in course.required
        if aid not in course.posttest_activity_ids and learner.statuses.get(aid) != "completed"
    ]
    if not pending:
        return Check("required_activities", True)
    return Check("required_activities", False, {"titles": pending})


def posttest_passed(course: CourseFacts, learner: LearnerFacts, rules: Rules) -> Check:
    """The post-test grade reaches the course's pass score (default 70); a course without a
    post-test has nothing to pass."""
    if not learner.posttest_grades:
        return Check("posttest_passed", True)
    grades = learner.posttest_grades
    best = [b for b in learner.posttest_best if b is not None]
    minimum = _fmt(rules.pass_score)
    if any(g is None for g in grades):
        if not best:
            return Check("posttest_passed", False, {"state": "not_taken", "minimum": minimum})
        return Check(
            "posttest_passed",
            False,
            {"state": "not_graded", "best": _fmt(max(best)), "minimum": minimum},
        )
    grade = sum(g for g in grades if g is not None) / len(grades)
    if grade >= rules.pass_score:
        return Check("posttest_passed", True)
    return Check(
        "posttest_passed",
        False,
        {"state": "failed", "best": _fmt(max(best) if best else grade), "minimum": minimum},
    )


def min_learning_time(learner: LearnerFacts, rules: Rules) -> Check:
    """Time on task (server-validated heartbeats) reaches the course's minimum, if one is set."""
    minutes = int(learner.learning_seconds // 60)
    ok = minutes >= rules.min_learning_minutes
    params = {} if ok else {"minutes": minutes, "minimum": rules.min_learning_minutes}
    return Check("min_learning_time", ok, params)


def attendance_min(learner: LearnerFacts, rules: Rules) -> Check:
    """The learner attended at least the course's minimum share of the run's live sessions
    (present or late; excused sessions do not count; nothing due yet counts as 100%)."""
    percent = 100.0 if learner.attendance_percent is None else learner.attendance_percent
    if percent >= rules.min_attendance_percent:
        return Check("attendance_min", True)
    return Check(
        "attendance_min",
        False,
        {"percent": _fmt(percent), "minimum": _fmt(rules.min_attendance_percent)},
    )


def survey_sent(learner: LearnerFacts) -> Check:
    """The post-course survey (evaluasi penyelenggaraan) was sent, when the course asks for it."""
    return Check("survey_sent", learner.survey_sent)


def rtl_sent(learner: LearnerFacts) -> Check:
    """The RTL (rencana tindak lanjut) was sent, when the course asks for it."""
    return Check("rtl_sent", learner.rtl_sent)


def profile_complete(learner: LearnerFacts) -> Check:
    """The profile printed on the certificate is complete: NIP, pangkat/golongan, jabatan, OPD."""
    if not learner.missing_profile:
        return Check("profile_complete", True)
    return Check("profile_complete", False, {"fields": list(learner.missing_profile)})


def not_already_issued(learner: LearnerFacts) -> Check:
    """One live certificate per learner and run: a valid one is re-issued, not issued again;
    a revoked one stays revoked."""
    status = learner.certificate_status
    if status in (None, "superseded"):
        return Check("not_already_issued", True)
    return Check(
        "not_already_issued",
        False,
        {"status": status, "number": learner.certificate_number or ""},
    )


def completion_checks(course: CourseFacts, learner: LearnerFacts, rules: Rules) -> list[Check]:
    """Completion: active enrolment, required activities, post-test, and the optional rules the
    course switched on (minimum time, minimum attendance, survey, RTL, complete profile)."""
    checks = [enrolment_active(learner), required_activities(course, learner)]
    if rules.require_posttest:
        checks.append(posttest_passed(course, learner, rules))
    if rules.min_learning_minutes > 0:
        checks.append(min_learning_time(learner, rules))
    if rules.min_attendance_percent > 0:
        checks.append(attendance_min(learner, rules))
    if rules.require_survey:
        checks.append(survey_sent(learner))
    if rules.require_rtl:
        checks.append(rtl_sent(learner))
    if rules.require_profile:
        checks.append(profile_complete(learner))
    return checks


def evaluate(course: CourseFacts, learner: LearnerFacts, rules: Rules) -> Eligibility:
    """Eligible for a certificate: every completion check holds and none was issued yet."""
    checks = completion_checks(course, learner, rules)
    completed = all(c.passed for c in checks)
    checks.append(not_already_issued(learner))
    return Eligibility(eligible=all(c.passed for c in checks), completed=completed, checks=checks)


def activities_percent(course: CourseFacts, learner: LearnerFacts) -> float:
    """Share of required activities completed, in percent (the course page's progress bar)."""
    if not course.required:
        return 0.0
    done = sum(1 for aid, _ in course.required if learner.statuses.get(aid) == "completed")
    return round(100 * done / len(course.required), 2)


PROFILE_FIELDS = ("nip", "pangkat_golongan", "jabatan", "opd")  # printed on the certificate


def already_certified(result: Eligibility, certificate_status: str | None) -> bool:
    """Complete and holding a valid certificate: reported as "already certified", not as
    "not eligible" (only the one-live-certificate check fails)."""
    return (
        result.completed
        and certificate_status == "valid"
        and [c.name for c in result.missing] == ["not_already_issued"]
    )
