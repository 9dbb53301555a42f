"""/metrics: Prometheus text, protected (404 for strangers), request histograms by route template,
scrape-time gauges from the database and the job queue, and several server processes added up."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.certificates.models import IssueJob
from app.core.db import session_scope, utcnow
from app.jobs import queue
from app.outbox.models import OutboxItem
from tests.factories import make_course, make_run
from tests.ports import free_port, stop_process


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """(sample name, sorted labels) -> value; parsing fails on anything not Prometheus text."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def value(found: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return found[(name, tuple(sorted(labels.items())))]


@pytest.fixture
async def local_client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """A client on the loopback address (the default client is 203.0.113.10, outside)."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_strangers_get_the_same_404_as_an_unknown_path(client, local_client) -> None:  # type: ignore[no-untyped-def]
    outside = await client.get("/metrics")
    unknown = await client.get("/no-such-page-here")
    assert outside.status_code == 404 == unknown.status_code
    assert outside.headers["content-type"] == unknown.headers["content-type"]
    assert "lms_http" not in outside.text
    schema = (await local_client.get("/api/v1/openapi.json")).json()
    assert "/metrics" not in schema["paths"]


async def test_loopback_reads_request_histograms_by_route_template(local_client) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        assert (await local_client.get("/healthz")).status_code == 200
    for n in (987654, 987655):
        assert (await local_client.get(f"/api/v1/courses/{n}")).status_code in (401, 404)
    before = samples((await local_client.get("/metrics")).text)
    for _ in range(2):
        await local_client.get("/healthz")
    response = await local_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = samples(response.text)
    count = "lms_http_request_duration_seconds_count"
    grew = value(after, count, method="GET", route="/healthz", status="200") - value(
        before, count, method="GET", route="/healthz", status="200"
    )
    assert grew == 2
    routes = {dict(labels).get("route") for (name, labels) in after if name == count}
    assert "/api/v1/courses/{course_id}" in routes
    assert not any("987654" in (r or "") for r in routes)  # never the raw path
    assert value(after, "lms_http_requests_in_flight") == 1  # the scrape itself
    assert ("lms_db_pool_checked_out", ()) in after


async def test_a_token_opens_it_from_anywhere_and_nothing_else_does(
    client, local_client, settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "metrics_token", "rahasia-metrik-0123456789")
    assert (await client.get("/metrics")).status_code == 404
    wrong = {"Authorization": "Bearer salah"}
    assert (await client.get("/metrics", headers=wrong)).status_code == 404
    assert (await local_client.get("/metrics")).status_code == 404  # a token is needed here too
    right = {"Authorization": "Bearer rahasia-metrik-0123456789"}
    assert (await client.get("/metrics", headers=right)).status_code == 200
    # A network list applies on top of the token.
    monkeypatch.setattr(settings, "metrics_allow", "10.0.0.0/8, 192.168.1.5")
    assert (await client.get("/metrics", headers=right)).status_code == 404
    monkeypatch.setattr(settings, "metrics_allow", "203.0.113.0/24")
    assert (await client.get("/metrics", headers=right)).status_code == 200


def test_a_bad_network_setting_is_refused_clearly() -> None:
    from pydantic import ValidationError

    from app.core.config import Settings

    with pytest.raises(ValidationError, match="LMS_METRICS_ALLOW: 'intranet'"):
        Settings(metrics_allow="10.0.0.0/8, intranet")


async def test_outbox_certificate_jobs_and_attempts_from_the_database(local_client) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    run_id = make_run(make_course()["course"])
    with session_scope() as s:
        s.add_all([
            OutboxItem(topic="email", state="pending", created_at=now - dt.timedelta(minutes=30),
                       next_attempt_at=now - dt.timedelta(minutes=10)),
            OutboxItem(topic="email", state="pending", created_at=now,
                       next_attempt_at=now + dt.timedelta(hours=1)),
            OutboxItem(topic="whatsapp", state="dead", created_at=now, next_attempt_at=now),
            OutboxItem(topic="email", state="sent", created_at=now, next_attempt_at=now,
                       sent_at=now),
            IssueJob(id="j-failed", run_id=run_id, state="failed"),
            IssueJob(id="j-dead", run_id=run_id, state="running",
                     heartbeat_at=now - dt.timedelta(hours=1)),
            IssueJob(id="j-alive", run_id=run_id, state="running", heartbeat_at=now),
        ])  # fmt: skip
    found = samples((await local_client.get("/metrics")).text)
    assert value(found, "lms_outbox_items", state="pending", topic="email") == 2
    assert value(found, "lms_outbox_items", state="dead", topic="whatsapp") == 1
    assert ("lms_outbox_items", (("state", "sent"), ("topic", "email"))) not in found
    assert 29 * 60 < value(found, "lms_outbox_oldest_pending_age_seconds") < 32 * 60
    assert 9 * 60 < value(found, "lms_outbox_lag_seconds") < 12 * 60
    assert value(found, "lms_certificate_jobs", state="failed") == 1
    assert value(found, "lms_certificate_jobs", state="running") == 2
    assert value(found, "lms_certificate_jobs", state="done") == 0
    assert value(found, "lms_certificate_jobs_stale") == 1
    assert value(found, "lms_quiz_attempts_open") == 0
    assert value(found, "lms_metrics_source_up", source="database") == 1


@pytest.fixture
def sqlite_queue(settings, monkeypatch, tmp_path) -> Iterator[None]:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "jobs_url", f"sqlite:///{tmp_path / 'jobs.db'}")
    queue.reset_huey()
    yield
    queue.reset_huey()


async def test_job_queue_depth_and_oldest_age(local_client, sqlite_queue) -> None:  # type: ignore[no-untyped-def]
    empty = samples((await local_client.get("/metrics")).text)
    assert value(empty, "lms_job_queue_pending") == 0
    assert value(empty, "lms_job_queue_oldest_age_seconds") == 0
    # Nobody consumes this queue in the test. A task delayed by an hour is not late yet.
    queue.enqueue("outbox.dispatch", delay=3600)
    time.sleep(0.5)
    queue.enqueue("outbox.dispatch")
    time.sleep(1.2)
    queue.enqueue("outbox.dispatch")
    found = samples((await local_client.get("/metrics")).text)
    assert value(found, "lms_job_queue_pending") == 3  # huey moves delayed ones when consumed
    assert 1.2 <= value(found, "lms_job_queue_oldest_age_seconds") < 1.7
    assert value(found, "lms_metrics_source_up", source="job_queue") == 1


async def test_a_queue_that_is_down_does_not_break_the_scrape(
    local_client, settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "jobs_url", f"redis://127.0.0.1:{free_port()}/0")
    queue.reset_huey()
    try:
        response = await local_client.get("/metrics")
    finally:
        queue.reset_huey()
    assert response.status_code == 200
    found = samples(response.text)
    assert value(found, "lms_metrics_source_up", source="job_queue") == 0
    assert value(found, "lms_metrics_source_up", source="database") == 1


def test_two_server_processes_are_added_up() -> None:
    """`lms serve --workers 2`: whichever process answers the scrape counts every request."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="lms-metrics-test-") as tmp:
        env = {
            k: v for k, v in os.environ.items()
            if not k.startswith("LMS_") and k != "PROMETHEUS_MULTIPROC_DIR"
        }  # fmt: skip
        env.update({
            "LMS_ENVIRONMENT": "test",
            "LMS_DATABASE_URL": f"sqlite:///{tmp}/lms.db",
            "LMS_STORAGE_URL": f"file://{tmp}/objects",
            "LMS_JOBS_URL": "immediate",
            "LMS_JOBS_IN_PROCESS_WORKER": "false",
            "LMS_QUIZ_SWEEP_SECONDS": "0",
            "LMS_BASE_URL": f"http://127.0.0.1:{port}",
            "LMS_LOG_LEVEL": "WARNING",
        })  # fmt: skip
        log = open(Path(tmp) / "serve.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "2",
             "--no-migrate"],  # /healthz needs no tables
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120  # two processes import the app on a busy machine
            while time.monotonic() < deadline:
                assert proc.poll() is None, "lms serve stopped"
                try:  # a long timeout: a request the client gave up on would count later
                    httpx.get(base + "/healthz", timeout=60)
                    break
                except httpx.TransportError:
                    time.sleep(0.2)

            def healthz_count() -> float:
                found = samples(httpx.get(base + "/metrics", timeout=10).text)
                return value(found, "lms_http_request_duration_seconds_count",
                             method="GET", route="/healthz", status="200")  # fmt: skip

            # A request is counted just after its answer went out: let the last ones land.
            time.sleep(0.5)
            before = healthz_count()  # the waiting above asked /healthz too
            requests = 24
            for _ in range(requests):  # a new connection each: both processes take some
                assert httpx.get(base + "/healthz", timeout=10).status_code == 200
            time.sleep(0.5)
            for _ in range(6):
                assert healthz_count() == before + requests
        finally:
            stop_process(proc)
            log.close()
        output = (Path(tmp) / "serve.log").read_text(errors="replace")
    assert "Traceback" not in output, output
