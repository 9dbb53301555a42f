"""Scheduled: statements that ran out of attempts while the LRS was down are revived hourly, so
an outage of any length loses none (refused statements stay dead for the officers)."""

from __future__ import annotations

import datetime as dt

from app.core.config import Settings
from app.core.db import session_scope
from app.core.i18n import gettext_ as _
from app.jobs import service as jobs
from app.xapi import service


@jobs.scheduled("xapi.revive", label=lambda: _("Menghidupkan lagi pernyataan xAPI yang tertunda"),
                cadence="hourly")  # fmt: skip
def revive(settings: Settings, now: dt.datetime) -> str:
    if not settings.xapi_endpoint:
        return "xAPI tidak aktif"
    with session_scope() as session:
        n = service.revive(session)
    return f"{n} pernyataan xAPI dijadwalkan ulang"
