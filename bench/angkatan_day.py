"""Load test: the day of a real angkatan (1,000 learners) against `lms serve` on PostgreSQL,
driven by Locust (bench/locustfile_angkatan.py), then a check of every grade and certificate.

    .venv/bin/python bench/angkatan_day.py [--database-url URL] [--learners 1000] [--workers 2]
        [--ramp-seconds 60] [--beat-seconds 3] [--quiz-minutes 3] [--think-seconds 1] [--full]
        [--run-time S] [--certificate-wait 300] [--csv PREFIX] [--keep]

Setup (not timed): the database (its name must start with `bench_angkatan`) is dropped, made
again by Alembic, and gets a course imported from a generated course folder (courses as code:
a 150 s MP4 video, a PDF and a 50-question post-test with pass score 70; certification rules
with auto-issue), one run with `--learners` learners enrolled, each with a password hashed by
the cheap argon2 profile the settings allow for benchmarks (LMS_ARGON2_TIME_COST=1,
LMS_ARGON2_MEMORY_KIB=8192), and signing keys. Then `lms serve --workers N` and
`lms jobs worker` run on 127.0.0.1 with production settings (jobs in a SQLite queue file, no
worker thread inside the web processes; every learner has its own X-Forwarded-For address, as
behind the agency's proxy, so the per-address login limit applies per learner).

The day (headless Locust, one user per learner, each doing it once; see the locustfile): log
in through the form with its CSRF token, the dashboard, the course page, the video watched in
real time with heartbeats, the PDF, then the post-test with autosave per answer and submit,
the review and the certificate list. Scaling: heartbeats go every `--beat-seconds` (default 3
s) instead of the player's 30 s, so 1,000 learners send what 10,000 send at the real pace:
the issue's 333/s. The post-test window is `--quiz-minutes` (default 3; 10 in real life):
50 answers spread over its first 80%, each autosaved on its own (as quiz.js does when answers
come more than 0.8 s apart), the submit at a random moment in its last 20%. `--full` uses the
real timings (30 s heartbeats, 10 minutes, 10 s between pages, 5 minutes of arrivals).

Report: Locust's per-route requests, failures, p50/p95/p99/max (its CSV files with `--csv`),
the heartbeat rate reached and how late heartbeats were sent against their schedule, CPU of
the server, the job worker, PostgreSQL and Locust, the load average, and the server's and
worker's warnings by kind. Then it waits for the job worker to issue (the outbox, right after
each completing submit) and store the PDF of every certificate and checks the database: every
learner's attempt submitted once and graded once with the expected score, video and PDF
complete, one valid certificate per learner with gapless numbers and a stored PDF. Exit status 1
on any failed request or failed check.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))  # the quiz benchmark's database, settings and CPU helpers

import quiz_submit as common  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_angkatan"
PASSWORD = common.PASSWORD
QUESTIONS = 50
PASS_SCORE = 70
VIDEO_FILE = REPO / "tests" / "data" / "short-150s.mp4"  # 150 s, 15 KB
PDF_FILE = REPO / "content" / "literasi-digital-asn" / "02-empat-pilar" / "05-lembar-ringkas-empat-pilar.pdf"  # fmt: skip
VIDEO_SECONDS = 150.0
COURSE_CODE = "BENCH-ANGKATAN"
LOCUSTFILE = BENCH / "locustfile_angkatan.py"


# --- the learners' answers (shared with the locustfile) -----------------------------------------


def answer_kind(learner: int, position: int) -> str:
    """How learner `learner` answers the question at `position`: right, wrong or blank. Five
    wrong and two blank of 50 (or fewer when they fall together): everyone passes with 70."""
    if (learner + 3 * position) % 25 == 0:
        return "blank"
    if (7 * learner + position) % 10 == 0:
        return "wrong"
    return "right"


def expected_score(learner: int) -> int:
    """Every question is worth one point."""
    return sum(answer_kind(learner, p) == "right" for p in range(QUESTIONS))


# --- setup --------------------------------------------------------------------------------------


def check_database_name(url: str) -> None:
    from sqlalchemy.engine import make_url

    name = make_url(url).database or ""
    if name == "test" or not name.startswith("bench_angkatan"):
        raise SystemExit(f"refusing database {name!r}: its name must start with 'bench_angkatan'")
    if not url.startswith("postgresql"):
        raise SystemExit("PostgreSQL only: the day of an angkatan is measured on PostgreSQL")


def gift_text() -> str:
    """50 one-point questions (single, multiple, true/false, short answer, numeric, cycled);
    right choices say "tepat", wrong ones "keliru", so the learners can tell them apart."""
    out = ["$CATEGORY: Uji beban", ""]
    for n in range(1, QUESTIONS + 1):
        kind = ("single", "multiple", "truefalse", "short", "numeric")[(n - 1) % 5]
        stem = f"::Soal {n}::Pertanyaan uji beban nomor {n}"
        if kind == "single":
            out.append(f"{stem}?{{=Jawaban tepat {n} ~Pilihan keliru satu ~Pilihan keliru dua "
                       "~Pilihan keliru tiga}")  # fmt: skip
        elif kind == "multiple":
            out.append(f"{stem}, pilih dua?{{~%50%Jawaban tepat pertama ~%50%Jawaban tepat kedua "
                       "~%-100%Pilihan keliru satu ~%-100%Pilihan keliru dua}")  # fmt: skip
        elif kind == "truefalse":
            out.append(f"{stem}: pernyataan ini benar.{{TRUE}}")
        elif kind == "short":
            out.append(f"{stem}: singkatan Sistem Pemerintahan Berbasis Elektronik?{{=SPBE}}")
        else:
            out.append(f"{stem}: berapa JP minimal per tahun?{{#20:0}}")
        out.append("")
    return "\n".join(out)


def write_course(folder: Path, quiz_seconds: float) -> None:
    """The course as code (content/README.md): video, PDF, post-test, rules and the run."""
    section = folder / "01-materi"
    section.mkdir(parents=True)
    time_limit = int(max(900.0, 2 * quiz_seconds))
    (folder / "course.yaml").write_text(
        f"code: {COURSE_CODE}\ntitle: Uji Beban Sehari Angkatan\njp: 2\ncategory: teknis\n"
        f"status: published\ncertification:\n  pass_score: {PASS_SCORE}\n  auto_issue: true\n"
        "  require_posttest: true\nruns:\n  - name: Angkatan Uji Beban\n    starts_on: \"-1d\"\n"
        "    ends_on: \"+30d\"\n    funding_source: apbd_kabupaten\n    self_enrol: false\n"
    )  # fmt: skip
    (section / "section.yaml").write_text("title: Materi dan evaluasi\n")
    shutil.copy(VIDEO_FILE, section / "01-video-materi.mp4")
    (section / "01-video-materi.meta.yaml").write_text("title: Video materi\n")
    shutil.copy(PDF_FILE, section / "02-lembar-ringkas.pdf")
    (section / "02-lembar-ringkas.meta.yaml").write_text("title: Lembar ringkas\n")
    (section / "03-tes-akhir.gift").write_text(gift_text())
    (section / "03-tes-akhir.meta.yaml").write_text(
        f"title: Tes akhir\nkind: posttest\npass_score: {PASS_SCORE}\nmax_attempts: 1\n"
        f"time_limit_seconds: {time_limit}\nreview_answers: after_submit\n"
    )


def seed(tmp: Path, learners: int, quiz_seconds: float) -> dict[str, Any]:
    """Keys, the imported course and its run, and the learners enrolled (bulk INSERTs)."""
    import datetime as dt

    from sqlalchemy import insert, select, update

    from app.accounts.models import User, UserRole
    from app.accounts.passwords import hash_password
    from app.certificates import keys
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.courses import content_import
    from app.courses.models import Activity, Course, Enrolment, Run
    from app.quizzes.models import Quiz

    settings = get_settings()
    keys.init_keys(settings.keys_dir, settings.institution_name,
                   pkcs12_password=settings.signing_pkcs12_password)  # fmt: skip
    write_course(tmp / "course", quiz_seconds)
    now = dt.datetime.now(dt.UTC)
    password_hash = hash_password(PASSWORD)  # one hash for all: verifying still costs argon2
    nips = [common._nip(i) for i in range(learners)]
    with session_scope() as session:
        content_import.import_course(session, settings, tmp / "course")
        course = session.scalars(select(Course).where(Course.code == COURSE_CODE)).one()
        run = session.scalars(select(Run).where(Run.course_id == course.id)).one()
        kinds = {a.kind: a for a in session.scalars(
            select(Activity).where(Activity.course_id == course.id))}  # fmt: skip
        quiz = session.scalars(select(Quiz).where(Quiz.activity_id == kinds["quiz"].id)).one()
        user_ids = session.scalars(
            insert(User).returning(User.id, sort_by_parameter_order=True),
            [
                {"nip": nip, "name": f"Peserta Angkatan {i + 1}", "password_hash": password_hash,
                 "is_active": True, "employment": "PNS", "activated_at": now}
                for i, nip in enumerate(nips)
            ],
        ).all()  # fmt: skip
        session.execute(insert(UserRole), [{"user_id": u, "role": "learner"} for u in user_ids])
        session.execute(
            insert(Enrolment),
            [{"run_id": run.id, "user_id": u, "status": "active"} for u in user_ids],
        )
        session.execute(update(Run).where(Run.id == run.id).values(enrolled_count=learners))
        return {
            "course_id": course.id,
            "run_id": run.id,
            "video_id": kinds["video"].id,
            "pdf_id": kinds["document"].id,
            "quiz_activity_id": kinds["quiz"].id,
            "quiz_id": quiz.id,
            "nips": nips,
            "user_ids": list(user_ids),
        }


# --- the processes ------------------------------------------------------------------------------


def lms(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`lms ...` from the virtualenv, with the bench's settings, output to `log`."""
    exe = str(Path(sys.executable).with_name("lms"))
    handle = log.open("wb")
    return subprocess.Popen([exe, *args], cwd=REPO, env=os.environ | env, stdout=handle,
                            stderr=subprocess.STDOUT)  # fmt: skip


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT (graceful), then kill after 30 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


# --- after the day ------------------------------------------------------------------------------


def certificates_state(run_id: int) -> tuple[int, int]:
    """(valid certificates of the run, of those with a stored PDF)."""
    from sqlalchemy import func, select

    from app.certificates.models import Certificate
    from app.core.db import session_scope

    with session_scope() as session:
        row = session.execute(
            select(func.count(), func.count(Certificate.pdf_sha256)).where(
                Certificate.run_id == run_id, Certificate.status == "valid"
            )
        ).one()
    return int(row[0]), int(row[1])


def wait_for_certificates(run_id: int, expected: int, timeout: float) -> tuple[int, int, float]:
    """Poll until every issued certificate has its PDF: all `expected` of them, or (when fewer
    were issued: learners not complete) the same count for 20 s; or `timeout`.
    Returns (issued, with PDF, seconds waited)."""
    t0 = time.monotonic()
    issued, rendered = certificates_state(run_id)
    stable_since, last = t0, issued
    while time.monotonic() - t0 < timeout:
        if rendered >= expected or (rendered == issued and time.monotonic() - stable_since >= 20):
            break
        time.sleep(2.0)
        issued, rendered = certificates_state(run_id)
        if issued != last:
            stable_since, last = time.monotonic(), issued
    return issued, rendered, time.monotonic() - t0


def verify(plan: dict[str, Any], learners: int) -> list[str]:
    """Grades, progress and certificates in the database; returns the failures."""
    from sqlalchemy import func, select

    from app.certificates.models import Certificate
    from app.core.db import session_scope
    from app.courses.models import Enrolment
    from app.progress.models import ActivityProgress
    from app.quizzes.models import Attempt

    index = {uid: i for i, uid in enumerate(plan["user_ids"])}
    failures: list[str] = []
    with session_scope() as session:
        attempts = session.execute(
            select(Attempt.user_id, Attempt.state, Attempt.score, Attempt.max_score,
                   Attempt.passed, Attempt.auto_submitted, Attempt.submitted_at,
                   Attempt.graded_at).where(Attempt.quiz_id == plan["quiz_id"])
        ).all()  # fmt: skip
        completed = dict(
            session.execute(
                select(ActivityProgress.activity_id, func.count())
                .join(Enrolment, Enrolment.id == ActivityProgress.enrolment_id)
                .where(Enrolment.run_id == plan["run_id"], ActivityProgress.status == "completed")
                .group_by(ActivityProgress.activity_id)
            ).all()
        )
        certs = session.execute(
            select(Certificate.user_id, Certificate.seq, Certificate.pdf_sha256).where(
                Certificate.run_id == plan["run_id"], Certificate.status == "valid"
            )
        ).all()
    per_user: dict[int, int] = defaultdict(int)
    for a in attempts:
        per_user[a.user_id] += 1
    graded = [a for a in attempts if a.state == "graded"]
    wrong = [a.user_id for a in graded
             if a.score != expected_score(index[a.user_id]) or a.max_score != QUESTIONS]  # fmt: skip
    auto = sum(1 for a in graded if a.auto_submitted or a.graded_at != a.submitted_at)
    twice = sum(1 for n in per_user.values() if n > 1)
    cert_users = {c.user_id for c in certs}
    seqs = sorted(c.seq for c in certs)
    print(f"database: {len(attempts)} post-test attempts, {len(graded)} graded "
          f"({len(graded) - len(wrong)} with the expected score, {auto} graded other than by "
          f"the learner's submit), learners with more than one attempt {twice}; completed: "
          f"video {completed.get(plan['video_id'], 0)}, PDF {completed.get(plan['pdf_id'], 0)}, "
          f"post-test {completed.get(plan['quiz_activity_id'], 0)}")  # fmt: skip
    print(f"          certificates {len(certs)} for {len(cert_users)} learners, numbers "
          f"{seqs[0] if seqs else '-'}..{seqs[-1] if seqs else '-'}, with PDF "
          f"{sum(1 for c in certs if c.pdf_sha256)}")  # fmt: skip
    if len(graded) != learners:
        failures.append(f"{len(graded)} graded post-tests for {learners} learners")
    if wrong:
        failures.append(f"{len(wrong)} attempts with an unexpected score (users {wrong[:5]})")
    if auto:
        failures.append(f"{auto} attempts graded other than by their submit")
    if twice:
        failures.append(f"{twice} learners with more than one attempt")
    for name, key in (("video", "video_id"), ("PDF", "pdf_id"), ("post-test", "quiz_activity_id")):
        if completed.get(plan[key], 0) != learners:
            failures.append(f"{name} completed by {completed.get(plan[key], 0)} of {learners}")
    if len(certs) != learners or len(cert_users) != learners:
        failures.append(f"{len(certs)} certificates for {len(cert_users)} of {learners} learners")
    if seqs != list(range(1, len(seqs) + 1)):
        failures.append("certificate numbers are not gapless from 1")
    missing_pdf = sum(1 for c in certs if not c.pdf_sha256)
    if missing_pdf:
        failures.append(f"{missing_pdf} certificates without a PDF")
    return failures


# --- the report ---------------------------------------------------------------------------------


def print_stats(prefix: str) -> tuple[int, int]:
    """Locust's per-route table from its CSV; (requests, failures)."""
    path = Path(prefix + "_stats.csv")
    if not path.exists():
        print("locust: no statistics written")
        return 0, 0
    rows = list(csv.DictReader(path.open()))
    print(f"\n{'route':<52} {'reqs':>7} {'fail':>5} {'req/s':>6} {'p50':>6} {'p95':>6} "
          f"{'p99':>6} {'max':>6}  (ms)")  # fmt: skip
    total = fails = 0
    for r in rows:
        name = r["Name"] if r["Type"] in ("", "None") else f"{r['Type']} {r['Name']}"
        print(f"{name[:52]:<52} {r['Request Count']:>7} {r['Failure Count']:>5} "
              f"{float(r['Requests/s']):6.1f} {r['50%']:>6} {r['95%']:>6} {r['99%']:>6} "
              f"{float(r['Max Response Time']):6.0f}")  # fmt: skip
        if r["Name"] == "Aggregated":
            total, fails = int(r["Request Count"]), int(r["Failure Count"])
    failures_csv = Path(prefix + "_failures.csv")
    if failures_csv.exists():
        for r in list(csv.DictReader(failures_csv.open()))[:10]:
            print(f"  failure: {r['Occurrences']} x {r['Method']} {r['Name']}: {r['Error'][:200]}")
    return total, fails


def print_extras(path: Path, learners: int, beat_seconds: float) -> tuple[list[str], int]:
    """The locustfile's own figures: heartbeat rate and lateness, learners who finished;
    (problems, submits that passed)."""
    if not path.exists():
        return ["the locustfile wrote no figures (did Locust start?)"], 0
    data = json.loads(path.read_text())
    sent = sorted(data["beats"])
    late = sorted(data["late_ms"])
    target = learners / beat_seconds
    per_second: dict[int, int] = defaultdict(int)
    for t in sent:
        per_second[int(t)] += 1
    window = 10
    best = max((sum(per_second.get(s + k, 0) for k in range(window)) / window
                for s in per_second), default=0.0)  # fmt: skip
    near = sum(1 for s in per_second
               if sum(per_second.get(s + k, 0) for k in range(window)) / window >= 0.9 * target)  # fmt: skip
    p = common._percentile
    slots = learners * (math.ceil(VIDEO_SECONDS / beat_seconds) - 1)
    print(f"\nheartbeats: {len(sent)} sent of {slots} slots ({slots - len(sent)} missed while a "
          f"report was in flight or not reached); target rate {target:.0f}/s ({learners} learners every "
          f"{beat_seconds:g} s); best 10 s window {best:.0f}/s; seconds starting a 10 s window at "
          f">= 90% of target: {near}; sent late against the schedule ms p50 {p(late, 50):.0f}, "
          f"p95 {p(late, 95):.0f}, max {late[-1] if late else 0:.0f}")  # fmt: skip
    print(f"learners: {data['started']} started, {data['finished']} finished the day, "
          f"{data['stopped']} stopped on an error; videos watched to the end but not complete "
          f"{data['video_incomplete']}; submits answered graded and passed {data['passed']}")  # fmt: skip
    problems = []
    if data["finished"] != learners:
        problems.append(f"{data['finished']} of {learners} learners finished the day")
    return problems, int(data["passed"])


def summarise_log(path: Path) -> None:
    """The server's or worker's warnings and errors, counted by message and error type."""
    counts: dict[str, int] = defaultdict(int)
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            if "Traceback" in line or "ERROR" in line:
                counts[line[:160]] += 1
            continue
        if isinstance(entry, dict) and entry.get("level") in ("warning", "error"):
            # A log payload's fields sit at the top level (app/core/logging.py).
            what = entry.get("message") or entry.get("logger", "")
            cause = str(entry.get("exc", "")).strip().rsplit("\n", 1)[-1][:160]
            detail = " ".join(str(x) for x in (entry.get("error", ""), cause) if x)
            counts[f"{entry['level']}: {str(what)[:100]} {entry.get('path', '')} {detail}"] += 1
    if counts:
        print(f"{path.name}: " + "; ".join(f"{n} x {text}" for text, n in
                                           sorted(counts.items(), key=lambda kv: -kv[1])[:6]))  # fmt: skip


# --- main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--learners", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="lms serve --workers")
    parser.add_argument("--ramp-seconds", type=float, help="arrivals spread (60; --full 300)")
    parser.add_argument("--beat-seconds", type=float, help="heartbeat interval (3; --full 30)")
    parser.add_argument("--quiz-minutes", type=float, help="post-test window (3; --full 10)")
    parser.add_argument("--think-seconds", type=float, help="between pages (1; --full 10)")
    parser.add_argument("--full", action="store_true", help="the real timings (about 25 min)")
    parser.add_argument("--run-time", type=float, help="bound of the Locust phase, s")
    parser.add_argument("--certificate-wait", type=float, default=300.0,
                        help="how long to wait for the job worker's PDFs, s")  # fmt: skip
    parser.add_argument("--csv", help="keep Locust's CSV files with this prefix")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    args = parser.parse_args()
    full = args.full
    ramp = args.ramp_seconds if args.ramp_seconds is not None else (300.0 if full else 60.0)
    beat = args.beat_seconds if args.beat_seconds is not None else (30.0 if full else 3.0)
    quiz = 60 * (args.quiz_minutes if args.quiz_minutes is not None else (10.0 if full else 3.0))
    think = args.think_seconds if args.think_seconds is not None else (10.0 if full else 1.0)
    day = ramp + VIDEO_SECONDS + quiz + 12 * think + 10
    run_time = args.run_time or round(day * 1.25 + 30)
    url = args.database_url
    check_database_name(url)
    from tests.ports import free_port, wait_for_port

    with tempfile.TemporaryDirectory(prefix="lms-angkatan-bench-") as tmp_name:
        tmp = Path(tmp_name)
        common.recreate_postgres(url)
        env = common.app_env(url, tmp) | {
            "LMS_KEYS_DIR": str(tmp / "keys"),
            "LMS_JOBS_URL": f"sqlite:///{tmp / 'jobs.db'}",
            "LMS_JOBS_IN_PROCESS_WORKER": "false",
            "LMS_TRUST_FORWARDED_FOR": "true",
        }
        common.use_database(env)
        from app.cli import upgrade_database

        upgrade_database()
        t0 = time.perf_counter()
        plan = seed(tmp, args.learners, quiz)
        print(f"setup: course (video, PDF, {QUESTIONS}-question post-test), run, "
              f"{args.learners} learners enrolled in {time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip
        port = free_port()
        extras = tmp / "locust-extras.json"
        plan_file = tmp / "plan.json"
        plan_file.write_text(json.dumps(plan | {
            "password": PASSWORD, "learners": args.learners, "beat_seconds": beat,
            "quiz_seconds": quiz, "think_seconds": think, "video_seconds": VIDEO_SECONDS,
            "extras_out": str(extras),
        }))  # fmt: skip
        server = lms("serve", "--host", "127.0.0.1", "--port", str(port), "--workers",
                     str(args.workers), "--no-migrate", "--content-port", "0",
                     env=env, log=tmp / "server.log")  # fmt: skip
        worker = lms("jobs", "worker", env=env, log=tmp / "worker.log")
        prefix = args.csv or str(tmp / "locust")
        failures: list[str] = []
        try:
            try:
                wait_for_port(port, 120.0)
            except RuntimeError:
                print((tmp / "server.log").read_text(errors="replace")[-3000:])
                raise
            spawn_rate = max(1.0, args.learners / ramp)
            command = [
                str(Path(sys.executable).with_name("locust")), "-f", str(LOCUSTFILE),
                "--headless", "--users", str(args.learners), "--spawn-rate", f"{spawn_rate:.3f}",
                "--run-time", f"{run_time}s", "--stop-timeout", "10",
                "--host", f"http://127.0.0.1:{port}", "--csv", prefix, "--only-summary",
                "--loglevel", "WARNING",
            ]  # fmt: skip
            print(f"day: {args.learners} learners arriving over {ramp:g} s, heartbeats every "
                  f"{beat:g} s, video {VIDEO_SECONDS:g} s, post-test window {quiz / 60:g} min, "
                  f"{think:g} s between pages; Locust bounded by {run_time} s\n  "
                  f"{' '.join(command)}", flush=True)  # fmt: skip
            load0 = os.getloadavg()
            cpu0 = (common._tree_cpu(server.pid), common._tree_cpu(worker.pid),
                    common._postgres_cpu())  # fmt: skip
            started = time.monotonic()
            locust = subprocess.Popen(command, cwd=REPO, env=os.environ | {
                "BENCH_ANGKATAN_PLAN": str(plan_file)}, stdout=(tmp / "locust.log").open("wb"),
                stderr=subprocess.STDOUT)  # fmt: skip
            locust_cpu = 0.0
            import psutil

            handle = psutil.Process(locust.pid)
            while locust.poll() is None:
                try:
                    t = handle.cpu_times()
                    locust_cpu = t.user + t.system
                except psutil.NoSuchProcess:
                    pass
                time.sleep(1.0)
            elapsed = time.monotonic() - started
            load1 = os.getloadavg()
            cpu1 = (common._tree_cpu(server.pid), common._tree_cpu(worker.pid),
                    common._postgres_cpu())  # fmt: skip
            total, failed = print_stats(prefix)
            problems, passed = print_extras(extras, args.learners, beat)
            failures += problems
            print(f"\nLocust phase {elapsed:.0f} s, exit status {locust.returncode}; CPU "
                  f"({os.cpu_count()} cores): server {cpu1[0] - cpu0[0]:.0f} s "
                  f"({(cpu1[0] - cpu0[0]) / max(total, 1) * 1000:.2f} ms per request), job "
                  f"worker {cpu1[1] - cpu0[1]:.0f} s, PostgreSQL (processes alive at both ends) "
                  f"{max(0.0, cpu1[2] - cpu0[2]):.0f} s, "
                  f"Locust {locust_cpu:.0f} s; load average {load0[0]:.1f} {load0[1]:.1f} "
                  f"{load0[2]:.1f} -> {load1[0]:.1f} {load1[1]:.1f} {load1[2]:.1f}")  # fmt: skip
            if failed or locust.returncode:
                failures.append(f"{failed} failed requests of {total} (Locust exit "
                                f"{locust.returncode}; log {tmp / 'locust.log'})")  # fmt: skip
                print((tmp / "locust.log").read_text(errors="replace")[-3000:])
            # Only learners whose submit passed can have a certificate: wait for those.
            issued, rendered, waited = wait_for_certificates(
                plan["run_id"], passed, args.certificate_wait
            )
            print(f"certificates: {issued} issued, {rendered} with their PDF; waited {waited:.0f} "
                  "s after the Locust phase for the job worker")  # fmt: skip
            failures += verify(plan, args.learners)
        finally:
            stop(server)
            stop(worker)
        for name in ("server.log", "worker.log"):
            summarise_log(tmp / name)
            if args.csv:
                shutil.copy(tmp / name, f"{args.csv}_{name}")
        if args.csv:
            shutil.copy(tmp / "locust.log", f"{args.csv}_locust.log")
        from app.core.db import reset_engine

        reset_engine()
        if not args.keep:
            common.drop_postgres(url)
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("verification: OK (0 failed requests, every grade and certificate checked)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
