"""The hot learner writes send a fixed, small number of SQL statements (issue 15): the route's
own work, called with a ready principal, counted by the engine (authentication not included)."""

from __future__ import annotations

import json

from app.auth.service import Principal
from app.core.config import get_settings
from app.core.db import session_scope
from app.courses import router as courses_router
from app.progress.schemas import ProgressEvent
from app.quizzes import router as quiz_router
from app.quizzes import service as quiz_service
from app.quizzes.schemas import AnswersIn
from tests.factories import enrol, make_activity, make_course, make_quiz, make_run, make_user
from tests.queries import count_queries


def _learner(run_id: int) -> Principal:
    user = make_user()
    enrol(run_id, user.id)
    return Principal(user_id=user.id, name=user.name, roles=frozenset({"learner"}), via="token")


def test_submit_and_autosave_send_a_fixed_number_of_statements() -> None:
    ids = make_course()
    run = make_run(ids["course"])
    make_activity(ids["section"], kind="page", title="Bacaan")  # keeps the course open
    quiz = make_quiz(ids["section"], kind="exercise", pass_score=60)
    learner = _learner(run)
    settings = get_settings()
    with session_scope() as session:
        attempt, _ = quiz_service.start_attempt(
            session, quiz_service.get_quiz(session, quiz["quiz"]), learner, settings=settings
        )
        attempt_id, first = attempt.id, json.loads(attempt.layout_json)[0]["q"]
    body = AnswersIn.model_validate({"answers": [{"question_id": first, "text": "x"}]})

    with session_scope() as db:  # the first read of the attempt's question versions caches them
        quiz_router.save_answers(attempt_id, body, db, settings, learner)
    with count_queries() as autosave, session_scope() as db:
        quiz_router.save_answers(attempt_id, body, db, settings, learner)
    assert len(autosave) == 3  # attempt + quiz read, lock (UPDATE), upsert

    with count_queries() as submit, session_scope() as db:
        result = quiz_router.submit_attempt(attempt_id, db, settings, learner)
    assert result.state in ("graded", "needs_grading")
    # facts (attempt, quiz, rule, progress), claim, answers, grade; the progress row exists
    # since the start, and a failed attempt does not complete the activity: nothing more.
    assert len(submit) == 4

    with count_queries() as again, session_scope() as db:
        repeated = quiz_router.submit_attempt(attempt_id, db, settings, learner)
    assert repeated == result
    assert len(again) == 3  # facts, claim finds nothing, the stored result


def test_heartbeat_sends_two_statements() -> None:
    ids = make_course()
    run = make_run(ids["course"])
    video = make_activity(ids["section"], kind="video", duration_minutes=30)
    learner = _learner(run)
    settings = get_settings()
    beat = ProgressEvent.model_validate(
        {"event": "heartbeat", "position_seconds": 0, "duration_seconds": 1800}
    )
    for _ in range(2):  # the first INSERTs the row, the second UPDATEs it
        with count_queries() as statements, session_scope() as db:
            courses_router.report_progress(video, beat, db, settings, learner)
        assert len(statements) == 2  # access + enrolment + the row as read, the write
