"""Benchmark: N certificates (default 10,000) pushed to the SIASN contract fake, a riwayat kursus
plus its PDF upload each, with a simulated service latency (default 50 ms per call) and a
throttling burst (default 2 s) once half are through. Prints throughput, our CPU per record
(this process: the job, the client, the database driver; the fake runs in its own process) and
checks that every record reached SIASN exactly once (one record, one document, no duplicate).

  .venv/bin/python bench/siasn_push.py [--count 10000] [--concurrency 16] [--latency 0.05]
      [--pause 0] [--burst 2] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/siasn_bench]

Loopback only; the database is dropped and made again (never the test database).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _cert_setup

ROOT = _cert_setup.ROOT
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/siasn_bench"
PDF_BYTES = 180_000  # a typical signed certificate with its curriculum page


def fake_control(url: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    if body is None:
        return dict(httpx.get(url + path, timeout=10).json())
    return dict(httpx.post(url + path, json=body, timeout=10).json())


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_fake(latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.siasn.fake", "--latency", str(latency)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        proc.kill()
        sys.exit("the SIASN fake did not start")
    return proc, url


def seed(count: int) -> int:
    """A run of `count` learners, a certificate each with one stored PDF, and their JP credits
    through the ledger (whose listener writes the SIASN sync rows, as issuing does)."""
    from sqlalchemy import func, insert, select

    from app.certificates.models import Certificate
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.jp import service as jp_service
    from app.siasn.models import SiasnRecord
    from app.storage.service import get_storage

    ids = _cert_setup.make_run(count, pages=1)
    key = "certificates/bench/siasn.pdf"
    body = b"%PDF-1.7\n" + secrets.token_bytes(PDF_BYTES) + b"\n%%EOF\n"
    get_storage(get_settings()).put(key, io.BytesIO(body), content_type="application/pdf")
    today = dt.date.today()
    with session_scope() as session:
        from app.accounts.models import User
        from app.courses.models import Enrolment

        people = session.execute(
            select(Enrolment.id, User.id, User.nip, User.name)
            .join(User, User.id == Enrolment.user_id)
            .where(Enrolment.run_id == ids["run"])
        ).all()
        rows = [
            {
                "number": f"{n + 1:05d}/LITDIG/BKPSDM/XII/{today.year}", "year": today.year,
                "seq": n + 1, "code": secrets.token_hex(20).upper(), "version": 1,
                "status": "valid", "enrolment_id": eid, "run_id": ids["run"],
                "course_id": ids["course"], "user_id": uid, "holder_name": name,
                "holder_nip": nip, "course_code": "LITDIG",
                "course_title": "Literasi Digital untuk ASN", "run_name": "Angkatan I",
                "run_starts_on": today - dt.timedelta(days=30), "run_ends_on": today,
                "funding_source": "apbd_kabupaten", "jp": 20.0, "issuer": "BKPSDM Kabupaten Contoh",
                "signer_name": "Kepala", "signer_jabatan": "Kepala BKPSDM", "place": "Contoh",
                "issued_on": today, "issued_at": dt.datetime.now(dt.UTC),
                "template_version": 1, "pdf_key": key, "pdf_sha256": "0" * 64, "pdf_size": len(body),
            }
            for n, (eid, uid, nip, name) in enumerate(people)
        ]  # fmt: skip
        for start in range(0, len(rows), 2000):
            session.execute(insert(Certificate), rows[start : start + 2000])
        certs = session.execute(select(Certificate.id, Certificate.user_id)).all()
        jp_service.credit_many(session, [
            {"user_id": uid, "year": today.year, "source": "certificate", "source_id": cid,
             "jp": 20.0, "credited_on": today, "reference": f"#{cid}",
             "funding_source": "apbd_kabupaten"}
            for cid, uid in certs
        ])  # fmt: skip
    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(SiasnRecord)) or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--pause", type=float, default=0.0)
    parser.add_argument("--burst", type=float, default=2.0)
    parser.add_argument(
        "--database-url", default=os.environ.get("LMS_BENCH_DATABASE_URL", DEFAULT_URL)
    )
    args = parser.parse_args()

    _cert_setup.configure(args.database_url, prefix="siasn")
    proc, url = start_fake(args.latency)
    os.environ.update({
        "LMS_SIASN_API_URL": url + "/apisiasn/1.0", "LMS_SIASN_TOKEN_URL": url + "/oauth2/token",
        "LMS_SIASN_CONSUMER_KEY": "lms-consumer", "LMS_SIASN_CONSUMER_SECRET": "apim-rahasia-9f3c1e",
        "LMS_SIASN_SSO_TOKEN": "sso-rahasia-7d2b4a", "LMS_SIASN_CONCURRENCY": str(args.concurrency),
        "LMS_SIASN_PAUSE_SECONDS": str(args.pause), "LMS_SIASN_BACKOFF_SECONDS": "1",
        "LMS_SIASN_RETRIES": "3", "LMS_SIASN_BATCH": str(max(50, args.concurrency * 8)),
        "LMS_DB_POOL_SIZE": str(args.concurrency + 4), "LMS_OUTBOX_KICK": "false",
    })  # fmt: skip
    try:
        _cert_setup.reset_database(args.database_url)
        from sqlalchemy import func, select

        import app.main  # noqa: F401 - every domain and listener, as the worker has them
        from app.core.config import get_settings
        from app.core.db import session_scope
        from app.siasn import service
        from app.siasn.models import SiasnRecord

        t0 = time.perf_counter()
        rows = seed(args.count)
        print(
            f"seeded {args.count} certificates, {rows} SIASN rows in {time.perf_counter() - t0:.1f} s"
        )

        burst_at = threading.Event()

        def burst() -> None:  # the throttling burst once half are through
            while not burst_at.is_set():
                if fake_control(url, "/__fake/stats")["uploads"] >= args.count // 2:
                    fake_control(url, "/__fake/throttle", {"seconds": args.burst})
                    print(f"  throttling burst of {args.burst:.1f} s started")
                    return
                time.sleep(0.5)

        watcher = threading.Thread(target=burst, daemon=True)
        watcher.start()
        settings = get_settings()
        wall0, cpu0, fake0 = time.perf_counter(), time.process_time(), process_cpu(proc.pid)
        rounds = 0
        total = service.PushStats()
        while True:
            stats = service.push_due(settings, max_seconds=600)
            rounds += 1
            total.pushed += stats.pushed
            total.failed += stats.failed
            total.calls += stats.calls
            with session_scope() as session:
                left = session.scalar(select(func.count()).select_from(SiasnRecord)
                                      .where(SiasnRecord.state == "pending"))  # fmt: skip
            if not left or rounds > 50:
                break
            time.sleep(0.5)  # unavailable past the retries: the next round (the job's tick)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        fake_cpu = process_cpu(proc.pid) - fake0
        burst_at.set()
        fake = fake_control(url, "/__fake/stats")
        with session_scope() as session:
            states = dict(session.execute(select(SiasnRecord.state, func.count())
                                          .group_by(SiasnRecord.state)).all())  # fmt: skip
        n = max(total.pushed, 1)
        print(f"pushed {total.pushed} records in {wall:.1f} s over {rounds} round(s): "
              f"{total.pushed / wall:.1f} records/s, {total.calls} calls "
              f"({total.calls / n:.2f} per record)")  # fmt: skip
        print(f"our CPU {cpu:.1f} s: {cpu / n * 1000:.2f} ms per record "
              f"({cpu / wall * 100:.0f}% of one core while pushing)")  # fmt: skip
        print(f"the fake's CPU {fake_cpu:.1f} s ({fake_cpu / wall * 100:.0f}% of one core; "
              f"one Python process parsing each multipart PDF)")  # fmt: skip
        floor = args.count * (total.calls / n) * args.latency / args.concurrency
        print(f"latency floor at concurrency {args.concurrency}: {floor:.1f} s "
              f"(+ {args.burst:.1f} s burst, pause {args.pause:.2f} s per call)")  # fmt: skip
        print(f"fake: {fake['created']} created, {fake['updated']} updated, {fake['uploads']} uploads, "
              f"{fake['throttled']} throttled answers, {fake['kursus']} records "
              f"({fake['distinct_numbers']} distinct numbers, {fake['with_document']} with PDF)")  # fmt: skip
        print(f"LMS rows per state: {states}")
        once = (fake["created"] == fake["kursus"] == fake["distinct_numbers"] == args.count
                == fake["with_document"] == fake["uploads"] and states.get("pushed") == args.count)  # fmt: skip
        print("every record pushed exactly once: " + ("YES" if once else "NO"))
        if not once:
            sys.exit(1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
