"""Local-disk specifics: confinement to the root, atomic writes, URL forms, and no presigning."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from app.core.config import Settings
from app.core.errors import PayloadTooLarge, ServiceUnavailable, ValidationFailed
from app.storage import DiskStorage, StorageNotSupported, get_storage, new_key, storage_from_url
from app.storage.disk import root_from_url


def all_files(root: Path) -> list[Path]:
    return [Path(d) / f for d, _, files in os.walk(root) for f in files]


def test_relative_and_absolute_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert root_from_url("file://./var/objects") == tmp_path / "var" / "objects"
    assert root_from_url(f"file://{tmp_path}/abs") == tmp_path / "abs"
    with pytest.raises(ValueError):
        root_from_url("file://")


def test_files_land_under_root_with_sidecar_only(disk_storage: DiskStorage) -> None:
    key = new_key("materials")
    disk_storage.put(key, io.BytesIO(b"hello"), content_type="text/plain")
    assert (disk_storage.root / key).read_bytes() == b"hello"
    names = sorted(p.name for p in all_files(disk_storage.root))
    assert names == sorted([key.rsplit("/", 1)[1], key.rsplit("/", 1)[1] + "~meta.json"])
    disk_storage.delete(key)
    assert all_files(disk_storage.root) == []


def test_payload_too_large_leaves_no_temp_files(disk_storage: DiskStorage) -> None:
    class Exploding:
        """Fails mid-stream like a dropped client connection would."""

        def __init__(self) -> None:
            self.calls = 0

        def read(self, size: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 3:
                raise ConnectionResetError("client went away")
            return b"z" * size

    with pytest.raises(PayloadTooLarge):
        disk_storage.put(
            new_key("a"), io.BytesIO(b"x" * 5000), content_type="text/plain", max_bytes=4999
        )
    with pytest.raises(ConnectionResetError):
        disk_storage.put(new_key("b"), Exploding(), content_type="text/plain")
    assert all_files(disk_storage.root) == []


def test_symlink_inside_root_cannot_escape(disk_storage: DiskStorage, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    disk_storage.root.mkdir(parents=True)
    (disk_storage.root / "evil").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValidationFailed):
        disk_storage.put("evil/file", io.BytesIO(b"pwned"), content_type="text/plain")
    with pytest.raises(ValidationFailed):
        disk_storage.stat("evil/file")
    assert list(outside.iterdir()) == []


def test_stat_survives_missing_sidecar(disk_storage: DiskStorage) -> None:
    key = new_key("legacy")
    disk_storage.put(key, io.BytesIO(b"12345"), content_type="text/plain")
    (disk_storage.root / (key + "~meta.json")).unlink()
    info = disk_storage.stat(key)
    assert (info.size, info.sha256, info.content_type) == (5, None, "application/octet-stream")


def test_a_prefix_directory_is_not_an_object(disk_storage: DiskStorage) -> None:
    key = new_key("materials")
    disk_storage.put(key, io.BytesIO(b"1"), content_type="text/plain")
    prefix = key.rsplit("/", 1)[0]
    assert not disk_storage.exists(prefix)
    disk_storage.delete(prefix)
    assert disk_storage.exists(key)


def test_no_presigning_and_no_direct_uploads(disk_storage: DiskStorage) -> None:
    key = new_key("materials")
    assert disk_storage.supports_presigned_upload is False
    assert disk_storage.presigned_get_url(key, filename="a.pdf", inline=True) is None
    with pytest.raises(StorageNotSupported):
        disk_storage.create_multipart_upload(key, "video/mp4")
    with pytest.raises(StorageNotSupported):
        disk_storage.presign_upload_part(key, "id", 1)
    with pytest.raises(StorageNotSupported):
        disk_storage.complete_multipart_upload(key, "id", [(1, "etag")])
    with pytest.raises(StorageNotSupported):
        disk_storage.abort_multipart_upload(key, "id")


def test_ping_fails_when_root_is_unusable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"not a directory")
    with pytest.raises(ServiceUnavailable):
        DiskStorage(f"file://{blocker}").ping()
    with pytest.raises(ServiceUnavailable):
        DiskStorage(f"file://{blocker}/sub").ping()


def test_factory_caches_per_url(tmp_path: Path) -> None:
    a = Settings(storage_url=f"file://{tmp_path}/a", environment="test")
    b = Settings(storage_url=f"file://{tmp_path}/b", environment="test")
    assert get_storage(a) is get_storage(Settings(storage_url=a.storage_url, environment="test"))
    assert get_storage(a) is not get_storage(b)
    assert isinstance(get_storage(a), DiskStorage)
    with pytest.raises(ValueError):
        storage_from_url("ftp://example/x", a)
