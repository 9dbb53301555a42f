"""Benchmark: the targets dashboard, the gap heatmap, the drill-down and the XLSX exports over
loopback HTTP (httpx against uvicorn) on a PostgreSQL database seeded with `lms dev seed --size L`.

    .venv/bin/python bench/targets_dashboard.py [--database-url URL] [--seed] [--year YYYY]
        [--repeat 5] [--port 8765] [--workers 1]

The database (default postgresql+psycopg://postgres@127.0.0.1:5432/h4_bench; never `test`) is
used as it is; `--seed` first runs `lms dev seed --size L` on it (not timed; the seed does nothing
the second time). When the year has fewer live JP credits than `--min-credits`, synthetic
certificate credits are added for that year (marked BENCH-TARGETS) so the figures are not of an
empty ledger. A `training_officer` account (bench-targets@example.go.id) is made if missing.

Timed (after one warm-up request each, then `--repeat` requests, sequential): the report API, the
dashboard page, the gap-map page (/studio/competency/gap-map), the drill-down page (first page),
the drill-down JSON (500 rows), the XLSX of every dashboard table, and the drill-down XLSX for the
seeded year and for a year without credits (every active ASN is below target: 10,000 rows).
Printed: status, bytes, rows, min / median / max seconds. Targets (issue): dashboard and gap
heatmap < 1 s each; drill-down list and XLSX export of 10,000 rows < 5 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import _cert_setup  # the bench folder's shared setup (sibling module)
import httpx

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/h4_bench"
OFFICER_EMAIL = "bench-targets@example.go.id"
OFFICER_PASSWORD = "Dasbor-Target-Uji-2026"
MARK = "BENCH-TARGETS"
MAX_REPEAT = 50


def run_seed(env: dict[str, str]) -> None:
    started = time.perf_counter()
    lms = str(Path(sys.executable).parent / "lms")
    subprocess.run([lms, "dev", "seed", "--size", "L"], env=env, check=True, cwd=ROOT)
    print(f"seed: {time.perf_counter() - started:.0f} s (not timed)")


def prepare(year: int, min_credits: int) -> dict[str, int]:
    """The officer account; synthetic credits when the year's ledger is thin. Returns counts."""
    import random

    from sqlalchemy import func, insert, select, text

    from app.accounts import service as accounts_service
    from app.accounts.models import User
    from app.accounts.schemas import UserCreate
    from app.cli import upgrade_database
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.jp.models import JpCredit

    upgrade_database()
    settings = get_settings()
    with session_scope() as session:
        if session.scalar(select(User.id).where(User.email == OFFICER_EMAIL)) is None:
            accounts_service.create_user(
                session,
                UserCreate(name="Bench Targets", email=OFFICER_EMAIL, password=OFFICER_PASSWORD,
                           roles=["training_officer"]),  # type: ignore[list-item]
                settings,
            )  # fmt: skip
        live = (
            session.scalar(
                select(func.count()).where(JpCredit.year == year, JpCredit.withdrawn_at.is_(None))
            )
            or 0
        )
        added = 0
        if live < min_credits:
            rng = random.Random(year)
            users = list(session.scalars(select(User.id).where(User.nip.is_not(None))))
            start = (session.scalar(select(func.max(JpCredit.source_id))) or 0) + 1_000_000
            rows = []
            for i in range(min_credits - live):
                on = dt.date(year, rng.randint(1, 12), rng.randint(1, 28))
                rows.append({
                    "user_id": rng.choice(users), "year": year, "source": "certificate",
                    "source_id": start + i, "jp": rng.choice((2, 4, 6, 8, 10, 12, 20)),
                    "credited_on": on, "reference": f"{MARK}-{i}",
                    "funding_source": rng.choice(("apbd_kabupaten", "apbd_provinsi", "apbn",
                                                  "non_anggaran", None)),
                    "created_at": dt.datetime.now(dt.UTC),
                })  # fmt: skip
            for i in range(0, len(rows), 5000):
                session.execute(insert(JpCredit), rows[i : i + 5000])
            added = len(rows)
        session.flush()
        counts = {
            "active_asn": session.scalar(
                select(func.count()).where(User.is_active.is_(True), User.nip.is_not(None))
            ) or 0,
            "live_credits_in_year": live + added,
            "synthetic_credits_added": added,
        }  # fmt: skip
        tables = [r[0] for r in session.execute(text(
            "SELECT relname FROM pg_stat_user_tables"))]  # fmt: skip
        session.execute(text("ANALYZE"))
        total = 0
        for name in tables:
            total += session.scalar(text(f'SELECT count(*) FROM "{name}"')) or 0  # noqa: S608
        counts["rows_in_database"] = total
    return counts


def start_server(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app", "--host",
           "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning"]  # fmt: skip
    server = subprocess.Popen(cmd, env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if server.poll() is not None:
            sys.exit("server exited")
        time.sleep(0.3)
    server.terminate()
    sys.exit("server did not start in 60 s")


def xlsx_rows(content: bytes) -> int:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True)
    return sum(sum(1 for _ in sheet.iter_rows()) - 1 for sheet in book.worksheets)


def measure(client: httpx.Client, name: str, url: str, repeat: int, target: float) -> bool:
    client.get(url)  # warm-up: caches, templates, connection pool
    times, response = [], None
    for _ in range(min(repeat, MAX_REPEAT)):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
    assert response is not None
    rows = ""
    if response.headers.get("content-type", "").startswith("application/vnd.openxml"):
        rows = f" rows={xlsx_rows(response.content)}"
    elif response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        if isinstance(body, dict) and "items" in body:
            rows = f" rows={len(body['items'])} total={body.get('total')}"
    ok = response.status_code == 200 and max(times) < target
    print(
        f"{name:<34} {response.status_code} {len(response.content):>9,} B{rows:<22} "
        f"min {min(times):.3f}  median {statistics.median(times):.3f}  max {max(times):.3f} s  "
        f"(target < {target:g} s) {'OK' if ok else 'MISSED'}"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--seed", action="store_true", help="run `lms dev seed --size L` first")
    parser.add_argument("--year", type=int, default=dt.date.today().year)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--min-credits", type=int, default=1_000)
    args = parser.parse_args()
    _cert_setup.configure(args.database_url, prefix="targets")
    env = dict(os.environ)  # the server gets the same settings
    if args.seed:
        run_seed(env)
    counts = prepare(args.year, args.min_credits)
    print(", ".join(f"{k}: {v:,}" for k, v in counts.items()))
    with subprocess.Popen(["uptime"], stdout=subprocess.PIPE) as up:
        print("load:", (up.communicate()[0] or b"").decode().strip())
    server = start_server(env, args.port, args.workers)
    try:
        base = f"http://127.0.0.1:{args.port}"
        with httpx.Client(base_url=base, timeout=120) as client:
            token = client.post(
                "/api/v1/auth/token", data={"username": OFFICER_EMAIL, "password": OFFICER_PASSWORD}
            )
            token.raise_for_status()
            client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
            y, empty = args.year, args.year + 50
            cases = [
                ("report API (JSON)", f"/api/v1/reports/targets?year={y}", 1.0),
                ("dashboard page", f"/studio/targets?year={y}", 1.0),
                ("gap heatmap page", "/studio/competency/gap-map", 1.0),
                ("gap map API (JSON)", "/api/v1/reports/gap-map", 1.0),
                ("drill-down page (first 50)", f"/studio/targets/below?year={y}", 5.0),
                ("drill-down JSON (500 rows)", f"/api/v1/reports/targets/below?year={y}"
                 "&per_page=500", 5.0),
                ("dashboard tables XLSX", f"/api/v1/reports/targets?year={y}&format=xlsx", 5.0),
                ("drill-down XLSX (year)", f"/api/v1/reports/targets/below?year={y}"
                 "&format=xlsx", 5.0),
                ("drill-down XLSX (every ASN)", f"/api/v1/reports/targets/below?year={empty}"
                 "&format=xlsx", 5.0),
            ]  # fmt: skip
            results = [measure(client, *case[:2], args.repeat, case[2]) for case in cases]
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
