"""Helpers for tests that send messages: deliver the outbox now, make a notification."""

from __future__ import annotations

from app.core.config import get_settings
from app.outbox import service as outbox
from app.outbox.service import DispatchStats


def deliver(*, rounds: int = 3) -> DispatchStats:
    """Run the outbox dispatcher as the job queue would (several rounds: retries due now)."""
    total = DispatchStats()
    for _ in range(rounds):
        stats = outbox.dispatch(get_settings(), max_seconds=30)
        total.add(stats)
        if not stats.handled:
            break
    return total
