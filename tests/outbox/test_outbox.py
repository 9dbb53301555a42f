"""The outbox: idempotent production in the caller's transaction, atomic claims, retries with
backoff, dead letters and the officers' retry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from app.core.db import session_scope, utcnow
from app.outbox import repository
from app.outbox import service as outbox
from app.outbox.models import OutboxItem

TOPIC = "test.echo"
calls: list[list[int]] = []
script: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def echo_handler() -> Iterator[None]:
    """A handler for a test topic whose behaviour the test scripts."""
    calls.clear()
    script.clear()

    @outbox.register(TOPIC, batch=3)
    def handle(session, items, settings):  # type: ignore[no-untyped-def]
        calls.append([i.id for i in items])
        if script.get("down"):
            raise outbox.ChannelDown("server down")
        if script.get("crash"):
            raise RuntimeError("boom")
        outcomes: dict[int, outbox.Outcome] = {}
        for item in items:
            kind = item.payload.get("kind", "ok")
            outcomes[item.id] = {
                "ok": outbox.Sent(),
                "fail": outbox.Failed("temporary"),
                "refuse": outbox.Failed("no such mailbox", permanent=True),
                "cancel": outbox.Cancelled("unsubscribed"),
            }[kind]
        return outcomes

    yield
    outbox._handlers.pop(TOPIC, None)


def _items() -> list[OutboxItem]:
    with session_scope() as session:
        return list(session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def test_an_item_added_in_a_rolled_back_transaction_is_never_delivered(settings) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError), session_scope() as session:
        outbox.add(session, TOPIC, {"kind": "ok"}, key="rolled-back")
        raise RuntimeError("the fact failed")
    assert _items() == []
    assert outbox.dispatch(settings, only=[TOPIC]).sent == 0


def test_the_same_key_is_produced_once(settings) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        with session_scope() as session:
            outbox.add(session, TOPIC, {"kind": "ok"}, key="reminder:7:2026-12")
    assert len(_items()) == 1
    assert outbox.dispatch(settings, only=[TOPIC]).sent == 1
    assert outbox.dispatch(settings, only=[TOPIC]).sent == 0  # nothing twice
    assert [i.state for i in _items()] == ["sent"]


def test_batches_respect_the_handler_size(settings) -> None:  # type: ignore[no-untyped-def]
    with session_scope() as session:
        for n in range(7):
            outbox.add(session, TOPIC, {"kind": "ok"}, key=f"k{n}")
    stats = outbox.dispatch(settings, only=[TOPIC])
    assert stats.sent == 7
    assert [len(c) for c in calls] == [3, 3, 1]


def test_a_failure_is_retried_with_exponential_backoff_then_dead(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "outbox_max_attempts", 3)
    monkeypatch.setattr(settings, "outbox_backoff_seconds", 60)
    with session_scope() as session:
        outbox.add(session, TOPIC, {"kind": "fail"}, key="flaky")
    outbox.dispatch(settings, only=[TOPIC])
    (item,) = _items()
    assert (item.state, item.attempts, item.last_error) == ("pending", 1, "temporary")
    wait = (item.next_attempt_at - utcnow()).total_seconds()
    assert 50 < wait < 70  # 60 s +- 10 % jitter
    assert outbox.dispatch(settings, only=[TOPIC]).handled == 0  # not due yet
    _make_due()
    outbox.dispatch(settings, only=[TOPIC])
    (item,) = _items()
    wait = (item.next_attempt_at - utcnow()).total_seconds()
    assert 100 < wait < 140  # doubled
    _make_due()
    stats = outbox.dispatch(settings, only=[TOPIC])
    assert stats.dead == 1
    (item,) = _items()
    assert (item.state, item.attempts) == ("dead", 3)


def _make_due() -> None:
    with session_scope() as session:
        for item in session.scalars(select(OutboxItem)):
            item.next_attempt_at = utcnow() - dt.timedelta(seconds=1)


def test_permanent_failures_die_at_once_and_officers_can_retry(settings) -> None:  # type: ignore[no-untyped-def]
    with session_scope() as session:
        outbox.add(session, TOPIC, {"kind": "refuse"}, key="bad-address")
        outbox.add(session, TOPIC, {"kind": "cancel"}, key="unsubscribed")
    stats = outbox.dispatch(settings, only=[TOPIC])
    assert (stats.dead, stats.cancelled) == (1, 1)
    with session_scope() as session:
        page = outbox.listing(session, state="dead")
        assert [i.last_error for i in page.items] == ["no such mailbox"]
        assert outbox.counts(session)["dead"] == {TOPIC: 1}
        dead_id = page.items[0].id
        assert outbox.retry(session, [dead_id]) == 1
    (dead, _cancelled) = _items()
    assert (dead.state, dead.attempts) == ("pending", 0)


def test_a_channel_down_retries_the_batch_and_rests_the_topic(settings) -> None:  # type: ignore[no-untyped-def]
    script["down"] = True
    with session_scope() as session:
        for n in range(5):
            outbox.add(session, TOPIC, {"kind": "ok"}, key=f"down{n}")
    stats = outbox.dispatch(settings, only=[TOPIC])
    assert stats.failed == 3 and len(calls) == 1  # one batch tried, the rest not even claimed
    assert {i.state for i in _items()} == {"pending"}
    script["down"] = False
    _make_due()
    assert outbox.dispatch(settings, only=[TOPIC]).sent == 5
    assert {i.attempts for i in _items()} == {1, 2}


def test_an_unexpected_handler_error_keeps_the_items(settings) -> None:  # type: ignore[no-untyped-def]
    script["crash"] = True
    with session_scope() as session:
        outbox.add(session, TOPIC, {"kind": "ok"}, key="crash")
    assert outbox.dispatch(settings, only=[TOPIC]).failed == 1
    (item,) = _items()
    assert item.state == "pending" and "boom" in (item.last_error or "")


def test_claims_are_exclusive_and_expired_leases_are_taken_over() -> None:
    with session_scope() as session:
        for n in range(4):
            outbox.add(session, TOPIC, {"kind": "ok"}, key=f"lease{n}")
    now = utcnow()
    with session_scope() as session:
        first = repository.claim(session, TOPIC, 10, now, now + dt.timedelta(minutes=5))
    with session_scope() as session:
        second = repository.claim(session, TOPIC, 10, now, now + dt.timedelta(minutes=5))
    assert len(first) == 4 and second == []
    later = now + dt.timedelta(minutes=6)  # the first dispatcher died; its lease ran out
    with session_scope() as session:
        third = repository.claim(session, TOPIC, 10, later, later + dt.timedelta(minutes=5))
    assert sorted(i.id for i in third) == sorted(i.id for i in first)


def test_rate_limit_per_topic(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    handler = outbox._handlers[TOPIC]
    monkeypatch.setitem(
        outbox._handlers, TOPIC,
        outbox.Handler(TOPIC, handler.handle, batch=10, rate_per_minute=lambda s: 4),
    )  # fmt: skip
    with session_scope() as session:
        for n in range(6):
            outbox.add(session, TOPIC, {"kind": "ok"}, key=f"rate{n}")
    assert outbox.dispatch(settings, only=[TOPIC]).sent == 4
    assert outbox.dispatch(settings, only=[TOPIC]).sent == 0  # the minute's budget is spent
