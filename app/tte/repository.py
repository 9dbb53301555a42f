"""All SQL of the signing batches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.certificates.models import Certificate
from app.tte.models import SigningBatch, SigningItem


class PendingRow(NamedTuple):
    cert_id: int
    year: int
    pdf_key: str | None
    pdf_sha256: str | None
    status: str
    code: str


def signable_ids(
    session: Session, *, run_id: int | None = None, ids: Sequence[int] | None = None
) -> list[int]:
    """Valid certificates with a stored PDF and no BSrE signature yet, in number order."""
    query = select(Certificate.id).where(
        Certificate.status == "valid",
        Certificate.pdf_key.is_not(None),
        ~Certificate.id.in_(
            select(SigningItem.certificate_id).where(SigningItem.state == "signed")
        ),
    )
    if run_id is not None:
        query = query.where(Certificate.run_id == run_id)
    if ids is not None:
        query = query.where(Certificate.id.in_(list(ids)))
    return list(session.scalars(query.order_by(Certificate.year, Certificate.seq)))


def tte_signed(session: Session, cert_ids: Sequence[int]) -> set[int]:
    """Which of these certificates carry a BSrE signature (a signed item)."""
    if not cert_ids:
        return set()
    rows = session.scalars(
        select(SigningItem.certificate_id).where(
            SigningItem.certificate_id.in_(list(cert_ids)), SigningItem.state == "signed"
        )
    )
    return set(rows)


def add_batch(
    session: Session, run_id: int | None, cert_ids: Sequence[int], by: int | None
) -> SigningBatch:
    batch = SigningBatch(run_id=run_id, total=len(cert_ids), created_by_id=by, state="prepared",
                         signed_count=0, failed_count=0, skipped_count=0)  # fmt: skip
    session.add(batch)
    session.flush()
    session.add_all(
        SigningItem(batch_id=batch.id, certificate_id=cid, position=i, state="pending")
        for i, cid in enumerate(cert_ids)
    )
    session.flush()
    return batch


def get_batch(session: Session, batch_id: int) -> SigningBatch | None:
    return session.get(SigningBatch, batch_id)


def claim(
    session: Session, batch_id: int, job_id: str, by: int | None, now: dt.datetime,
    stale_before: dt.datetime,
) -> bool:  # fmt: skip
    """Mark the batch running for this job: only from prepared/failed, or running with a stale
    heartbeat (its process died). One statement, so two officials' clicks cannot both win."""
    result = session.execute(
        update(SigningBatch)
        .where(
            SigningBatch.id == batch_id,
            (SigningBatch.state.in_(("prepared", "failed")))
            | ((SigningBatch.state == "running") & (SigningBatch.heartbeat_at < stale_before)),
        )
        .values(state="running", job_id=job_id, signed_by_id=by, started_at=now,
                heartbeat_at=now, error=None, error_code=None, finished_at=None)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def pending(session: Session, batch_id: int) -> list[PendingRow]:
    """The batch's pending items with what signing needs of their certificate, in order."""
    rows = session.execute(
        select(Certificate.id, Certificate.year, Certificate.pdf_key, Certificate.pdf_sha256,
               Certificate.status, Certificate.code)
        .join(SigningItem, SigningItem.certificate_id == Certificate.id)
        .where(SigningItem.batch_id == batch_id, SigningItem.state == "pending")
        .order_by(SigningItem.position)
    )
    return [PendingRow(*r) for r in rows]


def item(session: Session, batch_id: int, cert_id: int) -> SigningItem | None:
    return session.get(SigningItem, (batch_id, cert_id))


def items(session: Session, batch_id: int, limit: int = 500) -> list[tuple[SigningItem, str, str]]:
    """The batch's items with the certificate number and holder, in signing order."""
    rows = session.execute(
        select(SigningItem, Certificate.number, Certificate.holder_name)
        .join(Certificate, Certificate.id == SigningItem.certificate_id)
        .where(SigningItem.batch_id == batch_id)
        .order_by(SigningItem.position)
        .limit(limit)
    )
    return [(r[0], r[1], r[2]) for r in rows]


def batches(session: Session, limit: int = 50) -> list[SigningBatch]:
    return list(
        session.scalars(select(SigningBatch).order_by(SigningBatch.id.desc()).limit(limit))
    )


def counts(session: Session, batch_id: int) -> dict[str, int]:
    rows = session.execute(
        select(SigningItem.state, func.count())
        .where(SigningItem.batch_id == batch_id)
        .group_by(SigningItem.state)
    )
    return {state: int(n) for state, n in rows}


def swap_pdf(
    session: Session, cert_id: int, old_sha256: str, key: str, sha256: str, size: int
) -> bool:
    """Point the certificate at its BSrE-signed PDF, only if it is still valid and still the
    file that was sent (a revoke or re-issue meanwhile wins)."""
    result = session.execute(
        update(Certificate)
        .where(Certificate.id == cert_id, Certificate.pdf_sha256 == old_sha256,
               Certificate.status == "valid")
        .values(pdf_key=key, pdf_sha256=sha256, pdf_size=size)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def runs_with_signable(session: Session, limit: int = 200) -> list[tuple[int, int]]:
    """(run id, number of certificates still to sign) for the officer's run picker."""
    signed = select(SigningItem.certificate_id).where(SigningItem.state == "signed")
    rows = session.execute(
        select(Certificate.run_id, func.count())
        .where(Certificate.status == "valid", Certificate.pdf_key.is_not(None),
               ~Certificate.id.in_(signed))
        .group_by(Certificate.run_id)
        .order_by(Certificate.run_id.desc())
        .limit(limit)
    )
    return [(int(r), int(n)) for r, n in rows]


def run_labels(session: Session, run_ids: Sequence[int]) -> dict[int, str]:
    """"Course title · run name" of each run, for pickers and headings."""
    from app.courses.models import Course, Run

    if not run_ids:
        return {}
    rows = session.execute(
        select(Run.id, Course.title, Run.name)
        .join(Course, Course.id == Run.course_id)
        .where(Run.id.in_(list(run_ids)))
    )
    return {int(rid): f"{title} · {name}" for rid, title, name in rows}
