"""All SQL of the gradebook: the final-score overrides."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.gradebook.models import GradeOverride


def overrides_of_run(session: Session, run_id: int) -> Sequence[GradeOverride]:
    return session.scalars(select(GradeOverride).where(GradeOverride.run_id == run_id)).all()


def get_override(session: Session, run_id: int, user_id: int) -> GradeOverride | None:
    return session.scalar(
        select(GradeOverride).where(
            GradeOverride.run_id == run_id, GradeOverride.user_id == user_id
        )
    )


def add(session: Session, row: GradeOverride) -> None:
    session.add(row)
    session.flush()


def delete(session: Session, row: GradeOverride) -> None:
    session.delete(row)
    session.flush()
