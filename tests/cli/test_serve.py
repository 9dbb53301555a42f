"""`lms serve`: one worker process per usable CPU core unless `--workers` says otherwise, uvicorn
with uvloop and httptools, and the content origin's second port with several workers."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.core import cpus
from app.courses import content_origin
from tests.ports import free_port, stop_process

REPO = Path(__file__).resolve().parents[2]


def test_usable_cores_follow_the_affinity_mask_and_the_container_quota(tmp_path: Path) -> None:
    mask = len(os.sched_getaffinity(0))
    assert cpus.usable_cores(tmp_path) == mask  # no cgroup files: the mask alone
    (tmp_path / "cpu.max").write_text("max 100000\n")  # cgroup v2 without a quota
    assert cpus.usable_cores(tmp_path) == mask
    (tmp_path / "cpu.max").write_text("50000 100000\n")  # half a core: still one worker
    assert cpus.usable_cores(tmp_path) == 1
    (tmp_path / "cpu.max").write_text("150000 100000\n")  # docker run --cpus 1.5
    assert cpus.usable_cores(tmp_path) == min(mask, 2)
    (tmp_path / "cpu.max").write_text(f"{(mask + 8) * 100000} 100000\n")  # above the mask
    assert cpus.usable_cores(tmp_path) == mask

    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")  # cgroup v1 without a quota
    assert cpus.usable_cores(v1) == mask
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    assert cpus.usable_cores(v1) == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [([], 3), (["--workers", "0"], 3), (["--workers", "1"], 1), (["--workers", "5"], 5)],
)
def test_serve_runs_one_worker_per_usable_core_unless_told(
    monkeypatch: pytest.MonkeyPatch, args: list[str], expected: int
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(cpus, "usable_cores", lambda: 3)
    monkeypatch.setattr(content_origin, "run_server", lambda **kwargs: calls.append(kwargs))
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--no-migrate", "--content-port", "0", *args])
    assert result.exit_code == 0, result.output
    assert [call["workers"] for call in calls] == [expected]
    assert f"({expected} worker" in result.output
    # Several processes got a metrics folder for the run; it is gone and no longer named after.
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ


def test_serve_refuses_a_negative_worker_count() -> None:
    result = CliRunner().invoke(cli, ["serve", "--no-migrate", "--workers", "-1"])
    assert result.exit_code != 0


def test_the_server_runs_uvloop_and_httptools(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append(kwargs))
    content_origin.run_server(
        host="127.0.0.1", port=free_port(), workers=2, content_port=None, proxy_headers=True
    )
    [options] = calls
    assert options["loop"] == "uvloop" and options["http"] == "httptools"
    assert options["workers"] == 2 and options["proxy_headers"] is True
    assert options["access_log"] is False
    assert options["timeout_worker_healthcheck"] >= 30  # slow starts are not killed as hung


def test_default_workers_serve_the_lms_and_the_content_port_and_stop_cleanly() -> None:
    """A real `lms serve` without --workers: one process per usable core, both ports answer
    (the content port routes by Host to the content app only), SIGTERM stops every process."""
    port, content_port = free_port(), free_port()
    workers = cpus.usable_cores()
    with tempfile.TemporaryDirectory(prefix="lms-serve-test-") as tmp:
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
            "LMS_CONTENT_ORIGIN": f"http://localhost:{content_port}",
            "LMS_LOG_LEVEL": "WARNING",
        })  # fmt: skip
        log_path = Path(tmp) / "serve.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--no-migrate"],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 180  # processes importing the app on a busy machine
            while True:
                assert proc.poll() is None, log_path.read_text(errors="replace")
                try:
                    health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "lms serve did not answer"
                    time.sleep(0.2)
            assert health.status_code in (200, 503)  # no tables: /healthz still answers
            content = httpx.get(
                f"http://127.0.0.1:{content_port}/api/v1/me",
                headers={"Host": f"localhost:{content_port}"}, timeout=30,
            )  # fmt: skip
            assert content.status_code == 404  # the content origin has no LMS routes
            assert content.headers["content-security-policy"] == "default-src 'none'"
            children = [  # not multiprocessing's resource tracker
                child for child in psutil.Process(proc.pid).children()
                if "spawn_main" in " ".join(child.cmdline())
            ]  # fmt: skip
            assert len(children) == (workers if workers > 1 else 0)
        finally:
            proc.terminate()  # SIGTERM, as a service manager stops it
            try:
                proc.wait(timeout=90)  # every worker runs its lifespan shutdown first
            except subprocess.TimeoutExpired:
                stop_process(proc)
        output = log_path.read_text(errors="replace")
    assert proc.returncode == 0, output
    assert f"({workers} worker" in output
    _gone, alive = psutil.wait_procs(children, timeout=30)
    assert not alive
    assert "Traceback" not in output, output
