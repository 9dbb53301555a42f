"""competency catalog, standards, assessments; mentoring; external training; jp_credit funding

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 04:46:35.086443
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "competency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("group", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("max_level", sa.Integer(), nullable=False),
        sa.Column("level_descriptions", sa.JSON(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_competency")),
        sa.UniqueConstraint("code", name=op.f("uq_competency_code")),
    )
    with op.batch_alter_table("competency", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_competency_group"), ["group"], unique=False)

    op.create_table(
        "competency_standard",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jabatan", sa.String(length=255), nullable=False),
        sa.Column("jabatan_key", sa.String(length=255), nullable=False),
        sa.Column("competency_code", sa.String(length=64), nullable=False),
        sa.Column("required_level", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_competency_standard")),
        sa.UniqueConstraint(
            "jabatan_key", "competency_code", name=op.f("uq_competency_standard_jabatan_key")
        ),
    )
    with op.batch_alter_table("competency_standard", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_competency_standard_competency_code"), ["competency_code"], unique=False
        )

    op.create_table(
        "competency_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("imported_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["imported_by_id"],
            ["user_account.id"],
            name=op.f("fk_competency_import_imported_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_competency_import")),
    )
    op.create_table(
        "external_training",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("organiser", sa.String(length=255), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("jp", sa.Float(), nullable=False),
        sa.Column("certificate_number", sa.String(length=128), nullable=False),
        sa.Column("certificate_key", sa.String(length=128), nullable=False),
        sa.Column("funding_source", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=32), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision_reason", sa.String(length=1000), nullable=True),
        sa.Column("decided_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user_account.id"],
            name=op.f("fk_external_training_decided_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["content_file.id"],
            name=op.f("fk_external_training_file_id_content_file"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_external_training_recorded_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_external_training_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_training")),
    )
    with op.batch_alter_table("external_training", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_external_training_certificate_key"), ["certificate_key"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_external_training_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_external_training_user_id"), ["user_id"], unique=False)

    op.create_table(
        "mentoring_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("mentee_id", sa.Integer(), nullable=False),
        sa.Column("competency_code", sa.String(length=64), nullable=False),
        sa.Column("goal", sa.Text(), nullable=False),
        sa.Column("planned_sessions", sa.Integer(), nullable=False),
        sa.Column("jp_per_session", sa.Float(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("signed_off_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decision_reason", sa.String(length=1000), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_mentoring_assignment_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user_account.id"],
            name=op.f("fk_mentoring_assignment_decided_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["mentee_id"],
            ["user_account.id"],
            name=op.f("fk_mentoring_assignment_mentee_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"],
            ["user_account.id"],
            name=op.f("fk_mentoring_assignment_mentor_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentoring_assignment")),
    )
    with op.batch_alter_table("mentoring_assignment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mentoring_assignment_mentee_id"), ["mentee_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mentoring_assignment_mentor_id"), ["mentor_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mentoring_assignment_status"), ["status"], unique=False
        )

    op.create_table(
        "competency_assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("competency_code", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("required_level", sa.Integer(), nullable=True),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("assessor", sa.String(length=255), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["competency_import.id"],
            name=op.f("fk_competency_assessment_import_id_competency_import"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_competency_assessment_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_competency_assessment")),
        sa.UniqueConstraint(
            "user_id",
            "competency_code",
            "assessed_on",
            name=op.f("uq_competency_assessment_user_id"),
        ),
    )
    with op.batch_alter_table("competency_assessment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_competency_assessment_code_user", ["competency_code", "user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_competency_assessment_import_id"), ["import_id"], unique=False
        )

    op.create_table(
        "mentoring_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("goal", sa.Text(), nullable=False),
        sa.Column("reality", sa.Text(), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("way_forward", sa.Text(), nullable=False),
        sa.Column("evidence_file_id", sa.Integer(), nullable=True),
        sa.Column("evidence_name", sa.String(length=255), nullable=True),
        sa.Column("mentee_confirmed_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["mentoring_assignment.id"],
            name=op.f("fk_mentoring_session_assignment_id_mentoring_assignment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["evidence_file_id"],
            ["content_file.id"],
            name=op.f("fk_mentoring_session_evidence_file_id_content_file"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentoring_session")),
    )
    with op.batch_alter_table("mentoring_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mentoring_session_assignment_id"), ["assignment_id"], unique=False
        )

    with op.batch_alter_table("jp_credit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("funding_source", sa.String(length=32), nullable=True))
        batch_op.create_index("ix_jp_credit_year_user", ["year", "user_id"], unique=False)

    _seed_catalog()
    # Credits of certificates issued before this revision take their run's funding source.
    op.execute(
        "UPDATE jp_credit SET funding_source = (SELECT c.funding_source FROM certificate c "
        "WHERE c.id = jp_credit.source_id) WHERE source = 'certificate' AND funding_source IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("jp_credit", schema=None) as batch_op:
        batch_op.drop_index("ix_jp_credit_year_user")
        batch_op.drop_column("funding_source")

    with op.batch_alter_table("mentoring_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mentoring_session_assignment_id"))

    op.drop_table("mentoring_session")
    with op.batch_alter_table("competency_assessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_competency_assessment_import_id"))
        batch_op.drop_index("ix_competency_assessment_code_user")

    op.drop_table("competency_assessment")
    with op.batch_alter_table("mentoring_assignment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mentoring_assignment_status"))
        batch_op.drop_index(batch_op.f("ix_mentoring_assignment_mentor_id"))
        batch_op.drop_index(batch_op.f("ix_mentoring_assignment_mentee_id"))

    op.drop_table("mentoring_assignment")
    with op.batch_alter_table("external_training", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_external_training_user_id"))
        batch_op.drop_index(batch_op.f("ix_external_training_status"))
        batch_op.drop_index(batch_op.f("ix_external_training_certificate_key"))

    op.drop_table("external_training")
    op.drop_table("competency_import")
    with op.batch_alter_table("competency_standard", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_competency_standard_competency_code"))

    op.drop_table("competency_standard")
    with op.batch_alter_table("competency", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_competency_group"))

    op.drop_table("competency")


# PermenPANRB 38/2017: eight manajerial competencies and one sosial kultural, with the agency's
# first teknis ones (editable afterwards; a data seed, so later code changes do not alter it).
_CATALOG = [
    ("integritas", "Integritas", "manajerial",
     "Konsisten berperilaku selaras dengan nilai, norma dan/atau etika organisasi, serta jujur "
     "dalam hubungan dengan manajemen, rekan kerja, bawahan langsung, dan pemangku kepentingan."),
    ("kerja_sama", "Kerja Sama", "manajerial",
     "Kemampuan menjalin, membina, mempertahankan hubungan kerja yang efektif, memiliki komitmen "
     "saling membantu dalam penyelesaian tugas, dan mengoptimalkan segala sumber daya."),
    ("komunikasi", "Komunikasi", "manajerial",
     "Kemampuan untuk menerangkan pandangan dan gagasan secara jelas, sistematis disertai "
     "argumentasi yang logis dengan cara-cara yang sesuai baik secara lisan maupun tertulis."),
    ("orientasi_pada_hasil", "Orientasi pada Hasil", "manajerial",
     "Kemampuan mempertahankan komitmen pribadi yang tinggi untuk menyelesaikan tugas, dapat "
     "diandalkan, bertanggung jawab, dan mampu mengukur keberhasilannya."),
    ("pelayanan_publik", "Pelayanan Publik", "manajerial",
     "Kemampuan dalam melaksanakan tugas-tugas pemerintahan, pembangunan dan kegiatan pemenuhan "
     "kebutuhan pelayanan publik secara profesional, transparan, mengikuti standar pelayanan."),
    ("pengembangan_diri_dan_orang_lain", "Pengembangan Diri dan Orang Lain", "manajerial",
     "Kemampuan untuk meningkatkan pengetahuan dan menyempurnakan keterampilan diri; menginspirasi "
     "orang lain untuk mengembangkan dan menyempurnakan pengetahuan dan keterampilan."),
    ("mengelola_perubahan", "Mengelola Perubahan", "manajerial",
     "Kemampuan dalam menyesuaikan diri dengan situasi yang baru atau berubah dan tidak bergantung "
     "secara berlebihan pada metode dan proses lama."),
    ("pengambilan_keputusan", "Pengambilan Keputusan", "manajerial",
     "Kemampuan membuat keputusan yang baik secara tepat waktu dan dengan keyakinan diri setelah "
     "mempertimbangkan prinsip kehati-hatian, dirumuskan secara sistematis dan seksama."),
    ("perekat_bangsa", "Perekat Bangsa", "sosial_kultural",
     "Kemampuan dalam mempromosikan sikap toleransi, keterbukaan, peka terhadap perbedaan "
     "individu/kelompok masyarakat; mampu menjadi perpanjangan tangan pemerintah dalam "
     "mempersatukan masyarakat."),
    ("literasi_digital", "Literasi Digital", "teknis",
     "Kemampuan menggunakan teknologi digital secara cakap, aman, beretika dan berbudaya."),
    ("keamanan_informasi", "Keamanan Informasi", "teknis",
     "Kemampuan melindungi informasi dan sistem elektronik pemerintah dari ancaman keamanan."),
    ("spbe", "Sistem Pemerintahan Berbasis Elektronik", "teknis",
     "Kemampuan menerapkan SPBE dalam penyelenggaraan pemerintahan dan layanan publik."),
]  # fmt: skip


def _seed_catalog() -> None:
    table = sa.table(
        "competency",
        sa.column("code", sa.String), sa.column("name", sa.String), sa.column("group", sa.String),
        sa.column("description", sa.Text), sa.column("max_level", sa.Integer),
        sa.column("level_descriptions", sa.JSON), sa.column("is_active", sa.Boolean),
        sa.column("created_at", app.core.db.UTCDateTime(timezone=True)),
        sa.column("updated_at", app.core.db.UTCDateTime(timezone=True)),
    )  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    op.bulk_insert(table, [
        {"code": code, "name": name, "group": group, "description": text, "max_level": 5,
         "level_descriptions": [], "is_active": True, "created_at": now, "updated_at": now}
        for code, name, group, text in _CATALOG
    ])  # fmt: skip
