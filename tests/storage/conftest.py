"""Fixtures for the storage tests: a moto S3 server per session and both backends per test.

Reusable elsewhere: `s3_endpoint` (session), `make_s3_storage`, `s3_storage`, `disk_storage`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.config import Settings
from app.storage import DiskStorage, S3Storage, Storage, storage_from_url


@pytest.fixture
def make_s3_storage(s3_endpoint: str) -> Callable[..., S3Storage]:
    """Factory: a fresh bucket (created) per call unless `create=False`."""

    def make(prefix: str = "lms", *, bucket: str | None = None, create: bool = True) -> S3Storage:
        name = bucket or f"test-{uuid.uuid4().hex[:16]}"
        url = f"s3://{name}/{prefix}" if prefix else f"s3://{name}"
        settings = Settings(storage_url=url, s3_endpoint_url=s3_endpoint, environment="test")
        storage = storage_from_url(url, settings)
        assert isinstance(storage, S3Storage)
        if create:
            storage.ensure_bucket()
        return storage

    return make


@pytest.fixture
def s3_storage(make_s3_storage: Callable[..., S3Storage]) -> S3Storage:
    return make_s3_storage()


@pytest.fixture
def disk_storage(tmp_path: Path) -> DiskStorage:
    return DiskStorage(f"file://{tmp_path / 'objects'}")


@pytest.fixture(params=["disk", "s3"])
def storage(request: pytest.FixtureRequest) -> Storage:
    """Each behaviour test runs once per backend."""
    backend: Storage = request.getfixturevalue(f"{request.param}_storage")
    return backend
