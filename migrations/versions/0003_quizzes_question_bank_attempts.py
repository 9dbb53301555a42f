"""quizzes question bank attempts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 23:09:16.221463
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "question_category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["course.id"],
            name=op.f("fk_question_category_course_id_course"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_category")),
        sa.UniqueConstraint("course_id", "name", name=op.f("uq_question_category_course_id")),
    )
    with op.batch_alter_table("question_category", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_question_category_course_id"), ["course_id"], unique=False
        )

    op.create_table(
        "bank_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["question_category.id"],
            name=op.f("fk_bank_question_category_id_question_category"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["course.id"],
            name=op.f("fk_bank_question_course_id_course"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_bank_question_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_question")),
    )
    with op.batch_alter_table("bank_question", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bank_question_category_id"), ["category_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_bank_question_course_id"), ["course_id"], unique=False)

    op.create_table(
        "question_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_format", sa.String(length=16), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("content_json", sa.Text(), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_question_version_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["bank_question.id"],
            name=op.f("fk_question_version_question_id_bank_question"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_version")),
        sa.UniqueConstraint("question_id", "version", name=op.f("uq_question_version_question_id")),
    )
    op.create_table(
        "quiz",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("intro_md", sa.Text(), nullable=True),
        sa.Column("open_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("close_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("time_limit_seconds", sa.Integer(), nullable=True),
        sa.Column("max_attempts", sa.Integer(), nullable=True),
        sa.Column("attempt_delay_seconds", sa.Integer(), nullable=False),
        sa.Column("grading", sa.String(length=16), nullable=False),
        sa.Column("shuffle_questions", sa.Boolean(), nullable=False),
        sa.Column("shuffle_choices", sa.Boolean(), nullable=False),
        sa.Column("questions_per_attempt", sa.Integer(), nullable=True),
        sa.Column("pass_score", sa.Float(), nullable=False),
        sa.Column("sequential", sa.Boolean(), nullable=False),
        sa.Column("review_correctness", sa.String(length=16), nullable=False),
        sa.Column("review_points", sa.String(length=16), nullable=False),
        sa.Column("review_feedback", sa.String(length=16), nullable=False),
        sa.Column("review_answers", sa.String(length=16), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_quiz_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["course.id"], name=op.f("fk_quiz_course_id_course"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quiz")),
        sa.UniqueConstraint("activity_id", name=op.f("uq_quiz_activity_id")),
    )
    with op.batch_alter_table("quiz", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quiz_course_id"), ["course_id"], unique=False)

    op.create_table(
        "quiz_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quiz_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("preview", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deadline", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_saved_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("furthest_position", sa.Integer(), nullable=False),
        sa.Column("submitted_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("auto_submitted", sa.Boolean(), nullable=False),
        sa.Column("graded_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("max_score", sa.Double(), nullable=True),
        sa.Column("percent", sa.Double(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("layout_json", sa.Text(), nullable=False),
        sa.Column("results_json", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolment.id"],
            name=op.f("fk_quiz_attempt_enrolment_id_enrolment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["quiz_id"], ["quiz.id"], name=op.f("fk_quiz_attempt_quiz_id_quiz"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["course_run.id"],
            name=op.f("fk_quiz_attempt_run_id_course_run"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_quiz_attempt_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quiz_attempt")),
        sa.UniqueConstraint("quiz_id", "user_id", "number", name=op.f("uq_quiz_attempt_quiz_id")),
    )
    with op.batch_alter_table("quiz_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quiz_attempt_enrolment_id"), ["enrolment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_quiz_attempt_quiz_id"), ["quiz_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_quiz_attempt_run_id"), ["run_id"], unique=False)
        batch_op.create_index("ix_quiz_attempt_state_deadline", ["state", "deadline"], unique=False)
        batch_op.create_index(batch_op.f("ix_quiz_attempt_user_id"), ["user_id"], unique=False)

    op.create_table(
        "quiz_slot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quiz_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("draw_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["question_category.id"],
            name=op.f("fk_quiz_slot_category_id_question_category"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["bank_question.id"],
            name=op.f("fk_quiz_slot_question_id_bank_question"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["quiz_id"], ["quiz.id"], name=op.f("fk_quiz_slot_quiz_id_quiz"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quiz_slot")),
    )
    with op.batch_alter_table("quiz_slot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quiz_slot_question_id"), ["question_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_quiz_slot_quiz_id"), ["quiz_id"], unique=False)

    op.create_table(
        "quiz_attempt_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("response_json", sa.Text(), nullable=False),
        sa.Column("saved_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("manual_points", sa.Double(), nullable=True),
        sa.Column("grader_comment", sa.Text(), nullable=True),
        sa.Column("graded_by_id", sa.Integer(), nullable=True),
        sa.Column("graded_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["quiz_attempt.id"],
            name=op.f("fk_quiz_attempt_answer_attempt_id_quiz_attempt"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["graded_by_id"],
            ["user_account.id"],
            name=op.f("fk_quiz_attempt_answer_graded_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quiz_attempt_answer")),
        sa.UniqueConstraint(
            "attempt_id", "question_id", name=op.f("uq_quiz_attempt_answer_attempt_id")
        ),
    )
    op.create_table(
        "quiz_audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quiz_id", sa.Integer(), nullable=True),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("detail_json", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user_account.id"],
            name=op.f("fk_quiz_audit_log_actor_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["quiz_attempt.id"],
            name=op.f("fk_quiz_audit_log_attempt_id_quiz_attempt"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["quiz_id"],
            ["quiz.id"],
            name=op.f("fk_quiz_audit_log_quiz_id_quiz"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quiz_audit_log")),
    )
    with op.batch_alter_table("quiz_audit_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quiz_audit_log_attempt_id"), ["attempt_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_quiz_audit_log_quiz_id"), ["quiz_id"], unique=False)

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table("quiz_audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quiz_audit_log_quiz_id"))
        batch_op.drop_index(batch_op.f("ix_quiz_audit_log_attempt_id"))

    op.drop_table("quiz_audit_log")
    op.drop_table("quiz_attempt_answer")
    with op.batch_alter_table("quiz_slot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quiz_slot_quiz_id"))
        batch_op.drop_index(batch_op.f("ix_quiz_slot_question_id"))

    op.drop_table("quiz_slot")
    with op.batch_alter_table("quiz_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quiz_attempt_user_id"))
        batch_op.drop_index("ix_quiz_attempt_state_deadline")
        batch_op.drop_index(batch_op.f("ix_quiz_attempt_run_id"))
        batch_op.drop_index(batch_op.f("ix_quiz_attempt_quiz_id"))
        batch_op.drop_index(batch_op.f("ix_quiz_attempt_enrolment_id"))

    op.drop_table("quiz_attempt")
    with op.batch_alter_table("quiz", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quiz_course_id"))

    op.drop_table("quiz")
    op.drop_table("question_version")
    with op.batch_alter_table("bank_question", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_question_course_id"))
        batch_op.drop_index(batch_op.f("ix_bank_question_category_id"))

    op.drop_table("bank_question")
    with op.batch_alter_table("question_category", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_question_category_course_id"))

    op.drop_table("question_category")
    # ### end Alembic commands ###
