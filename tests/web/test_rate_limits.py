"""Request rate limits (app/web/ratelimit.py): every authentication, activation, password and
verification endpoint answers 429 with Retry-After past its limit, per client address and per
account; the general /api/v1 limit counts per token; memory:// and Redis (db 13) both count."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.core.config import Settings
from app.web import ratelimit
from tests.factories import api_token, csrf_from, make_user

pytestmark = pytest.mark.anyio

REDIS_URL = "redis://127.0.0.1:6379/13"

ClientFactory = Callable[[str], Any]


@pytest.fixture
def client_at(app: FastAPI) -> Callable[[str], Any]:
    """An HTTP client whose requests come from `address`."""

    @asynccontextmanager
    async def make(address: str) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app, client=(address, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c

    return make


# (rule, method, path, request kwargs, page?) — one row per limited endpoint.
ENDPOINTS: list[tuple[str, str, str, dict[str, Any], bool]] = [
    ("login", "POST", "/login", {"data": {"username": "a@example.go.id"}}, True),
    ("login", "POST", "/api/v1/auth/token",
     {"data": {"username": "a@example.go.id", "password": "salah-salah-salah"}}, False),
    ("sso", "GET", "/login/sso/instansi", {}, True),
    ("sso", "GET", "/auth/callback/instansi", {"params": {"code": "x", "state": "y"}}, True),
    ("activation", "GET", "/activate", {"params": {"token": "x" * 20}}, True),
    ("activation", "POST", "/activate/code", {"data": {"nip": "1", "code": "2"}}, True),
    ("activation", "POST", "/activate", {"data": {"token": "x"}}, True),
    ("activation", "POST", "/api/v1/auth/activate", {"json": {"token": "x", "password": "p"}}, False),
    ("password_reset", "POST", "/password/forgot", {"data": {"login": "a@example.go.id"}}, True),
    ("password_reset", "GET", "/password/reset", {"params": {"token": "x"}}, True),
    ("password_reset", "POST", "/password/reset", {"data": {"token": "x"}}, True),
    ("password_reset", "POST", "/me/password", {"data": {}}, True),
    ("password_reset", "POST", "/api/v1/auth/password-reset", {"json": {"login": "a@x.id"}}, False),
    ("password_reset", "POST", "/api/v1/auth/password-reset/confirm",
     {"json": {"token": "x", "password": "p"}}, False),
    ("password_reset", "POST", "/api/v1/me/password", {"json": {}}, False),
    ("verify", "GET", "/verify/" + "B" * 32, {}, True),
    ("verify", "POST", "/verify",  # a code only redirects to GET /verify/{code}: a PDF here
     {"data": {}, "files": {"file": ("a.pdf", b"%PDF-1.7", "application/pdf")}}, True),
    ("verify", "GET", "/api/v1/verify/" + "B" * 32, {}, False),
    ("verify", "POST", "/api/v1/verify/pdf",
     {"files": {"file": ("a.pdf", b"%PDF-1.7", "application/pdf")}}, False),
]  # fmt: skip


def _limit(settings: Settings, monkeypatch: pytest.MonkeyPatch, rule: str, n: int) -> None:
    if rule == "verify":
        monkeypatch.setattr(settings, "verify_rate_per_minute", n)
    else:
        monkeypatch.setattr(settings, f"rate_limit_{rule}", f"{n}/minute")


def assert_throttled(response: httpx.Response, *, page: bool) -> None:
    assert response.status_code == 429, (response.request.url.path, response.status_code)
    assert 1 <= int(response.headers["retry-after"]) <= 60
    if page:
        assert "text/html" in response.headers["content-type"]
        assert "Terlalu banyak" in response.text
    else:
        body = response.json()
        assert body["error"] == "too_many_attempts" and "Coba lagi" in body["detail"]


@pytest.mark.parametrize(
    ("rule", "method", "path", "kwargs", "page"),
    ENDPOINTS,
    ids=[f"{m} {p[:40]}" for _r, m, p, _k, _pg in ENDPOINTS],
)
async def test_each_endpoint_is_limited_per_address(
    client_at: ClientFactory, settings: Settings, monkeypatch: pytest.MonkeyPatch,
    rule: str, method: str, path: str, kwargs: dict[str, Any], page: bool,
) -> None:  # fmt: skip
    _limit(settings, monkeypatch, rule, 3)
    async with client_at("198.51.100.1") as first, client_at("198.51.100.2") as second:
        if path == "/verify":  # this form checks CSRF before it counts
            token = csrf_from((await first.get("/verify")).text)
            kwargs = {**kwargs, "data": {"csrf_token": token}}
            second.cookies.update(first.cookies)
        for _ in range(3):
            answer = await first.request(method, path, **kwargs)
            assert answer.status_code != 429, answer.text[:300]
        assert_throttled(await first.request(method, path, **kwargs), page=page)
        # another address is counted on its own
        assert (await second.request(method, path, **kwargs)).status_code != 429


@pytest.mark.parametrize(
    ("rule", "method", "path", "field", "body"),
    [
        ("login", "POST", "/api/v1/auth/token", "username", "data"),
        ("login", "POST", "/login", "username", "data"),
        ("activation", "POST", "/activate/code", "nip", "data"),
        ("activation", "POST", "/api/v1/auth/activate", "nip", "json"),
        ("password_reset", "POST", "/password/forgot", "login", "data"),
        ("password_reset", "POST", "/api/v1/auth/password-reset", "login", "json"),
    ],
)
async def test_account_limit_holds_across_addresses(
    client_at: ClientFactory, settings: Settings, monkeypatch: pytest.MonkeyPatch,
    rule: str, method: str, path: str, field: str, body: str,
) -> None:  # fmt: skip
    monkeypatch.setattr(settings, f"rate_limit_{rule}_account", "2/minute")
    extra = {"password": "salah-salah-salah"} if "token" in path or "activate" in path else {}

    def payload(account: str) -> dict[str, Any]:
        return {body: {field: account, **extra}}

    for n, address in enumerate(("192.0.2.1", "192.0.2.2")):
        async with client_at(address) as c:
            answer = await c.request(method, path, **payload("199001012020011001"))
            assert answer.status_code != 429, (n, answer.text[:200])
    async with client_at("192.0.2.3") as c:
        # The same account typed differently (case, spaces) is the same counter.
        limited = await c.request(method, path, **payload(" 199001012020011001 "))
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        other = await c.request(method, path, **payload("199001012020011002"))
        assert other.status_code != 429


async def test_general_api_limit_counts_per_token(
    client_at: ClientFactory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user(email="satu@example.go.id")
    make_user(email="dua@example.go.id")
    async with client_at("203.0.113.50") as c:
        one = await api_token(c, "satu@example.go.id")
        two = await api_token(c, "dua@example.go.id")
        monkeypatch.setattr(settings, "rate_limit_api", "3/minute")
        for _ in range(3):
            assert (await c.get("/api/v1/me", headers=one)).status_code == 200
        throttled = await c.get("/api/v1/me", headers=one)
        assert_throttled(throttled, page=False)
        # another token from the same address has its own budget
        assert (await c.get("/api/v1/me", headers=two)).status_code == 200
        # pages are outside the API limit
        assert (await c.get("/login")).status_code == 200


async def test_api_without_token_counts_per_address(
    client_at: ClientFactory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "rate_limit_api", "2/minute")
    async with client_at("203.0.113.60") as a, client_at("203.0.113.61") as b:
        for _ in range(2):
            assert (await a.get("/api/v1/verify/keys")).status_code == 200
        assert_throttled(await a.get("/api/v1/verify/keys"), page=False)
        assert (await b.get("/api/v1/verify/keys")).status_code == 200


@pytest.mark.parametrize("strategy", ["moving-window", "fixed-window"])
async def test_redis_storage_counts_across_limiters(
    client_at: ClientFactory, settings: Settings, monkeypatch: pytest.MonkeyPatch, strategy: str
) -> None:
    monkeypatch.setattr(settings, "rate_limit_storage_url", REDIS_URL)
    monkeypatch.setattr(settings, "rate_limit_strategy", strategy)
    monkeypatch.setattr(settings, "rate_limit_login", "2/minute")
    ratelimit.reset(settings)
    try:
        async with client_at("198.51.100.77") as c:
            for _ in range(2):
                assert (await c.post("/api/v1/auth/token", data={})).status_code == 422
            # Another process sharing the Redis sees the same count: drop this process's
            # limiter objects and ask again.
            ratelimit._limiters.clear()
            assert_throttled(await c.post("/api/v1/auth/token", data={}), page=False)
        import redis

        keys = redis.Redis.from_url(REDIS_URL).keys("LIMITS:*")
        assert keys, "the counters live in Redis db 13"
    finally:
        ratelimit.reset(settings)
        ratelimit._limiters.clear()


async def test_unreachable_store_lets_requests_through(
    client_at: ClientFactory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dead Redis must not take logins down: requests pass (and a warning is logged)."""
    monkeypatch.setattr(settings, "rate_limit_storage_url", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(settings, "rate_limit_login", "1/minute")
    try:
        async with client_at("198.51.100.88") as c:
            for _ in range(3):
                assert (await c.post("/api/v1/auth/token", data={})).status_code == 422
    finally:
        ratelimit._limiters.clear()


async def test_disabled_limits_never_throttle(
    client_at: ClientFactory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "rate_limit_enabled", False)
    monkeypatch.setattr(settings, "rate_limit_login", "1/minute")
    async with client_at("198.51.100.99") as c:
        for _ in range(3):
            assert (await c.post("/api/v1/auth/token", data={})).status_code == 422


def test_bad_limit_syntax_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="not like '30/minute'"):
        Settings(rate_limit_api="lots")
