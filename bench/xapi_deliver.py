"""Benchmark: 100,000 xAPI statements delivered from the outbox to a real LRS (Ralph, file-system
backend, from .venv-ralph) in batches; Ralph is stopped and started again during the run.

    .venv/bin/python bench/xapi_deliver.py [--statements 100000] [--batch 500]
        [--down-after 0.3] [--down-seconds 5] [--database-url URL] [--timeout 1800]

Setup (not timed): a fresh database (SQLite file in a temporary folder by default; PostgreSQL with
`--database-url`, whose public schema is dropped and made again, never the `test` database);
`--statements` statements (activity completions of synthetic enrolments, built by
app.xapi.statements) queued through app.xapi.listeners.queue, 5,000 per transaction; Ralph started
on 127.0.0.1 (tests/xapi/ralph.py). LMS_OUTBOX_BACKOFF_SECONDS=1 so retries after the outage come
within seconds, not the production 30 s base.

Timed: `app.outbox.service.dispatch(only=["xapi"])` in a loop, as the job worker runs it, until
every statement is sent; when `--down-after` of them are in the LRS, Ralph is stopped for
`--down-seconds` and started again (same port and folder). Printed: seconds, statements/s, our CPU
per statement, the statements Ralph holds and how many distinct ids. Exit 1 unless Ralph holds every
statement exactly once and none is dead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.xapi.ralph, tests.ports
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _cert_setup

CHUNK = 5_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--statements", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500, help="statements per POST")
    parser.add_argument("--down-after", type=float, default=0.3)
    parser.add_argument("--down-seconds", type=float, default=5.0)
    parser.add_argument("--database-url")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="lms-bench-xapi-"))
    url = args.database_url or f"sqlite:///{work / 'xapi.db'}"
    _cert_setup.configure(url, work, prefix="xapi")
    from tests.xapi.ralph import USERNAME, Ralph

    ralph = Ralph()
    os.environ.update({
        "LMS_OUTBOX_KICK": "false", "LMS_OUTBOX_BACKOFF_SECONDS": "1",
        "LMS_OUTBOX_BACKOFF_MAX_SECONDS": "5", "LMS_OUTBOX_MAX_ATTEMPTS": "100",
        "LMS_XAPI_ENDPOINT": ralph.endpoint, "LMS_XAPI_USERNAME": USERNAME,
        "LMS_XAPI_PASSWORD": ralph.password, "LMS_XAPI_BATCH": str(args.batch),
    })  # fmt: skip
    if args.database_url:
        _cert_setup.reset_database(url)
    else:
        from app.cli import upgrade_database

        upgrade_database()
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.outbox import service as outbox
    from app.xapi import (
        delivery,  # noqa: F401 - the handler
        listeners,
    )
    from app.xapi import repository as xrepo
    from app.xapi import statements as st
    from app.xapi.constants import TOPIC

    settings = get_settings()
    setup = st.Setup(settings.base_url)
    at = dt.datetime.now(dt.UTC)
    made = 0
    print(f"queueing {args.statements:,} statements ...", flush=True)
    while made < args.statements:
        batch = []
        for n in range(made, min(made + CHUNK, args.statements)):
            learner = st.Learner(n // 20 + 1, None, "OPD", "Dinas Contoh")
            place = st.Place(n // 20 + 1, 1, "Angkatan I", 1, "Literasi Digital")
            batch.append(st.activity_completed(setup, learner, place,
                                               st.Thing(n % 20 + 1, f"Materi {n % 20 + 1}"), at))
        with session_scope() as session:
            listeners.queue(session, batch, None)
        made += len(batch)

    ralph.start()
    outage = {"done": False, "stopped_at": 0.0}

    def watch() -> None:
        wanted = int(args.statements * args.down_after)
        while not outage["done"]:
            if _lines(ralph) >= wanted:
                ralph.stop()
                outage["stopped_at"] = time.monotonic()
                print(f"  Ralph stopped after {wanted:,}+ statements", flush=True)
                time.sleep(args.down_seconds)
                ralph.start()
                print(f"  Ralph started again after {args.down_seconds:.0f} s", flush=True)
                outage["done"] = True
                return
            time.sleep(0.5)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started, cpu = time.monotonic(), time.process_time()
    sent = 0
    try:
        while time.monotonic() - started < args.timeout:
            stats = outbox.dispatch(settings, only=[TOPIC], max_seconds=30)
            sent += stats.sent
            with session_scope() as session:
                counts = xrepo.counts(session)
            if counts.get("sent", 0) == args.statements:
                break
            if stats.sent == 0:
                time.sleep(0.5)  # resting: the LRS is down, retries come after the backoff
        elapsed, used = time.monotonic() - started, time.process_time() - cpu
        outage["done"] = True
        stored = ralph.stored()
        ids = {s["id"] for s in stored}
    finally:
        ralph.close()
    with session_scope() as session:
        counts = xrepo.counts(session)
    print(f"statements: {args.statements:,} in POSTs of {args.batch}; Ralph down "
          f"{args.down_seconds:.0f} s during the run")  # fmt: skip
    print(f"delivered in {elapsed:.1f} s: {args.statements / elapsed:,.0f} statements/s; "
          f"our CPU {used / args.statements * 1e6:.0f} us/statement")  # fmt: skip
    print(f"outbox: {counts}; Ralph holds {len(stored):,} statements, {len(ids):,} distinct ids")
    ok = len(ids) == args.statements == len(stored) and not counts.get("dead")
    print("OK: every statement delivered exactly once" if ok else "FAILED")
    return 0 if ok else 1


def _lines(ralph: object) -> int:
    """Statements in Ralph's file so far (one JSON line each)."""
    path: Path = ralph.statements_file  # type: ignore[attr-defined]
    try:
        return path.read_bytes().count(b"\n") if path.exists() else 0
    except OSError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
