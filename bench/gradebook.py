"""Benchmark: the gradebook of a run with 300 learners and 10 graded items.

    .venv/bin/python bench/gradebook.py [--learners 300] [--items 10] [--requests 30]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/grades_bench]

A fresh database (SQLite in a temporary folder unless --database-url; a PostgreSQL one is
dropped and re-made by Alembic) gets the grading-queue benchmark's data (bench/grading_queue.py:
a course with `--items` assignments, one run, `--learners` learners who handed in each, a
facilitator with an API token), every submission graded and every assignment's grades released,
the course's rules set to the weighted formula (assignments 80, required activities 20) and
final scores overridden for a tenth of the learners. The app then runs under uvicorn (one
worker) on 127.0.0.1 and the script times `--requests` sequential requests of the API
(GET /api/v1/runs/{id}/gradebook) and of the page (/runs/{id}/gradebook), printing p50/p95/max in
ms, and the number of SQL statements one gradebook sends (counted in-process around the same
service call, caches warm). Target (issue 16): under 300 ms each, a bounded number of queries.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.grading_queue import (  # noqa: E402
    configure,
    describe,
    free_port,
    reset,
    seed,
    server,
    timings,
)


def grade_and_release(run_id: int, activity_ids: list[int], facilitator: int,
                      overrides: int) -> None:  # fmt: skip
    """Every submission graded (points 50-100), every assignment released, the course's rules
    weighted, and `overrides` learners' final scores set by hand."""
    from sqlalchemy import select, update

    from app.assignments.models import GradeRelease, Submission
    from app.certificates.models import CertificationRules
    from app.core.db import session_scope
    from app.courses.models import Enrolment, Run
    from app.gradebook.models import GradeOverride

    with session_scope() as session:
        session.execute(
            update(Submission)
            .where(Submission.run_id == run_id)
            .values(status="graded", points=50 + Submission.user_id % 51, max_points=100.0)
        )
        for aid in activity_ids:
            session.add(GradeRelease(activity_id=aid, run_id=run_id, released_by_id=facilitator))
        run = session.get(Run, run_id)
        assert run is not None
        session.add(CertificationRules(
            course_id=run.course_id, score_formula="weighted",
            weights_json=json.dumps({"assignments": 80, "activities": 20}),
        ))  # fmt: skip
        users = list(session.scalars(select(Enrolment.user_id).where(Enrolment.run_id == run_id)))
        for uid in users[:overrides]:
            session.add(GradeOverride(run_id=run_id, user_id=uid, score=88.5,
                                      reason="Hasil rapat penilaian", by_id=facilitator))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=300)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lms-bench-gradebook-"))
    env = configure(args.database_url, work)
    reset(args.database_url)
    ids = seed(args.learners, args.items, graded_share=1)
    run = ids["run"]
    grade_and_release(run, ids["activities"], ids["facilitator"], args.learners // 10)

    from app.auth.service import Principal
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.gradebook import service
    from tests.queries import count_queries

    principal = Principal(user_id=ids["facilitator"], name="f", roles=frozenset({"learner"}),
                          via="token")  # fmt: skip
    for _ in range(2):  # warm: the institution's certificate template, the course facts cache
        with session_scope() as session:
            service.gradebook(session, run, principal, get_settings())
    with session_scope() as session, count_queries() as statements:
        book = service.gradebook(session, run, principal, get_settings())
    scored = sum(1 for r in book.rows if r.final_score is not None)
    print(f"database {env['LMS_DATABASE_URL'].split('@')[-1]}; {args.learners} learners, "
          f"{len(book.items)} items ({args.items} assignments + required activities), "
          f"rows {len(book.rows)}, with a final score {scored}; "
          f"SQL statements per gradebook (service): {len(statements)}")  # fmt: skip
    port = free_port()
    headers = {"Authorization": f"Bearer {ids['token']}"}
    with server(env, port, work / "server.log"):
        base = f"http://127.0.0.1:{port}"
        api = f"{base}/api/v1/runs/{run}/gradebook"
        page = f"{base}/runs/{run}/gradebook"
        print(describe(f"gradebook API (JSON, {args.learners} rows)",
                       timings(api, headers, args.requests)))  # fmt: skip
        print(describe(f"gradebook page (HTML, {args.learners} rows)",
                       timings(page, headers, args.requests)))  # fmt: skip
        print(describe("gradebook XLSX export", timings(f"{api}?format=xlsx", headers, 10)))
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")


if __name__ == "__main__":
    main()
