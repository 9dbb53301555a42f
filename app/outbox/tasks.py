"""Scheduled housekeeping of the outbox: delivered and cancelled items are forgotten after their
retention (dead ones stay for the officers), daily."""

from __future__ import annotations

import datetime as dt

from app.core.config import Settings
from app.core.db import session_scope
from app.core.i18n import gettext_ as _
from app.jobs import service as jobs
from app.outbox import service as outbox


@jobs.scheduled(
    "outbox.purge_done", label=lambda: _("Menghapus pesan terkirim yang lama"), cadence="daily"
)
def purge_done(settings: Settings, now: dt.datetime) -> str:
    with session_scope() as session:
        days = settings.outbox_retention_days  # delivered messages stay listed this long
        count = outbox.purge_done(session, older_than_days=days)
    return f"{count} pesan terkirim atau batal yang lebih dari {days} hari dihapus"
