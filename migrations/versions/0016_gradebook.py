"""gradebook

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("certification_rules") as batch:
        batch.add_column(sa.Column("min_attendance_percent", sa.Double(), nullable=True))
    op.create_table(
        "grade_override",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["by_id"], ["user_account.id"],
            name=op.f("fk_grade_override_by_id_user_account"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["course_run.id"],
            name=op.f("fk_grade_override_run_id_course_run"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"],
            name=op.f("fk_grade_override_user_id_user_account"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grade_override")),
        sa.UniqueConstraint("run_id", "user_id", name=op.f("uq_grade_override_run_id")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_grade_override_user_id"), "grade_override", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_grade_override_user_id"), table_name="grade_override")
    op.drop_table("grade_override")
    with op.batch_alter_table("certification_rules") as batch:
        batch.drop_column("min_attendance_percent")
