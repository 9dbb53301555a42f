"""Certificates: certification rules, completion and eligibility, issue / revoke / re-issue,
verification, the officer's run monitor and the learner's courses. Pages and other domains use
only this module (see the function list in the issue plan)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy import event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from app.accounts import service as accounts_service
from app.audit import service as audit
from app.auth.service import Principal
from app.certificates import credential, numbering, repository
from app.certificates import eligibility as checks
from app.certificates import rules as rules_mod
from app.certificates.eligibility import Check, CourseFacts, Eligibility, LearnerFacts
from app.certificates.layout import display_code, verify_url
from app.certificates.models import (
    Certificate,
    CertificateTemplate,
    CertificationRules,
    IssueJob,
    RunCompletion,
)
from app.certificates.rules import Rules
from app.certificates.schemas import (
    CertificatePage,
    CertificateRead,
    CheckRead,
    CourseRef,
    IneligibleItem,
    IssuedItem,
    IssuedNow,
    IssueResult,
    JobItemRead,
    JobRead,
    MyCertificate,
    MyCourse,
    ParticipantRow,
    PredikatBand,
    RulesRead,
    RulesUpdate,
    VerifyPdfRead,
    VerifyRead,
)
from app.core import clock, events, readcache
from app.core.config import Settings, get_settings
from app.core.db import utcnow
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.i18n import N_
from app.core.i18n import gettext_ as _
from app.courses import service as courses_service
from app.courses.models import Course, Enrolment, Run
from app.jp import service as jp_service
from app.notifications import service as notifications
from app.notifications.constants import NewNotification
from app.progress import service as progress_service
from app.quizzes import service as quizzes_service

if TYPE_CHECKING:
    from app.quizzes.models import Quiz

log = logging.getLogger(__name__)
_Row = TypeVar("_Row")


class AttendanceLike(Protocol):
    """What certificates read of app.live's AttendanceSummary."""

    @property
    def percent(self) -> float: ...

    @property
    def attended_minutes(self) -> int: ...

STAFF_ROLES = ("training_officer", "admin")
RULE_EDITORS = ("content_admin", "training_officer", "admin")
CODE_BYTES = 20  # 160 random bits -> 32 base32 characters
PDF_RETRY_AFTER_SECONDS = 10  # a PDF is ready within seconds of the issue (outbox kick)
_CODE_FIX = str.maketrans({"0": "O", "1": "I", "8": "B", "-": None, " ": None})


class PdfNotReady(Conflict):
    """The certificate is issued but its PDF (or signed credential) is still being prepared by
    the outbox: 409 with Retry-After, never a 404 or 500."""

    code = "pdf_not_ready"
    retry_after = PDF_RETRY_AFTER_SECONDS


def is_staff(principal: Principal) -> bool:
    """Staff for certificates: training officers and admins."""
    return principal.has_any(*STAFF_ROLES)


def today() -> dt.date:
    """The institution's date (its time zone, not the server's); tests monkeypatch this."""
    return clock.today()


# --- verification codes ---------------------------------------------------------------------------


def new_code() -> str:
    """A verification code: 160 random bits in base32 (A-Z, 2-7), 32 characters."""
    return base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode("ascii")


def normalise_code(raw: str) -> str:
    """Codes are typed from paper: grouping dashes/spaces, lower case and the look-alikes
    0/1/8 (never in base32) are forgiven."""
    return raw.strip().upper().translate(_CODE_FIX)


def mask_nip(nip: str | None) -> str | None:
    """Verification shows only the NIP's first 4 and last 4 digits (the rest is a birth date
    and start month)."""
    if not nip:
        return None
    return nip[:4] + "*" * max(0, len(nip) - 8) + nip[-4:]


def status_of(cert: Certificate, on: dt.date) -> str:
    """valid | revoked | superseded | expired (valid past its valid_until)."""
    if cert.status == "valid" and cert.valid_until is not None and cert.valid_until < on:
        return "expired"
    return cert.status


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# --- rules ---------------------------------------------------------------------------------------


def rules_for(session: Session, course_id: int, settings: Settings) -> Rules:
    """The course's effective certification rules."""
    return rules_mod.resolve(course_id, repository.get_rules(session, course_id), settings)


def own_rules(session: Session, course_id: int) -> CertificationRules | None:
    """The course's own rule values (None where it follows the institution), for the form."""
    return repository.get_rules(session, course_id)


def rules_read(rules: Rules) -> RulesRead:
    return RulesRead(
        course_id=rules.course_id,
        pass_score=rules.pass_score,
        predikat_bands=[PredikatBand(above=a, label=lbl) for a, lbl in rules.predikat_bands],
        predikat_lowest=rules.predikat_lowest,
        score_formula=rules.score_formula,
        weights=rules.weights,
        require_posttest=rules.require_posttest,
        min_learning_minutes=rules.min_learning_minutes,
        require_survey=rules.require_survey,
        require_rtl=rules.require_rtl,
        require_profile=rules.require_profile,
        auto_issue=rules.auto_issue,
        validity_years=rules.validity_years,
        curriculum_page=rules.curriculum_page,
        template_id=rules.template_id,
        min_attendance_percent=rules.min_attendance_percent,
        overridden=list(rules.overridden),
    )


def update_rules(session: Session, course_id: int, data: RulesUpdate, settings: Settings) -> Rules:
    """Change a course's rules (null = the institution's setting) and recompute completion of
    every run of the course."""
    courses_service.course_content(session, course_id)  # 404 for an unknown course
    row = repository.get_rules(session, course_id)
    if row is None:
        row = CertificationRules(course_id=course_id)
        session.add(row)
    sent = data.model_fields_set
    was = _rules_snapshot(row)
    if "template_id" in sent and data.template_id is not None:
        from app.certificates import templates as cert_templates

        try:
            cert_templates.get_template(session, data.template_id)
        except NotFound:
            raise ValidationFailed(
                "Templat sertifikat tidak ditemukan.", field="template_id"
            ) from None
    plain = (
        "pass_score", "score_formula", "require_posttest", "min_learning_minutes",
        "require_survey", "require_rtl", "require_profile", "auto_issue", "validity_years",
        "curriculum_page", "template_id", "min_attendance_percent",
    )  # fmt: skip
    for name in plain:
        if name in sent:
            setattr(row, name, getattr(data, name))
    if "predikat_bands" in sent:
        bands = data.predikat_bands
        row.predikat_bands_json = (
            None if bands is None else json.dumps([[b.above, b.label] for b in bands])
        )
    if "weights" in sent:
        if data.weights is not None:
            problem = rules_mod.check_weights(data.weights)
            if problem:
                raise ValidationFailed(problem, field="weights")
        row.weights_json = None if data.weights is None else json.dumps(data.weights)
    session.flush()
    before, after = audit.changes(was, _rules_snapshot(row))
    if after:
        audit.record(session, "certificate.rules_changed", target=("course", course_id),
                     before=before, after=after)  # fmt: skip
    rules = rules_for(session, course_id, settings)
    if rules.score_formula == "weighted":
        problem = rules_mod.check_weights(rules.weights)
        if problem:
            raise ValidationFailed(problem, field="weights")
    for run in courses_service.course_runs(session, course_id):
        recompute_run(session, run.id, settings)
    return rules


def _rules_snapshot(row: CertificationRules) -> dict[str, Any]:
    names = ("pass_score", "score_formula", "require_posttest", "min_learning_minutes",
             "require_survey", "require_rtl", "require_profile", "auto_issue", "validity_years",
             "curriculum_page", "template_id", "predikat_bands_json", "weights_json",
             "min_attendance_percent")  # fmt: skip
    return {n: getattr(row, n, None) for n in names}


def issued_audit(row: dict[str, Any], cert_id: int, by: int | None) -> audit.Record:
    """The audit entry of one issued certificate (bulk paths append many at once)."""
    return audit.Record(
        "certificate.issued", target=("certificate", cert_id), actor=by,
        after={"number": row["number"], "user_id": row["user_id"], "run_id": row["run_id"],
               "version": row.get("version"), "previous_id": row.get("previous_id")},
    )  # fmt: skip


# --- facts from the other domains ------------------------------------------------------------------


@dataclass(slots=True)
class RunContext:
    """A run with what every evaluation in it needs, read once."""

    run: Run
    course: Course
    facts: CourseFacts
    rules: Rules
    posttest_quiz_ids: list[int]
    curriculum: list[tuple[str, float]]  # (section title, its JP), sections with JP only
    posttest_quizzes: list[Quiz] = field(default_factory=list)  # for their grading rules
    template: tuple[int, int] | None = None  # (id, version) the certificates are drawn with
    signer: tuple[str, str | None, str] | None = None  # (name, NIP, jabatan) of the template
    assignment_ids: list[int] = field(default_factory=list)  # visible assignments, course order
    has_live: bool = False  # the course has a visible live session (attendance is read)
    posttest_titles: dict[int, str] = field(default_factory=dict)  # quiz id -> activity title
    # (activity id, title, weight) of the assignments, once read (final score, gradebook)
    assignment_items: list[tuple[int, str, float]] = field(default_factory=list)


@dataclass(slots=True)
class Learner:
    facts: LearnerFacts
    profile: accounts_service.ProfileView | None
    enrolment_status: str
    certificate: Certificate | None = None
    completion: RunCompletion | None = None
    percent: float = 0.0
    result: Eligibility | None = None
    score: float | None = None  # the final score: the override when run staff set one
    computed: float | None = None  # the final score by the course's formula
    override: float | None = None  # set by hand in the gradebook
    posttests: dict[int, float | None] = field(default_factory=dict)  # quiz id -> grade


def _quiz_activity_ids(contents: Sequence[Sequence[courses_service.SectionBrief]]) -> list[int]:
    """The visible quiz activities of some courses' content."""
    return [
        a.id
        for sections in contents
        for section in sections
        for a in section.activities
        if a.kind == "quiz" and not a.hidden
    ]


def _build_context(
    run: Run,
    course: Course,
    sections: Sequence[courses_service.SectionBrief],
    rules: Rules,
    quizzes: dict[int, Quiz],  # activity id -> quiz
    settings: Settings,
) -> RunContext:
    """A run's context from its course's content, rules and quizzes."""
    required: list[tuple[int, str]] = []
    posttest_quizzes: list[Quiz] = []
    posttest_activities: set[int] = set()
    curriculum: list[tuple[str, float]] = []
    assignment_ids: list[int] = []
    has_live = False
    posttest_titles: dict[int, str] = {}
    for section in sections:
        minutes = 0
        for activity in section.activities:
            if activity.hidden:
                continue
            if activity.kind == "assignment":
                assignment_ids.append(activity.id)
            elif activity.kind == "live_session":
                has_live = True
            if activity.kind == "quiz":
                # No quiz row yet: the activity is being made; its quiz row comes next.
                quiz = quizzes.get(activity.id)
                if quiz is not None and quiz.kind == "posttest":
                    posttest_quizzes.append(quiz)
                    posttest_activities.add(activity.id)
                    posttest_titles[quiz.id] = activity.title
            if activity.required:
                required.append((activity.id, activity.title))
            minutes += activity.duration_minutes or 0
        jp = section_jp(minutes, settings)
        if jp > 0:
            curriculum.append((section.title, jp))
    facts = CourseFacts(
        course_id=course.id,
        code=course.code,
        title=course.title,
        jp=float(course.jp),
        required=required,
        posttest_activity_ids=frozenset(posttest_activities),
    )
    return RunContext(
        run=run,
        course=course,
        facts=facts,
        rules=rules,
        posttest_quiz_ids=[q.id for q in posttest_quizzes],
        curriculum=curriculum,
        posttest_quizzes=posttest_quizzes,
        assignment_ids=assignment_ids,
        has_live=has_live,
        posttest_titles=posttest_titles,
    )


@dataclass(frozen=True, slots=True)
class _CourseFacts:
    """What a run's context needs of its course, as read from the database (settings not
    applied): the course, its content, quizzes, own rules and certificate template."""

    course: Course
    sections: list[courses_service.SectionBrief]
    quizzes: dict[int, Quiz]  # activity id -> quiz
    own_rules: CertificationRules | None
    template: CertificateTemplate


def _read_course_facts(session: Session, course_id: int) -> _CourseFacts:
    from app.certificates import templates as cert_templates

    course = courses_service.course_content(session, course_id)
    sections = courses_service.brief_content(course)
    quiz_activities = _quiz_activity_ids([sections])
    quizzes = (
        quizzes_service.quizzes_by_activity(session, quiz_activities) if quiz_activities else {}
    )
    own_rules = repository.get_rules(session, course.id)
    template = cert_templates.template_for_course(session, course.id)
    return _CourseFacts(course, sections, quizzes, own_rules, template)


def _context_of(run: Run, facts: _CourseFacts, settings: Settings) -> RunContext:
    """A run's context: its course's facts with the institution's settings applied (rules, JP,
    signer)."""
    from app.certificates import templates as cert_templates

    rules = rules_mod.resolve(facts.course.id, facts.own_rules, settings)
    ctx = _build_context(run, facts.course, facts.sections, rules, facts.quizzes, settings)
    signer = cert_templates.signer_for(facts.template, settings)
    ctx.template = (facts.template.id, facts.template.version)
    ctx.signer = (signer.name, signer.nip, signer.jabatan)
    return ctx


def _context(session: Session, run_id: int, settings: Settings) -> RunContext:
    run = courses_service.get_run(session, run_id)
    return _context_of(run, _read_course_facts(session, run.course_id), settings)


# A course's facts for the completion listener, which every completing activity (a quiz submit,
# a video's last heartbeat) calls: read once per process until an author, officer or studio
# changes one of these tables (this process at once, the others through the invalidation feed).
# Keyed by course id (the run itself is read every time: enrolments write its seat count); the
# values are transient copies shared by every thread: callers only read them.
_COURSE_FACT_TABLES = frozenset({
    "course", "course_section", "activity", "quiz", "certification_rules",
    "certificate_template",
})  # fmt: skip
course_facts_cache = readcache.WatchedCache(
    "certificate_course_facts", set(_COURSE_FACT_TABLES), lambda: get_settings().read_cache_seconds
)


def _detached(row: _Row) -> _Row:
    """A transient copy of a loaded row's columns: readable from any thread and session, never
    loads or flushes anything."""
    mapper = sa_inspect(type(row))
    return type(row)(**{a.key: getattr(row, a.key) for a in mapper.column_attrs})


def _shared_facts(facts: _CourseFacts) -> _CourseFacts:
    return _CourseFacts(
        course=_detached(facts.course), sections=facts.sections,
        quizzes={aid: _detached(q) for aid, q in facts.quizzes.items()},
        own_rules=_detached(facts.own_rules) if facts.own_rules is not None else None,
        template=_detached(facts.template),
    )  # fmt: skip


def _cached_context(session: Session, run_id: int, settings: Settings) -> RunContext:
    """`_context` with this process's copy of the course's facts when it has one (one query:
    the run)."""
    run = courses_service.get_run(session, run_id)
    facts: _CourseFacts | None = course_facts_cache.get(run.course_id)
    if facts is None or course_facts_cache.changed_in(session):
        generation = course_facts_cache.generation
        facts = _read_course_facts(session, run.course_id)
        if not course_facts_cache.changed_in(session):  # e.g. the institution template made on first use
            course_facts_cache.put(run.course_id, _shared_facts(facts), generation)
    return _context_of(run, facts, settings)


def _contexts(
    session: Session, runs: Sequence[tuple[Run, Course]], settings: Settings
) -> dict[int, RunContext]:
    """Run id -> context for several runs in a fixed number of queries, without the certificate
    template and signer (only issuing needs them)."""
    course_ids = list(dict.fromkeys(c.id for _, c in runs))
    contents = courses_service.courses_brief_content(session, course_ids)
    quiz_activities = _quiz_activity_ids(list(contents.values()))
    quizzes = quizzes_service.quizzes_by_activity(session, quiz_activities) if quiz_activities else {}
    own = repository.rules_of_courses(session, course_ids)
    return {
        run.id: _build_context(
            run, course, contents[course.id],
            rules_mod.resolve(course.id, own.get(course.id), settings), quizzes, settings,
        )
        for run, course in runs
    }  # fmt: skip


def _missing_profile(profile: accounts_service.ProfileView | None) -> tuple[str, ...]:
    if profile is None:
        return checks.PROFILE_FIELDS
    values = {
        "nip": profile.nip,
        "pangkat_golongan": profile.pangkat_golongan,
        "jabatan": profile.jabatan,
        "opd": profile.opd_code,
    }
    return tuple(key for key in checks.PROFILE_FIELDS if not values[key])


def _submissions(session: Session, enrolment_ids: Sequence[int]) -> dict[int, tuple[bool, bool]]:
    """(survey sent, RTL sent) per enrolment, from the evaluation domain."""
    from app.evaluation import service as evaluation_service

    result: dict[int, tuple[bool, bool]] = evaluation_service.submissions(session, enrolment_ids)
    return result


# --- attendance and assignments (the live and assignments domains) -------------------------------


def attendance_by_user(session: Session, run_id: int) -> dict[int, AttendanceLike]:
    """User id -> attendance summary of a run's live sessions (app.live)."""
    from app.live import service as live_service

    return dict(live_service.attendance_by_user(session, run_id))


def attendance_of(session: Session, run_id: int, user_id: int) -> AttendanceLike:
    """One learner's attendance summary in a run (app.live)."""
    from app.live import service as live_service

    found: AttendanceLike = live_service.attendance_of(session, run_id, user_id)
    return found


def assignment_items(session: Session, course_id: int) -> list[tuple[int, str, float]]:
    """(activity id, title, weight) of a course's visible assignments in course order
    (app.assignments)."""
    from app.assignments import service as assignments_service

    return [
        (item.activity_id, item.title, float(item.weight))
        for item in assignments_service.assignment_items(session, course_id)
    ]


def released_grades(session: Session, run_id: int) -> dict[tuple[int, int], float]:
    """(activity id, user id) -> released assignment grade in percent of max points."""
    from app.assignments import service as assignments_service

    return dict(assignments_service.released_percent(session, run_id))


def _scores_assignments(rules: Rules) -> bool:
    """The course's final score counts assignments."""
    return rules.score_formula == "weighted" and rules.weights.get("assignments", 0) > 0


@dataclass(slots=True)
class _RunExtras:
    """What a run's learners need beyond progress, quizzes and evaluation: attendance (courses
    with a live session), released assignment grades (when the final score counts them or the
    caller wants every score) and the final scores set by hand (single-run reads)."""

    attendance: dict[int, AttendanceLike] = field(default_factory=dict)
    grades: dict[tuple[int, int], float] = field(default_factory=dict)
    overrides: dict[int, float] = field(default_factory=dict)


def _run_extras(
    session: Session, ctx: RunContext, user_ids: Sequence[int], *, single_run: bool,
    all_scores: bool = False,
) -> _RunExtras:  # fmt: skip
    extras = _RunExtras()
    one = user_ids[0] if len(user_ids) == 1 else None
    if ctx.has_live and user_ids:
        if one is not None:
            extras.attendance = {one: attendance_of(session, ctx.run.id, one)}
        else:
            extras.attendance = attendance_by_user(session, ctx.run.id)
    if ctx.assignment_ids and (all_scores or _scores_assignments(ctx.rules)):
        ctx.assignment_items = assignment_items(session, ctx.course.id)
        weights = tuple((aid, weight) for aid, _title, weight in ctx.assignment_items)
        ctx.facts = replace(ctx.facts, assignments=weights)
        extras.grades = released_grades(session, ctx.run.id)
    if single_run and user_ids:
        extras.overrides = repository.score_overrides(session, ctx.run.id, user_ids)
    return extras


def _learners(
    session: Session,
    ctx: RunContext,
    enrolments: Sequence[tuple[int, int, str]],  # (enrolment id, user id, status)
    progress: dict[int, progress_service.EnrolmentProgress],
    *,
    all_scores: bool = False,
) -> dict[int, Learner]:
    """Facts for some enrolments of a run in a fixed number of queries (keyed by user id), with
    the final scores set by hand; `all_scores`: every score component is read (gradebook)."""
    extras = _run_extras(
        session, ctx, [uid for _e, uid, _s in enrolments], single_run=True, all_scores=all_scores
    )
    return _learners_of_runs(session, [(ctx, enrolments)], progress, extras=[extras])[0]


def _learners_of_runs(
    session: Session,
    groups: Sequence[tuple[RunContext, Sequence[tuple[int, int, str]]]],
    progress: dict[int, progress_service.EnrolmentProgress],
    profiles: dict[int, accounts_service.ProfileView] | None = None,
    extras: Sequence[_RunExtras] | None = None,
) -> list[dict[int, Learner]]:
    """Facts for enrolments of one or several runs (per run: enrolment id, user id, status) in a
    fixed number of queries whatever the number of runs; one dict keyed by user id per run.
    `profiles`: the learners' profiles when the caller has read them already. Without `extras`
    (several runs: the learner's home), attendance and assignment grades are read per run only
    for runs whose course needs them (a live session; assignments in the final score)."""
    user_ids = list(dict.fromkeys(uid for _, rows in groups for _, uid, _ in rows))
    enrolment_ids = [eid for _, rows in groups for eid, _, _ in rows]
    if extras is None:
        extras = [
            _run_extras(session, ctx, [uid for _e, uid, _s in rows], single_run=False)
            for ctx, rows in groups
        ]
    if profiles is None:
        profiles = accounts_service.profiles(session, user_ids)
    quizzes = {q.id: q for ctx, _ in groups for q in ctx.posttest_quizzes}
    outcomes = quizzes_service.outcomes(session, list(quizzes.values()), user_ids)
    evaluated = [
        eid
        for ctx, rows in groups
        if ctx.rules.require_survey or ctx.rules.require_rtl
        for eid, _, _ in rows
    ]
    sent = _submissions(session, evaluated) if evaluated else {}
    if len(groups) == 1 and len(enrolment_ids) > repository.CHUNK:
        certs = repository.latest_of_run(session, groups[0][0].run.id)
        completions = repository.completions_of_run(session, groups[0][0].run.id)
    else:
        certs = repository.latest_by_enrolment(session, enrolment_ids)
        completions = repository.completions_by_enrolment(session, enrolment_ids)
    found: list[dict[int, Learner]] = []
    for (ctx, rows), extra in zip(groups, extras, strict=True):
        out: dict[int, Learner] = {}
        for eid, uid, status in rows:
            prog = progress.get(eid)
            grades = [outcomes[(q, uid)] for q in ctx.posttest_quiz_ids if (q, uid) in outcomes]
            cert = certs.get(eid)
            survey, rtl = sent.get(eid, (False, False))
            attended = extra.attendance.get(uid)
            # DESIGN: attended klasikal hours are learning time (minimum time rule, JP).
            classroom = 60.0 * attended.attended_minutes if attended is not None else 0.0
            facts = LearnerFacts(
                enrolment_id=eid,
                user_id=uid,
                enrolment_status=status,
                statuses=dict(prog.statuses) if prog else {},
                learning_seconds=(prog.learning_seconds if prog else 0.0) + classroom,
                attendance_percent=attended.percent if attended is not None else None,
                assignment_grades={
                    aid: extra.grades[(aid, uid)]
                    for aid in ctx.assignment_ids
                    if (aid, uid) in extra.grades
                },
                posttest_grades=[g.grade_percent for g in grades]
                + [None] * (len(ctx.posttest_quiz_ids) - len(grades)),
                posttest_best=[g.best_percent for g in grades],
                survey_sent=survey,
                rtl_sent=rtl,
                missing_profile=_missing_profile(profiles.get(uid)),
                certificate_status=cert.status if cert else None,
                certificate_number=cert.number if cert else None,
            )
            learner = Learner(
                facts=facts,
                profile=profiles.get(uid),
                enrolment_status=status,
                certificate=cert,
                completion=completions.get(eid),
                override=extra.overrides.get(uid),
                posttests={
                    q: outcomes[(q, uid)].grade_percent if (q, uid) in outcomes else None
                    for q in ctx.posttest_quiz_ids
                },
            )
            _judge(ctx, learner)
            out[uid] = learner
        found.append(out)
    return found


def _judge(ctx: RunContext, learner: Learner) -> None:
    facts = learner.facts
    learner.result = checks.evaluate(ctx.facts, facts, ctx.rules)
    learner.percent = checks.activities_percent(ctx.facts, facts)
    grades = facts.posttest_grades
    posttest = (
        sum(g for g in grades if g is not None) / len(grades)
        if grades and all(g is not None for g in grades)
        else None
    )
    learner.computed = rules_mod.final_score(
        ctx.rules.score_formula,
        ctx.rules.weights,
        posttest=posttest,
        activities=learner.percent,
        assignments=rules_mod.assignments_percent(
            list(ctx.facts.assignments), facts.assignment_grades
        ),
        attendance=100.0 if facts.attendance_percent is None else facts.attendance_percent,
    )
    # An override set in the gradebook is the final score (certificate, predikat).
    learner.score = learner.override if learner.override is not None else learner.computed


def _run_learners(
    session: Session, ctx: RunContext, user_ids: Sequence[int] | None = None
) -> dict[int, Learner]:
    """Every enrolled learner of a run (or some), with their facts and verdicts."""
    rows = courses_service.enrolment_rows(session, ctx.run.id)
    if user_ids is not None:
        wanted = set(user_ids)
        rows = [r for r in rows if r[1] in wanted]
    progress = progress_service.run_progress(session, ctx.run.id)
    return _learners(session, ctx, rows, progress)


def _one_learner(session: Session, ctx: RunContext, enrolment: Enrolment) -> Learner:
    progress = {enrolment.id: progress_service.enrolment_progress(session, enrolment.id)}
    rows = [(enrolment.id, enrolment.user_id, enrolment.status)]
    return _learners(session, ctx, rows, progress)[enrolment.user_id]


# --- eligibility ---------------------------------------------------------------------------------


def eligibility(session: Session, run_id: int, user_id: int, settings: Settings) -> Eligibility:
    """The named checks for one learner in one run (404 when not enrolled)."""
    ctx = _context(session, run_id, settings)
    enrolment = courses_service.get_enrolment(session, run_id, user_id)
    learner = _one_learner(session, ctx, enrolment)
    assert learner.result is not None
    return learner.result


def missing(session: Session, run_id: int, user_id: int, settings: Settings) -> list[Check]:
    """What is still missing for the certificate: the failed checks."""
    return eligibility(session, run_id, user_id, settings).missing


def missing_for_run(
    session: Session, run_id: int, settings: Settings
) -> dict[int, list[dict[str, Any]]]:
    """What each active participant of a run who has not completed it still misses (the
    failed checks as {"code", "params"}, described in the reader's language when the message is
    rendered: eligibility.describe_item), keyed by user id; a fixed number of queries for the
    whole run."""
    ctx = _context(session, run_id, settings)
    found: dict[int, list[dict[str, Any]]] = {}
    for uid, learner in _run_learners(session, ctx).items():
        assert learner.result is not None
        if learner.enrolment_status != "active" or learner.completion is not None:
            continue
        if not learner.result.completed:
            found[uid] = [c.as_data() for c in learner.result.missing]
    return found


def eligibility_for(
    session: Session, run_id: int, user_id: int, principal: Principal, settings: Settings
) -> Eligibility:
    """Owner or staff; anyone else gets 404 (no hint that the enrolment exists)."""
    if principal.user_id != user_id and not is_staff(principal):
        raise NotFound("Peserta tidak terdaftar di angkatan ini.", code="enrolment_not_found")
    return eligibility(session, run_id, user_id, settings)


def check_reads(items: Sequence[Check]) -> list[CheckRead]:
    """Checks for the API, their reasons in the request's language."""
    return [
        CheckRead(name=c.name, passed=c.passed, reason=c.reason, params=dict(c.params))
        for c in items
    ]


# --- completion ----------------------------------------------------------------------------------


def _store_completion(session: Session, ctx: RunContext, learner: Learner) -> RunCompletion:
    done = RunCompletion(
        enrolment_id=learner.facts.enrolment_id,
        run_id=ctx.run.id,
        user_id=learner.facts.user_id,
        completed_at=utcnow(),
        final_score=learner.score,
        predikat=rules_mod.predikat(
            learner.score, ctx.rules.predikat_bands, ctx.rules.predikat_lowest
        ),
    )
    session.add(done)
    session.flush()
    learner.completion = done
    return done


def enrolment_changed(session: Session, enrolment_id: int, settings: Settings) -> None:
    """Listener: an activity completed, a survey or RTL was sent. Stores the completion the
    moment every rule holds and, when the course auto-issues, an outbox item that issues the
    certificate right after this transaction commits (`auto_issue`: number, record, JP credit,
    notice, audit and PDF in batches, outside the learner's request, so completing learners never
    queue behind the year's number counter). Already complete: one primary-key read and nothing
    else; a required activity still open (most activity completions): one query more."""
    if repository.get_completion(session, enrolment_id) is not None:
        return
    if progress_service.required_pending(session, enrolment_id):
        return  # check "required_activities" fails; the course and rules need not be read
    enrolment = courses_service.enrolment_by_id(session, enrolment_id)
    if enrolment is None:
        return
    ctx = _cached_context(session, enrolment.run_id, settings)
    learner = _one_learner(session, ctx, enrolment)
    assert learner.result is not None
    if not learner.result.completed:
        return
    stored = _insert_completion(session, ctx, learner)
    if stored and ctx.rules.auto_issue and learner.result.eligible:
        from app.certificates import auto_issue

        auto_issue.schedule(session, ctx.run.id, learner.facts.user_id, enrolment_id)
        session.info[_ISSUED_NOW] = True  # "being issued" for the action's response


def _insert_completion(session: Session, ctx: RunContext, learner: Learner) -> bool:
    """Store the completion unless a concurrent request (a heartbeat, a quiz submit, an
    officer's issue) stored it first: then nothing more is done here (False)."""
    row = {
        "enrolment_id": learner.facts.enrolment_id,
        "run_id": ctx.run.id,
        "user_id": learner.facts.user_id,
        "completed_at": utcnow(),
        "final_score": learner.score,
        "predikat": rules_mod.predikat(
            learner.score, ctx.rules.predikat_bands, ctx.rules.predikat_lowest
        ),
    }
    if not repository.insert_completion(session, row):
        log.info("enrolment %s: completed concurrently elsewhere", learner.facts.enrolment_id)
        return False
    learner.completion = RunCompletion(**row)  # transient: what issuing reads (score, predikat)
    return True


def user_changed(session: Session, user_id: int, settings: Settings) -> None:
    """Listener: a profile changed; runs waiting only for a complete profile may now complete."""
    for enrolment, _run, _course in courses_service.user_enrolments(session, user_id):
        enrolment_changed(session, enrolment.id, settings)


def recompute_run(session: Session, run_id: int, settings: Settings) -> list[int]:
    """Rules changed: store completions that now hold, drop those that no longer hold (unless a
    certificate was issued), refresh scores. Auto-issue courses get a background issue job for
    the newly complete. Returns the newly complete user ids."""
    ctx = _context(session, run_id, settings)
    learners = _run_learners(session, ctx)
    newly: list[int] = []
    dropped: list[int] = []
    for uid, learner in learners.items():
        assert learner.result is not None
        done = learner.completion
        if learner.result.completed:
            if done is None:
                _store_completion(session, ctx, learner)
                newly.append(uid)
            elif learner.certificate is None:
                done.final_score = learner.score
                done.predikat = rules_mod.predikat(
                    learner.score, ctx.rules.predikat_bands, ctx.rules.predikat_lowest
                )
        elif done is not None and learner.certificate is None:
            dropped.append(learner.facts.enrolment_id)
    repository.delete_completions(session, dropped)
    session.flush()
    if newly and ctx.rules.auto_issue:
        eligible = [u for u in newly if learners[u].result and learners[u].result.eligible]  # type: ignore[union-attr]
        if eligible:
            start_issue_job(session, run_id, eligible, None, settings)
    return newly


def score_changed(session: Session, run_id: int, user_id: int, settings: Settings) -> None:
    """A final score was set or cleared by hand (gradebook): a stored completion without a
    certificate takes the new score and predikat. An issued certificate keeps its snapshot."""
    ctx = _context(session, run_id, settings)
    enrolment = courses_service.get_enrolment(session, run_id, user_id)
    learner = _one_learner(session, ctx, enrolment)
    done = learner.completion
    if done is not None and learner.certificate is None:
        done.final_score = learner.score
        done.predikat = rules_mod.predikat(
            learner.score, ctx.rules.predikat_bands, ctx.rules.predikat_lowest
        )
        session.flush()


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """One learner's score components in a run (plain data for the gradebook)."""

    user_id: int
    enrolment_id: int
    enrolment_status: str
    name: str
    nip: str | None
    posttests: dict[int, float | None]  # quiz id -> grade (None: not graded yet)
    assignments: dict[int, float]  # activity id -> released grade, % of max points
    attendance: float | None  # % of live sessions attended (None: the course has none)
    activities: float  # % of required activities done
    survey_sent: bool
    rtl_sent: bool
    computed: float | None  # the final score by the course's formula
    override: float | None  # the final score set by hand
    final_score: float | None  # what the certificate uses: the override, else computed
    predikat: str | None
    completed: bool


@dataclass(frozen=True, slots=True)
class RunScores:
    """Every score component of a run's active and completed learners, with the rules."""

    run_id: int
    run_name: str
    course_id: int
    course_title: str
    rules: Rules
    posttests: list[tuple[int, str]]  # (quiz id, title), course order
    assignments: list[tuple[int, str, float]]  # (activity id, title, weight), course order
    has_live: bool
    rows: list[ScoreRow]


def run_scores(
    session: Session, run_id: int, settings: Settings, user_ids: Sequence[int] | None = None
) -> RunScores:
    """The final score of every active or completed learner of a run (or some), with each
    component it is made of, in a fixed number of queries whatever the number of learners
    (the course's facts from this process's cache)."""
    ctx = _cached_context(session, run_id, settings)
    rows = [
        r
        for r in courses_service.enrolment_rows(session, run_id)
        if r[2] in ("active", "completed")
    ]
    if user_ids is not None:
        wanted = set(user_ids)
        rows = [r for r in rows if r[1] in wanted]
    progress = progress_service.run_progress(session, run_id) if rows else {}
    learners = _learners(session, ctx, rows, progress, all_scores=True) if rows else {}
    out: list[ScoreRow] = []
    for eid, uid, status in rows:
        lr = learners[uid]
        out.append(
            ScoreRow(
                user_id=uid,
                enrolment_id=eid,
                enrolment_status=status,
                name=lr.profile.name if lr.profile else "",
                nip=lr.profile.nip if lr.profile else None,
                posttests=dict(lr.posttests),
                assignments=dict(lr.facts.assignment_grades),
                attendance=lr.facts.attendance_percent if ctx.has_live else None,
                activities=lr.percent,
                survey_sent=lr.facts.survey_sent,
                rtl_sent=lr.facts.rtl_sent,
                computed=lr.computed,
                override=lr.override,
                final_score=lr.score,
                predikat=rules_mod.predikat(
                    lr.score, ctx.rules.predikat_bands, ctx.rules.predikat_lowest
                ),
                completed=lr.completion is not None,
            )
        )
    out.sort(key=lambda r: (r.name.casefold(), r.user_id))
    return RunScores(
        run_id=ctx.run.id,
        run_name=ctx.run.name,
        course_id=ctx.course.id,
        course_title=ctx.course.title,
        rules=ctx.rules,
        posttests=[(q, ctx.posttest_titles.get(q, "")) for q in ctx.posttest_quiz_ids],
        assignments=[a for a in ctx.assignment_items if a[0] in set(ctx.assignment_ids)],
        has_live=ctx.has_live,
        rows=out,
    )


# --- issuing -------------------------------------------------------------------------------------


def section_jp(minutes: float, settings: Settings) -> float:
    """LAN: a section (mata pelatihan) earns its visible activities' minutes / 45 JP, rounded
    as settings.jp_rounding says (the JP ledger's rule)."""
    return jp_service.minutes_to_jp(minutes, settings)


def _curriculum_json(ctx: RunContext) -> str | None:
    """The curriculum page: each section with JP and its JP; none when no section has JP."""
    if not ctx.rules.curriculum_page or not ctx.curriculum:
        return None
    return json.dumps([[title, jp] for title, jp in ctx.curriculum], ensure_ascii=False)


def certificate_row(
    ctx: RunContext,
    learner: Learner,
    *,
    seq: int,
    issued_at: dt.datetime,
    issued_on: dt.date,
    by: int | None,
    settings: Settings,
    version: int = 1,
    previous_id: int | None = None,
    job_id: str | None = None,
    curriculum: str | None = None,
) -> dict[str, Any]:
    """The immutable snapshot of a certificate as column values, signed credential included
    (the same for single and bulk issuance)."""
    profile = learner.profile
    completion = learner.completion
    score = completion.final_score if completion is not None else learner.score
    predikat = (
        completion.predikat
        if completion is not None
        else rules_mod.predikat(score, ctx.rules.predikat_bands, ctx.rules.predikat_lowest)
    )
    code = new_code()
    row: dict[str, Any] = {
        "number": numbering.format_number(
            settings.cert_number_template,
            seq=seq,
            course_code=ctx.course.code,
            issued_on=issued_on,
            run_id=ctx.run.id,
        ),
        "year": issued_on.year,
        "seq": seq,
        "code": code,
        "version": version,
        "previous_id": previous_id,
        "status": "valid",
        "enrolment_id": learner.facts.enrolment_id,
        "run_id": ctx.run.id,
        "course_id": ctx.course.id,
        "user_id": learner.facts.user_id,
        "holder_name": profile.name if profile else "",
        "holder_nip": profile.nip if profile else None,
        "holder_pangkat_golongan": profile.pangkat_golongan if profile else None,
        "holder_jabatan": profile.jabatan if profile else None,
        "holder_opd": profile.opd_name if profile else None,
        "course_code": ctx.course.code,
        "course_title": ctx.course.title,
        "run_name": ctx.run.name,
        "run_starts_on": ctx.run.starts_on,
        "run_ends_on": ctx.run.ends_on,
        "funding_source": ctx.run.funding_source,
        "jp": float(ctx.course.jp),
        "score": score,
        "predikat": predikat,
        "issuer": settings.institution_name,
        "signer_name": ctx.signer[0] if ctx.signer else settings.cert_signer_name,
        "signer_nip": ctx.signer[1] if ctx.signer else settings.cert_signer_nip,
        "signer_jabatan": ctx.signer[2] if ctx.signer else settings.cert_signer_jabatan,
        "place": settings.cert_place,
        "issued_on": issued_on,
        "issued_at": issued_at,
        "valid_until": add_years(issued_on, ctx.rules.validity_years)
        if ctx.rules.validity_years
        else None,
        "template_id": ctx.template[0] if ctx.template else ctx.rules.template_id,
        "template_version": ctx.template[1] if ctx.template else 1,
        "curriculum_json": curriculum if curriculum is not None else _curriculum_json(ctx),
        "issued_by_id": by,
        "job_id": job_id,
    }
    row["credential_jws"] = sign_credential(row, settings)
    return row


def sign_credential(row: dict[str, Any], settings: Settings) -> str | None:
    """The VC-JWT of a certificate snapshot; None while the signing keys are missing (the
    certificate is still issued: its PDF job signs the credential once the keys are there)."""
    from app.certificates.keys import KeysMissing

    try:
        return credential.sign(credential.build(row, settings), settings)
    except KeysMissing as exc:
        log.warning("certificate %s: credential not signed yet (%s)", row.get("number"), exc)
        return None


def jp_credit_row(row: dict[str, Any], cert_id: int) -> dict[str, Any]:
    return {
        "user_id": row["user_id"],
        "year": row["year"],
        "source": jp_service.CERTIFICATE,
        "source_id": cert_id,
        "jp": row["jp"],
        "credited_on": row["issued_on"],
        "reference": row["number"],
        "funding_source": row["funding_source"],
    }


def issued_notice(row: dict[str, Any], cert_id: int) -> NewNotification:
    """The holder's "certificate issued" message (keyed by the certificate: made once)."""
    return NewNotification(
        event="certificate_issued", user_id=row["user_id"], key=f"certificate_issued:{cert_id}",
        context={"course_title": row["course_title"], "run_name": row["run_name"],
                 "number": row["number"], "predikat": row["predikat"], "jp": row["jp"]},
        url=f"/sertifikat/{cert_id}",
    )  # fmt: skip


def produce_pdf(session: Session, cert: Certificate, settings: Settings) -> None:
    """Ask for the PDF: rendered, signed and stored by the outbox after this transaction
    commits (app.certificates.delivery), never inside the request that issued it, so missing
    keys or an unreachable object store cannot fail or slow the learner's action."""
    from app.certificates import delivery

    delivery.schedule(session, cert)


def _issue_one(
    session: Session,
    ctx: RunContext,
    learner: Learner,
    *,
    by: int | None,
    settings: Settings,
    render: bool = True,
    notices: list[NewNotification] | None = None,
    audited: list[audit.Record] | None = None,
) -> Certificate:
    """Issue one certificate now: number, record, JP credit, the holder's message (made now, or
    added to `notices` for the caller's one notify_many), and the outbox item that makes its
    PDF once this transaction commits."""
    if learner.completion is None:
        _store_completion(session, ctx, learner)
    issued_at = utcnow()
    issued_on = today()
    previous = learner.certificate
    seq = numbering.allocate(session, issued_on.year, 1)
    row = certificate_row(
        ctx,
        learner,
        seq=seq,
        issued_at=issued_at,
        issued_on=issued_on,
        by=by,
        settings=settings,
        version=(previous.version + 1) if previous else 1,
        previous_id=previous.id if previous else None,
    )
    cert = Certificate(**row)
    repository.add(session, cert)
    jp_service.credit(session, **{k: v for k, v in jp_credit_row(row, cert.id).items()})
    if notices is None:
        notifications.notify(session, issued_notice(row, cert.id), settings)
    else:
        notices.append(issued_notice(row, cert.id))
    learner.certificate = cert
    if audited is None:
        audit.record_many(session, [issued_audit(row, cert.id, by)])
    else:
        audited.append(issued_audit(row, cert.id, by))
    events.learning(session, events.LearningEvent(
        "earned", cert.enrolment_id, user_id=cert.user_id, ref_id=cert.id, at=issued_at,
    ))  # fmt: skip
    if render:
        produce_pdf(session, cert, settings)
    return cert


_ISSUED_NOW = "certificates_issued_now"


def issued_now(session: Session) -> IssuedNow | None:
    """The certificate this request's action asked for, for its response: being issued (the
    outbox issues it right after the commit; no request issues one inline any more)."""
    if not session.info.pop(_ISSUED_NOW, False):
        return None
    return IssuedNow(
        pending=True,
        message=_("Kursus selesai! Sertifikat Anda sedang diterbitkan dan muncul di halaman "
                  "Sertifikat dalam beberapa saat."),
    )  # fmt: skip


def _candidates(
    learners: dict[int, Learner], user_ids: Sequence[int] | None
) -> tuple[list[Learner], list[IneligibleItem], list[IssuedItem]]:
    """(to issue, not eligible with the checks they fail, already certified with the number)."""
    chosen: list[Learner] = []
    refused: list[IneligibleItem] = []
    certified: list[IssuedItem] = []
    wanted = list(learners) if user_ids is None else list(dict.fromkeys(user_ids))
    for uid in wanted:
        found = learners.get(uid)
        if found is None:
            refused.append(
                IneligibleItem(user_id=uid, checks=check_reads([Check("enrolled", False)]))
            )
            continue
        assert found.result is not None
        cert = found.certificate
        if found.result.eligible:
            chosen.append(found)
        elif cert is not None and checks.already_certified(found.result, cert.status):
            certified.append(IssuedItem(id=cert.id, number=cert.number, user_id=uid))
        elif user_ids is not None:
            refused.append(IneligibleItem(user_id=uid, checks=check_reads(found.result.missing)))
    return chosen, refused, certified


def issue(
    session: Session,
    run_id: int,
    user_ids: Sequence[int] | None,
    by: int | None,
    settings: Settings,
    *,
    inline_max: int | None = None,
) -> IssueResult:
    """Issue for a run: everyone eligible (user_ids None) or the chosen users. Up to
    `inline_max` (default settings.cert_sync_issue_max) at once, inline (their PDFs follow from
    the outbox); more become a background job (IssueResult.job_id) whose progress
    GET /api/v1/jobs/{id} reports."""
    ctx = _context(session, run_id, settings)
    learners = _run_learners(session, ctx, user_ids)
    chosen, refused, certified = _candidates(learners, user_ids)
    if len(chosen) > (settings.cert_sync_issue_max if inline_max is None else inline_max):
        job_id = start_issue_job(session, run_id, [lr.facts.user_id for lr in chosen], by, settings)
        return IssueResult(
            issued=[], ineligible=refused, already_certified=certified, job_id=job_id
        )
    issued: list[IssuedItem] = []
    notices: list[NewNotification] = []
    audited: list[audit.Record] = []
    for learner in chosen:
        cert = _issue_one(session, ctx, learner, by=by, settings=settings, notices=notices,
                          audited=audited, render=False)  # fmt: skip
        issued.append(IssuedItem(id=cert.id, number=cert.number, user_id=cert.user_id))
    notifications.notify_many(session, notices, settings)  # one call for the whole run
    from app.certificates import delivery

    delivery.schedule_ids(session, [i.id for i in issued])  # their PDFs, made after commit
    audit.record_many(session, audited)  # one head lock and one insert for the whole run
    return IssueResult(issued=issued, ineligible=refused, already_certified=certified)


def create_issue_job(
    session: Session, run_id: int, user_ids: Sequence[int] | None, by: int | None
) -> str:
    """A bulk issue job with one item per user (default: every active participant), not queued
    (the CLI runs it in-process)."""
    run = courses_service.get_run(session, run_id)
    if user_ids is None:
        user_ids = [
            uid
            for _eid, uid, status in courses_service.enrolment_rows(session, run.id)
            if status in ("active", "completed")
        ]
    wanted = list(dict.fromkeys(user_ids))
    job = IssueJob(
        id=secrets.token_hex(8), run_id=run.id, state="queued", total=len(wanted),
        created_by_id=by, created_at=utcnow(),
    )  # fmt: skip
    repository.add(session, job)
    repository.insert_items(
        session, [{"job_id": job.id, "user_id": u, "state": "pending"} for u in wanted]
    )
    return job.id


def start_issue_job(
    session: Session,
    run_id: int,
    user_ids: Sequence[int] | None,
    by: int | None,
    settings: Settings,
) -> str:
    """Create a bulk issue job and queue it once this transaction commits (the worker must see
    the job); GET /api/v1/jobs/{job_id} reports its progress."""
    from app.certificates import tasks

    job_id = create_issue_job(session, run_id, user_ids, by)

    def _enqueue(_session: Session) -> None:
        tasks.enqueue(job_id)

    event.listen(session, "after_commit", _enqueue, once=True)
    return job_id


def job_status(session: Session, job_id: str, *, with_items: bool = True) -> JobRead:
    job = repository.get_job(session, job_id)
    if job is None:
        raise NotFound("Pekerjaan tidak ditemukan.", code="job_not_found")
    items = (
        [
            JobItemRead(
                user_id=i.user_id,
                state=i.state,
                certificate_id=i.certificate_id,
                message=checks.decode_reasons(i.message),
            )
            for i in repository.job_items(session, job_id)
        ]
        if with_items
        else []
    )
    return _job_read(job, items)


def _job_read(job: IssueJob, items: list[JobItemRead]) -> JobRead:
    done = job.issued_count + job.ineligible_count + job.certified_count + job.failed_count
    steps = job.total + job.issued_count  # issue every item, then render each issued one
    percent = (
        100
        if job.state == "done"
        else int(100 * (done + job.rendered_count) / steps)
        if steps
        else 0
    )
    return JobRead(
        id=job.id, run_id=job.run_id, state=job.state, total=job.total,
        issued_count=job.issued_count, ineligible_count=job.ineligible_count,
        certified_count=job.certified_count,
        failed_count=job.failed_count, rendered_count=job.rendered_count,
        percent=min(percent, 100), created_at=job.created_at, finished_at=job.finished_at,
        error=job.error, items=items,
    )  # fmt: skip


def jobs_to_watch(session: Session, since: dt.datetime, limit: int = 5) -> list[JobRead]:
    """Bulk issues queued or running, and recent ones that failed or left failures (one query)."""
    return [_job_read(job, []) for job in repository.jobs_to_watch(session, since, limit)]


# --- revoke and re-issue -------------------------------------------------------------------------


def _locked(session: Session, cert_id: int) -> Certificate:
    cert = repository.get_certificate_for_update(session, cert_id)
    if cert is None:
        raise NotFound("Sertifikat tidak ditemukan.", code="certificate_not_found")
    return cert


def revoke(session: Session, cert_id: int, reason: str, by: int | None) -> Certificate:
    """Revocation keeps the record with reason, who and when, and withdraws its JP credit."""
    cert = _locked(session, cert_id)
    if cert.status != "valid":
        raise Conflict(
            "Hanya sertifikat yang berlaku yang dapat dicabut.", code="certificate_not_valid"
        )
    reason = " ".join(reason.split())
    if len(reason) < 3:
        raise ValidationFailed("Tuliskan alasan pencabutan.", field="reason")
    cert.status = "revoked"
    cert.revoked_at = utcnow()
    cert.revoked_by_id = by
    cert.revoked_reason = reason[:500]
    jp_service.withdraw(session, source=jp_service.CERTIFICATE, source_id=cert.id, reason=reason)
    audit.record(session, "certificate.revoked", actor=by, target=("certificate", cert.id),
                 before={"status": "valid"},
                 after={"status": "revoked", "reason": cert.revoked_reason, "number": cert.number,
                        "user_id": cert.user_id})  # fmt: skip
    session.flush()
    return cert


def reissue(
    session: Session, cert_id: int, by: int | None, reason: str, settings: Settings
) -> Certificate:
    """Re-issue (e.g. a misspelled name, corrected in the profile first): a new version with a
    NEW number and code from the holder's current profile; score, predikat, JP and run stay as
    issued. The old record is marked superseded and its JP credit moves to the new one."""
    old = _locked(session, cert_id)
    if old.status != "valid":
        raise Conflict(
            "Hanya sertifikat yang berlaku yang dapat diterbitkan ulang.",
            code="certificate_not_valid",
        )
    ctx = _context(session, old.run_id, settings)
    enrolment = courses_service.enrolment_by_id(session, old.enrolment_id)
    assert enrolment is not None
    learner = Learner(
        facts=LearnerFacts(enrolment_id=old.enrolment_id, user_id=old.user_id,
                           enrolment_status=enrolment.status),
        profile=accounts_service.profiles(session, [old.user_id]).get(old.user_id),
        enrolment_status=enrolment.status,
        certificate=old,
        completion=repository.get_completion(session, old.enrolment_id),
        score=old.score,
    )  # fmt: skip
    issued_on = today()
    seq = numbering.allocate(session, issued_on.year, 1)
    row = certificate_row(
        ctx, learner, seq=seq, issued_at=utcnow(), issued_on=issued_on, by=by,
        settings=settings, version=old.version + 1, previous_id=old.id,
        curriculum=old.curriculum_json,
    )  # fmt: skip
    row.update(score=old.score, predikat=old.predikat, jp=old.jp, valid_until=old.valid_until)
    row["credential_jws"] = sign_credential(row, settings)
    old.status = "superseded"
    old.superseded_at = utcnow()
    session.flush()
    cert = Certificate(**row)
    repository.add(session, cert)
    jp_service.move(
        session, source=jp_service.CERTIFICATE, old_id=old.id, new_id=cert.id,
        reference=cert.number,
    )  # fmt: skip
    notifications.notify(session, issued_notice(row, cert.id), settings)  # a new number
    log.info("certificate %s re-issued as %s: %s", old.number, cert.number, reason)
    audit.record(session, "certificate.reissued", actor=by, target=("certificate", old.id),
                 before={"status": "valid", "number": old.number},
                 after={"status": "superseded", "new_id": cert.id, "new_number": cert.number,
                        "reason": reason[:500], "user_id": old.user_id})  # fmt: skip
    produce_pdf(session, cert, settings)
    return cert


def throttle_verify(address: str, settings: Settings) -> None:
    """Public verification (API and pages) is rate-limited per client address:
    settings.verify_rate_per_minute, then 429 with Retry-After."""
    from app.web.ratelimit import verify_limit  # counted in LMS_RATE_LIMIT_STORAGE_URL

    verify_limit(address, settings)


# --- reading -------------------------------------------------------------------------------------


def certificate_read(cert: Certificate, settings: Settings, successor_id: int | None = None
                     ) -> CertificateRead:  # fmt: skip
    return CertificateRead(
        id=cert.id, number=cert.number, code=cert.code, code_display=display_code(cert.code),
        verify_url=verify_url(cert.code, settings), status=status_of(cert, today()),
        version=cert.version, previous_id=cert.previous_id, successor_id=successor_id,
        user_id=cert.user_id, run_id=cert.run_id, course_id=cert.course_id,
        holder_name=cert.holder_name, holder_nip=cert.holder_nip,
        holder_pangkat_golongan=cert.holder_pangkat_golongan, holder_jabatan=cert.holder_jabatan,
        holder_opd=cert.holder_opd, course_code=cert.course_code, course_title=cert.course_title,
        run_name=cert.run_name, run_starts_on=cert.run_starts_on, run_ends_on=cert.run_ends_on,
        funding_source=cert.funding_source, jp=cert.jp, score=cert.score, predikat=cert.predikat,
        issuer=cert.issuer, signer_name=cert.signer_name, signer_nip=cert.signer_nip,
        signer_jabatan=cert.signer_jabatan, place=cert.place, issued_on=cert.issued_on,
        issued_at=cert.issued_at, valid_until=cert.valid_until,
        template_version=cert.template_version, pdf_sha256=cert.pdf_sha256,
        pdf_size=cert.pdf_size, pdf_ready=bool(cert.pdf_key), revoked_at=cert.revoked_at,
        revoked_reason=cert.revoked_reason, superseded_at=cert.superseded_at,
    )  # fmt: skip


def get_certificate(session: Session, cert_id: int, principal: Principal) -> Certificate:
    """The holder or staff; anyone else gets the same 404 as for an unknown id."""
    cert = repository.get_certificate(session, cert_id)
    if cert is None or (cert.user_id != principal.user_id and not is_staff(principal)):
        raise NotFound("Sertifikat tidak ditemukan.", code="certificate_not_found")
    return cert


def certificate_detail(
    session: Session, cert_id: int, principal: Principal, settings: Settings
) -> CertificateRead:
    cert = get_certificate(session, cert_id, principal)
    nxt = repository.successor(session, cert.id) if cert.status == "superseded" else None
    return certificate_read(cert, settings, nxt.id if nxt else None)


def certificate_pdf(
    session: Session, cert_id: int, principal: Principal
) -> tuple[Certificate, str]:
    """The certificate and its stored PDF's key (409 with Retry-After while the PDF is still
    being prepared: the certificate itself is issued and verifiable)."""
    cert = get_certificate(session, cert_id, principal)
    if not cert.pdf_key:
        raise PdfNotReady(
            "Sertifikat sedang disiapkan. PDF-nya dapat diunduh sebentar lagi.",
            code="pdf_not_ready",
        )
    return cert, cert.pdf_key


def certificate_credential(
    session: Session, cert_id: int, principal: Principal, settings: Settings
) -> tuple[str, dict[str, Any]]:
    """(VC-JWT, the same credential as JSON with an embedded eddsa-rdfc-2022 DataIntegrityProof
    in a `proof` array): the two Open Badges 3.0 forms."""
    cert = get_certificate(session, cert_id, principal)
    token = cert.credential_jws
    if not token:  # issued before credentials existed, or while the keys were missing
        fields = {c.key: getattr(cert, c.key) for c in Certificate.__table__.columns}
        token = sign_credential(fields, settings)
        if token is None:
            raise PdfNotReady(
                "Sertifikat sedang disiapkan. Bukti digitalnya dapat diunduh sebentar lagi.",
                code="credential_not_ready",
            )
    return token, credential.with_proof(token, settings)


@dataclass(slots=True)
class CertificateFilter:
    q: str | None = None
    run_id: int | None = None
    course_id: int | None = None
    user_id: int | None = None
    status: str | None = None
    year: int | None = None
    opd: str | None = None
    page: int = 1
    per_page: int | None = 50


def list_certificates(
    session: Session, filters: CertificateFilter, settings: Settings
) -> CertificatePage:
    """Search and filter certificates (staff); per_page None = all (exports)."""
    per_page = filters.per_page
    total, rows = repository.search(
        session,
        q=(filters.q or "").strip() or None,
        run_id=filters.run_id,
        course_id=filters.course_id,
        user_id=filters.user_id,
        status=filters.status or None,
        year=filters.year,
        opd=filters.opd or None,
        offset=(max(filters.page, 1) - 1) * (per_page or 0),
        limit=per_page,
    )
    return CertificatePage(total=total, items=[certificate_read(c, settings) for c in rows])


def my_certificates(session: Session, user_id: int, settings: Settings) -> list[MyCertificate]:
    on = today()
    return [
        MyCertificate(
            id=c.id,
            number=c.number,
            code=c.code,
            course_title=c.course_title,
            jp=c.jp,
            predikat=c.predikat,
            issued_at=c.issued_at,
            status=status_of(c, on),
            verify_url=verify_url(c.code, settings),
            run_name=c.run_name,
            has_pdf=bool(c.pdf_key),
        )
        for c in repository.certificates_of_user(session, user_id)
    ]


def my_courses(
    session: Session,
    user_id: int,
    settings: Settings | None = None,
    profile: accounts_service.ProfileView | None = None,
) -> list[MyCourse]:
    """The learner's runs with progress, completion, certificate and what is still missing.
    A fixed number of queries whatever the number of runs (the home page lists them all).
    `profile`: the learner's, when the caller has read it already (one query less)."""
    settings = settings or get_settings()
    enrolments = courses_service.user_enrolments(session, user_id)
    if not enrolments:
        return []
    contexts = _contexts(session, [(run, course) for _e, run, course in enrolments], settings)
    progress = progress_service.enrolments_progress(session, [e.id for e, _r, _c in enrolments])
    learners = _learners_of_runs(
        session,
        [(contexts[run.id], [(e.id, e.user_id, e.status)]) for e, run, _c in enrolments],
        progress,
        {user_id: profile} if profile is not None and profile.user_id == user_id else None,
    )
    on = today()
    out: list[MyCourse] = []
    for (enrolment, run, course), found in zip(enrolments, learners, strict=True):
        learner = found[enrolment.user_id]
        assert learner.result is not None
        cert = learner.certificate
        out.append(
            MyCourse(
                run_id=run.id,
                run_name=run.name,
                course=CourseRef(id=course.id, code=course.code, title=course.title),
                percent=int(learner.percent),
                completed=learner.completion is not None,
                completed_at=learner.completion.completed_at if learner.completion else None,
                certificate_id=cert.id if cert and cert.status != "superseded" else None,
                certificate_status=status_of(cert, on) if cert else None,
                certificate_pdf_ready=bool(cert and cert.pdf_key),
                missing=check_reads(learner.result.missing) if learner.completion is None else [],
                jp=float(course.jp),
                starts_on=run.starts_on,
                ends_on=run.ends_on,
            )
        )
    return out


def run_monitor(session: Session, run_id: int, settings: Settings) -> list[ParticipantRow]:
    """Per participant: progress, time, completion, eligibility, certificate — in a fixed number
    of queries whatever the run's size."""
    ctx = _context(session, run_id, settings)
    enrolments = courses_service.run_enrolments(session, ctx.run)
    progress = progress_service.run_progress(session, ctx.run.id)
    learners = _learners(session, ctx, [(e.id, e.user_id, e.status) for e in enrolments], progress)
    rows: list[ParticipantRow] = []
    for e in enrolments:
        lr = learners[e.user_id]
        assert lr.result is not None
        cert = lr.certificate
        rows.append(
            ParticipantRow(
                enrolment_id=e.id,
                user_id=e.user_id,
                name=e.name,
                nip=e.nip,
                opd=lr.profile.opd_name if lr.profile and lr.profile.opd_name else e.opd_code,
                enrolment_status=e.status,
                percent=int(lr.percent),
                learning_minutes=int(lr.facts.learning_seconds // 60),
                completed_at=lr.completion.completed_at if lr.completion else None,
                eligible=lr.result.eligible,
                failed_checks=[c.name for c in lr.result.missing],
                missing=[c.reason for c in lr.result.missing],
                missing_checks=check_reads(lr.result.missing),
                certificate_id=cert.id if cert else None,
                certificate_number=cert.number if cert else None,
                certificate_status=status_of(cert, today()) if cert else None,
            )
        )
    return rows


def run_pdf_keys(session: Session, run_id: int) -> list[tuple[str, str, str]]:
    """(number, storage key, holder name) of a run's valid certificates with a PDF (ZIP)."""
    courses_service.get_run(session, run_id)
    return [(n, k, h) for _i, n, k, h in repository.run_pdfs(session, run_id) if k]


def course_titles(session: Session, cert_ids: Sequence[int]) -> dict[int, str]:
    """Certificate id -> the course title it was issued for (JP history labels)."""
    return repository.course_titles(session, cert_ids)


def siasn_rows(session: Session, year: int) -> list[dict[str, Any]]:
    """SIASN riwayat kursus rows for the year: valid certificates (e-learning, 16), verified
    mentoring (15) and verified external training (by its mode), sorted by NIP and end date."""
    from app.certificates import exports
    from app.external_training import service as external_training_service
    from app.mentoring import service as mentoring_service

    rows = exports.siasn_rows(repository.valid_of_year(session, year))
    rows += mentoring_service.siasn_rows(session, year)
    rows += external_training_service.siasn_rows(session, year)
    rows.sort(key=lambda r: (r["nip"] or "", _day_month_year(r["tanggalSelesaiKursus"])))
    return rows


def _day_month_year(text: str) -> tuple[str, str, str]:
    """SIASN writes dates as dd-mm-yyyy; sort them as dates."""
    day, month, year = text.split("-")
    return year, month, day


# --- verification --------------------------------------------------------------------------------


def _verify_read(session: Session, cert: Certificate) -> VerifyRead:
    nxt = repository.successor(session, cert.id) if cert.status == "superseded" else None
    return VerifyRead(
        status=status_of(cert, today()),
        number=cert.number, code=cert.code, holder_name=cert.holder_name,
        holder_nip_masked=mask_nip(cert.holder_nip), course_title=cert.course_title,
        course_code=cert.course_code, run_name=cert.run_name, run_starts_on=cert.run_starts_on,
        run_ends_on=cert.run_ends_on, jp=cert.jp, predikat=cert.predikat,
        issued_at=cert.issued_at, issued_on=cert.issued_on, place=cert.place,
        valid_until=cert.valid_until, issuer=cert.issuer, signer_name=cert.signer_name,
        signer_jabatan=cert.signer_jabatan, pdf_sha256=cert.pdf_sha256,
        revoked_at=cert.revoked_at, revoked_reason=cert.revoked_reason,
        superseded_by=nxt.code if nxt else None,
    )  # fmt: skip


NOT_FOUND_MESSAGE = N_("Sertifikat tidak ditemukan. Periksa kembali kode verifikasi.")


def verify(session: Session, code: str) -> VerifyRead:
    """Public: a certificate's status and facts by its verification code (404 otherwise, with
    the same message whatever the reason)."""
    clean = normalise_code(code)
    cert = repository.by_code(session, clean) if re.fullmatch(r"[A-Z2-7]{32}", clean) else None
    if cert is None:
        raise NotFound(NOT_FOUND_MESSAGE, code="certificate_not_found")
    return _verify_read(session, cert)


_CODE_IN_PDF = re.compile(rb"/verify/([A-Z2-7]{32})")
_NUMBER_IN_TITLE = re.compile(r"^Sertifikat (.+?) \u2014 ")


def _embedded_record(session: Session, data: bytes) -> Certificate | None:
    """The record a PDF names: the verify link's code if the bytes carry it, else the number in
    the document title ("Sertifikat {number} — {holder}", set by the PDF renderer)."""
    match = _CODE_IN_PDF.search(data)
    if match:
        return repository.by_code(session, match.group(1).decode("ascii"))
    try:
        import io

        from pyhanko.pdf_utils.reader import PdfFileReader

        info = PdfFileReader(io.BytesIO(data), strict=False).trailer["/Info"]
        title = str(info.get("/Title", ""))
    except Exception:  # unreadable: no record, the caller reports not authentic
        return None
    found = _NUMBER_IN_TITLE.match(title)
    return repository.by_number(session, found.group(1)) if found else None


def verify_pdf(session: Session, data: bytes, settings: Settings) -> VerifyPdfRead:
    """Is this file an issued certificate? Authentic when its sha256 is that of an issued PDF,
    or when it carries a valid, untouched institution signature over the whole file and the code
    it carries belongs to a certificate. Any edit makes it not authentic, with the reason."""
    digest = hashlib.sha256(data).hexdigest()
    cert = repository.by_pdf_sha256(session, digest)
    if cert is not None:
        return VerifyPdfRead(
            authentic=True, status=status_of(cert, today()), number=cert.number, code=cert.code,
            reason="Berkas sama persis dengan sertifikat yang diterbitkan.",
        )  # fmt: skip
    from app.certificates import signing

    check = signing.signature_check(data, settings)
    if not check.authentic:
        return VerifyPdfRead(authentic=False, reason=check.reason)
    cert = _embedded_record(session, data)
    if cert is None:
        return VerifyPdfRead(
            authentic=False,
            reason="Tanda tangan sah, tetapi sertifikat ini tidak tercatat di sistem.",
        )
    return VerifyPdfRead(
        authentic=True, status=status_of(cert, today()), number=cert.number, code=cert.code,
        reason="Tanda tangan elektronik institusi sah dan PDF tidak diubah.",
    )  # fmt: skip


# The completion listeners live in app.certificates.completion; importing this module
# registers them (app.main and app.cli import it).
from app.certificates import completion as _completion  # noqa: E402, F401
