"""Object storage for uploaded and generated files: one interface, disk and S3 backends.

Import from here; `get_storage(settings)` returns the configured, shared backend.
"""

from app.storage.base import (
    ObjectInfo,
    RangeNotSatisfiable,
    ReadableStream,
    Storage,
    StorageNotSupported,
    StoredObject,
    content_disposition,
    new_key,
    validate_key,
)
from app.storage.disk import DiskStorage
from app.storage.s3 import S3Storage
from app.storage.service import clear_storage_cache, get_storage, storage_from_url

__all__ = [
    "DiskStorage",
    "ObjectInfo",
    "RangeNotSatisfiable",
    "ReadableStream",
    "S3Storage",
    "Storage",
    "StorageNotSupported",
    "StoredObject",
    "clear_storage_cache",
    "content_disposition",
    "get_storage",
    "new_key",
    "storage_from_url",
    "validate_key",
]
