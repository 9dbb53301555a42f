"""Tables for certification rules, run completion, certificate templates, numbering counters,
certificate records (immutable once issued) and bulk issuing jobs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow


class CertificationRules(Base):
    """A course's certification and completion rules. Every None means "the institution's
    setting" (Settings.cert_*), so changing a setting changes every course that did not override
    it."""

    __tablename__ = "certification_rules"

    course_id: Mapped[int] = mapped_column(
        ForeignKey("course.id", ondelete="CASCADE"), primary_key=True
    )
    pass_score: Mapped[float | None]
    predikat_bands_json: Mapped[str | None] = mapped_column(Text)  # [[above, label], ...]
    score_formula: Mapped[str | None] = mapped_column(String(16))  # posttest | weighted
    weights_json: Mapped[str | None] = mapped_column(Text)  # {"posttest": 70, "activities": 30}
    require_posttest: Mapped[bool | None] = mapped_column(Boolean)
    min_learning_minutes: Mapped[int | None] = mapped_column(Integer)  # 0: rule off
    min_attendance_percent: Mapped[float | None]  # live sessions attended, %; 0: rule off
    require_survey: Mapped[bool | None] = mapped_column(Boolean)
    require_rtl: Mapped[bool | None] = mapped_column(Boolean)
    require_profile: Mapped[bool | None] = mapped_column(Boolean)
    auto_issue: Mapped[bool | None] = mapped_column(Boolean)
    validity_years: Mapped[int | None] = mapped_column(Integer)  # 0: never expires
    curriculum_page: Mapped[bool | None] = mapped_column(Boolean)
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificate_template.id", ondelete="SET NULL")
    )
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RunCompletion(Base):
    """The moment a learner completed a run (every completion rule held), with the final score."""

    __tablename__ = "run_completion"

    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolment.id", ondelete="CASCADE"), primary_key=True
    )
    run_id: Mapped[int] = mapped_column(ForeignKey("course_run.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    completed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    final_score: Mapped[float | None]
    predikat: Mapped[str | None] = mapped_column(String(64))


class CertificateTemplate(Base):
    """Background image plus a JSON layout of positioned fields. `course_id` None is the
    institution's template; a course may have its own. Each save bumps `version`."""

    __tablename__ = "certificate_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int | None] = mapped_column(
        ForeignKey("course.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer, default=1)
    background_key: Mapped[str | None] = mapped_column(String(512))  # storage key (PNG/JPEG)
    background_sha256: Mapped[str | None] = mapped_column(String(64))
    layout_json: Mapped[str] = mapped_column(Text)
    # The signature block's signer for certificates drawn with this template; None: the
    # institution's setting (Settings.cert_signer_*).
    signer_name: Mapped[str | None] = mapped_column(String(255))
    signer_nip: Mapped[str | None] = mapped_column(String(18))
    signer_jabatan: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class CertificateCounter(Base):
    """The last sequence number used in a year; locked (FOR UPDATE) while numbers are taken, so
    numbers are gapless and unique across concurrent issuers."""

    __tablename__ = "certificate_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class Certificate(Base):
    """An issued certificate (STTPL). Immutable once issued except for its status fields and the
    stored PDF's key/hash (written once, right after issue). Re-issue makes a new row with
    version + 1 and marks this one superseded."""

    __tablename__ = "certificate"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "version"),
        UniqueConstraint("year", "seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(128), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # verification code, 160 bits
    version: Mapped[int] = mapped_column(Integer, default=1)
    previous_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificate.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16), default="valid", index=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolment.id", ondelete="RESTRICT"), index=True
    )
    run_id: Mapped[int] = mapped_column(
        ForeignKey("course_run.id", ondelete="RESTRICT"), index=True
    )
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), index=True
    )
    # Snapshot at issue time: later profile or course edits never change a certificate.
    holder_name: Mapped[str] = mapped_column(String(255))
    holder_nip: Mapped[str | None] = mapped_column(String(18))
    holder_pangkat_golongan: Mapped[str | None] = mapped_column(String(32))
    holder_jabatan: Mapped[str | None] = mapped_column(String(255))
    holder_opd: Mapped[str | None] = mapped_column(String(255))
    course_code: Mapped[str] = mapped_column(String(64))
    course_title: Mapped[str] = mapped_column(String(255))
    run_name: Mapped[str] = mapped_column(String(255))
    run_starts_on: Mapped[dt.date] = mapped_column(Date)
    run_ends_on: Mapped[dt.date] = mapped_column(Date)
    funding_source: Mapped[str] = mapped_column(String(32))
    jp: Mapped[float] = mapped_column(Float)
    score: Mapped[float | None]
    predikat: Mapped[str | None] = mapped_column(String(64))
    issuer: Mapped[str] = mapped_column(String(255))
    signer_name: Mapped[str] = mapped_column(String(255))
    signer_nip: Mapped[str | None] = mapped_column(String(18))
    signer_jabatan: Mapped[str] = mapped_column(String(255))
    place: Mapped[str] = mapped_column(String(128))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificate_template.id", ondelete="SET NULL")
    )
    template_version: Mapped[int] = mapped_column(Integer, default=1)
    curriculum_json: Mapped[str | None] = mapped_column(Text)  # [[section, [[subject, jp]...]]...]
    credential_jws: Mapped[str | None] = mapped_column(Text)
    pdf_key: Mapped[str | None] = mapped_column(String(512))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    pdf_size: Mapped[int | None] = mapped_column(BigInteger)
    issued_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    job_id: Mapped[str | None] = mapped_column(String(32), index=True)
    revoked_at: Mapped[dt.datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    revoked_reason: Mapped[str | None] = mapped_column(String(500))
    superseded_at: Mapped[dt.datetime | None]


class IssueJob(Base):
    """A bulk issue for a run: progress counters for the progress bar, resumable after a crash
    (items not yet issued and certificates without a PDF are picked up again)."""

    __tablename__ = "certificate_job"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("course_run.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued running done failed
    total: Mapped[int] = mapped_column(Integer, default=0)
    issued_count: Mapped[int] = mapped_column(Integer, default=0)
    ineligible_count: Mapped[int] = mapped_column(Integer, default=0)
    certified_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    rendered_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    heartbeat_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class IssueJobItem(Base):
    """One user in a bulk issue and what happened to them."""

    __tablename__ = "certificate_job_item"

    job_id: Mapped[str] = mapped_column(
        ForeignKey("certificate_job.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(
        String(16), default="pending"
    )  # pending issued ineligible certified (already had a valid one) failed
    certificate_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificate.id", ondelete="SET NULL")
    )
    message: Mapped[str | None] = mapped_column(Text)
