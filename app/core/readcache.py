"""Per-process caches of values read from a few tables, forgotten when those tables change.

A `WatchedCache` names the tables its values come from. Every unit of work is watched (ORM
flushes and DML statements, whatever code runs them): when one that changed a watched table
commits, the caches of that table forget everything. A value computed while such a change was
committing is not stored (a generation count). Changes made by other processes are not seen
here: an entry lives at most `lifetime()` seconds, so they show within that time.

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
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        _caches.append(self)

    def get(self, key: Hashable) -> Any | None:
        found = self._entries.get(key)
        if found is None:
            return None
        if found[0] <= time.monotonic():
            self._entries.pop(key, None)
            return None
        return found[1]

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
            self._entries[key] = (time.monotonic() + lifetime, value)

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
        for cache in _caches:
            if cache.tables & changed:
                cache.clear()


@event.listens_for(Session, "after_rollback")
def _drop_changes(session: Session) -> None:
    session.info.pop(_CHANGED, None)
