"""Background work of the assessment engine: the sweep that grades attempts left open past their
deadline (plus the grace period) with the answers saved in time.

Attempts are also graded lazily when their learner comes back (`service.finish_if_expired`);
the sweep makes results and completion appear without that visit. It runs:

- in every web worker, as a daemon thread started by the app's lifespan
  (`settings.quiz_sweep_seconds` > 0; 0 turns it off, as the tests do);
- from cron: `lms quizzes close-expired`.

Any number of sweeps may run at once (several workers, cron beside them): each attempt is moved
out of "in_progress" by one atomic claim UPDATE (`repository.claim`), so it is graded exactly
once whoever gets there first; the others find nothing to claim.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from app.core.config import Settings, get_settings
from app.core.db import session_scope
from app.quizzes import service

log = logging.getLogger(__name__)

# A sweep commits after each batch of `service.SWEEP_BATCH` attempts; this bounds one run.
MAX_BATCHES = 100


def close_expired_once(settings: Settings, *, now: dt.datetime | None = None) -> int:
    """Grade every attempt whose deadline plus grace has passed; returns how many were closed.

    One transaction per batch, so a large backlog does not hold its locks until the end. An
    attempt claimed by a concurrent sweep or submit in the meantime may be counted by both
    callers; it is still graded once.
    """
    total = 0
    for _ in range(MAX_BATCHES):
        with session_scope() as session:
            closed = service.close_expired(session, settings, now=now)
        total += closed
        if closed < service.SWEEP_BATCH:
            break
    return total


class Sweeper:
    """A daemon thread running `close_expired_once` every `interval` seconds until `stop()`.

    The first run waits a random part of the interval, so the workers of one server do not all
    sweep at the same moment.
    """

    def __init__(self, settings: Settings, interval: float) -> None:
        self.settings = settings
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0

    def start(self) -> Sweeper:
        self._thread = threading.Thread(target=self._loop, name="quiz-sweep", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        wait = random.uniform(0, self.interval)  # noqa: S311 - spreading load, not security
        while not self._stop.wait(wait):
            try:
                closed = close_expired_once(self.settings)
                if closed:
                    log.info("quiz sweep graded %d expired attempt(s)", closed)
            except Exception:  # a database hiccup must not end the loop; next round retries
                log.exception("quiz sweep failed")
            self.runs += 1
            wait = self.interval

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the loop to end and wait for a sweep in progress to finish (up to `timeout`)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def start_sweeper(settings: Settings) -> Sweeper | None:
    """The sweep thread, or None when `quiz_sweep_seconds` is 0."""
    if settings.quiz_sweep_seconds <= 0:
        return None
    return Sweeper(settings, settings.quiz_sweep_seconds).start()


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """The app's lifespan: the sweep runs while the worker serves, and stops at shutdown."""
    sweeper = start_sweeper(get_settings())
    try:
        yield
    finally:
        if sweeper is not None:
            sweeper.stop()
