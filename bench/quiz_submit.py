"""Benchmark: concurrent quiz submits against a real server, then a count in the database.

    .venv/bin/python bench/quiz_submit.py [--database-url URL] [--learners 200] [--quizzes 20]
        [--questions 50] [--workers 2] [--seconds 120] [--client raw|httpx]
        [--sqlite | --sqlite-only] [--breakdown] [--max-inflight N] [--profile] [--keep]

Setup (not timed, through the service layer): a published course with a run, `--quizzes`
quizzes of `--questions` questions each (single, multiple, true/false, short answer, numeric;
no essay, so every submit grades fully), `--learners` learners enrolled, and for every learner
and quiz a started attempt with every question answered (or left blank) by a fixed rule, so that
the expected score of each attempt is known without the app's scoring code.

Then uvicorn serves `app.main:create_app` on 127.0.0.1 (`--workers` processes, as `lms serve`),
each learner gets a bearer token from POST /api/v1/auth/token (not timed), and `--learners`
concurrent submitters (one keep-alive HTTP/1.1 connection each) submit their attempts, one
after the other: learners x quizzes submits in all, bounded by `--seconds` and
`--max-submits`. The script prints submits/s, latency percentiles, errors, the CPU time of the
server, PostgreSQL and the client, and then verifies in the database: every submitted attempt
graded once with the expected score, the responses' scores equal to the stored ones, nothing
lost and nothing graded twice (UPDATEs on quiz_attempt counted by PostgreSQL's statistics: a
submit makes exactly two). Exit status 1 when a check fails.

The database: the URL's database must be named `bench...`; it is dropped and created again, made
by Alembic, and dropped at the end (`--keep` keeps it). `--sqlite` runs the same again on a
SQLite file, `--sqlite-only` only there. Diagnostics: `--breakdown` prints the server's CPU
per phase of a submit; `--max-inflight N` admits at most N requests at once per worker (the
proposed fix for the connection-pool stall, measured without changing the app); `--profile`
serves with one worker under cProfile (event loop and thread pool separately).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import dataclasses
import io
import json
import multiprocessing
import os
import pstats
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the app and the tests' port helpers

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_quiz"
PASSWORD = "Kata-Sandi-Bench-2026"
TARGET = 300.0  # submits/s with 200 concurrent submitters (the target)

# The question mix of one quiz, cycled: (type, points).
MIX = (
    [("single", 1.0)] * 15
    + [("multiple", 2.0)] * 10
    + [("truefalse", 1.0)] * 10
    + [("short", 1.5)] * 8
    + [("numeric", 2.5)] * 7
)


# --- the database -------------------------------------------------------------------------------


def _pg_admin_url(url: str) -> tuple[str, str]:
    """(URL of the maintenance database, name of the benchmark database)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database or ""
    if not name.startswith("bench"):
        raise SystemExit(f"refusing database {name!r}: its name must start with 'bench'")
    return parsed.set(database="postgres").render_as_string(hide_password=False), name


def recreate_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    admin, name = _pg_admin_url(url)
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def drop_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    admin, name = _pg_admin_url(url)
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def app_env(url: str, tmp: Path) -> dict[str, str]:
    """The server's and the setup's environment: production settings on `url`."""
    return {
        "LMS_ENVIRONMENT": "production",
        "LMS_DATABASE_URL": url,
        "LMS_STORAGE_URL": f"file://{tmp / 'objects'}",
        "LMS_SECRET_KEY": secrets.token_hex(32),
        "LMS_BASE_URL": "http://127.0.0.1",
        # The benchmark's own job queue (the default ./var/jobs.db is shared with anything else
        # run from this checkout); the in-process worker runs the outbox as `lms serve` does.
        "LMS_JOBS_URL": f"sqlite:///{tmp / 'jobs.db'}",
        # Logins are not measured: cheap password hashes keep the setup short.
        "LMS_ARGON2_TIME_COST": "1",
        "LMS_ARGON2_MEMORY_KIB": "8192",
    }


def use_database(env: dict[str, str]) -> None:
    """Point this process's settings and engine at the benchmark database."""
    from app.core.config import get_settings
    from app.core.db import reset_engine

    os.environ.update(env)
    get_settings.cache_clear()
    reset_engine()


# --- setup --------------------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class Planned:
    attempt_id: int
    learner: int
    quiz: int
    expected: float
    max_score: float


@dataclasses.dataclass(slots=True)
class Setup:
    nips: list[str]
    attempts: dict[int, list[Planned]]  # learner index -> attempts in submit order
    seconds: float
    total: int


def _nip(i: int) -> str:
    """A valid, unique NIP: birth date varies every 999 learners."""
    day = 1 + (i // 999) % 28
    month = 1 + (i // (999 * 28)) % 12
    return f"1990{month:02d}{day:02d}2015031{i % 999 + 1:03d}"


def _question(kind: str, points: float, index: int) -> Any:
    from app.quizzes import service as quiz_service
    from app.quizzes.schemas import QuestionIn

    text = f"Soal {index + 1}: pertanyaan uji nomor {index + 1} tentang literasi digital?"
    data: dict[str, Any] = {"type": kind, "text": text, "points": points}
    if kind == "single":
        data["choices"] = [
            {"text": "benar", "correct": True},
            {"text": "salah satu"},
            {"text": "salah dua"},
            {"text": "salah tiga"},
        ]
    elif kind == "multiple":
        data["choices"] = [
            {"text": "benar satu", "correct": True},
            {"text": "benar dua", "correct": True},
            {"text": "salah satu"},
            {"text": "salah dua"},
        ]
    elif kind == "truefalse":
        data["correct"] = True
    elif kind == "short":
        data["answers"] = ["spbe", "sistem pemerintahan berbasis elektronik"]
    elif kind == "numeric":
        data["answers"] = [{"value": 20, "tolerance": 0.5}]
    return quiz_service.question_from_input(QuestionIn.model_validate(data))


def _right(learner: int, quiz: int, position: int) -> bool | None:
    """The fixed rule: True = answer right, False = answer wrong, None = leave blank."""
    if (learner + 3 * position) % 17 == 0:
        return None
    return (learner * 7 + quiz * 3 + position) % 5 != 0


def _response(question: Any, right: bool) -> dict[str, Any]:
    """The learner's answer to a question as shown in the attempt (choice ids by text)."""
    by_text = {c.text: c.id for c in question.choices or []}
    match question.type:
        case "single":
            return {"choice_ids": [by_text["benar" if right else "salah dua"]]}
        case "multiple":
            picks = ["benar satu", "benar dua"] if right else ["salah satu"]
            return {"choice_ids": [by_text[p] for p in picks]}
        case "truefalse":
            return {"choice_ids": ["true" if right else "false"]}
        case "short":
            return {"text": "SPBE" if right else "salah"}
        case "numeric":
            return {"text": "20,2" if right else "99"}
    raise AssertionError(question.type)


def setup_data(learners: int, quizzes: int, questions: int, procs: int) -> Setup:
    """Course, run, quizzes, learners, and every attempt started with its answers saved."""
    import datetime as dt

    from app.accounts import service as accounts_service
    from app.accounts.schemas import UserCreate
    from app.auth.service import Principal
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.courses import service as courses_service
    from app.courses.models import Enrolment, Run
    from app.courses.schemas import CourseCreate
    from app.quizzes import service as quiz_service
    from app.quizzes.schemas import QuizSettings

    started = time.perf_counter()
    settings = get_settings()
    staff = Principal(user_id=None, name="bench", roles=frozenset({"admin"}), via="cli")  # type: ignore[arg-type]
    mix = [MIX[i % len(MIX)] for i in range(questions)]
    with session_scope() as session:
        course = courses_service.create_course(
            session,
            CourseCreate(code="BENCH-KUIS", title="Kursus Uji Beban Kuis", jp=2, category="teknis"),  # type: ignore[arg-type]
            staff,
        )
        section = courses_service.add_section(session, course, "Evaluasi")
        quiz_ids = []
        for k in range(quizzes):
            quiz = quiz_service.create_quiz(
                session,
                section,
                QuizSettings(title=f"Kuis {k + 1}", kind="exercise", pass_score=60),
            )
            for index, (kind, points) in enumerate(mix):
                quiz_service.add_question(session, quiz, _question(kind, points, index), staff)
            quiz_ids.append(quiz.id)
        courses_service.publish(session, course)
        today = dt.date.today()
        run = Run(
            course_id=course.id,
            name="Angkatan Bench",
            starts_on=today - dt.timedelta(days=1),
            ends_on=today + dt.timedelta(days=30),
            funding_source="non_anggaran",
            self_enrol=True,
        )
        session.add(run)
        session.flush()
        run_id = run.id
    nips = [_nip(i) for i in range(learners)]
    user_ids: list[int] = []
    with session_scope() as session:
        for i, nip in enumerate(nips):
            user = accounts_service.create_user(
                session,
                UserCreate(nip=nip, name=f"Peserta Bench {i + 1}", password=PASSWORD),
                settings,
            )
            user_ids.append(user.id)
        session.add_all(Enrolment(run_id=run_id, user_id=uid, status="active") for uid in user_ids)
        session.flush()
    print(f"setup: course, {quizzes} quizzes x {questions} questions, {learners} learners "
          f"in {time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip

    # Attempts: one job per quiz, in `procs` processes (each with its own engine).
    from app.core.db import reset_engine

    reset_engine()  # no connection may be inherited by the children
    attempts: dict[int, list[Planned]] = defaultdict(list)
    total = 0
    t_attempts = time.perf_counter()
    jobs = [(k, quiz_id, user_ids) for k, quiz_id in enumerate(quiz_ids)]
    context = multiprocessing.get_context("fork")
    with context.Pool(procs) as pool:
        for done, planned in enumerate(pool.imap(_start_attempts, jobs), start=1):
            for p in planned:
                attempts[p.learner].append(p)
            total += len(planned)
            rate = total / (time.perf_counter() - t_attempts)
            print(f"  attempts started and answered: {total} ({rate:.0f}/s), quiz "
                  f"{done}/{quizzes}", flush=True)  # fmt: skip
    for planned_list in attempts.values():
        planned_list.sort(key=lambda p: p.quiz)
    return Setup(nips, attempts, time.perf_counter() - started, total)


def _start_attempts(job: tuple[int, int, list[int]]) -> list[Planned]:
    """Every learner's attempt at one quiz, started and answered (a setup process's job)."""
    from app.auth.service import Principal
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.quizzes import bank, repository
    from app.quizzes import service as quiz_service
    from app.quizzes.schemas import AnswersIn

    k, quiz_id, user_ids = job
    settings = get_settings()
    out: list[Planned] = []
    with session_scope() as session:
        quiz = quiz_service.get_quiz(session, quiz_id)
        ids = quiz_service.quiz_question_ids(session, quiz)
        shown: dict[int, Shown] = {}
        for v, _category in repository.current_versions(session, ids).values():
            stored = bank.from_row(
                v.id, v.type, v.text, v.title, v.text_format, v.points, v.content_json
            )
            choices = [
                ChoiceShown(cid, c.text)
                for cid, c in zip(stored.choice_ids, stored.question.choices, strict=True)
            ]
            shown[v.id] = Shown(v.question_id, v.type, v.points, choices)
        for learner, uid in enumerate(user_ids):
            principal = Principal(user_id=uid, name="", roles=frozenset({"learner"}), via="token")
            attempt, _ = quiz_service.start_attempt(session, quiz, principal, settings=settings)
            answers, expected, maximum = [], 0.0, 0.0
            for position, item in enumerate(json.loads(attempt.layout_json)):
                q = shown[item["v"]]
                maximum += q.points
                right = _right(learner, k, position)
                if right is None:
                    continue
                answers.append({"question_id": q.id, **_response(q, right)})
                expected += q.points if right else 0.0
            quiz_service.save_answers(
                session, attempt, AnswersIn.model_validate({"answers": answers}), settings
            )
            out.append(Planned(attempt.id, learner, k, expected, maximum))
    return out


@dataclasses.dataclass(slots=True)
class ChoiceShown:
    id: str
    text: str


@dataclasses.dataclass(slots=True)
class Shown:
    """A question as the learner sees it (what `_response` needs)."""

    id: int
    type: str
    points: float
    choices: list[ChoiceShown]


# --- the server ---------------------------------------------------------------------------------


def serve_profiled(port: int, out: str) -> None:
    """Child process with --profile: one uvicorn worker; the event loop's profiler starts with the
    first request (start-up and imports are not in it) and every thread-pool call (dependencies,
    sync routes, the commit) runs under a per-thread one. The profilers count CPU time of their
    thread (`time.thread_time`), not wall time: waits for the database, the pool or the GIL do not
    show up as time spent. Also used by request_overhead.py --profile."""
    import anyio.to_thread
    import uvicorn
    from uvicorn.importer import import_from_string

    profiles: list[cProfile.Profile] = []
    local = threading.local()
    real_run_sync = anyio.to_thread.run_sync

    def profiled(func: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            prof = getattr(local, "prof", None)
            if prof is None:
                prof = local.prof = cProfile.Profile(time.thread_time)
                profiles.append(prof)
            prof.enable()
            try:
                return func(*args)
            finally:
                prof.disable()

        return call

    async def run_sync(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await real_run_sync(profiled(func), *args, **kwargs)

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    app = import_from_string(_factory())()
    loop_prof = cProfile.Profile(time.thread_time)
    started = False

    async def first_request_starts(scope: Any, receive: Any, send: Any) -> None:
        nonlocal started
        if scope["type"] == "http" and not started:
            started = True
            loop_prof.enable()
        await app(scope, receive, send)

    try:
        uvicorn.run(first_request_starts, host="127.0.0.1", port=port, log_level="warning",
                    access_log=False)  # fmt: skip
    finally:
        loop_prof.disable()
        loop_prof.dump_stats(out + ".loop")
        if profiles:
            stats = pstats.Stats(profiles[0])
            for prof in profiles[1:]:
                stats.add(prof)
            stats.dump_stats(out + ".threads")


def start_server(
    port: int,
    workers: int,
    env: dict[str, str],
    log: Path,
    profile: str | None,
    breakdown: str | None,
    max_inflight: int,
) -> subprocess.Popen[bytes]:
    args = [sys.executable, __file__, "--serve", str(port), str(workers)]
    if profile:
        args += ["--profile-out", profile]
    if breakdown:
        env = env | {"BENCH_BREAKDOWN": breakdown}
    if max_inflight:
        env = env | {"BENCH_MAX_INFLIGHT": str(max_inflight)}
    handle = log.open("wb")
    return subprocess.Popen(args, cwd=REPO, env=os.environ | env, stderr=handle, stdout=handle)


def _factory() -> str:
    """The app as it is, or `make_app` when an experiment or the breakdown is asked for."""
    names = ("BENCH_BREAKDOWN", "BENCH_MAX_INFLIGHT")
    wrapped = any(os.environ.get(name) for name in names)
    return "quiz_submit:make_app" if wrapped else "app.main:create_app"


def serve(port: int, workers: int) -> None:
    """Child process: uvicorn as `lms serve --workers N` runs it (with --breakdown: through
    `make_app`, which times the phases of each request in every worker)."""
    import uvicorn

    uvicorn.run(
        _factory(), factory=True, app_dir=str(Path(__file__).resolve().parent), host="127.0.0.1",
        port=port, workers=workers, log_level="warning", access_log=False,
    )  # fmt: skip


# --- time per phase (--breakdown) ---------------------------------------------------------------

# (name, module, attribute): the functions whose thread CPU time is summed, in every worker.
# Nested phases are included in their callers' figures.
_PHASES = (
    ("thread pool: all sync work of a request", None, None),
    (
        "  auth: resolve_credential (a principal cache miss)",
        "app.auth.service",
        "resolve_credential",
    ),
    ("  quizzes.service.submit_attempt", "app.quizzes.service", "submit_attempt"),
    ("    grading_facts (attempt, quiz, progress)", "app.quizzes.repository", "grading_facts"),
    ("    repository.claim (UPDATE)", "app.quizzes.repository", "claim"),
    ("    _layout_questions (versions)", "app.quizzes.service", "_layout_questions"),
    ("    repository.responses_of (answers)", "app.quizzes.repository", "responses_of"),
    ("    _grade (scoring)", "app.quizzes.service", "_grade"),
    ("    repository.store_grade (UPDATE)", "app.quizzes.repository", "store_grade"),
    ("    _update_progress", "app.quizzes.service", "_update_progress"),
    ("      progress complete_activity", "app.progress.service", "complete_activity"),
    ("        certificates enrolment_changed", "app.certificates.service", "enrolment_changed"),
    ("          _context (run, course, rules: uncached)", "app.certificates.service", "_context"),
    (
        "          _cached_context (run; course facts cached)",
        "app.certificates.service",
        "_cached_context",
    ),
    ("          _one_learner (the learner's result)", "app.certificates.service", "_one_learner"),
    ("          _store_completion (ORM)", "app.certificates.service", "_store_completion"),
    (
        "          _insert_completion (ON CONFLICT)",
        "app.certificates.service",
        "_insert_completion",
    ),
    ("          _issue_one (number, row, outbox)", "app.certificates.service", "_issue_one"),
    ("      learner_outcome", "app.quizzes.service", "learner_outcome"),
    ("  Session.commit", "sqlalchemy.orm", "Session.commit"),
)


def make_app() -> Any:
    """`create_app()` for the experiments: with $BENCH_BREAKDOWN, thread-CPU timers around the
    phases above (each worker writes its sums to `$BENCH_BREAKDOWN.<pid>` at shutdown); with
    $BENCH_MAX_INFLIGHT, at most that many requests in the app at once per worker (the others
    wait before taking a thread or a database connection)."""
    from app.main import create_app

    app = create_app()
    limit = int(os.environ.get("BENCH_MAX_INFLIGHT") or 0)
    if limit:
        app = _limited(app, limit)
    if os.environ.get("BENCH_BREAKDOWN"):
        app = _timed_app(app)
    return app


def _limited(app: Any, limit: int) -> Any:
    """An ASGI wrapper admitting `limit` HTTP requests at a time (FIFO)."""
    gate: asyncio.Semaphore | None = None

    async def limited(scope: Any, receive: Any, send: Any) -> None:
        nonlocal gate
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        if gate is None:
            gate = asyncio.Semaphore(limit)
        async with gate:
            await app(scope, receive, send)

    return limited


def _timed_app(app: Any) -> Any:
    """Only the work of submit requests is counted (a context variable set per request is
    copied into the thread-pool calls), so logins before the timed phase are left out."""
    import contextvars
    import importlib

    import anyio.to_thread

    sums: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    submitting = contextvars.ContextVar("submitting", default=False)

    def timed(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if not submitting.get():
                return func(*args, **kwargs)
            t0 = time.thread_time()
            try:
                return func(*args, **kwargs)
            finally:
                sums[name] += time.thread_time() - t0
                calls[name] += 1

        return call

    for name, module, attribute in _PHASES:
        if module is None or attribute is None:
            continue
        owner: Any = importlib.import_module(module)
        *path, last = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        if hasattr(owner, last):  # the code under test may have renamed it: shown as "-"
            setattr(owner, last, timed(name, getattr(owner, last)))
    real_run_sync = anyio.to_thread.run_sync
    pool_name = _PHASES[0][0]

    async def run_sync(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await real_run_sync(timed(pool_name, func), *args, **kwargs)

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]
    out = os.environ["BENCH_BREAKDOWN"]

    def dump() -> None:
        cpu = time.process_time()
        Path(f"{out}.{os.getpid()}").write_text(
            json.dumps({"sums": sums, "calls": calls, "process_cpu": cpu})
        )

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":

            async def receive_and_dump() -> Any:
                message = await receive()
                if message["type"] == "lifespan.shutdown":
                    dump()
                return message

            await app(scope, receive_and_dump, send)
            return
        token = submitting.set(scope["type"] == "http" and scope["path"].endswith("/submit"))
        try:
            await app(scope, receive, send)
        finally:
            submitting.reset(token)

    return wrapped


def report_breakdown(prefix: str, submits: int, server_cpu: float) -> None:
    """Per submit, the thread CPU time of each phase summed over the workers."""
    sums: dict[str, float] = defaultdict(float)
    for path in Path(prefix).parent.glob(Path(prefix).name + ".*"):
        data = json.loads(path.read_text())
        for name, value in data["sums"].items():
            sums[name] += value
    if not sums:
        print("breakdown: no data (the workers did not shut down cleanly)")
        return
    print(f"\ntime per phase, CPU ms per submit ({submits} submits, all workers; thread CPU of")
    print("the submit requests' thread-pool calls, nested phases included in their parents;")
    print("- = not called, or no longer in the code):")
    print(f"  {'server processes (all CPU during the timed phase)':<52} "
          f"{server_cpu / submits * 1000:6.2f}")  # fmt: skip
    for name, _module, _attribute in _PHASES:
        value = f"{sums[name] / submits * 1000:6.2f}" if name in sums else "     -"
        print(f"  {name:<52} {value}")
    pool = sums.get(_PHASES[0][0], 0.0)
    print(f"  {'event loop, HTTP, middleware, routing (the rest)':<52} "
          f"{(server_cpu - pool) / submits * 1000:6.2f}")  # fmt: skip


def wait_for_workers(pid: int, timeout: float = 60.0) -> None:
    """Wait until the server's worker processes have started (their CPU stops growing: the app
    is imported and built). The port answers as soon as the first worker listens; load sent
    before the others are up lands on that one worker for the life of its keep-alive
    connections, and the figures then measure one core, not the server."""
    import psutil

    deadline = time.monotonic() + timeout
    previous: dict[int, float] = {}
    while time.monotonic() < deadline:
        now: dict[int, float] = {}
        for p in psutil.Process(pid).children(recursive=True):
            try:
                t = p.cpu_times()
                now[p.pid] = t.user + t.system
            except psutil.NoSuchProcess:
                pass
        settled = previous and now.keys() == previous.keys()
        if settled and all(now[k] - previous[k] < 0.05 for k in now):
            return
        previous = now
        time.sleep(0.5)


def _tree_cpu(pid: int) -> float:
    import psutil

    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process on this machine (server and backends)."""
    import psutil

    total = 0.0
    for p in psutil.process_iter(["name"]):
        if (p.info["name"] or "").startswith("postgres"):
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
    return total


# --- the client ---------------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class Result:
    attempt_id: int
    status: int
    seconds: float
    body: dict[str, Any] | None


class RawConnection:
    """One keep-alive HTTP/1.1 connection with just enough of the protocol for this benchmark
    (Content-Length bodies): it costs the client a small part of what httpx does."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        """Send and read one request; a kept-alive connection the server closed in between
        is opened again and the request sent once more (as HTTP clients do)."""
        reused = self.writer is not None
        try:
            return await self._request(method, path, headers, body)
        except (ConnectionError, asyncio.IncompleteReadError, RuntimeError):
            await self.close()
            if not reused:
                raise
            return await self._request(method, path, headers, body)

    async def _request(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readline()
        if not status_line:
            await self.close()
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        data = await self.reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def fetch_tokens(port: int, nips: list[str]) -> list[str]:
    """A bearer token per learner (before the timed phase), 20 logins at a time."""
    from urllib.parse import urlencode

    tokens: list[str] = [""] * len(nips)
    queue = list(enumerate(nips))

    async def worker() -> None:
        conn = RawConnection(port)
        while queue:
            index, nip = queue.pop()
            body = urlencode({"username": nip, "password": PASSWORD}).encode()
            status, data = await conn.request(
                "POST",
                "/api/v1/auth/token",
                {"Content-Type": "application/x-www-form-urlencoded"},
                body,
            )
            if status != 200:
                raise RuntimeError(f"login failed: {status} {data[:200]!r}")
            tokens[index] = json.loads(data)["access_token"]
        await conn.close()

    await asyncio.gather(*(worker() for _ in range(20)))
    return tokens


async def submitters(
    port: int,
    tokens: list[str],
    plan: dict[int, list[Planned]],
    stop_at: float,
    max_submits: int,
    client: str,
) -> list[Result]:
    """One task per learner, each submitting its attempts in turn on its own connection."""
    results: list[Result] = []
    budget = [max_submits]

    async def raw(learner: int) -> None:
        conn = RawConnection(port)
        headers = {"Authorization": f"Bearer {tokens[learner]}"}
        for planned in plan[learner]:
            if time.monotonic() >= stop_at or budget[0] <= 0:
                break
            budget[0] -= 1
            t0 = time.perf_counter()
            try:
                status, data = await conn.request(
                    "POST", f"/api/v1/attempts/{planned.attempt_id}/submit", headers
                )
                body = json.loads(data) if status == 200 else None
            except (OSError, asyncio.IncompleteReadError, RuntimeError, ValueError):
                await conn.close()
                status, body = 0, None
            results.append(Result(planned.attempt_id, status, time.perf_counter() - t0, body))
        await conn.close()

    async def with_httpx(learner: int, http: Any) -> None:
        headers = {"Authorization": f"Bearer {tokens[learner]}"}
        for planned in plan[learner]:
            if time.monotonic() >= stop_at or budget[0] <= 0:
                break
            budget[0] -= 1
            t0 = time.perf_counter()
            try:
                response = await http.post(
                    f"/api/v1/attempts/{planned.attempt_id}/submit", headers=headers
                )
                status = response.status_code
                body = response.json() if status == 200 else None
            except Exception:  # counted as an error
                status, body = 0, None
            results.append(Result(planned.attempt_id, status, time.perf_counter() - t0, body))

    if client == "httpx":
        import httpx

        limits = httpx.Limits(max_connections=len(tokens), max_keepalive_connections=len(tokens))
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=120
        ) as http:
            await asyncio.gather(*(with_httpx(i, http) for i in range(len(tokens))))
    else:
        await asyncio.gather(*(raw(i) for i in range(len(tokens))))
    return results


# --- verification -------------------------------------------------------------------------------


def attempt_updates() -> int | None:
    """UPDATEs PostgreSQL counted on quiz_attempt so far (None on SQLite)."""
    from sqlalchemy import text

    from app.core.db import get_engine

    engine = get_engine()
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        value = conn.execute(
            text("SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'quiz_attempt'")
        ).scalar()
    return int(value or 0)


def verify(setup: Setup, results: list[Result], updates: int | None) -> list[str]:
    """Every check against the database; returns the failures (empty = all good)."""
    from sqlalchemy import func, select

    from app.core.db import session_scope
    from app.quizzes.models import Attempt, QuizAuditLog

    failures: list[str] = []
    planned = {p.attempt_id: p for ps in setup.attempts.values() for p in ps}
    ok = {r.attempt_id: r for r in results if r.status == 200}
    sent = {r.attempt_id for r in results}
    with session_scope() as session:
        rows = {
            a.id: a for a in session.scalars(select(Attempt).where(Attempt.id.in_(list(planned))))
        }
        states: dict[str, int] = defaultdict(int)
        for attempt in rows.values():
            states[attempt.state] += 1
        audit = session.scalar(select(func.count()).select_from(QuizAuditLog)) or 0
    graded = {aid for aid, a in rows.items() if a.state == "graded"}
    wrong_score = [
        aid for aid in graded
        if abs((rows[aid].score or 0) - planned[aid].expected) > 1e-6
        or abs((rows[aid].max_score or 0) - planned[aid].max_score) > 1e-6
    ]  # fmt: skip
    mismatched = [
        aid for aid, r in ok.items()
        if r.body is None or abs(r.body["score"] - (rows[aid].score or 0)) > 1e-9
        or r.body["state"] != "graded"
    ]  # fmt: skip
    lost = sorted(aid for aid in ok if aid not in graded)  # answered 200 but not graded
    unsent_graded = sorted(graded - sent)  # graded without being submitted
    other_hand = [
        aid for aid in graded
        if rows[aid].graded_at != rows[aid].submitted_at or rows[aid].auto_submitted
    ]  # fmt: skip
    print(
        f"database: attempts {dict(sorted(states.items()))}; submitted OK {len(ok)}, "
        f"graded {len(graded)}, graded with the expected score {len(graded) - len(wrong_score)}"
    )
    print(
        f"          responses with the stored score {len(ok) - len(mismatched)}/{len(ok)}, "
        f"lost {len(lost)}, graded but never submitted {len(unsent_graded)}, "
        f"graded other than by its submit {len(other_hand)}, audit lines {audit}"
    )
    if updates is not None:
        claimed = len(graded & sent)
        print(
            f"          UPDATEs on quiz_attempt during the timed phase: {updates} "
            f"(2 per graded submit, claim + grade: {2 * claimed})"
        )
        if updates != 2 * claimed:
            failures.append(
                f"{updates} UPDATEs on quiz_attempt for {claimed} graded submits (a rolled-back "
                "claim also counts)"
            )
    if len(graded) != len(ok) or lost or unsent_graded:
        failures.append(f"graded {len(graded)} != submitted OK {len(ok)} (lost {lost[:5]})")
    if wrong_score:
        failures.append(f"{len(wrong_score)} attempts with an unexpected score: {wrong_score[:5]}")
    if mismatched:
        failures.append(f"{len(mismatched)} responses differ from the database: {mismatched[:5]}")
    if other_hand:
        failures.append(f"{len(other_hand)} attempts graded other than by their submit")
    if audit:
        failures.append(f"{audit} audit lines (a submit writes none)")
    return failures


# --- one run ------------------------------------------------------------------------------------


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(args: argparse.Namespace, url: str, label: str) -> tuple[list[str], str]:
    from tests.ports import free_port, wait_for_port

    with tempfile.TemporaryDirectory(prefix="lms-quiz-bench-") as tmp_name:
        tmp = Path(tmp_name)
        if url.startswith("postgresql"):
            recreate_postgres(url)
        env = app_env(url, tmp)
        use_database(env)
        from app.cli import upgrade_database

        upgrade_database()
        setup = setup_data(args.learners, args.quizzes, args.questions, args.setup_procs)
        print(f"setup: {setup.total} attempts ready in {setup.seconds:.1f} s", flush=True)

        port = free_port()
        workers = 1 if args.profile else args.workers
        profile_out = str(tmp / "profile") if args.profile else None
        log = tmp / "server.log"
        breakdown = str(tmp / "breakdown") if args.breakdown else None
        server = start_server(port, workers, env, log, profile_out, breakdown, args.max_inflight)
        try:
            try:
                wait_for_port(port, 120.0)
                wait_for_workers(server.pid)
            except RuntimeError:
                print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
                raise
            if args.client == "raw":
                try:
                    import uvloop

                    uvloop.install()
                except ImportError:
                    pass
            t0 = time.perf_counter()
            tokens = asyncio.run(fetch_tokens(port, setup.nips))
            print(f"tokens: {len(tokens)} in {time.perf_counter() - t0:.1f} s (not timed)")
            updates_before = attempt_updates()
            server_cpu0, pg_cpu0 = _tree_cpu(server.pid), _postgres_cpu()
            client_cpu0 = time.process_time()
            started = time.perf_counter()
            stop_at = time.monotonic() + args.seconds
            results = asyncio.run(
                submitters(port, tokens, setup.attempts, stop_at, args.max_submits, args.client)
            )
            elapsed = time.perf_counter() - started
            client_cpu = time.process_time() - client_cpu0
            server_cpu = _tree_cpu(server.pid) - server_cpu0
            pg_cpu = _postgres_cpu() - pg_cpu0
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(10)
        updates_after = attempt_updates()
        updates = (
            None
            if updates_before is None or updates_after is None
            else updates_after - updates_before
        )
        ok = [r for r in results if r.status == 200]
        errors: dict[int, int] = defaultdict(int)
        for r in results:
            if r.status != 200:
                errors[r.status] += 1
        latencies = [r.seconds * 1000 for r in results]
        rate = len(ok) / elapsed if elapsed else 0.0
        line = (
            f"{label}: {len(results)} submits by {args.learners} concurrent submitters in "
            f"{elapsed:.1f} s = {rate:.0f} submits/s; latency ms p50 "
            f"{_percentile(latencies, 50):.0f}, p95 {_percentile(latencies, 95):.0f}, p99 "
            f"{_percentile(latencies, 99):.0f} (mean {statistics.fmean(latencies):.0f}); "
            f"errors {sum(errors.values())}{dict(errors) if errors else ''}"
        )
        print(line)
        wall = elapsed
        print(
            f"CPU over {wall:.1f} s wall ({os.cpu_count()} cores): server {server_cpu:.1f} s "
            f"({server_cpu / max(len(results), 1) * 1000:.1f} ms/submit), PostgreSQL "
            f"{pg_cpu:.1f} s ({pg_cpu / max(len(results), 1) * 1000:.1f} ms/submit), client "
            f"{client_cpu:.1f} s ({client_cpu / max(len(results), 1) * 1000:.2f} ms/submit)"
        )
        failures = verify(setup, results, updates)
        server_errors = [
            ln for ln in log.read_text(errors="replace").splitlines() if '"level": "error"' in ln
        ]
        if server_errors:
            messages: dict[str, int] = defaultdict(int)
            for ln in server_errors:
                try:
                    messages[str(json.loads(ln).get("message", ""))[:240]] += 1
                except ValueError:
                    messages[ln[:240]] += 1
            print(f"server log: {len(server_errors)} errors:")
            for message, n in sorted(messages.items(), key=lambda kv: -kv[1])[:5]:
                print(f"  {n} x {message}")
        if args.profile and profile_out:
            report_profile(profile_out, len(results))
        if breakdown:
            report_breakdown(breakdown, len(results), server_cpu)
        if args.copy_profile and profile_out:
            for suffix in (".loop", ".threads"):
                if Path(profile_out + suffix).exists():
                    shutil.copy(profile_out + suffix, args.copy_profile + suffix)
        from app.core.db import reset_engine

        reset_engine()
        if url.startswith("postgresql") and not args.keep:
            drop_postgres(url)
    return failures, line


# --- profile report -----------------------------------------------------------------------------

_GROUPS = (
    ("psycopg", "database driver (psycopg)"),
    ("sqlite3", "database driver (sqlite3)"),
    ("sqlalchemy", "SQLAlchemy"),
    ("pydantic", "pydantic"),
    ("fastapi", "FastAPI"),
    ("starlette", "Starlette"),
    ("uvicorn", "uvicorn"),
    ("anyio", "anyio"),
    ("/app/", "app code"),
    ("json", "json"),
    ("asyncio", "asyncio"),
    ("threading", "threading"),
)


def _group(filename: str) -> str:
    for needle, name in _GROUPS:
        if needle in filename:
            return name
    if filename.startswith("~") or filename == "~":
        return "builtins (C)"
    return "other"


def report_profile(prefix: str, submits: int) -> None:
    """Where the time of one worker went: own time by library, then the top functions."""
    for suffix, title in ((".threads", "thread pool (sync deps, routes, commit)"),
                          (".loop", "event loop (HTTP, routing, JSON, middleware)")):  # fmt: skip
        path = Path(prefix + suffix)
        if not path.exists():
            continue
        stats = pstats.Stats(str(path))
        raw: Any = stats.stats  # type: ignore[attr-defined]
        by_group: dict[str, float] = defaultdict(float)
        total = 0.0
        for (filename, _line, _name), (_cc, _nc, tt, _ct, _callers) in raw.items():
            by_group[_group(filename)] += tt
            total += tt
        print(
            f"\nprofile, {title}: {total:.1f} s own time = {total / submits * 1000:.2f} ms/submit"
        )
        for name, seconds in sorted(by_group.items(), key=lambda kv: -kv[1])[:10]:
            print(f"  {name:<28} {seconds:7.2f} s {seconds / total * 100:5.1f}%")
        out = io.StringIO()
        pstats.Stats(str(path), stream=out).sort_stats("cumulative").print_stats(40)
        text = "\n".join(
            ln for ln in out.getvalue().splitlines() if ln.strip() and "{built-in" not in ln
        )
        print(text[text.find("ncalls") :][:9000])


# --- main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--learners", type=int, default=200, help="concurrent submitters")
    parser.add_argument("--quizzes", type=int, default=20, help="attempts per learner")
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--seconds", type=float, default=120.0, help="bound of the timed phase")
    parser.add_argument("--max-submits", type=int, default=1_000_000)
    parser.add_argument("--setup-procs", type=int, default=4, help="processes for the setup")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw")
    parser.add_argument("--sqlite", action="store_true", help="also run on a SQLite file")
    parser.add_argument("--sqlite-only", action="store_true", help="run on a SQLite file only")
    parser.add_argument("--profile", action="store_true", help="one worker under cProfile")
    parser.add_argument(
        "--breakdown", action="store_true", help="CPU time per phase of a submit, all workers"
    )
    parser.add_argument(
        "--max-inflight",
        type=int,
        default=0,
        help="experiment: admit at most N requests at once per worker (0: the app as it is)",
    )
    parser.add_argument("--copy-profile", help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--serve", nargs=2, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        if args.profile_out:
            serve_profiled(args.serve[0], args.profile_out)
        else:
            serve(args.serve[0], args.serve[1])
        return 0

    failures: list[str] = []
    lines: list[str] = []
    rate: float | None = None
    if not args.sqlite_only:
        failures, line = run(args, args.database_url, "PostgreSQL")
        lines.append(line)
        rate = float(line.split(" submits/s")[0].rsplit("= ", 1)[1])
    if args.sqlite or args.sqlite_only:
        with tempfile.TemporaryDirectory(prefix="lms-quiz-bench-sqlite-") as tmp:
            sqlite_failures, sqlite_line = run(args, f"sqlite:///{tmp}/bench.db", "SQLite")
        failures += [f"SQLite: {f}" for f in sqlite_failures]
        lines.append(sqlite_line)
    print()
    for ln in lines:
        print(ln)
    if rate is not None:
        verdict = "met" if rate >= TARGET else "MISSED"
        print(
            f"target >= {TARGET:.0f} submits/s on PostgreSQL with {args.learners} concurrent "
            f"submitters: {verdict}"
        )
    if failures:
        print("VERIFICATION FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("verification: OK")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
