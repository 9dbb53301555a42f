"""Who and where, for audit entries written deep inside services: a context variable set per
request by a tiny ASGI middleware (the client address as auth sees it, the request id) and the
request's state, where `resolve_principal` later puts the caller.

Context variables set here reach the sync routes too: Starlette runs them in worker threads with
a copy of this context.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from app.core.asgi import HttpMiddleware
from app.core.config import get_settings


@dataclass(slots=True)
class RequestInfo:
    address: str | None
    state: dict[str, Any]  # the request's state dict (request_id, principal once resolved)

    @property
    def request_id(self) -> str | None:
        value = self.state.get("request_id")
        return value if isinstance(value, str) else None

    @property
    def actor_id(self) -> int | None:
        principal = self.state.get("principal")
        user_id = getattr(principal, "user_id", None)
        return user_id if isinstance(user_id, int) else None


_current: ContextVar[RequestInfo | None] = ContextVar("audit_request", default=None)


def current() -> RequestInfo | None:
    return _current.get()


def client_address(scope: Scope) -> str:
    """The caller's address exactly as login throttling takes it (X-Forwarded-For only when
    LMS_TRUST_FORWARDED_FOR says a proxy sets it)."""
    from app.auth.dependencies import client_address as auth_address

    return auth_address(Request(scope), get_settings())


class AuditContextMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.setdefault("state", {})
        token = _current.set(RequestInfo(client_address(scope), state))
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)
