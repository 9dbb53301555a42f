"""Backup a seeded installation, restore it into a fresh database and store of the same kinds,
and find the same rows, the same objects, and certificates that still verify.

Runs on SQLite and, with LMS_TEST_DATABASE_URL, on PostgreSQL; each with disk and S3 stores.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.backup import database
from app.backup.manifest import read_manifest
from app.backup.service import create_backup, restore_backup, verify_backup
from app.certificates import service as cert_service
from app.certificates import signing
from app.certificates.models import Certificate
from app.core.config import Settings
from app.storage import get_storage, storage_from_url
from tests.backup.conftest import BIG, Seeded, object_hashes


def _check_certificates(settings: Settings, expected: int) -> None:
    """Every restored certificate verifies by code, by its stored PDF's hash and by signature."""
    engine = create_engine(settings.database_url, poolclass=NullPool)
    store = storage_from_url(settings.storage_url, settings)
    try:
        with Session(engine) as session:
            certs = session.scalars(select(Certificate)).all()
            assert len(certs) == expected
            for cert in certs:
                assert cert.pdf_key and cert.pdf_sha256
                assert cert_service.verify(session, cert.code).status == "valid"
                pdf = b"".join(store.open_range(cert.pdf_key))
                assert hashlib.sha256(pdf).hexdigest() == cert.pdf_sha256
                assert signing.signature_check(pdf, settings).authentic
                checked = cert_service.verify_pdf(session, pdf, settings)
                assert checked.authentic and checked.code == cert.code
    finally:
        engine.dispose()


@pytest.mark.parametrize("objects_to", ["backup", "external"])
def test_backup_and_restore_round_trip(
    seeded: Seeded, settings: Settings, target_database: str, target_store: str,
    tmp_path: Path, objects_to: str,
) -> None:  # fmt: skip
    source_counts = database.counts_of(settings.database_url)
    source_hashes = object_hashes(get_storage(settings))
    assert seeded.big_key in source_hashes and len(source_hashes) == seeded.certificates + 1
    copy = "backup" if objects_to == "backup" else f"file://{tmp_path / 'object-copy'}"

    created = create_backup(settings, tmp_path / "b1", objects_to=copy)

    manifest = read_manifest(tmp_path / "b1")
    assert manifest.tables == source_counts
    assert manifest.tables["certificate"] == seeded.certificates
    assert {o.key: o.sha256 for o in manifest.objects} == source_hashes
    assert created.copied == len(source_hashes)
    assert not verify_backup(tmp_path / "b1", settings).problems

    target = settings.model_copy(
        update={"database_url": target_database, "storage_url": target_store}
    )
    restored = restore_backup(tmp_path / "b1", target)

    assert restored.problems == []
    assert restored.objects == len(source_hashes)
    assert database.counts_of(target_database) == source_counts
    assert object_hashes(storage_from_url(target_store, target)) == source_hashes
    _check_certificates(target, seeded.certificates)


@pytest.mark.parametrize("source_store", ["disk"], indirect=True)
def test_second_backup_to_the_same_copy_copies_only_new_objects(
    seeded: Seeded, settings: Settings, tmp_path: Path
) -> None:
    copy = f"file://{tmp_path / 'object-copy'}"
    first = create_backup(settings, tmp_path / "b1", objects_to=copy)
    store = get_storage(settings)
    store.put(store.new_key("materials"), iter_bytes(b"baru"), content_type="text/plain")

    second = create_backup(settings, tmp_path / "b2", objects_to=copy)

    assert first.copied == seeded.certificates + 1
    assert (second.copied, second.unchanged) == (1, seeded.certificates + 1)
    assert not verify_backup(tmp_path / "b1", settings).problems
    assert not verify_backup(tmp_path / "b2", settings).problems


@pytest.mark.parametrize("source_store", ["disk"], indirect=True)
def test_tar_backup_restores_like_a_folder(
    seeded: Seeded, settings: Settings, target_database: str, target_store: str, tmp_path: Path
) -> None:
    create_backup(settings, tmp_path / "nightly.tar", objects_to="backup")
    assert (tmp_path / "nightly.tar").is_file()
    assert not (tmp_path / "nightly").exists() and not (tmp_path / "nightly.partial").exists()
    assert not verify_backup(tmp_path / "nightly.tar", settings).problems

    target = settings.model_copy(
        update={"database_url": target_database, "storage_url": target_store}
    )
    restored = restore_backup(tmp_path / "nightly.tar", target)

    assert restored.problems == [] and restored.bytes >= BIG
    assert database.counts_of(target_database) == database.counts_of(settings.database_url)


@pytest.mark.parametrize("source_store", ["disk"], indirect=True)
def test_database_only_restore_checks_the_objects_left_in_the_store(
    seeded: Seeded, settings: Settings, target_database: str, tmp_path: Path
) -> None:
    """A lost database server, a surviving bucket: restore the database, check the objects."""
    create_backup(settings, tmp_path / "b1")  # hashes only, no copy
    target = settings.model_copy(update={"database_url": target_database})

    restored = restore_backup(tmp_path / "b1", target, database_only=True)

    assert restored.problems == [] and restored.objects == seeded.certificates + 1
    get_storage(settings).delete(seeded.big_key)
    again = restore_backup(tmp_path / "b1", target, database_only=True, force=True)
    assert again.problems == [f"object {seeded.big_key}: missing from the target store"]


def iter_bytes(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)
