"""API of the audit log: GET /api/v1/audit (admin), same filters as the page."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from app.audit import filters, service
from app.audit.schemas import AuditPage
from app.auth.dependencies import AdminPrincipal, SessionDep
from app.web.routing import Router

router = Router(prefix="/api/v1", tags=["audit"])


@router.get("/audit", response_model=AuditPage)
def audit_entries(
    db: SessionDep,
    _admin: AdminPrincipal,
    action: Annotated[
        str | None, Query(max_length=64, description="code or prefix, e.g. auth")
    ] = None,
    actor: Annotated[str | None, Query(max_length=64, description="the actor's NIP")] = None,
    target_type: Annotated[str | None, Query(max_length=40)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    date_from: Annotated[str | None, Query(description="YYYY-MM-DD, institution's day")] = None,
    date_to: Annotated[str | None, Query(description="YYYY-MM-DD, inclusive")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPage:
    """Audit entries, newest first (admin only)."""
    chosen = filters.parse(action=action, actor=actor, target_type=target_type,
                           target_id=target_id, date_from=date_from, date_to=date_to)  # fmt: skip
    return service.listing(db, chosen, page=page, per_page=per_page)
