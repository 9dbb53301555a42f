"""`lms backup create | restore | verify`: thin typer commands over app.backup.service, with
progress on stderr (a live line on a terminal, a line every few seconds in a log)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.backup.progress import Progress

if TYPE_CHECKING:
    from app.core.config import Settings

# The arguments verify and restore share.
BackupArg = Annotated[Path, typer.Argument(help="Backup folder or .tar")]
ObjectsFrom = Annotated[
    str | None, typer.Option(help="Where the object copy is now, if it moved")
]

backup_cli = typer.Typer(
    help="Backups: database dump, object manifest and copy; restore; verify",
    no_args_is_help=True,
)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


class ConsoleProgress(Progress):
    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.interval = 0.2 if self.tty else 5.0
        self.last = 0.0
        self.line = ""

    def _end_line(self) -> None:
        if self.line:
            sys.stderr.write(("\r" + self.line + "\n") if self.tty else (self.line + "\n"))
            self.line = ""

    def stage(self, text: str) -> None:
        self._end_line()
        sys.stderr.write(f"==> {text}\n")
        sys.stderr.flush()
        self.last = time.monotonic()

    def advance(self, done: int, total: int | None, nbytes: int) -> None:
        if total is None and done == 0:
            self.line = f"    {_size(nbytes)}"
        else:
            self.line = f"    {done}{f'/{total}' if total is not None else ''} ({_size(nbytes)})"
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            sys.stderr.write(("\r" + self.line) if self.tty else (self.line + "\n"))
            if not self.tty:
                self.line = ""
            sys.stderr.flush()

    def finish(self) -> None:
        self._end_line()
        sys.stderr.flush()


def _settings(database_url: str | None = None, storage_url: str | None = None) -> Settings:
    from app.core.config import get_settings

    settings = get_settings()
    update = {k: v for k, v in (("database_url", database_url), ("storage_url", storage_url)) if v}
    return settings.model_copy(update=update) if update else settings


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@contextmanager
def _running(progress: ConsoleProgress) -> Iterator[None]:
    """A create or restore: its refusals and storage errors end the command in one line (exit 2),
    and the progress line is closed either way."""
    from app.backup.manifest import BackupError
    from app.core.errors import LMSError

    try:
        yield
    except BackupError as exc:
        raise _fail(str(exc)) from None
    except LMSError as exc:
        raise _fail(f"object storage: {exc.msgid}") from None
    finally:
        progress.finish()


@backup_cli.command("create")
def backup_create(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="New folder, or a file ending in .tar (default: backups/lms-<UTC time>)",
        ),
    ] = None,
    objects_to: Annotated[
        str | None,
        typer.Option(
            help="Copy the objects: 'backup' (into the backup), file://DIR or "
            "s3://BUCKET/PREFIX (incremental); default: list and hash only"
        ),
    ] = None,
) -> None:
    """Back up the database (pg_dump -Fc / SQLite online backup) and every stored object."""
    from app.backup.service import create_backup

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = output or Path("backups") / f"lms-{stamp}"
    progress = ConsoleProgress()
    with _running(progress):
        result = create_backup(_settings(), target, objects_to=objects_to, progress=progress)
    m = result.manifest
    typer.echo(f"backup: {result.path}")
    typer.echo(f"  database: {m.database.kind}, {len(m.tables)} tables, "
               f"{sum(m.tables.values())} rows, dump {_size(m.database.size)}, "
               f"migration {m.alembic_revision or '-'}")  # fmt: skip
    line = f"  objects: {len(m.objects)} ({_size(m.objects_bytes)})"
    if m.objects_copy:
        line += f", copied {result.copied}, already in the copy {result.unchanged}"
    typer.echo(line)
    if result.vanished:
        typer.echo(f"  {len(result.vanished)} object(s) deleted during the backup, not included")


@backup_cli.command("verify")
def backup_verify(
    backup: BackupArg,
    objects_from: ObjectsFrom = None,
) -> None:
    """Check a backup without restoring it; one line per problem, exit 1 if any."""
    from app.backup.manifest import BackupError
    from app.backup.service import verify_backup

    progress = ConsoleProgress()
    try:
        result = verify_backup(backup, _settings(), objects_from=objects_from, progress=progress)
    except BackupError as exc:
        raise _fail(str(exc)) from None
    finally:
        progress.finish()
    for note in result.notes:
        typer.echo(f"note: {note}")
    for problem in result.problems:
        typer.echo(f"PROBLEM: {problem}")
    if result.problems:
        typer.echo(f"{backup}: {len(result.problems)} problem(s)")
        raise typer.Exit(1)
    m = result.manifest
    assert m is not None
    typer.echo(f"{backup}: OK ({m.database.kind} dump readable, {len(m.tables)} tables, "
               f"{result.objects_checked} of {len(m.objects)} objects checked)")  # fmt: skip


@backup_cli.command("restore")
def backup_restore(
    backup: BackupArg,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a non-empty database and store")
    ] = False,
    objects_from: ObjectsFrom = None,
    database_only: Annotated[
        bool,
        typer.Option(
            "--database-only", help="Restore the database only; check the store's objects"
        ),
    ] = False,
    database_url: Annotated[
        str | None, typer.Option(help="Target database (default: LMS_DATABASE_URL)")
    ] = None,
    storage_url: Annotated[
        str | None, typer.Option(help="Target store (default: LMS_STORAGE_URL)")
    ] = None,
) -> None:
    """Restore a backup into an empty database and store, then compare with its manifest."""
    from app.backup.service import restore_backup

    progress = ConsoleProgress()
    with _running(progress):
        result = restore_backup(
            backup, _settings(database_url, storage_url), force=force,
            objects_from=objects_from, database_only=database_only, progress=progress,
        )  # fmt: skip
    m = result.manifest
    typer.echo(f"restored {backup} (made {m.created_at}, app {m.app_version})")
    typer.echo(f"  database: {len(m.tables)} tables, {result.rows} rows")
    typer.echo(f"  objects: {result.objects} of {len(m.objects)} ({_size(result.bytes)})")
    for note in result.notes:
        typer.echo(f"note: {note}")
    for problem in result.problems:
        typer.echo(f"PROBLEM: {problem}")
    if result.problems:
        raise typer.Exit(1)
    typer.echo("  row counts and object hashes match the manifest")
