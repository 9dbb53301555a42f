"""Per-process caches of values read from a few tables, forgotten when those tables change.

A `WatchedCache` names the tables its values come from. Every unit of work is watched (ORM
flushes and DML statements, whatever code runs them): when one that changed a watched table
commits, the caches of that table forget everything. A value computed while such a change was
committing is not stored (a generation count). Other processes learn of the change through the
invalidation feed (app/core/invalidation.py, topic "table": the names of the watched tables a
commit changed) within about a second; while this process's feed is not current, an entry is
trusted for 5 s at most. Otherwise an entry lives `lifetime()` seconds.

The principal cache (app/auth/principals.py) is the same idea with per-user invalidation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from itertools import chain
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from app.core import invalidation

_CHANGED = "readcache_changed"  # Session.info key: names of the tables changed so far


class WatchedCache:
    def __init__(
        self, name: str, tables: set[str], lifetime: Callable[[], float], max_entries: int = 2000
    ) -> None:
        self.name = name
        self.tables = frozenset(tables)
        self.lifetime = lifetime
        self.max_entries = max_entries
        self.generation = 0
        self._entries: dict[Hashable, tuple[float, float, Any]] = {}  # expiry, stored, value
        self._lock = threading.Lock()
        _caches.append(self)

    def get(self, key: Hashable) -> Any | None:
        found = self._entries.get(key)
        if found is None:
            return None
        clock = time.monotonic()
        if found[0] <= clock or not invalidation.trusted(found[1], clock):
            self._entries.pop(key, None)
            return None
        return found[2]

    def put(self, key: Hashable, value: Any, generation: int) -> None:
        """Store unless the tables changed since `generation` was read (or caching is off)."""
        lifetime = self.lifetime()
        if lifetime <= 0:
            return
        with self._lock:
            if generation != self.generation:
                return
            if len(self._entries) >= self.max_entries:
                self._entries.pop(next(iter(self._entries)))
            clock = time.monotonic()
            self._entries[key] = (clock + lifetime, clock, value)

    def changed_in(self, session: Session) -> bool:
        """Whether `session`'s open unit of work wrote one of this cache's tables: it must neither
        trust the cache nor store what it reads (the change may still be rolled back)."""
        changed: set[str] | None = session.info.get(_CHANGED)
        return bool(changed and not self.tables.isdisjoint(changed))

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


_caches: list[WatchedCache] = []


def _changed(session: Session) -> set[str]:
    found: set[str] | None = session.info.get(_CHANGED)
    if found is None:
        found = session.info[_CHANGED] = set()
    return found


@event.listens_for(Session, "after_flush")
def _watch_flush(session: Session, _context: UOWTransaction) -> None:
    for obj in chain(session.new, session.dirty, session.deleted):
        table = getattr(type(obj), "__tablename__", None)
        if table:
            _changed(session).add(table)


@event.listens_for(Session, "do_orm_execute")
def _watch_statements(state: ORMExecuteState) -> None:
    if state.is_select:
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if table:
        _changed(state.session).add(table)


@event.listens_for(Session, "after_commit")
def _forget_committed(session: Session) -> None:
    changed: set[str] | None = session.info.pop(_CHANGED, None)
    if changed:
        _clear_tables(changed)


def clear_all() -> None:
    """Empty every cache (tests wipe the tables without a unit of work)."""
    _clear_tables(None)


def _clear_tables(tables: set[str] | None) -> None:
    """Empty the caches that read any of `tables` (None: every cache)."""
    for cache in _caches:
        if tables is None or cache.tables & tables:
            cache.clear()


@event.listens_for(Session, "after_rollback")
def _drop_changes(session: Session) -> None:
    session.info.pop(_CHANGED, None)


# --- other processes: the invalidation feed -------------------------------------------------------


def _pending_tables(session: Session) -> list[str | None]:
    changed: set[str] | None = session.info.get(_CHANGED)
    if not changed:
        return []
    watched = set().union(*(cache.tables for cache in _caches)) if _caches else set()
    tables: list[str | None] = [*sorted(changed & watched)]
    return tables


def _forget_tables(keys: list[str | None]) -> None:
    _clear_tables(None if None in keys else {key for key in keys if key is not None})


invalidation.register("table", _pending_tables, _forget_tables)
