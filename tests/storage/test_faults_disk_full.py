"""Disk full on the embedded default (local storage and the SQLite database on a size-limited
tmpfs): uploads and SQLite writes fail with a clear 507 naming what is full, and leave nothing
half-written — no partial object, no temporary file, no row — and work again once there is room.

Mounting needs root: elsewhere the tests are skipped with the reason (failed when CI is set)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.cli import upgrade_database
from app.core.config import Settings, get_settings
from app.core.db import get_engine, reset_engine, session_scope
from app.courses.models import ContentFile, Course
from app.storage import DiskStorage, clear_storage_cache
from app.storage.base import InsufficientStorage
from tests.courses.conftest import pdf_bytes
from tests.factories import api_token, make_user
from tests.storage.faults import fill, small_disk


def _files(root: Path) -> list[str]:
    """Everything under `root` but the filler (objects, sidecars, temporary files)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and p.name != "filler.bin")  # fmt: skip


@pytest.fixture
def full_objects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with small_disk(tmp_path / "objects", "2m") as root:
        monkeypatch.setattr(get_settings(), "storage_url", f"file://{root}")
        clear_storage_cache()
        try:
            yield root
        finally:
            clear_storage_cache()


def test_disk_storage_put_on_a_full_disk_leaves_no_partial_object(full_objects: Path) -> None:
    storage = DiskStorage(f"file://{full_objects}")
    filler = fill(full_objects, leave=256 * 1024)
    data = pdf_bytes() + os.urandom(1024 * 1024)
    with pytest.raises(InsufficientStorage) as caught:
        storage.put("files/2026/01/abc", BytesReader(data), content_type="application/pdf")
    assert caught.value.status_code == 507 and "penuh" in caught.value.detail
    assert _files(full_objects) == []  # no partial object, no sidecar, no temporary file
    filler.unlink()
    stored = storage.put("files/2026/01/abc", BytesReader(data), content_type="application/pdf")
    assert stored.size == len(data) and storage.exists("files/2026/01/abc")


class BytesReader:
    """A readable stream over bytes, in 64 KiB reads."""

    def __init__(self, data: bytes) -> None:
        self._data, self._pos = data, 0

    def read(self, size: int = -1, /) -> bytes:
        size = 65536 if size < 0 else min(size, 65536)
        chunk = self._data[self._pos : self._pos + size]
        self._pos += len(chunk)
        return chunk


async def test_upload_on_a_full_disk_is_a_507_and_keeps_nothing(
    client: httpx.AsyncClient, full_objects: Path
) -> None:
    headers = {
        **await api_token(client, make_user(roles=("content_admin",)).email or ""),
        "Content-Type": "application/octet-stream",
    }
    filler = fill(full_objects, leave=256 * 1024)
    data = pdf_bytes(text="Modul besar") + os.urandom(1024 * 1024)
    full = await client.post("/api/v1/uploads/stream?kind=document", headers=headers, content=data)
    assert full.status_code == 507, full.text
    body = full.json()
    assert body["error"] == "insufficient_storage"
    assert "Ruang penyimpanan berkas di server penuh" in body["detail"]
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(ContentFile)) == 0
    assert _files(full_objects) == []
    filler.unlink()
    again = await client.post("/api/v1/uploads/stream?kind=document", headers=headers,
                              content=data)  # fmt: skip
    assert again.status_code == 201, again.text


# --- the SQLite database on a full disk --------------------------------------------------------------


@pytest.fixture
def full_database(tmp_path: Path) -> Iterator[Path]:
    """The app's database is a SQLite file on a 16 MB tmpfs (a copy of the empty, migrated test
    database, or migrated there when the tests run on PostgreSQL)."""
    settings: Settings = get_settings()
    original = settings.database_url
    with small_disk(tmp_path / "db", "16m") as root:
        target = root / "lms.db"
        engine = get_engine()
        if engine.dialect.name == "sqlite" and engine.url.database:
            with sqlite3.connect(engine.url.database) as src, sqlite3.connect(target) as dst:
                src.backup(dst)
        settings.database_url = f"sqlite:///{target}"
        reset_engine()
        try:
            if engine.dialect.name != "sqlite":
                upgrade_database()
            yield root
        finally:
            settings.database_url = original
            reset_engine()


def _course(n: int) -> dict[str, object]:
    return {"code": f"PENUH-{n}", "title": f"Kursus {n} " + "x" * 200, "jp": 2,
            "category": "teknis", "description": "Uraian. " * 4000}  # fmt: skip


def _courses() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Course)) or 0


@pytest.fixture
async def served(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """As a server answers: an error raised at commit (after the route) is the error page the
    app built, not an exception in the test (ASGITransport re-raises those by default)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_sqlite_writes_on_a_full_disk_are_a_507_and_roll_back_whole(
    served: httpx.AsyncClient, full_database: Path
) -> None:
    client = served
    headers = await api_token(client, make_user(roles=("content_admin",)).email or "")
    filler = fill(full_database, leave=160 * 1024)
    created = 0
    refused: httpx.Response | None = None
    for n in range(200):
        response = await client.post("/api/v1/courses", headers=headers, json=_course(n))
        if response.status_code != 201:
            refused = response
            break
        created += 1
    assert refused is not None, "the disk never filled up"
    assert refused.status_code == 507, refused.text
    body = refused.json()
    assert body["error"] == "insufficient_storage"
    assert "basis data" in body["detail"] and "penuh" in body["detail"]
    filler.unlink()
    assert _courses() == created  # every acknowledged course is there, the refused one is not
    again = await client.post("/api/v1/courses", headers=headers, json=_course(999))
    assert again.status_code == 201, again.text
    assert _courses() == created + 1
