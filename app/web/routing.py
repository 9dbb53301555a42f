"""Routes that cost one thread-pool hop: a sync route runs, and commits its unit of work, in a
single worker thread.

FastAPI runs every sync dependency, the sync route and its response validation in the thread
pool one after the other; with the request's database session (a generator: open, then commit)
and the caller's resolution that was five hops per request, each a context switch and a wait for
the GIL under load. Here the session and the caller's cache lookup are async (no I/O,
app/auth/dependencies.py), and `Route` turns a sync endpoint into an async one that makes a
single hop for the endpoint and the commit; the response is then validated on the event loop.

Every router of the app is a `Router` (an `APIRouter` whose routes are `Route`s). Dependencies
that do database work stay sync (their own hop): they are few and off the hot paths.
"""

from __future__ import annotations

import contextvars
import inspect
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

# The request's unit of work (set by app.auth.dependencies.get_db for the request's task).
request_session: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
    "request_session", default=None
)


def end_unit_of_work(session: Session, commit: bool) -> None:
    """Commit (or roll back) and close: a request's last database work, in a worker thread."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _run_and_commit(endpoint: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    result = endpoint(**kwargs)
    session = request_session.get()
    if session is not None and session.in_transaction():
        session.commit()  # an error here reaches get_db, which rolls back
    return result


def one_hop(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """An async endpoint with `endpoint`'s signature, name and docs that runs it and commits the
    request's session in one worker thread. No `__wrapped__`: FastAPI must see a coroutine."""

    async def call(**kwargs: Any) -> Any:
        return await run_in_threadpool(_run_and_commit, endpoint, kwargs)

    call.__signature__ = inspect.signature(endpoint, eval_str=True)  # type: ignore[attr-defined]
    for attribute in ("__name__", "__qualname__", "__doc__", "__module__"):
        setattr(call, attribute, getattr(endpoint, attribute))
    return call


def _is_sync(endpoint: Callable[..., Any]) -> bool:
    return not (
        inspect.iscoroutinefunction(endpoint)
        or inspect.isasyncgenfunction(endpoint)
        or inspect.isgeneratorfunction(endpoint)
    )


class Route(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, one_hop(endpoint) if _is_sync(endpoint) else endpoint, **kwargs)


class Router(APIRouter):
    """The app's `APIRouter`: its routes are `Route`s."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", Route)
        super().__init__(**kwargs)
