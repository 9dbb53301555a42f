"""Request and answer shapes of the signing-batch API (api-v1.md "Integrations")."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field, SecretStr, model_validator


class BatchCreate(BaseModel):
    """A run's certificates, or chosen ones (at least one of the two)."""

    run_id: int | None = Field(default=None, ge=1)
    certificate_ids: list[int] | None = Field(default=None, max_length=20_000)

    @model_validator(mode="after")
    def _one_of(self) -> BatchCreate:
        if self.run_id is None and not self.certificate_ids:
            raise ValueError("run_id or certificate_ids is required")
        return self


class BatchCreated(BaseModel):
    id: int
    count: int


class SignRequest(BaseModel):
    """The signing official's NIK and passphrase: used for this batch only, never stored."""

    nik: str = Field(pattern=r"^\d{16}$")
    passphrase: SecretStr = Field(min_length=1, max_length=200)


class SignAccepted(BaseModel):
    job_id: str


class BatchItemRead(BaseModel):
    certificate_id: int
    number: str
    holder_name: str
    state: str
    message: str | None = None
    signed_at: dt.datetime | None = None


class BatchRead(BaseModel):
    id: int
    run_id: int | None
    state: str
    total: int
    signed_count: int
    failed_count: int
    skipped_count: int
    pending_count: int
    error: str | None = None
    error_code: int | None = None
    job_id: str | None = None
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    items: list[BatchItemRead] = []
