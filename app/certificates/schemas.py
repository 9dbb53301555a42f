"""Pydantic shapes for certification rules, completion, certificates, verification and jobs
(api-v1.md, "Progress, completion, JP" and "Certificates and verification")."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field


class PredikatBand(BaseModel):
    above: float = Field(ge=0, le=100)
    label: str = Field(min_length=1, max_length=64)


class RulesRead(BaseModel):
    course_id: int
    pass_score: float
    predikat_bands: list[PredikatBand]
    predikat_lowest: str
    score_formula: str
    weights: dict[str, float]
    require_posttest: bool
    min_learning_minutes: int
    require_survey: bool
    require_rtl: bool
    require_profile: bool
    auto_issue: bool
    validity_years: int
    curriculum_page: bool
    template_id: int | None
    min_attendance_percent: float = 0.0  # live sessions attended, %; 0: rule off
    overridden: list[str]  # fields the course sets itself; the rest follow the institution


class RulesUpdate(BaseModel):
    """Fields sent replace the course's own value; `null` returns a field to the institution's
    setting; fields left out stay as they are."""

    pass_score: float | None = Field(default=None, ge=0, le=100)
    predikat_bands: list[PredikatBand] | None = Field(default=None, max_length=10)
    score_formula: Literal["posttest", "weighted"] | None = None
    weights: dict[str, float] | None = None
    require_posttest: bool | None = None
    min_learning_minutes: int | None = Field(default=None, ge=0, le=100_000)
    require_survey: bool | None = None
    require_rtl: bool | None = None
    require_profile: bool | None = None
    auto_issue: bool | None = None
    validity_years: int | None = Field(default=None, ge=0, le=50)
    curriculum_page: bool | None = None
    template_id: int | None = None
    min_attendance_percent: float | None = Field(default=None, ge=0, le=100)


class CheckRead(BaseModel):
    name: str  # the check's code
    passed: bool
    reason: str  # in the reader's language (Accept-Language or the UI's choice)
    params: dict[str, Any] = Field(default_factory=dict)  # what `reason` is made from


class EligibilityRead(BaseModel):
    eligible: bool
    completed: bool
    checks: list[CheckRead]


class CourseRef(BaseModel):
    id: int
    code: str
    title: str


class MyCourse(BaseModel):
    run_id: int
    run_name: str
    course: CourseRef
    percent: int
    completed: bool
    completed_at: dt.datetime | None = None
    certificate_id: int | None = None
    certificate_status: str | None = None
    # False while the certificate's PDF is still being prepared (made after the issue commits).
    certificate_pdf_ready: bool = False
    missing: list[CheckRead] = Field(default_factory=list)
    jp: float = 0
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None


class IssueRequest(BaseModel):
    user_ids: list[int] | None = Field(default=None, max_length=100_000)


class IssuedItem(BaseModel):
    id: int
    number: str
    user_id: int


class IneligibleItem(BaseModel):
    user_id: int
    checks: list[CheckRead]


class IssueResult(BaseModel):
    issued: list[IssuedItem] = Field(default_factory=list)
    ineligible: list[IneligibleItem] = Field(default_factory=list)
    # Chosen (or, for "everyone", enrolled) learners who already hold a valid certificate.
    already_certified: list[IssuedItem] = Field(default_factory=list)
    job_id: str | None = None


class IssuedNow(BaseModel):
    """The certificate the learner's own action (submit, last activity, survey) earned. With
    auto-issue it is being issued right after the action (`pending`: no id or number yet; it
    appears under GET /api/v1/me/certificates within seconds); an issued record verifies while
    its PDF is being prepared (`pdf_ready` false)."""

    id: int | None = None
    number: str | None = None
    pending: bool = False
    pdf_ready: bool = False
    message: str


class MyCertificate(BaseModel):
    id: int
    number: str
    code: str
    course_title: str
    jp: float
    predikat: str | None
    issued_at: dt.datetime
    status: str
    verify_url: str = ""
    run_name: str = ""
    has_pdf: bool = False  # False: "Sertifikat sedang disiapkan" (the PDF follows shortly)


class CertificateRead(BaseModel):
    id: int
    number: str
    code: str
    code_display: str
    verify_url: str
    status: str
    version: int
    previous_id: int | None
    successor_id: int | None = None
    user_id: int
    run_id: int
    course_id: int
    holder_name: str
    holder_nip: str | None
    holder_pangkat_golongan: str | None
    holder_jabatan: str | None
    holder_opd: str | None
    course_code: str
    course_title: str
    run_name: str
    run_starts_on: dt.date
    run_ends_on: dt.date
    funding_source: str
    jp: float
    score: float | None
    predikat: str | None
    issuer: str
    signer_name: str
    signer_nip: str | None
    signer_jabatan: str
    place: str
    issued_on: dt.date
    issued_at: dt.datetime
    valid_until: dt.date | None
    template_version: int
    pdf_sha256: str | None
    pdf_size: int | None
    # False while the PDF is being prepared (GET .../pdf answers 409 with Retry-After until then).
    pdf_ready: bool = False
    revoked_at: dt.datetime | None
    revoked_reason: str | None
    superseded_at: dt.datetime | None


class CertificatePage(BaseModel):
    total: int
    items: list[CertificateRead]


class RevokeRequest(BaseModel):
    reason: str = Field(min_length=3, max_length=500)


class ReissueRequest(BaseModel):
    reason: str = Field(default="Terbit ulang", min_length=3, max_length=500)


class VerifyRead(BaseModel):
    status: Literal["valid", "revoked", "superseded", "expired"]
    number: str
    code: str
    holder_name: str
    holder_nip_masked: str | None
    course_title: str
    course_code: str
    run_name: str
    run_starts_on: dt.date
    run_ends_on: dt.date
    jp: float
    predikat: str | None
    issued_at: dt.datetime
    issued_on: dt.date
    place: str
    valid_until: dt.date | None
    issuer: str
    signer_name: str
    signer_jabatan: str
    pdf_sha256: str | None
    revoked_at: dt.datetime | None = None
    revoked_reason: str | None = None
    superseded_by: str | None = None  # the newer certificate's verification code


class VerifyPdfRead(BaseModel):
    authentic: bool
    status: str | None = None
    number: str | None = None
    code: str | None = None
    reason: str | None = None


class JobItemRead(BaseModel):
    user_id: int
    state: str
    certificate_id: int | None
    message: str | None


class JobRead(BaseModel):
    id: str
    run_id: int
    state: str
    total: int
    issued_count: int
    ineligible_count: int
    certified_count: int = 0  # already held a valid certificate: nothing issued
    failed_count: int
    rendered_count: int
    percent: int
    created_at: dt.datetime
    finished_at: dt.datetime | None
    error: str | None
    items: list[JobItemRead] = Field(default_factory=list)


class ParticipantRow(BaseModel):
    enrolment_id: int
    user_id: int
    name: str
    nip: str | None
    opd: str | None
    enrolment_status: str
    percent: int
    learning_minutes: int
    completed_at: dt.datetime | None
    eligible: bool
    failed_checks: list[str]
    missing: list[str]  # the reasons, for the officer's tooltip
    missing_checks: list[CheckRead] = Field(default_factory=list)  # the same, with their data
    certificate_id: int | None
    certificate_number: str | None
    certificate_status: str | None
