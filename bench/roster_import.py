"""Benchmark: the roster import (`roster.import_roster`) for a full regency of 10,000 ASN.

Scenarios: first import of a CSV (all rows created), the same CSV again (all rows updated), and the
XLSX of the same rows into an empty database. Target (issue): 10,000 rows in under 30 s on SQLite.

    .venv/bin/python bench/roster_import.py                     # SQLite in a temp dir
    .venv/bin/python bench/roster_import.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/roster_import.py --profile           # cProfile of the first import

On PostgreSQL everything goes into a throwaway schema that is dropped at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 30.0


@dataclass
class Timing:
    name: str
    rows: int
    seconds: float
    created: int
    updated: int
    errors: int
    peak_rss_mib: float


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="roster rows (default 10,000)")
    parser.add_argument("--opds", type=int, default=40, help="OPDs (default 40)")
    parser.add_argument(
        "--database-url",
        help="PostgreSQL URL (a throwaway schema is made and dropped); default: SQLite in a temp dir",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="run every scenario N times, report the fastest"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the first CSV import")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="lms-bench-roster-") as tmp_name:
        tmp = Path(tmp_name)
        schema = None
        if args.database_url:
            if not args.database_url.startswith("postgresql"):
                sys.exit("--database-url: only PostgreSQL URLs (SQLite is the default)")
            if args.database_url.rstrip("/").rsplit("/", 1)[-1].split("?")[0] == "test":
                sys.exit(
                    "--database-url: the 'test' database belongs to the test suite; use another"
                )
            schema = f"bench_roster_{uuid.uuid4().hex[:8]}"
            sep = "&" if "?" in args.database_url else "?"
            url = f"{args.database_url}{sep}options={quote(f'-csearch_path={schema}')}"
        else:
            url = f"sqlite:///{tmp / 'first.db'}"
        # Settings are read from the environment: set it before any app module builds them.
        os.environ.update(
            {
                "LMS_ENVIRONMENT": "development",
                "LMS_DATABASE_URL": url,
                "LMS_STORAGE_URL": f"file://{tmp / 'objects'}",
                "LMS_LOG_LEVEL": "WARNING",
            }
        )
        return run(args, tmp, url, schema)


def run(args: argparse.Namespace, tmp: Path, url: str, schema: str | None) -> int:
    from openpyxl import Workbook

    from app.accounts import roster, service
    from app.accounts.roster import TEMPLATE_HEADERS
    from app.accounts.schemas import OpdCreate
    from app.cli import upgrade_database
    from app.core.config import get_settings
    from app.core.db import get_engine, reset_engine, session_scope
    from app.dev.seed import rows_to_csv, synthetic_rows

    codes = [f"OPD{i:02d}" for i in range(1, args.opds + 1)]
    started = time.perf_counter()
    rows = synthetic_rows(args.rows, codes)
    csv_path = tmp / "roster.csv"
    csv_path.write_bytes(rows_to_csv(rows))
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Data ASN")
    sheet.append(list(TEMPLATE_HEADERS))
    for row in rows:
        sheet.append([row[h] for h in TEMPLATE_HEADERS])  # NIP as text, as the template asks
    xlsx_path = tmp / "roster.xlsx"
    book.save(xlsx_path)
    print(
        f"generated {len(rows):,} rows in {time.perf_counter() - started:.1f} s: "
        f"CSV {csv_path.stat().st_size / 1e6:.1f} MB, XLSX {xlsx_path.stat().st_size / 1e6:.1f} MB"
    )

    def fresh_database(database_url: str) -> None:
        os.environ["LMS_DATABASE_URL"] = database_url
        get_settings.cache_clear()
        reset_engine()
        if schema is not None:
            from sqlalchemy import text

            with get_engine().begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        upgrade_database()
        with session_scope() as session:
            for code in codes:
                service.create_opd(session, OpdCreate(code=code, name=f"Perangkat Daerah {code}"))

    def timed(
        name: str, path: Path, wrap: Callable[[Callable[[], object]], object] | None = None
    ) -> Timing:
        data = path.read_bytes()
        result = None

        def work() -> None:
            nonlocal result
            with session_scope() as session:
                result = roster.import_roster(session, io.BytesIO(data))

        began = time.perf_counter()
        if wrap is None:
            work()
        else:
            wrap(work)
        seconds = time.perf_counter() - began
        assert result is not None
        return Timing(
            name,
            len(rows),
            seconds,
            result.created,
            result.updated,
            len(result.errors),
            peak_rss_mib(),
        )

    def profiled(work: Callable[[], object]) -> None:
        profiler = cProfile.Profile()
        profiler.runcall(work)
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(30)

    runs: list[list[Timing]] = []
    try:
        for rep in range(args.repeat):
            run: list[Timing] = []
            fresh_database(url if schema is not None else f"sqlite:///{tmp / f'csv-{rep}.db'}")
            wrap = profiled if args.profile and rep == 0 else None
            run.append(timed("CSV, first import (create)", csv_path, wrap))
            run.append(timed("CSV, same file again (update)", csv_path))
            fresh_database(url if schema is not None else f"sqlite:///{tmp / f'xlsx-{rep}.db'}")
            run.append(timed("XLSX into an empty database", xlsx_path))
            runs.append(run)
    finally:
        if schema is not None:
            from sqlalchemy import text

            with get_engine().begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        reset_engine()

    timings = [min(column, key=lambda t: t.seconds) for column in zip(*runs, strict=True)]
    backend = "PostgreSQL" if schema is not None else "SQLite"
    best = f", best of {args.repeat}" if args.repeat > 1 else ""
    print(
        f"\nroster import on {backend}, {args.opds} OPDs{best} "
        f"(target: {args.rows:,} rows < {TARGET_SECONDS:.0f} s)"
    )
    print(
        f"{'scenario':<32} {'rows':>7} {'seconds':>8} {'rows/s':>8} {'created':>8} {'updated':>8} {'errors':>6}"
    )
    for t in timings:
        print(
            f"{t.name:<32} {t.rows:>7,} {t.seconds:>8.2f} {t.rows / t.seconds:>8,.0f} "
            f"{t.created:>8,} {t.updated:>8,} {t.errors:>6}"
        )
    print(f"peak RSS: {max(t.peak_rss_mib for t in timings):.0f} MiB")
    ok = all(t.errors == 0 for t in timings) and timings[0].created == timings[2].created == len(
        rows
    )
    ok = ok and timings[1].updated == len(rows)
    slowest = max(t.seconds for t in timings)
    print(("PASS" if ok and slowest < TARGET_SECONDS else "FAIL") + f": slowest {slowest:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
