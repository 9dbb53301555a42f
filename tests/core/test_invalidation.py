"""The cache invalidation feed (app/core/invalidation.py): a commit that changes who a credential
stands for, or a table a read cache reads, writes its invalidation in the same transaction, and
every other process's feed applies it at its next read."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import insert, select

from app.accounts.models import User
from app.auth import principals
from app.auth.service import Principal
from app.core import invalidation, readcache
from app.core.db import get_engine, session_scope, utcnow
from tests.factories import api_token, make_user

TABLE = invalidation.CacheInvalidation.__table__
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _empty_caches() -> Iterator[None]:
    principals.cache.clear()
    yield
    principals.cache.clear()
    invalidation._feed = None


def _rows() -> list[tuple[str, str | None, str]]:
    with get_engine().connect() as connection:
        found = connection.execute(
            select(TABLE.c.topic, TABLE.c.key, TABLE.c.origin).order_by(TABLE.c.id)
        )
        return [tuple(row) for row in found]  # type: ignore[misc]


def _from_elsewhere(topic: str, key: str | None) -> None:
    """A row as another process's commit writes it."""
    with get_engine().begin() as connection:
        connection.execute(
            insert(TABLE).values(
                topic=topic, key=key, origin="elsewhere:1:abcd", created_at=utcnow()
            )
        )


def _entry(user_id: int, lifetime: float = 300.0) -> principals.Entry:
    who = Principal(user_id, "Dewi", frozenset({"learner"}), via="token")
    return principals.entry_for(who, lifetime, utcnow() + dt.timedelta(hours=1))


def test_a_commit_writes_its_invalidations_and_a_rollback_writes_none() -> None:
    user = make_user()
    before = len(_rows())
    with pytest.raises(RuntimeError), session_scope() as session:
        session.get(User, user.id).name = "Nama Batal"  # type: ignore[union-attr]
        session.flush()
        raise RuntimeError("abandoned")
    assert len(_rows()) == before
    with session_scope() as session:
        session.get(User, user.id).is_active = False  # type: ignore[union-attr]
    mine = invalidation.origin()
    assert set(_rows()[before:]) == {
        ("principal", str(user.id), mine), ("table", "user_account", mine)
    }  # fmt: skip


def test_a_savepoint_writes_with_the_outer_commit_once() -> None:
    user = make_user()
    before = len(_rows())
    with session_scope() as session:
        with session.begin_nested():
            session.get(User, user.id).name = "Nama Baru"  # type: ignore[union-attr]
        assert len(_rows()) == before  # nothing yet: the transaction is open
        session.get(User, user.id).name = "Nama Lain"  # type: ignore[union-attr]
    written = [r[:2] for r in _rows()[before:]]
    assert sorted(written) == [("principal", str(user.id)), ("table", "user_account")]


def test_work_that_changes_no_cached_table_writes_nothing() -> None:
    make_user()
    before = len(_rows())
    with session_scope() as session:
        session.execute(select(User.id)).all()
    assert len(_rows()) == before


def test_the_feed_applies_other_processes_invalidations_not_its_own() -> None:
    feed = invalidation.Feed(1.0)
    feed.poll_once()  # the first read forgets everything; later ones only what is new
    principals.cache.put("seven", _entry(7), principals.cache.generation)
    principals.cache.put("eight", _entry(8), principals.cache.generation)
    _from_elsewhere("principal", "7")
    with get_engine().begin() as connection:  # this process's own row: already applied locally
        connection.execute(
            insert(TABLE).values(
                topic="principal", key="8", origin=invalidation.origin(), created_at=utcnow()
            )
        )
    assert feed.poll_once() == 1
    assert principals.cache.get("seven", utcnow()) is None
    assert principals.cache.get("eight", utcnow()) is not None
    assert feed.poll_once() == 0  # a row is applied once
    _from_elsewhere("principal", None)  # "every user" (a bulk statement elsewhere)
    assert feed.poll_once() == 1
    assert principals.cache.get("eight", utcnow()) is None


def test_read_caches_hear_of_tables_changed_elsewhere() -> None:
    cache = readcache.WatchedCache("test_feed", {"course"}, lambda: 300.0)
    other = readcache.WatchedCache("test_feed_other", {"opd"}, lambda: 300.0)
    try:
        feed = invalidation.Feed(1.0)
        feed.poll_once()
        cache.put("k", "value", cache.generation)
        other.put("k", "value", other.generation)
        _from_elsewhere("table", "course")
        feed.poll_once()
        assert cache.get("k") is None
        assert other.get("k") == "value"
    finally:
        readcache._caches.remove(cache)
        readcache._caches.remove(other)


def test_entries_older_than_five_seconds_need_a_current_feed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feed = invalidation.Feed(1.0)
    feed.poll_once()
    principals.cache.put("seven", _entry(7), principals.cache.generation)
    later = principals.time.monotonic() + invalidation.UNWATCHED_SECONDS + 1
    monkeypatch.setattr(invalidation, "_feed", feed)
    monkeypatch.setattr(principals.time, "monotonic", lambda: later)
    feed.last_ok_started = later - 0.5  # read half a second ago: current
    assert principals.cache.get("seven", utcnow()) is not None
    feed.last_ok_started = later - 10  # the database went away: the feed is late
    assert principals.cache.get("seven", utcnow()) is None


def test_a_gap_in_the_feed_forgets_everything() -> None:
    feed = invalidation.Feed(1.0)
    feed.poll_once()
    principals.cache.put("seven", _entry(7), principals.cache.generation)
    assert feed.last_ok_started is not None
    feed.last_ok_started -= invalidation.WINDOW_SECONDS  # rows may have left the window since
    feed.poll_once()
    assert principals.cache.get("seven", utcnow()) is None


def test_old_rows_are_deleted() -> None:
    with get_engine().begin() as connection:
        connection.execute(
            insert(TABLE).values(
                topic="principal", key="1", origin="elsewhere:1:abcd",
                created_at=utcnow() - dt.timedelta(seconds=invalidation.KEEP_SECONDS + 60),
            )
        )  # fmt: skip
    _from_elsewhere("principal", "2")
    invalidation.Feed(1.0).poll_once()
    assert [r[1] for r in _rows()] == ["2"]


async def test_a_deactivation_in_another_process_reaches_this_one(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real second process (a Python child with the same settings) deactivates the user; this
    process's cached token answers until its feed reads, then no more."""
    user = make_user()
    headers = await api_token(client, user.email)
    feed = invalidation.Feed(1.0)
    feed.poll_once()
    monkeypatch.setattr(invalidation, "_feed", feed)
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    script = textwrap.dedent(f"""
        from app.accounts.models import User
        from app.core.db import session_scope
        with session_scope() as session:
            session.get(User, {user.id}).is_active = False
    """)
    subprocess.run([sys.executable, "-c", script], cwd=REPO, env=os.environ.copy(), check=True,
                   timeout=120)  # fmt: skip
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200  # cached here
    assert feed.poll_once() >= 1
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
