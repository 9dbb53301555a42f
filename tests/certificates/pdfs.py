"""Certificate PDFs are made by the outbox after the issuing transaction commits: tests that
read a PDF run the dispatcher first, as the job queue would right after the commit."""

from __future__ import annotations

from app.certificates import delivery
from app.core.config import get_settings
from app.outbox import service as outbox
from app.outbox.service import DispatchStats


def make_pdfs(*, rounds: int = 3) -> DispatchStats:
    """Deliver every due "certificate.pdf" item now (several rounds: retries due now)."""
    total = DispatchStats()
    for _ in range(rounds):
        stats = outbox.dispatch(get_settings(), max_seconds=60, only=[delivery.TOPIC_PDF])
        total.add(stats)
        if not stats.handled:
            break
    return total
