"""compose.yaml describes the same stack as the production-profile tests: it parses, has the five
services with healthchecks, and gives the app and the worker the production settings."""

from __future__ import annotations

from typing import Any

import yaml

from tests.production.stack import REPO


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / "compose.yaml").read_text()))


def test_services_and_healthchecks() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "seaweedfs", "app", "worker"}
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
    assert services["app"]["depends_on"] == {
        name: {"condition": "service_healthy"} for name in ("postgres", "redis", "seaweedfs")
    }
    assert services["worker"]["depends_on"] == {"app": {"condition": "service_healthy"}}
    assert services["worker"]["command"][:3] == ["lms", "jobs", "worker"]
    assert services["seaweedfs"]["command"][0] == "mini"


def test_app_and_worker_share_the_production_settings() -> None:
    services = _compose()["services"]
    for name in ("app", "worker"):
        env = services[name]["environment"]
        assert env["LMS_ENVIRONMENT"] == "production"
        assert env["LMS_JOBS_IN_PROCESS_WORKER"] == "false"
        assert env["LMS_JOBS_URL"].startswith("redis://redis:")
        assert env["LMS_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["LMS_STORAGE_URL"].startswith("s3://")
        assert "LMS_S3_ENDPOINT_URL" in env and "AWS_SECRET_ACCESS_KEY" in env
        assert "?" in env["LMS_SECRET_KEY"]  # compose refuses to start without one
