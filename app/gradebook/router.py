"""API routes of the gradebook (api-v1: GET /api/v1/runs/{run_id}/gradebook; overrides and the
XLSX export added)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query
from starlette.responses import Response

from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep
from app.gradebook import exports, service
from app.gradebook.schemas import Gradebook, OverrideIn, OverrideRead
from app.web.params import RowId
from app.web.routing import Router

router = Router(prefix="/api/v1", tags=["gradebook"])


def xlsx_response(book: Gradebook) -> Response:
    name = f"buku-nilai-angkatan-{book.run_id}.xlsx"
    return Response(
        exports.gradebook_xlsx(book),
        media_type=exports.XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/runs/{run_id}/gradebook", response_model=Gradebook)
def get_gradebook(
    run_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    format: Annotated[Literal["json", "xlsx"], Query()] = "json",
) -> Gradebook | Response:
    """Every graded item with its weight and each learner's grades, final score and predikat:
    run staff who grade see every row, a learner of the run only their own, others 403."""
    book = service.gradebook(db, run_id, principal, settings)
    return xlsx_response(book) if format == "xlsx" else book


@router.put("/runs/{run_id}/gradebook/overrides/{user_id}", response_model=OverrideRead)
def put_override(
    run_id: RowId,
    user_id: RowId,
    data: OverrideIn,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> OverrideRead:
    """Set a learner's final score by hand with a reason (run staff who grade; audited)."""
    return service.set_override(db, run_id, user_id, data, principal, settings)


@router.delete("/runs/{run_id}/gradebook/overrides/{user_id}", status_code=204)
def delete_override(
    run_id: RowId, user_id: RowId, db: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
) -> Response:
    """Back to the computed final score (audited)."""
    service.clear_override(db, run_id, user_id, principal, settings)
    return Response(status_code=204)
