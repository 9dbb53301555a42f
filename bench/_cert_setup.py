"""Shared setup for the certificate benchmarks (not a benchmark itself): a fresh PostgreSQL
database made by Alembic, a published course (pages + a post-test), one run and N learners
with complete profiles who finished every activity and passed the post-test, all written with
Core bulk inserts (the setup is not what is measured)."""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/h2_bench"

# Names as real rosters have them (titles, apostrophes, accents): printed on certificates and
# letters, so the benchmarks render the glyphs real documents need.
FIRST = [
    "Ni Luh Putu", "I Gusti Ngurah", "Siti", "Muhammad", "Dewi", "Agus", "Ma'ruf", "Nur'aini",
    "Budi", "Rina", "Yohanes", "Made", "Ketut", "Fransiskus Xaverius", "Théresia", "Andi",
]  # fmt: skip
LAST = [
    "Lestari", "Santoso", "Wijaya", "Sukmawatì", "Hutagalung", "Pangaribuan", "Rahmawati",
    "Saputra", "Nasution", "D'Costa", "Siregar", "Kurniawan", "Simanjuntak", "Purnamasari",
]  # fmt: skip


def configure(database_url: str, workdir: Path | None = None, *, prefix: str = "certs") -> Path:
    """Point the app at the bench database and a scratch folder (before any app import)."""
    if database_url.rstrip("/").rsplit("/", 1)[-1].split("?")[0] == "test":
        sys.exit("refusing the test database")
    work = workdir or Path(tempfile.mkdtemp(prefix=f"lms-bench-{prefix}-"))
    os.environ.update(
        {
            "LMS_ENVIRONMENT": "development",
            "LMS_DATABASE_URL": database_url,
            "LMS_STORAGE_URL": f"file://{work / 'objects'}",
            "LMS_KEYS_DIR": str(work / "keys"),
            "LMS_JOBS_URL": "immediate",
            "LMS_JOBS_IN_PROCESS_WORKER": "false",
            "LMS_LOG_LEVEL": "WARNING",
            "LMS_QUIZ_SWEEP_SECONDS": "0",
        }
    )
    sys.path.insert(0, str(ROOT))
    return work


def reset_database(database_url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    from app.cli import upgrade_database

    upgrade_database()


def make_run(learners: int, *, pages: int = 3) -> dict[str, Any]:
    """Course + post-test + run + `learners` complete, passed learners. Returns ids."""
    from sqlalchemy import insert, select

    from app.accounts.models import Opd, User, UserRole
    from app.auth.service import Principal
    from app.certificates.models import CertificationRules
    from app.core.db import session_scope
    from app.courses import service as courses_service
    from app.courses.constants import ActivityKind
    from app.courses.models import Enrolment, Run
    from app.courses.schemas import CourseCreate
    from app.progress.models import ActivityProgress
    from app.quizzes import service as quiz_service
    from app.quizzes.models import Attempt
    from app.quizzes.schemas import QuizSettings

    staff = Principal(user_id=0, name="bench", roles=frozenset({"admin"}), via="token")
    now = dt.datetime.now(dt.UTC)
    today = dt.date.today()
    with session_scope() as session:
        opds = [{"code": f"OPD{i:02d}", "name": f"Dinas Nomor {i}"} for i in range(40)]
        session.execute(insert(Opd), opds)
        opd_ids = list(session.scalars(select(Opd.id).order_by(Opd.id)))
        users = [
            {
                "nip": f"19900101201503{1 + i % 2}{i:03d}"[:14] + f"{i % 2 + 1}{i % 1000:03d}",
                "name": f"Peserta Benchmark {i:05d}",
                "email": f"bench{i}@example.go.id",
                "employment": "PNS",
                "pangkat_golongan": "III/a",
                "jabatan": "Analis Kebijakan",
                "opd_id": opd_ids[i % len(opd_ids)],
                "is_active": True,
            }
            for i in range(learners)
        ]
        for i, u in enumerate(users):  # unique 18-digit NIPs
            u["nip"] = f"1990010120150{i // 1000 % 10}{1 + i % 2}{i % 1000:03d}"[:18].ljust(18, "0")
            u["nip"] = (
                f"{19900101 + i // 100000:08d}{201501 + (i // 1000) % 12:06d}{1 + i % 2}{i % 1000:03d}"
            )
        session.execute(insert(User), users)
        user_ids = list(session.scalars(select(User.id).order_by(User.id)))
        session.execute(insert(UserRole), [{"user_id": u, "role": "learner"} for u in user_ids])
        course = courses_service.create_course(
            session,
            CourseCreate(code="LITDIG", title="Literasi Digital untuk ASN", jp=20,
                         category="teknis", competencies=[]),  # type: ignore[arg-type]
            staff,
        )  # fmt: skip
        course.created_by_id = None
        section = courses_service.add_section(session, course, "Materi")
        activity_ids = []
        for i in range(pages):
            activity = courses_service.add_activity(
                session, section,
                courses_service.ActivityInput(kind=ActivityKind.PAGE, title=f"Modul {i + 1}",
                                              body="Isi.", duration_minutes=45),
            )  # fmt: skip
            activity_ids.append(activity.id)
        quiz = quiz_service.create_quiz(
            session, section,
            QuizSettings.model_validate({"title": "Post-test", "kind": "posttest", "pass_score": 70}),
        )  # fmt: skip
        activity_ids.append(quiz.activity_id)
        courses_service.publish(session, course)
        session.add(CertificationRules(course_id=course.id, auto_issue=False))
        run = Run(course_id=course.id, name="Angkatan I", starts_on=today - dt.timedelta(days=30),
                  ends_on=today, funding_source="apbd_kabupaten", enrolled_count=learners)  # fmt: skip
        session.add(run)
        session.flush()
        ids = {"course": course.id, "run": run.id, "quiz": quiz.id}
    with session_scope() as session:
        session.execute(
            insert(Enrolment),
            [
                {
                    "run_id": ids["run"],
                    "user_id": u,
                    "status": "active",
                    "enrolled_at": now,
                    "updated_at": now,
                }
                for u in user_ids
            ],
        )
        enrolments = dict(
            session.execute(
                select(Enrolment.user_id, Enrolment.id).where(Enrolment.run_id == ids["run"])
            ).all()
        )
        rows = [
            {
                "enrolment_id": e,
                "activity_id": a,
                "status": "completed",
                "position_seconds": 0.0,
                "watched_seconds": 0.0,
                "watched_intervals": "[]",
                "time_seconds": 2700.0,
                "first_seen_at": now,
                "last_seen_at": now,
                "completed_at": now,
            }
            for e in enrolments.values()
            for a in activity_ids
        ]
        for start in range(0, len(rows), 5000):
            session.execute(insert(ActivityProgress), rows[start : start + 5000])
        session.execute(
            insert(Attempt),
            [
                {
                    "quiz_id": ids["quiz"],
                    "user_id": u,
                    "enrolment_id": e,
                    "run_id": ids["run"],
                    "number": 1,
                    "preview": False,
                    "state": "graded",
                    "started_at": now,
                    "submitted_at": now,
                    "graded_at": now,
                    "score": 70 + (u % 31),
                    "max_score": 100,
                    "percent": 70.0 + (u % 31),
                    "passed": True,
                    "layout_json": "[]",
                    "results_json": "[]",
                    "furthest_position": 0,
                    "auto_submitted": False,
                }
                for u, e in enrolments.items()
            ],
        )
    ids["users"] = user_ids
    return ids
