"""The table of training taken outside the LMS, with its certificate and verification."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, TimestampMixin


class ExternalTraining(TimestampMixin, Base):
    """Training an ASN attended elsewhere (Pemprov, a ministry, LAN...); counts once verified.

    status: pending -> verified (JP credited) | rejected (with a reason); verified -> revoked by
    an officer (with a reason; the JP credit is withdrawn). `certificate_key` is the
    certificate number folded (upper case, no spaces) to flag duplicates.
    """

    __tablename__ = "external_training"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    organiser: Mapped[str] = mapped_column(String(255))
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]
    jp: Mapped[float] = mapped_column(Float)
    certificate_number: Mapped[str] = mapped_column(String(128))
    certificate_key: Mapped[str] = mapped_column(String(128), index=True)
    funding_source: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(32))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("content_file.id", ondelete="RESTRICT"))
    file_name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    decision_reason: Mapped[str | None] = mapped_column(String(1000))
    decided_at: Mapped[dt.datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
