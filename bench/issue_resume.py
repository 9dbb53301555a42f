"""Benchmark / crash test: bulk issuance killed with SIGKILL half-way, then resumed.

    .venv/bin/python bench/issue_resume.py [--database-url URL] [--learners 2000] [--workers 2]

Setup (not timed; bench/_cert_setup.py): a fresh PostgreSQL database (default
postgresql+psycopg://postgres@127.0.0.1:5432/h2_bench, never `test`) with one run of
`--learners` learners who completed it, and one bulk issue job (certificate records + PDFs).

1. A child process runs the job (`tasks.run_job`, as the job worker does); when half of the
   records are issued, the parent sends SIGKILL to its whole process group (mid-batch).
2. A second child resumes it (`lms certificates resume JOB_ID` does the same); when half of the
   PDFs are stored, SIGKILL again (the PDF pool's processes die with it).
3. The parent resumes the job to its end, in-process.

Then it checks: numbers exactly 1..N with no duplicate; one certificate per learner; every
record has its PDF in storage whose sha256 equals the recorded one; one JP credit per record;
the job says done with N issued. It prints the timings and how many stored PDFs are orphans
(rendered by a killed process but never recorded; harmless, their keys are never served).
Exit 1 when a check fails.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _cert_setup


def child(args: argparse.Namespace) -> int:
    _cert_setup.configure(args.database_url, Path(args.workdir))
    from app.certificates import tasks
    from app.core.config import get_settings

    settings = get_settings()
    settings.cert_job_batch = args.batch
    settings.cert_job_stale_seconds = 1
    ok = tasks.run_job(args.child, settings, workers=args.workers) or tasks.resume_stale(
        settings, inline=True, job_id=args.child
    )
    return 0 if ok else 1


def _job(job_id: str) -> tuple[str, int, int]:
    from sqlalchemy import func, select

    from app.certificates.models import Certificate, IssueJob
    from app.core.db import session_scope

    with session_scope() as session:
        job = session.get(IssueJob, job_id)
        assert job is not None
        rendered = session.scalar(
            select(func.count()).where(
                Certificate.job_id == job_id, Certificate.pdf_sha256.is_not(None)
            )
        )
        return job.state, job.issued_count, int(rendered or 0)


def run_child_until(args: argparse.Namespace, job_id: str, work: Path, phase: str,
                    target: int) -> tuple[float, tuple[str, int, int]]:  # fmt: skip
    cmd = [sys.executable, __file__, "--child", job_id, "--workdir", str(work),
           "--database-url", args.database_url, "--workers", str(args.workers),
           "--batch", str(args.batch)]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, start_new_session=True)
    state = _job(job_id)
    while proc.poll() is None:
        state = _job(job_id)
        if (state[1] if phase == "issue" else state[2]) >= target:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            break
        time.sleep(0.05)
    else:
        print(f"  child ended by itself ({proc.returncode}) before the kill point")
    return time.perf_counter() - started, _job(job_id)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=_cert_setup.DEFAULT_URL)
    parser.add_argument("--learners", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--child")
    parser.add_argument("--workdir")
    args = parser.parse_args()
    if args.child:
        return child(args)
    work = _cert_setup.configure(args.database_url)
    from sqlalchemy import func, select

    from app.certificates import keys, service, tasks
    from app.certificates.models import Certificate
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.jp.models import JpCredit
    from app.storage import get_storage

    settings = get_settings()
    _cert_setup.reset_database(args.database_url)
    ids = _cert_setup.make_run(args.learners)
    keys.ensure_keys(settings)
    with session_scope() as session:
        job_id = service.create_issue_job(session, ids["run"], None, None)
    n = args.learners
    print(f"setup: {n} learners, job {job_id}")

    took, state = run_child_until(args, job_id, work, "issue", n // 2)
    print(f"1. killed while issuing after {took:.1f} s: issued {state[1]}, PDFs {state[2]}")
    took, state = run_child_until(args, job_id, work, "render", n // 2)
    print(f"2. resumed, killed while rendering after {took:.1f} s: issued {state[1]}, "
          f"PDFs {state[2]}")  # fmt: skip
    settings.cert_job_stale_seconds = 1
    time.sleep(1.1)
    started = time.perf_counter()
    resumed = tasks.resume_stale(settings, inline=True, job_id=job_id)
    print(f"3. resumed to the end in {time.perf_counter() - started:.1f} s ({resumed})")

    failures: list[str] = []
    storage = get_storage(settings)
    with session_scope() as session:
        certs = session.execute(
            select(
                Certificate.seq,
                Certificate.enrolment_id,
                Certificate.pdf_key,
                Certificate.pdf_sha256,
            ).order_by(Certificate.seq)
        ).all()
        credits = session.scalar(select(func.count()).select_from(JpCredit))
        job = service.job_status(session, job_id, with_items=False)
    if [c[0] for c in certs] != list(range(1, n + 1)):
        failures.append(f"numbers are not exactly 1..{n} ({len(certs)} records)")
    if len({c[1] for c in certs}) != len(certs):
        failures.append("a learner has two certificates")
    bad_pdf = 0
    for _seq, _eid, key, sha in certs:
        if not key or not sha:
            bad_pdf += 1
            continue
        digest = hashlib.sha256(b"".join(storage.open_range(key))).hexdigest()
        if digest != sha:
            bad_pdf += 1
    if bad_pdf:
        failures.append(f"{bad_pdf} records without their PDF or with a wrong sha256")
    if credits != n:
        failures.append(f"{credits} JP credits")
    if job.state != "done" or job.issued_count != n:
        failures.append(f"job {job.state}, issued {job.issued_count}")
    stored = sum(1 for _ in (work / "objects" / "certificates").rglob("*.pdf"))
    print(f"stored PDF objects: {stored} ({stored - len(certs)} orphans from killed renders)")
    print("checks: " + ("OK — numbers 1..N, no duplicates, every record has its PDF (sha256 "
                        "checked), one JP credit each" if not failures else "; ".join(failures)))  # fmt: skip
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
