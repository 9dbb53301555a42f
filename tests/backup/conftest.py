"""Fixtures for backup tests: a seeded installation (certificates with signed PDFs in the store,
a multi-chunk upload), fresh restore targets of the same database kind, and a moto S3 server.

On PostgreSQL (LMS_TEST_DATABASE_URL) the restore target is the database `lms_backup_dst`, made
afresh for each test next to the test database.
"""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.core.config import Settings
from app.storage import S3Storage, Storage, clear_storage_cache, get_storage, storage_from_url
from tests.factories import make_completed_run

# One per xdist worker, so parallel PostgreSQL runs do not share a restore target.
TARGET_DB = "lms_backup_dst" + os.environ.get("PYTEST_XDIST_WORKER", "")
BIG = 3 * 1024 * 1024 + 17  # more than one 1 MiB chunk: the streamed copy path



@pytest.fixture
def make_bucket(s3_endpoint: str, settings: Settings) -> Callable[[str], str]:
    """A new, empty bucket on the moto server; returns `s3://bucket/prefix`."""

    def make(prefix: str = "lms") -> str:
        url = f"s3://bk-{uuid.uuid4().hex[:16]}/{prefix}"
        store = storage_from_url(url, settings.model_copy(update={"s3_endpoint_url": s3_endpoint}))
        assert isinstance(store, S3Storage)
        store.ensure_bucket()
        return url

    return make


@pytest.fixture(params=["disk", "s3"])
def source_store(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> str:  # fmt: skip
    """The installation's store, empty: a fresh folder or S3 bucket (settings switched)."""
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        monkeypatch.setattr(settings, "s3_endpoint_url", endpoint)
        url = request.getfixturevalue("make_bucket")()
    else:
        url = f"file://{tmp_path / 'installation-objects'}"
    monkeypatch.setattr(settings, "storage_url", url)
    clear_storage_cache()
    return settings.storage_url


@dataclass
class Seeded:
    certificates: int
    big_key: str


def seed_installation(settings: Settings) -> Seeded:
    """Two runs with issued (signed, stored) certificates and one large upload."""
    from app.outbox import service as outbox

    make_completed_run(2, auto_issue=True)
    make_completed_run(1, auto_issue=True)
    outbox.dispatch(settings)  # the PDFs are made by the outbox after the issue commits
    store = get_storage(settings)
    key = store.new_key("materials")
    store.put(key, io.BytesIO(os.urandom(BIG)), content_type="video/mp4")
    return Seeded(certificates=3, big_key=key)


@pytest.fixture
def seeded(source_store: str, settings: Settings) -> Seeded:
    return seed_installation(settings)


def object_hashes(store: Storage) -> dict[str, str]:
    """Every object in a store with the sha256 of its bytes, read back in full."""
    hashes: dict[str, str] = {}
    for listed in store.iter_objects():
        digest = hashlib.sha256()
        for chunk in store.open_range(listed.key):
            digest.update(chunk)
        hashes[listed.key] = digest.hexdigest()
    return hashes


def _admin_url(url: str) -> str:
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def fresh_postgres(url: str, name: str) -> str:
    """(Re)create database `name` on the server of `url`; returns its URL."""
    engine = create_engine(_admin_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def target_database(settings: Settings, tmp_path: Path) -> str:
    """An empty database of the same kind as the test database."""
    if settings.database_url.startswith("postgresql"):
        return fresh_postgres(settings.database_url, TARGET_DB)
    return f"sqlite:///{tmp_path / 'restored' / 'lms.db'}"


@pytest.fixture
def target_store(source_store: str, settings: Settings, tmp_path: Path,
                 request: pytest.FixtureRequest) -> str:  # fmt: skip
    """An empty store of the same kind as the installation's."""
    if source_store.startswith("s3://"):
        url: str = request.getfixturevalue("make_bucket")("restored")
        return url
    return f"file://{tmp_path / 'restored' / 'objects'}"
