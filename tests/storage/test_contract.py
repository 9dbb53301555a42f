"""Behaviour every storage backend must share, run against local disk and a real S3 server."""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
from datetime import UTC, datetime, timedelta

import pytest

from app.core.errors import NotFound, PayloadTooLarge, ValidationFailed
from app.storage import RangeNotSatisfiable, Storage, new_key, validate_key

MiB = 1024 * 1024


class GeneratedStream:
    """A file-like object producing `size` pseudo-random bytes without holding them."""

    def __init__(self, size: int, seed: int = 1) -> None:
        self.remaining = size
        self._rng = random.Random(seed)
        self._hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        n = self.remaining if size < 0 else min(size, self.remaining)
        data = self._rng.randbytes(n)
        self.remaining -= n
        self._hash.update(data)
        return data

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


def read_all(storage: Storage, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(storage.open_range(key, start, end))


def test_put_stat_and_sha256(storage: Storage) -> None:
    data = os.urandom(3 * MiB + 123)
    key = new_key("materials")
    before = datetime.now(UTC) - timedelta(seconds=5)

    stored = storage.put(key, io.BytesIO(data), content_type="application/pdf")

    assert stored.key == key
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.content_type == "application/pdf"
    info = storage.stat(key)
    assert info.key == key
    assert info.size == len(data)
    assert info.content_type == "application/pdf"
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.etag
    assert info.last_modified.tzinfo is not None
    assert before <= info.last_modified <= datetime.now(UTC) + timedelta(seconds=5)
    assert read_all(storage, key) == data


def test_put_overwrites(storage: Storage) -> None:
    key = new_key("materials")
    storage.put(key, io.BytesIO(b"first version"), content_type="text/plain")
    storage.put(key, io.BytesIO(b"second"), content_type="text/csv")
    assert read_all(storage, key) == b"second"
    info = storage.stat(key)
    assert (info.size, info.content_type) == (6, "text/csv")
    assert info.sha256 == hashlib.sha256(b"second").hexdigest()


def test_empty_object(storage: Storage) -> None:
    key = new_key("empty")
    stored = storage.put(key, io.BytesIO(b""), content_type="text/plain")
    assert stored.size == 0
    assert stored.sha256 == hashlib.sha256(b"").hexdigest()
    assert storage.stat(key).size == 0
    assert read_all(storage, key) == b""


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (0, 0),
        (0, 9),
        (1000, 1_500_000),
        (MiB - 1, MiB + 1),  # across an internal chunk boundary
        (2 * MiB, None),  # to the end
        (2 * MiB + 500 - 1, None),  # only the last byte
        (100, 10 * MiB),  # end past the object is clamped, as HTTP does
    ],
)
def test_range_reads(storage: Storage, start: int, end: int | None) -> None:
    data = os.urandom(2 * MiB + 500)
    key = new_key("video")
    storage.put(key, io.BytesIO(data), content_type="video/mp4")
    expected = data[start:] if end is None else data[start : end + 1]
    assert read_all(storage, key, start, end) == expected


def test_range_chunks_are_bounded(storage: Storage) -> None:
    data = os.urandom(3 * MiB)
    key = new_key("video")
    storage.put(key, io.BytesIO(data), content_type="video/mp4")
    chunks = list(storage.open_range(key))
    assert len(chunks) >= 3
    assert max(len(c) for c in chunks) <= MiB
    assert b"".join(chunks) == data


def test_bad_ranges(storage: Storage) -> None:
    key = new_key("video")
    storage.put(key, io.BytesIO(b"0123456789"), content_type="video/mp4")
    with pytest.raises(RangeNotSatisfiable):
        read_all(storage, key, 10)
    with pytest.raises(ValidationFailed):
        read_all(storage, key, 5, 4)
    with pytest.raises(ValidationFailed):
        read_all(storage, key, -1)


def test_exists_and_delete(storage: Storage) -> None:
    key = new_key("tmp")
    assert not storage.exists(key)
    storage.put(key, io.BytesIO(b"x" * 10), content_type="text/plain")
    assert storage.exists(key)
    storage.delete(key)
    assert not storage.exists(key)
    storage.delete(key)  # idempotent
    with pytest.raises(NotFound):
        storage.stat(key)


def test_missing_key_raises_not_found(storage: Storage) -> None:
    key = new_key("nope")
    with pytest.raises(NotFound):
        storage.stat(key)
    with pytest.raises(NotFound):
        storage.open_range(key)  # eagerly, before any iteration
    with pytest.raises(NotFound):
        storage.open_range(key, 5, 10)


@pytest.mark.parametrize("size", [100 * 1024, 20 * MiB])
def test_max_bytes_exceeded_leaves_nothing(storage: Storage, size: int) -> None:
    key = new_key("upload")
    with pytest.raises(PayloadTooLarge):
        storage.put(key, GeneratedStream(size), content_type="video/mp4", max_bytes=size - 1)
    assert not storage.exists(key)
    with pytest.raises(NotFound):
        storage.stat(key)


def test_max_bytes_exact_fits(storage: Storage) -> None:
    key = new_key("upload")
    stored = storage.put(key, io.BytesIO(b"a" * 4096), content_type="text/plain", max_bytes=4096)
    assert stored.size == 4096


def test_failed_overwrite_keeps_previous_object(storage: Storage) -> None:
    key = new_key("upload")
    storage.put(key, io.BytesIO(b"keep me"), content_type="text/plain")
    with pytest.raises(PayloadTooLarge):
        storage.put(key, GeneratedStream(10 * MiB), content_type="text/plain", max_bytes=MiB)
    assert read_all(storage, key) == b"keep me"


def test_streamed_multipart_put_round_trips(storage: Storage) -> None:
    size = 20 * MiB + 12345  # three 8 MiB parts on S3, the last one short
    stream = GeneratedStream(size, seed=7)
    key = new_key("video")

    stored = storage.put(key, stream, content_type="video/mp4", max_bytes=size)

    assert stored.size == size
    assert stored.sha256 == stream.sha256
    info = storage.stat(key)
    assert (info.size, info.sha256, info.content_type) == (size, stream.sha256, "video/mp4")
    digest = hashlib.sha256()
    total = 0
    for chunk in storage.open_range(key):
        digest.update(chunk)
        total += len(chunk)
    assert total == size
    assert digest.hexdigest() == stream.sha256  # catches reordered or dropped parts
    tail = read_all(storage, key, size - 100)
    assert len(tail) == 100


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/etc/passwd",
        "../outside",
        "a/../../b",
        "a/..",
        "a/./b",
        ".",
        "a//b",
        "a/",
        "a b",
        "a\\b",
        "naïve.pdf",
        "a\x00b",
        "a\nb",
        "x" * 600,
        "laporan~1",
    ],
)
def test_bad_keys_rejected(storage: Storage, key: str) -> None:
    with pytest.raises(ValidationFailed):
        storage.put(key, io.BytesIO(b"data"), content_type="text/plain")
    with pytest.raises(ValidationFailed):
        storage.stat(key)
    with pytest.raises(ValidationFailed):
        storage.open_range(key)
    with pytest.raises(ValidationFailed):
        storage.delete(key)
    with pytest.raises(ValidationFailed):
        storage.exists(key)


@pytest.mark.parametrize("content_type", ["", "text", "text/plain\r\nX-Evil: 1", "a/b c"])
def test_bad_content_type_rejected(storage: Storage, content_type: str) -> None:
    key = new_key("x")
    with pytest.raises(ValidationFailed):
        storage.put(key, io.BytesIO(b"data"), content_type=content_type)
    assert not storage.exists(key)


def test_ping(storage: Storage) -> None:
    storage.ping()


def test_new_key_shape() -> None:
    now = datetime.now(UTC)
    keys = {new_key("materials/videos") for _ in range(100)}
    assert len(keys) == 100
    for key in keys:
        assert re.fullmatch(r"materials/videos/\d{4}/\d{2}/[0-9a-f]{32}", key)
        assert key.split("/")[2] in {f"{now:%Y}", f"{now + timedelta(days=1):%Y}"}
        assert validate_key(key) == key
    for prefix in ["", "../x", "/abs", "a/", "a.b", "a b"]:
        with pytest.raises(ValidationFailed):
            new_key(prefix)
