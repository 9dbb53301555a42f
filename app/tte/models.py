"""Signing batches: certificates an officer prepared for the signing official's BSrE TTE, with
counters for the progress bar. Neither the NIK nor the passphrase is ever stored here."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow


class SigningBatch(Base):
    """A run's (or a hand-picked set of) certificates to sign. States: prepared (waiting for
    the official), running, done, failed (stopped: credential error, service down; pending
    items stay as they were and can be signed after entering the data again)."""

    __tablename__ = "tte_signing_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_run.id", ondelete="SET NULL"), index=True
    )
    state: Mapped[str] = mapped_column(String(16), default="prepared")
    total: Mapped[int] = mapped_column(Integer, default=0)
    signed_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)  # the plain message shown to people
    error_code: Mapped[int | None] = mapped_column(Integer)  # BSrE's status_code, if any
    job_id: Mapped[str | None] = mapped_column(String(32))  # the current signing run's id
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    signed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    heartbeat_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]


class SigningItem(Base):
    """One certificate in a batch, in signing order. States: pending, signed, failed (BSrE
    refused this PDF or it failed our check; the stored PDF is unchanged), skipped (revoked,
    re-issued or changed meanwhile)."""

    __tablename__ = "tte_signing_item"

    batch_id: Mapped[int] = mapped_column(
        ForeignKey("tte_signing_batch.id", ondelete="CASCADE"), primary_key=True
    )
    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("certificate.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    message: Mapped[str | None] = mapped_column(Text)
    old_sha256: Mapped[str | None] = mapped_column(String(64))
    new_sha256: Mapped[str | None] = mapped_column(String(64))
    signed_at: Mapped[dt.datetime | None]
