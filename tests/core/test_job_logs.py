"""Structured logs for background work: every job run (queue task, scheduled job, outbox round,
certificate bulk job) writes one JSON line with its id, name, duration and outcome, and every line
logged inside it carries that id; lines inside a request carry the request id."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from app.certificates import tasks as certificate_tasks
from app.core.config import Settings, get_settings
from app.core.db import session_scope
from app.core.logging import RequestLogMiddleware, configure_logging, job_context, job_id_time
from app.jobs import queue
from app.jobs import service as jobs
from app.outbox import service as outbox

inner = logging.getLogger("app.tests.jobs")
Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def json_lines() -> Iterator[Lines]:
    """The LMS's log output at DEBUG, parsed line by line (a line that is not JSON fails)."""
    buffer = io.StringIO()
    configure_logging("DEBUG", stream=buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    configure_logging(get_settings().log_level)


def closing(lines: list[dict[str, Any]], job: str) -> list[dict[str, Any]]:
    return [x for x in lines if x.get("event") == "job" and x["job"] == job]


@pytest.fixture
def test_task() -> Iterator[dict[str, Any]]:
    script: dict[str, Any] = {"fail": False}

    @queue.task("tests.logged")
    def logged(word: str) -> None:
        inner.info("bekerja: %s", word)
        if script["fail"]:
            raise RuntimeError("gagal disengaja")

    queue.reset_huey()
    yield script
    queue._tasks.pop("tests.logged", None)
    queue.reset_huey()


def test_a_queue_task_logs_its_run_and_tags_every_line(json_lines, test_task) -> None:  # type: ignore[no-untyped-def]
    queue.enqueue("tests.logged", "satu")
    lines = json_lines()
    [done] = closing(lines, "tests.logged")
    assert done["kind"] == "queue" and done["outcome"] == "ok" and done["level"] == "info"
    assert isinstance(done["duration_ms"], float)
    started = job_id_time(done["job_id"])
    assert started is not None and abs(started - time.time()) < 60  # a time-ordered id
    [said] = [x for x in lines if x.get("message") == "bekerja: satu"]
    assert said["job_id"] == done["job_id"] and said["job"] == "tests.logged"
    assert said["logger"] == "app.tests.jobs"

    test_task["fail"] = True
    queue.enqueue("tests.logged", "dua")
    [_, failed] = closing(json_lines(), "tests.logged")
    assert failed["outcome"] == "failed" and failed["level"] == "warning"
    assert failed["error"] == "RuntimeError: gagal disengaja"
    assert failed["job_id"] != done["job_id"]


def test_lines_outside_any_job_carry_no_job_id(json_lines) -> None:  # type: ignore[no-untyped-def]
    with job_context("tests.block"):
        inner.warning("di dalam")
    inner.warning("di luar")
    by_message = {x.get("message"): x for x in json_lines()}
    assert by_message["di dalam"]["job"] == "tests.block"
    assert "job_id" not in by_message["di luar"]


@pytest.fixture
def scheduled_job() -> Iterator[dict[str, Any]]:
    script: dict[str, Any] = {"fail": False}

    def run(settings: Settings, now: Any) -> str:
        inner.info("laporan harian dibuat")
        if script["fail"]:
            raise RuntimeError("server laporan tidak menjawab")
        return "3 laporan"

    jobs.scheduled("tests.daily_log", label=lambda: "Uji log", cadence="daily")(run)
    yield script
    jobs._jobs.pop("tests.daily_log", None)


def test_a_scheduled_run_logs_period_and_outcome(json_lines, scheduled_job) -> None:  # type: ignore[no-untyped-def]
    jobs.run_due(only="tests.daily_log", force=True)
    lines = json_lines()
    [done] = closing(lines, "tests.daily_log")
    assert done["kind"] == "scheduled" and done["outcome"] == "done"
    assert done["result"] == "3 laporan" and done["period"] and done["run_id"]
    [said] = [x for x in lines if x.get("message") == "laporan harian dibuat"]
    assert said["job_id"] == done["job_id"]

    scheduled_job["fail"] = True
    jobs.run_now("tests.daily_log")
    lines = json_lines()
    failed = closing(lines, "tests.daily_log")[-1]
    assert failed["outcome"] == "failed"
    assert "server laporan tidak menjawab" in failed["result"]
    [trace] = [x for x in lines if x.get("message", "").startswith("scheduled job tests.daily_log")]
    assert trace["job_id"] == failed["job_id"] and "RuntimeError" in trace["exc"]


@pytest.fixture
def topic() -> Iterator[str]:
    name = "tests.log_topic"

    @outbox.register(name)
    def handle(session: Any, items: list[Any], settings: Settings) -> dict[int, Any]:
        inner.info("mengirim %d pesan", len(items))
        return {i.id: outbox.Sent() for i in items}

    yield name
    outbox._handlers.pop(name, None)


def test_an_outbox_round_logs_what_it_delivered(json_lines, topic) -> None:  # type: ignore[no-untyped-def]
    with session_scope() as session:
        outbox.add(session, topic, {"n": 1}, key="log-1")
        outbox.add(session, topic, {"n": 2}, key="log-2")
    outbox.dispatch(only=[topic])
    outbox.dispatch(only=[topic])
    lines = json_lines()
    first, second = closing(lines, "outbox.round")
    assert first["kind"] == "outbox" and first["outcome"] == "ok" and first["sent"] == 2
    assert second["outcome"] == "idle" and second["sent"] == 0
    assert first["level"] == "info" and second["level"] == "debug"  # idle rounds stay quiet
    [said] = [x for x in lines if x.get("message") == "mengirim 2 pesan"]
    assert said["job_id"] == first["job_id"]


def test_a_certificate_job_logs_under_its_own_id_inside_its_task(json_lines) -> None:  # type: ignore[no-untyped-def]
    with job_context("certificates.issue_job", kind="queue") as task:
        assert certificate_tasks.run_job("tidak-ada", get_settings()) is False
    [run] = closing(json_lines(), "certificates.issue_job.run")
    assert run["job_id"] == "tidak-ada" and run["outcome"] == "incomplete"
    assert run["parent_job_id"] == task.id and run["kind"] == "certificates"


async def test_lines_inside_a_request_carry_its_id(json_lines) -> None:  # type: ignore[no-untyped-def]
    async def app(scope: Any, receive: Any, send: Any) -> None:
        inner.info("menangani permintaan")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    transport = httpx.ASGITransport(app=RequestLogMiddleware(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.get("/x", headers={"X-Request-ID": "permintaan-42"})
    assert response.headers["x-request-id"] == "permintaan-42"
    lines = json_lines()
    [said] = [x for x in lines if x.get("message") == "menangani permintaan"]
    assert said["request_id"] == "permintaan-42"
    [request] = [x for x in lines if x["logger"] == "lms.request"]
    assert request["request_id"] == "permintaan-42" and request["status"] == 204
