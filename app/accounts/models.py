"""Tables for OPDs, users and their roles, roster imports and printed activation letters."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, TimestampMixin, utcnow


class Opd(TimestampMixin, Base):
    """Organisasi Perangkat Daerah: a regional government unit; `parent` makes unit kerja."""

    __tablename__ = "opd"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("opd.id", ondelete="RESTRICT"), index=True
    )

    parent: Mapped[Opd | None] = relationship(remote_side=[id], lazy="raise")


class User(TimestampMixin, Base):
    """An account: an ASN (with NIP) or a staff member without one."""

    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    nip: Mapped[str | None] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320), unique=True)  # stored lower-case
    phone: Mapped[str | None] = mapped_column(String(20))  # WhatsApp, E.164 (+62...)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    employment: Mapped[str | None] = mapped_column(String(8))
    pangkat_golongan: Mapped[str | None] = mapped_column(String(8))
    jabatan: Mapped[str | None] = mapped_column(String(255))
    jenis_jabatan: Mapped[str | None] = mapped_column(String(32))
    opd_id: Mapped[int | None] = mapped_column(
        ForeignKey("opd.id", ondelete="RESTRICT"), index=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    last_login_at: Mapped[dt.datetime | None]
    # Self-service activation (issue 12): set when the ASN chose a password and accepted the
    # terms; a contact is verified when an activation or reset link reached it.
    activated_at: Mapped[dt.datetime | None]
    terms_accepted_at: Mapped[dt.datetime | None]
    email_verified_at: Mapped[dt.datetime | None]
    phone_verified_at: Mapped[dt.datetime | None]
    # Personal data replaced by a pseudonym (app.privacy), after the account was closed.
    pseudonymised_at: Mapped[dt.datetime | None]

    opd: Mapped[Opd | None] = relationship(lazy="raise")
    roles: Mapped[list[UserRole]] = relationship(
        lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def role_names(self) -> set[str]:
        return {r.role for r in self.roles}


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class RosterImport(Base):
    """One roster upload: who imported which file when; its users are a selection for officer
    actions such as sending activation."""

    __tablename__ = "roster_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    file_name: Mapped[str | None] = mapped_column(String(255))
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)


class RosterImportUser(Base):
    """A user created or updated by a roster import."""

    __tablename__ = "roster_import_user"

    import_id: Mapped[int] = mapped_column(
        ForeignKey("roster_import.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ActivationLetterJob(Base):
    """Printing activation letters for a selection of ASN in the background: one PDF per OPD,
    with counters for the officer's progress bar. Codes and link tokens are made by the job."""

    __tablename__ = "activation_letter_job"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued running done failed
    user_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class ActivationLetterFile(Base):
    """One OPD's letters of a job: a PDF in object storage."""

    __tablename__ = "activation_letter_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(
        ForeignKey("activation_letter_job.id", ondelete="CASCADE"), index=True
    )
    opd_code: Mapped[str | None] = mapped_column(String(32))
    opd_name: Mapped[str | None] = mapped_column(String(255))
    letters: Mapped[int] = mapped_column(Integer, default=0)
    storage_key: Mapped[str] = mapped_column(String(512))
    size: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
