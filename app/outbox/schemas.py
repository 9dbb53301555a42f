"""Pydantic shapes for the outbox (officers' list)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field


class OutboxItemRead(BaseModel):
    id: int
    topic: str
    topic_label: str
    label: str | None
    state: str
    attempts: int
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    sent_at: dt.datetime | None
    last_error: str | None


class OutboxPage(BaseModel):
    total: int
    items: list[OutboxItemRead]


class RetryIn(BaseModel):
    ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(default=[], max_length=1000)
    all_dead: bool = False
    topic: str | None = Field(default=None, max_length=64, pattern=r"^[^\x00]*$")


class RetryOut(BaseModel):
    retried: int
