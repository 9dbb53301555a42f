"""Stores uploaded course files: checked by content, capped by size, deduplicated by sha256.

Owns the streamed upload through the app (disk) and the browser-direct S3 multipart sessions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import logging
import math
import re
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from app.core.config import Settings
from app.core.db import utcnow
from app.core.errors import (
    Conflict,
    Forbidden,
    LMSError,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
    ValidationFailed,
)
from app.core.i18n import gettext_ as _
from app.courses import filetypes, media
from app.courses.filetypes import HEAD_BYTES, UploadKind
from app.courses.models import ContentFile, UploadSession
from app.storage import ReadableStream, S3Storage, Storage, StorageNotSupported, new_key
from app.storage.base import STORAGE_DOWN, StorageUnavailable

log = logging.getLogger(__name__)

FILES_PREFIX = "files"
MAX_PARTS = 10_000  # S3's limit on parts per multipart upload
MAX_SIGN_BATCH = 100
BLOCK = 1024 * 1024
_MULTIPART_CONTENT_TYPE = "application/octet-stream"  # the real type is known only at the end


class UploadStatus:
    OPEN = "open"
    COMPLETED = "completed"
    ABORTED = "aborted"


@dataclass(frozen=True, slots=True)
class UploadedPart:
    number: int
    etag: str
    size: int


# --- SQL (small enough to live here; move to courses/repository.py with the rest) -----------


def _content_file_by_sha256(session: Session, sha256: str) -> ContentFile | None:
    return session.scalars(select(ContentFile).where(ContentFile.sha256 == sha256)).first()


def _get_upload_session(session: Session, upload_id: str, *, lock: bool) -> UploadSession | None:
    return session.get(UploadSession, upload_id, with_for_update=lock or None)


def _open_upload_sessions_before(session: Session, cutoff: dt.datetime) -> list[UploadSession]:
    query = select(UploadSession).where(
        UploadSession.status == UploadStatus.OPEN, UploadSession.created_at < cutoff
    )
    return list(session.scalars(query.with_for_update(skip_locked=True)))


# --- rules ---------------------------------------------------------------------------------


def max_bytes_for(kind: UploadKind | str, settings: Settings) -> int:
    """Size cap per upload kind (settings max_*_bytes); covers count as "other" files."""
    upload_kind = filetypes.kind_from(kind) if isinstance(kind, str) else kind
    return {
        UploadKind.VIDEO: settings.max_video_bytes,
        UploadKind.DOCUMENT: settings.max_document_bytes,
        UploadKind.COVER: settings.max_other_bytes,
        UploadKind.FILE: settings.max_other_bytes,
        UploadKind.SCORM: settings.max_scorm_bytes,
    }[upload_kind]


def _too_large(cap: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        _("Berkas melebihi batas ukuran %(limit)s.") % {"limit": human_size(cap)}, max_bytes=cap
    )


def check_declared_size(kind: UploadKind | str, size: int, settings: Settings) -> None:
    """Refuse before any byte moves when the browser says the file is too big (413) or empty."""
    if size <= 0:
        raise ValidationFailed(_("Berkas kosong (0 bita)."), field="size", code="empty_file")
    cap = max_bytes_for(kind, settings)
    if size > cap:
        raise _too_large(cap)


def human_size(size: int) -> str:
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:.4g} {unit}"
    return f"{size} B"


def _is_expired(upload: UploadSession, settings: Settings, now: dt.datetime) -> bool:
    """An upload session lives `upload_session_hours` (config) from its start."""
    return now - upload.created_at > dt.timedelta(hours=settings.upload_session_hours)


def _part_size_for(size: int, settings: Settings) -> int:
    """`upload_part_bytes`, raised to a whole MiB when the file would need over 10,000 parts."""
    part_size = settings.upload_part_bytes
    if math.ceil(size / part_size) > MAX_PARTS:
        part_size = math.ceil(size / MAX_PARTS / BLOCK) * BLOCK
    return part_size


def _part_count(upload: UploadSession) -> int:
    return max(1, math.ceil(upload.size / upload.part_size))


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def clean_filename(filename: str) -> str:
    """The name to show and offer on download: no path, no control characters, <= 255 chars."""
    name = re.split(r"[/\\]", filename)[-1]
    name = _UNSAFE_NAME.sub("", name).strip().strip(".")
    return (name or "berkas")[-255:]


# --- streaming through the app (disk backend, or any backend from a server-side stream) ----


def read_head(stream: ReadableStream, size: int = HEAD_BYTES) -> bytes:
    """Up to `size` first bytes; a stream may return short reads before its end."""
    pieces: list[bytes] = []
    remaining = size
    while remaining > 0:
        piece = stream.read(remaining)
        if not piece:
            break
        pieces.append(piece)
        remaining -= len(piece)
    return b"".join(pieces)


class PrefixedStream:
    """`stream` with `head` (already read from it) put back in front."""

    def __init__(self, head: bytes, stream: ReadableStream) -> None:
        self._head = memoryview(head)
        self._stream = stream

    def read(self, size: int = -1, /) -> bytes:
        if not self._head:
            return self._stream.read(size)
        if size < 0:
            data, self._head = bytes(self._head), memoryview(b"")
            return data + self._stream.read(-1)
        data, self._head = bytes(self._head[:size]), self._head[size:]
        return data


@dataclass(frozen=True, slots=True)
class SmallFileRule:
    """What a domain accepts as a small attached file (forum attachment, mentoring evidence):
    its size cap, the MIME types judged by the bytes, and its own wording of each refusal."""

    cap: int
    mimes: frozenset[str]
    too_large: str  # with %(size)s
    empty: str
    unsupported: str  # with %(what)s
    unsupported_code: str


def store_small_file(
    session: Session,
    storage: Storage,
    stream: ReadableStream,
    size: int | None,
    rule: SmallFileRule,
    settings: Settings,
) -> ContentFile:
    """Refuse a file over the rule's cap, empty, or of a type it does not take (by content),
    then store it through `store_stream` (deduplicated, nothing left behind on error)."""
    # The rule's messages are already translated: built first, so that message extraction does
    # not take the placeholders' names for msgids.
    too_large_text = rule.too_large % {"size": human_size(rule.cap)}
    too_large = PayloadTooLarge(too_large_text, code="file_too_large", max_bytes=rule.cap)
    if size is not None and size > rule.cap:
        raise too_large
    head = read_head(stream)
    if not head:
        raise ValidationFailed(rule.empty, field="file", code="empty_file")
    detected = filetypes.detect(head)
    if detected is None or detected.mime not in rule.mimes:
        unsupported = rule.unsupported % {
            "what": detected.label if detected else _("tidak dikenali")
        }
        raise UnsupportedMediaType(unsupported, code=rule.unsupported_code)
    stored = store_stream(
        session, storage, PrefixedStream(head, stream), kind=UploadKind.FILE, settings=settings
    )
    if stored.size > rule.cap:  # the client's size was missing or wrong (the rollback drops it)
        raise too_large
    return stored


def store_stream(
    session: Session,
    storage: Storage,
    stream: ReadableStream,
    *,
    kind: UploadKind | str,
    settings: Settings,
) -> ContentFile:
    """Check `stream` by content, store it in constant memory and return its (deduplicated) row.

    Nothing stays in storage or the database on any error, including a later rollback of the
    caller's transaction (see `_delete_on_rollback`).
    """
    upload_kind = filetypes.kind_from(kind) if isinstance(kind, str) else kind
    cap = max_bytes_for(upload_kind, settings)
    head = read_head(stream)
    detected = filetypes.check_kind(upload_kind, head)
    key = new_key(FILES_PREFIX)
    try:
        stored = storage.put(
            key, PrefixedStream(head, stream), content_type=detected.mime, max_bytes=cap
        )
    except PayloadTooLarge:
        raise _too_large(cap) from None  # put() has already removed what it wrote
    row = _register(
        session,
        storage,
        key=key,
        sha256=stored.sha256,
        size=stored.size,
        content_type=detected.mime,
    )
    return with_media_facts(session, storage, row)


def with_media_facts(session: Session, storage: Storage, row: ContentFile) -> ContentFile:
    """Read a video's length or a PDF's page count from the stored bytes once (rows stored
    before these facts existed get them the next time the same bytes arrive)."""
    if row.duration_seconds is None and row.page_count is None:
        facts = media.probe(storage, row.storage_key, row.size, row.content_type)
        if facts.duration_seconds is not None or facts.page_count is not None:
            row.duration_seconds, row.page_count = facts.duration_seconds, facts.page_count
            session.flush()
    return row


def _register(
    session: Session, storage: Storage, *, key: str, sha256: str, size: int, content_type: str
) -> ContentFile:
    """The row for these bytes: an existing one (dropping the new copy) or a new one.

    Race-safe: two identical uploads that both miss the lookup both insert; the unique sha256
    makes one fail inside its SAVEPOINT, and that one returns the winner's row.
    """
    try:
        existing = _content_file_by_sha256(session, sha256)
        if existing is not None:
            storage.delete(key)
            return existing
        row = ContentFile(sha256=sha256, size=size, content_type=content_type, storage_key=key)
        _begin_real_transaction(session)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            winner = _content_file_by_sha256(session, sha256)
            if winner is None:
                raise
            storage.delete(key)
            return winner
    except BaseException:
        _delete_quietly(storage, key)
        raise
    _delete_on_rollback(session, storage, key)
    return row


def _begin_real_transaction(session: Session) -> None:
    # pysqlite opens a transaction only before DML, so a SAVEPOINT can be the outermost
    # statement and its RELEASE then commits for good (SQLAlchemy's pysqlite notes). Opening
    # the transaction first keeps the caller's rollback meaningful. No-op elsewhere.
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw: Any = connection.connection.driver_connection
    if not raw.in_transaction:
        connection.exec_driver_sql("BEGIN")


_NEW_OBJECTS = "lms_uploads_new_objects"


def _delete_on_rollback(session: Session, storage: Storage, key: str) -> None:
    """Remove the object again if the caller's transaction rolls back, so no orphan remains."""
    pending: list[tuple[Storage, str]] | None = session.info.get(_NEW_OBJECTS)
    if pending is None:
        pending = session.info[_NEW_OBJECTS] = []
        event.listen(session, "after_commit", _forget_new_objects)
        event.listen(session, "after_soft_rollback", _delete_new_objects)
    pending.append((storage, key))


def _forget_new_objects(session: Session) -> None:
    if not session.in_nested_transaction():  # a SAVEPOINT release commits nothing yet
        session.info.get(_NEW_OBJECTS, []).clear()


def _delete_new_objects(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is not None:  # only the outermost rollback undoes rows
        return
    pending: list[tuple[Storage, str]] = session.info.get(_NEW_OBJECTS, [])
    while pending:
        storage, key = pending.pop()
        _delete_quietly(storage, key)


def _delete_quietly(storage: Storage, key: str) -> None:
    try:
        storage.delete(key)
    except Exception:
        # The original error matters more; the orphan sweep (see README) is the backstop.
        log.warning("could not delete stored object %s", key, exc_info=True)


PREFETCH_BLOCKS = 4
_Block = bytes | Exception | None  # data, the receiving side's error, or None: the real end


class BlockingStreamReader:
    """A blocking `read(n)`, for a worker thread, over blocks an event-loop task receives.

    `store_request_body` pumps the request body into a bounded in-memory channel of ~1 MiB
    blocks while the worker hashes and writes the previous ones, so the network and the disk
    overlap; memory stays below (PREFETCH_BLOCKS + 2) MiB. Only an explicit end marker counts
    as the end: a client that goes away, or a cancelled pump, is an error, so a cut upload is
    never stored as if it were whole.
    """

    def __init__(self, blocks: MemoryObjectReceiveStream[_Block]) -> None:
        self._blocks = blocks
        self._block = b""
        self._offset = 0
        self._done = False

    def _next_block(self) -> None:
        try:
            block = anyio.from_thread.run(self._blocks.receive)
        except anyio.EndOfStream:
            block = LMSError(_("Unggahan terputus sebelum selesai."), code="upload_interrupted")
        if isinstance(block, Exception):
            raise block
        if block is None:
            self._done = True
            return
        self._block, self._offset = block, 0

    def read(self, size: int = -1, /) -> bytes:
        """Up to `size` bytes (short reads allowed; b"" only at the end), copying at most once."""
        if size < 0:
            raise ValueError("refusing to read a whole request body into memory")
        while self._offset >= len(self._block) and not self._done:
            self._next_block()
        if self._offset == 0 and len(self._block) <= size:
            data, self._block = self._block, b""
            return data
        data = self._block[self._offset : self._offset + size]
        self._offset += len(data)
        return data


async def _pump(chunks: AsyncIterator[bytes], send: MemoryObjectSendStream[_Block]) -> None:
    """Gather network chunks into ~1 MiB blocks (one thread hop each, not one per chunk)."""
    async with send:
        try:
            parts: list[bytes] = []
            gathered = 0
            async for chunk in chunks:
                parts.append(chunk)
                gathered += len(chunk)
                if gathered >= BLOCK:
                    await send.send(b"".join(parts))
                    parts, gathered = [], 0
            if parts:
                await send.send(b"".join(parts))
            await send.send(None)
        except anyio.BrokenResourceError:
            return  # the worker stopped early (wrong type, too large): nothing more to read
        except Exception as exc:  # e.g. ClientDisconnect: hand it to the worker
            with contextlib.suppress(anyio.BrokenResourceError):
                await send.send(exc)


async def store_request_body(
    session: Session,
    storage: Storage,
    chunks: AsyncIterator[bytes],
    *,
    kind: UploadKind | str,
    settings: Settings,
    declared_size: int | None = None,
) -> ContentFile:
    """For an `async def` route: `await store_request_body(db, storage, request.stream(), ...)`.

    The raw body (Content-Type: application/octet-stream) goes straight to storage: memory stays
    flat and the disk sees the bytes once, where `UploadFile` would spool them to a temporary
    file first (bench/upload_disk.py measures both). Pass Content-Length as `declared_size` to
    refuse an oversized file before reading it.
    """
    if declared_size is not None:
        check_declared_size(kind, declared_size, settings)
    send, receive = anyio.create_memory_object_stream[_Block](PREFETCH_BLOCKS)
    call = functools.partial(
        store_stream, session, storage, BlockingStreamReader(receive), kind=kind, settings=settings
    )
    result: ContentFile | None = None
    error: Exception | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(_pump, chunks, send)
        with receive:
            try:
                result = await anyio.to_thread.run_sync(call)
            except Exception as exc:  # raised below, outside the task group (no ExceptionGroup)
                error = exc
        group.cancel_scope.cancel()  # a refused upload does not wait for the rest of the body
    if error is not None:
        raise error
    assert result is not None
    return result


# --- browser-direct S3 multipart uploads ----------------------------------------------------


def _require_direct(storage: Storage) -> None:
    if not storage.supports_presigned_upload:
        raise StorageNotSupported(
            _("Penyimpanan ini tidak mendukung unggah langsung; unggah melalui aplikasi.")
        )


def owned_upload(
    session: Session, upload_id: str, user_id: int, settings: Settings
) -> UploadSession:
    """The caller's own open upload session (for routes that need its kind)."""
    return _owned_open_upload(session, upload_id, user_id, settings)


def _owned_open_upload(
    session: Session,
    upload_id: str,
    user_id: int,
    settings: Settings,
    *,
    lock: bool = False,
    now: dt.datetime | None = None,
) -> UploadSession:
    """The caller's own, still-open, unexpired upload session (404, 403, 409 otherwise)."""
    upload = _get_upload_session(session, upload_id, lock=lock)
    if upload is None:
        raise NotFound(_("Sesi unggah tidak ditemukan."), code="upload_not_found")
    if upload.user_id != user_id:
        raise Forbidden(_("Sesi unggah ini milik pengguna lain."), code="upload_forbidden")
    if upload.status != UploadStatus.OPEN:
        raise Conflict(
            _("Sesi unggah ini sudah selesai atau dibatalkan."), code=f"upload_{upload.status}"
        )
    if _is_expired(upload, settings, now or utcnow()):
        raise Conflict(
            _("Sesi unggah sudah kedaluwarsa. Pilih berkas lagi untuk mengunggah ulang."),
            code="upload_expired",
        )
    return upload


def start_upload(
    session: Session,
    storage: Storage,
    *,
    user_id: int,
    kind: UploadKind | str,
    filename: str,
    size: int,
    settings: Settings,
) -> UploadSession:
    """Open an S3 multipart upload for a file of `size` bytes the browser will send in parts."""
    _require_direct(storage)
    upload_kind = filetypes.kind_from(kind) if isinstance(kind, str) else kind
    check_declared_size(upload_kind, size, settings)
    key = new_key(FILES_PREFIX)
    s3_upload_id = storage.create_multipart_upload(key, _MULTIPART_CONTENT_TYPE)
    upload = UploadSession(
        id=secrets.token_hex(16),
        user_id=user_id,
        kind=upload_kind.value,
        filename=clean_filename(filename),
        size=size,
        storage_key=key,
        upload_id=s3_upload_id,
        part_size=_part_size_for(size, settings),
        status=UploadStatus.OPEN,
        created_at=utcnow(),
    )
    try:
        session.add(upload)
        session.flush()
    except BaseException:
        storage.abort_multipart_upload(key, s3_upload_id)
        raise
    return upload


def part_count(upload: UploadSession) -> int:
    """How many parts the browser sends: ceil(size / part_size)."""
    return _part_count(upload)


def sign_parts(
    session: Session,
    storage: Storage,
    upload_id: str,
    user_id: int,
    part_numbers: Sequence[int],
    *,
    settings: Settings,
) -> dict[int, str]:
    """Presigned PUT URLs (valid `s3_presign_seconds`) for these parts of the caller's upload."""
    _require_direct(storage)
    upload = _owned_open_upload(session, upload_id, user_id, settings)
    count = _part_count(upload)
    numbers = sorted(set(part_numbers))
    if not numbers or len(numbers) > MAX_SIGN_BATCH:
        raise ValidationFailed(
            _("Minta 1 sampai %(n)d bagian sekaligus.") % {"n": MAX_SIGN_BATCH},
            field="part_numbers",
        )
    if numbers[0] < 1 or numbers[-1] > count:
        raise ValidationFailed(
            _("Nomor bagian harus 1 sampai %(n)d.") % {"n": count}, field="part_numbers"
        )
    assert upload.upload_id is not None
    return {
        number: storage.presign_upload_part(
            upload.storage_key, upload.upload_id, number, settings.s3_presign_seconds
        )
        for number in numbers
    }


def list_uploaded_parts(
    session: Session, storage: Storage, upload_id: str, user_id: int, *, settings: Settings
) -> list[UploadedPart]:
    """The parts S3 already holds, so a browser that lost its connection sends only the rest."""
    _require_direct(storage)
    upload = _owned_open_upload(session, upload_id, user_id, settings)
    return _s3_list_parts(storage, upload)


def _s3_list_parts(storage: Storage, upload: UploadSession) -> list[UploadedPart]:
    # ListParts is not (yet) on the Storage interface; only S3Storage does direct uploads.
    if not isinstance(storage, S3Storage):
        raise StorageNotSupported(_("Penyimpanan ini tidak mendukung unggah langsung."))
    assert upload.upload_id is not None
    parts: list[UploadedPart] = []
    marker = 0
    try:
        while True:
            page = storage.client.list_parts(
                Bucket=storage.bucket,
                Key=storage._object_key(upload.storage_key),
                UploadId=upload.upload_id,
                PartNumberMarker=marker,
                MaxParts=1000,
            )
            parts += [
                UploadedPart(p["PartNumber"], p["ETag"], p["Size"]) for p in page.get("Parts", [])
            ]
            if not page.get("IsTruncated"):
                return parts
            marker = page["NextPartNumberMarker"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchUpload":
            raise Conflict(
                _("Sesi unggah ini sudah selesai atau dibatalkan."), code="upload_gone"
            ) from exc
        raise StorageUnavailable(STORAGE_DOWN) from exc
    except BotoCoreError as exc:
        raise StorageUnavailable(STORAGE_DOWN) from exc


def complete_upload(
    session: Session,
    storage: Storage,
    upload_id: str,
    user_id: int,
    parts: Sequence[tuple[int, str]] | None,
    kind: UploadKind | str,
    settings: Settings,
) -> ContentFile:
    """Join the parts, check the result by content and size, and return its (deduplicated) row.

    `parts` are the (number, ETag) pairs the browser collected; None lets the server list them
    (for buckets whose CORS does not expose ETag). A wrong type or size deletes the object.
    """
    _require_direct(storage)
    upload_kind = filetypes.kind_from(kind) if isinstance(kind, str) else kind
    upload = _owned_open_upload(session, upload_id, user_id, settings, lock=True)
    if upload.kind != upload_kind.value:
        raise ValidationFailed(_("Jenis unggahan tidak sesuai sesi unggah."), field="kind")
    assert upload.upload_id is not None
    chosen = list(parts) if parts else [(p.number, p.etag) for p in _s3_list_parts(storage, upload)]
    expected = list(range(1, _part_count(upload) + 1))
    missing = sorted(set(expected) - {number for number, _etag in chosen})
    if missing or len(chosen) != len(expected):
        raise ValidationFailed(
            _("Unggahan belum lengkap: %(n)d bagian belum terkirim.") % {"n": len(missing)},
            field="parts",
            code="upload_incomplete",
        )
    key = upload.storage_key
    try:
        storage.complete_multipart_upload(key, upload.upload_id, chosen)
    except NotFound as exc:
        raise Conflict(
            _("Sesi unggah ini sudah selesai atau dibatalkan."), code="upload_gone"
        ) from exc
    try:
        content_type, sha256, size = _verify_completed(storage, upload, upload_kind, settings)
        row = _register(
            session, storage, key=key, sha256=sha256, size=size, content_type=content_type
        )
        row = with_media_facts(session, storage, row)
        upload.status = UploadStatus.COMPLETED
        session.flush()
    except BaseException:
        _delete_quietly(storage, key)
        raise
    return row


def _verify_completed(
    storage: Storage, upload: UploadSession, kind: UploadKind, settings: Settings
) -> tuple[str, str, int]:
    """(content type, sha256, size) of the joined object, after the size and content checks."""
    info = storage.stat(upload.storage_key)
    cap = max_bytes_for(kind, settings)
    if info.size > cap:
        raise _too_large(cap)  # presigned part URLs cannot limit a part's size
    if info.size != upload.size:
        raise ValidationFailed(
            _("Ukuran berkas yang terunggah tidak sama dengan yang diumumkan."),
            field="size",
            code="upload_size_mismatch",
        )
    head = b"".join(storage.open_range(upload.storage_key, 0, HEAD_BYTES - 1))
    detected = filetypes.check_kind(kind, head)
    # Dedup needs the sha256, and nobody streamed these bytes through us: read them back once.
    # This is the one cost that grows with the file (bench/s3_multipart_cpu.py measures it).
    digest = hashlib.sha256()
    size = 0
    for chunk in storage.open_range(upload.storage_key):
        digest.update(chunk)
        size += len(chunk)
    return detected.mime, digest.hexdigest(), size


def abort_upload(
    session: Session, storage: Storage, upload_id: str, user_id: int, *, settings: Settings
) -> None:
    """Cancel the caller's upload and drop its parts; aborting twice is harmless."""
    _require_direct(storage)
    upload = _get_upload_session(session, upload_id, lock=True)
    if upload is None:
        raise NotFound(_("Sesi unggah tidak ditemukan."), code="upload_not_found")
    if upload.user_id != user_id:
        raise Forbidden(_("Sesi unggah ini milik pengguna lain."), code="upload_forbidden")
    if upload.status == UploadStatus.ABORTED:
        return
    if upload.status == UploadStatus.COMPLETED:
        raise Conflict(_("Unggahan ini sudah selesai."), code="upload_completed")
    _abort_s3(storage, upload)
    session.flush()


def _abort_s3(storage: Storage, upload: UploadSession) -> None:
    if upload.upload_id is not None:
        try:
            storage.abort_multipart_upload(upload.storage_key, upload.upload_id)
        except ServiceUnavailable:
            # Parts left behind cost only space; the bucket's lifecycle rule drops them.
            log.warning("could not abort multipart upload of session %s", upload.id)
    upload.status = UploadStatus.ABORTED


def abort_expired_uploads(
    session: Session, storage: Storage, *, settings: Settings, now: dt.datetime | None = None
) -> int:
    """For a periodic job: abort open sessions older than `upload_session_hours`; returns count.

    A bucket lifecycle rule (AbortIncompleteMultipartUpload) is the backstop for parts.
    """
    cutoff = (now or utcnow()) - dt.timedelta(hours=settings.upload_session_hours)
    expired = _open_upload_sessions_before(session, cutoff)
    for upload in expired:
        _abort_s3(storage, upload)
    session.flush()
    return len(expired)
