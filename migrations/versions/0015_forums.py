"""forums

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = app.core.db.UTCDateTime(timezone=True)
    op.create_table(
        "forum",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope_key", sa.String(length=32), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"], ["course.id"], name=op.f("fk_forum_course_id_course"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["course_run.id"], name=op.f("fk_forum_run_id_course_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum")),
        sa.UniqueConstraint("scope_key", name=op.f("uq_forum_scope_key")),
    )  # fmt: skip
    op.create_index(op.f("ix_forum_course_id"), "forum", ["course_id"], unique=False)
    op.create_table(
        "forum_thread",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("forum_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("reply_count", sa.Integer(), nullable=False),
        sa.Column("answer_post_id", sa.Integer(), nullable=True),
        sa.Column("last_post_at", when, nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["user_account.id"],
            name=op.f("fk_forum_thread_author_id_user_account"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["forum_id"], ["forum.id"], name=op.f("fk_forum_thread_forum_id_forum"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_thread")),
    )  # fmt: skip
    op.create_index(
        "ix_forum_thread_list", "forum_thread", ["forum_id", "pinned", "last_post_at"], unique=False
    )
    op.create_table(
        "forum_post",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("opening", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("edited_at", when, nullable=True),
        sa.Column("hidden_at", when, nullable=True),
        sa.Column("hidden_by_id", sa.Integer(), nullable=True),
        sa.Column("hidden_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["user_account.id"],
            name=op.f("fk_forum_post_author_id_user_account"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["hidden_by_id"], ["user_account.id"],
            name=op.f("fk_forum_post_hidden_by_id_user_account"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["forum_thread.id"], name=op.f("fk_forum_post_thread_id_forum_thread"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_post")),
    )  # fmt: skip
    op.create_index("ix_forum_post_thread", "forum_post", ["thread_id", "id"], unique=False)
    op.create_table(
        "forum_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"], ["content_file.id"],
            name=op.f("fk_forum_attachment_file_id_content_file"), ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["forum_post.id"], name=op.f("fk_forum_attachment_post_id_forum_post"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_attachment")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_forum_attachment_post_id"), "forum_attachment", ["post_id"], unique=False
    )
    op.create_table(
        "forum_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("forum_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=True),
        sa.Column("target", sa.String(length=32), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.ForeignKeyConstraint(
            ["forum_id"], ["forum.id"], name=op.f("fk_forum_subscription_forum_id_forum"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["forum_thread.id"],
            name=op.f("fk_forum_subscription_thread_id_forum_thread"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"],
            name=op.f("fk_forum_subscription_user_id_user_account"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_subscription")),
        sa.UniqueConstraint(
            "user_id", "forum_id", "target", name=op.f("uq_forum_subscription_user_id")
        ),
    )  # fmt: skip
    op.create_index(
        "ix_forum_subscription_forum", "forum_subscription", ["forum_id", "thread_id"],
        unique=False,
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_forum_subscription_forum", table_name="forum_subscription")
    op.drop_table("forum_subscription")
    op.drop_index(op.f("ix_forum_attachment_post_id"), table_name="forum_attachment")
    op.drop_table("forum_attachment")
    op.drop_index("ix_forum_post_thread", table_name="forum_post")
    op.drop_table("forum_post")
    op.drop_index("ix_forum_thread_list", table_name="forum_thread")
    op.drop_table("forum_thread")
    op.drop_index(op.f("ix_forum_course_id"), table_name="forum")
    op.drop_table("forum")
