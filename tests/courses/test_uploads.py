"""Uploads: streamed and browser-direct (S3 multipart) files are type-checked, capped, stored once."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import os
import socket
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from playwright.sync_api import Page, sync_playwright
from pydantic import BaseModel
from sqlalchemy import func, select, update

from app.core.config import Settings
from app.core.db import session_scope
from app.core.errors import (
    Conflict,
    Forbidden,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from app.courses import uploads
from app.courses.filetypes import UploadKind
from app.courses.models import ContentFile, UploadSession
from app.storage import DiskStorage, S3Storage, Storage, StorageNotSupported
from app.web import errors
from tests.courses.conftest import mp4_bytes, pdf_bytes, png_bytes
from tests.factories import make_user

# Marked per module: tests/conftest.py's late marker breaks parametrized async tests.
pytestmark = pytest.mark.anyio

MiB = 1024 * 1024


# --- helpers -----------------------------------------------------------------------------


def stored_keys(storage: Storage) -> list[str]:
    """Every object the backend holds (sidecar metadata excluded)."""
    if isinstance(storage, DiskStorage):
        if not storage.root.exists():
            return []
        return sorted(
            str(path.relative_to(storage.root))
            for path in storage.root.rglob("*")
            if path.is_file() and "~" not in path.name
        )
    assert isinstance(storage, S3Storage)
    listing = storage.client.list_objects_v2(Bucket=storage.bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def pending_uploads(storage: S3Storage) -> list[str]:
    listing = storage.client.list_multipart_uploads(Bucket=storage.bucket)
    return [item["UploadId"] for item in listing.get("Uploads", [])]


def content_file_count() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(ContentFile)) or 0


def store(storage: Storage, data: bytes, kind: UploadKind, settings: Settings) -> ContentFile:
    with session_scope() as session:
        row = uploads.store_stream(session, storage, io.BytesIO(data), kind=kind, settings=settings)
        session.flush()
        session.expunge(row)
    return row


def read_object(storage: Storage, key: str) -> bytes:
    return b"".join(storage.open_range(key))


def put_part(url: str, data: bytes) -> str:
    # Without a Content-Type urllib labels the body a form, which moto then tries to parse.
    request = urllib.request.Request(  # noqa: S310 - moto on 127.0.0.1
        url, data=data, method="PUT", headers={"Content-Type": "application/octet-stream"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return str(response.headers["ETag"])


class TrickleStream:
    """Returns at most `step` bytes per read, as sockets and pipes do."""

    def __init__(self, data: bytes, step: int = 777) -> None:
        self._data = io.BytesIO(data)
        self._step = step

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(self._step, size) if size >= 0 else self._step)


# --- store_stream (disk and real S3) ----------------------------------------------------------


def test_store_stream_keeps_the_bytes_and_the_detected_type(
    storage: Storage, settings: Settings
) -> None:
    data = pdf_bytes() + os.urandom(200_000)  # more than the peeked head
    with session_scope() as session:
        row = uploads.store_stream(
            session, storage, TrickleStream(data), kind="document", settings=settings
        )
        session.flush()
        row_id, key = row.id, row.storage_key
        assert (row.size, row.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        assert row.content_type == "application/pdf"
    assert read_object(storage, key) == data
    with session_scope() as session:
        assert session.get(ContentFile, row_id) is not None


def test_identical_files_are_stored_once(storage: Storage, settings: Settings) -> None:
    data = png_bytes(width=40, height=40)
    first = store(storage, data, UploadKind.COVER, settings)
    second = store(storage, data, UploadKind.FILE, settings)
    assert second.id == first.id
    assert second.storage_key == first.storage_key
    assert stored_keys(storage) == [_object_name(storage, first.storage_key)]
    assert content_file_count() == 1


def _object_name(storage: Storage, key: str) -> str:
    return f"{storage.prefix}/{key}" if isinstance(storage, S3Storage) and storage.prefix else key


def test_oversize_is_413_and_leaves_nothing(storage: Storage, settings: Settings) -> None:
    small = settings.model_copy(update={"max_document_bytes": 100_000})
    with pytest.raises(PayloadTooLarge) as caught:
        store(storage, pdf_bytes() + b"\x00" * 150_000, UploadKind.DOCUMENT, small)
    assert caught.value.status_code == 413
    assert "97.66 KB" in caught.value.detail
    assert stored_keys(storage) == []
    assert content_file_count() == 0


def test_wrong_type_is_415_and_leaves_nothing(storage: Storage, settings: Settings) -> None:
    html_named_mp4 = b"<!doctype html><html><script>alert(1)</script></html>"
    with pytest.raises(UnsupportedMediaType) as caught:
        store(storage, html_named_mp4, UploadKind.VIDEO, settings)
    assert "terdeteksi sebagai HTML" in caught.value.detail
    assert stored_keys(storage) == []
    assert content_file_count() == 0


def test_callers_rollback_removes_the_new_object(
    disk_storage: DiskStorage, settings: Settings
) -> None:
    class RouteFailedLater(Exception):
        pass

    with pytest.raises(RouteFailedLater), session_scope() as session:
        uploads.store_stream(
            session, disk_storage, io.BytesIO(pdf_bytes()), kind="document", settings=settings
        )
        raise RouteFailedLater
    assert stored_keys(disk_storage) == []
    assert content_file_count() == 0


def test_callers_commit_keeps_the_object_across_later_savepoints(
    disk_storage: DiskStorage, settings: Settings
) -> None:
    with session_scope() as session:
        first = uploads.store_stream(
            session,
            disk_storage,
            io.BytesIO(pdf_bytes(text="satu")),
            kind="document",
            settings=settings,
        )
        # A second store in the same transaction releases another SAVEPOINT.
        uploads.store_stream(
            session,
            disk_storage,
            io.BytesIO(pdf_bytes(text="dua")),
            kind="document",
            settings=settings,
        )
        key = first.storage_key
    assert disk_storage.exists(key)
    assert len(stored_keys(disk_storage)) == 2
    assert content_file_count() == 2


def test_concurrent_identical_uploads_keep_one_row_and_one_object(
    disk_storage: DiskStorage, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = pdf_bytes(text="serentak")
    barrier = threading.Barrier(2, timeout=10)
    real_put = disk_storage.put

    def put_then_wait(*args: object, **kwargs: object) -> object:
        stored = real_put(*args, **kwargs)  # type: ignore[arg-type]
        barrier.wait()  # both uploads have stored their copy before either looks for a twin
        return stored

    monkeypatch.setattr(disk_storage, "put", put_then_wait)
    results: list[int] = []
    errors: list[BaseException] = []

    def upload() -> None:
        try:
            results.append(store(disk_storage, data, UploadKind.DOCUMENT, settings).id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=upload) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(results) == 2 and results[0] == results[1]
    assert len(stored_keys(disk_storage)) == 1
    assert content_file_count() == 1


def test_losing_the_insert_race_returns_the_winner(
    disk_storage: DiskStorage, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = pdf_bytes(text="pemenang")
    winner = store(disk_storage, data, UploadKind.DOCUMENT, settings)
    # The lookup misses, as it would for an upload that checked just before the winner committed.
    monkeypatch.setattr(
        uploads, "_content_file_by_sha256", _miss_once(uploads._content_file_by_sha256)
    )
    loser = store(disk_storage, data, UploadKind.DOCUMENT, settings)
    assert loser.id == winner.id
    assert stored_keys(disk_storage) == [winner.storage_key]


def _miss_once(lookup):  # type: ignore[no-untyped-def]
    calls = {"n": 0}

    def patched(session, sha256):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        return None if calls["n"] == 1 else lookup(session, sha256)

    return patched


async def test_request_body_streams_through_a_worker_thread(
    disk_storage: DiskStorage, settings: Settings
) -> None:
    data = mp4_bytes() + os.urandom(3 * MiB + 12345)

    async def body() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 65536):  # what a server hands over per network read
            yield data[start : start + 65536]

    with session_scope() as session:
        row = await uploads.store_request_body(
            session, disk_storage, body(), kind="video", settings=settings, declared_size=len(data)
        )
        key = row.storage_key
        assert row.content_type == "video/mp4"
    assert read_object(disk_storage, key) == data


async def test_request_body_declared_too_large_is_refused_before_reading(
    disk_storage: DiskStorage, settings: Settings
) -> None:
    async def body() -> AsyncIterator[bytes]:
        raise AssertionError("the body must not be read")
        yield b""

    with pytest.raises(PayloadTooLarge), session_scope() as session:
        await uploads.store_request_body(
            session,
            disk_storage,
            body(),
            kind="document",
            settings=settings,
            declared_size=settings.max_document_bytes + 1,
        )


async def test_request_body_cut_off_mid_way_stores_nothing(
    disk_storage: DiskStorage, settings: Settings
) -> None:
    class ClientGone(Exception):
        pass

    async def body() -> AsyncIterator[bytes]:
        yield mp4_bytes() + os.urandom(2 * MiB)
        raise ClientGone  # what request.stream() raises when the browser goes away

    with pytest.raises(ClientGone), session_scope() as session:
        await uploads.store_request_body(
            session, disk_storage, body(), kind="video", settings=settings
        )
    assert stored_keys(disk_storage) == []
    assert content_file_count() == 0


async def test_request_body_refused_by_its_head_does_not_wait_for_the_rest(
    disk_storage: DiskStorage, settings: Settings
) -> None:
    async def stalled_html() -> AsyncIterator[bytes]:
        yield b"<!doctype html><script>alert(1)</script>" + b" " * uploads.BLOCK
        await anyio.sleep_forever()  # a client that stops sending
        yield b""

    with anyio.fail_after(10), pytest.raises(UnsupportedMediaType), session_scope() as session:
        await uploads.store_request_body(
            session, disk_storage, stalled_html(), kind="video", settings=settings
        )
    assert stored_keys(disk_storage) == []


def test_max_bytes_per_kind(settings: Settings) -> None:
    assert uploads.max_bytes_for("video", settings) == settings.max_video_bytes
    assert uploads.max_bytes_for(UploadKind.DOCUMENT, settings) == settings.max_document_bytes
    assert uploads.max_bytes_for("cover", settings) == settings.max_other_bytes
    assert uploads.max_bytes_for("scorm", settings) == settings.max_scorm_bytes
    with pytest.raises(ValidationFailed):
        uploads.max_bytes_for("podcast", settings)


# --- browser-direct multipart (real S3 endpoint) --------------------------------------------


@pytest.fixture
def part_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"upload_part_bytes": 5 * MiB})


@pytest.fixture
def owner_id() -> int:
    return make_user(roles=("content_admin",)).id


def video_payload() -> bytes:
    return mp4_bytes() + os.urandom(5 * MiB + 4321)  # two parts of 5 MiB


def start(
    storage: Storage, user_id: int, data: bytes, settings: Settings, kind: str = "video"
) -> str:
    with session_scope() as session:
        upload = uploads.start_upload(
            session,
            storage,
            user_id=user_id,
            kind=kind,
            filename="C:\\Users\\dewi\\Kuliah Umum.mp4",
            size=len(data),
            settings=settings,
        )
        assert upload.filename == "Kuliah Umum.mp4"
        assert upload.part_size == 5 * MiB
        return upload.id


def send_parts(
    storage: Storage,
    upload_id: str,
    user_id: int,
    data: bytes,
    numbers: list[int],
    settings: Settings,
) -> dict[int, str]:
    with session_scope() as session:
        urls = uploads.sign_parts(session, storage, upload_id, user_id, numbers, settings=settings)
    assert sorted(urls) == sorted(numbers)
    part = 5 * MiB
    return {n: put_part(urls[n], data[(n - 1) * part : n * part]) for n in numbers}


def complete(
    storage: Storage,
    upload_id: str,
    user_id: int,
    etags: dict[int, str] | None,
    settings: Settings,
    kind: str = "video",
) -> ContentFile:
    with session_scope() as session:
        parts = sorted(etags.items()) if etags is not None else None
        row = uploads.complete_upload(session, storage, upload_id, user_id, parts, kind, settings)
        session.expunge(row)
    return row


def test_multipart_start_sign_upload_complete(
    s3_storage: S3Storage, part_settings: Settings, owner_id: int
) -> None:
    data = video_payload()
    upload_id = start(s3_storage, owner_id, data, part_settings)
    etags = send_parts(s3_storage, upload_id, owner_id, data, [2, 1], part_settings)
    row = complete(s3_storage, upload_id, owner_id, etags, part_settings)

    assert (row.size, row.sha256, row.content_type) == (
        len(data),
        hashlib.sha256(data).hexdigest(),
        "video/mp4",
    )
    assert read_object(s3_storage, row.storage_key) == data
    assert pending_uploads(s3_storage) == []
    with session_scope() as session:
        assert session.get(UploadSession, upload_id).status == "completed"  # type: ignore[union-attr]
    with pytest.raises(Conflict), session_scope() as session:  # completing twice
        uploads.complete_upload(
            session, s3_storage, upload_id, owner_id, None, "video", part_settings
        )


def test_resume_lists_parts_already_uploaded(
    s3_storage: S3Storage, part_settings: Settings, owner_id: int
) -> None:
    data = video_payload()
    upload_id = start(s3_storage, owner_id, data, part_settings)
    first = send_parts(s3_storage, upload_id, owner_id, data, [1], part_settings)
    # The connection broke; the browser asks what is there and sends only the rest.
    with session_scope() as session:
        parts = uploads.list_uploaded_parts(
            session, s3_storage, upload_id, owner_id, settings=part_settings
        )
    assert [(p.number, p.etag, p.size) for p in parts] == [(1, first[1], 5 * MiB)]
    send_parts(s3_storage, upload_id, owner_id, data, [2], part_settings)
    row = complete(s3_storage, upload_id, owner_id, None, part_settings)  # server lists the ETags
    assert read_object(s3_storage, row.storage_key) == data


def test_incomplete_upload_cannot_complete(
    s3_storage: S3Storage, part_settings: Settings, owner_id: int
) -> None:
    data = video_payload()
    upload_id = start(s3_storage, owner_id, data, part_settings)
    send_parts(s3_storage, upload_id, owner_id, data, [1], part_settings)
    with pytest.raises(ValidationFailed) as caught:
        complete(s3_storage, upload_id, owner_id, None, part_settings)
    assert caught.value.code == "upload_incomplete"


def test_someone_elses_upload_is_forbidden(
    s3_storage: S3Storage, part_settings: Settings, owner_id: int
) -> None:
    data = video_payload()
    upload_id = start(s3_storage, owner_id, data, part_settings)
    intruder = make_user(roles=("content_admin",)).id
    with session_scope() as session:
        with pytest.raises(Forbidden):
            uploads.sign_parts(
                session, s3_storage, upload_id, intruder, [1], settings=part_settings
            )
        with pytest.raises(Forbidden):
            uploads.list_uploaded_parts(
                session, s3_storage, upload_id, intruder, settings=part_settings
            )
        with pytest.raises(Forbidden):
            uploads.complete_upload(
                session, s3_storage, upload_id, intruder, None, "video", part_settings
            )
        with pytest.raises(Forbidden):
            uploads.abort_upload(session, s3_storage, upload_id, intruder, settings=part_settings)
    assert len(pending_uploads(s3_storage)) == 1


def test_abort_drops_the_parts(
    s3_storage: S3Storage, part_settings: Settings, owner_id: int
) -> None:
    data = video_payload()
    upload_id = start(s3_storage, owner_id, data, part_settings)
    send_parts(s3_storage, upload_id, owner_id, data, [1], part_settings)
    for _ in range(2):  # aborting twice is harmless
        with session_scope() as session:
            uploads.abort_upload(session, s3_storage, upload_id, owner_id, settings=part_settings)
    assert pending_uploads(s3_storage) == []
    with pytest.raises(Conflict), session_scope() as session:
        uploads.sign_parts(session, s3_storage, upload_id, owner_id, [2], settings=part_settings)


def test_multipart_wrong_type_is_415_and_deleted(
    s3_storage: S3Storage, part_settings: Settings, owner_id: int
) -> None:
    data = b"<html><body>" + b"x" * (5 * MiB) + b"</body></html>"
    upload_id = start(s3_storage, owner_id, data, part_settings)
    etags = send_parts(s3_storage, upload_id, owner_id, data, [1, 2], part_settings)
    with pytest.raises(UnsupportedMediaType):
        complete(s3_storage, upload_id, owner_id, etags, part_settings)
    assert stored_keys(s3_storage) == []
    assert pending_uploads(s3_storage) == []
    assert content_file_count() == 0


def test_multipart_size_other_than_declared_is_refused(
    s3_storage: S3Storage, part_settings: Settings, owner_id: int
) -> None:
    data = video_payload()
    upload_id = start(s3_storage, owner_id, data, part_settings)
    etags = send_parts(s3_storage, upload_id, owner_id, data + b"extra", [1, 2], part_settings)
    with pytest.raises(ValidationFailed) as caught:
        complete(s3_storage, upload_id, owner_id, etags, part_settings)
    assert caught.value.code == "upload_size_mismatch"
    assert stored_keys(s3_storage) == []


def test_multipart_duplicate_of_a_stored_file_reuses_it(
    s3_storage: S3Storage, part_settings: Settings, owner_id: int
) -> None:
    data = video_payload()
    existing = store(s3_storage, data, UploadKind.VIDEO, part_settings)
    upload_id = start(s3_storage, owner_id, data, part_settings)
    etags = send_parts(s3_storage, upload_id, owner_id, data, [1, 2], part_settings)
    row = complete(s3_storage, upload_id, owner_id, etags, part_settings)
    assert row.id == existing.id
    assert stored_keys(s3_storage) == [_object_name(s3_storage, existing.storage_key)]


def test_start_refuses_oversize_and_disk_backends(
    s3_storage: S3Storage, disk_storage: DiskStorage, part_settings: Settings, owner_id: int
) -> None:
    with session_scope() as session:
        with pytest.raises(PayloadTooLarge):
            uploads.start_upload(
                session,
                s3_storage,
                user_id=owner_id,
                kind="document",
                filename="besar.pdf",
                size=part_settings.max_document_bytes + 1,
                settings=part_settings,
            )
        with pytest.raises(StorageNotSupported):
            uploads.start_upload(
                session,
                disk_storage,
                user_id=owner_id,
                kind="document",
                filename="modul.pdf",
                size=1000,
                settings=part_settings,
            )
    assert pending_uploads(s3_storage) == []


def test_expired_sessions_are_refused_and_swept(
    s3_storage: S3Storage, part_settings: Settings, owner_id: int
) -> None:
    data = video_payload()
    upload_id = start(s3_storage, owner_id, data, part_settings)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=part_settings.upload_session_hours + 1)
    with session_scope() as session:
        session.execute(
            update(UploadSession).where(UploadSession.id == upload_id).values(created_at=long_ago)
        )
    with pytest.raises(Conflict) as caught, session_scope() as session:
        uploads.sign_parts(session, s3_storage, upload_id, owner_id, [1], settings=part_settings)
    assert caught.value.code == "upload_expired"
    with session_scope() as session:
        assert uploads.abort_expired_uploads(session, s3_storage, settings=part_settings) == 1
    assert pending_uploads(s3_storage) == []


def test_part_size_grows_for_files_beyond_ten_thousand_parts(settings: Settings) -> None:
    size = 100 * 1024**3
    part = uploads._part_size_for(size, settings)
    assert part % MiB == 0 and size / part <= uploads.MAX_PARTS


def test_sign_parts_checks_the_numbers(
    s3_storage: S3Storage, part_settings: Settings, owner_id: int
) -> None:
    upload_id = start(s3_storage, owner_id, video_payload(), part_settings)
    with session_scope() as session:
        for numbers in ([], [0], [3], list(range(1, 200))):
            with pytest.raises(ValidationFailed):
                uploads.sign_parts(
                    session, s3_storage, upload_id, owner_id, numbers, settings=part_settings
                )


def test_clean_filename() -> None:
    assert uploads.clean_filename("../../etc/passwd") == "passwd"
    assert uploads.clean_filename("a\x00b\nc.pdf") == "abc.pdf"
    assert uploads.clean_filename("...") == "berkas"
    assert len(uploads.clean_filename("x" * 400 + ".pdf")) == 255


def test_store_from_a_real_file(
    disk_storage: DiskStorage, settings: Settings, tmp_path: Path
) -> None:
    # The name says PNG; the bytes say SVG with a script: refused as a cover.
    misnamed = tmp_path / "sampul.png"
    misnamed.write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    with (
        misnamed.open("rb") as handle,
        session_scope() as session,
        pytest.raises(UnsupportedMediaType),
    ):
        uploads.store_stream(session, disk_storage, handle, kind="cover", settings=settings)
    assert stored_keys(disk_storage) == []


# --- static/js/uploader.js in Chromium, against routes that follow its contract ----------------


class StartBody(BaseModel):
    kind: str
    filename: str
    size: int


class SignBody(BaseModel):
    part_numbers: list[int]


class PartBody(BaseModel):
    part_number: int
    etag: str


class CompleteBody(BaseModel):
    parts: list[PartBody] | None = None


PAGE = """<!doctype html><html><head><meta name="csrf-token" content="t0ken"></head><body>
<form data-uploader data-kind="video" data-direct="{mode}" data-start-url="/api/uploads"
      data-stream-url="/api/uploads/stream" data-max-bytes="{max_bytes}">
  <input type="file" name="file"><input type="hidden" name="file_id">
  <progress hidden></progress><span data-uploader-status></span>
  <button type="submit" data-uploader-submit>Simpan</button>
</form>
<script src="/uploader.js"></script>
<script>
  window.events = [];
  document.addEventListener("uploader:done", e => window.events.push(["done", e.detail]));
  document.addEventListener("uploader:error", e => window.events.push(["error", e.detail]));
</script></body></html>"""


STUDIO_PAGE = """<!doctype html><html><head><meta name="csrf-token" content="t0ken"></head><body>
<form method="post" action="/saved" enctype="multipart/form-data" data-uploader-form
      data-direct="{mode}" data-start-url="/api/uploads" data-stream-url="/api/uploads/stream">
  <select name="kind"><option value="video">Video</option><option value="scorm">SCORM</option></select>
  <input type="file" name="file" data-uploader data-uploader-kind-field="kind">
  <input type="hidden" name="file_id" value="" data-uploader-file-id>
  <progress hidden value="0" max="100"></progress><p data-progress-status></p>
  <button type="submit">Simpan aktivitas</button>
</form>
<script src="/uploader.js"></script>
<script>
  window.events = [];
  document.addEventListener("uploader:done", e => window.events.push(["done", e.detail]));
  document.addEventListener("uploader:error", e => window.events.push(["error", e.detail]));
</script></body></html>"""


def harness_app(
    storage: Storage, user_id: int, settings: Settings, mode: str, page_html: str = PAGE
) -> FastAPI:
    """The routes uploader.js expects (see the report to the lead), in their simplest form."""
    app = FastAPI()
    errors.install(app)
    seen_csrf: list[str | None] = []

    @app.get("/")
    def page() -> HTMLResponse:
        return HTMLResponse(page_html.format(mode=mode, max_bytes=settings.max_video_bytes))

    @app.get("/uploader.js")
    def script() -> FileResponse:
        return FileResponse(Path(__file__).parents[2] / "static" / "js" / "uploader.js")

    @app.post("/api/uploads", status_code=201)
    def start_route(body: StartBody, request: Request) -> dict[str, Any]:
        seen_csrf.append(request.headers.get("x-csrf-token"))
        with session_scope() as session:
            upload = uploads.start_upload(
                session,
                storage,
                user_id=user_id,
                kind=body.kind,
                filename=body.filename,
                size=body.size,
                settings=settings,
            )
            return {
                "upload_id": upload.id,
                "part_size": upload.part_size,
                "part_count": uploads.part_count(upload),
            }

    @app.post("/api/uploads/{upload_id}/sign")
    def sign_route(upload_id: str, body: SignBody) -> dict[str, Any]:
        with session_scope() as session:
            urls = uploads.sign_parts(
                session, storage, upload_id, user_id, body.part_numbers, settings=settings
            )
        return {"urls": {str(n): url for n, url in urls.items()}}

    @app.get("/api/uploads/{upload_id}/parts")
    def parts_route(upload_id: str) -> dict[str, Any]:
        with session_scope() as session:
            parts = uploads.list_uploaded_parts(
                session, storage, upload_id, user_id, settings=settings
            )
        return {"parts": [{"part_number": p.number, "etag": p.etag, "size": p.size} for p in parts]}

    @app.post("/api/uploads/{upload_id}/complete", status_code=201)
    def complete_route(upload_id: str, body: CompleteBody) -> dict[str, Any]:
        parts = [(p.part_number, p.etag) for p in body.parts] if body.parts else None
        with session_scope() as session:
            row = uploads.complete_upload(
                session, storage, upload_id, user_id, parts, "video", settings
            )
            return {"file_id": row.id, "content_type": row.content_type, "size": row.size}

    @app.delete("/api/uploads/{upload_id}", status_code=204)
    def abort_route(upload_id: str) -> None:
        with session_scope() as session:
            uploads.abort_upload(session, storage, upload_id, user_id, settings=settings)

    @app.post("/api/uploads/stream", status_code=201)
    async def stream_route(request: Request, kind: str) -> dict[str, Any]:
        length = request.headers.get("content-length")
        with session_scope() as session:
            row = await uploads.store_request_body(
                session,
                storage,
                request.stream(),
                kind=kind,
                settings=settings,
                declared_size=int(length) if length else None,
            )
            return {"file_id": row.id, "content_type": row.content_type, "size": row.size}

    app.state.seen_csrf = seen_csrf
    return app


@contextlib.contextmanager
def live(app: FastAPI) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def chromium_page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"]
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


def wait_for_event(page: Page, timeout: float = 60.0) -> list[Any]:
    page.wait_for_function("window.events.length > 0", timeout=timeout * 1000)
    events: list[Any] = page.evaluate("window.events")
    return events


@pytest.mark.browser
def test_uploader_js_s3_parts_in_parallel_then_resume(
    chromium_page: Page,
    s3_storage: S3Storage,
    part_settings: Settings,
    owner_id: int,
    tmp_path: Path,
) -> None:
    s3_storage.client.put_bucket_cors(
        Bucket=s3_storage.bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": ["*"],
                    "AllowedMethods": ["PUT"],
                    "AllowedHeaders": ["*"],
                    "ExposeHeaders": ["ETag"],  # README: the browser must see each part's ETag
                }
            ]
        },
    )
    data = mp4_bytes() + os.urandom(12 * MiB)  # 3 parts of 5 MiB
    video = tmp_path / "Kuliah Umum.mp4"
    video.write_bytes(data)
    app = harness_app(s3_storage, owner_id, part_settings, "s3")
    page = chromium_page
    puts: list[int] = []

    def on_request(request: Any) -> None:
        if request.method == "PUT":
            puts.append(
                int(
                    urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)["partNumber"][0]
                )
            )

    page.on("request", on_request)
    with live(app) as base:
        # First attempt: part 2 never gets through (retried 3 times, then the upload stops).
        page.route("**/*partNumber=2*", lambda route: route.abort())
        page.goto(base + "/")
        page.set_input_files("input[type=file]", str(video))
        ((kind, detail),) = wait_for_event(page, timeout=30)
        assert kind == "error" and detail["status"] == 0
        assert "koneksi terputus" in page.inner_text("[data-uploader-status]")
        assert puts.count(2) == 4 and puts.count(1) == 1 and puts.count(3) == 1

        # The connection is back; the same file is chosen again on a fresh page.
        page.unroute("**/*partNumber=2*")
        puts.clear()
        page.goto(base + "/")
        assert "belum selesai" in page.inner_text("[data-uploader-status]")
        page.set_input_files("input[type=file]", str(video))
        ((kind, detail),) = wait_for_event(page)
        assert kind == "done", detail
        assert puts == [2]  # only the missing part was sent
        assert page.input_value("input[name=file_id]") == str(detail["file_id"])
        assert page.get_attribute("input[type=file]", "name") is None
        assert app.state.seen_csrf == ["t0ken"]
    with session_scope() as session:
        row = session.get(ContentFile, detail["file_id"])
        assert row is not None and row.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.browser
def test_uploader_js_disk_streams_the_file_as_the_body(
    chromium_page: Page,
    disk_storage: DiskStorage,
    settings: Settings,
    owner_id: int,
    tmp_path: Path,
) -> None:
    data = mp4_bytes() + os.urandom(3 * MiB)
    video = tmp_path / "kuliah.mp4"
    video.write_bytes(data)
    page = chromium_page
    with live(harness_app(disk_storage, owner_id, settings, "disk")) as base:
        page.goto(base + "/")
        page.set_input_files("input[type=file]", str(video))
        ((kind, detail),) = wait_for_event(page)
        assert kind == "done", detail
        assert detail["content_type"] == "video/mp4"
        # A page disguised as a video is refused with the server's message.
        fake = tmp_path / "fake.mp4"
        fake.write_bytes(b"<!doctype html><script>alert(1)</script>")
        page.evaluate("window.events = []")
        page.set_input_files("input[type=file]", str(fake))
        ((kind, detail),) = wait_for_event(page)
    assert kind == "error" and detail["status"] == 415
    assert "terdeteksi sebagai HTML" in page.inner_text("[data-uploader-status]")
    with session_scope() as session:
        assert content_file_count() == 1
        assert session.scalars(select(ContentFile)).one().sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.browser
def test_uploader_js_studio_hook_uploads_handled_kinds_only(
    chromium_page: Page,
    disk_storage: DiskStorage,
    settings: Settings,
    owner_id: int,
    tmp_path: Path,
) -> None:
    video = tmp_path / "kuliah.mp4"
    video.write_bytes(mp4_bytes() + os.urandom(MiB))
    package = tmp_path / "paket.zip"
    package.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    page = chromium_page
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    with live(harness_app(disk_storage, owner_id, settings, "disk", STUDIO_PAGE)) as base:
        page.goto(base + "/")
        page.set_input_files("input[type=file]", str(video))
        ((kind, detail),) = wait_for_event(page)
        assert kind == "done", detail
        assert page.input_value("[data-uploader-file-id]") == str(detail["file_id"])
        assert page.get_attribute("input[type=file]", "name") is None
        assert page.is_enabled("button[type=submit]")
        assert [url.split("?")[0] for url in posts] == [base + "/api/uploads/stream"]
        assert "kind=video" in posts[0]
        # SCORM packages are unpacked by the server: the form keeps sending them itself.
        page.select_option("select[name=kind]", "scorm")
        page.set_input_files("input[type=file]", str(package))
        page.wait_for_timeout(300)
        assert len(posts) == 1
        assert page.get_attribute("input[type=file]", "name") == "file"
        assert page.input_value("[data-uploader-file-id]") == ""
