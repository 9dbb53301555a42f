"""Pydantic shapes for OPDs, users and the roster import (API contract: api-v1.md)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.accounts.constants import Employment, JenisJabatan, Role


class OpdCreate(BaseModel):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=255)
    parent_code: str | None = None


class OpdRef(BaseModel):
    code: str
    name: str


class OpdRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    parent_code: str | None = None
    user_count: int | None = None


class UserCreate(BaseModel):
    nip: str | None = Field(default=None, max_length=32)
    name: str = Field(min_length=1, max_length=255)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32, description="WhatsApp, e.g. 0812...")
    password: str | None = Field(default=None, max_length=256)
    roles: list[Role] = Field(default_factory=lambda: [Role.LEARNER])
    opd_code: str | None = None
    employment: Employment | None = None
    pangkat_golongan: str | None = None
    jabatan: str | None = Field(default=None, max_length=255)
    jenis_jabatan: JenisJabatan | None = None


class UserUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32, description="WhatsApp, e.g. 0812...")
    password: str | None = Field(default=None, max_length=256)
    roles: list[Role] | None = None
    opd_code: str | None = None
    employment: Employment | None = None
    pangkat_golongan: str | None = None
    jabatan: str | None = Field(default=None, max_length=255)
    jenis_jabatan: JenisJabatan | None = None
    is_active: bool | None = None


class UserRead(BaseModel):
    id: int
    nip: str | None
    name: str
    email: str | None
    phone: str | None = None  # E.164, +62...
    roles: list[str]
    opd: OpdRef | None
    employment: str | None
    pangkat_golongan: str | None
    jabatan: str | None
    jenis_jabatan: str | None
    is_active: bool
    activated_at: dt.datetime | None = None
    pseudonymised_at: dt.datetime | None = None


class UserPage(BaseModel):
    total: int
    items: list[UserRead]


class ImportError_(BaseModel):
    row: int
    field: str
    message: str


class ImportResult(BaseModel):
    created: int
    updated: int
    skipped: int = 0
    errors: list[ImportError_]
    import_id: int | None = None  # the batch, a selection for sending activation


ActivationChannel = Literal["email", "whatsapp", "letter", "auto"]


class ActivationRequest(BaseModel):
    """Who gets an activation message, and how; the selections add up."""

    user_ids: list[int] | None = Field(default=None, max_length=100_000)
    nips: list[str] | None = Field(default=None, max_length=100_000)
    opd_code: str | None = Field(default=None, max_length=32)
    import_id: int | None = None
    channel: ActivationChannel = "auto"
    resend: bool = False  # also accounts that are activated already (a new link or letter)


class ActivationSkip(BaseModel):
    user_id: int | None
    nip: str | None = None
    reason: str


class ActivationResult(BaseModel):
    queued: int
    by_channel: dict[str, int] = Field(default_factory=dict)
    skipped: list[ActivationSkip]
    letter_url: str | None = None
    letter_job_id: str | None = None
