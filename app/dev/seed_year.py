"""A year of synthetic learning and development on top of `seed` and `seed_courses`: progress,
completions, certificates, the JP ledger, assessments, standards, mentoring, external training.

Deterministic for a seed; bulk inserts (COPY on PostgreSQL) so size L (over a million rows) loads in
minutes. Runs once per database: a second call finds the seeded ledger and does nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
from collections import defaultdict
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from app.accounts.constants import Role
from app.accounts.models import User, UserRole
from app.certificates import repository as certificates_repository
from app.certificates import rules
from app.certificates.models import CertificateCounter, RunCompletion
from app.competency import service as competency_service
from app.competency.models import Competency, CompetencyAssessment, CompetencyStandard
from app.core import clock
from app.core.config import Settings
from app.core.db import bulk_insert_rows, utcnow
from app.courses.models import Activity, Course, Enrolment, Run
from app.external_training import service as external_training_service
from app.external_training.models import ExternalTraining
from app.jp.models import JpCredit
from app.mentoring.models import MentoringAssignment, MentoringSession
from app.progress.models import ActivityProgress

# Per size: (assessed ASN, mentoring assignments, external trainings).
DEVELOPMENT_SIZES = {
    "XS": (40, 10, 30),
    "S": (200, 60, 300),
    "M": (400, 150, 800),
    "L": (800, 400, 2000),
}
SEED_MARK = "SEED"  # certificate numbers and ledger references of seeded rows carry it

_ORGANISERS = ("BPSDM Provinsi Banten", "Pemerintah Provinsi Banten", "LAN RI",
               "Kementerian Komunikasi dan Digital", "BKN", "Kementerian Dalam Negeri")  # fmt: skip
_EXTERNAL_NAMES = ("Pelatihan Kepemimpinan Pengawas", "Webinar Keamanan Siber",
                   "Pelatihan Pengadaan Barang/Jasa", "Bimtek SPBE", "Pelatihan Analisis Kebijakan",
                   "Kursus Manajemen ASN")  # fmt: skip
_MODES = ("klasikal", "e_learning", "blended", "jarak_jauh")
_FUNDING = ("apbd_provinsi", "apbn", "non_anggaran", "apbd_kabupaten")
_LEADER_JABATAN = ("Kepala Seksi", "Kepala Bidang")


def _insert_returning_ids(
    session: Session,
    model: type[MentoringAssignment | MentoringSession | ExternalTraining],
    rows: list[dict[str, Any]],
) -> list[int]:
    """Insert many rows and return their new ids in the order of `rows`."""
    if not rows:
        return []
    query = insert(model).returning(model.id, sort_by_parameter_order=True)
    return [i for (i,) in session.execute(query, rows)]


def _random_day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randrange(max((end - start).days, 0) + 1))


def _at(day: dt.date, rng: random.Random) -> dt.datetime:
    # office hours where the institution is, stored as UTC like every moment
    return clock.from_local(
        dt.datetime.combine(day, dt.time(rng.randrange(7, 17), rng.randrange(60)))
    )


def seed_year(
    session: Session, settings: Settings, size: str, *, seed_value: int = 2026
) -> dict[str, int]:
    """Everything a year of development leaves in the database, for the dashboards' benchmarks."""
    marked = session.scalar(
        select(func.count())
        .select_from(JpCredit)
        .where(JpCredit.reference.like(f"%/{SEED_MARK}/%"))
    )
    if marked:
        return {"year_seeded_before": int(marked)}
    rng = random.Random(seed_value)  # noqa: S311 - test data
    today = clock.today()
    year_start = dt.date(today.year, 1, 1)
    learners = list(
        session.execute(
            select(User.id, User.opd_id, User.jabatan, User.name).where(
                User.is_active.is_(True), User.nip.is_not(None)
            )
        )
    )
    counts: dict[str, int] = {}
    counts |= _learning(session, settings, rng, year_start, today)
    counts |= _competencies(session, rng, learners, size, year_start, today)
    counts |= _mentoring(session, settings, rng, learners, size, year_start, today)
    counts |= _external(session, rng, learners, size, year_start, today)
    return counts


def _learning(
    session: Session, settings: Settings, rng: random.Random, start: dt.date, today: dt.date
) -> dict[str, int]:
    """Progress for every enrolment, and for the completed ones a completion, a certificate
    and its JP credit. Engagement differs per learner, so some reach 20 JP and many do not."""
    enrolments = list(
        session.execute(
            select(
                Enrolment.id,
                Enrolment.user_id,
                Run.id,
                Run.name,
                Run.starts_on,
                Run.ends_on,
                Run.funding_source,
                Course.id,
                Course.code,
                Course.title,
                Course.jp,
            )
            .join(Run, Run.id == Enrolment.run_id)
            .join(Course, Course.id == Run.course_id)
            .outerjoin(ActivityProgress, ActivityProgress.enrolment_id == Enrolment.id)
            .where(ActivityProgress.id.is_(None), Enrolment.status == "active")
            .order_by(Enrolment.id)
        )
    )
    if not enrolments:
        return {"progress_rows": 0, "certificates": 0}
    activities: dict[int, list[int]] = defaultdict(list)
    for activity_id, course_id in session.execute(
        select(Activity.id, Activity.course_id).order_by(Activity.course_id, Activity.position)
    ):
        activities[course_id].append(activity_id)
    users = {uid: (name, nip) for uid, name, nip in session.execute(
        select(User.id, User.name, User.nip))}  # fmt: skip
    engagement = {uid: (0.0 if rng.random() < 0.25 else rng.uniform(0.05, 0.5)) for uid in users}
    progress: list[dict[str, Any]] = []
    completions: list[dict[str, Any]] = []
    certificates: list[dict[str, Any]] = []
    seq = int(session.scalar(select(CertificateCounter.last_seq).where(
        CertificateCounter.year == today.year)) or 0)  # fmt: skip
    first_seq = seq + 1
    for (
        enrolment_id,
        user_id,
        run_id,
        run_name,
        starts,
        ends,
        funding,
        _cid,
        code,
        title,
        jp,
    ) in enrolments:
        course_activities = activities.get(_cid, [])
        done = rng.random() < engagement[user_id]
        finished_on = _random_day(rng, start, today - dt.timedelta(days=1))
        begun = _at(_random_day(rng, start, finished_on), rng)
        n = len(course_activities)
        touched = n if done else rng.randrange(min(4, n), n + 1)
        for i, activity_id in enumerate(course_activities[:touched]):
            complete = done or i < touched - 1
            progress.append({
                "enrolment_id": enrolment_id, "activity_id": activity_id,
                "status": "completed" if complete else "in_progress", "position_seconds": 0.0,
                "watched_seconds": 0.0, "watched_intervals": "[]", "media_seconds": None,
                "time_seconds": float(rng.randrange(300, 1500)), "first_seen_at": begun,
                "last_seen_at": begun, "completed_at": begun if complete else None,
            })  # fmt: skip
        if not done:
            continue
        issued_at = _at(finished_on, rng)
        score = float(rng.randrange(70, 101))
        predikat = rules.predikat(
            score, settings.cert_predikat_bands, settings.cert_predikat_lowest
        )
        completions.append({"enrolment_id": enrolment_id, "run_id": run_id, "user_id": user_id,
                            "completed_at": issued_at, "final_score": score, "predikat": predikat})  # fmt: skip
        seq += 1
        name, nip = users[user_id]
        certificates.append({
            "number": f"{seq:05d}/{code}/{SEED_MARK}/{today.year}", "year": today.year, "seq": seq,
            "code": base64.b32encode(rng.getrandbits(160).to_bytes(20, "big")).decode("ascii"),
            "version": 1, "status": "valid", "enrolment_id": enrolment_id, "run_id": run_id,
            "course_id": _cid, "user_id": user_id, "holder_name": name, "holder_nip": nip,
            "holder_pangkat_golongan": None, "holder_jabatan": None, "holder_opd": None,
            "course_code": code, "course_title": title, "run_name": run_name,
            "run_starts_on": starts, "run_ends_on": ends, "funding_source": funding, "jp": float(jp),
            "score": score, "predikat": predikat, "issuer": settings.institution_name,
            "signer_name": settings.cert_signer_name, "signer_nip": settings.cert_signer_nip,
            "signer_jabatan": settings.cert_signer_jabatan, "place": settings.cert_place,
            "issued_on": finished_on, "issued_at": issued_at, "template_version": 1,
        })  # fmt: skip
    for i in range(0, len(progress), 50_000):
        bulk_insert_rows(session, ActivityProgress, progress[i : i + 50_000])
    bulk_insert_rows(session, RunCompletion, completions)
    credits: list[dict[str, Any]] = []
    for i in range(0, len(certificates), 5_000):
        batch = certificates[i : i + 5_000]
        ids = certificates_repository.insert_certificates(session, batch)
        credits.extend(
            {"user_id": c["user_id"], "year": c["year"], "source": "certificate", "source_id": cid,
             "jp": c["jp"], "credited_on": c["issued_on"], "reference": c["number"],
             "funding_source": c["funding_source"], "created_at": c["issued_at"]}
            for c, cid in zip(batch, ids, strict=True)
        )  # fmt: skip
    bulk_insert_rows(session, JpCredit, credits)
    if certificates:
        if session.get(CertificateCounter, today.year) is None:
            session.add(CertificateCounter(year=today.year, last_seq=seq))
        else:
            session.execute(
                update(CertificateCounter)
                .where(CertificateCounter.year == today.year)
                .values(last_seq=seq)
            )
    return {
        "progress_rows": len(progress),
        "certificates": len(certificates),
        "certificate_seq_from": first_seq if certificates else 0,
    }


def _competencies(
    session: Session,
    rng: random.Random,
    learners: list[Any],
    size: str,
    start: dt.date,
    today: dt.date,
) -> dict[str, int]:
    """Job standards for the synthetic jabatan and the assessment of some hundred ASN (this
    year, a quarter of them with an earlier one kept as history)."""
    codes = [
        c for c in session.scalars(select(Competency.code).where(Competency.is_active.is_(True)))
        if c != "spbe"
    ]  # fmt: skip
    have = set(session.scalars(select(CompetencyStandard.jabatan_key)))
    jabatan = sorted({row.jabatan for row in learners if row.jabatan})
    now = utcnow()
    standards = [
        {"jabatan": j, "jabatan_key": competency_service.fold(j), "competency_code": code,
         "required_level": 4 if j in _LEADER_JABATAN and code in codes[:8] else 3,
         "created_at": now, "updated_at": now}
        for j in jabatan if competency_service.fold(j) not in have
        for code in codes
    ]  # fmt: skip
    bulk_insert_rows(session, CompetencyStandard, standards)
    assessed, _mentoring, _external = DEVELOPMENT_SIZES[size]
    chosen = rng.sample(learners, min(assessed, len(learners)))
    rows: list[dict[str, Any]] = []
    assessed_on = _random_day(rng, start, min(today, start + dt.timedelta(days=60)))
    for learner in chosen:
        strength = rng.uniform(-1.0, 1.0)
        for code in codes:
            level = max(1, min(5, round(3 + strength + rng.uniform(-1.2, 1.0))))
            rows.append({"user_id": learner.id, "competency_code": code, "level": level,
                         "required_level": None, "assessed_on": assessed_on,
                         "method": "assessment center", "assessor": "UPT Penilaian Kompetensi",
                         "import_id": None, "created_at": now})  # fmt: skip
            if rng.random() < 0.25:
                rows.append({**rows[-1], "level": max(1, level - 1),
                             "assessed_on": assessed_on.replace(year=assessed_on.year - 1)})  # fmt: skip
    bulk_insert_rows(session, CompetencyAssessment, rows)
    return {"standards": len(standards), "assessed_asn": len(chosen), "assessments": len(rows)}


def _mentoring(
    session: Session,
    settings: Settings,
    rng: random.Random,
    learners: list[Any],
    size: str,
    start: dt.date,
    today: dt.date,
) -> dict[str, int]:
    """Two leaders per OPD become mentors; assignments in their own OPD with sessions at most
    twice a month; half are verified, and their confirmed sessions earn JP."""
    _assessed, wanted, _external = DEVELOPMENT_SIZES[size]
    by_opd: dict[int, list[Any]] = defaultdict(list)
    for row in learners:
        by_opd[row.opd_id].append(row)
    mentor_roles = set(
        session.scalars(select(UserRole.user_id).where(UserRole.role == Role.MENTOR))
    )
    mentors: dict[int, list[Any]] = {}
    for opd_id, people in by_opd.items():
        leaders = [p for p in people if p.jabatan in _LEADER_JABATAN][:2] or people[:1]
        mentors[opd_id] = leaders
    new_roles = [
        {"user_id": m.id, "role": Role.MENTOR.value}
        for ms in mentors.values() for m in ms if m.id not in mentor_roles
    ]  # fmt: skip
    bulk_insert_rows(session, UserRole, new_roles)
    codes = list(session.scalars(select(Competency.code).where(Competency.group == "manajerial")))
    now = utcnow()
    assignments: list[dict[str, Any]] = []
    plans: list[tuple[int, list[dt.date], str]] = []  # (mentee, session days, status)
    opds = [o for o in by_opd if len(by_opd[o]) > 2]
    for _ in range(wanted if opds else 0):
        opd_id = rng.choice(opds)
        mentor = rng.choice(mentors[opd_id])
        mentee = rng.choice([p for p in by_opd[opd_id][:50] if p.id != mentor.id])
        begins = _random_day(rng, start, max(start, today - dt.timedelta(days=90)))
        planned = rng.randrange(2, 7)
        status = rng.choices(("verified", "signed_off", "active"), (5, 2, 3))[0]
        days: list[dt.date] = []
        month_day = begins
        while len(days) < (planned if status != "active" else rng.randrange(0, planned)):
            if month_day > today:
                break
            days.append(month_day)
            if len(days) % settings.mentoring_max_sessions_per_month == 0:
                month_day = (month_day.replace(day=1) + dt.timedelta(days=32)).replace(day=2)
            else:
                month_day = month_day + dt.timedelta(days=1)
        if status != "active" and not days:
            status = "active"
        decided = _at(days[-1], rng) if days and status == "verified" else None
        assignments.append({
            "mentor_id": mentor.id, "mentee_id": mentee.id, "competency_code": rng.choice(codes),
            "goal": "Meningkatkan kompetensi sesuai hasil asesmen.", "planned_sessions": planned,
            "jp_per_session": float(settings.mentoring_jp_per_session), "starts_on": begins,
            "ends_on": begins + dt.timedelta(days=180), "status": status,
            "signed_off_at": _at(days[-1], rng) if days and status != "active" else None,
            "decided_at": decided, "decided_by_id": None, "decision_reason": None,
            "created_by_id": None, "created_at": now, "updated_at": now,
        })  # fmt: skip
        plans.append((mentee.id, days, status))
    ids = _insert_returning_ids(session, MentoringAssignment, assignments)
    sessions: list[dict[str, Any]] = []
    credited: list[tuple[int, dt.date, int]] = []  # (assignment index, day, mentee)
    for index, (assignment_id, (mentee, days, status)) in enumerate(zip(ids, plans, strict=True)):
        for day in days:
            sessions.append({
                "assignment_id": assignment_id, "held_on": day, "duration_minutes": 90,
                "goal": "Tujuan sesi", "reality": "Kondisi saat ini", "options": "Pilihan",
                "way_forward": "Langkah berikutnya", "evidence_file_id": None, "evidence_name": None,
                "mentee_confirmed_at": _at(day, rng), "created_at": _at(day, rng),
            })  # fmt: skip
            if status == "verified":
                credited.append((index, day, mentee))
    session_ids = _insert_returning_ids(session, MentoringSession, sessions)
    by_session = {
        (s["assignment_id"], s["held_on"]): sid
        for s, sid in zip(sessions, session_ids, strict=True)
    }
    credits = [
        {"user_id": mentee, "year": day.year, "source": "mentoring",
         "source_id": by_session[(ids[index], day)], "jp": float(settings.mentoring_jp_per_session),
         "credited_on": day, "reference": f"Mentoring/{SEED_MARK}/{ids[index]}",
         "funding_source": "non_anggaran", "created_at": now}
        for index, day, mentee in credited
    ]  # fmt: skip
    bulk_insert_rows(session, JpCredit, credits)
    return {"mentors": len(new_roles), "mentoring_assignments": len(ids),
            "mentoring_sessions": len(sessions)}  # fmt: skip


def _external(
    session: Session,
    rng: random.Random,
    learners: list[Any],
    size: str,
    start: dt.date,
    today: dt.date,
) -> dict[str, int]:
    """Training at the province and in central government: most verified (with JP), some
    waiting, some rejected; a few share a certificate number, to be flagged."""
    _assessed, _mentoring, wanted = DEVELOPMENT_SIZES[size]
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for i in range(wanted if learners else 0):
        learner = rng.choice(learners)
        begins = _random_day(rng, start, today - dt.timedelta(days=3))
        status = rng.choices(("verified", "pending", "rejected"), (13, 4, 3))[0]
        number = f"{rng.randrange(1, 9999):04d}/{SEED_MARK}-EXT/{i % 997}/{today.year}"
        if rows and rng.random() < 0.02:
            number = rows[-1]["certificate_number"]  # a copied certificate
        rows.append({
            "user_id": learner.id, "name": rng.choice(_EXTERNAL_NAMES),
            "organiser": rng.choice(_ORGANISERS), "starts_on": begins,
            "ends_on": begins + dt.timedelta(days=rng.randrange(0, 3)),
            "jp": float(rng.choice((2, 4, 8, 16, 24, 32))), "certificate_number": number,
            "certificate_key": external_training_service.certificate_key(number),
            "funding_source": rng.choice(_FUNDING),
            "mode": rng.choice(_MODES), "file_id": None, "file_name": None, "status": status,
            "decision_reason": "Sertifikat tidak terbaca." if status == "rejected" else None,
            "decided_at": now if status != "pending" else None, "decided_by_id": None,
            "recorded_by_id": learner.id, "created_at": now, "updated_at": now,
        })  # fmt: skip
    ids = _insert_returning_ids(session, ExternalTraining, rows)
    credits = [
        {"user_id": r["user_id"], "year": r["ends_on"].year, "source": "external_training",
         "source_id": rid, "jp": r["jp"], "credited_on": r["ends_on"],
         "reference": r["certificate_number"], "funding_source": r["funding_source"],
         "created_at": now}
        for r, rid in zip(rows, ids, strict=True) if r["status"] == "verified"
    ]  # fmt: skip
    bulk_insert_rows(session, JpCredit, credits)
    return {"external_trainings": len(rows), "external_verified": len(credits)}
