"""The database half of a backup: a consistent dump with the row count of every table taken from
the same snapshot, emptiness checks, restore, and a readability check of a dump.

PostgreSQL goes through pg_dump/pg_restore (custom format); SQLite through the online backup API.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, create_engine, func, inspect, select, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from app.backup.manifest import BackupError

# (bytes written so far) -> None; called about once a second during long steps.
ByteProgress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class DumpResult:
    tables: dict[str, int]
    alembic_revision: str | None
    server_version: str


def kind_of(database_url: str) -> str:
    name = make_url(database_url).get_backend_name()
    if name in ("postgresql", "sqlite"):
        return name
    raise BackupError(f"unsupported database {name!r}: backups handle PostgreSQL and SQLite")


def _pg_tool(name: str) -> str:
    found = shutil.which(name) or (
        f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None
    )
    if found is None:
        raise BackupError(
            f"{name} not found: install the PostgreSQL client tools "
            "(the server's major version or newer)"
        )
    return found


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password (which goes in PGPASSWORD, out of `ps`) and its env."""
    url = make_url(database_url)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _redacted(database_url: str) -> str:
    return make_url(database_url).render_as_string(hide_password=True)


@contextlib.contextmanager
def _connect(database_url: str) -> Iterator[Connection]:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            yield conn
    except SQLAlchemyError as exc:
        reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["error"])[0]
        raise BackupError(f"database {_redacted(database_url)}: {reason}") from None
    finally:
        engine.dispose()


def _tables(conn: Connection) -> list[str]:
    return sorted(inspect(conn).get_table_names())


def table_counts(conn: Connection) -> dict[str, int]:
    return {
        name: int(conn.execute(select(func.count()).select_from(table(name))).scalar_one())
        for name in _tables(conn)
    }


def _revision(conn: Connection, tables: dict[str, int]) -> str | None:
    if "alembic_version" not in tables:
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return ",".join(sorted(rows)) or None


def _run_watched(cmd: list[str], env: dict[str, str], watch: Path | None,
                 progress: ByteProgress | None) -> None:  # fmt: skip
    """Run a client tool, reporting the size of `watch` while it runs; stderr in the error."""
    with subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stderr is not None
        while proc.poll() is None:
            time.sleep(0.5)
            if progress is not None and watch is not None and watch.exists():
                progress(watch.stat().st_size)
        err = proc.stderr.read().decode(errors="replace").strip()
    if proc.returncode != 0:
        tool = Path(cmd[0]).name
        raise BackupError(f"{tool} failed (exit {proc.returncode}): {err[-2000:] or 'no output'}")


# -- dump --------------------------------------------------------------------------------------


def dump(database_url: str, dest: Path, progress: ByteProgress | None = None) -> DumpResult:
    if kind_of(database_url) == "postgresql":
        return _dump_postgres(database_url, dest, progress)
    return _dump_sqlite(database_url, dest, progress)


def _dump_postgres(database_url: str, dest: Path, progress: ByteProgress | None) -> DumpResult:
    pg_dump = _pg_tool("pg_dump")
    conninfo, env = _libpq(database_url)
    with _connect(database_url) as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            # pg_dump joins this transaction's snapshot, so the counts describe the dump exactly.
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            counts = table_counts(conn)
            revision = _revision(conn, counts)
            version = str(conn.execute(text("SHOW server_version")).scalar_one())
            _run_watched(
                [pg_dump, "--format=custom", "--no-owner", "--no-privileges",
                 f"--snapshot={snapshot}", f"--file={dest}", f"--dbname={conninfo}"],
                env, dest, progress,
            )  # fmt: skip
    return DumpResult(counts, revision, f"PostgreSQL {version}")


def _sqlite_file(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _dump_sqlite(database_url: str, dest: Path, progress: ByteProgress | None) -> DumpResult:
    source = _sqlite_file(database_url)
    if not source.is_file():
        raise BackupError(f"SQLite database {source} does not exist")

    def report(_status: int, remaining: int, total: int) -> None:
        if progress is not None and total:
            progress((total - remaining) * page_size)

    src = sqlite3.connect(source, timeout=15)
    try:
        page_size = int(src.execute("PRAGMA page_size").fetchone()[0])
        out = sqlite3.connect(dest)
        try:
            # The online backup API: a consistent copy while the server keeps writing.
            src.backup(out, pages=4096, progress=report)
            # A single self-contained file (no -wal beside it), readable with mode=ro.
            out.execute("PRAGMA journal_mode=DELETE")
        finally:
            out.close()
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup of {source} failed: {exc}") from None
    finally:
        src.close()
    with _connect(f"sqlite:///{dest}") as conn:
        counts = table_counts(conn)
        revision = _revision(conn, counts)
    return DumpResult(counts, revision, f"SQLite {sqlite3.sqlite_version}")


# -- restore -----------------------------------------------------------------------------------


def existing_tables(database_url: str) -> list[str]:
    """The target's tables (empty list: safe to restore into). Raises if unreachable."""
    if kind_of(database_url) == "sqlite":
        path = _sqlite_file(database_url)
        if not path.exists() or path.stat().st_size == 0:
            return []
    with _connect(database_url) as conn:
        if conn.dialect.name == "postgresql":
            rows = conn.execute(text(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
            )).scalars().all()  # fmt: skip
            return list(rows)
        return _tables(conn)


def restore(kind: str, dump_file: Path, database_url: str, *, force: bool,
            progress: ByteProgress | None = None) -> None:  # fmt: skip
    if kind == "postgresql":
        _restore_postgres(dump_file, database_url, force=force)
    else:
        _restore_sqlite(dump_file, database_url, progress)


def _restore_postgres(dump_file: Path, database_url: str, *, force: bool) -> None:
    pg_restore = _pg_tool("pg_restore")
    if force:
        with _connect(database_url) as conn, conn.begin():
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    conninfo, env = _libpq(database_url)
    # One transaction: either the whole database is there or nothing is.
    _run_watched(
        [pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
         f"--dbname={conninfo}", str(dump_file)],
        env, None, None,
    )  # fmt: skip


def _restore_sqlite(dump_file: Path, database_url: str, progress: ByteProgress | None) -> None:
    target = _sqlite_file(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".restoring")
    tmp.unlink(missing_ok=True)

    def report(_status: int, remaining: int, total: int) -> None:
        if progress is not None and total:
            progress((total - remaining) * page_size)

    try:
        src = sqlite3.connect(f"file:{dump_file}?mode=ro", uri=True)
        try:
            page_size = int(src.execute("PRAGMA page_size").fetchone()[0])
            out = sqlite3.connect(tmp)
            try:
                src.backup(out, pages=4096, progress=report)
            finally:
                out.close()
        finally:
            src.close()
        # The old file's journal would be replayed over the restored pages: remove it first.
        for suffix in ("-wal", "-shm", "-journal"):
            target.with_name(target.name + suffix).unlink(missing_ok=True)
        os.replace(tmp, target)
    except sqlite3.Error as exc:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"SQLite restore into {target} failed: {exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def counts_of(database_url: str) -> dict[str, int]:
    with _connect(database_url) as conn:
        return table_counts(conn)


# -- verify ------------------------------------------------------------------------------------


def check_dump(kind: str, dump_file: Path) -> str | None:
    """Why the dump cannot be restored (None when it reads fine), without restoring it."""
    if kind == "postgresql":
        pg_restore = _pg_tool("pg_restore")
        proc = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [pg_restore, "--list", str(dump_file)],
            capture_output=True, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            return f"pg_restore --list cannot read the dump: {err[-1] if err else 'no output'}"
        if b"TABLE DATA" not in proc.stdout:
            return "the dump holds no table data"
        return None
    try:
        conn = sqlite3.connect(f"file:{dump_file}?mode=ro", uri=True)
        try:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return f"SQLite cannot read the copy: {exc}"
    if rows != ["ok"]:
        return "SQLite integrity_check: " + "; ".join(str(r) for r in rows[:5])
    return None
