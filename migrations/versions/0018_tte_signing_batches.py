"""tte signing batches

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 16:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    dt = app.core.db.UTCDateTime(timezone=True)
    op.create_table(
        "tte_signing_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("signed_count", sa.Integer(), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("skipped_count", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", dt, nullable=False),
        sa.Column("started_at", dt, nullable=True),
        sa.Column("heartbeat_at", dt, nullable=True),
        sa.Column("finished_at", dt, nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["course_run.id"],
            name=op.f("fk_tte_signing_batch_run_id_course_run"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"],
            name=op.f("fk_tte_signing_batch_created_by_id_user_account"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"], ["user_account.id"],
            name=op.f("fk_tte_signing_batch_signed_by_id_user_account"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tte_signing_batch")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_tte_signing_batch_run_id"), "tte_signing_batch", ["run_id"], unique=False
    )
    op.create_table(
        "tte_signing_item",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("old_sha256", sa.String(length=64), nullable=True),
        sa.Column("new_sha256", sa.String(length=64), nullable=True),
        sa.Column("signed_at", dt, nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["tte_signing_batch.id"],
            name=op.f("fk_tte_signing_item_batch_id_tte_signing_batch"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["certificate_id"], ["certificate.id"],
            name=op.f("fk_tte_signing_item_certificate_id_certificate"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("batch_id", "certificate_id", name=op.f("pk_tte_signing_item")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_tte_signing_item_certificate_id"), "tte_signing_item", ["certificate_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_tte_signing_item_certificate_id"), table_name="tte_signing_item")
    op.drop_table("tte_signing_item")
    op.drop_index(op.f("ix_tte_signing_batch_run_id"), table_name="tte_signing_batch")
    op.drop_table("tte_signing_batch")
