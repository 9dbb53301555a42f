"""Backup and restore on the production stack (PostgreSQL + SeaweedFS), through the real
`lms backup` commands: back up the seeded, running system with an object copy in a second
bucket, verify the backup, restore it into a fresh database and a fresh bucket, and find the
same row counts per table, the same object hashes, and certificates that still verify on an
app started against the restored database and bucket."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, inspect, select, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.ports import free_port
from tests.production.journey import (
    LEARNER_PASSWORD,
    create_course,
    create_learners,
    enrol,
    expect,
    pass_posttest,
    staff,
)
from tests.production.stack import REPO, ProdStack, wait_until

BIRTH_YEAR = 1979  # NIPs of this module's learners (prod uses 1981-1984)


def _certified_learner(stack: ProdStack) -> dict[str, Any]:
    """A learner of a new course who passed its post-test; waits for the certificate PDF."""
    admin, officer, author = staff(stack)
    course = create_course(stack, author, officer)
    (user,) = create_learners(admin, BIRTH_YEAR, 1, start=int(uuid.uuid4().int % 900))
    enrol(officer, course.run_id, [user["nip"]])
    learner = stack.api(user["nip"], LEARNER_PASSWORD)
    assert pass_posttest(learner, course.quiz_id)["passed"] is True

    def ready() -> dict[str, Any] | None:
        mine = expect(learner.get("/api/v1/me/certificates"), 200)
        return next((c for c in mine if c["has_pdf"] and c["course_title"].endswith(course.code)),
                    None)  # fmt: skip

    cert = wait_until(ready, timeout=90, message="the certificate PDF")
    for client in (admin, officer, author, learner):
        client.close()
    return {"user": user, "cert": cert}


def _bucket_hashes(s3: Any, bucket: str) -> dict[str, str]:
    hashes: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"]
            digest = hashlib.sha256()
            for chunk in body.iter_chunks(1024 * 1024):
                digest.update(chunk)
            hashes[item["Key"]] = digest.hexdigest()
    return hashes


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return {
                name: conn.execute(select(func.count()).select_from(table(name))).scalar_one()
                for name in inspect(conn).get_table_names()
            }
    finally:
        engine.dispose()


def _fresh_database(stack: ProdStack, name: str) -> str:
    admin = create_engine(stack.database_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(stack.database_url).set(database=name).render_as_string(hide_password=False)


def test_backup_restore_into_fresh_database_and_bucket(
    prod_stack: ProdStack, tmp_path: Path
) -> None:
    stack = prod_stack
    made = _certified_learner(stack)
    s3 = stack.s3_client()
    copy_bucket = f"lms-backup-{uuid.uuid4().hex[:8]}"
    restored_bucket = f"lms-restored-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=copy_bucket)
    s3.create_bucket(Bucket=restored_bucket)
    backup = tmp_path / "nightly"

    # --- backup of the running system (two apps and a worker keep running) -------------------
    created = stack.lms("backup", "create", "-o", str(backup),
                        "--objects-to", f"s3://{copy_bucket}/objects")  # fmt: skip
    assert f"backup: {backup}" in created.stdout
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["database"]["kind"] == "postgresql"
    assert (backup / "database.pgdump").read_bytes().startswith(b"PGDMP")
    assert manifest["tables"]["certificate"] >= 1
    listed = {o["key"]: o["sha256"] for o in manifest["objects"]["items"]}
    source = _bucket_hashes(s3, stack.s3_bucket)
    assert listed and all(source[key] == sha for key, sha in listed.items())
    pdf_key, pdf_sha = stack.rows("SELECT pdf_key, pdf_sha256 FROM certificate WHERE id = :i",
                                  i=made["cert"]["id"])[0]  # fmt: skip
    assert listed[pdf_key] == pdf_sha
    copied = _bucket_hashes(s3, copy_bucket)
    assert {k.removeprefix("objects/"): v for k, v in copied.items()} == listed

    verified = stack.lms("backup", "verify", str(backup))
    assert f"{backup}: OK (postgresql dump readable" in verified.stdout
    assert f"{len(listed)} of {len(listed)} objects checked" in verified.stdout

    # --- restore into a fresh database and bucket ---------------------------------------------
    restored_db = _fresh_database(stack, "lms_restored")
    restore_args = ("backup", "restore", str(backup), "--database-url", restored_db,
                    "--storage-url", f"s3://{restored_bucket}")  # fmt: skip
    restored = stack.lms(*restore_args)
    assert "row counts and object hashes match the manifest" in restored.stdout
    assert _counts(restored_db) == manifest["tables"]
    assert _bucket_hashes(s3, restored_bucket) == listed
    again = stack.lms(*restore_args, check=False)
    assert again.returncode == 2 and "the target database is not empty" in again.stderr

    # --- the restored system serves and verifies the certificate ------------------------------
    port = free_port()
    env = stack.lms_env(
        LMS_DATABASE_URL=restored_db, LMS_STORAGE_URL=f"s3://{restored_bucket}",
        LMS_BASE_URL=f"http://127.0.0.1:{port}",
        LMS_JOBS_URL=stack.redis_url.rsplit("/", 1)[0] + "/9",  # not the live stack's queue
    )  # fmt: skip
    log = (tmp_path / "restored-app.log").open("wb")
    app = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--no-migrate", "--workers", "1"],
        env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            try:
                return httpx.get(base + "/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, timeout=60, message="the app on the restored system")
        cert = made["cert"]
        with httpx.Client(base_url=base, timeout=30) as public:
            facts = expect(public.get(f"/api/v1/verify/{cert['code']}"), 200)
            assert facts["status"] == "valid" and facts["number"] == cert["number"]
            token = expect(public.post("/api/v1/auth/token", data={
                "username": made["user"]["nip"], "password": LEARNER_PASSWORD}), 200)  # fmt: skip
            pdf = public.get(f"/api/v1/certificates/{cert['id']}/pdf", follow_redirects=True,
                             headers={"Authorization": f"Bearer {token['access_token']}"})  # fmt: skip
            assert pdf.status_code == 200, pdf.text
            assert hashlib.sha256(pdf.content).hexdigest() == pdf_sha
            checked = expect(public.post("/api/v1/verify/pdf", files={
                "file": ("sertifikat.pdf", pdf.content, "application/pdf")}), 200)  # fmt: skip
            assert checked["authentic"] is True and checked["code"] == cert["code"]
    finally:
        app.terminate()
        try:
            app.wait(timeout=20)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()
        log.close()
