"""HTML pages of the gradebook: the run's table (staff: every learner, a learner: their own
row), its XLSX export and the override form. Rules are the service's."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep
from app.auth.service import Principal
from app.core.errors import LMSError
from app.core.i18n import format_number
from app.core.i18n import gettext_ as _
from app.gradebook import router as api
from app.gradebook import service
from app.gradebook.schemas import Gradebook, OverrideIn
from app.web.params import RowId
from app.web.routing import Router
from app.web.templating import render

router = Router(include_in_schema=False)


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form as plain strings (async: Starlette parses it; CSRF was checked already)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


FormFields = Annotated[dict[str, str], Depends(form_fields)]


def _number(value: float | bool | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return _("Ya") if value else _("Tidak")
    return format_number(value, 2)


def _page(
    request: Request,
    book: Gradebook,
    staff: bool,
    *,
    editing: int | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "gradebook/gradebook.html",
        {
            "book": book,
            "staff": staff,
            "fmt": _number,
            "editing": editing,
            "values": values or {},
            "errors": errors or {},
            "notice": {
                "saved": _("Nilai akhir disimpan."),
                "cleared": _("Nilai akhir kembali ke nilai terhitung."),
            }.get(request.query_params.get("notice", "")),
        },
        status_code=status_code,
    )


def _book(request: Request, db: SessionDep, settings: SettingsDep, run_id: int,
          principal: Principal) -> tuple[Gradebook, bool]:  # fmt: skip
    book = service.gradebook(db, run_id, principal, settings)
    return book, service.can_grade(db, principal, run_id)


@router.get("/runs/{run_id}/gradebook")
def gradebook_page(
    request: Request,
    run_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    edit: RowId | None = None,
) -> Response:
    """The gradebook table; `?edit=<user id>` opens the override form of that row (staff)."""
    book, staff = _book(request, db, settings, run_id, principal)
    shown = {r.user_id for r in book.rows}
    editing = edit if staff and edit is not None and edit in shown else None
    values: dict[str, str] = {}
    if editing is not None:
        row = next(r for r in book.rows if r.user_id == editing)
        if row.override is not None:
            values = {"score": _number(row.override.score), "reason": row.override.reason}
    return _page(request, book, staff, editing=editing, values=values)


@router.get("/runs/{run_id}/gradebook.xlsx")
def gradebook_xlsx(
    run_id: RowId, db: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
) -> Response:
    return api.xlsx_response(service.gradebook(db, run_id, principal, settings))


def _back(run_id: int, user_id: int, notice: str) -> Response:
    return RedirectResponse(
        f"/runs/{run_id}/gradebook?notice={notice}#row-{user_id}", status_code=303
    )


@router.post("/runs/{run_id}/gradebook/{user_id}/override")
def save_override_page(
    request: Request,
    run_id: RowId,
    user_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    fields: FormFields,
) -> Response:
    """Save (or, with action=clear, remove) a learner's final score set by hand."""
    errors: dict[str, str] = {}
    try:
        if fields.get("action") == "clear":
            service.clear_override(db, run_id, user_id, principal, settings)
            return _back(run_id, user_id, "cleared")
        data = OverrideIn(score=fields.get("score", "").strip().replace(",", "."),
                          reason=fields.get("reason", ""))  # fmt: skip
        service.set_override(db, run_id, user_id, data, principal, settings)
        return _back(run_id, user_id, "saved")
    except ValidationError as exc:
        for e in exc.errors():
            name = str(e["loc"][0]) if e["loc"] else "score"
            errors.setdefault(name, _("Isi nilai 0 sampai 100.") if name == "score"
                              else _("Tuliskan alasan perubahan nilai (3–500 karakter)."))  # fmt: skip
    except LMSError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        errors["form"] = exc.detail
    db.rollback()
    book, staff = _book(request, db, settings, run_id, principal)
    return _page(request, book, staff, editing=user_id, values=fields, errors=errors,
                 status_code=422)  # fmt: skip
