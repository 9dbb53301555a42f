"""Scheduled housekeeping of the audit log: entries past LMS_AUDIT_RETENTION_DAYS are pruned
daily (an anchor keeps the remaining chain verifiable); the head is logged so a copy of it lives
outside the database."""

from __future__ import annotations

import datetime as dt
import logging

from app.audit import service as audit
from app.core.config import Settings
from app.core.db import session_scope
from app.core.i18n import gettext_ as _
from app.jobs import service as jobs

log = logging.getLogger("lms.audit")


@jobs.scheduled("audit.prune", label=lambda: _("Menghapus log audit yang lewat masa simpan"),
                cadence="daily")  # fmt: skip
def prune_old(settings: Settings, now: dt.datetime) -> str:
    with session_scope() as session:
        count = audit.prune(session, now=now, retention_days=settings.audit_retention_days)
    with session_scope() as session:
        head = audit.verify_head(session)
    log.info(
        "audit head", extra={"payload": {"audit_head_id": head[0], "audit_head_hash": head[1]}}
    )
    return (f"{count} entri log audit lebih dari {settings.audit_retention_days} hari dihapus; "
            f"kepala rantai {head[0]}:{head[1][:16]}")  # fmt: skip
