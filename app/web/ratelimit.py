"""Request rate limits with the `limits` library: per client address, per account tried and
per API token, counted in `LMS_RATE_LIMIT_STORAGE_URL` (memory:// in one process, redis:// shared
by every process and host).

Two ways in: `limited(...)` is a route dependency for the authentication, activation, password
and verification endpoints; `ApiRateLimitMiddleware` puts the general limit on every /api/v1
request. Over a limit: 429 with Retry-After and the project's error shape (`Throttled`).
If the counter store is unreachable the request is let through and a warning logged: the
limiter must never take the LMS down with it.

The database-backed login-failure lockout (app/auth/service.py) stays: it counts *failures*
per account across processes even without Redis; these limits count *requests*.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

from anyio import to_thread
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    RateLimiter,
)
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth.dependencies import SESSION_COOKIE, client_address
from app.core.config import Settings, get_settings
from app.core.errors import Throttled
from app.core.i18n import gettext_ as _

log = logging.getLogger("lms.ratelimit")

API_PREFIX = "/api/v1/"

_lock = threading.Lock()
_limiters: dict[tuple[str, str], tuple[Storage, RateLimiter]] = {}
_warned_at = 0.0


class SweptMemoryStorage(MemoryStorage):
    """limits' memory store without its timer thread per request.

    MemoryStorage sweeps expired counters from a `threading.Timer(0.01)` that it starts again on
    a hit whenever the last one has fired: under steady load that is a new thread for almost
    every request (1-2 ms of CPU each on our 2-core machine, more than the rest of the check).
    Here the same sweep runs inline, at most once a second; counting is unchanged.
    """

    STORAGE_SCHEME = ["lms-memory"]  # noqa: RUF012 - the base class type; never picked by URL: _limiter makes it for memory://

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()
        self._next_sweep = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # the base class's private hook
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + 1.0
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


@lru_cache(maxsize=64)
def _items(spec: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(spec))


def _limiter(settings: Settings) -> RateLimiter:
    """One storage and limiter per (storage URL, strategy), shared by every request."""
    key = (settings.rate_limit_storage_url, settings.rate_limit_strategy)
    with _lock:
        found = _limiters.get(key)
        if found is None:
            options: dict[str, Any] = {}
            if key[0].startswith(("redis://", "rediss://")):
                # A Redis that stops answering costs a request one second, not a hang.
                options = {"socket_connect_timeout": 1, "socket_timeout": 1}
            storage = (
                SweptMemoryStorage()
                if _is_async_safe(settings)
                else storage_from_string(key[0], **options)
            )
            if not isinstance(storage, Storage):
                raise ValueError("LMS_RATE_LIMIT_STORAGE_URL must name a synchronous store")
            limiter: RateLimiter = (
                MovingWindowRateLimiter(storage)
                if key[1] == "moving-window"
                else FixedWindowRateLimiter(storage)
            )
            found = (storage, limiter)
            _limiters[key] = found
        return found[1]


def reset(settings: Settings | None = None) -> None:
    """Forget every counter in the current store (tests; `lms` maintenance)."""
    settings = settings or get_settings()
    _limiter(settings)
    with _lock:
        storage, _l = _limiters[(settings.rate_limit_storage_url, settings.rate_limit_strategy)]
    storage.reset()


def _is_async_safe(settings: Settings) -> bool:
    """memory:// never blocks; a network store is called from a worker thread."""
    return settings.rate_limit_storage_url.startswith("memory://")


def _retry_after(limiter: RateLimiter, item: RateLimitItem, identifiers: tuple[str, ...]) -> int:
    stats = limiter.get_window_stats(item, *identifiers)
    return max(1, math.ceil(stats.reset_time - time.time()))


def check(checks: list[tuple[str, str, str]], settings: Settings) -> None:
    """Count one request against each (rule, scope, key): the rule names the `rate_limit_<rule>`
    setting. Raise Throttled (429, Retry-After) at the first limit exceeded."""
    _hit([(getattr(settings, f"rate_limit_{rule}"), (rule, scope, key))
          for rule, scope, key in checks], settings)  # fmt: skip


def _hit(counters: list[tuple[str, tuple[str, ...]]], settings: Settings) -> None:
    global _warned_at
    if not settings.rate_limit_enabled:
        return
    try:
        limiter = _limiter(settings)
        for spec, identifiers in counters:
            for item in _items(spec):
                if not limiter.hit(item, *identifiers):
                    wait = _retry_after(limiter, item, identifiers)
                    raise Throttled(
                        _("Terlalu banyak permintaan. Coba lagi dalam %(value)s detik.")
                        % {"value": wait},
                        retry_after=wait,
                    )
    except Throttled:
        raise
    except Exception:  # the store is down: let the request through, say so now and then
        if time.monotonic() - _warned_at > 60:
            _warned_at = time.monotonic()
            log.warning("rate limit store unreachable; requests are not limited", exc_info=True)


async def check_async(checks: list[tuple[str, str, str]], settings: Settings) -> None:
    if _is_async_safe(settings):
        check(checks, settings)
    else:
        await to_thread.run_sync(check, checks, settings)


def _account_key(value: str) -> str:
    """A login as typed, folded: case and spaces never make a second counter."""
    folded = "".join(value.split()).lower()[:320]
    return hashlib.sha256(folded.encode()).hexdigest()[:32]


async def _field(request: Request, name: str) -> str | None:
    """A field of the request body (form or JSON), already read and cached by the route."""
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value: Any = (await request.form()).get(name)
        elif content_type.startswith("application/json"):
            body = await request.json()
            value = body.get(name) if isinstance(body, dict) else None
        else:
            return None
    except Exception:  # a broken body: the route answers it with 400/422
        return None
    return value if isinstance(value, str) and value.strip() else None


def limited(rule: str, *, account_field: str | None = None) -> Callable[[Request], Awaitable[None]]:
    """A route dependency: `rate_limit_<rule>` per client address and, with `account_field`,
    `rate_limit_<rule>_account` per account named by that body field (NIP or e-mail)."""

    async def dependency(request: Request) -> None:
        settings = get_settings()
        checks = [(rule, "address", client_address(request, settings))]
        if account_field is not None:
            value = await _field(request, account_field)
            if value is not None:
                checks.append((f"{rule}_account", "account", _account_key(value)))
        await check_async(checks, settings)

    dependency.__name__ = f"rate_limit_{rule}"
    return dependency


def verify_limit(address: str, settings: Settings) -> None:
    """Public certificate verification (pages and API): verify_rate_per_minute per address."""
    _hit([(f"{settings.verify_rate_per_minute}/minute", ("verify", "address", address))], settings)


def api_client_key(scope: Scope, settings: Settings) -> str:
    """Who an API request counts against: its bearer token, else its session, else its address."""
    headers = dict(scope.get("headers") or [])
    auth = headers.get(b"authorization", b"")
    if auth[:7].lower() == b"bearer " and len(auth) > 7:
        return "token:" + hashlib.sha256(auth[7:].strip()).hexdigest()[:32]
    cookies = headers.get(b"cookie", b"").decode("latin-1")
    for part in cookies.split(";"):
        name, _sep, value = part.strip().partition("=")
        if name == SESSION_COOKIE and value:
            return "session:" + hashlib.sha256(value.encode()).hexdigest()[:32]
    return "address:" + client_address(Request(scope), settings)


class ApiRateLimitMiddleware:
    """`rate_limit_api` on every /api/v1 request (per token, else session, else address)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        try:
            await check_async([("api", "client", api_client_key(scope, settings))], settings)
        except Throttled as exc:
            from app.web.errors import handle_lms_error

            response = await handle_lms_error(Request(scope, receive), exc)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
