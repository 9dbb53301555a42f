"""Storage listing (`iter_objects`), which backups walk: every object once with its size, and
nothing that is not an object (sidecars, temp files, other prefixes, folder markers)."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.config import Settings
from app.storage import DiskStorage, S3Storage, storage_from_url


def test_disk_lists_objects_only(tmp_path: Path) -> None:
    store = DiskStorage(f"file://{tmp_path / 'objects'}")
    assert list(store.iter_objects()) == []  # the folder does not exist yet
    store.put("materials/2026/01/a", io.BytesIO(b"abc"), content_type="text/plain")
    store.put("certificates/2026/1-x.pdf", io.BytesIO(b"%PDF-1.7"), content_type="application/pdf")
    store.put("z", io.BytesIO(b""), content_type="text/plain")
    root = tmp_path / "objects"
    (root / "materials" / "2026" / "01" / "b~tmp").write_bytes(b"half written")
    (root / "stray name with spaces").write_bytes(b"not ours")
    (root / "materials" / "link").symlink_to(root / "z")

    listed = [(o.key, o.size) for o in store.iter_objects()]

    assert sorted(listed) == [("certificates/2026/1-x.pdf", 8), ("materials/2026/01/a", 3),
                              ("z", 0)]  # fmt: skip
    assert len(listed) == 3


def test_s3_lists_every_page_under_its_prefix_only(
    make_bucket: Callable[[str], str], settings: Settings, s3_endpoint: str
) -> None:
    url = make_bucket("lms")
    store = storage_from_url(url, settings.model_copy(update={"s3_endpoint_url": s3_endpoint}))
    assert isinstance(store, S3Storage)
    bucket = store.bucket
    keys = [f"materials/{i:04d}" for i in range(1003)]  # more than one 1,000-key page
    for key in keys:
        store.client.put_object(Bucket=bucket, Key=f"lms/{key}", Body=key.encode())
    store.client.put_object(Bucket=bucket, Key="other/materials/0001", Body=b"x")
    store.client.put_object(Bucket=bucket, Key="lms/folder/", Body=b"")
    store.client.put_object(Bucket=bucket, Key="lmsx/materials/0001", Body=b"x")

    listed = list(store.iter_objects())

    assert [o.key for o in listed] == keys
    assert all(o.size == len(o.key) for o in listed)


def test_s3_listing_of_a_missing_bucket_is_a_clear_error(
    settings: Settings, s3_endpoint: str
) -> None:
    from app.core.errors import LMSError

    store = storage_from_url(f"s3://no-such-bucket-{os.getpid()}",
                             settings.model_copy(update={"s3_endpoint_url": s3_endpoint}))  # fmt: skip
    with pytest.raises(LMSError) as caught:
        list(store.iter_objects())
    assert caught.value.status_code in (404, 503)  # a domain error, never a botocore traceback
