"""API routes for the jp domain (api-v1.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep
from app.core import clock
from app.jp import service
from app.jp.schemas import JpEntryRead, JpSummaryRead
from app.web.routing import Router

router = Router(prefix="/api/v1", tags=["jp"])


@router.get("/me/jp", response_model=JpSummaryRead)
def my_jp(
    principal: CurrentPrincipal,
    db: SessionDep,
    settings: SettingsDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> JpSummaryRead:
    """The caller's JP for a year (default: this year) against the annual target."""
    result = service.summary(db, principal.user_id, year or clock.today().year, settings)
    return JpSummaryRead(
        year=result.year,
        total_jp=result.total_jp,
        target_jp=result.target_jp,
        entries=[
            JpEntryRead(source=e.source, jp=e.jp, date=e.date, reference=e.reference)
            for e in result.entries
        ],
    )
