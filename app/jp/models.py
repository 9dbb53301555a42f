"""The JP ledger table: one row per credit; withdrawn credits stay, marked, for the audit trail."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow


class JpCredit(Base):
    """JP credited to a user for a year from one source (a certificate, external training,
    mentoring). `source_id` is the id of that source's record; a re-issued certificate moves the
    credit by pointing it at the new version."""

    __tablename__ = "jp_credit"
    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        Index("ix_jp_credit_year_user", "year", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    year: Mapped[int] = mapped_column(Integer, index=True)
    source: Mapped[str] = mapped_column(String(32))  # certificate | external_training | mentoring
    source_id: Mapped[int] = mapped_column(Integer)
    jp: Mapped[float] = mapped_column(Float)
    credited_on: Mapped[dt.date]
    reference: Mapped[str] = mapped_column(String(255))  # e.g. the certificate number
    # Sumber dana of what earned it: the run's, the external training's; mentoring: non_anggaran.
    funding_source: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[dt.datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(String(500))
