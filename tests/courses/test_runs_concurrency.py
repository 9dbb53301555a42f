"""The waiting list under concurrency: withdrawals and joins at the same moment (on PostgreSQL
real concurrent transactions through the app's thread pool, like the enrolment test in
test_courses_api.py). Nobody is seated over capacity and nobody jumps the line."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import select

from app.core.db import get_engine, session_scope
from tests.factories import api_token, make_course, make_run, make_user


def _run(capacity: int) -> int:
    from app.courses.models import Run

    course = make_course()
    run_id = make_run(course["course"], capacity=capacity)
    with session_scope() as session:
        run = session.get(Run, run_id)
        assert run is not None
        run.waitlist = True
    return run_id


def _state(run_id: int) -> tuple[int, list[tuple[int, str]], list[int]]:
    """(enrolled_count, [(user, status)], waiting user ids in line order)."""
    from app.courses.models import Enrolment, Run

    with session_scope() as session:
        run = session.get(Run, run_id)
        assert run is not None
        rows = session.execute(
            select(Enrolment.user_id, Enrolment.status).where(Enrolment.run_id == run_id)
        ).all()
        line = session.scalars(
            select(Enrolment.user_id)
            .where(Enrolment.run_id == run_id, Enrolment.status == "waitlisted")
            .order_by(Enrolment.waitlisted_at, Enrolment.id)
        ).all()
        return run.enrolled_count, [(u, s) for u, s in rows], list(line)


async def test_withdrawals_and_joins_at_once_keep_capacity_and_order(
    client: httpx.AsyncClient,
) -> None:
    capacity = 2
    run_id = _run(capacity)
    url = f"/api/v1/runs/{run_id}/enrolments"
    seated = [make_user(name=f"Aktif {i}") for i in range(capacity)]
    waiting = [make_user(name=f"Antre {i}") for i in range(3)]
    newcomers = [make_user(name=f"Baru {i}") for i in range(10)]
    tokens = {u.id: await api_token(client, u.email or "") for u in seated + waiting + newcomers}
    for u in seated + waiting:  # in this order: the first `capacity` seated, then the line
        r = await client.post(url, json={}, headers=tokens[u.id])
        assert r.status_code == 201, r.text
    count, _rows, line = _state(run_id)
    assert count == capacity and line == [u.id for u in waiting]

    results = await asyncio.gather(
        *(client.delete(f"{url}/{u.id}", headers=tokens[u.id]) for u in seated),
        *(client.post(url, json={}, headers=tokens[u.id]) for u in newcomers),
    )
    assert all(r.status_code in (201, 204) for r in results), [r.text for r in results]
    count, rows, line = _state(run_id)
    active = [u for u, s in rows if s == "active"]
    assert count == capacity == len(active)  # nobody over capacity
    # The first in line were seated, not newcomers who arrived during the withdrawals.
    assert sorted(active) == sorted(u.id for u in waiting[:capacity])
    assert line[0] == waiting[capacity].id
    assert sorted(line[1:]) == sorted(u.id for u in newcomers)
    assert all(r.json()["status"] == "waitlisted" for r in results[capacity:])
    # A position is the place when joining: withdrawals after it move the learner up.
    positions = [r.json()["position"] for r in results[capacity:]]
    assert all(1 <= p <= len(waiting) + len(newcomers) for p in positions)


async def test_concurrent_joins_to_a_full_run_get_distinct_places(
    client: httpx.AsyncClient,
) -> None:
    run_id = _run(1)
    url = f"/api/v1/runs/{run_id}/enrolments"
    first = make_user()
    assert (
        await client.post(url, json={}, headers=await api_token(client, first.email or ""))
    ).status_code == 201
    people = [make_user() for _ in range(12)]
    tokens = [await api_token(client, u.email or "") for u in people]
    results = await asyncio.gather(*(client.post(url, json={}, headers=t) for t in tokens))
    assert all(r.status_code == 201 for r in results), [r.text for r in results]
    count, _rows, line = _state(run_id)
    assert count == 1 and len(line) == len(people)
    by_user = {r.json()["waitlisted"][0]["user_id"]: r.json()["position"] for r in results}
    if get_engine().dialect.name == "postgresql":
        # Read under the run's row lock: each heard its own place, the line's order. (SQLite has
        # no row locks: a reader may see the line as it was when its transaction began.)
        assert [by_user[u] for u in line] == list(range(1, len(people) + 1))


async def test_many_joins_and_a_capacity_increase(client: httpx.AsyncClient) -> None:
    run_id = _run(1)
    url = f"/api/v1/runs/{run_id}/enrolments"
    people = [make_user() for _ in range(12)]
    tokens = [await api_token(client, u.email or "") for u in people]
    officer_user = make_user(roles=("training_officer",))
    officer = await api_token(client, officer_user.email or "")
    results = await asyncio.gather(
        *(client.post(url, json={}, headers=t) for t in tokens),
        client.patch(f"/api/v1/runs/{run_id}", json={"capacity": 5}, headers=officer),
    )
    assert all(r.status_code in (200, 201) for r in results), [r.text for r in results]
    count, rows, line = _state(run_id)
    active = [u for u, s in rows if s == "active"]
    assert count == len(active) == 5
    assert len(line) == len(people) - 5
