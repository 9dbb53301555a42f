"""Pydantic shapes for the JP ledger (api-v1.md, "Progress, completion, JP")."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class JpEntryRead(BaseModel):
    source: str
    jp: float
    date: dt.date
    reference: str


class JpSummaryRead(BaseModel):
    year: int
    total_jp: float
    target_jp: float
    entries: list[JpEntryRead]
