"""Pydantic shapes of the targets report (api-v1.md: GET /api/v1/reports/targets) and of its
drill-down; fields beyond the contract are additions, never renames."""

from __future__ import annotations

from pydantic import BaseModel


class OpdTargetRead(BaseModel):
    opd_code: str | None  # None: ASN without an OPD
    opd_name: str | None
    active_asn: int
    participated: int
    participation_percent: float
    jp_compliant: int
    jp_compliance_percent: float
    jp_total: float
    average_jp: float


class FundingTargetRead(BaseModel):
    funding_source: str
    participants: int
    jp: float


class DistributionBucketRead(BaseModel):
    bucket: str  # "0", "0-10", "10-20", "20-40", "40+"
    min_jp: float  # inclusive, except the "0" bucket and the first after it (> 0)
    max_jp: float | None  # exclusive; None: no upper bound
    asn: int
    percent: float


class MonthTrendRead(BaseModel):
    month: int
    jp: float
    participants_cumulative: int
    participation_percent: float


class TargetsReportRead(BaseModel):
    year: int
    active_asn: int
    participated: int
    participation_percent: float
    participation_target_percent: float
    jp_compliant: int
    jp_compliance_percent: float
    jp_target: float
    jp_total: float
    average_jp: float
    by_opd: list[OpdTargetRead]
    by_funding_source: list[FundingTargetRead]
    distribution: list[DistributionBucketRead]
    trend: list[MonthTrendRead]


class BelowTargetRowRead(BaseModel):
    user_id: int
    nip: str
    name: str
    employment: str | None
    opd_code: str | None
    opd_name: str | None
    jp: float
    shortfall: float
    participated: bool
    jpm_percent: float | None
    band: str | None
    gap_count: int | None  # None: no assessment on record
    gap_codes: list[str]


class BelowTargetPageRead(BaseModel):
    year: int
    opd_code: str | None
    jp_target: float
    total: int
    page: int
    per_page: int | None
    items: list[BelowTargetRowRead]
