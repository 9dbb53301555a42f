"""FastAPI dependencies: the request's database session, the caller, roles and CSRF checks.

Object-level checks live in `policy`; routes ask for `CurrentPrincipal` and a loader, never ids raw.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.auth import principals, service
from app.auth.service import Principal
from app.core.config import Settings, get_settings
from app.core.db import session_factory, utcnow
from app.core.errors import CSRFFailed, Forbidden, NotAuthenticated
from app.web import routing

SESSION_COOKIE = "lms_session"
ANON_COOKIE = "lms_anon"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _database_slot() -> asyncio.Semaphore:
    """Admit at most as many requests to the database as the pool keeps connections.

    Not the overflow too: SQLAlchemy closes an overflow connection when it is returned, so a
    steady load above the pool size opened and closed a PostgreSQL connection every few requests
    (a heartbeat load made one per four heartbeats); the overflow is left to the job thread and
    other work outside requests. Waiting here costs no worker thread. Without it, under a burst (200 quiz submits at once) a
    request holds its connection between thread-pool steps while the threads are taken by
    requests waiting for a connection: all stall until the pool's timeout gives 500s.
    """
    loop = asyncio.get_running_loop()
    slot = _slots.get(loop)
    if slot is None:
        settings = get_settings()
        slot = _slots[loop] = asyncio.Semaphore(settings.db_pool_size)
    return slot


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One session per request: committed when the route returns, rolled back on any error.
    Kept on request.state so the page shell (the bell's count) reads with it too.

    Opening a session does no I/O (it connects on first use), so this runs on the event loop. A
    sync route commits in its own worker thread (app/web/routing.py), so a request usually pays
    one thread-pool hop in all; only what is still open here (an async route's work, an error's
    rollback) takes another. The database slot is taken here too, not as a dependency of its own:
    every level of dependencies costs FastAPI's solver time on every request.
    """
    async with _database_slot():
        session = session_factory()()
        request.state.db = session
        token = routing.request_session.set(session)
        try:
            yield session
        except BaseException:
            await _finish(session, commit=False)
            raise
        else:
            await _finish(session, commit=True)
        finally:
            routing.request_session.reset(token)
            request.state.db = None


async def _finish(session: Session, *, commit: bool) -> None:
    if session.in_transaction():
        await run_in_threadpool(routing.end_unit_of_work, session, commit)
    else:
        session.close()  # nothing open: no I/O


SessionDep = Annotated[Session, Depends(get_db, scope="function")]


async def current_settings() -> Settings:
    """The settings; async so FastAPI does not hop to a worker thread for a cached value (the
    dependencies below without database work are async for the same reason)."""
    return get_settings()


SettingsDep = Annotated[Settings, Depends(current_settings)]


def client_address(request: Request, settings: Settings) -> str:
    """The caller's address; X-Forwarded-For only when the deployment says a proxy sets it."""
    if settings.trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:64]
    return request.client.host if request.client else "unknown"


async def _supplied_csrf(request: Request) -> str | None:
    token = request.headers.get(CSRF_HEADER)
    if token:
        return token
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # cached by Starlette; the route reads the same parsed form
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def csrf_binding(request: Request) -> str | None:
    """What the CSRF token is bound to: the session, else the anonymous pre-session cookie."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is not None and principal.session_hash:
        return principal.session_hash
    return getattr(request.state, "anon_id", None) or request.cookies.get(ANON_COOKIE)


async def _check_csrf(request: Request, settings: Settings) -> None:
    """Reject a state-changing browser request without the token of its session."""
    if request.method in SAFE_METHODS:
        return
    if not service.csrf_valid(csrf_binding(request), await _supplied_csrf(request), settings):
        raise CSRFFailed(
            "Token keamanan formulir (CSRF) tidak ada atau kedaluwarsa. Muat ulang halaman lalu "
            "coba lagi."
        )


async def resolve_principal(request: Request, db: SessionDep) -> Principal | None:
    """The caller from a bearer token or a session cookie: from this process's principal cache
    on the event loop when it knows the credential, else from the database in a worker thread.

    The principal dependencies below call this directly rather than through `Depends`: each
    level of dependencies costs FastAPI's solver time on every request."""
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    settings = get_settings()
    principal: Principal | None = None
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        principal = await _resolve(db, "token", auth[7:].strip(), settings)
        if principal is None:
            raise NotAuthenticated("Token API tidak sah atau kedaluwarsa.", code="invalid_token")
    elif cookie := request.cookies.get(SESSION_COOKIE):
        principal = await _resolve(db, "session", cookie, settings)
    request.state.principal = principal
    request.state.user_id = principal.user_id if principal else None
    return principal


async def _resolve(db: Session, kind: str, raw: str, settings: Settings) -> Principal | None:
    hit = principals.cache.get(service.token_hash(raw), utcnow())
    if hit is not None:
        return hit
    return await run_in_threadpool(service.resolve_credential, db, kind, raw, settings)


async def get_principal(request: Request, db: SessionDep) -> Principal | None:
    """The caller; a cookie caller's state-changing request must carry its CSRF token.

    Async only to read the form body; it does no database work (that would block the loop).
    """
    principal = await resolve_principal(request, db)
    if principal is not None and principal.via == "session":
        await _check_csrf(request, get_settings())
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(get_principal)]


async def verify_csrf(
    request: Request, settings: SettingsDep, principal: OptionalPrincipal
) -> None:
    """For forms anyone may post (login, language): session callers were checked already."""
    if principal is None or principal.via != "session":
        await _check_csrf(request, settings)


async def require_principal(request: Request, db: SessionDep) -> Principal:
    principal = await get_principal(request, db)
    if principal is None:
        raise NotAuthenticated("Silakan masuk terlebih dahulu.")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(require_principal)]


def require_roles(*roles: str) -> Callable[[Request, Session], Awaitable[Principal]]:
    """Dependency factory: the caller must hold one of `roles` (403 otherwise)."""

    async def dependency(request: Request, db: SessionDep) -> Principal:
        principal = await require_principal(request, db)
        if not principal.has_any(*roles):
            raise Forbidden(
                "Anda tidak berwenang membuka halaman atau data ini.", code="forbidden_role"
            )
        return principal

    return dependency


AdminPrincipal = Annotated[Principal, Depends(require_roles("admin"))]
