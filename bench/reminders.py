"""Benchmark: the monthly below-pace reminder for every ASN of `lms dev seed --size L` (10,000),
made by the scheduled job and delivered over SMTP by the outbox dispatcher, end to end; then the
same with the mail server down for the first part of the run.

    .venv/bin/python bench/reminders.py [--database-url URL] [--reuse] [--dispatchers 2]
        [--scenarios normal,outage] [--down-seconds S] [--timeout 300] [--profile]

Setup (not timed): a fresh database (SQLite file in a temporary folder by default; PostgreSQL with
`--database-url postgresql+psycopg://...`, whose public schema is dropped and made again by
Alembic; never the `test` database) seeded by `lms dev seed --size L` in a child process; every
ASN without an e-mail gets one; seeded courses are tagged with competencies so that the assessed
ASN get gap courses. `--reuse` keeps a database seeded before and only forgets the messages.
An SMTP sink (aiosmtpd, `python -m tests.mailsink`) runs in a CHILD process and writes one
Message-ID per line; `--dispatchers` processes run `app.outbox.service.dispatch` in a loop, as
the job worker does (claims are atomic, so they share the work).

Timed, per scenario, from the job's start to the last message at the sink:
- "normal": `jobs.run_due(now=<1 February of a year without JP>, only="notifications.below_pace")`
  (every ASN is below pace: 0 JP against 20 x 31/365) while the dispatchers deliver;
- "outage": the same with the sink started only `--down-seconds` after the job (default: half of
  the normal scenario's time, at least 10 s); LMS_OUTBOX_BACKOFF_SECONDS=1 for the benchmark so
  retries come within seconds, not the production 30 s base.
Printed: seconds for the job and end to end, messages/s, messages at the sink, distinct
Message-IDs, outbox items by state. Exit 1 unless every ASN's message arrived exactly once and
none is dead. Every wait is bounded by `--timeout`.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import multiprocessing
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.mailsink, tests.ports
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _cert_setup

ROOT = Path(__file__).resolve().parent.parent

JOB = "notifications.below_pace"
TOPIC = "notify.email"
MAX_DISPATCHERS = 8


# --- setup (not timed) ----------------------------------------------------------------------------


def configure(args: argparse.Namespace, work: Path, smtp_port: int) -> None:
    """Settings for the app in this process and its children (before any app import)."""
    url = args.database_url or f"sqlite:///{work / 'reminders.db'}"
    _cert_setup.configure(url, work, prefix="reminders")
    os.environ.update(
        {
            "LMS_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "LMS_OUTBOX_KICK": "false",  # the dispatcher processes deliver, as the worker would
            "LMS_OUTBOX_BACKOFF_SECONDS": "1",  # the outage scenario: retries within seconds
            "LMS_OUTBOX_BATCH": str(args.batch),
            "LMS_NOTIFY_EMAIL_PER_MINUTE": "0",  # no rate limit: measure the pipeline itself
            "LMS_WHATSAPP_URL": "",
        }
    )


def seed(args: argparse.Namespace) -> None:
    from sqlalchemy import func, select

    from app.accounts.models import User
    from app.cli import upgrade_database
    from app.core.db import session_scope

    if args.reuse:
        upgrade_database()
        with session_scope() as session:
            have = session.scalar(select(func.count()).where(User.nip.is_not(None))) or 0
        if have >= 10_000:
            print(f"reusing the database: {have:,} ASN")
            return
    if args.database_url:
        _cert_setup.reset_database(args.database_url)
    started = time.perf_counter()
    lms = str(Path(sys.executable).parent / "lms")
    subprocess.run(
        [lms, "dev", "seed", "--size", "L"],
        env=dict(os.environ),
        check=True,
        cwd=ROOT,
        timeout=1800,
    )
    print(f"seed --size L: {time.perf_counter() - started:.0f} s (not timed)")


def prepare() -> dict[str, Any]:
    """E-mails for every ASN, competency tags on the seeded courses, no earlier messages; the
    as-of moment (8:00 on 1 February of the year after the ledger's last)."""
    from sqlalchemy import delete, func, insert, select, update

    from app.accounts.models import User
    from app.competency.models import Competency
    from app.core import clock
    from app.core.db import session_scope
    from app.courses.models import Course, CourseCompetency
    from app.jobs.models import ScheduledRun
    from app.jp.models import JpCredit

    with session_scope() as session:
        session.execute(
            update(User)
            .where(User.nip.is_not(None), User.email.is_(None))
            .values(email=User.nip + "@asn.example.go.id")
        )
        if not session.scalar(select(func.count()).select_from(CourseCompetency)):
            codes = list(
                session.scalars(select(Competency.code).where(Competency.is_active.is_(True)))
            )
            courses = list(
                session.scalars(
                    select(Course.id).where(Course.code.like("SEED-%")).order_by(Course.id)
                )
            )
            rows = [
                {"course_id": cid, "competency_code": codes[i % len(codes)], "target_level": None}
                for i, cid in enumerate(courses[: 2 * len(codes)])
            ]
            if rows:
                session.execute(insert(CourseCompetency), rows)
        session.execute(delete(ScheduledRun).where(ScheduledRun.job == JOB))
        last = session.scalar(select(func.max(JpCredit.year))) or clock.today().year
        asn = session.scalar(
            select(func.count()).where(
                User.is_active.is_(True), User.nip.is_not(None), User.email.is_not(None)
            )
        )
    forget_messages()
    year = int(last) + 1
    day = dt.date(year, 2, 1)
    as_of = dt.datetime.combine(day, dt.time(8), clock.institution_tz()).astimezone(dt.UTC)
    return {"asn": int(asn or 0), "as_of": as_of, "year": year}


def forget_messages() -> None:
    from sqlalchemy import delete

    from app.core.db import session_scope
    from app.jobs.models import ScheduledRun
    from app.notifications.models import Notification
    from app.outbox.models import OutboxItem

    with session_scope() as session:
        session.execute(delete(OutboxItem))
        session.execute(delete(Notification))
        session.execute(delete(ScheduledRun).where(ScheduledRun.job == JOB))


# --- the SMTP sink (a child process) --------------------------------------------------------------


class Sink:
    def __init__(self, port: int, out: Path) -> None:
        self.port, self.out = port, out
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        from tests.ports import wait_for_port

        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.mailsink",
                "--port",
                str(self.port),
                "--out",
                str(self.out),
            ],
            cwd=ROOT,
        )
        wait_for_port(self.port, timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def cpu_seconds(self) -> float:
        import psutil

        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        times = psutil.Process(self.proc.pid).cpu_times()
        return float(times.user + times.system)

    def ids(self) -> list[str]:
        if not self.out.exists():
            return []
        return [line for line in self.out.read_text().splitlines() if line.strip()]


# --- the dispatchers (child processes) ------------------------------------------------------------


def dispatcher(ready: Any, stop: Any, seconds: float, results: Any) -> None:
    """Deliver what the outbox holds until told to stop (bounded by `seconds`)."""
    import app.main  # noqa: F401 - registers every outbox handler
    from app.core.config import get_settings
    from app.outbox import service as outbox

    settings = get_settings()
    ready.release()
    totals = {"sent": 0, "failed": 0, "dead": 0, "rounds": 0}
    end = time.monotonic() + seconds
    while not stop.is_set() and time.monotonic() < end:
        stats = outbox.dispatch(settings, max_seconds=5, only=[TOPIC])
        totals["rounds"] += 1
        for key in ("sent", "failed", "dead"):
            totals[key] += getattr(stats, key)
        if not stats.handled:
            time.sleep(0.05)
        elif stats.failed and not stats.sent:  # channel down: the worker's follow-up waits >= 1 s
            time.sleep(1.0)
    totals["cpu_s"] = round(time.process_time(), 1)
    results.put(totals)


class Dispatchers:
    def __init__(self, count: int, seconds: float) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.ready = ctx.Semaphore(0)
        self.stop_event = ctx.Event()
        self.results = ctx.Queue()
        self.procs = [
            ctx.Process(
                target=dispatcher,
                args=(self.ready, self.stop_event, seconds, self.results),
                daemon=True,
            )
            for _ in range(count)
        ]

    def start(self) -> None:
        for p in self.procs:
            p.start()
        for _ in self.procs:
            if not self.ready.acquire(timeout=120):
                raise RuntimeError("a dispatcher did not start in 120 s")

    def stop(self) -> list[dict[str, int]]:
        self.stop_event.set()
        found = []
        for _ in self.procs:
            try:
                found.append(self.results.get(timeout=60))
            except Exception:  # a dispatcher that died says nothing
                break
        for p in self.procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
        return found


# --- one scenario ---------------------------------------------------------------------------------


def outbox_states() -> dict[str, int]:
    from sqlalchemy import func, select

    from app.core.db import session_scope
    from app.outbox.models import OutboxItem

    with session_scope() as session:
        rows = session.execute(
            select(OutboxItem.state, func.count())
            .where(OutboxItem.topic == TOPIC)
            .group_by(OutboxItem.state)
        )
        return {state: int(n) for state, n in rows}


def run_scenario(
    name: str,
    args: argparse.Namespace,
    world: dict[str, Any],
    work: Path,
    port: int,
    down_seconds: float,
) -> tuple[bool, float]:
    from app.core.config import get_settings
    from app.jobs import service as jobs

    forget_messages()
    sink = Sink(port, work / f"sink-{name}.log")
    if sink.out.exists():
        sink.out.unlink()
    if down_seconds <= 0:
        sink.start()
    crew = Dispatchers(args.dispatchers, args.timeout + 60)
    crew.start()
    expected = world["asn"]
    ok = True
    try:
        done: dict[str, Any] = {}

        def job() -> None:  # in a thread: the sink is watched meanwhile
            cpu = time.thread_time()
            done["outcomes"] = jobs.run_due(
                get_settings(), now=world["as_of"], only=JOB, force=True
            )
            done["seconds"] = time.perf_counter() - started
            done["cpu"] = time.thread_time() - cpu

        started = time.perf_counter()
        runner = threading.Thread(target=job, daemon=True)
        runner.start()
        first_at = None
        back_at = None
        deadline = started + args.timeout
        next_report = started + 10
        count = 0
        while time.perf_counter() < deadline:
            if "outcomes" in done and "reported" not in done:
                done["reported"] = True
                outcomes = done["outcomes"]
                result = outcomes[0].result if outcomes else "(not run)"
                print(f"[{name}] job: {done['seconds']:.1f} s ({done['cpu']:.1f} s CPU) — {result}")
                if not outcomes or outcomes[0].state != "done":
                    print(f"[{name}] job failed: {result}")
                    return False, 0.0
            if (
                down_seconds > 0
                and back_at is None
                and time.perf_counter() - started >= down_seconds
            ):
                sink.start()
                back_at = time.perf_counter()
                print(f"[{name}] SMTP sink started {back_at - started:.1f} s after the job began")
            count = len(sink.ids())
            if count and first_at is None:
                first_at = time.perf_counter()
            if time.perf_counter() >= next_report:
                print(f"[{name}]   {time.perf_counter() - started:5.1f} s: {count:,} at the sink")
                next_report += 10
            if count >= expected:
                break
            time.sleep(0.1)
        ended = time.perf_counter()
        time.sleep(1.0)  # anything arriving late (a duplicate) still counts
    finally:
        totals = crew.stop()
        ids = sink.ids()
        sink_cpu = sink.cpu_seconds()
        sink.stop()
    seconds = ended - started
    states = outbox_states()
    distinct = len(set(ids))
    print(
        f"[{name}] end to end: {seconds:.1f} s, {expected / seconds:,.0f} messages/s"
        + (f"; first message after {first_at - started:.1f} s" if first_at else "")
        + (f"; last message {ended - back_at:.1f} s after the sink came back" if back_at else "")
    )
    print(
        f"[{name}] at the sink: {len(ids):,} messages, {distinct:,} distinct Message-IDs "
        f"(expected {expected:,}); outbox: {states}"
    )
    print(f"[{name}] dispatchers: {totals}; SMTP sink CPU {sink_cpu:.1f} s")
    if len(ids) != expected or distinct != expected:
        print(f"[{name}] FAILED: not every message arrived exactly once")
        ok = False
    if states.get("dead", 0) or states.get("sent", 0) != expected:
        print(f"[{name}] FAILED: outbox states {states}")
        ok = False
    if name == "normal" and seconds >= 60:
        print(f"[{name}] target missed: {seconds:.1f} s >= 60 s")
    return ok, seconds


def profile(world: dict[str, Any], port: int, work: Path) -> None:
    """The job, then one in-process dispatcher, each under cProfile; ms per message."""
    from app.core.config import get_settings
    from app.jobs import service as jobs
    from app.outbox import service as outbox

    forget_messages()
    sink = Sink(port, work / "sink-profile.log")
    sink.start()
    try:
        n = world["asn"]
        for label, fn in (
            ("job", lambda: jobs.run_due(get_settings(), now=world["as_of"], only=JOB, force=True)),
            ("dispatch", lambda: outbox.dispatch(get_settings(), max_seconds=600, only=[TOPIC])),
        ):
            prof = cProfile.Profile()
            started, cpu = time.perf_counter(), time.process_time()
            prof.enable()
            out = fn()
            prof.disable()
            wall, used = time.perf_counter() - started, time.process_time() - cpu
            print(
                f"\n== {label}: {wall:.1f} s wall, {used:.1f} s CPU, "
                f"{1000 * used / n:.2f} ms CPU per message — {out}"
            )
            pstats.Stats(prof).sort_stats("cumulative").print_stats(35)
            pstats.Stats(prof).sort_stats("tottime").print_stats(20)
    finally:
        sink.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL URL (default: a SQLite file in a temporary folder)",
    )
    parser.add_argument("--reuse", action="store_true", help="keep a database seeded before")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--dispatchers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=200, help="LMS_OUTBOX_BATCH")
    parser.add_argument("--scenarios", default="normal,outage")
    parser.add_argument("--down-seconds", type=float, default=None)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    args.dispatchers = max(1, min(args.dispatchers, MAX_DISPATCHERS))
    args.timeout = max(10.0, min(args.timeout, 1800.0))
    work = args.workdir or Path(tempfile.mkdtemp(prefix="lms-bench-reminders-"))
    work.mkdir(parents=True, exist_ok=True)
    from tests.ports import free_port

    port = free_port()
    configure(args, work, port)
    seed(args)
    import app.main  # noqa: F401 - the composition root registers the scheduled jobs

    world = prepare()
    print(
        f"database: {os.environ['LMS_DATABASE_URL'].split('@')[-1]}; {world['asn']:,} ASN "
        f"with e-mail; as of {world['as_of']:%Y-%m-%d %H:%M} UTC; {args.dispatchers} "
        f"dispatcher process(es), batch {args.batch}"
    )
    with subprocess.Popen(["uptime"], stdout=subprocess.PIPE) as up:
        print("load:", (up.communicate()[0] or b"").decode().strip())
    if args.profile:
        profile(world, port, work)
        return 0
    ok = True
    normal_seconds = 0.0
    for name in [s.strip() for s in args.scenarios.split(",") if s.strip()]:
        if name == "normal":
            passed, normal_seconds = run_scenario(name, args, world, work, port, 0)
        elif name == "outage":
            down = args.down_seconds or max(10.0, normal_seconds / 2)
            passed, _seconds = run_scenario(name, args, world, work, port, down)
        else:
            sys.exit(f"unknown scenario {name!r} (normal, outage)")
        ok = ok and passed
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
