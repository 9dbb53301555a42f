"""Certificate template editor (studio pages, training officers and admins) and its small API:
list, edit name + layout JSON with validation errors, background upload, live preview (htmx
re-renders a sample PDF that pdf.js draws), and GET/PUT /api/v1/certificate-templates/{id|default}.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from fastapi import Depends, File, Form, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from app.auth.dependencies import SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.certificates import templates as service
from app.certificates.layout import FIELDS, Element
from app.certificates.models import CertificateTemplate
from app.core.config import get_settings
from app.core.errors import LMSError, NotFound, PayloadTooLarge, ValidationFailed
from app.core.i18n import gettext_ as _
from app.core.numbers import row_id
from app.courses import service as courses_service
from app.web.routing import Router
from app.web.templating import render

# Mounted under the studio router (prefix /studio) by app/certificates/studio.py.
router = Router(prefix="/certificate-templates", tags=["pages"], include_in_schema=False)
api_router = Router(prefix="/certificate-templates", tags=["certificates"])

TEMPLATE_EDITORS = ("training_officer", "admin")
Editor = Annotated[Principal, Depends(require_roles(*TEMPLATE_EDITORS))]
PAGE = "certificates/template_editor.html"


def _notice(key: str | None) -> str | None:
    return {
        "saved": _("Templat disimpan; sertifikat berikutnya memakai versi baru."),
        "background": _("Gambar latar disimpan."),
        "background_removed": _("Gambar latar dihapus; bingkai bawaan dipakai."),
        "created": _("Templat khusus kursus dibuat dari templat institusi."),
        "deleted": _("Templat khusus kursus dihapus; kursus memakai templat institusi."),
    }.get(key or "")


def _resolve(db: Session, ref: str) -> CertificateTemplate:
    """`default` (the institution template, made on first use) or a numeric id."""
    if ref == "default":
        template = service.institution_template(db, create=True)
        assert template is not None
        return template
    template_id = row_id(ref)
    if template_id is None:
        raise NotFound("Templat sertifikat tidak ditemukan.", code="template_not_found")
    return service.get_template(db, template_id)


def _course_title(db: Session, course_id: int | None) -> str | None:
    if course_id is None:
        return None
    try:
        course = courses_service.course_content(db, course_id)
    except NotFound:
        return None
    return f"{course.code} — {course.title}"


def _field_reference() -> list[tuple[str, str]]:
    return sorted(FIELDS.items())


def _element_keys() -> list[str]:
    return list(Element.model_fields)


def _editor(
    request: Request,
    db: Session,
    template: CertificateTemplate,
    *,
    layout_text: str | None = None,
    name: str | None = None,
    signer: tuple[str, str, str] | None = None,
    error: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        PAGE,
        {
            "view": "edit",
            "template": service.info(template),
            "course_title": _course_title(db, template.course_id),
            "layout_text": layout_text if layout_text is not None else template.layout_json,
            "name": name if name is not None else template.name,
            "signer": dict(
                zip(
                    ("name", "nip", "jabatan"),
                    signer
                    or (
                        template.signer_name or "",
                        template.signer_nip or "",
                        template.signer_jabatan or "",
                    ),
                    strict=True,
                )
            ),
            "signer_default": service.signer_for(None, get_settings()),
            "error": error,
            "errors": errors or [],
            "notice": _notice(notice),
            "fields": _field_reference(),
            "element_keys": _element_keys(),
        },
        status_code=status_code,
    )


def _errors_of(exc: LMSError) -> list[dict[str, Any]]:
    if isinstance(exc, ValidationFailed) and exc.errors:
        return exc.errors
    return [{"field": getattr(exc, "field", None) or "", "message": exc.detail}]


@router.get("")
def list_page(
    request: Request, db: SessionDep, _editor_: Editor, notice: str | None = None
) -> Response:
    default = service.institution_template(db, create=True)
    assert default is not None
    rows = [
        {"info": service.info(t), "course": _course_title(db, t.course_id)}
        for t in service.list_templates(db)
    ]
    return render(
        request,
        PAGE,
        {"view": "list", "rows": rows, "default_id": default.id, "notice": _notice(notice)},
    )


@router.post("")
def create_course_template(
    request: Request,
    db: SessionDep,
    principal: Editor,
    course_id: Annotated[str, Form()] = "",
) -> Response:
    """A course override starts as a copy of the institution template."""
    try:
        cid = row_id(course_id)
        if cid is None:
            raise ValidationFailed(_("Isi ID kursus (angka)."), field="course_id")
        courses_service.course_content(db, cid)
        existing = service.course_template(db, cid)
        if existing is not None:
            return RedirectResponse(f"/studio/certificate-templates/{existing.id}", status_code=303)
        default = service.institution_template(db, create=True)
        assert default is not None
        template = service.save_template(
            db,
            template_id=None,
            course_id=cid,
            name=_("Templat kursus"),
            layout_text=default.layout_json,
            by_id=principal.user_id,
        )
        if default.background_key:
            template.background_key = default.background_key
            template.background_sha256 = default.background_sha256
    except LMSError as exc:
        rows = [
            {"info": service.info(t), "course": _course_title(db, t.course_id)}
            for t in service.list_templates(db)
        ]
        default = service.institution_template(db, create=True)
        assert default is not None
        return render(
            request,
            PAGE,
            {"view": "list", "rows": rows, "default_id": default.id, "error": exc.detail},
            status_code=exc.status_code,
        )
    return RedirectResponse(
        f"/studio/certificate-templates/{template.id}?notice=created", status_code=303
    )


@router.get("/{ref}")
def edit_page(
    request: Request, ref: str, db: SessionDep, _editor_: Editor, notice: str | None = None
) -> Response:
    return _editor(request, db, _resolve(db, ref), notice=notice)


@router.post("/{ref}")
def save_page(
    request: Request,
    ref: str,
    db: SessionDep,
    principal: Editor,
    name: Annotated[str, Form()] = "",
    layout_json: Annotated[str, Form()] = "",
    signer_name: Annotated[str, Form()] = "",
    signer_nip: Annotated[str, Form()] = "",
    signer_jabatan: Annotated[str, Form()] = "",
) -> Response:
    template = _resolve(db, ref)
    signer = (signer_name, signer_nip, signer_jabatan)
    try:
        service.save_template(
            db,
            template_id=template.id,
            course_id=template.course_id,
            name=name,
            layout_text=layout_json,
            by_id=principal.user_id,
            signer=signer,
        )
    except LMSError as exc:
        db.rollback()
        template = _resolve(db, ref)
        return _editor(
            request,
            db,
            template,
            layout_text=layout_json,
            name=name,
            signer=signer,
            error=exc.detail,
            errors=_errors_of(exc),
            status_code=422,
        )
    return RedirectResponse(
        f"/studio/certificate-templates/{template.id}?notice=saved", status_code=303
    )


@router.post("/{ref}/preview")
def preview_fragment(
    request: Request,
    ref: str,
    db: SessionDep,
    settings: SettingsDep,
    _editor_: Editor,
    layout_json: Annotated[str, Form()] = "",
) -> Response:
    """htmx: validate the unsaved layout and answer a preview (PDF as base64 for pdf.js)."""
    template = _resolve(db, ref)
    context: dict[str, Any] = {"view": "preview", "template": service.info(template)}
    try:
        data = service.preview_pdf(db, template, settings, layout_text=layout_json)
        context["pdf_base64"] = base64.b64encode(data).decode("ascii")
    except LMSError as exc:
        context["error"] = exc.detail
        context["errors"] = _errors_of(exc)
    return render(request, PAGE, context)


@router.get("/{ref}/preview.pdf")
def preview_pdf(ref: str, db: SessionDep, settings: SettingsDep, _editor_: Editor) -> Response:
    """The saved template with sample data (opens in the browser's PDF viewer)."""
    template = _resolve(db, ref)
    data = service.preview_pdf(db, template, settings)
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": 'inline; filename="pratinjau-sertifikat.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/{ref}/background")
async def upload_background(
    request: Request,
    ref: str,
    db: SessionDep,
    settings: SettingsDep,
    principal: Editor,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    template = _resolve(db, ref)
    try:
        if file is None or not file.filename:
            raise ValidationFailed(_("Pilih berkas gambar PNG atau JPEG."), field="background")
        data = await file.read(settings.cert_background_max_bytes + 1)
        if len(data) > settings.cert_background_max_bytes:
            raise PayloadTooLarge(
                _("Gambar latar terlalu besar (maks. %(mb)s MB).")
                % {"mb": settings.cert_background_max_bytes // (1024 * 1024)},
                max_bytes=settings.cert_background_max_bytes,
            )
        service.set_background(db, template, data, settings, by_id=principal.user_id)
    except LMSError as exc:
        db.rollback()
        template = _resolve(db, ref)
        return _editor(
            request,
            db,
            template,
            error=exc.detail,
            errors=_errors_of(exc),
            status_code=exc.status_code,
        )
    return RedirectResponse(
        f"/studio/certificate-templates/{template.id}?notice=background", status_code=303
    )


@router.post("/{ref}/background/delete")
def delete_background(request: Request, ref: str, db: SessionDep, principal: Editor) -> Response:
    template = _resolve(db, ref)
    service.remove_background(db, template, by_id=principal.user_id)
    return RedirectResponse(
        f"/studio/certificate-templates/{template.id}?notice=background_removed", status_code=303
    )


@router.post("/{ref}/delete")
def delete_page(request: Request, ref: str, db: SessionDep, _editor_: Editor) -> Response:
    template = _resolve(db, ref)
    service.delete_template(db, template.id)
    return RedirectResponse("/studio/certificate-templates?notice=deleted", status_code=303)


# --- API ----------------------------------------------------------------------------------


class TemplateRead(BaseModel):
    id: int
    course_id: int | None
    name: str
    version: int
    layout: dict[str, Any]
    has_background: bool
    background_sha256: str | None
    updated_at: str


class TemplateUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=255)
    layout: dict[str, Any]


def _read(template: CertificateTemplate) -> TemplateRead:
    info = service.info(template)
    return TemplateRead(
        id=info.id,
        course_id=info.course_id,
        name=info.name,
        version=info.version,
        layout=json.loads(info.layout_json),
        has_background=info.has_background,
        background_sha256=info.background_sha256,
        updated_at=info.updated_at,
    )


@api_router.get("/{ref}", response_model=TemplateRead)
def api_get(ref: str, db: SessionDep, _editor_: Editor) -> TemplateRead:
    """A certificate template (`default` = the institution's)."""
    return _read(_resolve(db, ref))


@api_router.put("/{ref}", response_model=TemplateRead)
def api_put(ref: str, body: TemplateUpdate, db: SessionDep, principal: Editor) -> TemplateRead:
    """Replace the layout (validated; 422 names each bad element) and bump the version."""
    template = _resolve(db, ref)
    template = service.save_template(
        db,
        template_id=template.id,
        course_id=template.course_id,
        name=body.name if body.name is not None else template.name,
        layout_text=json.dumps(body.layout),
        by_id=principal.user_id,
    )
    return _read(template)
