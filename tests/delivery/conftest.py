"""Delivery tests use the storage fixtures (local disk and a real S3 endpoint) from tests/storage."""

from __future__ import annotations

from tests.storage.conftest import (  # re-exported fixtures
    disk_storage,
    make_s3_storage,
    s3_storage,
)

__all__ = ["disk_storage", "make_s3_storage", "s3_storage"]
