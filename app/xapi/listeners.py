"""The learning events the domains announce (app.core.events.on_learning) become xAPI statements
in the outbox, in the transaction of the fact: a rolled-back fact sends nothing, a committed one
is never lost. Nothing is queued while LMS_XAPI_ENDPOINT is unset. Each statement's outbox key is
its stable id, so a fact announced twice queues one statement."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.core import events
from app.core.config import Settings, get_settings
from app.core.db import utcnow
from app.outbox import service as outbox
from app.xapi import repository
from app.xapi import statements as st
from app.xapi.constants import KEY_PREFIX, TOPIC, VERB_DISPLAY


def setup_of(settings: Settings) -> st.Setup:
    return st.Setup(base_url=settings.base_url, actor=settings.xapi_actor)


def enabled(settings: Settings) -> bool:
    return bool(settings.xapi_endpoint)


def queue(session: Session, statements: list[st.Statement], user_id: int | None) -> None:
    """Put statements in the outbox (idempotent by statement id)."""
    outbox.add_many(session, [
        outbox.NewItem(
            TOPIC, {"statement": s}, key=KEY_PREFIX + s["id"], user_id=user_id,
            label=f'{VERB_DISPLAY.get(s["verb"]["id"], "?")}: '
                  f'{next(iter(s["object"]["definition"]["name"].values()), "")}'[:255],
        )
        for s in statements
    ])  # fmt: skip


def build(session: Session, event: events.LearningEvent, setup: st.Setup
          ) -> tuple[list[st.Statement], int | None]:  # fmt: skip
    """The statements of one learning event (none when its facts are gone) and the user."""
    at = event.at or utcnow()
    if event.kind == "mentoring_confirmed":
        facts = repository.mentoring_session(session, event.ref_id or 0)
        learner = repository.learner(session, facts.mentee_id) if facts else None
        if facts is None or learner is None:
            return [], None
        return [st.mentoring_confirmed(setup, learner, facts.thing, facts.competency,
                                       facts.assignment_id, at)], learner.user_id  # fmt: skip
    if event.kind == "earned":
        cert = repository.certificate(session, event.ref_id or 0)
        found = repository.enrolment(session, cert.enrolment_id) if cert else None
        if cert is None or found is None:
            return [], None
        learner, place = found
        return [st.certificate_earned(setup, learner, place, cert.thing, cert.number, cert.jp,
                                      at)], learner.user_id  # fmt: skip
    if event.enrolment_id is None or event.activity_id is None:
        return [], None
    found = repository.enrolment(session, event.enrolment_id)
    thing = repository.activity(session, event.activity_id)
    if found is None or thing is None:
        return [], None
    learner, place = found
    made: list[st.Statement] = []
    if event.kind == "started":
        made = [st.launched(setup, learner, place, at),
                st.activity_started(setup, learner, place, thing, at)]  # fmt: skip
    elif event.kind == "completed":
        percent = repository.course_percent(session, place.enrolment_id, place.course_id)
        made = [st.launched(setup, learner, place, at),
                st.activity_completed(setup, learner, place, thing, at),
                st.course_progressed(setup, learner, place, thing, percent, at)]  # fmt: skip
    elif event.kind == "graded" and event.passed is not None and event.ref_id is not None:
        made = [st.quiz_graded(setup, learner, place, thing, event.ref_id, event.score or 0.0,
                               event.passed, at)]  # fmt: skip
    elif event.kind == "attended":
        made = [st.session_attended(setup, learner, place, thing, at)]
    return made, learner.user_id


@events.on_learning
def on_learning(session: Session, event: events.LearningEvent) -> None:
    settings = get_settings()
    if not enabled(settings):
        return
    made, user_id = build(session, event, setup_of(settings))
    queue(session, made, user_id)
