"""The SIASN contract fake, started once on 127.0.0.1 and emptied for every test, and the
settings that point the LMS at it (pushing on)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from app.siasn import client as siasn_client
from tests.siasn.fake import FakeSiasn


@pytest.fixture(scope="session")
def _fake_server() -> Iterator[FakeSiasn]:
    fake = FakeSiasn().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake(_fake_server: FakeSiasn) -> FakeSiasn:
    f = _fake_server
    with f.lock:
        f.kursus.clear()
        f.diklat.clear()
        f.persons.clear()
        f.by_id.clear()
        f.apim_tokens.clear()
    f.unknown_nips.clear()
    f.throttled_until, f.reject_saves, f.latency = 0.0, None, 0.0
    f.stats = type(f.stats)()
    siasn_client.tokens.clear()
    return f


@pytest.fixture
def siasn_on(fake: FakeSiasn, settings: Any, monkeypatch: pytest.MonkeyPatch) -> FakeSiasn:
    """Pushing on, pointed at the fake, with quick retries."""
    for name, value in fake.settings_env().items():
        if name in ("siasn_consumer_secret", "siasn_sso_token"):
            value = SecretStr(value)
        monkeypatch.setattr(settings, name, value)
    monkeypatch.setattr(settings, "siasn_backoff_seconds", 0.05)
    monkeypatch.setattr(settings, "siasn_instansi_id", "A5EB03E23CFBF6A0E040640A040252AD")
    return fake
