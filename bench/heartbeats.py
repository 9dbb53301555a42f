"""Benchmark: video heartbeats at a fixed rate against a real server on PostgreSQL.

    .venv/bin/python bench/heartbeats.py [--database-url URL] [--learners 10000] [--rate 333]
        [--seconds 60] [--workers 2] [--connections 64] [--max-requests N] [--keep] [--profile]

The issue's load: 10,000 learners watching a video, each sending one heartbeat every 30 s, is
333 heartbeats/s; the target is p95 under 50 ms sustained for 60 s on PostgreSQL.

Setup (not timed): the database is dropped and made again by Alembic (its name must start with
`bench`), then a course with one 30-minute video, a run, `--learners` users, their enrolments
and one API token each are written with Core bulk INSERTs (no password hashing, no logins).

Timed phase: uvicorn serves `app.main:create_app` on 127.0.0.1 (`--workers` processes, as
`lms serve`). The client is open-loop: heartbeat i is due at start + i/rate whatever the server
does, and goes to learner i mod learners, so every learner reports every learners/rate seconds
(30 s) with its position that much further on and `active_seconds` as much, as the player does.
Latency is measured from the moment a heartbeat was due (a server that falls behind shows it,
no coordinated omission) to its answer; `--connections` keep-alive HTTP/1.1 connections carry
the requests. The phase is bounded by `--seconds` plus a 30 s drain and by `--max-requests`.

Then it checks the database: one progress row per learner reached; every learner reported
twice has the interval (30 s, less the arrival jitter) as time on task and as watched video
(the server credited each heartbeat once, by the wall clock); no row has more time than wall
clock; and PostgreSQL saw exactly one write on activity_progress per heartbeat (an INSERT for a
learner's first, an UPDATE after). Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))  # the quiz benchmark's server, database and HTTP helpers

import quiz_submit as common  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_h1_heartbeats"
TARGET_P95_MS = 50.0
VIDEO_SECONDS = 1800.0
DRAIN_SECONDS = 30.0


# --- setup --------------------------------------------------------------------------------------


def seed(learners: int) -> tuple[int, list[str]]:
    """Course, video, run, users, enrolments and tokens by bulk INSERTs; (activity id, tokens)."""
    import datetime as dt

    from sqlalchemy import insert

    from app.accounts.models import User
    from app.auth.models import ApiToken
    from app.auth.service import token_hash
    from app.core.db import session_scope
    from app.courses.models import Activity, Course, Enrolment, Run, Section

    today = dt.date.today()
    now = dt.datetime.now(dt.UTC)
    tokens = [secrets.token_urlsafe(32) for _ in range(learners)]
    with session_scope() as session:
        course = Course(code="BENCH-HB", title="Uji Beban Heartbeat", category="teknis", jp=2,
                        status="published", published_at=now)  # fmt: skip
        session.add(course)
        session.flush()
        section = Section(course_id=course.id, position=1, title="Video")
        session.add(section)
        session.flush()
        video = Activity(section_id=section.id, course_id=course.id, position=1, kind="video",
                         title="Video 30 menit", duration_minutes=30, completion_rule="watched")  # fmt: skip
        run = Run(course_id=course.id, name="Angkatan Bench", starts_on=today - dt.timedelta(days=1),
                  ends_on=today + dt.timedelta(days=30), funding_source="non_anggaran",
                  enrolled_count=learners)  # fmt: skip
        session.add_all([video, run])
        session.flush()
        activity_id, run_id = video.id, run.id
        user_ids = session.scalars(
            insert(User).returning(User.id, sort_by_parameter_order=True),
            [
                {
                    "nip": common._nip(i),
                    "name": f"Peserta Bench {i + 1}",
                    "is_active": True,
                    "employment": "PNS",
                }
                for i in range(learners)
            ],
        ).all()
        session.execute(
            insert(Enrolment),
            [{"run_id": run_id, "user_id": uid, "status": "active"} for uid in user_ids],
        )
        session.execute(
            insert(ApiToken),
            [
                {
                    "token_hash": token_hash(t),
                    "user_id": uid,
                    "expires_at": now + dt.timedelta(days=1),
                }
                for t, uid in zip(tokens, user_ids, strict=True)
            ],
        )
    return activity_id, tokens


# --- the client ---------------------------------------------------------------------------------


async def load(
    port: int, activity_id: int, tokens: list[str], rate: float, total: int, connections: int
) -> tuple[list[tuple[int, int, float, float]], float]:
    """Open-loop heartbeats; [(index, status, ms from due, ms from sent)] and the elapsed time."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    results: list[tuple[int, int, float, float]] = []
    path = f"/api/v1/activities/{activity_id}/progress"
    start = loop.time() + 0.2
    deadline = start + total / rate + DRAIN_SECONDS
    every = len(tokens) / rate  # seconds between two heartbeats of one learner (30 s)

    async def producer() -> None:
        sent = 0
        while sent < total:
            now = loop.time()
            due_count = min(total, int((now - start) * rate) + 1) if now >= start else 0
            while sent < due_count:
                queue.put_nowait((sent, start + sent / rate))
                sent += 1
            await asyncio.sleep(0.001)
        for _ in range(connections):
            queue.put_nowait(None)

    async def worker() -> None:
        conn = common.RawConnection(port)
        while (item := await queue.get()) is not None:
            index, due = item
            if loop.time() > deadline:
                results.append((index, -1, float("nan"), float("nan")))  # never sent: too late
                continue
            learner, beat = index % len(tokens), index // len(tokens)
            body = json.dumps(
                {"event": "heartbeat", "position_seconds": round(every * beat, 2),
                 "duration_seconds": VIDEO_SECONDS, "active_seconds": round(every, 2)}
            ).encode()  # fmt: skip
            headers = {
                "Authorization": f"Bearer {tokens[learner]}",
                "Content-Type": "application/json",
            }
            sent_at = loop.time()
            try:
                status, _data = await conn.request("POST", path, headers, body)
            except (OSError, asyncio.IncompleteReadError, RuntimeError, ValueError):
                await conn.close()
                status = 0
            done = loop.time()
            results.append((index, status, (done - due) * 1000, (done - sent_at) * 1000))
        await conn.close()

    await asyncio.gather(producer(), *(worker() for _ in range(connections)))
    return results, loop.time() - start


# --- verification -------------------------------------------------------------------------------


def progress_writes() -> tuple[int, int]:
    """(INSERTs, UPDATEs) PostgreSQL counted on activity_progress so far."""
    from sqlalchemy import text

    from app.core.db import get_engine

    with get_engine().connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        row = conn.execute(
            text(
                "SELECT n_tup_ins, n_tup_upd FROM pg_stat_user_tables "
                "WHERE relname = 'activity_progress'"
            )
        ).one()
    return int(row[0] or 0), int(row[1] or 0)


def verify(
    results: list[tuple[int, int, float, float]],
    learners: int,
    every: float,
    writes: tuple[int, int],
) -> list[str]:
    """`every`: the seconds between two heartbeats of a learner (its position moves as much)."""
    from sqlalchemy import select

    from app.core.db import session_scope
    from app.progress.models import ActivityProgress

    ok = [r for r in results if r[1] == 200]
    beats: dict[int, int] = defaultdict(int)
    for index, *_rest in ok:
        beats[index % learners] += 1
    with session_scope() as session:
        rows = session.execute(
            select(ActivityProgress.time_seconds, ActivityProgress.watched_seconds)
        ).all()
    twice = sum(1 for n in beats.values() if n >= 2)
    # Time credited = min(wall clock between the two, active_seconds): `every` less the jitter of
    # the two requests' arrival; the video stretch counts as watched in full.
    credited = sum(1 for t, w in rows if every - 2 < t <= every + 1e-6 and abs(w - every) < 0.01)
    most = every * max(1, max(beats.values(), default=1) - 1) + 1e-6
    more = sum(1 for t, _w in rows if t > most)
    print(f"database: {len(rows)} progress rows for {len(beats)} learners reached; learners "
          f"reported twice {twice}, rows with {every:.0f} s time (-2 s) and {every:.0f} s watched "
          f"{credited}; rows with more time than wall clock {more}")  # fmt: skip
    inserts, updates = writes
    print(f"          writes on activity_progress during the run: {inserts} INSERTs + {updates} "
          f"UPDATEs = {inserts + updates} for {len(ok)} heartbeats answered 200")  # fmt: skip
    failures = []
    if len(rows) != len(beats):
        failures.append(f"{len(rows)} progress rows for {len(beats)} learners")
    if twice and credited < twice:
        failures.append(f"only {credited} of {twice} twice-reported learners credited {every} s")
    if more:
        failures.append(f"{more} rows credited more than the wall-clock time")
    if inserts + updates != len(ok):
        failures.append(f"{inserts + updates} writes for {len(ok)} heartbeats (expected one each)")
    return failures


# --- main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=333.0, help="heartbeats per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the timed phase")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--connections", type=int, default=64, help="client keep-alive connections")
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument(
        "--profile", action="store_true", help="one worker under cProfile (CPU per function)"
    )
    args = parser.parse_args()
    url = args.database_url
    if not url.startswith("postgresql"):
        raise SystemExit("PostgreSQL only: the issue's target is on PostgreSQL")
    total = min(int(args.rate * args.seconds), args.max_requests)
    from tests.ports import free_port, wait_for_port

    with tempfile.TemporaryDirectory(prefix="lms-heartbeat-bench-") as tmp_name:
        tmp = Path(tmp_name)
        common.recreate_postgres(url)
        env = common.app_env(url, tmp)
        common.use_database(env)
        from app.cli import upgrade_database

        upgrade_database()
        t0 = time.perf_counter()
        activity_id, tokens = seed(args.learners)
        print(f"setup: {args.learners} learners with enrolments and tokens in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip
        port = free_port()
        log = tmp / "server.log"
        profile = str(tmp / "profile") if args.profile else None
        workers = 1 if args.profile else args.workers
        server = common.start_server(port, workers, env, log, profile, None, 0)
        try:
            wait_for_port(port, 60.0)
            common.wait_for_workers(server.pid)
            try:
                import uvloop

                uvloop.install()
            except ImportError:
                pass
            ins0, upd0 = progress_writes()
            server_cpu0, pg_cpu0 = common._tree_cpu(server.pid), common._postgres_cpu()
            client_cpu0 = time.process_time()
            load0 = os.getloadavg()[0]
            results, elapsed = asyncio.run(
                load(port, activity_id, tokens, args.rate, total, args.connections)
            )
            client_cpu = time.process_time() - client_cpu0
            server_cpu = common._tree_cpu(server.pid) - server_cpu0
            pg_cpu = common._postgres_cpu() - pg_cpu0
            load1 = os.getloadavg()[0]
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(10)
        ins1, upd1 = progress_writes()
        ok = [r for r in results if r[1] == 200]
        errors: dict[int, int] = defaultdict(int)
        for r in results:
            if r[1] != 200:
                errors[r[1]] += 1
        due = [r[2] for r in ok]
        service = [r[3] for r in ok]
        achieved = len(ok) / elapsed if elapsed else 0.0
        p = common._percentile
        line = (
            f"PostgreSQL, {workers} workers: {len(results)} heartbeats due at "
            f"{args.rate:.0f}/s over {total / args.rate:.0f} s, {len(ok)} answered 200 in "
            f"{elapsed:.1f} s = {achieved:.0f}/s; latency from due ms p50 {p(due, 50):.1f}, "
            f"p95 {p(due, 95):.1f}, p99 {p(due, 99):.1f}, max {max(due, default=0):.0f} "
            f"(server answer p50 {p(service, 50):.1f}, p95 {p(service, 95):.1f}, mean "
            f"{statistics.fmean(service) if service else 0:.1f}); errors "
            f"{sum(errors.values())}{dict(errors) if errors else ''}"
        )
        print(line)
        first = [r[2] for r in ok if r[0] < args.learners]
        later = [r[2] for r in ok if r[0] >= args.learners]
        if first and later:
            print(f"  first heartbeat of each learner (INSERT): p50 {p(first, 50):.1f}, p95 "
                  f"{p(first, 95):.1f} ms; later ones (UPDATE): p50 {p(later, 50):.1f}, p95 "
                  f"{p(later, 95):.1f} ms")  # fmt: skip
        n = max(len(ok), 1)
        print(f"CPU over {elapsed:.1f} s wall ({os.cpu_count()} cores, load average "
              f"{load0:.1f} -> {load1:.1f}): server {server_cpu:.1f} s ({server_cpu / n * 1000:.2f} "
              f"ms per answered heartbeat), PostgreSQL {pg_cpu:.1f} s ({pg_cpu / n * 1000:.2f} ms), "
              f"client {client_cpu:.1f} s")  # fmt: skip
        every = args.learners / args.rate
        failures = verify(results, args.learners, every, (ins1 - ins0, upd1 - upd0))
        server_errors = [
            ln for ln in log.read_text(errors="replace").splitlines() if '"level": "error"' in ln
        ]
        if server_errors:
            print(f"server log: {len(server_errors)} errors, first: {server_errors[0][:300]}")
        if profile:
            common.report_profile(profile, len(results))
        from app.core.db import reset_engine

        reset_engine()
        if not args.keep:
            common.drop_postgres(url)
    p95 = p(due, 95)
    verdict = "met" if p95 < TARGET_P95_MS and achieved >= 0.98 * args.rate else "MISSED"
    print(f"target: {args.rate:.0f} heartbeats/s sustained with p95 < {TARGET_P95_MS:.0f} ms: "
          f"{verdict}")  # fmt: skip
    if failures:
        print("VERIFICATION FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("verification: OK")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
