"""`lms doctor`: a broken configuration names each problem in one line and exits 1; a good one
passes. Real servers: PostgreSQL (a role that does not exist, a closed port), moto's S3 server (a
missing bucket), Redis, the SMTP sink."""

from __future__ import annotations

import uuid
from pathlib import Path

from typer.testing import CliRunner

from app.certificates import keys
from app.cli import cli
from app.core.config import Settings
from app.core.doctor import Finding, doctor
from app.storage.s3 import S3Storage
from tests.ports import free_port

STRONG_SECRET = "k3J9-pQ2x_Lm7Vt4Ra8Zc1Nf6Hs0Yb5Wd"  # 34 characters, many different



def by_check(found: list[Finding]) -> dict[str, Finding]:
    for f in found:  # one line each: an operator reads it, a script greps it
        assert "\n" not in f.line() and f.line().startswith(f"{f.level} {f.check}: ")
    return {f.check: f for f in found}


def production(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "production",
        "secret_key": STRONG_SECRET,
        "base_url": "https://lms.example.go.id",
        "cert_signer_name": "Ir. Siti Rahmawati, M.Si.",
        "cert_signer_nip": "198001012005012003",
        "jobs_url": "redis://127.0.0.1:6379/14",
        "smtp_url": "",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def test_a_broken_configuration_names_each_problem(s3_endpoint: str, tmp_path: Path) -> None:
    bucket = f"hilang-{uuid.uuid4().hex[:8]}"
    settings = production(
        database_url="postgresql+psycopg://peran_tidak_ada:rahasia@127.0.0.1:5432/test",
        storage_url=f"s3://{bucket}/lms",
        s3_endpoint_url=s3_endpoint,
        keys_dir=str(tmp_path / "keys"),
        base_url="http://lms.example.go.id",
        cert_signer_name=Settings.model_fields["cert_signer_name"].default,
        jobs_url=f"redis://127.0.0.1:{free_port()}/0",
    )
    found = by_check(doctor(settings))
    assert found["database"].level == "FAIL"
    assert 'role "peran_tidak_ada" does not exist' in found["database"].text
    assert "rahasia" not in found["database"].text  # the password is never printed
    assert found["migrations"].level == "WARN"  # follows from the database: not a second FAIL
    assert found["storage"].level == "FAIL"
    assert f"bucket {bucket!r} does not exist" in found["storage"].text
    assert found["signing_key"].level == "FAIL" and "missing" in found["signing_key"].text
    assert "lms keys init" in found["signing_key"].text
    assert found["credential_key"].level == "FAIL"
    assert found["cert_signer"].level == "FAIL"
    assert "LMS_CERT_SIGNER_NAME" in found["cert_signer"].text
    assert "LMS_CERT_SIGNER_NIP" not in found["cert_signer"].text  # that one was set
    assert found["base_url"].level == "FAIL" and "https" in found["base_url"].text
    assert found["job_queue"].level == "FAIL" and "Redis" in found["job_queue"].text
    assert found["smtp"].level == "WARN"
    assert found["secret_key"].level == "OK"
    assert found["content_origin"].level == "FAIL"  # derived: same host name, another port
    assert "set LMS_CONTENT_ORIGIN to another host name" in found["content_origin"].text


def test_a_good_production_configuration_passes(
    s3_endpoint: str, tmp_path: Path, migrated_database: str, mail
) -> None:  # type: ignore[no-untyped-def]
    bucket = f"lms-{uuid.uuid4().hex[:8]}"
    S3Storage(f"s3://{bucket}", endpoint_url=s3_endpoint, region="us-east-1").ensure_bucket()
    folder = tmp_path / "keys"
    keys.init_keys(folder, "BKPSDM Kabupaten Contoh", pkcs12_password="sandi-p12-uji")
    settings = production(
        database_url=migrated_database,
        storage_url=f"s3://{bucket}/lms",
        s3_endpoint_url=s3_endpoint,
        keys_dir=str(folder),
        signing_pkcs12_path=str(folder / "signing.p12"),  # the agency's own, configured
        signing_pkcs12_password="sandi-p12-uji",
        smtp_url=mail.url,
        content_origin="https://konten.example.go.id",
    )
    found = doctor(settings)
    assert [f.line() for f in found if f.level != "OK"] == []
    checks = by_check(found)
    assert set(checks) >= {"config", "secret_key", "base_url", "database", "migrations",
                           "storage", "job_queue", "signing_key", "credential_key",
                           "cert_signer", "smtp"}  # fmt: skip
    assert "at head" in checks["migrations"].text
    # Only the probe was written, and it is gone again.
    listed = list(S3Storage(f"s3://{bucket}/lms", endpoint_url=s3_endpoint,
                            region="us-east-1").iter_objects())  # fmt: skip
    assert listed == []

    wrong = settings.model_copy(update={"signing_pkcs12_password": "salah"})
    signing = by_check(doctor(wrong))["signing_key"]
    assert signing.level == "FAIL" and "LMS_SIGNING_PKCS12_PASSWORD" in signing.text


def test_closed_port_empty_database_and_unwritable_folder(tmp_path: Path) -> None:
    closed = by_check(doctor(production(
        database_url=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test",
        storage_url=f"file://{tmp_path}/objects",
    )))  # fmt: skip
    assert closed["database"].level == "FAIL" and "refused" in closed["database"].text.lower()

    empty = tmp_path / "kosong.db"
    empty.touch()
    blocker = tmp_path / "sebuah-berkas"
    blocker.write_text("bukan folder")
    found = by_check(doctor(production(
        database_url=f"sqlite:///{empty}", storage_url=f"file://{blocker}/objects",
    )))  # fmt: skip
    assert found["database"].level == "OK"
    assert found["migrations"].level == "FAIL" and "lms db upgrade" in found["migrations"].text
    assert found["storage"].level == "FAIL" and "write of a probe object" in found["storage"].text

    missing = by_check(doctor(production(database_url=f"sqlite:///{tmp_path}/tidak-ada.db")))
    assert missing["database"].level == "FAIL" and "does not exist" in missing["database"].text


def test_the_command_prints_lines_and_exits_1_on_a_failure(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {
        "LMS_ENVIRONMENT": "production",
        "LMS_SECRET_KEY": "pendek",
        "LMS_DATABASE_URL": f"sqlite:///{tmp_path}/lms.db",
    }
    bad = runner.invoke(cli, ["doctor"], env=env)
    assert bad.exit_code == 1
    assert bad.output.strip() == (
        "FAIL config: LMS_SECRET_KEY must be set to a random value of at least 32 characters "
        "when LMS_ENVIRONMENT=production"
    )
    env.update({"LMS_ENVIRONMENT": "development", "LMS_SECRET_KEY": STRONG_SECRET,
                "LMS_KEYS_DIR": str(tmp_path / "keys")})  # fmt: skip
    dev = runner.invoke(cli, ["doctor"], env=env)
    lines = dev.output.strip().splitlines()
    assert dev.exit_code == 1  # the database file does not exist yet
    assert [line.split(":")[0] for line in lines if line.startswith("FAIL")] == ["FAIL database"]
    assert all(line.split(" ")[0] in ("OK", "WARN", "FAIL") for line in lines)
