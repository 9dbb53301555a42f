"""Chooses and caches the storage backend named by `settings.storage_url`.

Owns URL-scheme dispatch (`file://` -> DiskStorage, `s3://` -> S3Storage) and the process cache.
"""

from __future__ import annotations

import threading

from app.core.config import Settings
from app.storage.base import Storage
from app.storage.disk import DiskStorage
from app.storage.s3 import S3Storage

_cache: dict[tuple[str, str | None, str, int], Storage] = {}
_lock = threading.Lock()


def storage_from_url(url: str, settings: Settings) -> Storage:
    """A new backend for `url`; S3 endpoint, region and presign lifetime come from `settings`."""
    if url.startswith("file://"):
        return DiskStorage(url)
    if url.startswith("s3://"):
        return S3Storage(
            url,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            presign_seconds=settings.s3_presign_seconds,
        )
    raise ValueError(f"unsupported storage URL {url!r}: use file://PATH or s3://BUCKET[/PREFIX]")


def get_storage(settings: Settings) -> Storage:
    """The shared backend for these settings; boto3 clients are thread-safe and worth reusing."""
    # The S3 fields are part of the key so a test pointing the same URL at a new server
    # does not get a client bound to the old one.
    cache_key = (
        settings.storage_url,
        settings.s3_endpoint_url,
        settings.s3_region,
        settings.s3_presign_seconds,
    )
    with _lock:
        storage = _cache.get(cache_key)
        if storage is None:
            storage = storage_from_url(settings.storage_url, settings)
            _cache[cache_key] = storage
        return storage


def clear_storage_cache() -> None:
    with _lock:
        _cache.clear()
