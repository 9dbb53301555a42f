"""Local-disk object storage under one root directory (`file://` URLs).

Owns atomic writes (temp file + fsync + os.replace), sidecar metadata and path confinement.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from app.core.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from app.storage.base import (
    CHUNK_SIZE,
    DISK_FULL,
    InsufficientStorage,
    ListedObject,
    MeteredReader,
    ObjectInfo,
    ReadableStream,
    Storage,
    StoredObject,
    clamp_range,
    is_disk_full,
    validate_content_type,
    validate_key,
)

# "~" is outside the key alphabet, so these names can never collide with a real key.
_META_SUFFIX = "~meta.json"
_TMP_SUFFIX = "~tmp"
_DEFAULT_CONTENT_TYPE = "application/octet-stream"


def root_from_url(url: str) -> Path:
    """`file://./rel/dir` is relative to the working directory; `file:///abs/dir` is absolute."""
    if not url.startswith("file://"):
        raise ValueError(f"not a file:// storage URL: {url!r}")
    raw = url.removeprefix("file://")
    if not raw:
        raise ValueError("file:// storage URL needs a path")
    return Path(raw).expanduser().resolve()


def _fsync_dir(path: Path) -> None:
    # Without this the rename itself may be lost on power failure.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


class DiskStorage(Storage):
    supports_presigned_upload = False

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.root = root_from_url(url)

    def _path(self, key: str) -> Path:
        validate_key(key)
        path = (self.root / key).resolve()
        # resolve() follows symlinks, so a link planted inside the root cannot lead outside it.
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValidationFailed("Invalid storage key.", field="key", code="invalid_storage_key")
        return path

    @staticmethod
    def _meta_path(path: Path) -> Path:
        return path.with_name(path.name + _META_SUFFIX)

    def put(
        self,
        key: str,
        stream: ReadableStream,
        *,
        content_type: str,
        max_bytes: int | None = None,
    ) -> StoredObject:
        path = self._path(key)
        validate_content_type(content_type)
        try:
            return self._put(path, key, stream, content_type=content_type, max_bytes=max_bytes)
        except OSError as exc:  # the temporary file is gone already: nothing half-written stays
            if is_disk_full(exc):
                raise InsufficientStorage(DISK_FULL) from exc
            raise

    def _put(
        self,
        path: Path,
        key: str,
        stream: ReadableStream,
        *,
        content_type: str,
        max_bytes: int | None,
    ) -> StoredObject:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise Conflict("Storage key collides with an existing object.") from exc
        reader = MeteredReader(stream, max_bytes=max_bytes)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=_TMP_SUFFIX)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in reader:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            meta = {"content_type": content_type, "sha256": reader.sha256, "size": reader.size}
            self._write_meta(path, meta)
            os.replace(tmp, path)
        except BaseException:
            _unlink_quietly(tmp)
            raise
        _fsync_dir(path.parent)
        return StoredObject(key, reader.size, reader.sha256, content_type)

    def _write_meta(self, path: Path, meta: dict[str, object]) -> None:
        meta_path = self._meta_path(path)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=meta_path.name, suffix=_TMP_SUFFIX)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(meta, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp_name, meta_path)
        except BaseException:
            _unlink_quietly(Path(tmp_name))
            raise

    def _read_meta(self, path: Path, size: int) -> dict[str, object]:
        try:
            meta = json.loads(self._meta_path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        # Metadata is written just before the data rename; a size mismatch means a crash
        # landed between the two, so the recorded hash belongs to other bytes.
        if not isinstance(meta, dict) or meta.get("size") != size:
            return {}
        return meta

    def stat(self, key: str) -> ObjectInfo:
        path = self._path(key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise NotFound("Stored object not found.", key=key) from exc
        if not path.is_file():
            raise NotFound("Stored object not found.", key=key)
        meta = self._read_meta(path, st.st_size)
        sha = meta.get("sha256")
        sha256 = sha if isinstance(sha, str) else None
        ctype = meta.get("content_type")
        return ObjectInfo(
            key=key,
            size=st.st_size,
            content_type=ctype if isinstance(ctype, str) else _DEFAULT_CONTENT_TYPE,
            etag=sha256 or f"{st.st_size:x}-{st.st_mtime_ns:x}",
            last_modified=datetime.fromtimestamp(st.st_mtime, tz=UTC),
            sha256=sha256,
        )

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def open_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        path = self._path(key)
        try:
            fh = path.open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise NotFound("Stored object not found.", key=key) from exc
        try:
            first, last = clamp_range(start, end, os.fstat(fh.fileno()).st_size)
            fh.seek(first)
        except BaseException:
            fh.close()
            raise
        return self._iter_file(fh, last - first + 1)

    @staticmethod
    def _iter_file(fh: BinaryIO, remaining: int) -> Iterator[bytes]:
        with fh:
            while remaining > 0:
                chunk = fh.read(min(CHUNK_SIZE, remaining))
                if not chunk:
                    return
                remaining -= len(chunk)
                yield chunk

    def delete(self, key: str) -> None:
        path = self._path(key)
        # A directory at this path is only a key prefix, never an object: nothing to delete.
        with contextlib.suppress(FileNotFoundError, NotADirectoryError, IsADirectoryError):
            path.unlink()
        _unlink_quietly(self._meta_path(path))

    def presigned_get_url(
        self,
        key: str,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        inline: bool = False,
        expires_seconds: int | None = None,
    ) -> str | None:
        self._path(key)
        return None

    def iter_objects(self) -> Iterator[ListedObject]:
        if not self.root.is_dir():
            return
        for folder, dirs, files in os.walk(self.root):
            dirs.sort()
            base = Path(folder)
            for name in sorted(files):
                # Sidecars, temp files of writes in flight and stray files are not objects.
                if name.endswith((_META_SUFFIX, _TMP_SUFFIX)):
                    continue
                path = base / name
                key = path.relative_to(self.root).as_posix()
                try:
                    validate_key(key)
                    st = path.lstat()
                except (ValidationFailed, FileNotFoundError):
                    continue
                if stat.S_ISREG(st.st_mode):
                    yield ListedObject(key, st.st_size)

    def ping(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=self.root, prefix=".ping", suffix=_TMP_SUFFIX)
            os.close(fd)
            os.unlink(name)
        except OSError as exc:
            raise ServiceUnavailable(
                "Object storage directory is not writable.", code="storage_unavailable"
            ) from exc
