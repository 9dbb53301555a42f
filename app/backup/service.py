"""Create, restore and verify backups of a whole installation (database + stored objects).

A backup is a folder (or a .tar of it) holding manifest.json, the database dump and SHA256SUMS;
objects are listed in the manifest with their sha256 and, optionally, copied into the folder
(`objects/`) or to a second store (`file://dir`, `s3://bucket/prefix`), streamed in chunks.
Nothing is half-written: a backup is built in `<name>.partial` and renamed when complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from app.backup import database
from app.backup.manifest import (
    CHECKSUMS,
    DUMP_FILES,
    INSIDE,
    MANIFEST,
    BackupError,
    DatabaseInfo,
    Manifest,
    ObjectEntry,
    file_sha256,
    read_checksums,
    read_manifest,
    write_checksums,
)
from app.backup.progress import Progress
from app.core.config import Settings
from app.core.errors import LMSError, NotFound
from app.storage.base import Storage
from app.storage.disk import DiskStorage
from app.storage.service import storage_from_url

ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass(slots=True)
class CreateResult:
    path: Path
    manifest: Manifest
    copied: int = 0
    unchanged: int = 0
    vanished: list[str] = field(default_factory=list)


@dataclass(slots=True)
class VerifyResult:
    manifest: Manifest | None
    problems: list[str] = field(default_factory=list)
    objects_checked: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RestoreResult:
    manifest: Manifest
    rows: int = 0
    objects: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _ChunkReader:
    """A `read(size)` stream over an iterator of chunks (a storage download), in constant memory."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def read(self, size: int = -1, /) -> bytes:
        if size < 0:
            data = self._buffer + b"".join(self._chunks)
            self._buffer = b""
            return data
        while len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def app_version() -> str:
    try:
        return importlib.metadata.version("lms-diklat-asn")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _copy_store(url: str, folder: Path, settings: Settings) -> Storage:
    """The object copy named by a manifest or an option: INSIDE the backup folder or a URL."""
    if url == INSIDE:
        return DiskStorage(f"file://{(folder / INSIDE).resolve()}")
    if url.startswith(("file://", "s3://")):
        return storage_from_url(url, settings)
    raise BackupError(f"object copy {url!r}: use 'backup', file://DIR or s3://BUCKET[/PREFIX]")


def _hash_object(store: Storage, key: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    for chunk in store.open_range(key):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class _Ticker:
    """Counts items and bytes of one step and passes them to Progress."""

    def __init__(self, progress: Progress, total: int | None) -> None:
        self.progress = progress
        self.total = total
        self.done = 0
        self.nbytes = 0

    def add(self, nbytes: int) -> None:
        self.done += 1
        self.nbytes += nbytes
        self.progress.advance(self.done, self.total, self.nbytes)


# -- create ------------------------------------------------------------------------------------


def create_backup(settings: Settings, output: Path, *, objects_to: str | None = None,
                  progress: Progress | None = None) -> CreateResult:  # fmt: skip
    """Dump the database, list (and optionally copy) every stored object, write the manifest.

    `output` ending in .tar gives one tar file; otherwise a folder. `objects_to` is "backup"
    (into the folder), file://DIR or s3://BUCKET/PREFIX (a second store, reused incrementally:
    objects already there with the same sha256 are not copied again), or None (hashes only).
    """
    progress = progress or Progress()
    as_tar = output.suffix == ".tar"
    folder = output.with_suffix("") if as_tar else output
    if output.exists() or folder.exists():
        raise BackupError(f"{output} already exists: choose a new name for each backup")
    partial = folder.with_name(folder.name + ".partial")
    if partial.exists():
        raise BackupError(f"{partial} exists: another backup is running, or remove the leftover")
    if objects_to == "backup":
        objects_to = INSIDE
    kind = database.kind_of(settings.database_url)
    source = storage_from_url(settings.storage_url, settings)
    partial.parent.mkdir(parents=True, exist_ok=True)
    # The dump holds personal data and password hashes: readable by this account only.
    partial.mkdir(mode=0o700)
    try:
        copy = _copy_store(objects_to, partial, settings) if objects_to else None
        dump_name = DUMP_FILES[kind]
        progress.stage(f"database ({kind}): dumping")
        dumped = database.dump(
            settings.database_url, partial / dump_name,
            lambda n: progress.advance(0, None, n),
        )  # fmt: skip
        # Objects are listed after the dump: every object a dumped row names already exists.
        result = CreateResult(path=output, manifest=Manifest(
            app_version=app_version(), alembic_revision=dumped.alembic_revision,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            database=DatabaseInfo(kind=kind, file=dump_name, size=(partial / dump_name).stat().st_size,
                                  sha256=file_sha256(partial / dump_name),
                                  server_version=dumped.server_version),
            tables=dumped.tables, storage_url=settings.storage_url, objects_copy=objects_to,
        ))  # fmt: skip
        progress.stage(
            "objects: "
            + ("hashing" if not objects_to else "copying into the backup"
               if objects_to == INSIDE else f"copying to {objects_to}")
        )  # fmt: skip
        _collect_objects(source, copy, result, progress)
        (partial / MANIFEST).write_text(result.manifest.to_json(), encoding="utf-8")
        write_checksums(partial, [dump_name, MANIFEST])
        if as_tar:
            progress.stage(f"writing {output}")
            tmp_tar = output.with_name(output.name + ".partial")
            tmp_tar.touch(mode=0o600)
            with tarfile.open(tmp_tar, "w") as tar:
                tar.add(partial, arcname=folder.name)
            tmp_tar.replace(output)
            shutil.rmtree(partial)
        else:
            partial.replace(folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        if as_tar:
            output.with_name(output.name + ".partial").unlink(missing_ok=True)
        raise
    return result


def _collect_objects(source: Storage, copy: Storage | None, result: CreateResult,
                     progress: Progress) -> None:  # fmt: skip
    ticker = _Ticker(progress, None)
    entries = result.manifest.objects
    for listed in source.iter_objects():
        try:
            info = source.stat(listed.key)
            if copy is None:
                sha, size = _hash_object(source, listed.key)
            else:
                sha, size = _copy_one(source, copy, listed.key, info.content_type, info.sha256,
                                      info.size, result)  # fmt: skip
        except NotFound:
            # Deleted since the listing (e.g. a replaced PDF): its rows were deleted too.
            result.vanished.append(listed.key)
            continue
        entries.append(ObjectEntry(listed.key, size, sha, info.content_type))
        ticker.add(size)


def _copy_one(source: Storage, copy: Storage, key: str, content_type: str,
              known_sha: str | None, size: int, result: CreateResult) -> tuple[str, int]:  # fmt: skip
    if known_sha is not None:
        with contextlib.suppress(NotFound):
            there = copy.stat(key)
            if there.sha256 == known_sha and there.size == size:
                result.unchanged += 1
                return known_sha, size
    stored = copy.put(key, _ChunkReader(source.open_range(key)), content_type=content_type)
    result.copied += 1
    return stored.sha256, stored.size


# -- opening a backup --------------------------------------------------------------------------


@contextlib.contextmanager
def opened(path: Path) -> Iterator[Path]:
    """The backup folder; a .tar is unpacked into a temporary folder (safely) for the duration."""
    if path.is_dir():
        yield path
        return
    if not path.is_file():
        raise BackupError(f"{path}: no such backup folder or tar file")
    with tempfile.TemporaryDirectory(prefix="lms-backup-", dir=path.parent) as tmp:
        try:
            with tarfile.open(path) as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise BackupError(f"{path}: not a readable tar file ({exc})") from None
        inner = [p for p in Path(tmp).iterdir() if (p / MANIFEST).is_file()]
        if len(inner) != 1:
            raise BackupError(f"{path}: the tar does not hold one backup folder")
        yield inner[0]


def _check_files(folder: Path, manifest: Manifest) -> list[str]:
    """Problems with the dump and checksum file, one line each."""
    problems: list[str] = []
    dump_file = folder / manifest.database.file
    try:
        sums = read_checksums(folder)
    except BackupError as exc:
        problems.append(str(exc))
        sums = {}
    if sums and sums.get(MANIFEST) != file_sha256(folder / MANIFEST):
        problems.append(f"{MANIFEST}: does not match its checksum in {CHECKSUMS} (edited?)")
    if not dump_file.is_file():
        problems.append(f"{manifest.database.file}: missing")
        return problems
    actual = file_sha256(dump_file)
    if actual != manifest.database.sha256:
        problems.append(
            f"{manifest.database.file}: sha256 differs from the manifest (damaged or tampered)"
        )
    elif sums and sums.get(manifest.database.file) != actual:
        problems.append(f"{manifest.database.file}: sha256 differs from {CHECKSUMS}")
    if not problems:
        readable = database.check_dump(manifest.database.kind, dump_file)
        if readable:
            problems.append(f"{manifest.database.file}: {readable}")
    return problems


# -- verify ------------------------------------------------------------------------------------


def verify_backup(path: Path, settings: Settings, *, objects_from: str | None = None,
                  progress: Progress | None = None) -> VerifyResult:  # fmt: skip
    """Check a backup without restoring it; every problem becomes one line in `problems`."""
    progress = progress or Progress()
    with opened(path) as folder:
        try:
            manifest = read_manifest(folder)
        except BackupError as exc:
            return VerifyResult(None, [str(exc)])
        result = VerifyResult(manifest)
        progress.stage("database dump: checking")
        result.problems += _check_files(folder, manifest)
        copy_url = objects_from or manifest.objects_copy
        if copy_url is None:
            result.notes.append("no object copy in this backup: objects were listed, not copied")
            return result
        try:
            copy = _copy_store(copy_url, folder, settings)
        except (BackupError, ValueError) as exc:
            result.problems.append(str(exc))
            return result
        progress.stage(f"objects: checking {len(manifest.objects)} in {copy_url}")
        ticker = _Ticker(progress, len(manifest.objects))
        for entry in manifest.objects:
            try:
                sha, size = _hash_object(copy, entry.key)
            except NotFound:
                result.problems.append(f"object {entry.key}: missing from the copy")
                continue
            except LMSError as exc:
                if exc.status_code == 503:  # the whole copy is out of reach: one line, stop
                    result.problems.append(f"object copy {copy_url}: unreachable ({exc.msgid})")
                    break
                result.problems.append(f"object {entry.key}: unreadable ({exc.msgid})")
                continue
            if sha != entry.sha256 or size != entry.size:
                result.problems.append(
                    f"object {entry.key}: sha256 differs from the manifest (changed or damaged)"
                )
            result.objects_checked += 1
            ticker.add(size)
        return result


# -- restore -----------------------------------------------------------------------------------


def migration_heads() -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory(str(ROOT / "migrations")).get_heads())


def restore_backup(path: Path, settings: Settings, *, force: bool = False,
                   objects_from: str | None = None, database_only: bool = False,
                   progress: Progress | None = None) -> RestoreResult:  # fmt: skip
    """Restore into the database and store of `settings`, which must be empty unless `force`.

    Objects come from the backup's copy (or `objects_from`); with `database_only` they are not
    copied, and those in the target store are checked against the manifest instead.
    """
    progress = progress or Progress()
    with opened(path) as folder:
        manifest = read_manifest(folder)
        problems = _check_files(folder, manifest)
        if problems:
            raise BackupError("the backup is damaged, nothing restored: " + "; ".join(problems))
        target_kind = database.kind_of(settings.database_url)
        if target_kind != manifest.database.kind:
            raise BackupError(
                f"this is a {manifest.database.kind} backup and the target database is "
                f"{target_kind}: restore into a {manifest.database.kind} database "
                "(moving between kinds is not supported)"
            )
        result = RestoreResult(manifest)
        tables = database.existing_tables(settings.database_url)
        if tables and not force:
            shown = ", ".join(tables[:5]) + (" ..." if len(tables) > 5 else "")
            raise BackupError(
                f"the target database is not empty ({len(tables)} tables: {shown}); restore "
                "into an empty database, or pass --force to replace everything in it"
            )
        target = storage_from_url(settings.storage_url, settings)
        copy: Storage | None = None
        if not database_only:
            copy_url = objects_from or manifest.objects_copy
            if copy_url is None:
                raise BackupError(
                    "this backup has no copy of the objects: pass --objects-from URL, or "
                    "--database-only to restore the database and check the objects in the "
                    "target store against the manifest"
                )
            copy = _copy_store(copy_url, folder, settings)
            first = next(iter(target.iter_objects()), None)
            if first is not None and not force:
                raise BackupError(
                    f"the target store {settings.storage_url} is not empty (e.g. {first.key}); "
                    "restore into an empty store, or pass --force to overwrite"
                )
        heads = migration_heads()
        if manifest.alembic_revision and manifest.alembic_revision not in heads:
            result.notes.append(
                f"the backup is at migration {manifest.alembic_revision}, this code's head is "
                f"{', '.join(sorted(heads))}: run `lms db upgrade` before serving"
            )
        if copy is not None:
            _restore_objects(copy, target, manifest, result, progress)
        progress.stage(f"database ({manifest.database.kind}): restoring")
        database.restore(
            manifest.database.kind, folder / manifest.database.file, settings.database_url,
            force=force, progress=lambda n: progress.advance(0, None, n),
        )  # fmt: skip
    progress.stage("checking row counts and objects")
    counts = database.counts_of(settings.database_url)
    result.rows = sum(counts.values())
    for name, expected in sorted(manifest.tables.items()):
        got = counts.get(name)
        if got != expected:
            result.problems.append(
                f"table {name}: {got if got is not None else 'missing'} rows, backup had {expected}"
            )
    for name in sorted(set(counts) - set(manifest.tables)):
        result.problems.append(f"table {name}: not in the backup")
    if copy is None:
        _check_objects_in_place(target, manifest, result, progress)
    return result


def _restore_objects(copy: Storage, target: Storage, manifest: Manifest, result: RestoreResult,
                     progress: Progress) -> None:  # fmt: skip
    progress.stage(f"objects: restoring {len(manifest.objects)}")
    ticker = _Ticker(progress, len(manifest.objects))
    for entry in manifest.objects:
        try:
            chunks = copy.open_range(entry.key)
            stored = target.put(entry.key, _ChunkReader(chunks), content_type=entry.content_type)
        except NotFound:
            result.problems.append(f"object {entry.key}: missing from the copy, not restored")
            continue
        if stored.sha256 != entry.sha256 or stored.size != entry.size:
            # What the copy holds is not what was backed up: keep nothing wrong in the store.
            target.delete(entry.key)
            result.problems.append(
                f"object {entry.key}: sha256 differs from the manifest, not restored"
            )
            continue
        result.objects += 1
        result.bytes += stored.size
        ticker.add(stored.size)


def _check_objects_in_place(target: Storage, manifest: Manifest, result: RestoreResult,
                            progress: Progress) -> None:  # fmt: skip
    progress.stage(f"objects: checking {len(manifest.objects)} in the target store")
    ticker = _Ticker(progress, len(manifest.objects))
    for entry in manifest.objects:
        try:
            sha, size = _hash_object(target, entry.key)
        except NotFound:
            result.problems.append(f"object {entry.key}: missing from the target store")
            continue
        if sha != entry.sha256 or size != entry.size:
            result.problems.append(f"object {entry.key}: sha256 differs from the manifest")
            continue
        result.objects += 1
        result.bytes += size
        ticker.add(size)
