"""Benchmark: the grading queue of a run with 300 learners and 10 assignments (graded items).

    .venv/bin/python bench/grading_queue.py [--learners 300] [--items 10] [--requests 30]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/assign_bench]

A fresh database (SQLite in a temporary folder unless --database-url; a PostgreSQL one is
dropped and re-made by Alembic) gets a published course with `--items` assignments, one run,
`--learners` enrolled learners, each of whom handed in every assignment (a third graded, some
late), and one facilitator with an API token, all by bulk inserts. The app then runs under
uvicorn (one worker) on 127.0.0.1 and the script times `--requests` sequential requests of the
queue page (/assignments/{id}/grading?state=all) and of the API (GET
/api/v1/assignments/{id}/submissions?state=all), printing p50/p95/max in ms, and the number of
SQL statements one queue request sends (counted in-process around the same service call).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def configure(database_url: str | None, work: Path) -> dict[str, str]:
    """Settings for this process and the server (before any app import)."""
    env = {
        "LMS_ENVIRONMENT": "development",
        "LMS_DATABASE_URL": database_url or f"sqlite:///{work / 'bench.db'}",
        "LMS_STORAGE_URL": f"file://{work / 'objects'}",
        "LMS_KEYS_DIR": str(work / "keys"),
        "LMS_JOBS_URL": "immediate",
        "LMS_JOBS_IN_PROCESS_WORKER": "false",
        "LMS_LOG_LEVEL": "WARNING",
        "LMS_QUIZ_SWEEP_SECONDS": "0",
        "LMS_RATE_LIMIT_API": "100000/minute",
    }
    os.environ.update(env)
    return env


def reset(database_url: str | None) -> None:
    from sqlalchemy import create_engine, text

    if database_url and database_url.startswith("postgresql"):
        if database_url.rstrip("/").rsplit("/", 1)[-1] in ("test", "lms"):
            sys.exit("refusing that database")
        from sqlalchemy.engine import make_url

        url = make_url(database_url)
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:  # a missing database is made (its name from the URL)
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                 {"n": url.database})  # fmt: skip
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{url.database}"'))
        admin.dispose()
        engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    from app.cli import upgrade_database

    upgrade_database()


def seed(
    learners: int, items: int, *, file_bytes: bytes | None = None, graded_share: int = 3
) -> dict[str, Any]:
    """Course, `items` assignments, a run, `learners` learners who handed in each; a
    facilitator's API token. With `file_bytes`, every submission carries that one stored file
    (one object read once per entry: what the ZIP streams)."""
    from sqlalchemy import insert, select

    from app.accounts.models import User, UserRole
    from app.assignments.models import Assignment, Submission, SubmissionFile
    from app.auth.models import ApiToken
    from app.auth.service import Principal, token_hash
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.courses import service as courses_service
    from app.courses import uploads
    from app.courses.constants import ActivityKind
    from app.courses.models import Activity, Enrolment, Run, RunStaff
    from app.courses.schemas import CourseCreate
    from app.storage.service import get_storage

    admin = Principal(user_id=0, name="bench", roles=frozenset({"admin"}), via="token")
    now = dt.datetime.now(dt.UTC)
    today = dt.date.today()
    token = secrets.token_urlsafe(32)
    with session_scope() as session:
        users = [
            {"nip": f"{19800101 + i // 1000:08d}{200501 + i % 12:06d}1{i % 1000:03d}",
             "name": f"Peserta Penugasan {i:04d}", "email": f"asg{i}@example.go.id",
             "employment": "PNS", "is_active": True}
            for i in range(learners + 1)
        ]  # fmt: skip
        session.execute(insert(User), users)
        ids = list(session.scalars(select(User.id).order_by(User.id)))
        facilitator, learner_ids = ids[0], ids[1:]
        session.execute(insert(UserRole), [{"user_id": u, "role": "learner"} for u in ids])
        course = courses_service.create_course(
            session,
            CourseCreate(code="LATSAR", title="Latsar CPNS", jp=40, category="manajerial",
                         competencies=[]),  # type: ignore[arg-type]
            admin,
        )  # fmt: skip
        course.created_by_id = None
        section = courses_service.add_section(session, course, "Aktualisasi")
        activity_ids = []
        for i in range(items):
            activity = Activity(
                section_id=section.id, course_id=course.id, position=i + 1,
                kind=ActivityKind.ASSIGNMENT.value, title=f"Tugas {i + 1}",
                completion_rule="assignment_submitted",
            )  # fmt: skip
            session.add(activity)
            session.flush()
            session.add(Assignment(activity_id=activity.id, due_at=now, max_points=100.0,
                                   max_files=1, max_file_mb=20))  # fmt: skip
            activity_ids.append(activity.id)
        courses_service.publish(session, course)
        run = Run(course_id=course.id, name="Angkatan I", starts_on=today - dt.timedelta(days=10),
                  ends_on=today + dt.timedelta(days=30), funding_source="apbd_kabupaten",
                  enrolled_count=learners)  # fmt: skip
        session.add(run)
        session.flush()
        session.add(RunStaff(run_id=run.id, user_id=facilitator, role="facilitator"))
        session.execute(
            insert(Enrolment),
            [{"run_id": run.id, "user_id": u, "status": "active"} for u in learner_ids],
        )
        enrolments = dict(
            session.execute(
                select(Enrolment.user_id, Enrolment.id).where(Enrolment.run_id == run.id)
            ).all()  # type: ignore[arg-type]
        )
        stored_id = None
        if file_bytes is not None:
            import io

            stored = uploads.store_stream(
                session, get_storage(get_settings()), io.BytesIO(file_bytes), kind="file",
                settings=get_settings(),
            )  # fmt: skip
            stored_id, stored_size, stored_type = stored.id, stored.size, stored.content_type
        rows = []
        for a in activity_ids:
            for n, u in enumerate(learner_ids):
                graded = n % graded_share == 0
                rows.append({
                    "activity_id": a, "run_id": run.id, "user_id": u, "enrolment_id": enrolments[u],
                    "version": 1, "status": "graded" if graded else "submitted",
                    "late": n % 7 == 0, "submitted_at": now - dt.timedelta(minutes=n),
                    "text": "Jawaban", "points": 80.0 if graded else None,
                    "max_points": 100.0 if graded else None,
                })  # fmt: skip
        session.execute(insert(Submission), rows)
        if stored_id is not None:
            sub_ids = list(session.scalars(select(Submission.id).order_by(Submission.id)))
            session.execute(insert(SubmissionFile), [
                {"submission_id": s, "file_id": stored_id, "filename": "laporan-aktualisasi.pdf",
                 "feedback": False, "size": stored_size, "content_type": stored_type}
                for s in sub_ids
            ])  # fmt: skip
        session.add(ApiToken(token_hash=token_hash(token), user_id=facilitator,
                             expires_at=now + dt.timedelta(days=1)))  # fmt: skip
    return {"run": run.id, "activities": activity_ids, "token": token, "facilitator": facilitator}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(env: dict[str, str], port: int, log: Path) -> Any:
    """uvicorn with one worker on 127.0.0.1 (its own process group); yields the Popen."""
    import httpx

    cmd = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host",
           "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                sys.exit(f"server exited:\n{log.read_text(errors='replace')}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code < 500:
                    break
            time.sleep(0.2)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def timings(url: str, headers: dict[str, str], n: int) -> list[float]:
    import httpx

    out = []
    with httpx.Client(headers=headers, timeout=60) as client:
        client.get(url).raise_for_status()  # warm-up
        for _ in range(n):
            start = time.perf_counter()
            response = client.get(url)
            out.append((time.perf_counter() - start) * 1000)
            response.raise_for_status()
    return out


def describe(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return (f"{name:<34} p50 {statistics.median(ordered):7.1f} ms  p95 {p95:7.1f} ms  "
            f"max {ordered[-1]:7.1f} ms  (n={len(ordered)})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=300)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lms-bench-assign-"))
    env = configure(args.database_url, work)
    reset(args.database_url)
    ids = seed(args.learners, args.items)
    activity, run = ids["activities"][0], ids["run"]

    from app.assignments import service
    from app.auth.service import Principal
    from app.core.db import session_scope
    from tests.queries import count_queries

    principal = Principal(user_id=ids["facilitator"], name="f", roles=frozenset({"learner"}),
                          via="token")  # fmt: skip
    with session_scope() as session, count_queries() as statements:
        queue = service.grading_queue(session, principal, activity, run, "all")
    print(f"database {env['LMS_DATABASE_URL'].split('@')[-1]}; {args.learners} learners, "
          f"{args.items} assignments, queue rows {len(queue.rows)}; "
          f"SQL statements per queue (service): {len(statements)}")  # fmt: skip
    port = free_port()
    headers = {"Authorization": f"Bearer {ids['token']}"}
    with server(env, port, work / "server.log"):
        base = f"http://127.0.0.1:{port}"
        page = f"{base}/assignments/{activity}/grading?run_id={run}&state=all"
        api = f"{base}/api/v1/assignments/{activity}/submissions?run_id={run}&state=all"
        print(describe("queue page (HTML, 300 rows)", timings(page, headers, args.requests)))
        print(describe("queue API (JSON, 300 rows)", timings(api, headers, args.requests)))
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")


if __name__ == "__main__":
    main()
