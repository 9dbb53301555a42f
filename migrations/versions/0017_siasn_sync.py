"""siasn sync

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 16:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, app.core.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "siasn_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("siasn_id", sa.String(length=64), nullable=True),
        sa.Column("document_uri", sa.String(length=512), nullable=True),
        sa.Column("document_sha256", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=2000), nullable=True),
        sa.Column("skip_reason", sa.String(length=500), nullable=True),
        _when("revoked_at"),
        _when("deleted_at"),
        _when("next_attempt_at", False),
        _when("locked_until"),
        _when("pushed_at"),
        _when("created_at", False),
        _when("updated_at", False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"],
            name=op.f("fk_siasn_record_user_id_user_account"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_siasn_record")),
        sa.UniqueConstraint("source", "source_id", name=op.f("uq_siasn_record_source")),
    )  # fmt: skip
    op.create_index(op.f("ix_siasn_record_user_id"), "siasn_record", ["user_id"], unique=False)
    op.create_index(
        "ix_siasn_record_due", "siasn_record", ["state", "next_attempt_at"], unique=False
    )
    op.create_table(
        "siasn_person",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("nip", sa.String(length=18), nullable=False),
        sa.Column("pns_orang_id", sa.String(length=64), nullable=False),
        _when("fetched_at", False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"],
            name=op.f("fk_siasn_person_user_id_user_account"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_siasn_person")),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("siasn_person")
    op.drop_index("ix_siasn_record_due", table_name="siasn_record")
    op.drop_index(op.f("ix_siasn_record_user_id"), table_name="siasn_record")
    op.drop_table("siasn_record")
