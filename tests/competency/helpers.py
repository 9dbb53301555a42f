"""Test data for the competency domain: standards, assessments, ASN with a jabatan, a query
counter."""

from __future__ import annotations

import datetime as dt

from app.accounts.models import User
from app.competency.models import CompetencyAssessment, CompetencyStandard
from app.core.db import session_scope
from tests.factories import make_opd, make_user


def asn(
    *,
    name: str = "Dewi Lestari",
    opd_code: str = "DISKOMINFO",
    jabatan: str | None = "Pranata Komputer Ahli Pertama",
    jenis_jabatan: str | None = "fungsional",
    roles: tuple[str, ...] = ("learner",),
) -> User:
    """An ASN with an OPD, a jabatan and a jenis jabatan."""
    make_opd(code=opd_code, name=f"Dinas {opd_code.title()}")
    user = make_user(name=name, opd_code=opd_code, roles=roles)
    with session_scope() as session:
        row = session.get(User, user.id)
        assert row is not None
        row.jabatan, row.jenis_jabatan = jabatan, jenis_jabatan
    return user


def standard(jabatan: str, code: str, level: int) -> None:
    with session_scope() as session:
        session.add(
            CompetencyStandard(
                jabatan=jabatan,
                jabatan_key=" ".join(jabatan.split()).lower(),
                competency_code=code,
                required_level=level,
            )
        )


def assess(
    user_id: int,
    code: str,
    level: int,
    *,
    on: dt.date = dt.date(2026, 3, 1),
    required: int | None = None,
) -> None:
    with session_scope() as session:
        session.add(
            CompetencyAssessment(
                user_id=user_id,
                competency_code=code,
                level=level,
                required_level=required,
                assessed_on=on,
                method="assessment center",
            )
        )
