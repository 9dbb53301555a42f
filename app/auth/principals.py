"""A per-process cache of resolved callers, so that a request with a known credential resolves
without a database query.

An entry maps the hash of a bearer token or session cookie to the `Principal` behind it, for at
most `LMS_PRINCIPAL_CACHE_SECONDS` (300 s by default; 0 turns the cache off), and never past the
credential's own expiry, a session's idle limit or the minute after which a session's
`last_seen_at` is written again.

Invalidation is explicit and automatic at once: every unit of work that changes who a credential
stands for is watched here, whatever code path does it, and the cache forgets after the commit:
- an ORM flush that changes a user (deactivation, pseudonymising, name, password), adds or removes
  a role, or deletes a session or API token forgets that user's entries;
- a bulk statement on those tables (`delete(WebSession)...`, an expiry moved by UPDATE, a roster
  import's role INSERT) forgets every entry, except a session's last_seen_at touch (marked
  `UNAFFECTED`).
A resolution that was running while an invalidation happened is not stored (a generation count),
so a read from before a change cannot be cached after it.

Other processes (the second `lms serve` worker, another server, the CLI) learn of the same
changes through the invalidation feed (app/core/invalidation.py, topic "principal"): the commit
writes which users changed, and every web process forgets them within about a second. While a
process's feed is not current, its entries are trusted for 5 s at most.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from app.core import invalidation

if TYPE_CHECKING:
    from app.auth.service import Principal

MAX_ENTRIES = 50_000
USERS_TABLE = "user_account"
# Tables whose rows decide what a credential stands for, and the changes that matter.
_WATCHED_STATEMENTS = {
    "user_account": ("update", "delete"),
    "user_role": ("insert", "update", "delete"),
    "web_session": ("update", "delete"),
    "api_token": ("update", "delete"),
}
# An execution option for the statements known not to change who a credential stands for (a
# session's last_seen_at touch), so they do not empty the cache.
UNAFFECTED = "principal_cache_unaffected"
_ALL = -1  # "forget every entry", in a session's pending set
_PENDING = "principals_forget"  # Session.info key: user ids (or _ALL) to forget after commit


@dataclass(frozen=True, slots=True)
class Entry:
    principal: Principal
    stored_at: float  # time.monotonic()
    fresh_until: float  # time.monotonic()
    expires_at: dt.datetime  # the credential's own expiry
    idle_until: dt.datetime | None  # a session: last_seen_at + idle limit
    touch_after: dt.datetime | None  # a session: when last_seen_at is due to be written again


class PrincipalCache:
    """Credential hash -> Entry, bounded in size and lifetime; safe across threads."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()
        self.generation = 0  # bumped by every invalidation

    def get(self, key: str, now: dt.datetime) -> Principal | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        clock = time.monotonic()
        if (
            entry.fresh_until <= clock
            or not invalidation.trusted(entry.stored_at, clock)
            or entry.expires_at <= now
            or (entry.idle_until is not None and entry.idle_until <= now)
            or (entry.touch_after is not None and entry.touch_after <= now)
        ):
            self._entries.pop(key, None)
            return None
        return entry.principal

    def put(self, key: str, entry: Entry, generation: int) -> None:
        """Store unless an invalidation happened since `generation` was read."""
        with self._lock:
            if generation != self.generation:
                return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.pop(next(iter(self._entries)))  # the oldest
            self._entries[key] = entry

    def forget(self, user_ids: set[int]) -> None:
        with self._lock:
            self.generation += 1
            if _ALL in user_ids:
                self._entries.clear()
                return
            for key in [k for k, e in self._entries.items() if e.principal.user_id in user_ids]:
                del self._entries[key]

    def clear(self) -> None:
        self.forget({_ALL})

    def __len__(self) -> int:
        return len(self._entries)


cache = PrincipalCache()


def entry_for(
    principal: Principal,
    lifetime: float,
    expires_at: dt.datetime,
    idle_until: dt.datetime | None = None,
    touch_after: dt.datetime | None = None,
) -> Entry:
    clock = time.monotonic()
    return Entry(principal, clock, clock + lifetime, expires_at, idle_until, touch_after)


# --- invalidation: watch every unit of work, forget after its commit ------------------------------


def _pending(session: Session) -> set[int]:
    found: set[int] | None = session.info.get(_PENDING)
    if found is None:
        found = session.info[_PENDING] = set()
    return found


def forget_after_commit(session: Session, user_id: int | None = None) -> None:
    """Forget a user's entries (None: all) once `session` commits."""
    _pending(session).add(_ALL if user_id is None else user_id)


@event.listens_for(Session, "after_flush")
def _watch_flush(session: Session, _context: UOWTransaction) -> None:
    for obj in chain(session.dirty, session.deleted):
        table = getattr(type(obj), "__tablename__", None)
        if table == USERS_TABLE:
            _pending(session).add(obj.id)
        elif table == "user_role" or (
            table in ("web_session", "api_token") and obj in session.deleted
        ):
            _pending(session).add(obj.user_id)
    for obj in session.new:
        if getattr(type(obj), "__tablename__", None) == "user_role":
            _pending(session).add(obj.user_id)


@event.listens_for(Session, "do_orm_execute")
def _watch_statements(state: ORMExecuteState) -> None:
    if state.is_select or state.execution_options.get(UNAFFECTED):
        return
    statement: Any = state.statement
    table = getattr(getattr(statement, "table", None), "name", None)
    changes = _WATCHED_STATEMENTS.get(table or "")
    if not changes:
        return
    kind = "insert" if state.is_insert else "update" if state.is_update else "delete"
    if kind in changes:
        _pending(state.session).add(_ALL)


@event.listens_for(Session, "after_commit")
def _forget_committed(session: Session) -> None:
    pending: set[int] | None = session.info.pop(_PENDING, None)
    if pending:
        cache.forget(pending)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


# --- other processes: the invalidation feed -------------------------------------------------------


def _pending_keys(session: Session) -> list[str | None]:
    pending: set[int] | None = session.info.get(_PENDING)
    if not pending:
        return []
    return [None if user_id == _ALL else str(user_id) for user_id in pending]


def _forget_keys(keys: list[str | None]) -> None:
    cache.forget({_ALL if key is None else int(key) for key in keys})


invalidation.register("principal", _pending_keys, _forget_keys)
