"""The coalesced kick after a commit: a burst of commits asks for one run now and one trailing run,
never none after a commit, even when the run happens in another process (which cannot tell this
one that it started)."""

from __future__ import annotations

import pytest

from app.core.db import session_scope
from app.jobs import queue


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float | None]]:
    calls: list[tuple[str, float | None]] = []
    monkeypatch.setattr(queue, "enqueue", lambda name, *a, delay=None: calls.append((name, delay)))
    return calls


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(queue.time, "monotonic", lambda: now[0])
    return now


def test_a_burst_asks_for_one_run_now_and_one_trailing(
    asked: list[tuple[str, float | None]], clock: list[float]
) -> None:
    kick = queue.AfterCommitKick("outbox.dispatch", spacing=0.5)
    kick.request()
    clock[0] += 0.1
    kick.request()  # too soon: a trailing run 0.4 s later
    clock[0] += 0.1
    kick.request()  # the trailing run is still to come: it covers this commit
    assert asked == [("outbox.dispatch", None), ("outbox.dispatch", pytest.approx(0.4))]
    clock[0] += 0.4  # the trailing run's moment has come and gone
    kick.request()
    assert asked[-1] == ("outbox.dispatch", None)
    assert len(asked) == 3


def test_every_commit_is_followed_by_a_run_although_none_reports_back(
    asked: list[tuple[str, float | None]], clock: list[float]
) -> None:
    """Commits every 0.2 s for 10 s: each has a run asked for at or after it."""
    kick = queue.AfterCommitKick("outbox.dispatch", spacing=0.5)
    runs: list[float] = []
    for _ in range(50):
        before = len(asked)
        kick.request()
        runs += [clock[0] + (delay or 0.0) for _name, delay in asked[before:]]
        assert any(at >= clock[0] for at in runs), clock[0]
        clock[0] += 0.2
    assert len(asked) <= 2 * 10 / 0.5 + 2  # coalesced: a few per second, not one per commit


def test_only_after_a_commit_and_when_wanted(
    asked: list[tuple[str, float | None]], clock: list[float]
) -> None:
    kick = queue.AfterCommitKick("outbox.dispatch", spacing=0.5)
    with pytest.raises(RuntimeError), session_scope() as session:
        kick.after_commit(session, lambda: True)
        raise RuntimeError("rolled back")
    assert asked == []
    with session_scope() as session:
        kick.after_commit(session, lambda: False)
    assert asked == []
    with session_scope() as session:
        kick.after_commit(session, lambda: True)
        kick.after_commit(session, lambda: True)  # once per transaction
    assert asked == [("outbox.dispatch", None)]
