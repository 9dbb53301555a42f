"""Statements: stable ids, the actor by id or NIP, no statement per heartbeat; the LRS answering
409 for a differing statement under a known id counts as delivered; Ralph's models refuse a
broken statement (the validation really validates)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from app.core.db import session_scope
from app.outbox import service as outbox
from app.outbox.models import OutboxItem
from app.progress import service as progress_service
from app.progress.schemas import ProgressEvent
from app.xapi import listeners
from app.xapi import statements as st
from app.xapi.constants import TOPIC
from tests.factories import make_completed_run
from tests.xapi.ralph import Ralph, validate

SETUP = st.Setup("https://lms.example.go.id/")
LEARNER = st.Learner(7, "199304152019032005", "DISKOMINFO", "Dinas Kominfo")
PLACE = st.Place(3, 2, "Angkatan I", 1, "Literasi Digital")
PAGE = st.Thing(11, "Pengantar", "page")
AT = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)


def test_ids_are_stable_per_fact_and_distinct_across_facts() -> None:
    a = st.activity_completed(SETUP, LEARNER, PLACE, PAGE, AT)
    later = st.activity_completed(SETUP, LEARNER, PLACE, PAGE, AT + dt.timedelta(days=1))
    assert a["id"] == later["id"]
    other = st.activity_completed(SETUP, LEARNER, PLACE, st.Thing(12, "Lain", "page"), AT)
    assert other["id"] != a["id"]
    assert st.launched(SETUP, LEARNER, PLACE, AT)["id"] != a["id"]
    assert a["context"]["registration"] == st.registration(SETUP, PLACE.enrolment_id)
    assert a["timestamp"] == "2026-12-07T03:00:00.000Z"


def test_the_actor_is_the_user_id_unless_nip_is_chosen() -> None:
    by_id = st.launched(SETUP, LEARNER, PLACE, AT)["actor"]
    assert by_id == {"objectType": "Agent",
                     "account": {"homePage": "https://lms.example.go.id", "name": "7"}}  # fmt: skip
    nip = st.launched(st.Setup(SETUP.base_url, actor="nip"), LEARNER, PLACE, AT)["actor"]
    assert nip["account"]["name"] == LEARNER.nip


def test_every_kind_validates_against_ralphs_models_and_a_broken_one_does_not() -> None:
    made = [
        st.launched(SETUP, LEARNER, PLACE, AT),
        st.activity_started(SETUP, LEARNER, PLACE, PAGE, AT),
        st.activity_completed(SETUP, LEARNER, PLACE, PAGE, AT),
        st.course_progressed(SETUP, LEARNER, PLACE, PAGE, 50, AT),
        st.quiz_graded(SETUP, LEARNER, PLACE, st.Thing(13, "Tes", "quiz"), 5, 40.0, False, AT),
        st.session_attended(SETUP, LEARNER, PLACE, st.Thing(14, "Kelas", "live_session"), AT),
        st.certificate_earned(
            SETUP, LEARNER, PLACE, st.Thing(1, "Literasi Digital"), "1/2026", 10, AT
        ),
        st.mentoring_confirmed(SETUP, LEARNER, st.Thing(9, "Mentoring K1"), "K1", 4, AT),
    ]
    assert validate(made) == []
    broken = dict(made[0], verb={"id": "not an iri"}, timestamp="yesterday")
    assert validate([broken]) != []


def test_heartbeats_queue_nothing_until_a_state_changes(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "xapi_endpoint", "http://127.0.0.1:9/xAPI/")
    ids = make_completed_run(learners=1, pages=1, complete=False)
    (eid,) = ids["enrolments"]  # type: ignore[misc]
    (page,) = ids["pages"]  # type: ignore[misc]
    def beat() -> None:
        with session_scope() as session:
            facts = progress_service.ActivityFacts(id=page, kind="page", completion_rule="viewed",
                                                   duration_minutes=5, min_view_seconds=3600)
            progress_service.record_event(session, eid, facts,
                                          ProgressEvent(event="heartbeat"), settings)  # fmt: skip

    def queued() -> int:
        with session_scope() as session:
            return len(session.scalars(select(OutboxItem).where(OutboxItem.topic == TOPIC)).all())

    beat()
    first = queued()
    assert first == 2  # launched (the course) and progressed (the page)
    for _ in range(5):
        beat()
    assert queued() == first


@pytest.fixture
def ralph(settings, monkeypatch) -> Iterator[Ralph]:  # type: ignore[no-untyped-def]
    with Ralph() as lrs:
        monkeypatch.setattr(settings, "xapi_endpoint", lrs.endpoint)
        monkeypatch.setattr(settings, "xapi_username", "lms-diklat")
        monkeypatch.setattr(settings, "xapi_password", SecretStr(lrs.password))
        yield lrs


def test_a_known_id_answered_409_counts_as_delivered(settings, ralph: Ralph) -> None:  # type: ignore[no-untyped-def]
    setup = st.Setup(settings.base_url)
    first = st.activity_completed(setup, LEARNER, PLACE, PAGE, AT)
    differing = dict(first, timestamp="2026-12-08T03:00:00.000Z")  # same id, other content
    fresh = st.activity_completed(setup, LEARNER, PLACE, st.Thing(99, "Baru", "page"), AT)
    with session_scope() as session:
        listeners.queue(session, [first], None)
    assert outbox.dispatch(settings, only=[TOPIC]).sent == 1
    with session_scope() as session:
        session.execute(OutboxItem.__table__.delete())
        listeners.queue(session, [differing, fresh], None)
    stats = outbox.dispatch(settings, only=[TOPIC])
    assert (stats.sent, stats.failed, stats.dead) == (2, 0, 0)
    assert sorted(s["id"] for s in ralph.stored()) == sorted([first["id"], fresh["id"]])


def test_lms_xapi_resend_requeues_statements_since_a_date(settings) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from app.cli import cli

    setup = st.Setup(settings.base_url)
    with session_scope() as session:
        listeners.queue(session, [st.launched(setup, LEARNER, PLACE, AT)], None)
        session.execute(OutboxItem.__table__.update().values(state="sent"))
    runner = CliRunner()
    done = runner.invoke(cli, ["xapi", "resend", "--since", "2000-01-01", "--no-deliver"])
    assert done.exit_code == 0, done.output
    assert "1 statement(s) queued again" in done.output
    with session_scope() as session:
        assert session.scalars(select(OutboxItem.state)).all() == ["pending"]
    assert runner.invoke(cli, ["xapi", "resend", "--since", "kemarin"]).exit_code != 0
