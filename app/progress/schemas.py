"""Pydantic shapes for progress reports (api-v1.md, "Progress, completion, JP")."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.certificates.schemas import IssuedNow


class ProgressEvent(BaseModel):
    position_seconds: float | None = Field(default=None, ge=0, le=100 * 3600)
    duration_seconds: float | None = Field(default=None, gt=0, le=100 * 3600)
    event: Literal["heartbeat", "viewed", "ended"] = "heartbeat"
    # Seconds the player was playing / the page visible since its previous report (optional): the
    # server credits at most this, and never more than the wall-clock time in between.
    active_seconds: float | None = Field(default=None, ge=0, le=24 * 3600)


class ProgressRead(BaseModel):
    status: Literal["not_started", "in_progress", "completed"]
    percent: int
    position_seconds: float = 0.0
    # The certificate this event issued (the last activity); its PDF is being prepared.
    certificate: IssuedNow | None = None
