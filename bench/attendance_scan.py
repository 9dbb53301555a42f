"""Benchmark: a Latsar hall scanning the attendance QR — `--learners` learners open the QR's
URL within `--spread` seconds, against a real server on PostgreSQL.

    .venv/bin/python bench/attendance_scan.py [--database-url URL] [--learners 300]
        [--spread 60] [--workers 2] [--repeat-share 0.1] [--keep]

Setup (not timed): the database is dropped and made again by Alembic (its name must start with
`bench`), then a course with one live session starting now, a run, the learners, their
enrolments and one API token each (Core bulk INSERTs, no logins).

Timed phase: uvicorn serves `app.main:create_app` on 127.0.0.1 (`--workers` processes, as
`lms serve`). Open loop: learner i's scan is due at start + i * spread / learners whatever the
server does; it GETs /attend?t=TOKEN with the token the projector shows at that moment (made
with the server's secret, rotating every 30 s as the QR page does). A `--repeat-share` of
learners scan a second time 2 s later (a double tap; it must say "sudah tercatat"). Latency is
from the moment a scan was due to its answer. One keep-alive connection per learner (phones).

Then it checks the database: exactly one attendance row per learner, every one by QR, and every
learner's activity completed. Exit status 1 when a check fails. Target: p95 < 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import quiz_submit as common  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_live_scan"
TARGET_P95_MS = 200.0


def seed(learners: int) -> tuple[int, int, list[str]]:
    """(activity id, run id, tokens)."""
    import datetime as dt

    from sqlalchemy import insert

    from app.accounts.models import User
    from app.auth.models import ApiToken
    from app.auth.service import token_hash
    from app.core.db import session_scope
    from app.courses.models import Activity, Course, Enrolment, Run, Section
    from app.live.models import LiveSession

    today = dt.date.today()
    now = dt.datetime.now(dt.UTC)
    tokens = [secrets.token_urlsafe(32) for _ in range(learners)]
    with session_scope() as session:
        course = Course(code="BENCH-LIVE", title="Latsar CPNS", category="teknis", jp=2,
                        status="published", published_at=now)  # fmt: skip
        session.add(course)
        session.flush()
        section = Section(course_id=course.id, position=1, title="Klasikal")
        session.add(section)
        session.flush()
        activity = Activity(section_id=section.id, course_id=course.id, position=1,
                            kind="live_session", title="Sesi Klasikal", duration_minutes=120,
                            completion_rule="attended")  # fmt: skip
        run = Run(course_id=course.id, name="Angkatan Bench", starts_on=today,
                  ends_on=today + dt.timedelta(days=30), funding_source="non_anggaran",
                  enrolled_count=learners, delivery_mode="klasikal")  # fmt: skip
        session.add_all([activity, run])
        session.flush()
        session.add(LiveSession(activity_id=activity.id, starts_at=now - dt.timedelta(minutes=1),
                                ends_at=now + dt.timedelta(hours=2), platform="classroom",
                                location="Aula"))  # fmt: skip
        activity_id, run_id = activity.id, run.id
        user_ids = session.scalars(
            insert(User).returning(User.id, sort_by_parameter_order=True),
            [{"nip": common._nip(i), "name": f"Peserta {i + 1}", "is_active": True,
              "employment": "PNS"} for i in range(learners)],
        ).all()  # fmt: skip
        session.execute(
            insert(Enrolment),
            [{"run_id": run_id, "user_id": uid, "status": "active"} for uid in user_ids],
        )
        session.execute(
            insert(ApiToken),
            [{"token_hash": token_hash(t), "user_id": uid,
              "expires_at": now + dt.timedelta(days=1)}
             for t, uid in zip(tokens, user_ids, strict=True)],
        )  # fmt: skip
    return activity_id, run_id, tokens


async def load(
    port: int, activity_id: int, run_id: int, tokens: list[str], spread: float, repeat: float
) -> tuple[list[tuple[int, int, float, bytes]], float]:
    """[(learner, status, ms from due, body)] of every scan, and the elapsed time."""
    import datetime as dt

    from app.core.config import get_settings
    from app.live import qr

    settings = get_settings()
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.5
    results: list[tuple[int, int, float, bytes]] = []
    repeaters = set(range(0, len(tokens), max(1, round(1 / repeat)))) if repeat > 0 else set()

    async def learner(i: int) -> None:
        conn = common.RawConnection(port)
        due = start + i * spread / len(tokens)
        for attempt in range(2 if i in repeaters else 1):
            at = due + attempt * 2.0
            await asyncio.sleep(max(0.0, at - loop.time()))
            token, _ = qr.make_token(settings.secret_key, activity_id, run_id,
                                     dt.datetime.now(dt.UTC), settings.live_qr_step_seconds)  # fmt: skip
            headers = {"Authorization": f"Bearer {tokens[i]}"}
            try:
                status, body = await conn.request("GET", f"/attend?t={token}", headers)
            except (OSError, asyncio.IncompleteReadError, RuntimeError, ValueError):
                await conn.close()
                status, body = 0, b""
            results.append((i, status, (loop.time() - at) * 1000, body if attempt else b""))
        await conn.close()

    await asyncio.gather(*(learner(i) for i in range(len(tokens))))
    return results, loop.time() - start


def verify(
    learners: int, activity_id: int, results: list[tuple[int, int, float, bytes]]
) -> list[str]:
    from sqlalchemy import func, select

    from app.core.db import session_scope
    from app.live.models import Attendance
    from app.progress.models import ActivityProgress

    with session_scope() as session:
        rows = session.execute(
            select(Attendance.enrolment_id, Attendance.method).where(
                Attendance.activity_id == activity_id
            )
        ).all()
        completed = session.scalar(
            select(func.count())
            .select_from(ActivityProgress)
            .where(
                ActivityProgress.activity_id == activity_id,
                ActivityProgress.status == "completed",
            )
        )
    distinct = len({e for e, _ in rows})
    by_qr = sum(1 for _, m in rows if m == "qr")
    seconds = [r for r in results if r[3]]
    said_already = sum(1 for r in seconds if b"sudah tercatat" in r[3])
    print(f"database: {len(rows)} attendance rows for {distinct} enrolments ({by_qr} by QR), "
          f"{completed} activities completed; second scans answered 'sudah tercatat': "
          f"{said_already} of {len(seconds)}")  # fmt: skip
    failures = []
    if len(rows) != learners or distinct != learners or by_qr != learners:
        failures.append(f"{len(rows)} rows / {distinct} enrolments for {learners} learners")
    if completed != learners:
        failures.append(f"{completed} completions for {learners} learners")
    if said_already != len(seconds):
        failures.append(f"{len(seconds) - said_already} second scans not answered as recorded")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--learners", type=int, default=300)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds the scans spread over")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat-share", type=float, default=0.1)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    url = args.database_url
    if not url.startswith("postgresql"):
        raise SystemExit("PostgreSQL only: the issue's target is on PostgreSQL")
    from tests.ports import free_port, wait_for_port

    with tempfile.TemporaryDirectory(prefix="lms-scan-bench-") as tmp_name:
        tmp = Path(tmp_name)
        common.recreate_postgres(url)
        env = common.app_env(url, tmp)
        common.use_database(env)
        from app.cli import upgrade_database

        upgrade_database()
        activity_id, run_id, tokens = seed(args.learners)
        port = free_port()
        log = tmp / "server.log"
        server = common.start_server(port, args.workers, env, log, None, None, 0)
        try:
            wait_for_port(port, 60.0)
            cpu0, pg0 = common._tree_cpu(server.pid), common._postgres_cpu()
            load0 = os.getloadavg()[0]
            results, elapsed = asyncio.run(
                load(port, activity_id, run_id, tokens, args.spread, args.repeat_share)
            )
            server_cpu = common._tree_cpu(server.pid) - cpu0
            pg_cpu = common._postgres_cpu() - pg0
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(10)
        ok = [r for r in results if r[1] == 200]
        errors: dict[int, int] = defaultdict(int)
        for r in results:
            if r[1] != 200:
                errors[r[1]] += 1
        due = [r[2] for r in ok]
        p = common._percentile
        p95 = p(due, 95)
        print(f"PostgreSQL, {args.workers} workers: {len(results)} scans of {args.learners} "
              f"learners over {args.spread:.0f} s ({elapsed:.1f} s), {len(ok)} answered 200; "
              f"latency ms p50 {p(due, 50):.1f}, p95 {p95:.1f}, p99 {p(due, 99):.1f}, max "
              f"{max(due, default=0):.0f}; errors {sum(errors.values())}"
              f"{dict(errors) if errors else ''}; server CPU {server_cpu:.1f} s, PostgreSQL "
              f"{pg_cpu:.1f} s, load average {load0:.1f}")  # fmt: skip
        failures = verify(args.learners, activity_id, results)
        if errors:
            failures.append(f"{sum(errors.values())} scans not answered 200")
        from app.core.db import reset_engine

        reset_engine()
        if not args.keep:
            common.drop_postgres(url)
    print(f"target: p95 < {TARGET_P95_MS:.0f} ms: {'met' if p95 < TARGET_P95_MS else 'MISSED'}")
    if failures:
        print("VERIFICATION FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("verification: OK")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
