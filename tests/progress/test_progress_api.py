"""Progress through the API: time on task from heartbeats, video watched share (seeking and bursts
never complete a video), minimum view time of pages, completion events, and the cost of a beat."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select

from app.core import events
from app.core.db import get_engine, session_scope
from app.progress import service as progress_service
from app.progress.models import ActivityProgress
from tests.factories import api_token, enrol, make_activity, make_course, make_run, make_user


class Clock:
    """The progress service's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(progress_service, "utcnow", c)
    return c


@pytest.fixture
def completions() -> Iterator[list[int]]:
    """Enrolment ids announced through events.enrolment_changed during the test."""
    seen: list[int] = []

    def listener(_session: Any, enrolment_id: int) -> None:
        seen.append(enrolment_id)

    events.on_enrolment_changed(listener)
    yield seen
    events._enrolment_listeners.remove(listener)


async def _learner_in(
    course: dict[str, int], client: httpx.AsyncClient
) -> tuple[int, dict[str, str]]:
    run_id = make_run(course["course"])
    learner = make_user()
    enrolment_id = enrol(run_id, learner.id)
    return enrolment_id, await api_token(client, learner.email or "")


def _row(enrolment_id: int, activity_id: int) -> ActivityProgress:
    with session_scope() as session:
        row = session.scalar(
            select(ActivityProgress).where(
                ActivityProgress.enrolment_id == enrolment_id,
                ActivityProgress.activity_id == activity_id,
            )
        )
        assert row is not None
        session.expunge(row)
        return row


async def _beat(
    client: httpx.AsyncClient, activity_id: int, headers: dict[str, str], **body: Any
) -> dict[str, Any]:
    r = await client.post(f"/api/v1/activities/{activity_id}/progress", json=body, headers=headers)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def test_seeking_a_video_to_its_end_does_not_complete_it(
    client: httpx.AsyncClient, clock: Clock, completions: list[int]
) -> None:
    course = make_course(pages=0, published=False)
    video = make_activity(course["section"], duration_minutes=10)
    enrolment_id, h = await _learner_in(course, client)
    await _beat(client, video, h, position_seconds=0, duration_seconds=600)
    clock.tick(30)
    await _beat(client, video, h, position_seconds=30, duration_seconds=600)
    clock.tick(2)
    end = await _beat(client, video, h, position_seconds=600, duration_seconds=600)
    ended = await _beat(client, video, h, event="ended", position_seconds=600)
    assert end["status"] == ended["status"] == "in_progress"
    assert ended["percent"] == 5  # the 30 s actually watched of 600
    row = _row(enrolment_id, video)
    assert row.watched_seconds == 30 and row.position_seconds == 600
    assert completions == []


async def test_a_burst_of_heartbeats_claims_no_more_than_wall_time(
    client: httpx.AsyncClient, clock: Clock, completions: list[int]
) -> None:
    """Forty beats in one second, each 4 s further on (within the 5 s jitter slack): the server
    credits at most the wall-clock time that passed plus the slack, never 160 s of video."""
    course = make_course(pages=0, published=False)
    video = make_activity(course["section"], duration_minutes=2)
    enrolment_id, h = await _learner_in(course, client)
    await _beat(client, video, h, position_seconds=0, duration_seconds=120)
    for i in range(1, 41):
        clock.tick(0.025)
        last = await _beat(
            client, video, h, position_seconds=4.0 * i, duration_seconds=120, active_seconds=30
        )
    row = _row(enrolment_id, video)
    assert row.time_seconds == pytest.approx(1.0)
    assert row.watched_seconds <= 1.0 + 5.0
    assert last["status"] == "in_progress" and last["percent"] <= 5
    assert completions == []


async def test_watching_a_video_through_completes_it_once(
    client: httpx.AsyncClient, clock: Clock, completions: list[int]
) -> None:
    course = make_course(pages=0, published=False)
    video = make_activity(course["section"], duration_minutes=5)
    enrolment_id, h = await _learner_in(course, client)
    await _beat(client, video, h, position_seconds=0, duration_seconds=300)
    results = []
    for position in range(30, 301, 30):
        clock.tick(30.4)  # the network adds a little; the learner never outpaces the clock
        results.append(await _beat(client, video, h, position_seconds=position))
    assert [r["percent"] for r in results[:3]] == [10, 20, 30]
    assert {k: v for k, v in results[8].items() if k != "certificate"} == {
        "status": "completed", "percent": 100, "position_seconds": 270.0}  # fmt: skip
    assert results[-1]["status"] == "completed"
    row = _row(enrolment_id, video)
    assert row.completed_at is not None and row.watched_seconds == 300
    assert row.time_seconds == pytest.approx(304)
    assert completions == [enrolment_id]  # announced once, when it newly completed


async def test_rewatching_merges_intervals_and_a_paused_player_earns_nothing(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    course = make_course(pages=0, published=False)
    video = make_activity(course["section"], duration_minutes=10)
    enrolment_id, h = await _learner_in(course, client)
    await _beat(client, video, h, position_seconds=0, duration_seconds=600)
    clock.tick(30)
    await _beat(client, video, h, position_seconds=30, active_seconds=30)
    clock.tick(1)
    await _beat(client, video, h, position_seconds=10, active_seconds=1)  # seeked back
    clock.tick(30)
    await _beat(client, video, h, position_seconds=40, active_seconds=30)
    clock.tick(200)  # paused for 200 s: the player reports no playing time in between
    await _beat(client, video, h, position_seconds=40, active_seconds=0)
    row = _row(enrolment_id, video)
    assert row.watched_intervals == "[[0.0, 40.0]]" and row.watched_seconds == 40
    assert row.time_seconds == pytest.approx(61)


async def test_time_on_task_ignores_idle_gaps(
    client: httpx.AsyncClient, clock: Clock, settings: Any
) -> None:
    course = make_course(pages=1)
    enrolment_id, h = await _learner_in(course, client)
    page = course["page1"]
    await _beat(client, page, h)
    clock.tick(30)
    await _beat(client, page, h)
    clock.tick(settings.idle_gap_seconds + 1)  # away from the desk: nothing counts
    await _beat(client, page, h)
    clock.tick(settings.idle_gap_seconds)  # exactly the gap still counts
    await _beat(client, page, h)
    assert _row(enrolment_id, page).time_seconds == pytest.approx(30 + settings.idle_gap_seconds)


async def test_page_with_minimum_view_time_completes_only_after_it(
    client: httpx.AsyncClient, clock: Clock, completions: list[int]
) -> None:
    course = make_course(pages=0, published=False)
    page = make_activity(course["section"], kind="page", min_view_seconds=90)
    document = make_activity(course["section"], kind="document", min_view_seconds=0)
    enrolment_id, h = await _learner_in(course, client)
    opened = await _beat(client, page, h, event="viewed")
    assert opened == {"status": "in_progress", "percent": 0, "position_seconds": 0.0,
                      "certificate": None}  # fmt: skip
    clock.tick(30)
    assert (await _beat(client, page, h))["percent"] == 33
    clock.tick(30)
    await _beat(client, page, h)
    clock.tick(600)  # the tab was left open in the background: an idle gap
    assert (await _beat(client, page, h, event="viewed"))["status"] == "in_progress"
    clock.tick(30)
    done = await _beat(client, page, h)
    assert done == {"status": "completed", "percent": 100, "position_seconds": 0.0,
                    "certificate": None}  # fmt: skip  # other activities remain
    assert completions == [enrolment_id]
    # Without a minimum, opening the document is enough.
    assert (await _beat(client, document, h, event="viewed"))["status"] == "completed"


async def test_staff_preview_is_not_recorded_and_outsiders_are_refused(
    client: httpx.AsyncClient,
) -> None:
    course = make_course(pages=1)
    await _learner_in(course, client)
    staff = make_user(roles=("content_admin",))
    staff_h = await api_token(client, staff.email or "")
    preview = await _beat(client, course["page1"], staff_h, event="viewed")
    assert preview == {"status": "not_started", "percent": 0, "position_seconds": 0.0,
                       "certificate": None}  # fmt: skip
    outsider = make_user()
    outsider_h = await api_token(client, outsider.email or "")
    r = await client.post(
        f"/api/v1/activities/{course['page1']}/progress", json={}, headers=outsider_h
    )
    assert r.status_code == 403
    bad = await client.post(
        f"/api/v1/activities/{course['page1']}/progress",
        json={"position_seconds": -1},
        headers=staff_h,
    )
    assert bad.status_code == 422


class Statements:
    """SQL statements sent to the database while counting."""

    def __init__(self) -> None:
        self.sql: list[str] = []
        self.on = False

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.on:
            self.sql.append(statement.split(None, 1)[0].upper())


@pytest.fixture
def statements() -> Iterator[Statements]:
    counter = Statements()
    engine = get_engine()
    event.listen(engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine, "before_cursor_execute", counter)


async def test_a_heartbeat_is_one_small_write(
    client: httpx.AsyncClient, clock: Clock, statements: Statements
) -> None:
    course = make_course(pages=0, published=False)
    video = make_activity(course["section"], duration_minutes=10)
    _enrolment_id, h = await _learner_in(course, client)
    statements.on = True
    await _beat(client, video, h, position_seconds=0, duration_seconds=600)
    statements.on = False
    first = [s for s in statements.sql if s in ("INSERT", "UPDATE", "DELETE")]
    assert first == ["INSERT"], statements.sql  # the row is made with its first report's values
    statements.sql.clear()
    clock.tick(30)
    statements.on = True
    await _beat(client, video, h, position_seconds=30)
    statements.on = False
    writes = [s for s in statements.sql if s in ("INSERT", "UPDATE", "DELETE")]
    reads = [s for s in statements.sql if s in ("SELECT", "WITH")]
    assert writes == ["UPDATE"], statements.sql
    # Token, identity, activity with the learner's enrolment, the progress row.
    assert len(reads) <= 4, statements.sql


async def test_run_progress_and_enrolment_progress(
    client: httpx.AsyncClient, clock: Clock, statements: Statements
) -> None:
    course = make_course(pages=2)
    run_id = make_run(course["course"])
    learners = [make_user() for _ in range(3)]
    ids = [enrol(run_id, u.id) for u in learners]
    h = await api_token(client, learners[0].email or "")
    await _beat(client, course["page1"], h, event="viewed")
    clock.tick(40)
    await _beat(client, course["page1"], h)
    await _beat(client, course["page2"], h)
    with session_scope() as session:
        statements.on = True
        by_enrolment = progress_service.run_progress(session, run_id)
        statements.on = False
        assert len(statements.sql) <= 2
        single = progress_service.enrolment_progress(session, ids[0])
    assert set(by_enrolment) == set(ids)
    first = by_enrolment[ids[0]]
    assert first.statuses == {course["page1"]: "completed", course["page2"]: "in_progress"}
    assert first.learning_seconds == pytest.approx(40)
    assert by_enrolment[ids[1]].statuses == {} and by_enrolment[ids[1]].learning_seconds == 0
    assert single == first


def test_rules_are_pure_functions() -> None:
    assert progress_service.credited_seconds(30, None, 300) == 30
    assert progress_service.credited_seconds(30, 12, 300) == 12
    assert progress_service.credited_seconds(301, 30, 300) == 0
    assert progress_service.credited_seconds(-5, None, 300) == 0
    assert progress_service.video_complete(540, 600, 0.9)
    assert not progress_service.video_complete(539.9, 600, 0.9)
    assert not progress_service.video_complete(10, 0, 0.9)
    assert progress_service.view_complete("page", "viewed", 0, 0)
    assert not progress_service.view_complete("page", "heartbeat", 0, 0)
    assert not progress_service.view_complete("document", "viewed", 59, 60)
    assert progress_service.view_complete("document", "heartbeat", 60, 60)
    assert progress_service.view_complete("link", "viewed", 0, 60)  # no timer on a link


async def test_passing_the_quiz_completes_it_and_announces_it_once(
    client: httpx.AsyncClient, completions: list[int]
) -> None:
    from tests.factories import make_quiz

    course = make_course()
    # An exercise: graded post-tests are announced on every attempt (certificates' score rule).
    quiz = make_quiz(
        course["section"], gift="::Benar::SPBE adalah singkatan resmi.{TRUE}\n", kind="exercise"
    )
    enrolment_id, h = await _learner_in(course, client)

    async def attempt(answer: str) -> dict[str, Any]:
        body = (await client.post(f"/api/v1/quizzes/{quiz['quiz']}/attempts", headers=h)).json()
        question = body["questions"][0]["id"]
        await client.put(
            f"/api/v1/attempts/{body['id']}/answers",
            json={"answers": [{"question_id": question, "choice_ids": [answer]}]},
            headers=h,
        )
        result: dict[str, Any] = (
            await client.post(f"/api/v1/attempts/{body['id']}/submit", headers=h)
        ).json()
        return result

    assert (await attempt("false"))["passed"] is False
    assert completions == []
    assert (await attempt("true"))["passed"] is True
    assert completions == [enrolment_id]
    assert _row(enrolment_id, quiz["activity"]).status == "completed"


def test_scorm_completed_status_completes_and_commits_count_as_heartbeats(
    clock: Clock, completions: list[int], settings: Any
) -> None:
    course = make_course(pages=0, published=False)
    sco = make_activity(course["section"], kind="scorm")
    enrolment_id = enrol(make_run(course["course"]), make_user().id)
    facts = progress_service.ActivityFacts(sco, "scorm", "scorm_completed", 10)

    def commit(seq: int, cmi: dict[str, str]) -> str:
        with session_scope() as session:
            read = progress_service.scorm_commit(
                session, enrolment_id, facts, launch_id="launch1", sequence=seq, cmi=cmi,
                mastery_score=None, settings=settings,
            )  # fmt: skip
            return read.status

    assert commit(1, {"cmi.core.lesson_status": "incomplete"}) == "in_progress"
    clock.tick(60)
    # The SCO claims two hours; only the minute the server saw counts as time on task.
    cmi = {"cmi.core.lesson_status": "completed", "cmi.core.session_time": "02:00:00"}
    assert commit(2, cmi) == "completed"
    assert completions == [enrolment_id]
    assert _row(enrolment_id, sco).time_seconds == pytest.approx(60)


def test_a_first_report_that_loses_the_insert_race_updates_the_winner(
    monkeypatch: pytest.MonkeyPatch, clock: Clock, settings: Any
) -> None:
    from app.progress import repository
    from app.progress.schemas import ProgressEvent

    course = make_course(pages=0, published=False)
    video = make_activity(course["section"], duration_minutes=10)
    enrolment_id = enrol(make_run(course["course"]), make_user().id)
    facts = progress_service.ActivityFacts(video, "video", "watched", 10)
    with session_scope() as session:
        progress_service.record_event(
            session, enrolment_id, facts, ProgressEvent(position_seconds=0), settings
        )
    real = repository.lock_progress
    calls: list[int] = []

    def unseen_once(*args: Any, **kwargs: Any) -> ActivityProgress | None:
        calls.append(1)  # the first look happens before the other request's INSERT commits
        return None if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(repository, "lock_progress", unseen_once)
    clock.tick(30)
    with session_scope() as session:
        read = progress_service.record_event(
            session,
            enrolment_id,
            facts,
            ProgressEvent(position_seconds=30, active_seconds=30),
            settings,
        )
    assert read.percent == 5 and len(calls) == 2
    row = _row(enrolment_id, video)
    assert row.time_seconds == pytest.approx(30) and row.watched_seconds == 30


async def test_minimum_view_time_is_set_when_the_page_is_added(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    course = make_course(pages=1)
    editor = await api_token(client, make_user(roles=("content_admin",)).email or "")
    created = await client.post(
        f"/api/v1/sections/{course['section']}/activities",
        data={"kind": "page", "title": "Bacaan wajib", "body": "# Isi", "min_view_seconds": "45"},
        headers=editor,
    )
    assert created.status_code == 201, created.text
    page = created.json()["id"]
    _enrolment_id, h = await _learner_in(course, client)
    assert (await _beat(client, page, h, event="viewed"))["status"] == "in_progress"
    clock.tick(45)
    assert (await _beat(client, page, h))["status"] == "completed"


def test_a_heartbeat_read_before_another_one_wrote_applies_to_the_new_row(
    clock: Clock, settings: Any
) -> None:
    """The heartbeat path reads the row without a lock and writes only if it is unchanged; when
    another report wrote in between, the row is read again (locked) and time is credited once."""
    from app.progress.schemas import ProgressEvent

    course = make_course(pages=0, published=False)
    video = make_activity(course["section"], duration_minutes=10)
    user = make_user()
    enrolment_id = enrol(make_run(course["course"]), user.id)
    facts = progress_service.ActivityFacts(video, "video", "watched", 10)
    with session_scope() as session:
        progress_service.record_event(
            session, enrolment_id, facts, ProgressEvent(position_seconds=0), settings
        )
    clock.tick(30)
    with session_scope() as session:
        stale = session.get(ActivityProgress, _row(enrolment_id, video).id)
        assert stale is not None
        session.expunge(stale)  # as the heartbeat's query reads it: a plain object
    with session_scope() as session:  # another tab's report lands first
        progress_service.record_event(
            session, enrolment_id, facts,
            ProgressEvent(position_seconds=30, active_seconds=30), settings,
        )  # fmt: skip
    clock.tick(10)
    with session_scope() as session:
        read = progress_service.record_event(
            session, enrolment_id, facts,
            ProgressEvent(position_seconds=40, active_seconds=10), settings, as_read=stale,
        )  # fmt: skip
    row = _row(enrolment_id, video)
    # 30 s, then 10 s on the row as the other report left it; writing the stale row back would
    # have lost the other report's 30 s.
    assert row.time_seconds == pytest.approx(40)
    assert row.position_seconds == 40 and read.percent == 6


def test_a_heartbeat_that_waited_in_the_server_still_counts_its_segment(
    clock: Clock, settings: Any
) -> None:
    """Time on task and watched video run on the reports' arrival times: one heartbeat kept
    8 s behind a burst (waiting for a database slot) must not make the next one look too fast
    for its 30 s of video, which would then never count."""
    from app.core import logging as core_logging
    from app.progress.schemas import ProgressEvent

    course = make_course(pages=0, published=False)
    video = make_activity(course["section"], duration_minutes=10)
    enrolment_id = enrol(make_run(course["course"]), make_user().id)
    facts = progress_service.ActivityFacts(video, "video", "watched", 10)

    def beat(position: float, waited: float = 0.0) -> None:
        token = core_logging._request_started.set(core_logging.time.perf_counter() - waited)
        try:
            with session_scope() as session:
                progress_service.record_event(
                    session, enrolment_id, facts,
                    ProgressEvent(position_seconds=position, active_seconds=30 if position else None),
                    settings,
                )  # fmt: skip
        finally:
            core_logging._request_started.reset(token)

    beat(0)
    clock.tick(38)  # arrived at 30 s, processed at 38 s
    beat(30, waited=8)
    clock.tick(22)  # arrived and processed at 60 s
    beat(60)
    row = _row(enrolment_id, video)
    assert row.watched_seconds == pytest.approx(60, abs=0.01)
    assert row.time_seconds == pytest.approx(60, abs=0.01)
    clock.tick(5)  # a report that arrived at 50 s, processed after the one of 60 s: no change
    beat(50, waited=15)
    after = _row(enrolment_id, video)
    assert after.position_seconds == 60 and after.watched_seconds == row.watched_seconds
    assert after.time_seconds == row.time_seconds
