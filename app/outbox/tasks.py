"""Scheduled housekeeping of the outbox: delivered and cancelled items are forgotten after their
retention (dead ones stay for the officers), daily."""

from __future__ import annotations

import datetime as dt

from app.core.config import Settings
from app.core.db import session_scope
from app.core.i18n import gettext_ as _
from app.jobs import service as jobs
from app.outbox import service as outbox

RETENTION_DAYS = 90  # delivered messages stay listed this long for officers' questions


@jobs.scheduled(
    "outbox.purge_done", label=lambda: _("Menghapus pesan terkirim yang lama"), cadence="daily"
)
def purge_done(settings: Settings, now: dt.datetime) -> str:
    with session_scope() as session:
        count = outbox.purge_done(session, older_than_days=RETENTION_DAYS)
    return f"{count} pesan terkirim atau batal yang lebih dari {RETENTION_DAYS} hari dihapus"
