"""Rules of the outbox: producing side effects in the caller's transaction, the handlers each
domain registers per topic, and the dispatcher that delivers with retries, exponential backoff,
per-topic rate limits and pauses (quiet hours), and a dead-letter state officers can retry.

Producing: `add(session, topic, payload, key=...)` in the transaction of the fact (a rolled-back
fact leaves no item; a committed one is never lost). Delivering: `dispatch()` runs on the job
queue right after such a commit (the kick), every minute (the tick) and from `lms jobs run-due`;
items are claimed atomically with a lease, so any number of dispatchers deliver each item once
(a dispatcher that dies mid-batch leaves its lease to expire and the items are tried again).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.core.config import Settings, get_settings
from app.core.db import session_scope, utcnow
from app.core.errors import NotFound
from app.core.logging import job_context
from app.jobs import queue
from app.outbox import repository
from app.outbox.models import OutboxItem
from app.outbox.schemas import OutboxItemRead, OutboxPage

log = logging.getLogger(__name__)

DISPATCH_TASK = "outbox.dispatch"
DISPATCH_ROUND = "outbox.round"  # one dispatch() in the logs (inside a task, the CLI or a test)
STATES = ("pending", "sending", "sent", "dead", "cancelled")


# --- outcomes a handler reports per item ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """Delivered."""


@dataclass(frozen=True, slots=True)
class Failed:
    """Not delivered: tried again later with backoff (dead after the last attempt, or at once
    when `permanent`, e.g. an address the server refuses for good)."""

    error: str
    permanent: bool = False


@dataclass(frozen=True, slots=True)
class Cancelled:
    """No longer wanted (the reader unsubscribed meanwhile, the account was closed)."""

    reason: str


Outcome = Sent | Failed | Cancelled


class ChannelDown(Exception):
    """Raised by a handler when its transport is unreachable (mail server down): the whole batch
    is tried again later and the topic rests for the rest of this round."""


Handle = Callable[[Session, list[OutboxItem], Settings], dict[int, Outcome]]


@dataclass(frozen=True, slots=True)
class Handler:
    topic: str
    handle: Handle
    batch: int | None = None  # items per call (default settings.outbox_batch)
    rate_per_minute: Callable[[Settings], int] | None = None  # 0: no limit
    paused_until: Callable[[Settings, dt.datetime], dt.datetime | None] | None = None
    label: Callable[[], str] | None = None


_handlers: dict[str, Handler] = {}


def register(
    topic: str,
    *,
    batch: int | None = None,
    rate_per_minute: Callable[[Settings], int] | None = None,
    paused_until: Callable[[Settings, dt.datetime], dt.datetime | None] | None = None,
    label: Callable[[], str] | None = None,
) -> Callable[[Handle], Handle]:
    """Register `handle(session, items, settings) -> {item_id: outcome}` for a topic. The
    handler's session is committed with the outcomes, so what it writes (a token it issued for
    the message) lands exactly when the item is marked sent."""

    def decorator(handle: Handle) -> Handle:
        _handlers[topic] = Handler(topic, handle, batch, rate_per_minute, paused_until, label)
        return handle

    return decorator


def topics() -> list[str]:
    return sorted(_handlers)


def topic_label(topic: str) -> str:
    handler = _handlers.get(topic)
    return handler.label() if handler and handler.label else topic


# --- producing ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewItem:
    topic: str
    payload: dict[str, Any]
    key: str | None = None
    label: str | None = None
    user_id: int | None = None
    not_before: dt.datetime | None = None


def add(
    session: Session,
    topic: str,
    payload: dict[str, Any],
    *,
    key: str | None = None,
    label: str | None = None,
    user_id: int | None = None,
    not_before: dt.datetime | None = None,
) -> None:
    """Record a side effect in the caller's transaction; an item with the same key exists
    already: nothing is added (idempotent)."""
    add_many(session, [NewItem(topic, payload, key, label, user_id, not_before)])


def add_many(session: Session, items: Sequence[NewItem]) -> None:
    if not items:
        return
    now = utcnow()
    repository.insert_ignoring_duplicates(
        session,
        [
            {
                "topic": i.topic, "key": i.key, "payload": i.payload,
                "label": (i.label or "")[:255] or None, "user_id": i.user_id, "state": "pending",
                "attempts": 0, "created_at": now, "next_attempt_at": i.not_before or now,
            }
            for i in items
        ],
    )  # fmt: skip
    _kick_after_commit(session)


_kick = queue.AfterCommitKick(DISPATCH_TASK)


def _kick_after_commit(session: Session) -> None:
    """Ask the queue for a dispatch once this transaction commits (a burst of commits shares
    one; jobs.queue.AfterCommitKick)."""
    _kick.after_commit(session, lambda: get_settings().outbox_kick)


# --- delivering ---------------------------------------------------------------------------------


def backoff_seconds(attempts: int, settings: Settings) -> float:
    """Exponential backoff after the n-th failed attempt: base * 2^(n-1), capped, +-10% jitter
    so that a crowd of retries does not hit the server at one instant."""
    delay = min(
        settings.outbox_backoff_seconds * 2 ** max(0, attempts - 1),
        settings.outbox_backoff_max_seconds,
    )
    return float(delay * random.uniform(0.9, 1.1))  # noqa: S311 - spreading load


@dataclass(slots=True)
class DispatchStats:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    cancelled: int = 0
    by_topic: dict[str, int] = field(default_factory=dict)

    def add(self, other: DispatchStats) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.dead += other.dead
        self.cancelled += other.cancelled
        for topic, n in other.by_topic.items():
            self.by_topic[topic] = self.by_topic.get(topic, 0) + n

    @property
    def handled(self) -> int:
        return self.sent + self.failed + self.dead + self.cancelled


RATE_WAIT_SECONDS = 10.0  # over its rate: look again this much later


def _capacity(handler: Handler, settings: Settings, now: dt.datetime) -> tuple[int, str | None]:
    """How many items of this topic may go now, and why none may ("paused", "rate")."""
    if handler.paused_until is not None and handler.paused_until(settings, now) is not None:
        return 0, "paused"
    size = handler.batch or settings.outbox_batch
    rate = handler.rate_per_minute(settings) if handler.rate_per_minute else 0
    if rate > 0:
        with session_scope() as session:
            sent = repository.sent_since(session, handler.topic, now - dt.timedelta(minutes=1))
        size = min(size, max(0, rate - sent))
        if size == 0:
            return 0, "rate"
    return size, None


def _record(
    session: Session, items: list[OutboxItem], outcomes: dict[int, Outcome], settings: Settings,
    now: dt.datetime,
) -> DispatchStats:  # fmt: skip
    """Store each item's outcome: a few statements for the whole batch, not one per item."""
    stats = DispatchStats()
    sent: list[int] = []
    changes: list[dict[str, Any]] = []
    confirmed = repository.sent_among(session, [i.id for i in items])
    for item in items:
        outcome = outcomes.get(item.id) or Failed("handler gave no outcome for this item")
        if item.id in confirmed:  # its confirmer recorded it already: never send it again
            stats.sent += 1
            continue
        if isinstance(outcome, Sent):
            sent.append(item.id)
            stats.sent += 1
            continue
        change: dict[str, Any] = {"id": item.id, "locked_until": None}
        if isinstance(outcome, Cancelled):
            change.update(state="cancelled", sent_at=now, last_error=outcome.reason[:2000])
            stats.cancelled += 1
        elif outcome.permanent or item.attempts >= settings.outbox_max_attempts:
            change.update(state="dead", next_attempt_at=now, last_error=outcome.error[:4000])
            stats.dead += 1
        else:
            later = now + dt.timedelta(seconds=backoff_seconds(item.attempts, settings))
            change.update(state="pending", next_attempt_at=later, last_error=outcome.error[:4000])
            stats.failed += 1
        changes.append(change)
    repository.mark_sent(session, sent, now)
    repository.update_many(session, changes)
    return stats


def confirmer(session: Session) -> Callable[[int], None]:
    """For handlers that send a batch one message at a time (e-mail, WhatsApp): a callback that
    records one delivery the moment its transport accepted it and commits the handler's session
    there, so a worker killed later in the batch sends none of the earlier messages again, and
    whatever the handler wrote for that message (an activation token its link carries) is
    durable before the next one goes. The window for a repeat shrinks to the instant between the
    server's acceptance and this commit."""

    def confirm(item_id: int) -> None:
        repository.mark_sent(session, [item_id], utcnow())
        session.commit()

    return confirm


def _all_failed(items: list[OutboxItem], error: str) -> dict[int, Outcome]:
    return {i.id: Failed(error) for i in items}


def dispatch_topic(
    handler: Handler, settings: Settings, now: dt.datetime
) -> tuple[DispatchStats, str | None]:
    """One batch of one topic; returns its stats and why the topic rests for the rest of this
    round: "empty" (nothing due), "paused", "rate" (over its rate) or "down" (channel down)."""
    limit, reason = _capacity(handler, settings, now)
    if limit <= 0:
        return DispatchStats(), reason
    lease = now + dt.timedelta(seconds=settings.outbox_lease_seconds)
    with session_scope() as session:
        items = repository.claim(session, handler.topic, limit, now, lease)
    if not items:
        return DispatchStats(), "empty"
    rest: str | None = None
    try:
        with session_scope() as session:
            outcomes = handler.handle(session, items, settings)
            stats = _record(session, items, outcomes, settings, utcnow())
    except ChannelDown as exc:
        log.warning("outbox %s: channel down (%s); %d item(s) retried later",
                    handler.topic, exc, len(items))  # fmt: skip
        with session_scope() as session:
            stats = _record(session, items, _all_failed(items, str(exc)), settings, utcnow())
        rest = "down"
    except Exception as exc:
        log.exception("outbox handler %s failed on %d item(s)", handler.topic, len(items))
        with session_scope() as session:
            stats = _record(session, items, _all_failed(items, f"{type(exc).__name__}: {exc}"),
                            settings, utcnow())  # fmt: skip
    stats.by_topic[handler.topic] = stats.handled
    return stats, rest


def dispatch(
    settings: Settings | None = None,
    *,
    max_seconds: float = 50.0,
    only: Sequence[str] | None = None,
) -> DispatchStats:
    """Deliver everything due now, topic by topic in batches, until nothing is due or the time
    budget is spent (then another dispatch is queued, so other jobs get their turn)."""
    settings = settings or get_settings()
    with job_context(DISPATCH_ROUND, kind="outbox") as run:
        total = _dispatch(settings, max_seconds, only)
        run.outcome = "ok" if total.handled else "idle"
        run.fields.update(sent=total.sent, retry=total.failed, dead=total.dead,
                          cancelled=total.cancelled)  # fmt: skip
    return total


def _dispatch(
    settings: Settings, max_seconds: float, only: Sequence[str] | None
) -> DispatchStats:
    total = DispatchStats()
    started = time.monotonic()
    active = [h for t, h in sorted(_handlers.items()) if only is None or t in only]
    resting: dict[str, str] = {}
    while time.monotonic() - started < max_seconds:
        progressed = False
        for handler in active:
            if handler.topic in resting:
                continue
            stats, rest = dispatch_topic(handler, settings, utcnow())
            total.add(stats)
            progressed = progressed or stats.handled > 0
            if rest:
                resting[handler.topic] = rest
        if not progressed or len(resting) == len(active):
            break
    else:
        _follow_up(settings, 0)
        return total
    _schedule_retry(settings, resting)
    return total


_next_follow_up = 0.0
_follow_lock = threading.Lock()


def _follow_up(settings: Settings, delay: float) -> None:
    """Queue one later dispatch from this process (none if one is already waiting sooner)."""
    global _next_follow_up
    if settings.jobs_url == "immediate":
        return  # tests dispatch explicitly
    at = time.monotonic() + delay
    with _follow_lock:
        if time.monotonic() < _next_follow_up <= at + 1:
            return
        _next_follow_up = at
    try:
        queue.enqueue(DISPATCH_TASK, delay=delay or None)
    except Exception:
        log.exception("could not queue a follow-up outbox dispatch")


def _schedule_retry(settings: Settings, resting: dict[str, str]) -> None:
    """Retries due before the next minute tick get a dispatch of their own at that moment;
    a topic over its rate is looked at again a little later; paused topics wait for the tick."""
    waits: list[float] = []
    if "rate" in resting.values():
        waits.append(RATE_WAIT_SECONDS)
    waiting = [t for t, why in resting.items() if why in ("empty", "down")]
    if waiting:
        with session_scope() as session:
            due = repository.next_due(session, waiting)
        if due is not None:
            waits.append(max(1.0, (due - utcnow()).total_seconds()))
    if waits and min(waits) < 60:
        _follow_up(settings, min(waits))


@queue.task(DISPATCH_TASK)
def _dispatch_task() -> None:
    stats = dispatch()
    if stats.handled:
        log.info("outbox: %d sent, %d retried, %d dead, %d cancelled",
                 stats.sent, stats.failed, stats.dead, stats.cancelled)  # fmt: skip


@queue.every_minute("outbox.tick")
def _tick() -> None:
    """Every minute: deliver what is due (retries, and anything a lost kick left)."""
    _dispatch_task()


# --- officers: the list, retry --------------------------------------------------------------------


def to_read(item: OutboxItem) -> OutboxItemRead:
    return OutboxItemRead(
        id=item.id, topic=item.topic, topic_label=topic_label(item.topic), label=item.label,
        state=item.state, attempts=item.attempts, created_at=item.created_at,
        next_attempt_at=item.next_attempt_at if item.state == "pending" else None,
        sent_at=item.sent_at, last_error=item.last_error,
    )  # fmt: skip


def listing(
    session: Session, *, state: str | None = None, topic: str | None = None,
    q: str | None = None, page: int = 1, per_page: int = 50,
) -> OutboxPage:  # fmt: skip
    state = state if state in STATES else None
    total, rows = repository.listing(
        session, state=state, topic=topic or None, q=(q or "").strip() or None,
        offset=(max(page, 1) - 1) * per_page, limit=per_page,
    )  # fmt: skip
    return OutboxPage(total=total, items=[to_read(r) for r in rows])


def counts(session: Session) -> dict[str, dict[str, int]]:
    """state -> topic -> count, with every state present."""
    found: dict[str, dict[str, int]] = {s: {} for s in STATES}
    for (topic, state), n in repository.counts(session).items():
        found.setdefault(state, {})[topic] = n
    return found


def retry(session: Session, ids: Sequence[int]) -> int:
    """Officers: dead or cancelled items get a fresh set of attempts now."""
    if not ids:
        return 0
    n = repository.retry(session, ids, utcnow())
    if n == 0 and len(ids) == 1 and repository.get(session, ids[0]) is None:
        raise NotFound("Pesan tidak ditemukan.", code="outbox_item_not_found")
    _kick_after_commit(session)
    return n


def retry_all_dead(session: Session, topic: str | None = None) -> int:
    n = repository.retry_all_dead(session, topic, utcnow())
    if n:
        _kick_after_commit(session)
    return n


def purge_done(session: Session, older_than_days: int = 90) -> int:
    """Housekeeping: forget delivered and cancelled items after the retention."""
    return repository.delete_done_before(session, utcnow() - dt.timedelta(days=older_than_days))
