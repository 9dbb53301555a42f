"""Cache invalidation across processes: a change committed in one process empties the matching
entries of the per-process caches (resolved callers, read caches) of every other process within
about a second.

Writing: a cache registers a *topic* with `register(topic, pending, forget)`. `pending(session)`
returns the keys the session's unit of work invalidates so far (collected by the cache's own
Session listeners; None as a key means "everything"). Just before a top-level commit their rows
are written to `cache_invalidation` in the same transaction, so an invalidation exists exactly
when its change does.

Reading: each web process runs a `Feed` thread (started by the app's lifespan) that reads the
rows of the last few minutes every `LMS_CACHE_FEED_SECONDS` (1 s) and calls the topic's `forget`
with the keys of rows written by another process that it has not seen yet. While the feed is
current (its last successful read started less than three intervals ago) the caches may keep an
entry for their long lifetimes; when it is not — no feed in this process (the CLI, tests without
a lifespan), or the database unreachable — no entry older than `UNWATCHED_SECONDS` is trusted,
the bound before there was a feed. The feed deletes rows older than `KEEP_SECONDS`.

Not covered: a change made outside any ORM session (raw SQL from psql, another program); there
an entry lives at most the cache's lifetime.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Index, String, Table, delete, event, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core.db import Base, utcnow

log = logging.getLogger(__name__)

UNWATCHED_SECONDS = 5.0  # the longest an entry is trusted while the feed is not current
WINDOW_SECONDS = 120.0  # rows read back this far (a transaction's commit lags its row's time)
KEEP_SECONDS = 600.0  # rows older than this are deleted
CLEANUP_EVERY_SECONDS = 60.0
KEY_LENGTH = 64


class CacheInvalidation(Base):
    """One invalidation: `topic` (a registered cache family), `key` within it (None: all),
    the process that wrote it, when (the writer's clock, at its commit)."""

    __tablename__ = "cache_invalidation"
    __table_args__ = (Index("ix_cache_invalidation_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(32))
    key: Mapped[str | None] = mapped_column(String(KEY_LENGTH))
    origin: Mapped[str] = mapped_column(String(96))
    created_at: Mapped[dt.datetime]


_TABLE = cast(Table, CacheInvalidation.__table__)


@dataclass(frozen=True, slots=True)
class Topic:
    pending: Callable[[Session], Iterable[str | None]]
    forget: Callable[[list[str | None]], None]


_topics: dict[str, Topic] = {}
_WRITTEN = "cache_invalidation_written"  # Session.info: (topic, key) rows already written


def register(
    topic: str,
    pending: Callable[[Session], Iterable[str | None]],
    forget: Callable[[list[str | None]], None],
) -> None:
    _topics[topic] = Topic(pending, forget)


_origin: tuple[int, str] | None = None


def origin() -> str:
    """This process (host, pid and a random part: a forked child gets its own)."""
    global _origin
    pid = os.getpid()
    if _origin is None or _origin[0] != pid:
        _origin = (pid, f"{socket.gethostname()[:60]}:{pid}:{secrets.token_hex(4)}")
    return _origin[1]


@event.listens_for(Session, "before_commit")
def _write_rows(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint: the rows go with the outermost commit
    session.flush()  # the last flush's changes are collected by the caches' after_flush hooks
    written: set[tuple[str, str | None]] = session.info.setdefault(_WRITTEN, set())
    rows: list[dict[str, Any]] = []
    now = None
    for name, topic in _topics.items():
        for key in topic.pending(session):
            if (name, key) in written:
                continue
            written.add((name, key))
            now = now or utcnow()
            rows.append(
                {"topic": name, "key": key, "origin": origin(), "created_at": now}
            )  # fmt: skip
    if rows:
        session.execute(insert(_TABLE), rows)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _clear_written(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


# --- reading -------------------------------------------------------------------------------------


class Feed:
    """A daemon thread that applies other processes' invalidations every `interval` seconds."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.last_ok_started: float | None = None  # time.monotonic() of the last good read
        self.rounds = 0
        self._seen: dict[int, dt.datetime] = {}
        self._cleaned = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def current(self) -> bool:
        started = self.last_ok_started
        return started is not None and time.monotonic() - started < 3 * self.interval

    def poll_once(self) -> int:
        """Read the recent rows, forget what other processes invalidated; the number applied."""
        from app.core.db import get_engine

        started = time.monotonic()
        now = utcnow()
        since = now - dt.timedelta(seconds=WINDOW_SECONDS)
        engine = get_engine()
        with engine.connect() as connection:
            rows = connection.execute(
                select(
                    _TABLE.c.id, _TABLE.c.topic, _TABLE.c.key, _TABLE.c.origin, _TABLE.c.created_at
                ).where(_TABLE.c.created_at >= since)
            ).all()
        me = origin()
        keys: dict[str, list[str | None]] = {}
        last = self.last_ok_started
        if last is None or started - last > WINDOW_SECONDS / 2:
            # First read, or a gap in which rows may have left the window: forget everything.
            keys = {topic: [None] for topic in _topics}
        for row_id, topic, key, writer, created_at in rows:
            if row_id in self._seen:
                continue
            self._seen[row_id] = created_at
            if writer != me and topic in _topics:
                keys.setdefault(topic, []).append(key)
        for topic, found in keys.items():
            _topics[topic].forget(found)
        self._seen = {i: at for i, at in self._seen.items() if at >= since}
        self.last_ok_started = started
        self.rounds += 1
        if started - self._cleaned >= CLEANUP_EVERY_SECONDS:
            self._cleaned = started
            with engine.begin() as connection:
                connection.execute(
                    delete(_TABLE).where(
                        _TABLE.c.created_at < now - dt.timedelta(seconds=KEEP_SECONDS)
                    )
                )
        return sum(len(found) for found in keys.values())

    def start(self) -> Feed:
        self._thread = threading.Thread(target=self._loop, name="cache-feed", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        failing = False
        while True:
            try:
                self.poll_once()
            except Exception as exc:  # the database is away: entries fall back to 5 s
                if not failing:  # once per outage, not every second
                    log.warning("cache invalidation feed: cannot read (%s); cached callers and "
                                "answers are trusted for %.0f s only until it can",
                                type(exc).__name__, UNWATCHED_SECONDS)  # fmt: skip
                failing = True
            else:
                if failing:
                    log.info("cache invalidation feed: reading again")
                failing = False
            if self._stop.wait(self.interval):
                return

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


_feed: Feed | None = None
_users = 0
_lock = threading.Lock()


def current() -> bool:
    """Whether this process's feed is current: its caches may trust entries past
    UNWATCHED_SECONDS."""
    feed = _feed
    return feed is not None and feed.current()


def trusted(stored_at: float, now: float) -> bool:
    """Whether an entry stored at `stored_at` (time.monotonic()) may still be used, as far as
    other processes' changes go (its own lifetime is the cache's business)."""
    return now - stored_at < UNWATCHED_SECONDS or current()


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """The feed runs while an app of this process serves (one feed however many apps)."""
    global _feed, _users
    from app.core.config import get_settings

    interval = get_settings().cache_feed_seconds
    if interval <= 0:
        yield
        return
    with _lock:
        _users += 1
        if _feed is None:
            _feed = Feed(interval).start()
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            feed = _feed if _users == 0 else None
            if feed is not None:
                _feed = None
        if feed is not None:
            feed.stop()
