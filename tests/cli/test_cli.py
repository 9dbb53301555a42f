"""The `lms` command: account creation, demo data and the synthetic generator."""

from __future__ import annotations

from sqlalchemy import func, select
from typer.testing import CliRunner

from app.accounts.models import Opd, User
from app.cli import cli
from app.core.db import session_scope
from app.dev.seed import DEMO_ACCOUNTS, DEMO_PASSWORD

runner = CliRunner()


def _count(model: type) -> int:
    with session_scope() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_users_create_then_duplicate_nip_fails_clearly() -> None:
    args = ["users", "create", "--name", "Rina Wati", "--nip", "199002022015032001",
            "--email", "rina@example.go.id", "--role", "training_officer", "--role", "learner",
            "--password", "Sandi-Kuat-2026"]  # fmt: skip
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "learner, training_officer" in first.output
    again = runner.invoke(cli, args)
    assert again.exit_code == 2
    assert "sudah terdaftar" in again.output


def test_users_create_rejects_bad_nip_and_weak_password() -> None:
    bad_nip = runner.invoke(
        cli,
        [
            "users",
            "create",
            "--name",
            "A",
            "--nip",
            "199013012015031001",
            "--password",
            "Sandi-Kuat-2026",
        ],
    )
    assert bad_nip.exit_code == 2
    assert "Tanggal lahir" in bad_nip.output
    weak = runner.invoke(
        cli,
        [
            "users",
            "create",
            "--name",
            "A",
            "--email",
            "a@example.go.id",
            "--password",
            "password123",
        ],
    )
    assert weak.exit_code == 2
    assert "Kata sandi" in weak.output
    assert _count(User) == 0


def test_demo_is_idempotent_and_accounts_can_log_in(settings) -> None:  # type: ignore[no-untyped-def]
    from app.auth import service as auth_service

    for _ in range(2):
        result = runner.invoke(cli, ["demo"])
        assert result.exit_code == 0, result.output
        assert DEMO_PASSWORD in result.output
    assert _count(User) == len(DEMO_ACCOUNTS)
    with session_scope() as s:
        for account in DEMO_ACCOUNTS:
            user = auth_service.authenticate(
                s, account.email, DEMO_PASSWORD, address="t", settings=settings
            )
            assert {r.value for r in account.roles} == user.role_names


def test_dev_seed_builds_valid_synthetic_asn() -> None:
    from app.accounts.nip import parse_nip

    result = runner.invoke(cli, ["dev", "seed", "--size", "XS"])
    assert result.exit_code == 0, result.output
    assert _count(User) == 100
    assert _count(Opd) == 5
    with session_scope() as s:
        nips = s.scalars(select(User.nip)).all()
    for nip in nips:
        assert nip is not None
        parse_nip(nip)  # every generated NIP passes the real rules
    assert runner.invoke(cli, ["dev", "seed", "--size", "XXL"]).exit_code == 2
