"""Benchmark: the learner's home page (GET /) for an ASN enrolled in 10 runs, in-process (httpx
over ASGITransport, no network), with the number of SQL statements per request.

    .venv/bin/python bench/dashboard.py [--database-url URL] [--runs 10] [--requests 200]
        [--seconds 60] [--profile] [--workdir DIR]

Database: a fresh SQLite file in a temporary folder by default, or a PostgreSQL database whose
name starts with `bench_dashboard` (its public schema is dropped and re-made; `test` and any
other name are refused). Seeded (not timed) with the services and Core inserts: one learner
with a complete profile and a competency gap, `--runs` published courses of 5 sections x 6
activities (the last one a post-test), one run each with the learner enrolled and some progress
(run i: 3*i activities completed), the first three runs finished with a passed post-test and a
certificate (so JP credits and unread notifications too), two runs ending within the deadline
window.

Timed, sequential, after 5 warm-up requests each: GET / (the dashboard) and GET /__bench/shell
(a route added here that renders only base.html with the same dependencies: principal, session,
menu, CSRF token, the bell's unread count) — what every page pays. Printed: wall-clock p50 /
p95 / max of the in-process request, CPU p50 of this process (the app and the in-process client),
SQL statements per request. `--show-sql` lists one request's statements. `--profile` prints the
cProfile top functions of the handler of 50 dashboard requests. Never a test assertion.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import io
import os
import pstats
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EMAIL = "bench-dashboard@example.go.id"
PASSWORD = "Dasbor-Peserta-Uji-2026"
SECTIONS, ACTIVITIES = 5, 6
MAX_REQUESTS = 5000


def configure(database_url: str | None, work: Path) -> str:
    """Point the app at the bench database and a scratch folder (before any app import)."""
    if database_url is None:
        database_url = f"sqlite:///{work / 'bench.db'}"
    elif database_url.startswith("postgresql"):
        name = database_url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
        if not name.startswith("bench_dashboard"):
            sys.exit("refusing: the PostgreSQL database's name must start with bench_dashboard")
    os.environ.update(
        {
            # "test" takes production's request path (templates compiled once, no reloading)
            # without production's demands on keys and secrets, which the seed would trip on.
            "LMS_ENVIRONMENT": "test",
            "LMS_SECRET_KEY": "bench-dashboard-secret-key-0123456789abcdef",
            "LMS_DATABASE_URL": database_url,
            "LMS_STORAGE_URL": f"file://{work / 'objects'}",
            "LMS_KEYS_DIR": str(work / "keys"),
            "LMS_JOBS_URL": "immediate",
            "LMS_JOBS_IN_PROCESS_WORKER": "false",
            "LMS_OUTBOX_KICK": "false",
            "LMS_LOG_LEVEL": "WARNING",
            "LMS_QUIZ_SWEEP_SECONDS": "0",
            "LMS_SMTP_URL": "",
            "LMS_WHATSAPP_URL": "",
        }
    )
    sys.path.insert(0, str(ROOT))
    return database_url


def reset_database(database_url: str) -> None:
    if database_url.startswith("postgresql"):
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from quiz_submit import recreate_postgres

        from app.core.db import reset_engine

        reset_engine()  # the app's pool holds no connection to the database dropped here
        recreate_postgres(database_url)  # made when missing
    from app.cli import upgrade_database

    upgrade_database()


def seed(runs: int) -> dict[str, Any]:
    """The learner, the courses, runs, progress, certificates. Returns counts."""
    from sqlalchemy import func, insert, select

    from app.accounts import service as accounts_service
    from app.accounts.schemas import OpdCreate, UserCreate
    from app.auth.service import Principal
    from app.certificates import service as certificates_service
    from app.competency.models import CompetencyAssessment
    from app.core import clock
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.courses import service as courses_service
    from app.courses.constants import ActivityKind
    from app.courses.models import Enrolment, Run
    from app.courses.schemas import CourseCreate
    from app.notifications.models import Notification
    from app.progress.models import ActivityProgress
    from app.quizzes import service as quiz_service
    from app.quizzes.models import Attempt
    from app.quizzes.schemas import QuizSettings

    settings = get_settings()
    staff = Principal(user_id=0, name="bench", roles=frozenset({"admin"}), via="token")
    today = clock.today()
    now = dt.datetime.now(dt.UTC)
    with session_scope() as session:
        accounts_service.create_opd(session, OpdCreate(code="DISKOMINFO", name="Dinas Kominfo"))
        user = accounts_service.create_user(
            session,
            UserCreate(nip="199001012015031001", name="Ni Luh Putu Benchmark", email=EMAIL,
                       password=PASSWORD, roles=["learner"], opd_code="DISKOMINFO",  # type: ignore[list-item]
                       employment="PNS", pangkat_golongan="III/a",  # type: ignore[arg-type]
                       jabatan="Pranata Komputer Ahli Pertama"),
            settings,
        )  # fmt: skip
        user_id = user.id
        session.add(CompetencyAssessment(
            user_id=user_id, competency_code="literasi_digital", level=1, required_level=3,
            assessed_on=today, method="assessment center",
        ))  # fmt: skip
        plan: list[tuple[int, list[int], int]] = []  # (run id, activity ids, quiz id)
        for i in range(runs + 2):  # two more published courses to recommend
            course = courses_service.create_course(
                session,
                CourseCreate(code=f"BD{i:03d}", title=f"Kursus Dasbor {i + 1}", jp=20,
                             category="teknis", competencies=["literasi_digital"]),  # type: ignore[arg-type]
                staff,
            )  # fmt: skip
            course.created_by_id = None
            activity_ids: list[int] = []
            quiz_id = 0
            for s in range(SECTIONS):
                section = courses_service.add_section(session, course, f"Mata Pelatihan {s + 1}")
                for a in range(ACTIVITIES):
                    if s == SECTIONS - 1 and a == ACTIVITIES - 1:
                        quiz = quiz_service.create_quiz(
                            session, section,
                            QuizSettings.model_validate(
                                {"title": "Post-test", "kind": "posttest", "pass_score": 70}),
                        )  # fmt: skip
                        quiz_id = quiz.id
                        activity_ids.append(quiz.activity_id)
                        continue
                    activity = courses_service.add_activity(
                        session, section,
                        courses_service.ActivityInput(
                            kind=ActivityKind.PAGE, title=f"Modul {s + 1}.{a + 1}",
                            body="# Materi\n\nIsi.", duration_minutes=45),
                    )  # fmt: skip
                    activity_ids.append(activity.id)
            courses_service.publish(session, course)
            ends = today + dt.timedelta(days=5 + i if i in (3, 4) else 60 + i)
            run = Run(course_id=course.id, name=f"Angkatan {i + 1}", starts_on=today - dt.timedelta(days=30),
                      ends_on=ends, funding_source="apbd_kabupaten", self_enrol=True)  # fmt: skip
            session.add(run)
            session.flush()
            if i < runs:
                plan.append((run.id, activity_ids, quiz_id))
    with session_scope() as session:
        for i, (run_id, activity_ids, quiz_id) in enumerate(plan):
            session.execute(insert(Enrolment), [{"run_id": run_id, "user_id": user_id,
                            "status": "active", "enrolled_at": now, "updated_at": now}])  # fmt: skip
            session.query(Run).filter(Run.id == run_id).update({"enrolled_count": 1})
            enrolment_id = session.scalar(select(Enrolment.id).where(Enrolment.run_id == run_id))
            done = len(activity_ids) if i < 3 else min(3 * i, len(activity_ids) - 1)
            seen = now - dt.timedelta(hours=runs - i)
            rows = [
                {"enrolment_id": enrolment_id, "activity_id": a,
                 "status": "completed" if n < done else "in_progress", "position_seconds": 0.0,
                 "watched_seconds": 0.0, "watched_intervals": "[]", "time_seconds": 600.0,
                 "first_seen_at": seen, "last_seen_at": seen,
                 "completed_at": seen if n < done else None}
                for n, a in enumerate(activity_ids[: done + 1])
            ]  # fmt: skip
            session.execute(insert(ActivityProgress), rows)
            if i < 3:
                session.execute(insert(Attempt), [{
                    "quiz_id": quiz_id, "user_id": user_id, "enrolment_id": enrolment_id,
                    "run_id": run_id, "number": 1, "preview": False, "state": "graded",
                    "started_at": now, "submitted_at": now, "graded_at": now, "score": 85,
                    "max_score": 100, "percent": 85.0, "passed": True, "layout_json": "[]",
                    "results_json": "[]", "furthest_position": 0, "auto_submitted": False,
                }])  # fmt: skip
    with session_scope() as session:
        for run_id, _activities, _quiz in plan[:3]:
            result = certificates_service.issue(session, run_id, [user_id], None, settings)
            assert result.issued, result
    with session_scope() as session:
        from app.certificates.models import Certificate

        counts = {
            "runs": len(plan),
            "activities_per_course": len(plan[0][1]) if plan else 0,
            "certificates": session.scalar(select(func.count()).select_from(Certificate)) or 0,
            "unread_notifications": session.scalar(
                select(func.count()).select_from(Notification).where(
                    Notification.user_id == user_id, Notification.read_at.is_(None))
            ) or 0,
        }  # fmt: skip
    return counts


def add_shell_route(app: Any) -> None:
    """GET /__bench/shell: the page shell alone (principal, session, menu, bell, base.html)."""
    from fastapi import Request
    from starlette.responses import Response

    from app.auth.dependencies import CurrentPrincipal, SessionDep
    from app.web.templating import render

    def shell(request: Request, principal: Any, db: Any) -> Response:
        return render(request, "base.html", {})

    # Real objects, not the strings `from __future__ import annotations` leaves for FastAPI.
    shell.__annotations__ = {"request": Request, "principal": CurrentPrincipal, "db": SessionDep,
                             "return": Response}  # fmt: skip
    app.add_api_route("/__bench/shell", shell, methods=["GET"], include_in_schema=False)


PROFILE = cProfile.Profile()


def add_profiled_route(app: Any) -> None:
    """GET /__bench/profiled: the dashboard's handler under cProfile (in the worker thread that
    runs it; cProfile sees only its own thread)."""
    from fastapi import Request
    from starlette.responses import Response

    from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep
    from app.web import pages

    def profiled(request: Request, principal: Any, db: Any, settings: Any) -> Response:
        PROFILE.enable()
        try:
            return pages.dashboard(request, principal, db, settings)
        finally:
            PROFILE.disable()

    profiled.__annotations__ = {"request": Request, "principal": CurrentPrincipal,
                                "db": SessionDep, "settings": SettingsDep, "return": Response}  # fmt: skip
    app.add_api_route("/__bench/profiled", profiled, methods=["GET"], include_in_schema=False)


async def measure(
    client: Any, path: str, count: int, seconds: float
) -> tuple[list[float], list[float], list[int], int]:
    """Sequential requests (bounded by count and time): wall and CPU milliseconds (this process,
    every thread: the app and the in-process client), statements, bytes."""
    from sqlalchemy import event

    from app.core.db import get_engine

    statements = [0]

    def on_execute(*_a: object) -> None:
        statements[0] += 1

    engine = get_engine()
    for _ in range(5):
        (await client.get(path)).raise_for_status()
    times: list[float] = []
    cpu: list[float] = []
    queries: list[int] = []
    size = 0
    event.listen(engine, "before_cursor_execute", on_execute)
    deadline = time.perf_counter() + seconds
    try:
        while len(times) < count and time.perf_counter() < deadline:
            statements[0] = 0
            started, cpu_started = time.perf_counter(), time.process_time()
            response = await client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
            queries.append(statements[0])
            response.raise_for_status()
            size = len(response.content)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    return times, cpu, queries, size


def line(label: str, times: list[float], cpu: list[float], queries: list[int], size: int) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (f"{label:<10} n={len(times):<4} wall p50 {statistics.median(ordered):6.1f} ms  "
            f"p95 {p95:6.1f} ms  max {ordered[-1]:6.1f} ms | CPU p50 "
            f"{statistics.median(cpu):5.1f} ms | SQL/request {min(queries)}-{max(queries)} | "
            f"{size / 1024:.0f} KiB")  # fmt: skip


async def run(args: argparse.Namespace) -> None:
    import httpx

    from app.main import create_app

    app = create_app()
    add_shell_route(app)
    add_profiled_route(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        page = await client.get("/login")
        token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
        assert token, "no CSRF token on /login"
        response = await client.post("/login", data={"csrf_token": token.group(1),
                                     "username": EMAIL, "password": PASSWORD, "next": "/"})  # fmt: skip
        assert response.status_code == 303, response.text[:500]
        home = (await client.get("/")).text
        assert "Kursus Dasbor" in home, home[:2000]
        for label, path in (("dashboard", "/"), ("shell", "/__bench/shell")):
            times, cpu, queries, size = await measure(client, path, args.requests, args.seconds)
            print(line(label, times, cpu, queries, size))
        if args.show_sql:
            from tests.queries import count_queries

            with count_queries() as statements:
                (await client.get("/")).raise_for_status()
            for n, statement in enumerate(statements, 1):
                print(f"{n:3d} {' '.join(statement.split())[:150]}")
        if args.profile:
            for _ in range(50):
                (await client.get("/__bench/profiled")).raise_for_status()
            out = io.StringIO()
            stats = pstats.Stats(PROFILE, stream=out)
            stats.sort_stats("cumulative").print_stats(args.profile_lines)
            stats.sort_stats("tottime").print_stats(25)
            print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0, help="time bound per scenario")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-lines", type=int, default=60)
    parser.add_argument("--show-sql", action="store_true", help="print one request's statements")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    args.requests = max(1, min(args.requests, MAX_REQUESTS))
    work = args.workdir or Path(tempfile.mkdtemp(prefix="lms-bench-dashboard-"))
    url = configure(args.database_url, work)
    print(f"uptime: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}"
          f" (load average 1/5/15 min); database: {url.split(':', 1)[0]}")  # fmt: skip
    started = time.perf_counter()
    reset_database(url)
    counts = seed(args.runs)
    print(f"seeded in {time.perf_counter() - started:.1f} s (not timed): {counts}")
    try:
        asyncio.run(run(args))
    finally:
        if args.workdir is None:  # ours: the SQLite file, objects and keys
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
