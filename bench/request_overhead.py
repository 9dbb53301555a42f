"""Benchmark: the fixed cost of a request — the app against a bare FastAPI endpoint.

    .venv/bin/python bench/request_overhead.py [--database-url URL] [--seconds 10]
        [--connections 16] [--workers 2] [--profile] [--scenarios bare,course,me,healthz]

Setup (not timed): a fresh database (SQLite file in a temporary folder by default; with
`--database-url` a PostgreSQL database whose name starts with `bench`, dropped and made again),
made by Alembic, with one published course of 5 sections x 6 activities, a run, one learner
enrolled and an API token for them.

Timed phase, one scenario after the other, each for `--seconds` with `--connections` keep-alive
HTTP/1.1 connections in a closed loop (a connection sends its next request when the answer came):
- `bare`: a FastAPI app with one route returning the same JSON as the course scenario (read from
  the real app once, served as a dict so FastAPI serialises it as it does any route), under
  the same server as `lms serve` (uvicorn with the same loop and parser, `--workers`);
- `course`: `GET /api/v1/courses/{id}` with the learner's bearer token, under
  `lms serve --workers N`;
- `me`: `GET /api/v1/me` with the token;
- `healthz`: `GET /healthz` (database and storage ping, no caller).

It prints requests/s, latency percentiles and the server's CPU time per request (every server
process, from psutil) and, on PostgreSQL, PostgreSQL's CPU per request; then the ratio of each
scenario's rate to the bare endpoint's. `--profile` serves the app with one worker under
cProfile (the event loop and the thread pool separately, CPU time of each thread) for the `me`
and `course` scenarios and prints where the time goes by layer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import pstats
import secrets
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO))

import quiz_submit as common  # noqa: E402

BARE_ENV = "BENCH_BARE_JSON"


def bare_app() -> Any:
    """The yardstick: one FastAPI route returning the course JSON as a dict."""
    from fastapi import FastAPI

    payload = json.loads(Path(os.environ[BARE_ENV]).read_text())
    app = FastAPI()

    @app.get("/bare")
    async def bare() -> dict[str, Any]:
        return payload

    return app


# --- setup --------------------------------------------------------------------------------------


def seed(learners: int) -> tuple[int, list[str]]:
    """A published 5x6 course, a run, `learners` enrolled learners with an API token each:
    (course id, tokens)."""
    from sqlalchemy import insert

    from app.accounts.models import User
    from app.auth.models import ApiToken
    from app.auth.service import token_hash
    from app.core.db import session_scope
    from app.courses.models import Activity, Course, Enrolment, Run, Section

    now = dt.datetime.now(dt.UTC)
    today = now.date()
    tokens = [secrets.token_urlsafe(32) for _ in range(learners)]
    with session_scope() as session:
        course = Course(code="BENCH-OH", title="Uji Biaya Tetap", category="teknis", jp=4,
                        status="published", published_at=now)  # fmt: skip
        session.add(course)
        session.flush()
        for s in range(5):
            section = Section(course_id=course.id, position=s + 1, title=f"Bagian {s + 1}")
            session.add(section)
            session.flush()
            for a in range(6):
                session.add(
                    Activity(section_id=section.id, course_id=course.id, position=a + 1,
                             kind="video", title=f"Video {s + 1}.{a + 1}", duration_minutes=10,
                             completion_rule="watched")
                )
        run = Run(course_id=course.id, name="Angkatan Bench", starts_on=today - dt.timedelta(days=1),
                  ends_on=today + dt.timedelta(days=30), funding_source="non_anggaran",
                  enrolled_count=learners)  # fmt: skip
        session.add(run)
        session.flush()
        user_ids = session.scalars(
            insert(User).returning(User.id, sort_by_parameter_order=True),
            [{"nip": common._nip(i), "name": f"Peserta Bench {i + 1}", "is_active": True,
              "employment": "PNS"} for i in range(learners)],
        ).all()
        session.execute(insert(Enrolment), [{"run_id": run.id, "user_id": uid, "status": "active"}
                                            for uid in user_ids])  # fmt: skip
        session.execute(
            insert(ApiToken),
            [{"token_hash": token_hash(t), "user_id": uid,
              "expires_at": now + dt.timedelta(days=1)}
             for t, uid in zip(tokens, user_ids, strict=True)],
        )
        return course.id, tokens


# --- servers ------------------------------------------------------------------------------------


def start_app(port: int, workers: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--no-migrate", "--content-port", "0"]  # fmt: skip
    handle = log.open("wb")
    return subprocess.Popen(args, cwd=REPO, env=os.environ | env, stdout=handle, stderr=handle)


def start_bare(port: int, workers: int, payload: Path, log: Path) -> subprocess.Popen[bytes]:
    """The bare app under the server `lms serve` runs (app.cli.server_command when it exists)."""
    args = [sys.executable, "-m", "uvicorn", "--factory", "request_overhead:bare_app",
            "--app-dir", str(BENCH), "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--log-level", "warning", "--no-access-log"]  # fmt: skip
    handle = log.open("wb")
    env = os.environ | {BARE_ENV: str(payload)}
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=handle, stderr=handle)


def start_profiled(port: int, env: dict[str, str], out: str, log: Path) -> subprocess.Popen[bytes]:
    """One worker under cProfile (quiz_submit.serve_profiled)."""
    args = [sys.executable, str(BENCH / "quiz_submit.py"), "--serve", str(port), "1",
            "--profile-out", out]  # fmt: skip
    handle = log.open("wb")
    return subprocess.Popen(args, cwd=REPO, env=os.environ | env, stdout=handle, stderr=handle)


def stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGINT)
    try:
        server.wait(60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(10)


# --- the client ---------------------------------------------------------------------------------


async def closed_loop(
    port: int, path: str, tokens: list[str], seconds: float, connections: int
) -> tuple[list[float], dict[int, int], float]:
    """(latencies in ms of 2xx answers, {status: count} of the others, elapsed seconds).
    Request i carries token i mod len(tokens) (none when `tokens` is empty)."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors: dict[int, int] = {}
    start = loop.time()
    stop_at = start + seconds
    max_requests = int(seconds * 20_000)  # a bound on the count as well as the time

    sent_count = 0

    async def worker() -> None:
        nonlocal sent_count
        conn = common.RawConnection(port)
        while loop.time() < stop_at and sent_count < max_requests:
            headers = {"Authorization": f"Bearer {tokens[sent_count % len(tokens)]}"} if tokens else {}
            sent_count += 1
            sent = loop.time()
            try:
                status, _body = await conn.request("GET", path, headers)
            except (OSError, asyncio.IncompleteReadError, RuntimeError, ValueError):
                await conn.close()
                status = 0
            if 200 <= status < 300:
                latencies.append((loop.time() - sent) * 1000)
            else:
                errors[status] = errors.get(status, 0) + 1
        await conn.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return latencies, errors, loop.time() - start


def fetch_once(port: int, path: str, headers: dict[str, str]) -> bytes:
    """One GET; exits when it does not answer 200."""
    async def one() -> bytes:
        conn = common.RawConnection(port)
        try:
            status, body = await conn.request("GET", path, headers)
        finally:
            await conn.close()
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}: {body[:300]!r}")
        return body

    return asyncio.run(one())


def measure(
    name: str, server: subprocess.Popen[bytes], port: int, path: str, tokens: list[str],
    args: argparse.Namespace, postgres: bool, warm: bool = True,
) -> dict[str, float]:
    from tests.ports import wait_for_port

    wait_for_port(port, 60.0)
    if warm:
        asyncio.run(closed_loop(port, path, tokens, min(2.0, args.seconds), args.connections))
    cpu0 = common._tree_cpu(server.pid)
    pg0 = common._postgres_cpu() if postgres else 0.0
    latencies, errors, elapsed = asyncio.run(
        closed_loop(port, path, tokens, args.seconds, args.connections)
    )
    cpu = common._tree_cpu(server.pid) - cpu0
    pg = (common._postgres_cpu() - pg0) if postgres else 0.0
    n = len(latencies)
    rate = n / elapsed if elapsed else 0.0
    row = {
        "rate": rate,
        "p50": common._percentile(latencies, 50) if n else float("nan"),
        "p99": common._percentile(latencies, 99) if n else float("nan"),
        "cpu_ms": cpu / max(n, 1) * 1000,
        "pg_ms": pg / max(n, 1) * 1000,
        "errors": float(sum(errors.values())),
        "count": float(n),
    }
    print(
        f"{name:<8} {rate:8.0f} req/s  p50 {row['p50']:6.1f} ms  p99 {row['p99']:6.1f} ms  "
        f"server CPU {row['cpu_ms']:5.2f} ms/req"
        + (f"  PostgreSQL CPU {row['pg_ms']:5.2f} ms/req" if postgres else "")
        + (f"  errors {errors}" if errors else ""),
        flush=True,
    )
    return row


# --- the profile --------------------------------------------------------------------------------

# Layers of a request, by the functions whose cumulative CPU time they are (nested layers are
# inside their callers' figures). Names are matched as "file:function" suffixes.
LAYERS = (
    ("the ASGI app (everything after HTTP parsing)", "quiz_submit.py:first_request_starts"),
    ("  middleware stack (all)", "errors.py:__call__"),
    ("  FastAPI: dependencies (solve_dependencies)", "utils.py:solve_dependencies"),
    ("  FastAPI: response validation + serialisation", "routing.py:serialize_response"),
    ("  FastAPI: JSONResponse render", "responses.py:render"),
    ("thread pool: resolve_principal", "dependencies.py:resolve_principal"),
    ("thread pool: get_db (session open and commit)", "dependencies.py:get_db"),
    ("  Session.commit", "session.py:commit"),
    ("thread pool: route functions (business logic)", "router.py:"),
    ("SQL execution (Session.execute / scalars)", "session.py:execute"),
)


def report_profile(out: str, requests: int) -> None:
    for part in ("loop", "threads"):
        path = Path(f"{out}.{part}")
        if not path.exists():
            continue
        stats = pstats.Stats(str(path))
        total = sum(v[2] for v in stats.stats.values())  # type: ignore[attr-defined]
        print(f"\n{part}: {total / requests * 1000:.3f} ms CPU per request (own time, all calls)")
        for label, suffix in LAYERS:
            cum = 0.0
            for (file, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
                key = f"{Path(file).name}:{func}"
                if key == suffix or (suffix.endswith(":") and key.startswith(suffix)):
                    cum = max(cum, ct) if not suffix.endswith(":") else cum + ct
            if cum:
                print(f"  {label:<52} {cum / requests * 1000:7.3f} ms")
        buffer_stats = pstats.Stats(str(path))
        buffer_stats.sort_stats("tottime")
        print(f"  top functions by own time ({part}):")
        entries = sorted(
            buffer_stats.stats.items(),  # type: ignore[attr-defined]
            key=lambda kv: kv[1][2], reverse=True,
        )[:25]
        for (file, line, func), (_cc, nc, tt, ct, _callers) in entries:
            print(f"    {tt / requests * 1000:7.3f} ms own {ct / requests * 1000:7.3f} cum "
                  f"{nc / requests:6.1f} calls  {Path(file).name}:{line} {func}")  # fmt: skip


# --- main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--learners", type=int, default=500, help="tokens to rotate over")
    parser.add_argument("--scenarios", default="bare,course,me,healthz")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if not 0 < args.seconds <= 300:
        parser.error("--seconds must be in (0, 300]")
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]

    from tests.ports import free_port

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    with tempfile.TemporaryDirectory(prefix="lms-overhead-") as tmp_name:
        tmp = Path(tmp_name)
        url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
        postgres = url.startswith("postgresql")
        if postgres:
            common.recreate_postgres(url)
        # The API rate limit stays as configured (1,200/minute per token): requests rotate over
        # `--learners` tokens so that the load stays under it.
        env = common.app_env(url, tmp)  # production settings, request log included
        common.use_database(env)
        from app.cli import upgrade_database

        upgrade_database()
        course_id, tokens = seed(args.learners)
        auth = {"Authorization": f"Bearer {tokens[0]}"}
        paths = {"course": f"/api/v1/courses/{course_id}", "me": "/api/v1/me",
                 "healthz": "/healthz"}  # fmt: skip
        print(f"database: {'PostgreSQL' if postgres else 'SQLite'}; {args.workers} workers, "
              f"{args.connections} connections, {args.seconds:.0f} s per scenario; load average "
              f"{os.getloadavg()[0]:.2f} at start", flush=True)  # fmt: skip
        results: dict[str, dict[str, float]] = {}
        port = free_port()
        server = start_app(port, args.workers, env, tmp / "app.log")
        try:
            from tests.ports import wait_for_port

            wait_for_port(port, 60.0)
            common.wait_for_workers(server.pid)
            payload = fetch_once(port, paths["course"], auth)
            (tmp / "course.json").write_bytes(payload)
            for name in scenarios:
                if name in paths:
                    who = [] if name == "healthz" else tokens
                    results[name] = measure(name, server, port, paths[name], who, args,
                                            postgres)  # fmt: skip
        finally:
            stop(server)
        if "bare" in scenarios:
            bare_port = free_port()
            bare = start_bare(bare_port, args.workers, tmp / "course.json", tmp / "bare.log")
            try:
                results["bare"] = measure("bare", bare, bare_port, "/bare", [], args, False)
            finally:
                stop(bare)
        if "bare" in results:
            base = results["bare"]["rate"]
            for name, row in results.items():
                if name != "bare" and base:
                    print(f"ratio {name}/bare: {row['rate'] / base:.2f}")
        print(f"load average {os.getloadavg()[0]:.2f} at end")
        if args.profile:
            for name in ("me", "course"):
                out = str(tmp / f"profile-{name}")
                port = free_port()
                server = start_profiled(port, env, out, tmp / f"profile-{name}.log")
                try:
                    row = measure(f"{name}*", server, port, paths[name], tokens, args, postgres,
                                  warm=False)  # every request is in the profile
                finally:
                    stop(server)
                requests = int(row["count"]) or 1
                with contextlib.suppress(FileNotFoundError):
                    print(f"\n=== profile of {name} (1 worker, cProfile; figures per request) ===")
                    report_profile(out, requests)
        if postgres:
            common.drop_postgres(url)
        bad = [n for n, r in results.items() if r["errors"]]
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
