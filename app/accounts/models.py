"""Tables for OPDs, users and their roles."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, TimestampMixin


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
