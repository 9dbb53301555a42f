"""`lms serve` in development warns when LMS_BASE_URL (used in verification QR codes and in the
links of messages) does not match the address being served."""

from __future__ import annotations

import logging

import pytest

from app import cli


@pytest.mark.parametrize(
    ("base_url", "host", "port"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1", 8000),
        ("http://localhost:8000/", "127.0.0.1", 8000),
        ("http://192.168.1.20:8000", "0.0.0.0", 8000),  # noqa: S104
        ("https://lms.example.go.id", "lms.example.go.id", 443),
    ],
)
def test_matching_addresses_raise_nothing(base_url: str, host: str, port: int) -> None:
    assert cli.base_url_mismatch(base_url, host, port) is None


def test_another_port_or_host_is_named() -> None:
    problem = cli.base_url_mismatch("http://127.0.0.1:8000", "127.0.0.1", 8001)
    assert problem and "port 8000" in problem and "port 8001" in problem
    host = cli.base_url_mismatch("http://192.168.1.20:8000", "127.0.0.1", 8000)
    assert host and "192.168.1.20" in host and "127.0.0.1" in host


def test_serve_in_development_logs_one_clear_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from typer.testing import CliRunner

    import app.cli as cli_module

    class _Settings:
        environment = "development"
        base_url = "http://127.0.0.1:8000"
        institution_name = "BKPSDM Uji"
        trust_forwarded_for = False
        content_origin = "http://localhost:8002"

    monkeypatch.setattr(cli_module, "get_settings", lambda: _Settings())
    from app.courses import content_origin

    monkeypatch.setattr(content_origin, "run_server", lambda **kwargs: None)  # no real server
    with caplog.at_level(logging.WARNING, logger="app.cli"):
        result = CliRunner().invoke(cli.cli, ["serve", "--port", "8001", "--no-migrate", "--content-port", "0"])
    assert result.exit_code == 0, result.output
    warnings = [r.getMessage() for r in caplog.records if r.name == "app.cli"]
    assert len(warnings) == 1
    assert "LMS_BASE_URL=http://127.0.0.1:8000" in warnings[0] and "8001" in warnings[0]
    assert "QR" in warnings[0]

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="app.cli"):
        CliRunner().invoke(cli.cli, ["serve", "--port", "8000", "--no-migrate"])
    assert not [r for r in caplog.records if r.name == "app.cli"]
