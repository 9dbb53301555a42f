"""The backup manifest (manifest.json) and checksum file (SHA256SUMS): their shape, writing
and strict reading. A manifest that does not parse names what is wrong, never a traceback.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.storage.base import validate_key

FORMAT = "lms-backup/1"
MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"
DUMP_FILES = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}
# Objects copied into the backup folder itself (`--objects-to backup`) live here.
INSIDE = "objects"

_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHECKSUM_LINE = re.compile(r"([0-9a-f]{64}) [ *](\S+)")


class BackupError(Exception):
    """Anything that stops a backup, a restore or a verification; the message says what to do."""


@dataclass(frozen=True, slots=True)
class ObjectEntry:
    key: str
    size: int
    sha256: str
    content_type: str


@dataclass(slots=True)
class DatabaseInfo:
    kind: str  # "postgresql" | "sqlite"
    file: str
    size: int
    sha256: str
    server_version: str


@dataclass(slots=True)
class Manifest:
    app_version: str
    alembic_revision: str | None
    created_at: str
    database: DatabaseInfo
    tables: dict[str, int]
    storage_url: str
    # None: objects listed and hashed, not copied; INSIDE or a file:// / s3:// URL otherwise.
    objects_copy: str | None
    objects: list[ObjectEntry] = field(default_factory=list)
    format: str = FORMAT

    @property
    def objects_bytes(self) -> int:
        return sum(o.size for o in self.objects)

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "format": self.format,
            "app_version": self.app_version,
            "alembic_revision": self.alembic_revision,
            "created_at": self.created_at,
            "database": asdict(self.database),
            "tables": dict(sorted(self.tables.items())),
            "objects": {
                "storage_url": self.storage_url,
                "copy": self.objects_copy,
                "count": len(self.objects),
                "bytes": self.objects_bytes,
                "items": [asdict(o) for o in self.objects],
            },
        }
        return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def _need(data: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    if name not in data:
        raise BackupError(f"manifest: {where}{name} is missing")
    value = data[name]
    # bool is an int in Python; a count of `true` is still wrong.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BackupError(f"manifest: {where}{name} has the wrong type")
    return value


def _count(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BackupError(f"manifest: {where} must be a whole number >= 0")
    return value


def parse_manifest(text: str) -> Manifest:
    """A Manifest from manifest.json's text; BackupError naming the first problem otherwise."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BackupError(f"manifest: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BackupError("manifest: not a JSON object")
    if data.get("format") != FORMAT:
        raise BackupError(f"manifest: format is {data.get('format')!r}, expected {FORMAT!r}")
    db = _need(data, "database", dict, "")
    kind = _need(db, "kind", str, "database.")
    if kind not in DUMP_FILES:
        raise BackupError(f"manifest: unknown database kind {kind!r}")
    file = _need(db, "file", str, "database.")
    if file != DUMP_FILES[kind]:
        raise BackupError(f"manifest: database.file should be {DUMP_FILES[kind]!r}")
    sha = _need(db, "sha256", str, "database.")
    if _SHA256.fullmatch(sha) is None:
        raise BackupError("manifest: database.sha256 is not a sha256 hex digest")
    database = DatabaseInfo(
        kind=kind,
        file=file,
        size=_count(db.get("size"), "database.size"),
        sha256=sha,
        server_version=str(db.get("server_version", "")),
    )
    tables_raw = _need(data, "tables", dict, "")
    tables = {str(name): _count(n, f"tables.{name}") for name, n in tables_raw.items()}
    objs = _need(data, "objects", dict, "")
    items = _need(objs, "items", list, "objects.")
    copy = objs.get("copy")
    if copy is not None and not isinstance(copy, str):
        raise BackupError("manifest: objects.copy has the wrong type")
    entries: list[ObjectEntry] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"objects.items[{i}]"
        if not isinstance(item, dict):
            raise BackupError(f"manifest: {where} is not an object")
        key = _need(item, "key", str, where + ".")
        try:
            validate_key(key)
        except Exception:
            raise BackupError(f"manifest: {where}.key {key!r} is not a valid storage key") from None
        if key in seen:
            raise BackupError(f"manifest: object {key} is listed twice")
        seen.add(key)
        digest = _need(item, "sha256", str, where + ".")
        if _SHA256.fullmatch(digest) is None:
            raise BackupError(f"manifest: {where}.sha256 is not a sha256 hex digest")
        entries.append(
            ObjectEntry(
                key=key,
                size=_count(item.get("size"), f"{where}.size"),
                sha256=digest,
                content_type=_need(item, "content_type", str, where + "."),
            )
        )
    if objs.get("count") != len(entries):
        raise BackupError(
            f"manifest: objects.count is {objs.get('count')!r} but {len(entries)} are listed"
        )
    revision = data.get("alembic_revision")
    return Manifest(
        app_version=str(_need(data, "app_version", str, "")),
        alembic_revision=revision if isinstance(revision, str) else None,
        created_at=_need(data, "created_at", str, ""),
        database=database,
        tables=tables,
        storage_url=str(objs.get("storage_url", "")),
        objects_copy=copy,
        objects=entries,
    )


def read_manifest(folder: Path) -> Manifest:
    path = folder / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BackupError(f"{path}: missing; this is not a backup folder") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BackupError(f"{path}: unreadable ({exc})") from None
    return parse_manifest(text)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def write_checksums(folder: Path, names: list[str]) -> None:
    """`sha256sum -c SHA256SUMS` checks the backup with standard tools too."""
    lines = [f"{file_sha256(folder / name)}  {name}\n" for name in names]
    (folder / CHECKSUMS).write_text("".join(lines), encoding="utf-8")


def read_checksums(folder: Path) -> dict[str, str]:
    path = folder / CHECKSUMS
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BackupError(f"{CHECKSUMS}: missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BackupError(f"{CHECKSUMS}: unreadable ({exc})") from None
    sums: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        match = _CHECKSUM_LINE.fullmatch(line.strip())
        if match is None:
            raise BackupError(f"{CHECKSUMS}: line {n} is not '<sha256>  <file>'")
        sums[match.group(2)] = match.group(1)
    return sums
