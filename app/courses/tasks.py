"""Scheduled housekeeping of the courses domain: upload sessions left open past their lifetime
are aborted (multipart parts on S3 freed), hourly."""

from __future__ import annotations

import datetime as dt

from app.core.config import Settings
from app.core.db import session_scope
from app.core.i18n import gettext_ as _
from app.courses import uploads
from app.jobs import service as jobs
from app.progress import tasks as progress_tasks  # noqa: F401 - queued completion recompute
from app.storage.service import get_storage


@jobs.scheduled(
    "courses.expired_uploads", label=lambda: _("Membatalkan unggahan yang kedaluwarsa"),
    cadence="hourly",
)  # fmt: skip
def abort_expired_uploads(settings: Settings, now: dt.datetime) -> str:
    with session_scope() as session:
        count = uploads.abort_expired_uploads(
            session, get_storage(settings), settings=settings, now=now
        )
    return f"{count} unggahan kedaluwarsa dibatalkan"
