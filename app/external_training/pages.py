"""HTML pages of external training: the learner's form and list (phone first), and the officer's
verification queue, decision page and record-on-behalf form. Rules are the service's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request
from starlette.datastructures import FormData, UploadFile
from starlette.responses import RedirectResponse, Response

from app.accounts import service as accounts_service
from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.core.config import Settings
from app.core.errors import Conflict, LMSError, NotFound, ValidationFailed
from app.core.i18n import gettext_ as _
from app.courses import service as courses_service
from app.courses.constants import funding_labels
from app.external_training import service
from app.external_training.constants import (
    FUNDING_SOURCES,
    MODES,
    OFFICERS,
    PENDING,
    STATUSES,
    VERIFIED,
)
from app.external_training.schemas import ExternalTrainingRead
from app.web.params import RowId
from app.web.routing import Router
from app.web.templating import render

router = Router(include_in_schema=False)

Officer = Annotated[Principal, Depends(require_roles(*OFFICERS))]
PAGE_SIZE = 25


async def posted_form(request: Request) -> FormData:
    """The posted (multipart) form, parsed once; CSRF was checked from the same parse."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(posted_form)]


def _text_fields(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _upload(form: FormData) -> service.Upload | None:
    """The chosen certificate file; a file input left empty posts a nameless, empty part."""
    file = form.get("file")
    if not isinstance(file, UploadFile) or not (file.filename or file.size):
        return None
    return service.Upload(stream=file.file, filename=file.filename, size=file.size)


def _errors(exc: LMSError) -> dict[str, str]:
    """Messages per form field; a file or decision problem lands on its own field."""
    if isinstance(exc, ValidationFailed) and exc.errors:
        errors: dict[str, str] = {}
        for e in exc.errors:
            errors.setdefault(str(e.get("field") or "form"), str(e["message"]))
        return errors
    return {str(exc.extra.get("field") or "form"): exc.detail}


def labels() -> dict[str, dict[str, str]]:
    return {
        "funding": funding_labels(),
        "mode": service.mode_labels(),
        "status": service.status_labels(),
        "field": service.field_labels(),
    }


def _form_page(
    request: Request,
    *,
    action: str,
    title: str,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    record: ExternalTrainingRead | None = None,
    back: str,
    for_user: dict[str, Any] | None = None,
    ask_nip: bool = False,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "external_training/form.html",
        {
            "action": action,
            "title": title,
            "values": values,
            "errors": errors or {},
            "record": record,
            "back": back,
            "for_user": for_user,
            "ask_nip": ask_nip,
            "funding_sources": FUNDING_SOURCES,
            "modes": MODES,
            "labels": labels(),
            "today": courses_service.today().isoformat(),
            "breadcrumbs": [
                (_("Pelatihan eksternal"), back)
                if back.startswith("/my/")
                else (_("Antrean verifikasi"), back),
                (title, None),
            ],
        },
        status_code=status_code,
    )


def _values_of(record: ExternalTrainingRead) -> dict[str, str]:
    return {
        "name": record.name,
        "organiser": record.organiser,
        "starts_on": record.starts_on.isoformat(),
        "ends_on": record.ends_on.isoformat(),
        "jp": f"{record.jp:g}",
        "certificate_number": record.certificate_number,
        "funding_source": record.funding_source,
        "mode": record.mode,
    }


def _edit_page(
    request: Request,
    record: ExternalTrainingRead,
    *,
    area: str,
    back: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The edit form of a pending record, for its owner (`area` /my/…) or an officer (/studio/…)."""
    return _form_page(
        request, action=f"{area}/{record.id}/edit", title=_("Ubah catatan pelatihan"),
        values=_values_of(record) if values is None else values, errors=errors, record=record,
        back=back, status_code=status_code,
    )  # fmt: skip


def _update_from_form(
    request: Request,
    db: SessionDep,
    settings: Settings,
    principal: Principal,
    form: FormData,
    record_id: int,
    *,
    area: str,
    back: str,
    done: str,
    reraise: tuple[type[LMSError], ...] = (),
) -> Response:
    """Save a corrected pending record, or show the edit form again with what was refused."""
    record = service.read(db, service.get_for(db, record_id, principal), principal)
    values = _text_fields(form)
    try:
        service.update(
            db, record_id, raw=values, upload=_upload(form), principal=principal,
            settings=settings,
        )  # fmt: skip
    except LMSError as exc:
        if isinstance(exc, reraise):
            raise
        db.rollback()
        return _edit_page(
            request, record, area=area, back=back, values=values, errors=_errors(exc),
            status_code=exc.status_code,
        )  # fmt: skip
    return RedirectResponse(done, status_code=303)


# --- learner ------------------------------------------------------------------------------------


@router.get("/my/external-trainings")
def my_list(request: Request, db: SessionDep, principal: CurrentPrincipal) -> Response:
    return render(
        request,
        "external_training/mine.html",
        {
            "records": service.mine(db, principal.user_id),
            "labels": labels(),
            "saved": request.query_params.get("saved"),
        },
    )


@router.get("/my/external-trainings/new")
def new_form(request: Request, principal: CurrentPrincipal) -> Response:
    return _form_page(
        request, action="/my/external-trainings/new", title=_("Catat pelatihan eksternal"),
        values={}, back="/my/external-trainings",
    )  # fmt: skip


@router.post("/my/external-trainings/new")
def create_from_form(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    form: PostedForm,
) -> Response:
    values = _text_fields(form)
    try:
        service.record(
            db, user_id=principal.user_id, raw=values, upload=_upload(form), principal=principal,
            settings=settings,
        )  # fmt: skip
    except LMSError as exc:
        if isinstance(exc, NotFound):
            raise
        db.rollback()
        return _form_page(
            request, action="/my/external-trainings/new", title=_("Catat pelatihan eksternal"),
            values=values, errors=_errors(exc), back="/my/external-trainings",
            status_code=exc.status_code,
        )  # fmt: skip
    return RedirectResponse("/my/external-trainings?saved=created", status_code=303)


@router.get("/my/external-trainings/{record_id}/edit")
def edit_form(
    request: Request, record_id: RowId, db: SessionDep, principal: CurrentPrincipal
) -> Response:
    record = service.read(db, service.get_for(db, record_id, principal), principal)
    if record.status != PENDING:
        return RedirectResponse("/my/external-trainings", status_code=303)
    return _edit_page(request, record, area="/my/external-trainings", back="/my/external-trainings")


@router.post("/my/external-trainings/{record_id}/edit")
def update_from_form(
    request: Request,
    record_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    form: PostedForm,
) -> Response:
    return _update_from_form(
        request, db, settings, principal, form, record_id, area="/my/external-trainings",
        back="/my/external-trainings", done="/my/external-trainings?saved=updated",
        reraise=(NotFound,),
    )  # fmt: skip


@router.post("/my/external-trainings/{record_id}/withdraw")
def withdraw_from_form(record_id: RowId, db: SessionDep, principal: CurrentPrincipal) -> Response:
    service.withdraw(db, record_id, principal)
    return RedirectResponse("/my/external-trainings?saved=withdrawn", status_code=303)


# --- officer ------------------------------------------------------------------------------------


@router.get("/studio/external-trainings")
def queue_page(
    request: Request,
    db: SessionDep,
    principal: Officer,
    status: str = "pending",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    wanted = status if status in STATUSES else None
    result = service.queue(
        db, status=wanted, user_id=None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
        search=q,
    )  # fmt: skip
    return render(
        request,
        "external_training/queue.html",
        {
            "result": result,
            "status": wanted or "",
            "q": q,
            "statuses": STATUSES,
            "page": page,
            "pages": max(1, -(-result.total // PAGE_SIZE)),
            "labels": labels(),
            "done": request.query_params.get("done"),
        },
    )


def _officer_new_page(
    request: Request,
    *,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return _form_page(
        request, action="/studio/external-trainings/new",
        title=_("Catat pelatihan eksternal untuk ASN"), values=values, errors=errors,
        back="/studio/external-trainings", ask_nip=True, status_code=status_code,
    )  # fmt: skip


@router.get("/studio/external-trainings/new")
def officer_new_form(request: Request, principal: Officer) -> Response:
    return _officer_new_page(request, values={})


@router.post("/studio/external-trainings/new")
def officer_create(
    request: Request, db: SessionDep, settings: SettingsDep, principal: Officer, form: PostedForm
) -> Response:
    values = _text_fields(form)
    nip = values.get("nip", "").strip()
    user = accounts_service.find_login_user(db, nip) if nip else None
    if user is None:
        message = (
            _("NIP wajib diisi.")
            if not nip
            else _("Tidak ada ASN dengan NIP %(nip)s.") % {"nip": nip}
        )
        return _officer_new_page(request, values=values, errors={"nip": message}, status_code=422)
    try:
        row = service.record(
            db, user_id=user.id, raw=values, upload=_upload(form), principal=principal,
            settings=settings,
        )  # fmt: skip
    except LMSError as exc:
        db.rollback()
        return _officer_new_page(
            request, values=values, errors=_errors(exc), status_code=exc.status_code
        )
    return RedirectResponse(f"/studio/external-trainings/{row.id}?done=created", status_code=303)


def _detail_page(
    request: Request,
    db: SessionDep,
    record_id: int,
    principal: Principal,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    record = service.read(db, service.get_for(db, record_id, principal), principal)
    return render(
        request,
        "external_training/detail.html",
        {
            "r": record,
            "labels": labels(),
            "errors": errors or {},
            "values": values or {},
            "pending": record.status == PENDING,
            "verified": record.status == VERIFIED,
            "done": request.query_params.get("done"),
            "breadcrumbs": [
                (_("Antrean verifikasi"), "/studio/external-trainings"),
                (record.name, None),
            ],
        },
        status_code=status_code,
    )


@router.get("/studio/external-trainings/{record_id}")
def detail_page(request: Request, record_id: RowId, db: SessionDep, principal: Officer) -> Response:
    return _detail_page(request, db, record_id, principal)


@router.get("/studio/external-trainings/{record_id}/edit")
def officer_edit_form(
    request: Request, record_id: RowId, db: SessionDep, principal: Officer
) -> Response:
    """An officer corrects a pending record (a typo in the JP or the number) before deciding."""
    record = service.read(db, service.get_for(db, record_id, principal), principal)
    if record.status != PENDING:
        return RedirectResponse(f"/studio/external-trainings/{record_id}", status_code=303)
    return _edit_page(
        request, record, area="/studio/external-trainings",
        back=f"/studio/external-trainings/{record_id}",
    )  # fmt: skip


@router.post("/studio/external-trainings/{record_id}/edit")
def officer_update(
    request: Request,
    record_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: Officer,
    form: PostedForm,
) -> Response:
    return _update_from_form(
        request, db, settings, principal, form, record_id, area="/studio/external-trainings",
        back=f"/studio/external-trainings/{record_id}",
        done=f"/studio/external-trainings/{record_id}?done=updated",
    )  # fmt: skip


@router.post("/studio/external-trainings/{record_id}/decide")
def decide_from_form(
    request: Request, record_id: RowId, db: SessionDep, principal: Officer, form: PostedForm
) -> Response:
    values = _text_fields(form)
    decision = values.get("decision")
    if decision not in ("verify", "reject"):
        return _detail_page(request, db, record_id, principal, status_code=422,
                            errors={"form": _("Pilih verifikasi atau tolak.")})  # fmt: skip
    try:
        service.decide(
            db, record_id, principal, approved=decision == "verify", reason=values.get("reason")
        )
    except (ValidationFailed, Conflict) as exc:
        db.rollback()
        return _detail_page(request, db, record_id, principal, errors=_errors(exc),
                            values=values, status_code=exc.status_code)  # fmt: skip
    done = "verified" if decision == "verify" else "rejected"
    return RedirectResponse(f"/studio/external-trainings?done={done}", status_code=303)


@router.post("/studio/external-trainings/{record_id}/revoke")
def revoke_from_form(
    request: Request, record_id: RowId, db: SessionDep, principal: Officer, form: PostedForm
) -> Response:
    values = _text_fields(form)
    try:
        service.revoke(db, record_id, principal, reason=values.get("revoke_reason", ""))
    except (ValidationFailed, Conflict) as exc:
        db.rollback()
        errors = {"revoke_reason": exc.detail}
        return _detail_page(request, db, record_id, principal, errors=errors, values=values,
                            status_code=exc.status_code)  # fmt: skip
    return RedirectResponse(f"/studio/external-trainings/{record_id}?done=revoked", status_code=303)
