"""courses runs enrolment progress

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 21:19:36.565976
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "content_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("storage_key", sa.String(length=512), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_file")),
        sa.UniqueConstraint("sha256", name=op.f("uq_content_file_sha256")),
    )
    op.create_table(
        "scorm_package",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("launch_href", sa.String(length=1024), nullable=False),
        sa.Column("mastery_score", sa.Double(), nullable=True),
        sa.Column("manifest_json", sa.Text(), nullable=False),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("total_size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scorm_package")),
    )
    with op.batch_alter_table("scorm_package", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scorm_package_sha256"), ["sha256"], unique=False)

    op.create_table(
        "scorm_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("package_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("storage_key", sa.String(length=512), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["scorm_package.id"],
            name=op.f("fk_scorm_file_package_id_scorm_package"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scorm_file")),
        sa.UniqueConstraint("package_id", "path", name=op.f("uq_scorm_file_package_id")),
    )
    op.create_table(
        "course",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("summary", sa.String(length=1000), nullable=True),
        sa.Column("description_md", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("learning_mode", sa.String(length=32), nullable=False),
        sa.Column("jp", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cover_file_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("published_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cover_file_id"],
            ["content_file.id"],
            name=op.f("fk_course_cover_file_id_content_file"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_course_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course")),
        sa.UniqueConstraint("code", name=op.f("uq_course_code")),
    )
    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_course_status"), ["status"], unique=False)

    op.create_table(
        "upload_session",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("storage_key", sa.String(length=512), nullable=False),
        sa.Column("upload_id", sa.String(length=1024), nullable=True),
        sa.Column("part_size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_upload_session_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload_session")),
    )
    with op.batch_alter_table("upload_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_upload_session_user_id"), ["user_id"], unique=False)

    op.create_table(
        "course_competency",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("competency_code", sa.String(length=64), nullable=False),
        sa.Column("target_level", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["course.id"],
            name=op.f("fk_course_competency_course_id_course"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("course_id", "competency_code", name=op.f("pk_course_competency")),
    )
    with op.batch_alter_table("course_competency", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_course_competency_competency_code"), ["competency_code"], unique=False
        )

    op.create_table(
        "course_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("enrol_opens_on", sa.Date(), nullable=True),
        sa.Column("enrol_closes_on", sa.Date(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("enrolled_count", sa.Integer(), nullable=False),
        sa.Column("funding_source", sa.String(length=32), nullable=False),
        sa.Column("organiser", sa.String(length=255), nullable=True),
        sa.Column("self_enrol", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["course.id"],
            name=op.f("fk_course_run_course_id_course"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_course_run_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_run")),
    )
    with op.batch_alter_table("course_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_course_run_course_id"), ["course_id"], unique=False)

    op.create_table(
        "course_section",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["course.id"],
            name=op.f("fk_course_section_course_id_course"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_section")),
    )
    with op.batch_alter_table("course_section", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_course_section_course_id"), ["course_id"], unique=False
        )

    op.create_table(
        "activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("completion_rule", sa.String(length=32), nullable=False),
        sa.Column("locked_until_previous", sa.Boolean(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("body_md", sa.Text(), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("scorm_package_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["course.id"],
            name=op.f("fk_activity_course_id_course"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["content_file.id"],
            name=op.f("fk_activity_file_id_content_file"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["scorm_package_id"],
            ["scorm_package.id"],
            name=op.f("fk_activity_scorm_package_id_scorm_package"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["course_section.id"],
            name=op.f("fk_activity_section_id_course_section"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity")),
    )
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_activity_course_id"), ["course_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_activity_file_id"), ["file_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_activity_scorm_package_id"), ["scorm_package_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_activity_section_id"), ["section_id"], unique=False)

    op.create_table(
        "enrolment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("enrolled_by_id", sa.Integer(), nullable=True),
        sa.Column("enrolled_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolled_by_id"],
            ["user_account.id"],
            name=op.f("fk_enrolment_enrolled_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["course_run.id"],
            name=op.f("fk_enrolment_run_id_course_run"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_enrolment_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment")),
        sa.UniqueConstraint("run_id", "user_id", name=op.f("uq_enrolment_run_id")),
    )
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrolment_run_id"), ["run_id"], unique=False)
        batch_op.create_index("ix_enrolment_user_status", ["user_id", "status"], unique=False)

    op.create_table(
        "activity_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("position_seconds", sa.Float(), nullable=False),
        sa.Column("watched_seconds", sa.Float(), nullable=False),
        sa.Column("watched_intervals", sa.Text(), nullable=False),
        sa.Column("media_seconds", sa.Float(), nullable=True),
        sa.Column("first_seen_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_activity_progress_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolment.id"],
            name=op.f("fk_activity_progress_enrolment_id_enrolment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_progress")),
        sa.UniqueConstraint(
            "enrolment_id", "activity_id", name=op.f("uq_activity_progress_enrolment_id")
        ),
    )
    with op.batch_alter_table("activity_progress", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_activity_progress_activity_id"), ["activity_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_activity_progress_enrolment_id"), ["enrolment_id"], unique=False
        )

    op.create_table(
        "scorm_track",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("lesson_status", sa.String(length=16), nullable=False),
        sa.Column("lesson_location", sa.String(length=1024), nullable=True),
        sa.Column("score_raw", sa.Double(), nullable=True),
        sa.Column("score_min", sa.Double(), nullable=True),
        sa.Column("score_max", sa.Double(), nullable=True),
        sa.Column("total_time_seconds", sa.Float(), nullable=False),
        sa.Column("suspend_data", sa.Text(), nullable=True),
        sa.Column("exit", sa.String(length=16), nullable=True),
        sa.Column("launch_count", sa.Integer(), nullable=False),
        sa.Column("launches_json", sa.Text(), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_scorm_track_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolment.id"],
            name=op.f("fk_scorm_track_enrolment_id_enrolment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scorm_track")),
        sa.UniqueConstraint(
            "enrolment_id", "activity_id", name=op.f("uq_scorm_track_enrolment_id")
        ),
    )
    with op.batch_alter_table("scorm_track", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scorm_track_activity_id"), ["activity_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_scorm_track_enrolment_id"), ["enrolment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("scorm_track", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scorm_track_enrolment_id"))
        batch_op.drop_index(batch_op.f("ix_scorm_track_activity_id"))

    op.drop_table("scorm_track")
    with op.batch_alter_table("activity_progress", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activity_progress_enrolment_id"))
        batch_op.drop_index(batch_op.f("ix_activity_progress_activity_id"))

    op.drop_table("activity_progress")
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_index("ix_enrolment_user_status")
        batch_op.drop_index(batch_op.f("ix_enrolment_run_id"))

    op.drop_table("enrolment")
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activity_section_id"))
        batch_op.drop_index(batch_op.f("ix_activity_scorm_package_id"))
        batch_op.drop_index(batch_op.f("ix_activity_file_id"))
        batch_op.drop_index(batch_op.f("ix_activity_course_id"))

    op.drop_table("activity")
    with op.batch_alter_table("course_section", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_course_section_course_id"))

    op.drop_table("course_section")
    with op.batch_alter_table("course_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_course_run_course_id"))

    op.drop_table("course_run")
    with op.batch_alter_table("course_competency", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_course_competency_competency_code"))

    op.drop_table("course_competency")
    with op.batch_alter_table("upload_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upload_session_user_id"))

    op.drop_table("upload_session")
    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_course_status"))

    op.drop_table("course")
    op.drop_table("scorm_file")
    with op.batch_alter_table("scorm_package", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scorm_package_sha256"))

    op.drop_table("scorm_package")
    op.drop_table("content_file")
