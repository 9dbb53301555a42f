"""Faults for tests that break the storage on purpose: the app's S3 endpoint pointed at a dead
port and back (a real moto server), and a size-limited tmpfs folder for "disk full"."""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.core.config import Settings
from app.storage import S3Storage, clear_storage_cache, get_storage
from tests.ports import free_port
from tests.s3server import FAKE_AWS_ENV


@dataclass
class S3Fault:
    """The app's storage is a bucket on a real S3 server; `down()` makes it unreachable."""

    settings: Settings
    endpoint: str
    dead: str

    def down(self) -> None:
        self.settings.s3_endpoint_url = self.dead

    def up(self) -> None:
        self.settings.s3_endpoint_url = self.endpoint

    @property
    def storage(self) -> S3Storage:
        store = get_storage(self.settings)
        assert isinstance(store, S3Storage)
        return store

    def object_keys(self) -> list[str]:
        store = self.storage
        listed = store.client.list_objects_v2(Bucket=store.bucket)
        return sorted(o["Key"] for o in listed.get("Contents", []))


@contextlib.contextmanager
def app_on_s3(
    settings: Settings, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[S3Fault]:
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(settings, "storage_url", f"s3://faults-{uuid.uuid4().hex[:12]}/lms")
    monkeypatch.setattr(settings, "s3_endpoint_url", endpoint)
    clear_storage_cache()
    fault = S3Fault(settings, endpoint, f"http://127.0.0.1:{free_port()}")
    fault.storage.ensure_bucket()
    try:
        yield fault
    finally:
        clear_storage_cache()


def mount_permitted() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@contextlib.contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `path` (as root); skipped with the reason when mounting is
    not permitted, unless CI is set (there the test must run)."""
    path.mkdir(parents=True, exist_ok=True)
    if not mount_permitted():
        if os.environ.get("CI"):
            pytest.fail("disk-full tests need root to mount a small tmpfs (CI is set)")
        pytest.skip("mounting a size-limited tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"could not mount a tmpfs: {done.stderr.strip()}")
        pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(path: Path, leave: int = 0) -> Path:
    """Fill the file system of `path` up to `leave` free bytes with one filler file."""
    filler = path / "filler.bin"
    stat = os.statvfs(path)
    free = stat.f_bavail * stat.f_frsize
    with open(filler, "wb") as out:
        remaining = max(0, free - leave)
        block = b"\0" * (1024 * 1024)
        with contextlib.suppress(OSError):
            while remaining > 0:
                remaining -= out.write(block[: min(len(block), remaining)])
    return filler
