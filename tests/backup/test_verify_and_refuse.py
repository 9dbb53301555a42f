"""`lms backup verify` names every problem (tampered dump, missing or changed object, edited
manifest) and exits non-zero; restore refuses non-empty targets, other database kinds and
damaged backups without touching anything; a failed create leaves nothing behind."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.backup import database
from app.backup.manifest import CHECKSUMS, MANIFEST, BackupError, read_manifest
from app.backup.service import create_backup, restore_backup, verify_backup
from app.cli import cli
from app.core.config import Settings
from app.storage import DiskStorage
from tests.backup.conftest import Seeded

pytestmark = pytest.mark.parametrize("source_store", ["disk"], indirect=True)
runner = CliRunner()


def _dump(folder: Path) -> Path:
    return folder / read_manifest(folder).database.file


def test_cli_backup_and_verify_ok(seeded: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "b1"
    created = runner.invoke(cli, ["backup", "create", "-o", str(out), "--objects-to", "backup"])
    assert created.exit_code == 0, created.output
    assert f"backup: {out}" in created.output
    assert f"objects: {seeded.certificates + 1} " in created.output
    assert "==> database" in created.output  # progress (stderr is mixed into output here)

    checked = runner.invoke(cli, ["backup", "verify", str(out)])
    assert checked.exit_code == 0, checked.output
    assert (
        f"{seeded.certificates + 1} of {seeded.certificates + 1} objects checked" in checked.output
    )


def test_verify_names_each_problem(seeded: Seeded, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "b1"
    create_backup(settings, out, objects_to="backup")
    manifest = read_manifest(out)
    copy = DiskStorage(f"file://{out / 'objects'}")
    pdfs = [o.key for o in manifest.objects if o.key.startswith("certificates/")]
    missing, changed = pdfs[0], pdfs[1]
    copy.delete(missing)
    copy.put(changed, io.BytesIO(b"%PDF-1.7 forged"), content_type="application/pdf")
    dump = _dump(out)
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))

    result = runner.invoke(cli, ["backup", "verify", str(out)])

    assert result.exit_code == 1, result.output
    problems = [line for line in result.output.splitlines() if line.startswith("PROBLEM: ")]
    assert problems == [
        f"PROBLEM: {dump.name}: sha256 differs from the manifest (damaged or tampered)",
        f"PROBLEM: object {missing}: missing from the copy",
        f"PROBLEM: object {changed}: sha256 differs from the manifest (changed or damaged)",
    ]
    assert "3 problem(s)" in result.output


def test_verify_catches_an_edited_manifest_and_a_broken_one(
    seeded: Seeded, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "b1"
    create_backup(settings, out)
    path = out / MANIFEST
    data = json.loads(path.read_text())
    data["tables"]["certificate"] += 1
    path.write_text(json.dumps(data))

    edited = verify_backup(out, settings)
    assert edited.problems == [f"{MANIFEST}: does not match its checksum in {CHECKSUMS} (edited?)"]
    assert edited.notes == ["no object copy in this backup: objects were listed, not copied"]

    path.write_text('{"format": "lms-backup/1", "database": ')
    broken = runner.invoke(cli, ["backup", "verify", str(out)])
    assert broken.exit_code == 1
    assert "PROBLEM: manifest: not valid JSON" in broken.output

    del data["objects"]["items"][0]["sha256"]
    path.write_text(json.dumps(data))
    assert verify_backup(out, settings).problems == ["manifest: objects.items[0].sha256 is missing"]


def test_verify_reads_the_dump_itself(seeded: Seeded, settings: Settings, tmp_path: Path) -> None:
    """A dump that matches its (recomputed) checksums but is not a database is still caught."""
    out = tmp_path / "b1"
    create_backup(settings, out)
    dump = _dump(out)
    dump.write_bytes(b"not a database at all" * 100)
    from app.backup.manifest import file_sha256, write_checksums

    data = json.loads((out / MANIFEST).read_text())
    data["database"]["sha256"] = file_sha256(dump)
    (out / MANIFEST).write_text(json.dumps(data))
    write_checksums(out, [dump.name, MANIFEST])

    [problem] = verify_backup(out, settings).problems
    assert problem.startswith(f"{dump.name}: ")
    assert "cannot read" in problem or "integrity_check" in problem


def test_restore_refuses_a_non_empty_database(
    seeded: Seeded, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "b1"
    create_backup(settings, out, objects_to="backup")
    before = database.counts_of(settings.database_url)
    store = f"file://{tmp_path / 'empty-store'}"

    result = runner.invoke(cli, ["backup", "restore", str(out), "--storage-url", store])

    assert result.exit_code == 2
    assert "error: the target database is not empty (" in result.output
    assert "pass --force" in result.output
    assert database.counts_of(settings.database_url) == before
    assert not (tmp_path / "empty-store").exists()


def test_restore_refuses_a_non_empty_store(
    seeded: Seeded, settings: Settings, target_database: str, tmp_path: Path
) -> None:
    out = tmp_path / "b1"
    create_backup(settings, out, objects_to="backup")
    store = DiskStorage(f"file://{tmp_path / 'used-store'}")
    store.put("materials/old", io.BytesIO(b"x"), content_type="text/plain")
    target = settings.model_copy(update={"database_url": target_database,
                                         "storage_url": store.url})  # fmt: skip

    with pytest.raises(BackupError, match=r"target store .* is not empty \(e\.g\. materials/old\)"):
        restore_backup(out, target)
    assert database.existing_tables(target_database) == []

    restored = restore_backup(out, target, force=True)  # --force: overwrite, keep the rest
    assert restored.problems == [] and store.exists("materials/old")


def test_restore_refuses_another_database_kind(
    seeded: Seeded, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "b1"
    create_backup(settings, out, objects_to="backup")
    kind = database.kind_of(settings.database_url)
    other = ("sqlite:///" + str(tmp_path / "x.db") if kind == "postgresql"
             else "postgresql+psycopg://nobody@127.0.0.1:1/none")  # fmt: skip

    result = runner.invoke(cli, ["backup", "restore", str(out), "--database-url", other,
                                 "--storage-url", f"file://{tmp_path / 's'}"])  # fmt: skip

    assert result.exit_code == 2
    assert f"error: this is a {kind} backup and the target database is" in result.output


def test_restore_refuses_a_damaged_backup_and_touches_nothing(
    seeded: Seeded, settings: Settings, target_database: str, tmp_path: Path
) -> None:
    out = tmp_path / "b1"
    create_backup(settings, out, objects_to="backup")
    dump = _dump(out)
    dump.write_bytes(dump.read_bytes()[:-10])
    target = settings.model_copy(update={"database_url": target_database,
                                         "storage_url": f"file://{tmp_path / 's'}"})  # fmt: skip

    with pytest.raises(BackupError, match="the backup is damaged, nothing restored"):
        restore_backup(out, target)
    assert database.existing_tables(target_database) == []
    assert not (tmp_path / "s").exists()


def test_restore_without_object_copy_says_what_to_do(
    seeded: Seeded, settings: Settings, target_database: str, tmp_path: Path
) -> None:
    out = tmp_path / "b1"
    create_backup(settings, out)
    target = settings.model_copy(update={"database_url": target_database})
    with pytest.raises(BackupError, match="no copy of the objects: pass --objects-from URL, or "
                       "--database-only"):  # fmt: skip
        restore_backup(out, target)


def test_failed_create_leaves_nothing(seeded: Seeded, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "b1"
    result = runner.invoke(cli, ["backup", "create", "-o", str(out), "--objects-to", "ftp://x"])
    assert result.exit_code == 2
    assert "error: object copy 'ftp://x': use 'backup', file://DIR or s3://" in result.output
    assert list(tmp_path.iterdir()) == [tmp_path / "installation-objects"]

    create_backup(settings, out)
    with pytest.raises(BackupError, match="already exists"):
        create_backup(settings, out)
