"""Benchmark: CPU per request of the hot learner writes, in one process, without HTTP or load.

    .venv/bin/python bench/hot_writes.py [--database-url URL] [--learners 300] [--profile OP]

The open-loop benchmarks (heartbeats.py, quiz_submit.py) give rates and latencies on a shared
machine, where every figure moves with the load. This one runs each hot write one request at a
time and counts CPU time, which moves much less, in two ways:

- **route**: the route function itself (access checks, rules, SQL, the commit by `session_scope`),
  called with a ready principal: the route's own work;
- **app**: the whole ASGI app in this process (middleware, bearer token, dependencies, thread-pool
  hops, JSON), called with a hand-made HTTP scope (no socket, no HTTP parsing): every request's
  fixed cost on top of the route's work.

Operations: a learner's first heartbeat (INSERT), a later heartbeat (UPDATE), an answer autosave
(one answer), a quiz submit (50 questions, graded, completes nothing) and a quiz submit that
completes its course (the completion and the outbox item that issues the certificate right
after the request; the outbox is not run here). It also prints the SQL
statements each sends. Setup (not timed): a database made by Alembic (its name must start with
`bench`), a course with a 30-minute video and a 50-question exercise quiz, a second course whose
only activity is a 50-question quiz, `--learners` learners enrolled in both with a token each and
one started attempt with saved answers per learner and quiz.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import heartbeats  # noqa: E402
import quiz_submit as common  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_hotwrites"


def seed(learners: int) -> dict[str, Any]:
    """The video course of heartbeats.py plus a quiz section; every learner's attempt started."""
    from sqlalchemy import select

    from app.auth.models import ApiToken
    from app.auth.service import Principal, token_hash
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.courses.models import Activity, Section
    from app.quizzes import service as quiz_service
    from app.quizzes.schemas import AnswersIn, QuizSettings

    activity_id, tokens = heartbeats.seed(learners)
    settings = get_settings()
    with session_scope() as session:
        video = session.get(Activity, activity_id)
        assert video is not None
        section = Section(course_id=video.course_id, position=2, title="Evaluasi")
        session.add(section)
        session.flush()
        quiz = quiz_service.create_quiz(
            session, section, QuizSettings(title="Kuis", kind="exercise", pass_score=60)
        )
        staff = Principal(user_id=None, name="bench", roles=frozenset({"admin"}), via="cli")  # type: ignore[arg-type]
        for index, (kind, points) in enumerate(common.MIX):
            quiz_service.add_question(session, quiz, common._question(kind, points, index), staff)
        quiz_id = quiz.id
        owner = {h: u for h, u in session.execute(select(ApiToken.token_hash, ApiToken.user_id))}
        user_ids = [owner[token_hash(t)] for t in tokens]
    attempts: list[tuple[int, int, int]] = []  # (user id, attempt id, a question id)
    with session_scope() as session:
        quiz = quiz_service.get_quiz(session, quiz_id)
        for uid in user_ids:
            principal = Principal(user_id=uid, name="", roles=frozenset({"learner"}), via="token")
            attempt, _ = quiz_service.start_attempt(session, quiz, principal, settings=settings)
            layout = json.loads(attempt.layout_json)
            answers = [{"question_id": item["q"], "text": "20"} for item in layout[:1]]
            first = layout[0]["q"]
            quiz_service.save_answers(
                session, attempt, AnswersIn.model_validate({"answers": answers}), settings
            )
            attempts.append((uid, attempt.id, first))
    return {"activity_id": activity_id, "tokens": tokens, "user_ids": user_ids,
            "attempts": attempts, "completing": seed_certificate_course(user_ids)}  # fmt: skip


def seed_certificate_course(user_ids: list[int]) -> list[tuple[int, int]]:
    """A second course whose only activity is a 50-question quiz (pass 60), a run with every
    learner enrolled and each one's attempt answered well enough to pass: submitting it
    completes the course and asks the outbox for the certificate (the course's default rules:
    auto-issue). Returns (user id, attempt id) per learner."""
    import datetime as dt

    from app.auth.service import Principal
    from app.core.db import session_scope
    from app.courses import service as courses_service
    from app.courses.models import Enrolment, Run
    from app.courses.schemas import CourseCreate
    from app.quizzes import service as quiz_service
    from app.quizzes.schemas import QuizSettings

    staff = Principal(user_id=None, name="bench", roles=frozenset({"admin"}), via="cli")  # type: ignore[arg-type]
    with session_scope() as session:
        course = courses_service.create_course(
            session,
            CourseCreate(code="BENCH-SERT", title="Kursus Uji Sertifikat", jp=2, category="teknis"),  # type: ignore[arg-type]
            staff,
        )
        section = courses_service.add_section(session, course, "Evaluasi")
        quiz = quiz_service.create_quiz(
            session, section, QuizSettings(title="Kuis akhir", kind="exercise", pass_score=60)
        )
        for index, (kind, points) in enumerate(common.MIX):
            quiz_service.add_question(session, quiz, common._question(kind, points, index), staff)
        courses_service.publish(session, course)
        today = dt.date.today()
        run = Run(course_id=course.id, name="Angkatan Sertifikat", funding_source="non_anggaran",
                  starts_on=today - dt.timedelta(days=1), ends_on=today + dt.timedelta(days=30))  # fmt: skip
        session.add(run)
        session.flush()
        session.add_all(Enrolment(run_id=run.id, user_id=u, status="active") for u in user_ids)
        quiz_id = quiz.id
    planned = common._start_attempts((0, quiz_id, user_ids))
    # The fixed answer rule scores about 80%: every attempt passes (60).
    assert all(p.expected >= 0.6 * p.max_score for p in planned)
    return [(user_ids[p.learner], p.attempt_id) for p in planned]


# --- the two ways of calling ----------------------------------------------------------------------


def learner(user_id: int) -> Any:
    from app.auth.service import Principal

    return Principal(user_id=user_id, name="", roles=frozenset({"learner"}), via="token")


def route_calls(data: dict[str, Any]) -> dict[str, list[Callable[[], Any]]]:
    """Each operation as a list of calls of the route function in its own session."""
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.courses import router as courses_router
    from app.progress.schemas import ProgressEvent
    from app.quizzes import router as quiz_router
    from app.quizzes.schemas import AnswersIn

    settings = get_settings()
    aid = data["activity_id"]

    def heartbeat(uid: int, position: float) -> Callable[[], Any]:
        event = ProgressEvent.model_validate(
            {"event": "heartbeat", "position_seconds": position, "duration_seconds": 1800,
             "active_seconds": 30})  # fmt: skip

        def call() -> Any:
            with session_scope() as db:
                return courses_router.report_progress(aid, event, db, settings, learner(uid))

        return call

    def autosave(uid: int, attempt_id: int, question_id: int) -> Callable[[], Any]:
        body = AnswersIn.model_validate({"answers": [{"question_id": question_id, "text": "7"}]})

        def call() -> Any:
            with session_scope() as db:
                return quiz_router.save_answers(attempt_id, body, db, settings, learner(uid))

        return call

    def submit(uid: int, attempt_id: int) -> Callable[[], Any]:
        def call() -> Any:
            with session_scope() as db:
                return quiz_router.submit_attempt(attempt_id, db, settings, learner(uid))

        return call

    uids = data["user_ids"]
    half = len(uids) // 2
    return {
        "heartbeat, first (INSERT)": [heartbeat(u, 0.0) for u in uids[:half]],
        "heartbeat, later (UPDATE)": [heartbeat(u, 30.0) for u in uids[:half]],
        "answer autosave": [autosave(u, a, q) for u, a, q in data["attempts"][:half]],
        "quiz submit (50 questions)": [submit(u, a) for u, a, _q in data["attempts"][:half]],
        "quiz submit completing": [submit(u, a) for u, a in data["completing"][:half]],
    }


async def _asgi(app: Any, method: str, path: str, token: str, body: bytes) -> int:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
        "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode()),
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
    }  # fmt: skip
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def app_calls(data: dict[str, Any], app: Any) -> dict[str, list[Callable[[], Any]]]:
    """The same operations through the whole ASGI app (on other learners than route_calls)."""
    aid = data["activity_id"]
    token_of = dict(zip(data["user_ids"], data["tokens"], strict=True))
    uids = data["user_ids"]
    half = len(uids) // 2

    def request(method: str, path: str, uid: int, payload: Any) -> Callable[[], Any]:
        body = json.dumps(payload).encode()

        async def call() -> int:
            status = await _asgi(app, method, path, token_of[uid], body)
            if status != 200:
                raise RuntimeError(f"{method} {path}: {status}")
            return status

        return call

    def beat(uid: int, position: float) -> Callable[[], Any]:
        return request("POST", f"/api/v1/activities/{aid}/progress", uid,
                       {"event": "heartbeat", "position_seconds": position,
                        "duration_seconds": 1800, "active_seconds": 30})  # fmt: skip

    return {
        "heartbeat, first (INSERT)": [beat(u, 0.0) for u in uids[half:]],
        "heartbeat, later (UPDATE)": [beat(u, 30.0) for u in uids[half:]],
        "answer autosave": [
            request(
                "PUT",
                f"/api/v1/attempts/{a}/answers",
                u,
                {"answers": [{"question_id": q, "text": "7"}]},
            )
            for u, a, q in data["attempts"][half:]
        ],
        "quiz submit (50 questions)": [
            request("POST", f"/api/v1/attempts/{a}/submit", u, None)
            for u, a, _q in data["attempts"][half:]
        ],
        "quiz submit completing": [
            request("POST", f"/api/v1/attempts/{a}/submit", u, None)
            for u, a in data["completing"][half:]
        ],
    }


# --- measuring ------------------------------------------------------------------------------------


def statements_of(call: Callable[[], Any], is_async: bool) -> list[str]:
    from tests.queries import count_queries

    with count_queries() as statements:
        if is_async:
            asyncio.run(call())
        else:
            call()
    return statements


def measure(
    calls: list[Callable[[], Any]], is_async: bool, profile: cProfile.Profile | None
) -> tuple[float, float]:
    """(CPU ms per call of the whole process, wall ms per call)."""

    async def run_all() -> None:
        for call in calls:
            await call()

    cpu, wall = time.process_time(), time.perf_counter()
    if profile is not None:
        profile.enable()
    if is_async:
        asyncio.run(run_all())
    else:
        for call in calls:
            call()
    if profile is not None:
        profile.disable()
    n = len(calls)
    return (time.process_time() - cpu) * 1000 / n, (time.perf_counter() - wall) * 1000 / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--learners", type=int, default=300, help="two halves: route and app")
    parser.add_argument("--profile", help="cProfile this operation (a prefix of its name)")
    parser.add_argument("--statements", action="store_true", help="print each SQL statement")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    url = args.database_url
    name = url.rsplit("/", 1)[-1]
    if not name.startswith("bench"):
        parser.error("the database name must start with 'bench'")

    tmp = Path(tempfile.mkdtemp(prefix="hot-writes-"))
    env = common.app_env(url, tmp)
    # Jobs are queued, never run here: the outbox dispatch a certificate asks for (its PDF) runs
    # after the request in production (a worker), so it must not count as the request's CPU.
    env["LMS_JOBS_URL"] = f"sqlite:///{tmp / 'jobs.db'}"
    env["LMS_JOBS_IN_PROCESS_WORKER"] = "false"
    # No signing keys here: each certificate would log "credential not signed yet".
    env["LMS_LOG_LEVEL"] = "ERROR"
    common.recreate_postgres(url)
    common.use_database(env)
    try:
        from app.cli import upgrade_database

        upgrade_database()
        started = time.perf_counter()
        data = seed(args.learners)
        print(f"setup: {args.learners} learners, attempts started, in "
              f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
        from app.main import create_app

        app = create_app()
        routes, whole = route_calls(data), app_calls(data, app)
        print(f"{'operation':<28} {'route CPU ms':>12} {'app CPU ms':>11} {'app wall ms':>12}  "
              f"SQL statements (route)")  # fmt: skip
        for op in routes:
            r_calls, a_calls = routes[op], whole[op]
            # One call of each first warms the caches (question versions, the run's certificate
            # facts, the year's number counter); the second one's statements are printed.
            statements_of(r_calls[0], False)
            statements_of(a_calls[0], True)
            shown = statements_of(r_calls[1], False)
            prof = cProfile.Profile() if args.profile and op.startswith(args.profile) else None
            route_cpu, _ = measure(r_calls[2:], False, prof)
            app_cpu, app_wall = measure(a_calls[1:], True, None)
            print(f"{op:<28} {route_cpu:>12.2f} {app_cpu:>11.2f} {app_wall:>12.2f}  "
                  f"{len(shown)}", flush=True)  # fmt: skip
            if args.statements:
                for s in shown:
                    print("    " + " ".join(s.split())[:160])
            if prof is not None:
                pstats.Stats(prof).sort_stats("cumulative").print_stats(45)
    finally:
        from app.core.db import reset_engine

        reset_engine()
        if not args.keep:
            common.drop_postgres(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
