"""PostgreSQL restarted during a burst of quiz autosaves and submits from several threads.

While the database is down every request gets a clear 503 with Retry-After (JSON under /api,
the friendly page elsewhere; never a 500, never a trace); nothing is half-written; after it
returns both app processes recover without a restart, and every answer acknowledged with a 2xx
is in the database (last write wins: an unacknowledged later write may have landed too).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.production.journey import (
    LEARNER_PASSWORD,
    answers_for,
    create_course,
    create_learners,
    enrol,
    expect,
    staff,
)
from tests.production.stack import ProdStack, StackApi

TRACE_MARKERS = ("Traceback", 'File "/', "sqlalchemy", "psycopg", "OperationalError")


@dataclass
class Log:
    """What one thread saw: statuses, 503 details, acknowledged and attempted counter values."""

    statuses: list[int] = field(default_factory=list)
    unavailable: list[httpx.Response] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    acked: list[int] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)  # every counter value sent, in order


def _check(response: httpx.Response, log: Log) -> bool:
    """True for a 2xx; records and validates a 503; anything else is a finding."""
    log.statuses.append(response.status_code)
    if 200 <= response.status_code < 300:
        return True
    if response.status_code == 503:
        log.unavailable.append(response)
        return False
    log.bad.append(f"{response.request.method} {response.request.url.path}: "
                   f"{response.status_code} {response.text[:300]}")  # fmt: skip
    return False


def _retry(call: Any, log: Log, deadline: float) -> httpx.Response:
    """Repeat `call()` on 503 (after the Retry-After hint, shortened) until 2xx or `deadline`."""
    while True:
        response = call()
        if _check(response, log):
            return response
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        time.sleep(min(float(response.headers.get("retry-after", "1")), 0.5))


def _autosaver(api: StackApi, attempt: dict[str, Any], stop: threading.Event, log: Log) -> None:
    numeric = next(q for q in attempt["questions"] if q["type"] == "numeric")
    value = 0
    while not stop.is_set():
        value += 1
        log.sent.append(value)
        try:
            r = api.put(f"/api/v1/attempts/{attempt['id']}/answers",
                        json={"answers": [{"question_id": numeric["id"], "value": value}]})  # fmt: skip
        except httpx.HTTPError as exc:  # the app itself must stay up
            log.bad.append(f"transport error {exc!r}")
            continue
        if _check(r, log):
            log.acked.append(value)
        time.sleep(0.05)


def _submitter(pairs: list[tuple[StackApi, dict[str, Any]]], gap: float, log: Log,
               results: dict[int, dict[str, Any]]) -> None:  # fmt: skip
    """Answer and submit each attempt in turn, `gap` seconds apart, retrying through 503s."""
    for api, attempt in pairs:
        deadline = time.monotonic() + 60
        saved = _retry(lambda api=api, attempt=attempt: api.put(
            f"/api/v1/attempts/{attempt['id']}/answers",
            json={"answers": answers_for(attempt["questions"])}), log, deadline)  # fmt: skip
        if saved.status_code != 200:
            continue
        submitted = _retry(lambda api=api, attempt=attempt: api.post(
            f"/api/v1/attempts/{attempt['id']}/submit"), log, deadline)  # fmt: skip
        if submitted.status_code == 200:
            results[attempt["id"]] = submitted.json()
        time.sleep(gap)


def test_postgres_restart_during_autosaves_and_submits(prod_stack: ProdStack) -> None:
    admin, officer, author = staff(prod_stack)
    course = create_course(prod_stack, author, officer)
    users = create_learners(admin, 1982, 12)
    enrol(officer, course.run_id, [u["nip"] for u in users])
    learners = [prod_stack.api(u["nip"], LEARNER_PASSWORD) for u in users]
    attempts = [expect(api.post(f"/api/v1/quizzes/{course.quiz_id}/attempts"), 201)
                for api in learners]  # fmt: skip
    pids = prod_stack.app_pids

    stop = threading.Event()
    saver_logs = [Log() for _ in range(4)]
    submit_logs = [Log() for _ in range(2)]
    results: dict[int, dict[str, Any]] = {}
    threads = [
        threading.Thread(target=_autosaver, args=(learners[i], attempts[i], stop, saver_logs[i]))
        for i in range(4)
    ] + [
        threading.Thread(target=_submitter, args=(
            list(zip(learners[4 + 4 * j: 8 + 4 * j], attempts[4 + 4 * j: 8 + 4 * j], strict=True)),
            1.2, submit_logs[j], results))
        for j in range(2)
    ]  # fmt: skip
    for thread in threads:
        thread.start()
    time.sleep(1.5)

    # --- the outage ----------------------------------------------------------------------
    prod_stack.stop_postgres("fast")
    try:
        time.sleep(1.0)
        with prod_stack.client(1, headers={"Authorization": f"Bearer {learners[0].token}",
                                           "Accept": "text/html"}) as browser:  # fmt: skip
            page = browser.get("/courses")
        with prod_stack.client(0) as anonymous:
            api_down = anonymous.get(f"/api/v1/attempts/{attempts[0]['id']}",
                                     headers={"Authorization": f"Bearer {learners[0].token}"})  # fmt: skip
        time.sleep(2.5)
    finally:
        prod_stack.start_postgres()
    time.sleep(2.5)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)

    # --- what the clients saw --------------------------------------------------------------
    logs = saver_logs + submit_logs
    findings = [line for log in logs for line in log.bad]
    assert not findings, findings  # no 500, no other status, no transport error
    unavailable = [r for log in logs for r in log.unavailable]
    assert unavailable, "no request met the outage"
    for r in [*unavailable, api_down]:
        assert r.status_code == 503 and int(r.headers["retry-after"]) > 0
        assert r.headers["content-type"].startswith("application/json")
        assert r.json()["error"] == "service_unavailable" and r.json()["detail"]
        assert not any(marker in r.text for marker in TRACE_MARKERS), r.text
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
    assert "retry-after" in page.headers and "<html" in page.text.lower()
    assert not any(marker in page.text for marker in TRACE_MARKERS)
    for log in saver_logs:  # the autosaves went on after the database came back
        assert log.statuses[-1] == 200 and log.acked

    # --- recovered without a restart ---------------------------------------------------------
    assert prod_stack.app_pids == pids and prod_stack.apps_running

    # --- every acknowledged autosave is there (the last one, or a later unacknowledged one) ---
    for api, attempt, log in zip(learners[:4], attempts[:4], saver_logs, strict=True):
        read = expect(api.get(f"/api/v1/attempts/{attempt['id']}"), 200)
        assert read["state"] == "in_progress"
        numeric = next(q for q in attempt["questions"] if q["type"] == "numeric")
        (stored,) = [a for a in read["answers"] if a["question_id"] == numeric["id"]]
        last_acked = log.acked[-1]
        later = log.sent[log.sent.index(last_acked) :]
        kept = stored["value"] if stored["value"] is not None else stored["text"]
        assert float(kept) in {float(v) for v in later}, (stored, last_acked)

    # --- submits: each attempt graded once, fully, with every answer --------------------------
    submitted = attempts[4:]
    assert sorted(results) == sorted(a["id"] for a in submitted)
    for attempt in submitted:
        assert results[attempt["id"]]["state"] == "graded"
        assert results[attempt["id"]]["percent"] == 100
    user_ids = [u["id"] for u in users]
    rows = prod_stack.rows(
        "SELECT a.user_id, count(*), min(a.state), max(a.state), min(a.score), "
        "(SELECT count(*) FROM quiz_attempt_answer x WHERE x.attempt_id = max(a.id)) "
        "FROM quiz_attempt a WHERE a.quiz_id = :q AND a.user_id = ANY(:u) GROUP BY a.user_id",
        q=course.quiz_id, u=user_ids,
    )  # fmt: skip
    by_user = {row[0]: row[1:] for row in rows}
    for user in users[4:]:
        count, low, high, score, answers = by_user[user["id"]]
        assert (count, low, high, answers) == (1, "graded", "graded", 3), by_user[user["id"]]
        assert score is not None
    for api in (*learners, admin, officer, author):
        api.close()
