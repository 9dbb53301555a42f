"""Shared steps of the SIASN tests: people, a completed course with its certificate and PDF,
one push round (what the job does)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from app.certificates.models import Certificate
from app.core.config import get_settings
from app.core.db import session_scope
from app.siasn import service
from app.siasn.models import SiasnRecord
from app.siasn.service import PushStats
from tests.certificates.pdfs import make_pdfs
from tests.factories import api_token, make_completed_run, make_user


async def officer_headers(client: httpx.AsyncClient) -> dict[str, str]:
    officer = make_user(roles=("training_officer",), name="Budi Petugas")
    return await api_token(client, str(officer.email))


def completed_course_certificate(*, jp: int = 10) -> Certificate:
    """A learner completes a course (auto-issue): the certificate and its PDF exist."""
    run = make_completed_run(1, jp=jp, auto_issue=True)
    make_pdfs()
    with session_scope() as session:
        cert = session.scalars(select(Certificate).where(Certificate.run_id == run["run"])).one()
        session.expunge_all()
    assert cert.pdf_key, "the outbox made the PDF"
    return cert


def push() -> PushStats:
    return service.push_due(get_settings(), max_seconds=30)


def rows() -> list[SiasnRecord]:
    with session_scope() as session:
        found = list(session.scalars(select(SiasnRecord).order_by(SiasnRecord.id)))
        session.expunge_all()
    return found


def set_row(record_id: int, **values: Any) -> None:
    with session_scope() as session:
        row = session.get(SiasnRecord, record_id)
        assert row is not None
        for key, value in values.items():
            setattr(row, key, value)
