"""Structured logs: one JSON line per request with request id, user id, status and duration, and
one per job run (queue task, scheduled job, outbox dispatch round, certificate bulk job) with its
job id, name, duration and outcome.

Every line logged while a request or a job runs carries its `request_id` / `job_id` (context
variables read by a logging filter), so `grep <id>` finds everything that one request or one job
did. The request middleware is a pure ASGI middleware so that streaming responses are not
buffered.
"""

from __future__ import annotations

import contextvars
import functools
import itertools
import json
import logging
import os
import secrets
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any, ParamSpec, TypeVar

from starlette.types import Message, Receive, Scope, Send

from app.core.asgi import HttpMiddleware

request_logger = logging.getLogger("lms.request")
job_logger = logging.getLogger("lms.job")

# Loggers that write JSON lines: ours ("lms.*" request and job lines) and every module of the
# app ("app.*", logging.getLogger(__name__)).
_JSON_LOGGERS = ("lms", "app")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "lms_request_id", default=None
)


@dataclass(slots=True)
class JobRun:
    """The job running in this context: its id, name and kind, the enclosing job's id (a
    certificate job inside a queue task), and fields the job adds to its closing line."""

    id: str
    name: str
    kind: str
    parent_id: str | None = None
    outcome: str | None = None  # None: "ok", or "failed" when it raised
    fields: dict[str, Any] = field(default_factory=dict)


_job: contextvars.ContextVar[JobRun | None] = contextvars.ContextVar("lms_job", default=None)


_request_started: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "lms_request_started", default=None
)


def current_request_id() -> str | None:
    return _request_id.get()


def current_request_age() -> float:
    """Seconds since the current request reached the app (0 outside a request): how long it
    waited for a database slot or a worker thread before the code asking runs."""
    started = _request_started.get()
    return time.perf_counter() - started if started is not None else 0.0


def current_job() -> JobRun | None:
    return _job.get()


class ContextFilter(logging.Filter):
    """Stamps every record with the request id and the job (id, name) of its context."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _request_id.get()
        job = _job.get()
        if job is not None and getattr(record, "job_id", None) is None:
            record.job_id = job.id
            record.job = job.name
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        payload = getattr(record, "payload", None)
        if isinstance(payload, dict):
            data.update(payload)
        else:
            data["message"] = record.getMessage()
        for key in ("request_id", "job_id", "job"):
            value = getattr(record, key, None)
            if value is not None:
                data.setdefault(key, value)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (a CLI test runner swaps it)."""

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass


def configure_logging(level: str, stream: IO[str] | None = None) -> None:
    """JSON lines on stderr (or `stream`) for the LMS's loggers at `level`."""
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.setFormatter(_JsonFormatter())
    handler.addFilter(ContextFilter())
    for name in _JSON_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
    # "lms" lines are ours alone; "app" records still reach the root logger (pytest's caplog).
    logging.getLogger("lms").propagate = False


# --- jobs ----------------------------------------------------------------------------------------


def new_job_id() -> str:
    """A time-ordered id (milliseconds since the epoch in hex, then random): sorts by start."""
    return f"{int(time.time() * 1000):012x}-{uuid.uuid4().hex[:16]}"


def job_id_time(job_id: str) -> float | None:
    """The epoch seconds a `new_job_id()` was made at; None for other ids."""
    head, _, tail = job_id.partition("-")
    if len(head) != 12 or len(tail) != 16:
        return None
    try:
        return int(head, 16) / 1000
    except ValueError:
        return None


@contextmanager
def job_context(
    name: str, *, job_id: str | None = None, kind: str = "task", quiet: bool = False,
    **fields: Any,
) -> Iterator[JobRun]:  # fmt: skip
    """Run a job in this block: every line logged inside carries its id, and one closing line
    ({"event": "job", "job_id", "job", "kind", "outcome", "duration_ms", ...}) says how it went.
    The body may set `run.outcome` ("idle", "incomplete") and add `run.fields`. The closing line
    is at INFO, WARNING when the job raised, DEBUG when `quiet` (the minute ticks) or idle."""
    parent = _job.get()
    run = JobRun(job_id or new_job_id(), name, kind, parent.id if parent else None,
                 fields=dict(fields))  # fmt: skip
    token = _job.set(run)
    started = time.perf_counter()
    failed: BaseException | None = None
    try:
        yield run
    except BaseException as exc:
        failed = exc
        raise
    finally:
        outcome = "failed" if failed is not None else (run.outcome or "ok")
        payload: dict[str, Any] = {
            "event": "job", "job_id": run.id, "job": name, "kind": kind, "outcome": outcome,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        }  # fmt: skip
        if run.parent_id:
            payload["parent_job_id"] = run.parent_id
        if failed is not None:
            payload["error"] = f"{type(failed).__name__}: {failed}"[:2000]
        payload.update(run.fields)
        if failed is not None:
            level = logging.WARNING
        elif quiet or outcome == "idle":
            level = logging.DEBUG
        else:
            level = logging.INFO
        job_logger.log(level, "job", extra={"payload": payload})
        _job.reset(token)


P = ParamSpec("P")
R = TypeVar("R")


def logged_job(
    name: str,
    *,
    kind: str = "task",
    job_id: Callable[..., str | None] | None = None,
    outcome: Callable[[Any], str | None] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: each call of the function is a job run (see `job_context`). `job_id(*args,
    **kwargs)` picks its id from the arguments (a certificate job's own id); `outcome(result)`
    names the outcome from the return value."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            chosen = job_id(*args, **kwargs) if job_id is not None else None
            with job_context(name, job_id=chosen, kind=kind) as run:
                result = fn(*args, **kwargs)
                if outcome is not None:
                    run.outcome = outcome(result)
                return result

        return wrapper

    return decorate


# --- requests ------------------------------------------------------------------------------------


_ids: tuple[str, Iterator[int]] | None = None


def _new_ids() -> None:
    global _ids
    _ids = None


os.register_at_fork(after_in_child=_new_ids)


def new_request_id() -> str:
    """32 hex digits, unique without a system call: a random prefix per process (a forked child
    draws its own) and a counter. uuid4 read the OS's random source on every request."""
    global _ids
    ids = _ids
    if ids is None:
        ids = _ids = (secrets.token_hex(8), itertools.count(1))
    return f"{ids[0]}{next(ids[1]):016x}"


class RequestLogMiddleware(HttpMiddleware):
    """Gives each request an id (X-Request-ID in and out) and logs it when it ends."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming[:64] if incoming.isascii() and incoming else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        token = _request_id.set(request_id)
        started = time.perf_counter()
        started_token = _request_started.set(started)
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            state = scope.get("state") or {}
            request_logger.info(
                "request",
                extra={
                    "payload": {
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "user_id": state.get("user_id"),
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    }
                },
            )
            _request_id.reset(token)
            _request_started.reset(started_token)
