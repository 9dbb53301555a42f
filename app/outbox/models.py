"""The outbox table: one row per side effect to perform after a commit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow


class OutboxItem(Base):
    """A side effect for the handler registered under `topic`, written in the transaction of
    its cause. `key` (unique) makes producing it idempotent: a retried job or a second worker
    adding the same key adds nothing. States: pending -> sending -> sent; a failure goes back to
    pending with a later `next_attempt_at` until `outbox_max_attempts`, then dead (listed for
    officers, who may retry); cancelled when the handler decides it is no longer wanted."""

    __tablename__ = "outbox_item"
    __table_args__ = (
        Index("ix_outbox_item_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_outbox_item_topic_sent_at", "topic", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    key: Mapped[str | None] = mapped_column(String(255), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    label: Mapped[str | None] = mapped_column(String(255))  # for the officer's list
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
