"""FastAPI dependencies: the request's database session, the caller, roles and CSRF checks.

Object-level checks live in `policy`; routes ask for `CurrentPrincipal` and a loader, never ids raw.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.auth import service
from app.auth.service import Principal
from app.core.config import Settings, get_settings
from app.core.db import session_scope
from app.core.errors import CSRFFailed, Forbidden, NotAuthenticated

SESSION_COOKIE = "lms_session"
ANON_COOKIE = "lms_anon"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


async def database_slot() -> AsyncIterator[None]:
    """Admit at most as many requests to the database as the pool has connections.

    Waiting here costs no worker thread. Without it, under a burst (200 quiz submits at once) a
    request holds its connection between thread-pool steps while the threads are taken by
    requests waiting for a connection: all stall until the pool's timeout gives 500s.
    """
    loop = asyncio.get_running_loop()
    slot = _slots.get(loop)
    if slot is None:
        settings = get_settings()
        slot = _slots[loop] = asyncio.Semaphore(settings.db_pool_size + settings.db_max_overflow)
    async with slot:
        yield


def get_db(
    request: Request, _slot: Annotated[None, Depends(database_slot, scope="function")]
) -> Iterator[Session]:
    """One session per request: committed when the route returns, rolled back on any error.
    Kept on request.state so the page shell (the bell's count) reads with it too."""
    with session_scope() as session:
        request.state.db = session
        try:
            yield session
        finally:
            request.state.db = None


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


def resolve_principal(request: Request, db: SessionDep, settings: SettingsDep) -> Principal | None:
    """The caller from a bearer token or a session cookie (sync: database work off the loop)."""
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    principal: Principal | None = None
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        principal = service.resolve_api_token(db, auth[7:].strip())
        if principal is None:
            raise NotAuthenticated("Token API tidak sah atau kedaluwarsa.", code="invalid_token")
    elif cookie := request.cookies.get(SESSION_COOKIE):
        principal = service.resolve_session(db, cookie, settings)
    request.state.principal = principal
    request.state.user_id = principal.user_id if principal else None
    return principal


async def get_principal(
    request: Request,
    settings: SettingsDep,
    principal: Annotated[Principal | None, Depends(resolve_principal)],
) -> Principal | None:
    """The caller; a cookie caller's state-changing request must carry its CSRF token.

    Async only to read the form body; it does no database work (that would block the loop).
    """
    if principal is not None and principal.via == "session":
        await _check_csrf(request, settings)
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(get_principal)]


async def verify_csrf(
    request: Request, settings: SettingsDep, principal: OptionalPrincipal
) -> None:
    """For forms anyone may post (login, language): session callers were checked already."""
    if principal is None or principal.via != "session":
        await _check_csrf(request, settings)


async def require_principal(principal: OptionalPrincipal) -> Principal:
    if principal is None:
        raise NotAuthenticated("Silakan masuk terlebih dahulu.")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(require_principal)]


def require_roles(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """Dependency factory: the caller must hold one of `roles` (403 otherwise)."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any(*roles):
            raise Forbidden(
                "Anda tidak berwenang membuka halaman atau data ini.", code="forbidden_role"
            )
        return principal

    return dependency


AdminPrincipal = Annotated[Principal, Depends(require_roles("admin"))]
