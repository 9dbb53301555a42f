"""The course player: the outline with each activity's state, where the learner is ("3 dari 14"),
previous/next, what counts as done for an activity, and where "Lanjutkan" leads.

Built from one set of queries per page (the course with its content and runs, the enrolment, its
progress rows, and the quizzes' pass scores when the course has quizzes), whatever the course size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import cast

from babel.numbers import format_decimal
from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.core.config import Settings
from app.core.db import utcnow
from app.core.errors import Forbidden
from app.core.i18n import current_locale
from app.core.i18n import gettext_ as _
from app.courses import service
from app.courses.constants import ActivityKind, CompletionRule
from app.courses.models import Activity
from app.courses.schemas import ActivityRead, CourseRead
from app.progress import service as progress_service

NOT_STARTED, IN_PROGRESS, COMPLETED = (
    progress_service.NOT_STARTED,
    progress_service.IN_PROGRESS,
    progress_service.COMPLETED,
)


@dataclass(frozen=True, slots=True)
class PlayerItem:
    """One activity as the outline shows it to this viewer."""

    activity: ActivityRead
    number: int  # 1-based position among the activities this viewer sees
    status: str  # not_started, in_progress, completed
    locked_by: str | None  # title of the required activity to finish first (learners only)
    last_seen_at: dt.datetime | None
    unavailable: str | None = None  # why a learner cannot open it now (availability window)

    @property
    def id(self) -> int:
        return self.activity.id

    @property
    def title(self) -> str:
        return self.activity.title

    @property
    def locked(self) -> bool:
        """Not to be opened by this learner now: a lock or outside its availability window."""
        return self.locked_by is not None or self.unavailable is not None

    @property
    def href(self) -> str:
        return f"/activities/{self.activity.id}"

    @property
    def state(self) -> str:
        """What the outline says: closed or locked first, then the progress status."""
        if self.unavailable is not None:
            return "unavailable"
        if self.locked_by is not None:
            return "locked"
        return self.status


@dataclass(slots=True)
class PlayerSection:
    id: int
    title: str
    items: list[PlayerItem]

    @property
    def done(self) -> int:
        return sum(1 for item in self.items if item.status == COMPLETED)


@dataclass(slots=True)
class Player:
    course: CourseRead
    enrolment_id: int | None
    run_id: int | None
    sections: list[PlayerSection]
    items: list[PlayerItem]
    percent: int  # required activities complete, as on the course page
    pass_scores: dict[int, float] = field(default_factory=dict)  # quiz activity id -> pass score
    current: PlayerItem | None = None

    @property
    def enrolled(self) -> bool:
        return self.enrolment_id is not None

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def done(self) -> int:
        return sum(1 for item in self.items if item.status == COMPLETED)

    @property
    def prev(self) -> PlayerItem | None:
        if self.current is None or self.current.number <= 1:
            return None
        return self.items[self.current.number - 2]

    @property
    def next(self) -> PlayerItem | None:
        if self.current is None or self.current.number >= len(self.items):
            return None
        return self.items[self.current.number]

    @property
    def resume(self) -> PlayerItem | None:
        """Where "Lanjutkan" leads (None when nothing is left to do)."""
        return resume_item(self.items)

    @property
    def current_section(self) -> str:
        """The title of the section the current activity is in."""
        for section in self.sections:
            if self.current is not None and self.current in section.items:
                return section.title
        return ""

    def item(self, activity_id: int) -> PlayerItem | None:
        return next((i for i in self.items if i.id == activity_id), None)


def resume_item(items: list[PlayerItem]) -> PlayerItem | None:
    """The "Lanjutkan" target: the activity opened last if still unfinished (a video half
    watched), else the first unfinished, unlocked activity, required ones first; None when all
    are done."""
    open_items = [i for i in items if i.status != COMPLETED and not i.locked]
    started = [i for i in open_items if i.status == IN_PROGRESS and i.last_seen_at is not None]
    if started:
        return max(started, key=lambda i: i.last_seen_at or dt.datetime.min)
    for candidates in ([i for i in open_items if i.activity.required], open_items):
        if candidates:
            return candidates[0]
    return None


def build(
    session: Session, course_id: int, principal: Principal, *, current_id: int | None = None
) -> Player:
    """The player for a course as this viewer sees it: learners their visible activities with
    their states and locks; staff every activity (hidden ones marked), never locked."""
    detail = service.course_detail(session, course_id, principal)
    enrolment = service.learner_enrolment(session, principal, course_id)
    rows = progress_service.statuses(session, enrolment.id) if enrolment else {}
    ordered = [
        (a, rows[a.id].status if a.id in rows else NOT_STARTED)
        for s in detail.sections
        for a in s.activities
    ]
    # Hidden activities (shown to staff only) never hold a lock, as in service.ensure_unlocked.
    locks = service.lock_states([(a, st) for a, st in ordered if not a.hidden]) if enrolment else {}
    has_quiz = any(a.kind == ActivityKind.QUIZ for a, _status in ordered)
    pass_scores: dict[int, float] = {}
    if has_quiz:
        from app.quizzes import service as quizzes_service  # quizzes build on courses

        pass_scores = quizzes_service.pass_scores(session, course_id)
    now = utcnow()
    sections: list[PlayerSection] = []
    items: list[PlayerItem] = []
    for s in detail.sections:
        section_items = []
        for a in s.activities:
            row = rows.get(a.id)
            item = PlayerItem(
                activity=a,
                number=len(items) + 1,
                status=row.status if row else NOT_STARTED,
                locked_by=locks.get(a.id),
                last_seen_at=row.last_seen_at if row else None,
                unavailable=_unavailable(a, now) if enrolment else None,
            )
            items.append(item)
            section_items.append(item)
        sections.append(PlayerSection(s.id, s.title, section_items))
    required = [i for i in items if i.activity.required and not i.activity.hidden]
    done = sum(1 for i in required if i.status == COMPLETED)
    player = Player(
        course=detail,
        enrolment_id=enrolment.id if enrolment else None,
        run_id=enrolment.run_id if enrolment else None,
        sections=sections,
        items=items,
        percent=int(100 * done / len(required)) if required else 0,
        pass_scores=pass_scores,
    )
    if current_id is not None:
        player.current = player.item(current_id)
    return player


def _unavailable(activity: ActivityRead, now: dt.datetime) -> str | None:
    """The courses service's availability rule, on the activity's plain data (it reads only
    available_from and available_until, which ActivityRead carries as the model does)."""
    return service.availability_problem(cast(Activity, activity), now)


def ensure_open(player: Player) -> None:
    """A learner cannot open an activity whose lock still holds (staff previews never lock)."""
    current = player.current
    if current is not None and current.locked_by is not None:
        raise Forbidden(
            _('Selesaikan dulu aktivitas "%(t)s" untuk membuka yang ini.')
            % {"t": current.locked_by},
            code="activity_locked",
        )


# --- what counts as done, in words ---------------------------------------------------------------


def _number(value: float) -> str:
    return format_decimal(round(value, 2), locale=current_locale.get())


def duration_words(seconds: int) -> str:
    """90 -> "1 menit 30 detik", 120 -> "2 menit"."""
    minutes, rest = divmod(max(0, seconds), 60)
    parts = []
    if minutes:
        parts.append(_("%(n)s menit") % {"n": minutes})
    if rest or not minutes:
        parts.append(_("%(n)s detik") % {"n": rest})
    return " ".join(parts)


def done_rule(
    kind: str,
    completion_rule: str,
    *,
    min_view_seconds: int = 0,
    pass_score: float | None = None,
    video_share: float = 0.9,
) -> str:
    """The rule for done as the learner reads it, from the same data progress and quizzes judge
    by: a video's watched share (settings.video_completion_share), a page's or PDF's minimum view
    time (Activity.min_view_seconds), a quiz's pass score (Quiz.pass_score), SCORM's status."""
    if kind == ActivityKind.VIDEO:
        return _("tonton minimal %(p)s%% video (bagian yang dilompati tidak dihitung)") % {
            "p": _number(video_share * 100)
        }
    if kind == ActivityKind.QUIZ:
        if completion_rule == CompletionRule.QUIZ_ATTEMPTED:
            return _("kumpulkan satu percobaan kuis")
        return _("lulus kuis dengan nilai ≥ %(n)s") % {"n": _number(pass_score or 0)}
    if kind == ActivityKind.SCORM:
        if completion_rule == CompletionRule.SCORM_PASSED:
            return _("lulus modul interaktif (status lulus)")
        return _("selesaikan modul interaktif sampai berstatus selesai atau lulus")
    if kind == ActivityKind.PAGE:
        if min_view_seconds > 0:
            return _("baca minimal %(t)s") % {"t": duration_words(min_view_seconds)}
        return _("buka bacaan ini")
    if kind == ActivityKind.DOCUMENT:
        if min_view_seconds > 0:
            return _("baca PDF minimal %(t)s") % {"t": duration_words(min_view_seconds)}
        return _("buka atau unduh PDF ini")
    if kind == ActivityKind.FILE:
        return _("unduh berkas")
    if kind == ActivityKind.LINK:
        return _("buka tautan")
    return _("buka aktivitas ini")


def rule_for(player: Player, item: PlayerItem, settings: Settings, min_view_seconds: int) -> str:
    """`done_rule` for an item of the player (the page passes the activity's minimum view time)."""
    return done_rule(
        item.activity.kind,
        item.activity.completion_rule,
        min_view_seconds=min_view_seconds,
        pass_score=player.pass_scores.get(item.id),
        video_share=settings.video_completion_share,
    )


def state_labels() -> dict[str, str]:
    """Short words for the outline (belum, sedang, selesai, terkunci)."""
    return {
        NOT_STARTED: _("Belum dimulai"),
        IN_PROGRESS: _("Sedang berjalan"),
        COMPLETED: _("Selesai"),
        "locked": _("Terkunci"),
        "unavailable": _("Belum dapat dibuka"),
    }


def breadcrumbs(player: Player, item: PlayerItem | None = None) -> list[tuple[str, str]]:
    """Beranda › Kursus saya › <course> › <activity> (the last one is the page itself)."""
    crumbs = [(_("Beranda"), "/")]
    crumbs.append(
        (_("Kursus saya"), "/my/courses") if player.enrolled else (_("Katalog"), "/courses")
    )
    crumbs.append((player.course.title, f"/courses/{player.course.id}"))
    if item is not None:
        crumbs.append((item.title, item.href))
    return crumbs
