"""Scheduled notification jobs: daily run reminders (starting tomorrow, closing soon), the monthly
below-pace reminders and OPD-head digests, and the weekly verification digest for officers.

Each job reads in bulk (a fixed number of queries however many learners), makes its messages with
`notify_many` in batches committed one by one, and is idempotent: every key names the event, the
recipient and the period, so a second run (or a second worker) makes nothing new.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from sqlalchemy.orm import Session

from app.accounts import service as accounts_service
from app.accounts.constants import Role
from app.auth.service import Principal
from app.certificates import service as certificates_service
from app.competency import service as competency_service
from app.core import clock
from app.core.config import Settings
from app.core.db import session_scope
from app.core.i18n import gettext_ as _
from app.courses import service as courses_service
from app.external_training import service as external_training_service
from app.jobs import service as jobs
from app.mentoring import service as mentoring_service
from app.notifications import service as notifications
from app.notifications.constants import NewNotification
from app.targets import service as targets_service

BATCH = 2_000  # messages per transaction: a crash loses little, locks stay short
MAX_SUGGESTED_COURSES = 3
MAX_DIGEST_NAMES = 10
_CATALOG_READER = Principal(user_id=0, name="", roles=frozenset({Role.LEARNER.value}), via="job")


# --- rules and periods ----------------------------------------------------------------------------


def expected_jp(target: float, day: dt.date) -> float:
    """Pace toward the annual JP target (PP 11/2017 jo. PP 17/2020, settings.annual_jp_target):
    the target times the share of the year elapsed before `day` (1 January: 0; 1 December in a
    365-day year: 334/365, i.e. 18.3 of 20 JP)."""
    start = dt.date(day.year, 1, 1)
    days_in_year = (dt.date(day.year + 1, 1, 1) - start).days
    return round(target * (day - start).days / days_in_year, 2)


def below_pace(jp: float, expected: float) -> bool:
    """An ASN is below pace when their JP of the year is under the expected JP of the day."""
    return jp < expected


def month_key(day: dt.date) -> str:
    return f"{day:%Y-%m}"


def week_key(day: dt.date) -> str:
    """ISO week: "2026-W49"."""
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def previous_month(day: dt.date) -> dt.date:
    """The first day of the month before `day`'s (the month a digest reports on)."""
    return (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _count(n: int) -> str:
    """9812 -> "9.812" (the officers' page is Indonesian first)."""
    return str(format_decimal(n, locale="id"))


def _month_label(day: dt.date) -> str:
    return str(format_date(day, format="LLLL yyyy", locale="id"))


def _day_label(day: dt.date) -> str:
    return str(format_date(day, format="long", locale="id"))


def make(items: Sequence[NewNotification], settings: Settings) -> int:
    """Make the messages in batches, each batch in its own committed transaction; returns how
    many were new (keys seen before make nothing)."""
    made = 0
    for start in range(0, len(items), BATCH):
        with session_scope() as session:
            made += notifications.notify_many(session, items[start : start + BATCH], settings)
    return made


# --- daily: runs starting tomorrow, runs closing soon ---------------------------------------------


def run_reminder_items(settings: Settings, day: dt.date) -> list[NewNotification]:
    """The learners of runs starting tomorrow ("run_starting"), and those of runs ending in
    settings.run_closing_reminder_days days who have not completed, with what they still miss
    ("run_closing"). A few queries per run, none per learner."""
    closing_on = day + dt.timedelta(days=settings.run_closing_reminder_days)
    items: list[NewNotification] = []
    with session_scope() as session:
        starting = courses_service.runs_dated(session, starts_on=day + dt.timedelta(days=1))
        learners = courses_service.active_participants(session, [r.id for r, _c in starting])
        for run, course in starting:
            context = courses_service.run_context(run, course)
            items += [
                NewNotification(
                    event="run_starting",
                    user_id=uid,
                    context=context,
                    key=f"run_starting:{run.id}:{uid}:{run.starts_on}",
                    url=f"/courses/{course.id}",
                )
                for uid in learners[run.id]
            ]
        for run, course in courses_service.runs_dated(session, ends_on=closing_on):
            context = {
                **courses_service.run_context(run, course),
                "days_left": (run.ends_on - day).days,
            }
            missing = certificates_service.missing_for_run(session, run.id, settings)
            items += [
                NewNotification(
                    event="run_closing",
                    user_id=uid,
                    context={**context, "missing": reasons},
                    key=f"run_closing:{run.id}:{uid}:{run.ends_on}",
                    url=f"/courses/{course.id}",
                )
                for uid, reasons in missing.items()
            ]
    return items


@jobs.scheduled(
    "notifications.run_reminders",
    label=lambda: _("Pengingat angkatan dimulai dan ditutup"),
    cadence="daily",
)
def run_reminders(settings: Settings, now: dt.datetime) -> str:
    day = clock.local_date(now)
    items = run_reminder_items(settings, day)
    made = make(items, settings)
    starting = sum(1 for i in items if i.event == "run_starting")
    return (
        f"{_count(made)} pengingat angkatan dibuat untuk {_day_label(day)} "
        f"({_count(starting)} dimulai besok, {_count(len(items) - starting)} segera ditutup)"
    )


# --- monthly: ASN below their pace toward the annual JP target ------------------------------------


def _open_courses(session: Session) -> list[dict[str, Any]]:
    """Published courses taking enrolments now, for ASN without a matching gap course."""
    _total, found = courses_service.catalog(
        session, _CATALOG_READER, open_only=True, limit=MAX_SUGGESTED_COURSES
    )
    return [
        {"title": c.title, "code": c.code, "jp": c.jp, "competency": None, "id": c.id}
        for c in found
    ]


def below_pace_items(settings: Settings, day: dt.date) -> tuple[list[NewNotification], int]:
    """A "below_pace" message for every active ASN whose JP this year is under the pace of
    `day`, with up to three courses that fill their competency gaps (else open courses); and how
    many of them had this month's message already. A fixed number of queries for any count."""
    month = month_key(day)
    target = targets_service.jp_target(settings)
    expected = expected_jp(target, day)
    with session_scope() as session:
        jp = targets_service.asn_jp(session, day.year, settings)
        below = {uid: value for uid, value in jp.items() if below_pace(value, expected)}
        keys = {uid: f"below_pace:{uid}:{month}" for uid in below}
        seen = notifications.keys_seen(session, list(keys.values()))
        todo = [uid for uid in below if keys[uid] not in seen]
        suggested = competency_service.course_suggestions(
            session, todo, limit=MAX_SUGGESTED_COURSES
        )
        names = competency_service.competency_names(session) if suggested else {}
        fallback = _open_courses(session) if len(suggested) < len(todo) else []
    items = []
    for uid in todo:
        courses = [
            {
                "title": c.title,
                "code": c.code,
                "jp": c.jp,
                "competency": names.get(c.competency, c.competency),
                "id": c.id,
            }
            for c in suggested.get(uid, ())
        ] or fallback
        items.append(
            NewNotification(
                event="below_pace",
                user_id=uid,
                key=keys[uid],
                url="/courses",
                context={
                    "year": day.year,
                    "month": month,
                    "jp": below[uid],
                    "target": target,
                    "expected": expected,
                    "courses": courses,
                },
            )
        )
    return items, len(seen)


@jobs.scheduled(
    "notifications.below_pace",
    label=lambda: _("Pengingat bulanan JP di bawah target"),
    cadence="monthly",
)
def below_pace_reminders(settings: Settings, now: dt.datetime) -> str:
    day = clock.local_date(now)
    items, earlier = below_pace_items(settings, day)
    made = make(items, settings)
    text = f"{_count(made)} pengingat dibuat untuk {_month_label(day)}"
    return text + (f" ({_count(earlier)} sudah dibuat sebelumnya)" if earlier else "")


# --- monthly: the OPD head's digest ---------------------------------------------------------------


def opd_digest_items(settings: Settings, day: dt.date) -> list[NewNotification]:
    """For every active user with role opd_head: their (top-level) OPD's participation and JP
    compliance this year up to last month, and up to ten names below target with the total.
    One report for all OPDs, then two queries per OPD that has a head."""
    month_day = previous_month(day)
    month, year = month_key(month_day), month_day.year
    items: list[NewNotification] = []
    with session_scope() as session:
        heads = [
            (uid, code)
            for uid, code in accounts_service.users_with_role(session, Role.OPD_HEAD)
            if code
        ]
        if not heads:
            return []
        roots = targets_service.top_level_opds(session)
        report = targets_service.report(session, year, settings)
        rows = {r.opd_code: r for r in report.by_opd if r.opd_code}
        below: dict[str, Any] = {}
        for uid, code in heads:
            opd = rows.get(roots.get(code, code))
            if opd is None or opd.opd_code is None:
                continue  # an OPD without active ASN: nothing to report
            if opd.opd_code not in below:
                below[opd.opd_code] = targets_service.below_target(
                    session, year, settings, opd_code=opd.opd_code, per_page=MAX_DIGEST_NAMES
                )
            names = below[opd.opd_code]
            items.append(
                NewNotification(
                    event="opd_digest",
                    user_id=uid,
                    key=f"opd_digest:{uid}:{month}",
                    url=f"/studio/targets/below?year={year}&opd={opd.opd_code}",
                    context={
                        "opd_name": opd.opd_name or opd.opd_code,
                        "month": month,
                        "year": year,
                        "active_asn": opd.active_asn,
                        "participated": opd.participated,
                        "participation_percent": opd.participation_percent,
                        "jp_compliant": opd.jp_compliant,
                        "jp_compliance_percent": opd.jp_compliance_percent,
                        "below": [{"name": b.name, "nip": b.nip, "jp": b.jp} for b in names.items],
                        "below_total": names.total,
                    },
                )
            )
    return items


@jobs.scheduled(
    "notifications.opd_digest",
    label=lambda: _("Ringkasan bulanan untuk kepala OPD"),
    cadence="monthly",
)
def opd_digests(settings: Settings, now: dt.datetime) -> str:
    day = clock.local_date(now)
    made = make(opd_digest_items(settings, day), settings)
    return f"{_count(made)} ringkasan OPD dibuat untuk {_month_label(previous_month(day))}"


# --- weekly: what waits for the training officers -------------------------------------------------


def verification_digest_items(day: dt.date) -> tuple[list[NewNotification], int, int]:
    """A "verification_digest" for every training officer with the counts of pending external
    trainings and signed-off mentoring assignments; none when both are 0."""
    week = week_key(day)
    with session_scope() as session:
        external = external_training_service.pending_count(session)
        mentoring = mentoring_service.awaiting_verification(session)
        if not external and not mentoring:
            return [], 0, 0
        officers = accounts_service.users_with_role(session, Role.TRAINING_OFFICER)
    url = "/studio/external-trainings" if external else "/studio/mentoring"
    items = [
        NewNotification(
            event="verification_digest",
            user_id=uid,
            key=f"verification_digest:{uid}:{week}",
            url=url,
            context={"external_trainings": external, "mentoring": mentoring, "week": week},
        )
        for uid, _code in officers
    ]
    return items, external, mentoring


@jobs.scheduled(
    "notifications.verification_digest",
    label=lambda: _("Ringkasan mingguan verifikasi"),
    cadence="weekly",
)
def verification_digest(settings: Settings, now: dt.datetime) -> str:
    day = clock.local_date(now)
    items, external, mentoring = verification_digest_items(day)
    if not external and not mentoring:
        return "Tidak ada pengajuan yang menunggu verifikasi; tidak ada ringkasan dikirim"
    made = make(items, settings)
    return (
        f"{_count(made)} ringkasan dibuat untuk {week_key(day)} ({_count(external)} pelatihan "
        f"eksternal, {_count(mentoring)} mentoring menunggu verifikasi)"
    )
