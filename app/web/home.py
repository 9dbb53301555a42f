"""The home page ("/") per role: what waits for the user and the numbers that matter today.

Each section asks the owning domain's service (one or a few queries each, never one per row);
a person with several roles sees the sections of each.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from babel.dates import format_date
from sqlalchemy.orm import Session

from app.accounts import service as accounts_service
from app.accounts.constants import Role
from app.auth.service import Principal
from app.certificates import service as certificates_service
from app.certificates.pages import certificate_view
from app.certificates.pages import labels as certificate_labels
from app.certificates.schemas import JobRead, MyCourse
from app.competency import service as competency_service
from app.competency.schemas import RecommendedCourse
from app.core import clock, i18n
from app.core.config import Settings
from app.core.i18n import gettext_ as _
from app.courses import service as courses_service
from app.external_training import service as external_training_service
from app.jp import service as jp_service
from app.mentoring import service as mentoring_service
from app.mentoring.schemas import AssignmentRead
from app.progress import service as progress_service
from app.targets import service as targets_service

DEADLINE_DAYS = 14  # a learner's run ending within this many days is a deadline to show
CLOSING_DAYS = 7  # an officer's runs ending within this many days
FAILED_JOBS_DAYS = 7  # failed certificate jobs stay on the officer's home this long
MAX_ROWS = 5  # rows per list on the home page; the rest behind a "see all" link


def problem_labels() -> dict[str, str]:
    """What a course's problem codes (courses_service.CourseHealth.problems) mean."""
    return {
        "missing_files": _("ada aktivitas tanpa berkas"),
        "zero_jp": _("JP kursus 0"),
        "zero_minutes": _("durasi aktivitas 0 menit"),
        "no_activities": _("belum ada aktivitas"),
    }


def role_titles() -> dict[str, str]:
    return {
        "learner": _("Pembelajaran saya"),
        "mentor": _("Pembimbingan (induksi)"),
        "opd_head": _("Kepala OPD"),
        "content_admin": _("Pengelolaan konten"),
        "training_officer": _("Penyelenggaraan diklat"),
        "admin": _("Administrasi sistem"),
    }


ROLE_ORDER = ("learner", "mentor", "opd_head", "content_admin", "training_officer", "admin")


def panel_roles(roles: frozenset[str]) -> list[str]:
    """The home page's sections in a fixed order: one for each role the user holds."""
    return [r for r in ROLE_ORDER if r in roles]


# --- learner -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Deadline:
    course: MyCourse
    ends_on: dt.date
    days_left: int


@dataclass(slots=True)
class LearnerHome:
    courses: list[MyCourse]
    in_progress: list[MyCourse]
    resume: MyCourse | None
    deadlines: list[Deadline]
    jp: jp_service.JpSummary
    jp_percent: int
    recommended: list[RecommendedCourse]
    competency_names: dict[str, str]
    certificates: list[Any]
    labels: dict[str, Any]
    to_confirm: int = 0


def pick_resume(courses: list[MyCourse], last_seen: dict[int, dt.datetime]) -> MyCourse | None:
    """The course to continue: the unfinished one learned in most recently, else the first
    unfinished one (the list's order)."""
    open_ = [c for c in courses if not c.completed]
    if not open_:
        return None
    seen = [c for c in open_ if c.run_id in last_seen]
    if seen:
        return max(seen, key=lambda c: last_seen[c.run_id])
    return open_[0]


def deadlines(courses: list[MyCourse], today: dt.date, days: int = DEADLINE_DAYS) -> list[Deadline]:
    """Unfinished runs that end within `days` days (today included), soonest first."""
    found = [
        Deadline(course=c, ends_on=c.ends_on, days_left=(c.ends_on - today).days)
        for c in courses
        if not c.completed and c.ends_on is not None and 0 <= (c.ends_on - today).days <= days
    ]
    return sorted(found, key=lambda d: (d.ends_on, d.course.course.title))


def learner_home(
    session: Session,
    user_id: int,
    settings: Settings,
    profile: accounts_service.ProfileView | None = None,
) -> LearnerHome:
    """Courses with progress and what is missing, the course to continue, deadlines, this year's
    JP against the target, courses for the competency gaps, and the certificates. `profile`:
    the user's, when the page has read it already (for its header)."""
    today = clock.today()
    if profile is None:
        profile = accounts_service.profile(session, user_id)
    courses = certificates_service.my_courses(session, user_id, settings, profile)
    jp = jp_service.summary_of(session, user_id, today.year, settings, profile.employment)
    suggestions = competency_service.suggestions_for(session, user_id, limit=3)
    certificates = [
        certificate_view(c)
        for c in certificates_service.my_certificates(session, user_id, settings)
        if c.status != "superseded"  # its newer version is listed; "Sertifikat saya" has all
    ]
    return LearnerHome(
        courses=courses,
        in_progress=[c for c in courses if not c.completed],
        resume=pick_resume(courses, progress_service.last_seen_per_run(session, user_id)),
        deadlines=deadlines(courses, today),
        jp=jp,
        jp_percent=min(100, round(100 * jp.total_jp / jp.target_jp)) if jp.target_jp else 100,
        recommended=suggestions.courses,
        competency_names=suggestions.names,
        certificates=certificates,
        labels=certificate_labels(),
    )


# --- training officer ----------------------------------------------------------------------------


@dataclass(slots=True)
class ClosingRun:
    run_id: int
    run_name: str
    course_title: str
    ends_on: dt.date
    days_left: int
    enrolled: int


@dataclass(slots=True)
class WatchedJob:
    job: JobRead
    course_title: str
    run_name: str


@dataclass(slots=True)
class OfficerHome:
    runs_under_way: int
    closing: list[ClosingRun]
    external_to_verify: int
    mentoring_to_verify: int
    jobs: list[WatchedJob]
    month_label: str
    learners_this_month: int
    enrolments_this_month: int


def month_start(now: dt.datetime) -> dt.datetime:
    """The UTC moment the institution's current calendar month began."""
    local = now.astimezone(clock.institution_tz())
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return first.astimezone(dt.UTC)


def officer_home(session: Session, mentoring_to_verify: int) -> OfficerHome:
    """Runs under way and closing within a week, verifications waiting, certificate jobs that
    run or failed, and this month's participation."""
    now = clock.now_local()
    today = now.date()
    closing = courses_service.runs_closing(session, today, CLOSING_DAYS)
    jobs = certificates_service.jobs_to_watch(
        session, now.astimezone(dt.UTC) - dt.timedelta(days=FAILED_JOBS_DAYS), MAX_ROWS
    )
    runs = courses_service.run_labels(session, [j.run_id for j in jobs])
    since = month_start(now)
    return OfficerHome(
        runs_under_way=courses_service.runs_under_way(session, today),
        closing=[
            ClosingRun(
                run_id=r.id,
                run_name=r.name,
                course_title=c.title,
                ends_on=r.ends_on,
                days_left=(r.ends_on - today).days,
                enrolled=r.enrolled_count,
            )
            for r, c in closing
        ],
        external_to_verify=external_training_service.pending_count(session),
        mentoring_to_verify=mentoring_to_verify,
        jobs=[
            WatchedJob(
                job=j,
                course_title=runs.get(j.run_id, (0, "", ""))[1],
                run_name=runs.get(j.run_id, (0, "", ""))[2],
            )
            for j in jobs
        ],
        month_label=format_date(now.date(), "LLLL yyyy", locale=i18n.current_locale.get()),
        learners_this_month=progress_service.learners_active_since(session, since),
        enrolments_this_month=courses_service.enrolments_since(session, since),
    )


# --- content admin -------------------------------------------------------------------------------


@dataclass(slots=True)
class ContentHome:
    drafts: list[courses_service.CourseHealth]
    draft_count: int
    problems: list[courses_service.CourseHealth]
    problem_count: int
    problem_labels: dict[str, str] = field(default_factory=dict)


def content_home(session: Session) -> ContentHome:
    """Draft courses and courses with problems (missing files, no JP, no minutes): one query."""
    health = courses_service.course_health(session)
    drafts = [c for c in health if c.status == "draft"]
    problems = [c for c in health if c.problems]
    # Published courses with problems first: learners meet those.
    problems.sort(key=lambda c: (c.status != "published", c.title))
    return ContentHome(
        drafts=drafts[:MAX_ROWS], draft_count=len(drafts), problems=problems[:MAX_ROWS],
        problem_count=len(problems), problem_labels=problem_labels(),
    )  # fmt: skip


# --- mentor and OPD head -------------------------------------------------------------------------


@dataclass(slots=True)
class MentorHome:
    active: list[AssignmentRead]
    active_count: int
    to_work_on: int


def mentor_home(session: Session, principal: Principal, to_work_on: int) -> MentorHome:
    """The mentor's active mentees (sessions to log) and how many assignments wait for work."""
    page = mentoring_service.list_assignments(
        session, principal, role="mentor", status="active", per_page=MAX_ROWS
    )
    return MentorHome(active=page.items, active_count=page.total, to_work_on=to_work_on)


@dataclass(slots=True)
class OpdHeadHome:
    opd_code: str | None
    opd_name: str | None
    below_target: int
    year: int


def opd_head_home(
    session: Session,
    user_id: int,
    settings: Settings,
    profile: accounts_service.ProfileView | None = None,
) -> OpdHeadHome:
    """The OPD head's own OPD and how many of its ASN are below the JP target this year."""
    year = clock.today().year
    own = profile or accounts_service.profiles(session, [user_id]).get(user_id)
    code = own.opd_code if own is not None else None
    name = own.opd_name if own is not None else None
    count = targets_service.below_target_count(session, year, settings, code) if code else 0
    return OpdHeadHome(opd_code=code, opd_name=name, below_target=count, year=year)


# --- the whole page ------------------------------------------------------------------------------


def home_context(
    session: Session,
    principal: Principal,
    settings: Settings,
    profile: accounts_service.ProfileView | None = None,
) -> dict[str, Any]:
    """Every section the user's roles call for (`profile`: the user's, if the page has it)."""
    roles = panel_roles(principal.roles)
    todo = mentoring_service.todo(session, principal)
    context: dict[str, Any] = {
        "roles": roles,
        "role_titles": role_titles(),
        "todo": todo,
        "deadline_days": DEADLINE_DAYS,
        "closing_days": CLOSING_DAYS,
    }
    if Role.LEARNER in roles:
        learner = learner_home(session, principal.user_id, settings, profile)
        learner.to_confirm = todo.to_confirm
        context["learning"] = learner
    elif todo.to_confirm:
        context["to_confirm"] = todo.to_confirm
    if Role.TRAINING_OFFICER in roles:
        context["officer"] = officer_home(session, todo.to_verify)
    if Role.CONTENT_ADMIN in roles:
        context["content"] = content_home(session)
    if Role.MENTOR in roles:
        context["mentor"] = mentor_home(session, principal, todo.to_work_on)
    if Role.OPD_HEAD in roles:
        context["opd_head"] = opd_head_home(session, principal.user_id, settings, profile)
    # Run staff (facilitator, grader: per run, not a role): "Angkatan yang Anda ampu".
    from app.courses import runs as course_runs

    context["teaching"] = course_runs.staffed_runs(
        session, principal.user_id, on=clock.today() - dt.timedelta(days=TEACHING_DAYS_AFTER)
    )
    return context


TEACHING_DAYS_AFTER = 30  # a run stays on its staff's home page this long after it ends
