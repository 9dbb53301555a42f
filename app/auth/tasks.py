"""Scheduled housekeeping of the auth domain: expired browser sessions, API tokens, account
tokens and sign-in states, and login-throttling rows past their window, hourly."""

from __future__ import annotations

import datetime as dt

from app.auth import service as auth_service
from app.core.config import Settings
from app.core.db import session_scope
from app.core.i18n import gettext_ as _
from app.jobs import service as jobs


@jobs.scheduled(
    "auth.purge_expired", label=lambda: _("Menghapus sesi, token, dan catatan pembatasan lama"),
    cadence="hourly",
)  # fmt: skip
def purge_expired(settings: Settings, now: dt.datetime) -> str:
    with session_scope() as session:
        auth_service.purge_expired(session, settings)
    return "Sesi, token, dan catatan pembatasan masuk yang kedaluwarsa dihapus"
