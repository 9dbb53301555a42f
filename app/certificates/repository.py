"""All SQL for certification rules, run completions, the numbering counter, certificate records
and bulk issuing jobs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.certificates.models import (
    Certificate,
    CertificateCounter,
    CertificationRules,
    IssueJob,
    IssueJobItem,
    RunCompletion,
)
from app.core.db import copy_rows

CHUNK = 900  # SQLite's bound-parameter limit is 999 on older builds


def add(session: Session, obj: object) -> None:
    session.add(obj)
    session.flush()


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


# --- rules ---------------------------------------------------------------------------------------


def get_rules(session: Session, course_id: int) -> CertificationRules | None:
    return session.get(CertificationRules, course_id)


def rules_of_courses(session: Session, course_ids: Sequence[int]) -> dict[int, CertificationRules]:
    """Course id -> its own rules row, for the courses that have one."""
    found: dict[int, CertificationRules] = {}
    for part in _chunks(list(course_ids)):
        rows = session.scalars(
            select(CertificationRules).where(CertificationRules.course_id.in_(part))
        )
        found.update({r.course_id: r for r in rows})
    return found


def score_overrides(
    session: Session, run_id: int, user_ids: Sequence[int] | None = None
) -> dict[int, float]:
    """User id -> the final score run staff set by hand in a run (the gradebook's overrides)."""
    from app.gradebook.models import GradeOverride

    query = select(GradeOverride.user_id, GradeOverride.score).where(
        GradeOverride.run_id == run_id
    )
    if user_ids is not None and len(user_ids) <= CHUNK:
        query = query.where(GradeOverride.user_id.in_(list(user_ids)))
    return {uid: float(score) for uid, score in session.execute(query)}


# --- numbering -----------------------------------------------------------------------------------


def bump_counter(session: Session, year: int, count: int) -> int | None:
    """Add `count` to the year's counter and return the new last number (None: no row yet)."""
    return session.execute(
        update(CertificateCounter)
        .where(CertificateCounter.year == year)
        .values(last_seq=CertificateCounter.last_seq + count)
        .returning(CertificateCounter.last_seq)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()


def ensure_counter(session: Session, year: int) -> None:
    """Insert the year's counter at 0 unless a concurrent issuer just did (no error either way)."""
    dialect = session.get_bind().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        make(CertificateCounter)
        .values(year=year, last_seq=0)
        .on_conflict_do_nothing(index_elements=["year"])
    )


def counter_value(session: Session, year: int) -> int:
    return session.scalar(select(CertificateCounter.last_seq).where(
        CertificateCounter.year == year)) or 0  # fmt: skip


# --- completions ---------------------------------------------------------------------------------


def get_completion(session: Session, enrolment_id: int) -> RunCompletion | None:
    return session.get(RunCompletion, enrolment_id)


def insert_completion(session: Session, row: dict[str, Any]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING: False when the enrolment's completion exists already
    (a concurrent transaction's insert is waited for, then wins), without a savepoint."""
    dialect = session.get_bind().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    table = cast(Table, RunCompletion.__table__)  # Core: no ORM statement compiling per call
    inserted = session.execute(
        make(table)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["enrolment_id"])
        .returning(table.c.enrolment_id)  # the rowcount is not reliable here (-1 on psycopg)
    ).first()
    return inserted is not None


def completions_by_enrolment(
    session: Session, enrolment_ids: Sequence[int]
) -> dict[int, RunCompletion]:
    found: dict[int, RunCompletion] = {}
    for part in _chunks(list(enrolment_ids)):
        rows = session.scalars(select(RunCompletion).where(RunCompletion.enrolment_id.in_(part)))
        found.update({c.enrolment_id: c for c in rows})
    return found


def completions_of_run(session: Session, run_id: int) -> dict[int, RunCompletion]:
    rows = session.scalars(select(RunCompletion).where(RunCompletion.run_id == run_id))
    return {c.enrolment_id: c for c in rows}


def delete_completions(session: Session, enrolment_ids: Sequence[int]) -> None:
    for part in _chunks(list(enrolment_ids)):
        session.execute(delete(RunCompletion).where(RunCompletion.enrolment_id.in_(part)))


# --- certificates --------------------------------------------------------------------------------


def get_certificate(session: Session, cert_id: int) -> Certificate | None:
    return session.get(Certificate, cert_id)


def get_certificate_for_update(session: Session, cert_id: int) -> Certificate | None:
    return session.scalar(select(Certificate).where(Certificate.id == cert_id).with_for_update())


def by_code(session: Session, code: str) -> Certificate | None:
    return session.scalar(select(Certificate).where(Certificate.code == code))


def by_number(session: Session, number: str) -> Certificate | None:
    return session.scalar(select(Certificate).where(Certificate.number == number))


def by_pdf_sha256(session: Session, sha256: str) -> Certificate | None:
    return session.scalar(select(Certificate).where(Certificate.pdf_sha256 == sha256).limit(1))


def successor(session: Session, cert_id: int) -> Certificate | None:
    return session.scalar(select(Certificate).where(Certificate.previous_id == cert_id))


def latest_by_enrolment(session: Session, enrolment_ids: Sequence[int]) -> dict[int, Certificate]:
    """The newest version per enrolment."""
    found: dict[int, Certificate] = {}
    for part in _chunks(list(enrolment_ids)):
        rows = session.scalars(
            select(Certificate)
            .where(Certificate.enrolment_id.in_(part))
            .order_by(Certificate.version)
        )
        found.update({c.enrolment_id: c for c in rows})
    return found


def latest_of_run(session: Session, run_id: int) -> dict[int, Certificate]:
    rows = session.scalars(
        select(Certificate).where(Certificate.run_id == run_id).order_by(Certificate.version)
    )
    return {c.enrolment_id: c for c in rows}


def course_titles(session: Session, cert_ids: Sequence[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for chunk in _chunks(cert_ids):
        query = select(Certificate.id, Certificate.course_title).where(Certificate.id.in_(chunk))
        found.update((cert_id, title) for cert_id, title in session.execute(query))
    return found


def certificates_of_user(session: Session, user_id: int) -> Sequence[Certificate]:
    return session.scalars(
        select(Certificate)
        .where(Certificate.user_id == user_id)
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    ).all()


def insert_certificates(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Core bulk insert (bulk issuance); ids in the order of `rows`. A plain executemany (the
    driver pipelines it) and one read of the ids by (year, seq): a RETURNING insert of
    hundreds of wide rows costs seconds in statement building alone."""
    if not rows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        copy_rows(session, Certificate.__tablename__, rows)
    else:
        session.execute(insert(Certificate), rows)
    year = rows[0]["year"]
    seqs = [r["seq"] for r in rows]
    found = dict(
        session.execute(
            select(Certificate.seq, Certificate.id).where(
                Certificate.year == year,
                Certificate.seq >= min(seqs),
                Certificate.seq <= max(seqs),
            )
        ).all()
    )
    return [found[s] for s in seqs]


def search(
    session: Session,
    *,
    q: str | None,
    run_id: int | None,
    course_id: int | None,
    user_id: int | None,
    status: str | None,
    year: int | None,
    opd: str | None,
    offset: int,
    limit: int | None,
) -> tuple[int, Sequence[Certificate]]:
    query = select(Certificate)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            or_(
                func.lower(Certificate.holder_name).like(like),
                Certificate.holder_nip.like(f"%{q}%"),
                func.lower(Certificate.number).like(like),
                func.lower(Certificate.course_title).like(like),
            )
        )
    if run_id is not None:
        query = query.where(Certificate.run_id == run_id)
    if course_id is not None:
        query = query.where(Certificate.course_id == course_id)
    if user_id is not None:
        query = query.where(Certificate.user_id == user_id)
    if status:
        query = query.where(Certificate.status == status)
    if year is not None:
        query = query.where(Certificate.year == year)
    if opd:
        query = query.where(func.lower(Certificate.holder_opd).like(f"%{opd.lower()}%"))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = query.order_by(Certificate.issued_at.desc(), Certificate.id.desc()).offset(offset)
    if limit is not None:
        page = page.limit(limit)
    return int(total), session.scalars(page).all()


def valid_of_year(session: Session, year: int) -> Sequence[Certificate]:
    """Valid certificates issued in a year (SIASN export), by issue date."""
    return session.scalars(
        select(Certificate)
        .where(Certificate.year == year, Certificate.status == "valid")
        .order_by(Certificate.issued_on, Certificate.seq)
    ).all()


def run_pdfs(session: Session, run_id: int) -> Sequence[tuple[int, str, str | None, str]]:
    """(id, number, pdf_key, holder name) of a run's valid certificates with a stored PDF."""
    rows = session.execute(
        select(Certificate.id, Certificate.number, Certificate.pdf_key, Certificate.holder_name)
        .where(
            Certificate.run_id == run_id,
            Certificate.status == "valid",
            Certificate.pdf_key.is_not(None),
        )
        .order_by(Certificate.seq)
    )
    return [(i, n, k, h) for i, n, k, h in rows]


# --- jobs ----------------------------------------------------------------------------------------


def get_job(session: Session, job_id: str) -> IssueJob | None:
    return session.get(IssueJob, job_id)


def insert_items(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(IssueJobItem), rows)


def job_items(session: Session, job_id: str) -> Sequence[IssueJobItem]:
    return session.scalars(
        select(IssueJobItem).where(IssueJobItem.job_id == job_id).order_by(IssueJobItem.user_id)
    ).all()


def pending_user_ids(session: Session, job_id: str) -> list[int]:
    return list(
        session.scalars(
            select(IssueJobItem.user_id)
            .where(IssueJobItem.job_id == job_id, IssueJobItem.state == "pending")
            .order_by(IssueJobItem.user_id)
        )
    )


def update_items(session: Session, rows: list[dict[str, Any]]) -> None:
    """rows: {job_id, user_id, state, certificate_id?, message?} (ORM bulk UPDATE by key)."""
    if rows:
        session.execute(
            update(IssueJobItem),
            [{"certificate_id": None, "message": None} | r for r in rows],
        )


def claim_job(session: Session, job_id: str, now: dt.datetime, stale_before: dt.datetime) -> bool:
    """Take a job to run: queued, or running with a stale heartbeat (its runner died)."""
    result = session.execute(
        update(IssueJob)
        .where(
            IssueJob.id == job_id,
            or_(
                IssueJob.state == "queued",
                (IssueJob.state == "running")
                & or_(IssueJob.heartbeat_at.is_(None), IssueJob.heartbeat_at < stale_before),
            ),
        )
        .values(state="running", heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def bump_job(session: Session, job_id: str, now: dt.datetime, **increments: int) -> None:
    values: dict[str, Any] = {"heartbeat_at": now}
    for column, n in increments.items():
        if n:
            values[column] = getattr(IssueJob, column) + n
    session.execute(
        update(IssueJob)
        .where(IssueJob.id == job_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def stale_jobs(session: Session, stale_before: dt.datetime) -> list[str]:
    return list(
        session.scalars(
            select(IssueJob.id).where(
                or_(
                    (IssueJob.state == "queued") & (IssueJob.created_at < stale_before),
                    (IssueJob.state == "running")
                    & or_(IssueJob.heartbeat_at.is_(None), IssueJob.heartbeat_at < stale_before),
                )
            )
        )
    )


def unrendered_of_job(session: Session, job_id: str, limit: int) -> list[int]:
    return list(
        session.scalars(
            select(Certificate.id)
            .where(Certificate.job_id == job_id, Certificate.pdf_sha256.is_(None))
            .order_by(Certificate.id)
            .limit(limit)
        )
    )


def count_rendered(session: Session, job_id: str) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                Certificate.job_id == job_id, Certificate.pdf_sha256.is_not(None)
            )
        )
        or 0
    )


def jobs_to_watch(session: Session, since: dt.datetime, limit: int) -> Sequence[IssueJob]:
    """Bulk issues still queued or running, and those since a moment that failed or left
    failures, newest first (the officer's home page)."""
    return session.scalars(
        select(IssueJob)
        .where(
            or_(
                IssueJob.state.in_(("queued", "running")),
                (IssueJob.created_at >= since)
                & or_(IssueJob.state == "failed", IssueJob.failed_count > 0),
            )
        )
        .order_by(IssueJob.created_at.desc())
        .limit(limit)
    ).all()
