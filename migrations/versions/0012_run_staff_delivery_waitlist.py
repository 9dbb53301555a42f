"""run staff, delivery mode, run edits and the waiting list

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("course_run") as batch:
        batch.add_column(
            sa.Column("delivery_mode", sa.String(length=16), nullable=False, server_default="online")
        )
        # Full runs put new enrolments on a waiting list (off for runs made before it existed).
        batch.add_column(
            sa.Column("waitlist", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("enrolment") as batch:
        # When the enrolment joined the waiting list: its place in the queue (FIFO).
        batch.add_column(
            sa.Column("waitlisted_at", app.core.db.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "run_staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("widyaiswara", sa.Boolean(), nullable=False),
        sa.Column("external", sa.Boolean(), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("added_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by_id"], ["user_account.id"],
            name=op.f("fk_run_staff_added_by_id_user_account"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["course_run.id"],
            name=op.f("fk_run_staff_run_id_course_run"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"],
            name=op.f("fk_run_staff_user_id_user_account"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_staff")),
        sa.UniqueConstraint("run_id", "user_id", name=op.f("uq_run_staff_run_id")),
    )  # fmt: skip
    op.create_index("ix_run_staff_user", "run_staff", ["user_id"], unique=False)
    op.create_table(
        "run_edit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["course_run.id"],
            name=op.f("fk_run_edit_run_id_course_run"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"],
            name=op.f("fk_run_edit_user_id_user_account"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_edit")),
    )  # fmt: skip
    op.create_index("ix_run_edit_run_at", "run_edit", ["run_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_run_edit_run_at", table_name="run_edit")
    op.drop_table("run_edit")
    with op.batch_alter_table("enrolment") as batch:
        batch.drop_column("waitlisted_at")
    op.drop_index("ix_run_staff_user", table_name="run_staff")
    op.drop_table("run_staff")
    with op.batch_alter_table("course_run") as batch:
        batch.drop_column("waitlist")
        batch.drop_column("delivery_mode")
