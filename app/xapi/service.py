"""Rules of the xAPI queue for officers and the CLI: its state (counts per state, the last
error, the last delivery), resending what was produced since a date (the minute tick delivers them), reviving statements that
ran out of attempts while the LRS was down."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import utcnow
from app.xapi import client, repository


@dataclass(frozen=True, slots=True)
class QueueState:
    enabled: bool
    endpoint: str | None  # the statements URL (no credentials)
    pending: int
    sent: int
    failed: int  # dead: out of attempts or refused by the LRS
    cancelled: int
    last_error: str | None
    next_attempt_at: dt.datetime | None
    last_sent_at: dt.datetime | None


def queue_state(session: Session, settings: Settings) -> QueueState:
    counts = repository.counts(session)
    error, next_at = repository.last_error(session)
    return QueueState(
        enabled=bool(settings.xapi_endpoint),
        endpoint=client.statements_url(settings) if settings.xapi_endpoint else None,
        pending=counts.get("pending", 0) + counts.get("sending", 0),
        sent=counts.get("sent", 0), failed=counts.get("dead", 0),
        cancelled=counts.get("cancelled", 0), last_error=error, next_attempt_at=next_at,
        last_sent_at=repository.last_sent_at(session),
    )  # fmt: skip


def resend_since(session: Session, since: dt.datetime) -> int:
    """Every statement produced since `since` is sent again (the LRS keeps one per id). Only
    statements still in the outbox (delivered ones are kept LMS_OUTBOX_RETENTION_DAYS)."""
    return repository.requeue_since(session, since, utcnow())


def revive(session: Session) -> int:
    """Statements that ran out of attempts while the LRS was unreachable are tried again."""
    return repository.revive_dead(session, utcnow())
