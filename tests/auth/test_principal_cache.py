"""The per-process principal cache (app/auth/principals.py): a known credential resolves without
a query, and every change of who a credential stands for is seen by the very next request —
logout, password change, role change, deactivation — whichever code path made it."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import delete, text, update

from app.accounts.models import UserRole
from app.auth import principals
from app.auth.models import ApiToken
from app.auth.service import Principal
from app.core.config import get_settings
from app.core.db import get_engine, session_scope, utcnow
from tests.factories import PASSWORD, api_token, browser_login, make_user
from tests.queries import count_queries

CREDENTIAL_TABLES = ("api_token", "web_session")


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    principals.cache.clear()


def _credential_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if any(t in s for t in CREDENTIAL_TABLES)]


async def test_a_known_token_resolves_without_a_query(client: httpx.AsyncClient) -> None:
    user = make_user()
    headers = await api_token(client, user.email)
    with count_queries() as first:
        assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    with count_queries() as second:
        assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    assert len(_credential_reads(first)) == 1  # token, user and roles in one query
    assert _credential_reads(second) == []


async def test_a_session_resolves_from_the_cache_and_still_gets_touched(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user()
    await browser_login(client, user.email)
    with count_queries() as cached:
        assert (await client.get("/api/v1/me")).status_code == 200
    assert _credential_reads(cached) == []
    # A minute later the entry no longer answers: the database path writes last_seen_at.
    later = utcnow() + dt.timedelta(seconds=61)
    monkeypatch.setattr("app.auth.service.utcnow", lambda: later)
    monkeypatch.setattr("app.auth.dependencies.utcnow", lambda: later)
    with count_queries() as touched:
        assert (await client.get("/api/v1/me")).status_code == 200
    assert any(s.lstrip().upper().startswith("UPDATE WEB_SESSION") for s in touched)


async def test_logout_is_seen_at_once(client: httpx.AsyncClient) -> None:
    user = make_user()
    csrf = await browser_login(client, user.email)
    cookie = client.cookies["lms_session"]
    assert (await client.get("/api/v1/me")).status_code == 200  # cached now
    assert (await client.post("/logout", data={"csrf_token": csrf})).status_code == 303
    client.cookies.set("lms_session", cookie)  # the old cookie, replayed
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_password_change_ends_the_other_credentials_at_once(
    client: httpx.AsyncClient,
) -> None:
    user = make_user()
    kept = await api_token(client, user.email)
    other = await api_token(client, user.email)
    assert (await client.get("/api/v1/me", headers=other)).status_code == 200  # cached
    r = await client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "Sandi-Baru-yang-Kuat-2026!"},
        headers=kept,
    )
    assert r.status_code == 204, r.text
    assert (await client.get("/api/v1/me", headers=other)).status_code == 401
    assert (await client.get("/api/v1/me", headers=kept)).status_code == 200


async def test_role_change_is_seen_at_once(client: httpx.AsyncClient) -> None:
    admin = make_user(roles=("admin",))
    user = make_user()
    admin_headers = await api_token(client, admin.email)
    headers = await api_token(client, user.email)
    assert (await client.get("/api/v1/users", headers=headers)).status_code == 403  # cached
    r = await client.patch(
        f"/api/v1/users/{user.id}", json={"roles": ["admin"]}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    assert (await client.get("/api/v1/users", headers=headers)).status_code == 200
    r = await client.patch(
        f"/api/v1/users/{user.id}", json={"roles": ["learner"]}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    assert (await client.get("/api/v1/users", headers=headers)).status_code == 403


async def test_deactivation_is_seen_at_once(client: httpx.AsyncClient) -> None:
    admin = make_user(roles=("admin",))
    user = make_user()
    admin_headers = await api_token(client, admin.email)
    headers = await api_token(client, user.email)
    await browser_login(client, user.email)
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200  # cached
    assert (await client.get("/api/v1/me")).status_code == 200  # the session too
    r = await client.patch(
        f"/api/v1/users/{user.id}", json={"is_active": False}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_bulk_statements_in_any_unit_of_work_invalidate(client: httpx.AsyncClient) -> None:
    """A job or the CLI deleting tokens or roles with Core statements is seen too."""
    user = make_user(roles=("learner", "admin"))
    headers = await api_token(client, user.email)
    assert (await client.get("/api/v1/users", headers=headers)).status_code == 200
    with session_scope() as session:
        session.execute(
            delete(UserRole).where(UserRole.user_id == user.id, UserRole.role == "admin")
        )
    assert (await client.get("/api/v1/users", headers=headers)).status_code == 403
    with session_scope() as session:
        session.execute(update(ApiToken).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401


async def test_a_rolled_back_change_keeps_the_cache(client: httpx.AsyncClient) -> None:
    user = make_user()
    headers = await api_token(client, user.email)
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    entries = len(principals.cache)
    with pytest.raises(RuntimeError), session_scope() as session:
        session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
        raise RuntimeError("abandoned")
    assert len(principals.cache) == entries
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200


async def test_changes_outside_any_session_are_seen_within_the_lifetime(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process (raw SQL here) cannot reach this cache: its change shows once the entry's
    lifetime (LMS_PRINCIPAL_CACHE_SECONDS) has passed."""
    user = make_user()
    headers = await api_token(client, user.email)
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    with get_engine().begin() as connection:
        connection.execute(text("DELETE FROM api_token WHERE user_id = :u"), {"u": user.id})
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200  # still cached
    clock = principals.time.monotonic() + get_settings().principal_cache_seconds + 0.1
    monkeypatch.setattr(principals.time, "monotonic", lambda: clock)
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401


def test_a_resolution_racing_an_invalidation_is_not_stored() -> None:
    cache = principals.PrincipalCache()
    who = Principal(7, "Dewi", frozenset({"learner"}), via="token")
    entry = principals.entry_for(who, 5.0, utcnow() + dt.timedelta(hours=1))
    generation = cache.generation  # read before the database
    cache.forget({7})  # a change committed meanwhile
    cache.put("hash", entry, generation)
    assert cache.get("hash", utcnow()) is None
    cache.put("hash", entry, cache.generation)
    assert cache.get("hash", utcnow()) == who
    cache.forget({8})
    assert cache.get("hash", utcnow()) == who  # another user's change keeps this entry
    cache.forget({7})
    assert cache.get("hash", utcnow()) is None


def test_expired_credentials_never_answer_from_the_cache() -> None:
    cache = principals.PrincipalCache()
    who = Principal(7, "Dewi", frozenset(), via="token")
    soon = utcnow() + dt.timedelta(seconds=1)
    cache.put("hash", principals.entry_for(who, 60.0, soon), cache.generation)
    assert cache.get("hash", utcnow()) == who
    assert cache.get("hash", soon) is None


async def test_zero_lifetime_turns_the_cache_off(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "principal_cache_seconds", 0.0)
    user = make_user()
    headers = await api_token(client, user.email)
    for _ in range(2):
        with count_queries() as statements:
            assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
        assert len(_credential_reads(statements)) == 1
    assert len(principals.cache) == 0
