"""Benchmark: render, PAdES-sign and store 10,000 certificate PDFs with every core.

    .venv/bin/python bench/render_pdfs.py [--count 10000] [--workers 2] [--database-url URL]
        [--background jpeg|png|none] [--curriculum] [--check 20] [--keep]

Setup (not timed): a fresh database (SQLite file in a temp folder by default; a PostgreSQL URL
whose database name starts with `bench` is dropped and created again), one course and run,
`--count` learners with enrolments and issued certificate rows (bulk inserts, names drawn
from Indonesian name parts, some with apostrophes and diacritics), keys made by
`keys.ensure_keys`, disk storage in the temp folder.

Timed: `documents.produce_many` — the same code the bulk-issue job runs: rows read in chunks,
render + sign + store in a spawn process pool of `--workers`, pdf_key/sha256/size written back
and committed every 256 certificates. Printed: total seconds, ms per certificate, ms per
certificate per core (total x workers / count) and the average PDF size.

Afterwards (not timed) `--check` random PDFs are verified with `signing.signature_check`
(pyHanko, institution CA trusted) and their stored sha256 compared with the row.
Exit status 1 when a check fails or a certificate has no PDF.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
import _cert_setup  # noqa: E402 - the shared name lists

PANGKAT = ["Penata Muda (III/a)", "Penata Muda Tk. I (III/b)", "Penata (III/c)", "Pembina (IV/a)"]


def _prepare_database(url: str | None, tmp: Path) -> str:
    if url is None:
        return f"sqlite:///{tmp / 'bench.db'}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database or ""
    if not name.startswith("bench"):
        raise SystemExit("refusing: the PostgreSQL database name must start with 'bench'")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url


def _background(kind: str, tmp: Path) -> bytes | None:
    if kind == "none":
        return None
    from PIL import Image, ImageDraw

    # A4 landscape at 150 dpi with a gradient and ornaments (what an agency would upload).
    img = Image.new("RGB", (1754, 1240), (250, 247, 238))
    draw = ImageDraw.Draw(img)
    for i in range(0, 1240, 4):
        draw.line([(0, i), (1754, i)], fill=(250 - i // 40, 247 - i // 60, 238 - i // 50))
    for m in range(30, 60, 6):
        draw.rectangle([m, m, 1754 - m, 1240 - m], outline=(31, 59, 115), width=3)
    out = tmp / f"bg.{kind}"
    img.save(out, "JPEG" if kind == "jpeg" else "PNG", quality=85)
    return out.read_bytes()


def _seed(count: int, curriculum: bool, background: bytes | None) -> list[int]:
    import json

    from sqlalchemy import insert, select

    from app.accounts.models import User
    from app.certificates import templates
    from app.certificates.models import Certificate
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.courses.models import Course, Enrolment, Run

    settings = get_settings()
    rng = random.Random(5)
    today = dt.date.today()
    with session_scope() as session:
        course = Course(
            code="PLT-SKP-01",
            title="Pelatihan Penyusunan Sasaran Kinerja Pegawai (SKP) Berbasis Kinerja Organisasi",
            jp=20,
            category="teknis",
            status="published",
        )
        session.add(course)
        session.flush()
        run = Run(
            course_id=course.id,
            name="Angkatan I",
            starts_on=today - dt.timedelta(days=14),
            ends_on=today - dt.timedelta(days=10),
            funding_source="apbd_kabupaten",
            self_enrol=False,
        )
        session.add(run)
        session.flush()
        template = templates.institution_template(session)
        assert template is not None
        if background is not None:
            templates.set_background(session, template, background, settings, by_id=None)
        course_id, run_id, template_id, version = course.id, run.id, template.id, template.version
        run_name, starts, ends = run.name, run.starts_on, run.ends_on
        course_title = course.title

    first, last = _cert_setup.FIRST, _cert_setup.LAST
    names = [f"{rng.choice(first)} {rng.choice(last)}" for _ in range(count)]
    with session_scope() as session:
        user_rows = [
            {
                "nip": f"19{rng.randint(70, 99)}0101201{rng.randint(0, 9)}0{i % 2 + 1}{i:04d}"[:18],
                "name": names[i],
                "email": f"asn{i}@bench.example",
                "is_active": True,
            }
            for i in range(count)
        ]
        session.execute(insert(User), user_rows)
        user_ids = list(
            session.scalars(
                select(User.id).where(User.email.like("%@bench.example")).order_by(User.id)
            )
        )
        session.execute(
            insert(Enrolment),
            [{"run_id": run_id, "user_id": uid, "status": "completed"} for uid in user_ids],
        )
        enrolment_ids = list(
            session.scalars(
                select(Enrolment.id).where(Enrolment.run_id == run_id).order_by(Enrolment.id)
            )
        )
        curriculum_json = (
            json.dumps([["Kelompok Dasar", [["Wawasan Kebangsaan", 2], ["Etika Publik", 2]]],
                        ["Kelompok Inti", [["Konsep Manajemen Kinerja", 4], ["Penyusunan SKP", 6], ["Praktik", 6]]]])
            if curriculum else None
        )  # fmt: skip
        rows = []
        for i, (uid, eid) in enumerate(zip(user_ids, enrolment_ids, strict=True)):
            rows.append(
                {
                    "number": f"{i + 1:04d}/PLT-SKP-01/BKPSDM/{'XI'}/{today.year}",
                    "year": today.year, "seq": i + 1, "code": secrets.token_hex(20).upper(),
                    "version": 1, "status": "valid", "enrolment_id": eid, "run_id": run_id,
                    "course_id": course_id, "user_id": uid, "holder_name": names[i],
                    "holder_nip": user_rows[i]["nip"], "holder_pangkat_golongan": rng.choice(PANGKAT),
                    "holder_jabatan": "Analis Sumber Daya Manusia Aparatur",
                    "holder_opd": "Dinas Komunikasi dan Informatika", "course_code": "PLT-SKP-01",
                    "course_title": course_title, "run_name": run_name, "run_starts_on": starts,
                    "run_ends_on": ends, "funding_source": "apbd_kabupaten", "jp": 20.0,
                    "score": round(rng.uniform(70, 100), 2), "predikat": "Memuaskan",
                    "issuer": settings.institution_name, "signer_name": settings.cert_signer_name,
                    "signer_nip": "197001011995031001", "signer_jabatan": settings.cert_signer_jabatan,
                    "place": settings.cert_place, "issued_on": today, "template_id": template_id,
                    "template_version": version, "curriculum_json": curriculum_json,
                }
            )  # fmt: skip
        for start in range(0, len(rows), 2000):
            session.execute(insert(Certificate), rows[start : start + 2000])
        return list(session.scalars(select(Certificate.id).order_by(Certificate.id)))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--background", choices=["none", "jpeg", "png"], default="none")
    parser.add_argument("--curriculum", action="store_true", help="add the curriculum page")
    parser.add_argument("--check", type=int, default=20, help="PDFs to verify afterwards")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-pdf-"))
    url = _prepare_database(args.database_url, tmp)
    os.environ.update(
        {
            "LMS_ENVIRONMENT": "development",
            "LMS_DATABASE_URL": url,
            "LMS_STORAGE_URL": f"file://{tmp / 'objects'}",
            "LMS_KEYS_DIR": str(tmp / "keys"),
            "LMS_BASE_URL": "https://lms.bkpsdm.contoh.go.id",
            "LMS_LOG_LEVEL": "WARNING",
        }
    )
    from sqlalchemy import select

    from app.certificates import documents, keys, signing
    from app.certificates.models import Certificate
    from app.cli import upgrade_database
    from app.core.config import get_settings
    from app.core.db import session_factory, session_scope

    settings = get_settings()
    upgrade_database()
    keys.ensure_keys(settings)
    t0 = time.perf_counter()
    ids = _seed(args.count, args.curriculum, _background(args.background, tmp))
    print(
        f"setup: {len(ids)} certificate rows in {time.perf_counter() - t0:.1f} s ({url.split(':')[0]})"
    )

    last = [0.0]

    def progress(done: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 10:
            last[0] = now
            print(f"  {done} PDFs", flush=True)

    import resource

    before_self = resource.getrusage(resource.RUSAGE_SELF)
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = os.getloadavg()[0]
    result = documents.produce_many(
        session_factory(), ids, settings, workers=args.workers, on_progress=progress
    )
    total = result.seconds
    print(
        f"rendered+signed+stored {result.produced} PDFs with {result.workers} workers in {total:.1f} s: "
        f"{total * 1000 / max(1, result.produced):.2f} ms/certificate, "
        f"{total * 1000 * result.workers / max(1, result.produced):.2f} ms/certificate/core"
    )
    after_self = resource.getrusage(resource.RUSAGE_SELF)
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_workers = (after_children.ru_utime + after_children.ru_stime) - (
        before_children.ru_utime + before_children.ru_stime
    )
    cpu_parent = (after_self.ru_utime + after_self.ru_stime) - (
        before_self.ru_utime + before_self.ru_stime
    )
    n = max(1, result.produced)
    print(
        f"CPU: workers {cpu_workers * 1000 / n:.2f} ms/certificate (render+sign+store), "
        f"parent {cpu_parent * 1000 / n:.2f} ms/certificate (DB reads/writes); "
        f"load average before/after {load_before:.2f}/{os.getloadavg()[0]:.2f} "
        "(other processes on the machine share the cores)"
    )
    failed = False
    if result.failed:
        print(
            f"FAILED: {len(result.failed)} certificates, e.g. {next(iter(result.failed.items()))}"
        )
        failed = True
    with session_scope() as session:
        rows = session.scalars(select(Certificate)).all()
        missing = [r.id for r in rows if not r.pdf_key]
        sizes = [r.pdf_size or 0 for r in rows]
        print(
            f"average PDF size {sum(sizes) / max(1, len(sizes)) / 1024:.1f} KiB; without PDF: {len(missing)}"
        )
        failed |= bool(missing)
        rng = random.Random(7)
        import hashlib

        for row in rng.sample(list(rows), min(args.check, len(rows))):
            data = documents.read_pdf(row, settings)
            check = signing.signature_check(data, settings)
            if not check.authentic or hashlib.sha256(data).hexdigest() != row.pdf_sha256:
                print(f"CHECK FAILED for certificate {row.id}: {check.reason}")
                failed = True
        print(
            f"verified {min(args.check, len(rows))} random PDFs with pyHanko: {'FAIL' if failed else 'ok'}"
        )
    if args.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
