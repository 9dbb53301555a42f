"""Scheduled retention of personal data: in-app notifications past
LMS_NOTIFICATION_RETENTION_DAYS are deleted daily (outbox messages: app.outbox.tasks; audit
entries: app.audit.tasks; login-throttling rows and expired sessions: app.auth.tasks)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete

from app.core.config import Settings
from app.core.db import Base, session_scope
from app.core.i18n import gettext_ as _
from app.jobs import service as jobs


def purge_notifications(settings: Settings, now: dt.datetime) -> int:
    table = Base.metadata.tables["notification"]
    cutoff = now - dt.timedelta(days=settings.notification_retention_days)
    with session_scope() as session:
        result = session.execute(delete(table).where(table.c.created_at < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


@jobs.scheduled(
    "privacy.purge_notifications", label=lambda: _("Menghapus notifikasi yang lama"),
    cadence="daily",
)  # fmt: skip
def purge_old_notifications(settings: Settings, now: dt.datetime) -> str:
    count = purge_notifications(settings, now)
    days = settings.notification_retention_days
    return f"{count} notifikasi yang lebih dari {days} hari dihapus"
