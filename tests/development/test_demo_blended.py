"""`lms demo` adds a blended Diklat made through the domains' services: the course with its reading,
two live sessions and a rubric-graded assignment, the certification rules, the run with its
facilitator and the demo learner, and a pinned welcome thread; running it again adds nothing."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.accounts.models import User
from app.assignments.models import Assignment, Rubric, RubricCriterion, RubricLevel
from app.certificates.models import CertificationRules
from app.cli import cli
from app.core import clock
from app.core.config import get_settings
from app.core.db import Base, session_scope
from app.courses.models import Activity, Course, Enrolment, Run, RunStaff, Section
from app.dev.seed import DEMO_PASSWORD, load_demo
from app.dev.seed_blended import (
    ASSIGNMENT_TITLE,
    COURSE_CODE,
    COURSE_TITLE,
    FACILITATOR_NIP,
    LEARNER_NIP,
    RUBRIC_TITLE,
    load_demo_blended,
)
from app.forums.models import Forum, ForumPost, ForumThread
from app.live.models import LiveSession
from tests.factories import browser_login

pytestmark = pytest.mark.anyio
runner = CliRunner()


def _load() -> bool:
    settings = get_settings()
    with session_scope() as session:
        load_demo(session, settings)
    with session_scope() as session:
        return load_demo_blended(session, settings)


def _user_id(session: Session, nip: str) -> int:
    return int(session.scalar(select(User.id).where(User.nip == nip)) or 0)


def test_blended_demo_course_run_staff_sessions_assignment_rules_and_forum() -> None:
    assert _load() is True
    today = clock.today()
    with session_scope() as s:
        course = s.scalars(select(Course).where(Course.code == COURSE_CODE)).one()
        assert (course.title, course.category, course.learning_mode, course.jp, course.status) == (
            COURSE_TITLE, "teknis", "blended", 12, "published",
        )  # fmt: skip
        sections = s.scalars(
            select(Section).where(Section.course_id == course.id).order_by(Section.position)
        ).all()
        kinds = [
            [a.kind for a in s.scalars(
                select(Activity).where(Activity.section_id == sec.id).order_by(Activity.position)
            )]
            for sec in sections
        ]  # fmt: skip
        assert kinds == [["page", "live_session", "live_session"], ["assignment"]]

        # Two sessions: tomorrow 08:00-11:00 in the Aula, the day after 13:00-15:00 on Zoom.
        lives = s.scalars(
            select(LiveSession)
            .join(Activity, Activity.id == LiveSession.activity_id)
            .where(Activity.course_id == course.id)
            .order_by(LiveSession.starts_at)
        ).all()
        local = [(clock.to_local(x.starts_at), clock.to_local(x.ends_at)) for x in lives]
        tomorrow, after = today + dt.timedelta(days=1), today + dt.timedelta(days=2)
        assert [(a.date(), a.hour, b.hour) for a, b in local if a and b] == [
            (tomorrow, 8, 11), (after, 13, 15),
        ]  # fmt: skip
        assert (lives[0].platform, lives[0].location, lives[0].join_url) == (
            "classroom", "Aula BKPSDM lt. 2", None,
        )  # fmt: skip
        assert lives[1].platform == "zoom"
        assert (lives[1].join_url or "").startswith("https://zoom.us/j/")

        # The assignment and its reusable rubric: 3 criteria x 4 levels.
        assignment, activity = s.execute(
            select(Assignment, Activity)
            .join(Activity, Activity.id == Assignment.activity_id)
            .where(Activity.course_id == course.id)
        ).one()
        assert activity.title == ASSIGNMENT_TITLE
        due, cutoff = clock.to_local(assignment.due_at), clock.to_local(assignment.cutoff_at)
        assert due is not None and cutoff is not None
        assert (due.date(), cutoff.date()) == (
            today + dt.timedelta(days=7), today + dt.timedelta(days=10),
        )  # fmt: skip
        assert (assignment.late_policy, assignment.max_files, assignment.max_file_mb,
                assignment.online_text) == ("accept", 2, 10, True)  # fmt: skip
        assert {t.strip() for t in (assignment.allowed_types or "").split(",")} == {"pdf", "docx"}
        rubric = s.get(Rubric, assignment.rubric_id)
        assert rubric is not None and rubric.title == RUBRIC_TITLE
        criteria = s.scalars(
            select(RubricCriterion.id).where(RubricCriterion.rubric_id == rubric.id)
        ).all()
        assert len(criteria) == 3
        levels = s.scalars(select(RubricLevel).where(RubricLevel.criterion_id.in_(criteria))).all()
        assert len(levels) == 12 and all(lv.description for lv in levels)
        assert assignment.max_points == 100

        # Certification rules: attendance >= 80 %, weighted (assignments 60, attendance 40).
        rules = s.get(CertificationRules, course.id)
        assert rules is not None
        assert (rules.min_attendance_percent, rules.score_formula, rules.auto_issue) == (
            80, "weighted", True,
        )  # fmt: skip
        assert json.loads(rules.weights_json or "{}") == {"assignments": 60, "attendance": 40}

        # The run, its facilitator (widyaiswara) and the demo learner.
        run = s.scalars(select(Run).where(Run.course_id == course.id)).one()
        assert (run.name, run.delivery_mode, run.capacity, run.waitlist) == (
            f"Angkatan I {today.year}", "blended", 30, True,
        )  # fmt: skip
        assert run.starts_on <= tomorrow and run.ends_on >= today + dt.timedelta(days=10)
        staff = s.scalars(select(RunStaff).where(RunStaff.run_id == run.id)).all()
        facilitator = _user_id(s, FACILITATOR_NIP)
        assert [(m.user_id, m.role, m.widyaiswara) for m in staff] == [
            (facilitator, "facilitator", True)
        ]
        enrolled = s.execute(
            select(Enrolment.user_id, Enrolment.status).where(Enrolment.run_id == run.id)
        ).all()
        assert enrolled == [(_user_id(s, LEARNER_NIP), "active")]

        # The run's forum: one pinned welcome thread by the facilitator.
        forum = s.scalars(select(Forum).where(Forum.run_id == run.id)).one()
        thread = s.scalars(select(ForumThread).where(ForumThread.forum_id == forum.id)).one()
        assert (thread.author_id, thread.pinned) == (facilitator, True)
        assert "Selamat datang" in thread.title
        opening = s.scalars(select(ForumPost).where(ForumPost.thread_id == thread.id)).one()
        assert opening.opening and "80 %" in opening.body


async def test_demo_learner_opens_the_course_sessions_assignment_and_forum(
    client: httpx.AsyncClient,
) -> None:
    _load()
    with session_scope() as s:
        course_id = s.scalar(select(Course.id).where(Course.code == COURSE_CODE))
        run_id = s.scalar(select(Run.id).where(Run.course_id == course_id))
        activities = dict(
            s.execute(
                select(Activity.kind, Activity.id)
                .where(Activity.course_id == course_id)
                .order_by(Activity.id.desc())
            ).all()
        )  # the first of each kind
    await browser_login(client, LEARNER_NIP, DEMO_PASSWORD)
    course = await client.get(f"/courses/{course_id}")
    assert course.status_code == 200, course.text
    assert COURSE_TITLE in course.text and ASSIGNMENT_TITLE in course.text
    page = await client.get(f"/activities/{activities['assignment']}")
    assert page.status_code == 200, page.text
    assert RUBRIC_TITLE in page.text or "Identifikasi masalah pelayanan" in page.text
    session_page = await client.get(f"/activities/{activities['live_session']}")
    assert session_page.status_code == 200, session_page.text
    assert "Aula BKPSDM lt. 2" in session_page.text
    forum = await client.get(f"/runs/{run_id}/forum")
    assert forum.status_code == 200, forum.text
    assert "Selamat datang" in forum.text


async def test_the_facilitator_reaches_the_runs_teaching_pages(client: httpx.AsyncClient) -> None:
    """The widyaiswara clicks through his run: the teach hub, the attendance sheet, the grading
    queue, the gradebook and the forum with his pinned thread."""
    _load()
    with session_scope() as s:
        course_id = s.scalar(select(Course.id).where(Course.code == COURSE_CODE))
        run_id = s.scalar(select(Run.id).where(Run.course_id == course_id))
        activities = dict(
            s.execute(
                select(Activity.kind, Activity.id)
                .where(Activity.course_id == course_id)
                .order_by(Activity.id.desc())
            ).all()
        )
    await browser_login(client, FACILITATOR_NIP, DEMO_PASSWORD)
    for path in (
        f"/runs/{run_id}/teach",
        f"/sessions/{activities['live_session']}/attendance?run_id={run_id}",
        f"/assignments/{activities['assignment']}/grading?run_id={run_id}",
        f"/runs/{run_id}/gradebook",
        f"/runs/{run_id}/forum",
    ):
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text[:2000])


def _row_counts() -> dict[str, int]:
    """Rows per table; cache_invalidation is bookkeeping (the content import's second pass over
    the certification rules announces the table to the read caches), not demo data."""
    with session_scope() as s:
        return {
            table.name: int(s.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
            if table.name != "cache_invalidation"
        }


def test_lms_demo_twice_adds_nothing_the_second_time() -> None:
    first = runner.invoke(cli, ["demo"])
    assert first.exit_code == 0, first.output
    assert "demo blended course" in first.output
    before = _row_counts()
    assert before["course"] == 3  # the two content/ courses and the blended one
    again = runner.invoke(cli, ["demo"])
    assert again.exit_code == 0, again.output
    assert "demo blended course" not in again.output
    after = _row_counts()
    assert {k: (before[k], v) for k, v in after.items() if before[k] != v} == {}
    with session_scope() as session:
        assert load_demo_blended(session, get_settings()) is False
