"""Benchmark: the HTTP server under `lms serve` — requests/s and latency of candidate servers.

    .venv/bin/python bench/servers.py [--seconds 10] [--connections 32] [--workers 2]
        [--client auto|wrk|python] [--servers NAME ...] [--targets NAME ...] [--repeat 1]

Each server runs with `--workers` processes on 127.0.0.1 and gets the same closed-loop load:
`--connections` keep-alive HTTP/1.1 connections for `--seconds` after a 2 s warm-up. Servers
(all with access logs off, as `lms serve`):

    uvicorn-h11        uvicorn, asyncio loop, h11 parser (pure Python)
    uvicorn-httptools  uvicorn, uvloop loop, httptools parser
    granian            granian 2, `--interface asgi` (lifespan on), its default loop (uvloop)
    lms-serve          `python -m app.cli serve --workers N` as shipped (real app only)

Targets: `bare` is a FastAPI app defined here returning a fixed JSON of about the size of
/api/v1/me (the floor a server sets); `healthz` and `me` are the real app (`app.main:create_app`)
on a SQLite database in a temporary folder, made by Alembic, with one user and one API token
written directly (no login), `me` sent with `Authorization: Bearer` (LMS_RATE_LIMIT_API raised
so one token is never refused; the limiter still runs). The real app runs with the
settings `lms serve --workers N` gives it: production environment, default log level (one
request line each, to a file), the SQLite job queue and its in-process worker thread,
prometheus multiprocess files in a temporary folder.

The load generator is `wrk` (apt install wrk; one thread, `--latency`) when found on PATH,
else an asyncio client with raw keep-alive connections (bench/quiz_submit.py's RawConnection)
that costs more CPU on this same machine, so its figures are lower: compare rows of one client
only. Printed per row: requests/s, p50 and p99 latency, errors (non-2xx and socket errors) and
the server's CPU ms per request (user + system of the server's process tree over the timed
window). Quote `uptime`'s load average (printed at each row) with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))  # quiz_submit's settings, raw HTTP client and CPU helpers
sys.path.insert(1, str(REPO))

import quiz_submit as common  # noqa: E402

SERVERS = ("uvicorn-h11", "uvicorn-httptools", "granian", "lms-serve")
TARGETS = ("bare", "healthz", "me")
BARE_BODY = {
    "id": 1, "name": "Peserta Bench", "nip": "198001012005011001", "email": None,
    "roles": ["learner"], "opd": None, "employment": "PNS", "locale": "id",
}  # fmt: skip
WARMUP_SECONDS = 2.0
START_TIMEOUT = 120.0  # two processes importing the app on a busy machine


def bare_app() -> Any:
    """The floor: a FastAPI app with one route returning a fixed JSON (no middleware, no DB)."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/bare")
    async def bare() -> dict[str, Any]:
        return BARE_BODY

    return app


# --- setup --------------------------------------------------------------------------------------


def seed(env: dict[str, str]) -> str:
    """Migrate the SQLite database, add one learner and one API token; the raw token."""
    import datetime as dt
    import secrets

    from sqlalchemy import insert

    from app.accounts.models import User
    from app.auth.models import ApiToken
    from app.auth.service import token_hash
    from app.cli import upgrade_database
    from app.core.db import session_scope

    common.use_database(env)
    upgrade_database()
    token = secrets.token_urlsafe(32)
    with session_scope() as session:
        user_id = session.scalar(
            insert(User).returning(User.id),
            {"nip": common._nip(0), "name": "Peserta Bench", "is_active": True,
             "employment": "PNS"},
        )  # fmt: skip
        session.execute(
            insert(ApiToken),
            {"token_hash": token_hash(token), "user_id": user_id,
             "expires_at": dt.datetime.now(dt.UTC) + dt.timedelta(days=1)},
        )  # fmt: skip
    return token


def server_command(server: str, app: str, port: int, workers: int) -> list[str]:
    """The command line of one candidate; `app` is "bare" or "real"."""
    target, app_dir = (("servers:bare_app", str(BENCH)) if app == "bare"
                       else ("app.main:create_app", str(REPO)))  # fmt: skip
    py = sys.executable
    if server.startswith("uvicorn"):
        loop, http = ("asyncio", "h11") if server == "uvicorn-h11" else ("uvloop", "httptools")
        return [py, "-m", "uvicorn", target, "--factory", "--app-dir", app_dir,
                "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                "--loop", loop, "--http", http, "--no-access-log", "--log-level", "warning"]  # fmt: skip
    if server == "granian":
        return [py, "-m", "granian", target, "--factory", "--interface", "asgi",
                "--working-dir", app_dir, "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers), "--log-level", "warning", "--no-ws"]  # fmt: skip
    if server == "lms-serve":
        return [py, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers), "--no-migrate", "--content-port", "0"]  # fmt: skip
    raise ValueError(server)


def wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited ({proc.returncode}):\n{log.read_text(errors='replace')}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=5).status_code < 500:
                return
        time.sleep(0.2)
    sys.exit(f"server did not answer {url} in {START_TIMEOUT:.0f}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT to the server's process group (the supervisors stop their workers), then KILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


# --- load ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Figures:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


Row = tuple[Figures, float, str]  # figures, server CPU ms per request, load average
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", value.strip())
    if not match:
        raise ValueError(value)
    return float(match[1]) * _UNITS[match[2]]


def run_wrk(url: str, headers: dict[str, str], seconds: float, connections: int) -> Figures:
    args = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
            "--timeout", "10s"]  # fmt: skip
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True,
                         timeout=seconds + 60).stdout  # fmt: skip
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if not (total and p50 and p99):
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    errors = 0
    if non2xx := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(non2xx[1])
    if sock := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        errors += sum(int(n) for n in sock.groups())
    return Figures(int(total[1]), _ms(total[2] + total[3]) / 1000, _ms(p50[1]), _ms(p99[1]), errors)


def run_python(
    port: int, path: str, headers: dict[str, str], seconds: float, connections: int
) -> Figures:
    """Closed loop over raw keep-alive connections, bounded by `seconds`."""

    async def main() -> Figures:
        loop = asyncio.get_running_loop()
        latencies: list[float] = []
        errors = 0
        end = loop.time() + seconds

        async def worker() -> None:
            nonlocal errors
            conn = common.RawConnection(port)
            while loop.time() < end:
                sent = loop.time()
                try:
                    status, _ = await conn.request("GET", path, headers)
                except (OSError, asyncio.IncompleteReadError, RuntimeError, ValueError):
                    await conn.close()
                    status = 0
                if 200 <= status < 300:
                    latencies.append((loop.time() - sent) * 1000)
                else:
                    errors += 1
            await conn.close()

        start = loop.time()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = loop.time() - start
        ordered = sorted(latencies) or [float("nan")]
        p50, p99 = (ordered[min(len(ordered) - 1, int(p * len(ordered)))] for p in (0.5, 0.99))
        return Figures(len(latencies) + errors, elapsed, p50, p99, errors)

    with contextlib.suppress(ImportError):
        import uvloop

        return uvloop.run(main())
    return asyncio.run(main())


# --- one row ------------------------------------------------------------------------------------


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(args: argparse.Namespace, port: int, server_pid: int, target: str, token: str) -> Row:
    """Warm up, then one timed window; (figures, server CPU ms per request, load average)."""
    path = {"bare": "/bare", "healthz": "/healthz", "me": "/api/v1/me"}[target]
    headers = {"Authorization": f"Bearer {token}"} if target == "me" else {}
    url = f"http://127.0.0.1:{port}{path}"

    def one(seconds: float) -> Figures:
        if args.client == "wrk":
            return run_wrk(url, headers, seconds, args.connections)
        return run_python(port, path, headers, seconds, args.connections)

    one(WARMUP_SECONDS)
    load = load_average()
    cpu_before = common._tree_cpu(server_pid)
    figures = one(args.seconds)
    cpu = common._tree_cpu(server_pid) - cpu_before
    return figures, cpu * 1000 / max(1, figures.requests), load


def run_server(
    args: argparse.Namespace, server: str, app: str, env: dict[str, str], tmp: Path, token: str
) -> dict[str, Row]:
    """Start one server, measure each of its targets once, stop it."""
    from tests.ports import free_port

    targets = [t for t in args.targets if (t == "bare") == (app == "bare")]
    port = free_port()
    log = tmp / f"{server}-{app}.log"
    server_env = {**os.environ, **env, "PYTHONPATH": str(REPO)}  # this tree's app, not another
    server_env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # `lms serve` makes its own folder
    if app == "real" and server != "lms-serve":
        metrics = tmp / f"metrics-{server}"
        shutil.rmtree(metrics, ignore_errors=True)
        metrics.mkdir()
        server_env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            server_command(server, app, port, args.workers), env=server_env, cwd=tmp,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    rows: dict[str, Row] = {}
    try:
        wait_ready(proc, f"http://127.0.0.1:{port}/{'bare' if app == 'bare' else 'healthz'}", log)
        for target in targets:
            rows[target] = measure(args, port, proc.pid, target, token)
            print(f"  {server} {target}: {_cells(rows[target])}", flush=True)
    finally:
        stop(proc)
    text = log.read_text(errors="replace")
    if "Traceback" in text:
        print(f"  ({server}: a traceback in its log)\n{text[-3000:]}", file=sys.stderr)
    return rows


def _cells(row: Row) -> str:
    figures, cpu_ms, load = row
    return (f"{figures.rate:,.0f} | {figures.p50_ms:.1f} | {figures.p99_ms:.1f} | "
            f"{figures.errors} | {cpu_ms:.2f} | {load}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="timed window per row")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--servers", nargs="+", choices=SERVERS, default=list(SERVERS))
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    parser.add_argument("--repeat", type=int, default=1, help="rounds; each row is the median")
    args = parser.parse_args()
    args.seconds = min(max(args.seconds, 1.0), 120.0)  # bounded in time
    args.connections = min(max(args.connections, 1), 1024)
    args.repeat = min(max(args.repeat, 1), 9)
    if args.client == "auto":
        args.client = "wrk" if shutil.which("wrk") else "python"
    if args.client == "wrk" and not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt install wrk), or use --client python")

    with tempfile.TemporaryDirectory(prefix="bench-servers-") as tmp_name:
        tmp = Path(tmp_name)
        env = common.app_env(f"sqlite:///{tmp / 'lms.db'}", tmp)
        env.update({
            "LMS_JOBS_URL": f"sqlite:///{tmp / 'jobs.db'}",
            # One token sends every request: the limiter still runs, but never says 429.
            "LMS_RATE_LIMIT_API": "1000000/minute",
        })  # fmt: skip
        token = seed(env)
        print(f"client: {args.client}, {args.connections} connections, {args.seconds:.0f} s per "
              f"row, {args.workers} workers, {os.cpu_count()} CPUs, {args.repeat} rounds")  # fmt: skip
        # Rounds go through every server in turn, so a change in the machine's load while the
        # benchmark runs spreads over all of them instead of falling on one.
        runs: dict[tuple[str, str], list[Row]] = {}
        for round_ in range(args.repeat):
            print(f"round {round_ + 1}:", flush=True)
            for app in ("bare", "real"):
                for server in args.servers:
                    if app == "bare" and server == "lms-serve":
                        continue
                    if not any((t == "bare") == (app == "bare") for t in args.targets):
                        continue
                    for target, row in run_server(args, server, app, env, tmp, token).items():
                        runs.setdefault((server, target), []).append(row)
        print(
            "| server | target | req/s | p50 ms | p99 ms | errors | server CPU ms/req | load avg |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for target in args.targets:
            for server in args.servers:
                rows = sorted(runs.get((server, target), []), key=lambda r: r[0].rate)
                if rows:
                    print(f"| {server} | {target} | {_cells(rows[len(rows) // 2])} |")


if __name__ == "__main__":
    main()
