"""Completion and eligibility as small named checks, each a pure function of plain facts that
returns passed/failed with a plain Indonesian reason naming what is missing."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.certificates.rules import Rules


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    passed: bool
    reason: str


@dataclass(frozen=True, slots=True)
class CourseFacts:
    """What the checks need to know about a course (plain data from the courses domain)."""

    course_id: int
    code: str
    title: str
    jp: float
    required: list[tuple[int, str]]  # (activity id, title): required, visible, in course order
    posttest_activity_ids: frozenset[int] = frozenset()


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
    missing_profile: tuple[str, ...] = ()  # profile fields still empty
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
    return Check("enrolment_active", ok, "" if ok else "Peserta tidak aktif di angkatan ini.")


def required_activities(course: CourseFacts, learner: LearnerFacts) -> Check:
    """Every required, visible activity is complete (post-tests are judged by posttest_passed)."""
    pending = [
        title
        for aid, title in course.required
        if aid not in course.posttest_activity_ids and learner.statuses.get(aid) != "completed"
    ]
    if not pending:
        return Check("required_activities", True, "")
    return Check(
        "required_activities",
        False,
        f"Aktivitas wajib belum selesai ({len(pending)}): " + ", ".join(pending) + ".",
    )


def posttest_passed(course: CourseFacts, learner: LearnerFacts, rules: Rules) -> Check:
    """The post-test grade reaches the course's pass score (default 70); a course without a
    post-test has nothing to pass."""
    if not learner.posttest_grades:
        return Check("posttest_passed", True, "")
    grades = learner.posttest_grades
    best = [b for b in learner.posttest_best if b is not None]
    minimum = _fmt(rules.pass_score)
    if any(g is None for g in grades):
        if not best:
            return Check(
                "posttest_passed", False, f"Post-test belum dikerjakan (nilai minimal {minimum})."
            )
        return Check(
            "posttest_passed",
            False,
            f"Post-test belum dinilai atau belum lulus (nilai terbaik {_fmt(max(best))}, "
            f"minimal {minimum}).",
        )
    grade = sum(g for g in grades if g is not None) / len(grades)
    if grade >= rules.pass_score:
        return Check("posttest_passed", True, "")
    return Check(
        "posttest_passed",
        False,
        f"Post-test belum lulus (nilai terbaik {_fmt(max(best) if best else grade)}, "
        f"minimal {minimum}).",
    )


def min_learning_time(learner: LearnerFacts, rules: Rules) -> Check:
    """Time on task (server-validated heartbeats) reaches the course's minimum, if one is set."""
    minutes = int(learner.learning_seconds // 60)
    ok = minutes >= rules.min_learning_minutes
    return Check(
        "min_learning_time",
        ok,
        ""
        if ok
        else f"Waktu belajar baru {minutes} menit, minimal {rules.min_learning_minutes} menit.",
    )


def survey_sent(learner: LearnerFacts) -> Check:
    """The post-course survey (evaluasi penyelenggaraan) was sent, when the course asks for it."""
    ok = learner.survey_sent
    return Check(
        "survey_sent", ok, "" if ok else "Evaluasi penyelenggaraan (survei) belum dikirim."
    )


def rtl_sent(learner: LearnerFacts) -> Check:
    """The RTL (rencana tindak lanjut) was sent, when the course asks for it."""
    ok = learner.rtl_sent
    return Check("rtl_sent", ok, "" if ok else "Rencana tindak lanjut (RTL) belum dikirim.")


def profile_complete(learner: LearnerFacts) -> Check:
    """The profile printed on the certificate is complete: NIP, pangkat/golongan, jabatan, OPD."""
    if not learner.missing_profile:
        return Check("profile_complete", True, "")
    return Check(
        "profile_complete",
        False,
        "Profil belum lengkap: " + ", ".join(learner.missing_profile) + ".",
    )


def not_already_issued(learner: LearnerFacts) -> Check:
    """One live certificate per learner and run: a valid one is re-issued, not issued again;
    a revoked one stays revoked."""
    status = learner.certificate_status
    if status in (None, "superseded"):
        return Check("not_already_issued", True, "")
    if status == "revoked":
        return Check(
            "not_already_issued", False, f"Sertifikat {learner.certificate_number} telah dicabut."
        )
    return Check(
        "not_already_issued",
        False,
        f"Sertifikat sudah terbit (nomor {learner.certificate_number}).",
    )


def completion_checks(course: CourseFacts, learner: LearnerFacts, rules: Rules) -> list[Check]:
    """Completion: active enrolment, required activities, post-test, and the optional rules the
    course switched on (minimum time, survey, RTL, complete profile)."""
    checks = [enrolment_active(learner), required_activities(course, learner)]
    if rules.require_posttest:
        checks.append(posttest_passed(course, learner, rules))
    if rules.min_learning_minutes > 0:
        checks.append(min_learning_time(learner, rules))
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


PROFILE_FIELDS = (("nip", "NIP"), ("pangkat_golongan", "pangkat/golongan"), ("jabatan", "jabatan"),
                  ("opd", "OPD"))  # fmt: skip
