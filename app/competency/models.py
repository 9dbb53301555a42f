"""Tables for the competency catalog, job standards, assessment results and import records."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, TimestampMixin, utcnow


class Competency(TimestampMixin, Base):
    """A competency of PermenPANRB 38/2017 (manajerial, sosial kultural) or a teknis one the
    agency adds; `level_descriptions[i]` describes level i + 1."""

    __tablename__ = "competency"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    group: Mapped[str] = mapped_column(String(32), index=True)  # manajerial|sosial_kultural|teknis
    description: Mapped[str | None] = mapped_column(Text)
    max_level: Mapped[int] = mapped_column(Integer, default=5)
    level_descriptions: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class CompetencyStandard(TimestampMixin, Base):
    """The level a jabatan requires in a competency. `jabatan_key` is the jabatan name folded
    (lower case, single spaces); a jenis jabatan ("pelaksana") or "*" stands for a whole group."""

    __tablename__ = "competency_standard"
    __table_args__ = (UniqueConstraint("jabatan_key", "competency_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    jabatan: Mapped[str] = mapped_column(String(255))
    jabatan_key: Mapped[str] = mapped_column(String(255))
    competency_code: Mapped[str] = mapped_column(String(64), index=True)
    required_level: Mapped[int] = mapped_column(Integer)


class CompetencyAssessment(Base):
    """One assessed level of one ASN in one competency on one date; history is kept by date."""

    __tablename__ = "competency_assessment"
    __table_args__ = (
        UniqueConstraint("user_id", "competency_code", "assessed_on"),
        Index("ix_competency_assessment_code_user", "competency_code", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    competency_code: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer)
    # The standard the assessor used, when the file carries one (used if no job standard applies).
    required_level: Mapped[int | None] = mapped_column(Integer)
    assessed_on: Mapped[dt.date]
    method: Mapped[str] = mapped_column(String(64))
    assessor: Mapped[str | None] = mapped_column(String(255))
    import_id: Mapped[int | None] = mapped_column(
        ForeignKey("competency_import.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CompetencyImport(Base):
    """An accepted standards or assessments file: who, when, how many rows (audit trail)."""

    __tablename__ = "competency_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # standards | assessments
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    imported_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
