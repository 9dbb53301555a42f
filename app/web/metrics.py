"""Prometheus metrics at /metrics (prometheus_client), for the operators' monitoring.

Two kinds of numbers:
- Per process, counted as requests pass (the middleware): request latency histograms by method,
  route template ("/api/v1/courses/{course_id}", never the raw path) and status code, requests in
  flight, and the database pool (connections checked out, pool size, overflow). With several
  server processes (`lms serve --workers N`) these use prometheus_client's multiprocess mode:
  `lms serve` points PROMETHEUS_MULTIPROC_DIR at a fresh folder, every process writes its
  values there, and whichever process answers a scrape adds them all up.
- The state of the system, read at scrape time from the database and the job queue, so they are
  the same whichever process answers: job queue depth and the age of its oldest task, the outbox
  (items per state and topic, the oldest waiting item's age, how late the oldest due item is),
  certificate bulk jobs per state and stale ones, quiz attempts open and overdue.

Protection: LMS_METRICS_TOKEN (Bearer token) and LMS_METRICS_ALLOW (client networks; default
loopback only, or any address when a token is set). Anyone else gets the same 404 as an unknown
path, and the route is not in the OpenAPI schema.
"""

from __future__ import annotations

import datetime as dt
import glob
import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import Settings, get_settings
from app.web.routing import Router

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))

REQUEST_SECONDS = Histogram(
    "lms_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status code.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
IN_FLIGHT = Gauge(
    "lms_http_requests_in_flight", "HTTP requests being answered now.", multiprocess_mode="livesum"
)
POOL_CHECKED_OUT = Gauge(
    "lms_db_pool_checked_out",
    "Database connections in use by requests and jobs (all server processes).",
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "lms_db_pool_size",
    "Database connections the pools keep (LMS_DB_POOL_SIZE per process).",
    multiprocess_mode="livesum",
)
POOL_OVERFLOW = Gauge(
    "lms_db_pool_overflow",
    "Database connections open beyond the pool size (at most LMS_DB_MAX_OVERFLOW per process).",
    multiprocess_mode="livesum",
)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_multiprocess_dir(path: str) -> None:
    """Empty a metrics folder before the server processes start (values of an earlier run
    would otherwise be added to this one's)."""
    os.makedirs(path, exist_ok=True)
    for name in glob.glob(os.path.join(path, "*.db")):
        os.unlink(name)


def sample_pool() -> None:
    """Copy this process's pool state into the gauges (cheap: a few attribute reads)."""
    from app.core import db

    engine = db._engine  # the process's engine, if any request made it yet
    if engine is None:
        return
    pool: Any = engine.pool
    try:
        POOL_CHECKED_OUT.set(pool.checkedout())
        POOL_SIZE.set(pool.size())
        POOL_OVERFLOW.set(max(0, pool.overflow()))
    except AttributeError:  # a pool without sizes (SQLite in memory)
        pass


def route_label(scope: Scope) -> str:
    """The route template that answered (FastAPI's path format; a mount's "/static/{path}"),
    "unmatched" for a 404 no route claimed: the label never holds a raw path."""
    route = scope.get("route")
    path_format = getattr(route, "path_format", None)
    if isinstance(path_format, str):
        return path_format
    return "unmatched"


class MetricsMiddleware:
    """Counts every HTTP request (pure ASGI: streaming responses are not buffered), and on the
    server's shutdown tells the multiprocess collector this process is gone."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._lifespan_send(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"] if scope["method"] in _METHODS else "other"
        status = 500
        started = time.perf_counter()
        IN_FLIGHT.inc()
        sample_pool()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            IN_FLIGHT.dec()
            REQUEST_SECONDS.labels(method, route_label(scope), str(status)).observe(
                time.perf_counter() - started
            )
            sample_pool()

    @staticmethod
    def _lifespan_send(send: Send) -> Send:
        async def wrapper(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete" and multiprocess_dir():
                multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
            await send(message)

        return wrapper


# --- the state of the system, read at scrape time ----------------------------------------------


def _age(now: dt.datetime, then: Any) -> float:
    if isinstance(then, str):  # SQLite returns MIN() of a typed column as text
        then = dt.datetime.fromisoformat(then)
    if not isinstance(then, dt.datetime):
        return 0.0
    if then.tzinfo is None:
        then = then.replace(tzinfo=dt.UTC)
    return max(0.0, float((now - then).total_seconds()))


def _gauge(name: str, doc: str, value: float, labels: dict[str, str] | None = None) -> Metric:
    family = GaugeMetricFamily(name, doc, labels=list(labels) if labels else None)
    family.add_metric(list(labels.values()) if labels else [], value)
    return family


def database_metrics(settings: Settings) -> Iterator[Metric]:
    """Outbox, certificate jobs and quiz attempts: a handful of indexed aggregate queries."""
    from app.certificates.models import IssueJob
    from app.core.db import session_factory, utcnow
    from app.outbox.models import OutboxItem
    from app.quizzes.models import Attempt

    now = utcnow()
    with session_factory()() as session:
        items = GaugeMetricFamily(
            "lms_outbox_items",
            "Outbox items waiting (pending), being delivered (sending) or given up (dead).",
            labels=["state", "topic"],
        )
        waiting = ("pending", "sending", "dead")
        for state, topic, count in session.execute(
            select(OutboxItem.state, OutboxItem.topic, func.count())
            .where(OutboxItem.state.in_(waiting))
            .group_by(OutboxItem.state, OutboxItem.topic)
        ):
            items.add_metric([state, topic], count)
        yield items
        oldest_created, oldest_due = session.execute(
            select(
                func.min(OutboxItem.created_at),
                func.min(OutboxItem.next_attempt_at).filter(OutboxItem.next_attempt_at <= now),
            ).where(OutboxItem.state == "pending")
        ).one()
        yield _gauge("lms_outbox_oldest_pending_age_seconds",
                     "Age of the oldest outbox item not yet delivered (0: none).",
                     _age(now, oldest_created))  # fmt: skip
        yield _gauge("lms_outbox_lag_seconds",
                     "How long the oldest due outbox item has waited past its time (0: none).",
                     _age(now, oldest_due))  # fmt: skip

        jobs = GaugeMetricFamily(
            "lms_certificate_jobs", "Certificate bulk jobs by state.", labels=["state"]
        )
        counts = dict.fromkeys(("queued", "running", "done", "failed"), 0)
        for state, count in session.execute(
            select(IssueJob.state, func.count()).group_by(IssueJob.state)
        ):
            counts[state] = count
        for state, count in counts.items():
            jobs.add_metric([state], count)
        yield jobs
        stale_before = now - dt.timedelta(seconds=settings.cert_job_stale_seconds)
        stale = session.scalar(
            select(func.count())
            .select_from(IssueJob)
            .where(IssueJob.state == "running", IssueJob.heartbeat_at < stale_before)
        )
        yield _gauge("lms_certificate_jobs_stale",
                     "Running certificate jobs whose heartbeat stopped (their process died).",
                     stale or 0)  # fmt: skip

        overdue_before = now - dt.timedelta(seconds=settings.quiz_grace_seconds)
        open_count, overdue = session.execute(
            select(
                func.count(),
                func.count().filter(Attempt.deadline < overdue_before),
            ).where(Attempt.state == "in_progress")
        ).one()
        yield _gauge("lms_quiz_attempts_open", "Quiz attempts in progress.", open_count or 0)
        yield _gauge("lms_quiz_attempts_overdue",
                     "Attempts in progress past their deadline and grace (the sweep grades them).",
                     overdue or 0)  # fmt: skip


def queue_metrics(settings: Settings) -> Iterator[Metric]:
    """Depth of the job queue and the age of its oldest waiting task (task ids are
    time-ordered, see app.jobs.queue.enqueue)."""
    from app.core.logging import job_id_time
    from app.jobs import queue

    if settings.jobs_url == "immediate":
        return
    huey = queue.get_huey()
    pending = huey.pending_count()
    scheduled = huey.scheduled_count()
    now = time.time()
    known: list[float] = []
    for task in huey.pending(limit=100) if pending else []:
        # Waiting since it was queued, or since its time came (a delayed task no consumer has
        # moved to the schedule yet is not late before its eta; huey's eta is naive UTC).
        since = job_id_time(str(task.id))
        if since is not None and task.eta is not None:
            since = max(since, task.eta.replace(tzinfo=dt.UTC).timestamp())
        if since is not None and since <= now:
            known.append(since)
    yield _gauge("lms_job_queue_pending", "Tasks waiting in the job queue.", pending)
    yield _gauge("lms_job_queue_scheduled", "Tasks scheduled for later (retries, delays).",
                 scheduled)  # fmt: skip
    yield _gauge("lms_job_queue_oldest_age_seconds",
                 "Age of the oldest task waiting in the job queue (0: none).",
                 max(0.0, now - min(known)) if known else 0.0)  # fmt: skip


class StateCollector(Collector):
    """The scrape-time numbers; a source that fails (database or queue down) is reported as
    lms_metrics_source_up{source} 0 instead of failing the whole scrape."""

    def collect(self) -> Iterable[Metric]:
        settings = get_settings()
        up = GaugeMetricFamily(
            "lms_metrics_source_up",
            "1 when the source could be read for this scrape, 0 when it failed.",
            labels=["source"],
        )
        for source, read in (("database", database_metrics), ("job_queue", queue_metrics)):
            try:
                found = list(read(settings))
            except Exception as exc:
                log.warning("metrics: %s unreadable: %s", source, exc)
                up.add_metric([source], 0)
                continue
            up.add_metric([source], 1)
            yield from found
        yield up


_state_registry = CollectorRegistry(auto_describe=False)
_state_registry.register(StateCollector())


def render() -> bytes:
    """The text exposition: per-process metrics (all processes' in multiprocess mode), then the
    scrape-time state."""
    sample_pool()
    path = multiprocess_dir()
    if path:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
        own = generate_latest(registry)
    else:
        own = generate_latest(REGISTRY)
    return own + generate_latest(_state_registry)


# --- the endpoint --------------------------------------------------------------------------------


def allowed(request: Request, settings: Settings) -> bool:
    """The client's address is in LMS_METRICS_ALLOW (default loopback; any when only a token is
    set) and it shows LMS_METRICS_TOKEN when one is set."""
    token = settings.metrics_token
    if settings.metrics_allow:
        networks: tuple[Any, ...] | None = tuple(
            ipaddress.ip_network(p.strip(), strict=False)
            for p in settings.metrics_allow.split(",")
            if p.strip()
        )
    else:
        networks = None if token else _LOOPBACK
    if networks is not None:
        try:
            address = ipaddress.ip_address(request.client.host if request.client else "")
        except ValueError:
            return False
        if not any(address in net for net in networks):
            return False
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return False
    return True


router = Router(include_in_schema=False)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    if not allowed(request, get_settings()):
        raise HTTPException(status_code=404)
    return Response(render(), media_type=CONTENT_TYPE_LATEST)
