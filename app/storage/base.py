"""The storage interface every backend implements, its result types, and the key rules.

Owns key generation/validation, streamed hashing with a size cap, and Content-Disposition.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import quote

from app.core.errors import LMSError, PayloadTooLarge, ServiceUnavailable, ValidationFailed
from app.core.i18n import N_

CHUNK_SIZE = 1024 * 1024
MAX_KEY_LENGTH = 512

_KEY_RE = re.compile(r"[A-Za-z0-9/_.-]+")
_PREFIX_RE = re.compile(r"[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*")
_CONTENT_TYPE_RE = re.compile(
    r"[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:\s*;[ -~]*)?"
)


class ReadableStream(Protocol):
    """Anything with a binary `read(size)`: files, `UploadFile.file`, generator-backed readers."""

    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int
    sha256: str
    content_type: str


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str
    etag: str
    last_modified: datetime
    sha256: str | None


@dataclass(frozen=True, slots=True)
class ListedObject:
    """One entry of a store listing: what a listing call returns without reading the object."""

    key: str
    size: int


class RangeNotSatisfiable(LMSError):
    status_code = 416
    code = "range_not_satisfiable"


STORAGE_RETRY_AFTER_SECONDS = 30


class StorageUnavailable(ServiceUnavailable):
    """The object storage cannot be reached (S3 down, its bucket missing, a network fault):
    503 with Retry-After; nothing of the request was kept."""

    code = "storage_unavailable"
    retry_after = STORAGE_RETRY_AFTER_SECONDS


class InsufficientStorage(LMSError):
    """The disk under the file storage (or the database) is full: 507; nothing half-written
    was kept."""

    status_code = 507
    code = "insufficient_storage"


STORAGE_DOWN = N_(
    "Penyimpanan berkas (object storage) sedang tidak dapat dihubungi. Tidak ada yang "
    "tersimpan; coba lagi beberapa saat lagi."
)
DISK_FULL = N_(
    "Ruang penyimpanan berkas di server penuh. Berkas tidak disimpan; hubungi admin untuk "
    "menambah ruang disk."
)


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC or EDQUOT (quota) anywhere in the cause chain."""
    import errno

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class StorageNotSupported(LMSError):
    """The configured backend cannot do this (e.g. presigned part uploads on local disk)."""

    status_code = 501
    code = "storage_not_supported"


def validate_key(key: str) -> str:
    """Return `key` unchanged if it is safe as both an S3 key and a relative disk path."""
    if (
        not key
        or len(key) > MAX_KEY_LENGTH
        or _KEY_RE.fullmatch(key) is None
        or key.startswith("/")
        or key.endswith("/")
        or "//" in key
        or ".." in key
        or any(part == "." for part in key.split("/"))
    ):
        raise ValidationFailed("Invalid storage key.", field="key", code="invalid_storage_key")
    return key


def new_key(prefix: str) -> str:
    """A fresh key under `prefix`, e.g. `materials/2025/01/<uuid4 hex>`; never from user input."""
    if _PREFIX_RE.fullmatch(prefix) is None:
        raise ValidationFailed("Invalid storage key prefix.", field="prefix")
    now = datetime.now(UTC)
    return validate_key(f"{prefix}/{now:%Y}/{now:%m}/{uuid.uuid4().hex}")


def validate_content_type(content_type: str) -> str:
    # It ends up in response headers (ours or the S3 server's), so no CR/LF may slip through.
    if len(content_type) > 255 or _CONTENT_TYPE_RE.fullmatch(content_type) is None:
        raise ValidationFailed("Invalid content type.", field="content_type")
    return content_type


def check_range(start: int, end: int | None) -> None:
    if start < 0 or (end is not None and end < start):
        raise ValidationFailed("Invalid byte range.", field="range")


def clamp_range(start: int, end: int | None, size: int) -> tuple[int, int]:
    """Inclusive (start, end) within an object of `size` bytes, as HTTP Range does."""
    check_range(start, end)
    if size == 0 and start == 0:
        return 0, -1
    if start >= size:
        raise RangeNotSatisfiable("Requested range starts past the end of the object.", size=size)
    last = size - 1 if end is None else min(end, size - 1)
    return start, last


class MeteredReader:
    """Reads a stream in chunks, hashing and counting as it goes, and enforces a byte cap."""

    def __init__(
        self, stream: ReadableStream, *, max_bytes: int | None, chunk_size: int = CHUNK_SIZE
    ) -> None:
        self._stream = stream
        self._max_bytes = max_bytes
        self._chunk_size = chunk_size
        self._hash = hashlib.sha256()
        self.size = 0

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def __iter__(self) -> Iterator[bytes]:
        while True:
            chunk = self._stream.read(self._chunk_size)
            if not chunk:
                return
            self.size += len(chunk)
            if self._max_bytes is not None and self.size > self._max_bytes:
                raise PayloadTooLarge("The file is larger than allowed.", max_bytes=self._max_bytes)
            self._hash.update(chunk)
            yield chunk


def content_disposition(filename: str | None, *, inline: bool) -> str:
    """RFC 6266 header value: an ASCII `filename` fallback plus the exact UTF-8 `filename*`."""
    kind = "inline" if inline else "attachment"
    if not filename:
        return kind
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"[^A-Za-z0-9._() -]", "_", ascii_name)
    ascii_name = re.sub(r" {2,}", " ", ascii_name).strip(" .") or "download"
    encoded = quote(filename, safe="!#$&+-.^_`|~")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"


class Storage(ABC):
    """An object store addressed by app-generated keys; see `validate_key` for the alphabet."""

    supports_presigned_upload: bool = False

    def __init__(self, url: str) -> None:
        self.url = url

    @staticmethod
    def new_key(prefix: str) -> str:
        return new_key(prefix)

    @abstractmethod
    def put(
        self,
        key: str,
        stream: ReadableStream,
        *,
        content_type: str,
        max_bytes: int | None = None,
    ) -> StoredObject:
        """Stream `stream` into `key` in constant memory; PayloadTooLarge leaves nothing behind."""

    @abstractmethod
    def open_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Chunks of bytes `start..end` (inclusive; None = to the end); NotFound raised eagerly."""

    @abstractmethod
    def stat(self, key: str) -> ObjectInfo: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove `key`; deleting a missing key is not an error."""

    @abstractmethod
    def presigned_get_url(
        self,
        key: str,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        inline: bool = False,
        expires_seconds: int | None = None,
    ) -> str | None:
        """A direct download URL, or None when the app must stream the object itself."""

    @abstractmethod
    def ping(self) -> None:
        """Cheap health check; raises ServiceUnavailable."""

    def iter_objects(self) -> Iterator[ListedObject]:
        """Every stored object (key and size) in a stable order, listed lazily (for backups)."""
        raise StorageNotSupported("Penyimpanan ini tidak dapat mendaftar isinya.")

    def create_multipart_upload(self, key: str, content_type: str) -> str:
        raise self._no_presigned_upload()

    def presign_upload_part(
        self, key: str, upload_id: str, part_number: int, expires_seconds: int | None = None
    ) -> str:
        raise self._no_presigned_upload()

    def complete_multipart_upload(
        self, key: str, upload_id: str, parts: list[tuple[int, str]]
    ) -> None:
        raise self._no_presigned_upload()

    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        raise self._no_presigned_upload()

    def _no_presigned_upload(self) -> StorageNotSupported:
        return StorageNotSupported(
            "This storage backend does not support direct (presigned) uploads; "
            "upload through the application instead."
        )
