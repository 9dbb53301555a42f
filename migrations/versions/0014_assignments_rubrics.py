"""assignments rubrics

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rubric",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["user_account.id"],
            name=op.f("fk_rubric_owner_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rubric")),
    )
    op.create_table(
        "rubric_criterion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rubric_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["rubric_id"],
            ["rubric.id"],
            name=op.f("fk_rubric_criterion_rubric_id_rubric"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rubric_criterion")),
    )
    op.create_index(
        op.f("ix_rubric_criterion_rubric_id"), "rubric_criterion", ["rubric_id"], unique=False
    )
    op.create_table(
        "rubric_level",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("points", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["criterion_id"],
            ["rubric_criterion.id"],
            name=op.f("fk_rubric_level_criterion_id_rubric_criterion"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rubric_level")),
    )
    op.create_index(
        op.f("ix_rubric_level_criterion_id"), "rubric_level", ["criterion_id"], unique=False
    )
    op.create_table(
        "assignment",
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("instructions_md", sa.Text(), nullable=False),
        sa.Column("opens_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cutoff_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("late_policy", sa.String(length=16), nullable=False),
        sa.Column("max_files", sa.Integer(), nullable=False),
        sa.Column("max_file_mb", sa.Integer(), nullable=False),
        sa.Column("allowed_types", sa.String(length=500), nullable=True),
        sa.Column("online_text", sa.Boolean(), nullable=False),
        sa.Column("max_points", sa.Float(), nullable=False),
        sa.Column("rubric_id", sa.Integer(), nullable=True),
        sa.Column("pass_points", sa.Float(), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("resubmit_after_grading", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_assignment_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rubric_id"],
            ["rubric.id"],
            name=op.f("fk_assignment_rubric_id_rubric"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("activity_id", name=op.f("pk_assignment")),
    )
    op.create_index(op.f("ix_assignment_rubric_id"), "assignment", ["rubric_id"], unique=False)
    op.create_table(
        "assignment_upload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_assignment_upload_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["content_file.id"],
            name=op.f("fk_assignment_upload_file_id_content_file"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_assignment_upload_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_upload")),
    )
    op.create_index(
        "ix_assignment_upload_user_file", "assignment_upload", ["user_id", "file_id"], unique=False
    )
    op.create_table(
        "grade_release",
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("released_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_grade_release_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["released_by_id"],
            ["user_account.id"],
            name=op.f("fk_grade_release_released_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["course_run.id"],
            name=op.f("fk_grade_release_run_id_course_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("activity_id", "run_id", name=op.f("pk_grade_release")),
    )
    op.create_table(
        "submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("submitted_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("points", sa.Float(), nullable=True),
        sa.Column("max_points", sa.Float(), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.Column("graded_by_id", sa.Integer(), nullable=True),
        sa.Column("graded_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_submission_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolment.id"],
            name=op.f("fk_submission_enrolment_id_enrolment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["graded_by_id"],
            ["user_account.id"],
            name=op.f("fk_submission_graded_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["course_run.id"],
            name=op.f("fk_submission_run_id_course_run"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_submission_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission")),
        sa.UniqueConstraint(
            "activity_id", "run_id", "user_id", "version", name=op.f("uq_submission_activity_id")
        ),
    )
    op.create_index(
        "ix_submission_queue", "submission", ["activity_id", "run_id", "status"], unique=False
    )
    op.create_index(op.f("ix_submission_user_id"), "submission", ["user_id"], unique=False)
    op.create_table(
        "assignment_grader",
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["assignment.activity_id"],
            name=op.f("fk_assignment_grader_activity_id_assignment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_assignment_grader_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("activity_id", "user_id", name=op.f("pk_assignment_grader")),
    )
    op.create_table(
        "rubric_score",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.Integer(), nullable=False),
        sa.Column("level_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["criterion_id"],
            ["rubric_criterion.id"],
            name=op.f("fk_rubric_score_criterion_id_rubric_criterion"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["level_id"],
            ["rubric_level.id"],
            name=op.f("fk_rubric_score_level_id_rubric_level"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
            name=op.f("fk_rubric_score_submission_id_submission"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("submission_id", "criterion_id", name=op.f("pk_rubric_score")),
    )
    op.create_table(
        "submission_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("feedback", sa.Boolean(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["content_file.id"],
            name=op.f("fk_submission_file_file_id_content_file"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
            name=op.f("fk_submission_file_submission_id_submission"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_file")),
    )
    op.create_index(
        op.f("ix_submission_file_submission_id"), "submission_file", ["submission_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_submission_file_submission_id"), table_name="submission_file")
    op.drop_table("submission_file")
    op.drop_table("rubric_score")
    op.drop_table("assignment_grader")
    op.drop_index(op.f("ix_submission_user_id"), table_name="submission")
    op.drop_index("ix_submission_queue", table_name="submission")
    op.drop_table("submission")
    op.drop_table("grade_release")
    op.drop_index("ix_assignment_upload_user_file", table_name="assignment_upload")
    op.drop_table("assignment_upload")
    op.drop_index(op.f("ix_assignment_rubric_id"), table_name="assignment")
    op.drop_table("assignment")
    op.drop_index(op.f("ix_rubric_level_criterion_id"), table_name="rubric_level")
    op.drop_table("rubric_level")
    op.drop_index(op.f("ix_rubric_criterion_rubric_id"), table_name="rubric_criterion")
    op.drop_table("rubric_criterion")
    op.drop_table("rubric")
