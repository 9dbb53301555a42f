"""The BSrE Esign Client Service fake (tests/tte/fake.py), started once per run, and settings
that point the LMS at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.tte.fake import PASSWORD, USERNAME, EsignFake


@pytest.fixture(scope="session")
def _esign_fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EsignFake, Path]]:
    fake = EsignFake().start()
    trust = fake.write_trust(tmp_path_factory.mktemp("bsre") / "bsre-trust.pem")
    yield fake, trust
    fake.stop()


@pytest.fixture
def bsre(_esign_fake, settings, monkeypatch) -> EsignFake:  # type: ignore[no-untyped-def]
    """The fake, emptied, with LMS_BSRE_* pointing at it (API v1, invisible)."""
    fake, trust = _esign_fake
    fake.clear()
    fake.latency = 0.0
    monkeypatch.setattr(settings, "bsre_url", fake.url)
    monkeypatch.setattr(settings, "bsre_username", USERNAME)
    monkeypatch.setattr(settings, "bsre_password", SecretStr(PASSWORD))
    monkeypatch.setattr(settings, "bsre_trust_pem", str(trust))
    monkeypatch.setattr(settings, "bsre_api_version", "1")
    monkeypatch.setattr(settings, "bsre_concurrency", 2)
    for user in fake.users.values():  # a test may have changed one
        if user.nik.endswith("0001"):
            from tests.tte.fake import PASSPHRASE_OK

            user.passphrase = PASSPHRASE_OK
    return fake
