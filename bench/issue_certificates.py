"""Benchmark: issue 10,000 certificate records for one run on PostgreSQL (eligibility, number,
record, signed Open Badges credential, JP credit, per-user job result), without PDFs
(bench/render_pdfs.py measures those).

    .venv/bin/python bench/issue_certificates.py [--database-url URL] [--learners 10000]
        [--batch 500] [--profile]

The database (default postgresql+psycopg://postgres@127.0.0.1:5432/h2_bench; never `test`) is
emptied and made by Alembic; the setup (not timed) writes 40 OPDs, the learners with complete
profiles, a course with 3 pages and a post-test, one run, every activity completed and a graded
post-test per learner. Timed: `service.create_issue_job` (the items) + `tasks.run_job(...,
render=False)` — the same code as POST /api/v1/runs/{id}/certificates for a big run. Printed:
seconds per phase and certificates/s; then checks: numbers exactly 1..N, N JP credits, N
credentials that verify. Exit 1 when a check fails. Target (issue): under 15 s.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _cert_setup


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=_cert_setup.DEFAULT_URL)
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    _cert_setup.configure(args.database_url)

    from sqlalchemy import func, select

    from app.certificates import credential, service, tasks
    from app.certificates.models import Certificate
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.jp.models import JpCredit

    settings = get_settings()
    settings.cert_job_batch = args.batch
    t0 = time.perf_counter()
    _cert_setup.reset_database(args.database_url)
    ids = _cert_setup.make_run(args.learners)
    from app.certificates import keys

    keys.ensure_keys(settings)
    print(f"setup: {args.learners} learners in {time.perf_counter() - t0:.1f} s (not timed)")

    profiler = cProfile.Profile() if args.profile else None
    batches: list[tuple[int, float]] = []
    started = time.perf_counter()
    cpu_started = time.process_time()
    if profiler:
        profiler.enable()
    with session_scope() as session:
        job_id = service.create_issue_job(session, ids["run"], None, None)
    t_items = time.perf_counter() - started
    ok = tasks.run_job(job_id, settings, render=False,
                       on_batch=lambda n: batches.append((n, time.perf_counter() - started)))  # fmt: skip
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    first_batch = batches[0][1] - t_items if batches else 0.0
    print(f"job items: {t_items:.2f} s")
    print(f"first batch done at {batches[0][1]:.2f} s (includes reading the run's facts once)")
    print(f"issued {args.learners} records in {total:.2f} s = {args.learners / total:.0f}/s "
          f"(target < 15 s); batches of {args.batch}: {len(batches)}")  # fmt: skip
    del first_batch
    print(
        f"CPU of this process: {cpu:.2f} s (the rest of the wall time is PostgreSQL and waiting "
        f"for the 2 shared cores; `uptime` before/after tells the machine's load)"
    )

    failures = []
    with session_scope() as session:
        seqs = list(session.scalars(select(Certificate.seq).order_by(Certificate.seq)))
        credits = session.scalar(select(func.count()).select_from(JpCredit))
        tokens = list(session.scalars(select(Certificate.credential_jws).limit(50)))
        job = service.job_status(session, job_id, with_items=False)
    if not ok or job.state != "done":
        failures.append(f"job state {job.state}: {job.error}")
    if seqs != list(range(1, args.learners + 1)):
        failures.append(f"numbers are not 1..{args.learners} (got {len(seqs)})")
    if credits != args.learners:
        failures.append(f"JP credits: {credits}")
    for token in tokens:
        assert token is not None
        credential.decode(token, settings)
    print("checks: " + ("OK — numbers 1..N, one JP credit each, credentials verify"
                        if not failures else "; ".join(failures)))  # fmt: skip
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
