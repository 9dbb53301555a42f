"""The audit log page for admins: filters, pages of entries, XLSX export (itself audited)."""

from __future__ import annotations

import math
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request
from starlette.responses import Response

from app.accounts.constants import Role
from app.audit import filters, service
from app.auth.dependencies import SessionDep, require_roles
from app.auth.service import Principal
from app.core import clock
from app.core.errors import LMSError
from app.web.routing import Router
from app.web.templating import render

router = Router(tags=["pages"], include_in_schema=False)

Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
PER_PAGE = 50
MAX_PAGE = 100_000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filters(request: Request) -> tuple[service.Filters, dict[str, str], str | None]:
    raw = {k: (request.query_params.get(k) or "")[:100] for k in
           ("action", "actor", "target_type", "target_id", "date_from", "date_to")}  # fmt: skip
    try:
        return filters.parse(**raw), raw, None
    except LMSError as exc:  # a bad date: show the message, list without the date filters
        raw_ok = dict(raw, date_from="", date_to="")
        return filters.parse(**raw_ok), raw, exc.detail


@router.get("/studio/audit")
def audit_page(request: Request, db: SessionDep, _admin: Admin, page: int = 1) -> Response:
    chosen, raw, error = _filters(request)
    page = min(max(page, 1), MAX_PAGE)
    result = service.listing(db, chosen, page=page, per_page=PER_PAGE)
    query = urlencode({k: v for k, v in raw.items() if v})
    return render(
        request,
        "audit/list.html",
        {
            "result": result,
            "filters": raw,
            "active": chosen.active(),
            "error": error,
            "query": query,
            "page": page,
            "pages": max(1, math.ceil(result.total / PER_PAGE)),
            "actions": sorted(service.ACTIONS),
            "action_label": service.action_label,
            "tz": clock.tz_label(),
        },
        status_code=422 if error else 200,
    )


@router.get("/studio/audit/export.xlsx")
def audit_export(request: Request, db: SessionDep, _admin: Admin) -> Response:
    chosen, _raw, error = _filters(request)
    if error:
        chosen = filters.parse(
            **{
                k: request.query_params.get(k)
                for k in ("action", "actor", "target_type", "target_id", "date_from", "date_to")
            }
        )  # fmt: skip  (raises the 422)
    data, _rows = service.export_xlsx(db, chosen)
    stamp = clock.now_local().strftime("%Y%m%d-%H%M")
    return Response(data, media_type=XLSX_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="log-audit-{stamp}.xlsx"'})  # fmt: skip
