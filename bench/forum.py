"""Benchmark: a run's forum with many threads and a long thread, in-process (httpx over
ASGITransport, no network), with the SQL statements per request.

    .venv/bin/python bench/forum.py [--database-url URL] [--learners 300] [--threads 500]
        [--posts 1000] [--requests 100] [--seconds 30] [--workdir DIR]

Database: a fresh SQLite file in a temporary folder by default, or a PostgreSQL database whose
name starts with `bench_forum` (its public schema is dropped and re-made; other names refused).
Seeded (not timed, Core inserts): one run with `--learners` enrolled learners (all following the
whole forum) and a facilitator, `--threads` threads of 3 replies each, and one thread with
`--posts` replies. Timed, sequential, after 3 warm-up requests each, as a learner with a bearer
token: the thread list page, a search, the long thread's first and last page (HTML), its API
form, and a reply by the facilitator (one notification to each of the learners who follow the
forum). Printed: p50 / p95 / max wall-clock ms and SQL statements per request. Never a test.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Forum-Bench-Uji-2026"
MAX_REQUESTS = 2000


def configure(database_url: str | None, work: Path) -> str:
    if database_url is None:
        database_url = f"sqlite:///{work / 'bench.db'}"
    elif database_url.startswith("postgresql"):
        name = database_url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
        if not name.startswith("bench_forum"):
            sys.exit("refusing: the PostgreSQL database's name must start with bench_forum")
    os.environ.update(
        {
            "LMS_ENVIRONMENT": "test",
            "LMS_SECRET_KEY": "bench-forum-secret-key-0123456789abcdef012345",
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
            "LMS_RATE_LIMIT_FORUM_POST": "100000/minute",
            "LMS_RATE_LIMIT_API": "1000000/minute",
        }
    )
    sys.path.insert(0, str(ROOT))
    return database_url


def reset_database(database_url: str) -> None:
    from sqlalchemy import create_engine, text

    if database_url.startswith("postgresql"):
        engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    from app.cli import upgrade_database

    upgrade_database()


def seed(learners: int, threads: int, posts: int) -> dict[str, Any]:
    """The run, its people, threads and posts (Core inserts). Returns ids and counts."""
    from sqlalchemy import insert, select

    from app.accounts import service as accounts_service
    from app.accounts.models import User, UserRole
    from app.accounts.schemas import UserCreate
    from app.core import clock
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.courses.models import Course, Enrolment, Run, RunStaff
    from app.forums.models import Forum, ForumPost, ForumSubscription, ForumThread

    settings = get_settings()
    now = dt.datetime.now(dt.UTC)
    today = clock.today()
    with session_scope() as session:
        people = []
        for email, name in (("learner@bench.go.id", "Peserta Satu"),
                            ("fasil@bench.go.id", "Fasilitator Bench")):  # fmt: skip
            user = accounts_service.create_user(
                session,
                UserCreate(name=name, email=email, password=PASSWORD, roles=["learner"]),  # type: ignore[list-item]
                settings,
            )
            people.append(user.id)
        learner_id, facilitator_id = people
        session.execute(insert(User), [
            {"name": f"Peserta {i}", "email": f"p{i}@bench.go.id", "is_active": True}
            for i in range(learners - 1)
        ])  # fmt: skip
        others = list(session.scalars(select(User.id).where(User.email.like("p%@bench.go.id"))))
        session.execute(insert(UserRole), [{"user_id": u, "role": "learner"} for u in others])
        course = Course(code="FORUM", title="Bimtek Forum", category="teknis", jp=10,
                        status="published")  # fmt: skip
        session.add(course)
        session.flush()
        run = Run(course_id=course.id, name="Angkatan I", starts_on=today - dt.timedelta(days=5),
                  ends_on=today + dt.timedelta(days=30), funding_source="apbd_kabupaten")  # fmt: skip
        session.add(run)
        session.flush()
        members = [learner_id, *others]
        session.execute(insert(Enrolment), [
            {"run_id": run.id, "user_id": u, "status": "active"} for u in members
        ])  # fmt: skip
        session.add(RunStaff(run_id=run.id, user_id=facilitator_id, role="facilitator"))
        forum = Forum(scope_key=f"run:{run.id}", course_id=course.id, run_id=run.id, enabled=True)
        session.add(forum)
        session.flush()
        session.execute(insert(ForumSubscription), [
            {"user_id": u, "forum_id": forum.id, "thread_id": None, "target": "forum",
             "created_at": now} for u in members
        ])  # fmt: skip
        thread_rows = [
            {"forum_id": forum.id, "author_id": members[i % len(members)],
             "title": f"Pertanyaan nomor {i} tentang SPBE", "pinned": i % 50 == 0,
             "locked": False, "hidden": False, "reply_count": 3,
             "last_post_at": now - dt.timedelta(minutes=i), "created_at": now}
            for i in range(threads)
        ]  # fmt: skip
        thread_rows.append({"forum_id": forum.id, "author_id": learner_id,
                            "title": "Diskusi panjang", "pinned": False, "locked": False,
                            "hidden": False, "reply_count": posts, "last_post_at": now,
                            "created_at": now})  # fmt: skip
        session.execute(insert(ForumThread), thread_rows)
        ids = list(session.scalars(select(ForumThread.id).order_by(ForumThread.id)))
        long_id = ids[-1]
        body = "Menurut **PermenPANRB** 59/2020, indeks SPBE dihitung dari domain kebijakan."
        post_rows: list[dict[str, Any]] = []
        for tid in ids[:-1]:
            post_rows.append({"thread_id": tid, "author_id": learner_id, "opening": True,
                              "body": body, "created_at": now})  # fmt: skip
            post_rows += [{"thread_id": tid, "author_id": members[(tid + k) % len(members)],
                           "opening": False, "body": f"Balasan {k}: {body}", "created_at": now}
                          for k in range(3)]  # fmt: skip
        post_rows.append({"thread_id": long_id, "author_id": learner_id, "opening": True,
                          "body": body, "created_at": now})  # fmt: skip
        post_rows += [{"thread_id": long_id, "author_id": members[k % len(members)],
                       "opening": False, "body": f"Balasan {k}: {body}", "created_at": now}
                      for k in range(posts)]  # fmt: skip
        for start in range(0, len(post_rows), 5000):
            session.execute(insert(ForumPost), post_rows[start : start + 5000])
        return {"run": run.id, "long": long_id, "learners": len(members), "threads": len(ids),
                "posts": len(post_rows)}  # fmt: skip


async def measure(client: Any, method: str, path: str, n: int, seconds: float,
                  headers: dict[str, str], body: Any = None) -> tuple[list[float], list[int]]:  # fmt: skip
    from tests.queries import count_queries

    for _ in range(3):
        (await client.request(method, path, headers=headers, json=body)).raise_for_status()
    times: list[float] = []
    queries: list[int] = []
    deadline = time.perf_counter() + seconds
    for _ in range(n):
        with count_queries() as statements:
            started = time.perf_counter()
            response = await client.request(method, path, headers=headers, json=body)
            times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        queries.append(len(statements))
        if time.perf_counter() > deadline:
            break
    return times, queries


def line(label: str, times: list[float], queries: list[int]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (f"{label:34s} n={len(times):4d} p50 {statistics.median(ordered):7.1f} ms | "
            f"p95 {p95:7.1f} ms | max {ordered[-1]:7.1f} ms | SQL/request "
            f"{min(queries)}-{max(queries)}")  # fmt: skip


async def run(args: argparse.Namespace, ids: dict[str, Any]) -> None:
    import httpx

    from app.main import create_app

    app = create_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        tokens = {}
        for who, email in (("learner", "learner@bench.go.id"), ("fasil", "fasil@bench.go.id")):
            r = await client.post(
                "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
            )
            r.raise_for_status()
            tokens[who] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        run_id, long_id = ids["run"], ids["long"]
        last_page = -(-(args.posts + 1) // 30)
        cases: list[tuple[str, str, str, dict[str, str], Any]] = [
            ("thread list page", "GET", f"/runs/{run_id}/forum", tokens["learner"], None),
            ("search page (q=nomor 42)", "GET", f"/runs/{run_id}/forum?q=nomor%2042", tokens["learner"], None),
            ("long thread, first page", "GET", f"/forum/threads/{long_id}", tokens["learner"], None),
            ("long thread, last page", "GET", f"/forum/threads/{long_id}?page={last_page}", tokens["learner"], None),
            ("API thread list", "GET", f"/api/v1/runs/{run_id}/forum/threads", tokens["learner"], None),
            ("API reply (notifies followers)", "POST", f"/api/v1/forum/threads/{long_id}/replies",
             tokens["fasil"], {"body": "Terima kasih, sudah dijawab."}),
        ]  # fmt: skip
        for label, method, path, headers, body in cases:
            n = min(args.requests, 30) if method == "POST" else args.requests
            times, queries = await measure(client, method, path, n, args.seconds, headers, body)
            print(line(label, times, queries))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--learners", type=int, default=300)
    parser.add_argument("--threads", type=int, default=500)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30.0, help="time bound per case")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    args.requests = max(1, min(args.requests, MAX_REQUESTS))
    args.learners = max(2, min(args.learners, 20_000))
    args.threads = max(1, min(args.threads, 20_000))
    args.posts = max(1, min(args.posts, 50_000))
    work = args.workdir or Path(tempfile.mkdtemp(prefix="lms-bench-forum-"))
    url = configure(args.database_url, work)
    load = os.getloadavg()
    print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; database: {url.split(':', 1)[0]}"
    )
    started = time.perf_counter()
    try:
        reset_database(url)
        ids = seed(args.learners, args.threads, args.posts)
        print(f"seeded in {time.perf_counter() - started:.1f} s (not timed): {ids}")
        asyncio.run(run(args, ids))
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
