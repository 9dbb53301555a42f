"""progress time, evaluation, jp ledger, certificates

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 01:59:25.840551
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "certificate_counter",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_certificate_counter")),
    )
    op.create_table(
        "jp_credit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("jp", sa.Float(), nullable=False),
        sa.Column("credited_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_jp_credit_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jp_credit")),
        sa.UniqueConstraint("source", "source_id", name=op.f("uq_jp_credit_source")),
    )
    with op.batch_alter_table("jp_credit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jp_credit_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_jp_credit_year"), ["year"], unique=False)

    op.create_table(
        "certificate_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("background_key", sa.String(length=512), nullable=True),
        sa.Column("background_sha256", sa.String(length=64), nullable=True),
        sa.Column("layout_json", sa.Text(), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["course.id"],
            name=op.f("fk_certificate_template_course_id_course"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["user_account.id"],
            name=op.f("fk_certificate_template_updated_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_template")),
    )
    with op.batch_alter_table("certificate_template", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certificate_template_course_id"), ["course_id"], unique=False
        )

    op.create_table(
        "survey_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["course.id"],
            name=op.f("fk_survey_question_course_id_course"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_question")),
    )
    with op.batch_alter_table("survey_question", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_survey_question_course_id"), ["course_id"], unique=False
        )

    op.create_table(
        "certificate_job",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("issued_count", sa.Integer(), nullable=False),
        sa.Column("ineligible_count", sa.Integer(), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("rendered_count", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_certificate_job_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["course_run.id"],
            name=op.f("fk_certificate_job_run_id_course_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_job")),
    )
    with op.batch_alter_table("certificate_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificate_job_run_id"), ["run_id"], unique=False)

    op.create_table(
        "certification_rules",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("pass_score", sa.Double(), nullable=True),
        sa.Column("predikat_bands_json", sa.Text(), nullable=True),
        sa.Column("score_formula", sa.String(length=16), nullable=True),
        sa.Column("weights_json", sa.Text(), nullable=True),
        sa.Column("require_posttest", sa.Boolean(), nullable=True),
        sa.Column("min_learning_minutes", sa.Integer(), nullable=True),
        sa.Column("require_survey", sa.Boolean(), nullable=True),
        sa.Column("require_rtl", sa.Boolean(), nullable=True),
        sa.Column("require_profile", sa.Boolean(), nullable=True),
        sa.Column("auto_issue", sa.Boolean(), nullable=True),
        sa.Column("validity_years", sa.Integer(), nullable=True),
        sa.Column("curriculum_page", sa.Boolean(), nullable=True),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["course.id"],
            name=op.f("fk_certification_rules_course_id_course"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["certificate_template.id"],
            name=op.f("fk_certification_rules_template_id_certificate_template"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("course_id", name=op.f("pk_certification_rules")),
    )
    op.create_table(
        "certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=128), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("holder_name", sa.String(length=255), nullable=False),
        sa.Column("holder_nip", sa.String(length=18), nullable=True),
        sa.Column("holder_pangkat_golongan", sa.String(length=32), nullable=True),
        sa.Column("holder_jabatan", sa.String(length=255), nullable=True),
        sa.Column("holder_opd", sa.String(length=255), nullable=True),
        sa.Column("course_code", sa.String(length=64), nullable=False),
        sa.Column("course_title", sa.String(length=255), nullable=False),
        sa.Column("run_name", sa.String(length=255), nullable=False),
        sa.Column("run_starts_on", sa.Date(), nullable=False),
        sa.Column("run_ends_on", sa.Date(), nullable=False),
        sa.Column("funding_source", sa.String(length=32), nullable=False),
        sa.Column("jp", sa.Float(), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("predikat", sa.String(length=64), nullable=True),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("signer_name", sa.String(length=255), nullable=False),
        sa.Column("signer_nip", sa.String(length=18), nullable=True),
        sa.Column("signer_jabatan", sa.String(length=255), nullable=False),
        sa.Column("place", sa.String(length=128), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("issued_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("curriculum_json", sa.Text(), nullable=True),
        sa.Column("credential_jws", sa.Text(), nullable=True),
        sa.Column("pdf_key", sa.String(length=512), nullable=True),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=True),
        sa.Column("pdf_size", sa.BigInteger(), nullable=True),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("revoked_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("revoked_reason", sa.String(length=500), nullable=True),
        sa.Column("superseded_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["course.id"],
            name=op.f("fk_certificate_course_id_course"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolment.id"],
            name=op.f("fk_certificate_enrolment_id_enrolment"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["issued_by_id"],
            ["user_account.id"],
            name=op.f("fk_certificate_issued_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"],
            ["certificate.id"],
            name=op.f("fk_certificate_previous_id_certificate"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"],
            ["user_account.id"],
            name=op.f("fk_certificate_revoked_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["course_run.id"],
            name=op.f("fk_certificate_run_id_course_run"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["certificate_template.id"],
            name=op.f("fk_certificate_template_id_certificate_template"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_certificate_user_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate")),
        sa.UniqueConstraint("code", name=op.f("uq_certificate_code")),
        sa.UniqueConstraint("enrolment_id", "version", name=op.f("uq_certificate_enrolment_id")),
        sa.UniqueConstraint("number", name=op.f("uq_certificate_number")),
        sa.UniqueConstraint("year", "seq", name=op.f("uq_certificate_year")),
    )
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certificate_enrolment_id"), ["enrolment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_certificate_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_certificate_pdf_sha256"), ["pdf_sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_certificate_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_certificate_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_certificate_user_id"), ["user_id"], unique=False)

    op.create_table(
        "rtl",
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("submitted_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolment.id"],
            name=op.f("fk_rtl_enrolment_id_enrolment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enrolment_id", name=op.f("pk_rtl")),
    )
    op.create_table(
        "run_completion",
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("completed_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("final_score", sa.Double(), nullable=True),
        sa.Column("predikat", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolment.id"],
            name=op.f("fk_run_completion_enrolment_id_enrolment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["course_run.id"],
            name=op.f("fk_run_completion_run_id_course_run"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_run_completion_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enrolment_id", name=op.f("pk_run_completion")),
    )
    with op.batch_alter_table("run_completion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_run_completion_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_run_completion_user_id"), ["user_id"], unique=False)

    op.create_table(
        "survey_response",
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("answers_json", sa.Text(), nullable=False),
        sa.Column("submitted_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolment.id"],
            name=op.f("fk_survey_response_enrolment_id_enrolment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["course_run.id"],
            name=op.f("fk_survey_response_run_id_course_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enrolment_id", name=op.f("pk_survey_response")),
    )
    with op.batch_alter_table("survey_response", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_response_run_id"), ["run_id"], unique=False)

    op.create_table(
        "certificate_job_item",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificate.id"],
            name=op.f("fk_certificate_job_item_certificate_id_certificate"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["certificate_job.id"],
            name=op.f("fk_certificate_job_item_job_id_certificate_job"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_certificate_job_item_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "user_id", name=op.f("pk_certificate_job_item")),
    )
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("min_view_seconds", sa.Integer(), nullable=False, server_default="0")
        )

    with op.batch_alter_table("activity_progress", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("time_seconds", sa.Float(), nullable=False, server_default="0")
        )

    with op.batch_alter_table("course_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("instructors", sa.Text(), nullable=True))

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table("course_run", schema=None) as batch_op:
        batch_op.drop_column("instructors")

    with op.batch_alter_table("activity_progress", schema=None) as batch_op:
        batch_op.drop_column("time_seconds")

    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.drop_column("min_view_seconds")

    op.drop_table("certificate_job_item")
    with op.batch_alter_table("survey_response", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_response_run_id"))

    op.drop_table("survey_response")
    with op.batch_alter_table("run_completion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_completion_user_id"))
        batch_op.drop_index(batch_op.f("ix_run_completion_run_id"))

    op.drop_table("run_completion")
    op.drop_table("rtl")
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_user_id"))
        batch_op.drop_index(batch_op.f("ix_certificate_status"))
        batch_op.drop_index(batch_op.f("ix_certificate_run_id"))
        batch_op.drop_index(batch_op.f("ix_certificate_pdf_sha256"))
        batch_op.drop_index(batch_op.f("ix_certificate_job_id"))
        batch_op.drop_index(batch_op.f("ix_certificate_enrolment_id"))

    op.drop_table("certificate")
    op.drop_table("certification_rules")
    with op.batch_alter_table("certificate_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_job_run_id"))

    op.drop_table("certificate_job")
    with op.batch_alter_table("survey_question", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_question_course_id"))

    op.drop_table("survey_question")
    with op.batch_alter_table("certificate_template", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_template_course_id"))

    op.drop_table("certificate_template")
    with op.batch_alter_table("jp_credit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jp_credit_year"))
        batch_op.drop_index(batch_op.f("ix_jp_credit_user_id"))

    op.drop_table("jp_credit")
    op.drop_table("certificate_counter")
    # ### end Alembic commands ###
