"""live sessions (default and per-run schedules), attendance, unmatched report rows, calendar keys

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_key",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_calendar_key_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_calendar_key")),
        sa.UniqueConstraint("key", name=op.f("uq_calendar_key_key")),
    )
    op.create_table(
        "attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_attendance_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolment.id"],
            name=op.f("fk_attendance_enrolment_id_enrolment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_attendance_recorded_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance")),
        sa.UniqueConstraint("activity_id", "enrolment_id", name=op.f("uq_attendance_activity_id")),
    )
    op.create_index("ix_attendance_enrolment", "attendance", ["enrolment_id"], unique=False)
    op.create_table(
        "attendance_unmatched",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("imported_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("imported_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_attendance_unmatched_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["imported_by_id"],
            ["user_account.id"],
            name=op.f("fk_attendance_unmatched_imported_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["course_run.id"],
            name=op.f("fk_attendance_unmatched_run_id_course_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_unmatched")),
    )
    op.create_index(
        "ix_attendance_unmatched_session",
        "attendance_unmatched",
        ["activity_id", "run_id"],
        unique=False,
    )
    op.create_table(
        "live_session",
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("join_url", sa.String(length=2048), nullable=True),
        sa.Column("location", sa.String(length=500), nullable=True),
        sa.Column("recording_url", sa.String(length=2048), nullable=True),
        sa.Column("geo_lat", sa.Float(), nullable=True),
        sa.Column("geo_lon", sa.Float(), nullable=True),
        sa.Column("geo_radius_m", sa.Integer(), nullable=True),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_live_session_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("activity_id", name=op.f("pk_live_session")),
    )
    op.create_table(
        "live_schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("join_url", sa.String(length=2048), nullable=True),
        sa.Column("location", sa.String(length=500), nullable=True),
        sa.Column("recording_url", sa.String(length=2048), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["live_session.activity_id"],
            name=op.f("fk_live_schedule_activity_id_live_session"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["course_run.id"],
            name=op.f("fk_live_schedule_run_id_course_run"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["user_account.id"],
            name=op.f("fk_live_schedule_updated_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_schedule")),
        sa.UniqueConstraint("activity_id", "run_id", name=op.f("uq_live_schedule_activity_id")),
    )
    op.create_index(op.f('ix_live_schedule_run_id'), 'live_schedule', ['run_id'], unique=False)  # fmt: skip


def downgrade() -> None:
    op.drop_index(op.f("ix_live_schedule_run_id"), table_name="live_schedule")
    op.drop_table("live_schedule")
    op.drop_table("live_session")
    op.drop_index("ix_attendance_unmatched_session", table_name="attendance_unmatched")
    op.drop_table("attendance_unmatched")
    op.drop_index("ix_attendance_enrolment", table_name="attendance")
    op.drop_table("attendance")
    op.drop_table("calendar_key")
    # ### end Alembic commands ###
