"""The SIASN sync table (one row per JP source: what SIASN holds for it and how the push went)
and the per-account cache of SIASN's pnsOrangId."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow


class SiasnRecord(Base):
    """A source's record in SIASN. Written in the transaction of the fact (JP credited,
    withdrawn or moved) and processed by the push job; `siasn_id` (rwKursusId or rwDiklatId)
    makes every later push an update of the same SIASN record, never a second one."""

    __tablename__ = "siasn_record"
    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        Index("ix_siasn_record_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))  # certificate | mentoring | external_training
    source_id: Mapped[int] = mapped_column(Integer)  # mentoring: the assignment
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(16), default="pending")  # constants.STATES
    action: Mapped[str] = mapped_column(String(16), default="save")  # save | delete
    kind: Mapped[str | None] = mapped_column(String(16))  # kursus | diklat, once pushed
    siasn_id: Mapped[str | None] = mapped_column(String(64))
    document_uri: Mapped[str | None] = mapped_column(String(512))  # the uploaded PDF's dok_uri
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(2000))
    skip_reason: Mapped[str | None] = mapped_column(String(500))
    revoked_at: Mapped[dt.datetime | None]  # the source was withdrawn (revoked certificate)
    deleted_at: Mapped[dt.datetime | None]  # its SIASN record was deleted
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[dt.datetime | None]
    pushed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SiasnPerson(Base):
    """An account's SIASN identity: data-utama's `id` (pnsOrangId) for the NIP it was read for."""

    __tablename__ = "siasn_person"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    nip: Mapped[str] = mapped_column(String(18))
    pns_orang_id: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
