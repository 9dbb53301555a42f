"""The SIASN push job on the queue: right after a commit that wrote a sync row (the kick), and
every minute for retries and rows whose certificate PDF was still being made."""

from __future__ import annotations

import logging

from app.core.config import get_settings
from app.core.db import session_scope, utcnow
from app.jobs import queue
from app.siasn import repository, service
from app.siasn.client import configured

log = logging.getLogger(__name__)


@queue.task(service.PUSH_TASK)
def _push_task() -> None:
    stats = service.push_due(get_settings())
    if stats.pushed or stats.failed or stats.deleted:
        log.info("siasn: %d pushed, %d deleted, %d failed, %d waiting",
                 stats.pushed, stats.deleted, stats.failed, stats.waiting)  # fmt: skip


@queue.every_minute("siasn.tick")
def _tick() -> None:
    """Every minute: push what is due (cheap when nothing is)."""
    if not configured(get_settings()):
        return
    with session_scope() as session:
        if repository.count_due(session, utcnow()) == 0:
            return
    _push_task()
