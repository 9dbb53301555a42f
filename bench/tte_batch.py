"""Benchmark: batch-sign 1,000 certificates through the BSrE fake (tests/tte/fake.py in its own
process, 100 ms latency per call) with `bsre_concurrency` requests in flight; every returned PDF
is verified with pyHanko before it replaces the stored one.

    .venv/bin/python bench/tte_batch.py [--database-url URL] [--certificates 1000]
        [--latency 0.1] [--concurrency 8 [--concurrency 16 ...]]

The database (default postgresql+psycopg://postgres@127.0.0.1:5432/bsre_bench; never `test`)
is emptied and made by Alembic; the setup (not timed) issues the certificate records and stores
one rendered, locally signed PDF for each. Timed: app.tte.tasks.start (status check, first
certificate, then the rest) — the code behind POST .../signing-batches/{id}/sign. Printed per
concurrency: certificates/s, and this process's CPU per certificate (the fake's CPU is its own
process's, not counted). Checks: every certificate signed once, its sha256 that of the stored
bytes, and a sample validated again.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _cert_setup

ROOT = Path(__file__).resolve().parent.parent


def _start_fake(latency: float, trust: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.tte.fake", "--latency", str(latency), "--trust-out",
         str(trust)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        proc.kill()
        sys.exit(f"the BSrE fake did not start: {line!r}")
    return proc, line.split(" ", 1)[1]


def _ensure_database(database_url: str) -> None:
    """Make a missing PostgreSQL database (its name from the URL)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        return
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                           {"n": url.database}):  # fmt: skip
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/bsre_bench")
    parser.add_argument("--certificates", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, action="append")
    args = parser.parse_args()
    concurrencies = args.concurrency or [8]
    work = _cert_setup.configure(args.database_url, prefix="tte")

    from pydantic import SecretStr
    from sqlalchemy import select, update

    from app.certificates import documents, keys, pdf, signing
    from app.certificates import service as cert_service
    from app.certificates import tasks as cert_tasks
    from app.certificates.models import Certificate
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.tte import service, tasks
    from app.tte.client import Credentials
    from app.tte.models import SigningBatch
    from tests.tte import fake as fake_module

    settings = get_settings()
    trust = Path(tempfile.mkdtemp(prefix="bsre-trust-")) / "trust.pem"
    proc, url = _start_fake(args.latency, trust)
    settings.bsre_url, settings.bsre_username = url, fake_module.USERNAME
    settings.bsre_password = SecretStr(fake_module.PASSWORD)
    settings.bsre_trust_pem = str(trust)
    try:
        t0 = time.perf_counter()
        _ensure_database(args.database_url)
        _cert_setup.reset_database(args.database_url)
        keys.ensure_keys(settings)
        failures: list[str] = []
        ids = _cert_setup.make_run(args.certificates)
        for round_no, concurrency in enumerate(concurrencies):
            if round_no == 0:
                with session_scope() as session:
                    job_id = cert_service.create_issue_job(session, ids["run"], None, None)
                cert_tasks.run_job(job_id, settings, render=False)
            # One rendered, locally signed PDF stored for every certificate (not timed).
            sample = signing.get_signer(settings).sign(
                pdf.render(pdf.sample_data(settings), pdf.DEFAULT_TEMPLATE, settings))
            with session_scope() as session:
                certs = list(session.execute(select(Certificate.id, Certificate.year)))
                rows = []
                for cid, year in certs:
                    stored = documents.store_pdf(cid, year, sample, settings)
                    rows.append({"id": cid, "pdf_key": stored.key, "pdf_sha256": stored.sha256,
                                 "pdf_size": stored.size})
                session.execute(update(Certificate), rows)
                session.execute(SigningBatch.__table__.delete())  # a fresh round signs all again
                batch = service.prepare(session, run_id=ids["run"], certificate_ids=None, by=None)
                batch_id = batch.id
            print(f"setup: {len(certs)} certificates in {time.perf_counter() - t0:.1f} s "
                  "(not timed)")  # fmt: skip
            settings.bsre_concurrency = concurrency
            creds = Credentials(fake_module.NIK_OK, fake_module.PASSPHRASE_OK)
            started, cpu0 = time.perf_counter(), time.process_time()
            tasks.start(batch_id, creds, None, settings)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
            n = len(certs)
            print(f"concurrency {concurrency}: {n} signed in {wall:.1f} s = {n / wall:.1f} "
                  f"certificates/s (latency-bound ceiling {concurrency / args.latency:.0f}/s); "
                  f"our CPU {cpu:.1f} s = {1000 * cpu / n:.1f} ms per certificate")  # fmt: skip
            with session_scope() as session:
                state = service.batch_read(session, service.get_batch(session, batch_id, settings),
                                           with_items=False)  # fmt: skip
                sample_rows = list(session.execute(
                    select(Certificate.pdf_key, Certificate.pdf_sha256).limit(20)))
            if state.state != "done" or state.signed_count != n:
                failures.append(f"batch {state.state}: {state.signed_count}/{n} {state.error}")
            for key, sha in sample_rows:
                data = b"".join(documents.get_storage(settings).open_range(key))
                if hashlib.sha256(data).hexdigest() != sha or not signing.signature_check(
                        data, settings).authentic:  # fmt: skip
                    failures.append(f"{key}: not the recorded, authentic file")
            t0 = time.perf_counter()
        print("checks: " + ("OK — every certificate signed once, stored sha256 matches, sample "
                            "authentic" if not failures else "; ".join(failures[:5])))
        return 1 if failures else 0
    finally:
        proc.terminate()
        proc.wait(10)
        del work


if __name__ == "__main__":
    raise SystemExit(main())
