"""cache invalidation feed: other processes' caches forget what a commit changed

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cache_invalidation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=True),
        sa.Column("origin", sa.String(length=96), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cache_invalidation")),
    )
    op.create_index(
        "ix_cache_invalidation_created_at", "cache_invalidation", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_cache_invalidation_created_at", table_name="cache_invalidation")
    op.drop_table("cache_invalidation")
