"""HTML pages for certificates: the learner's own certificates and the public verification pages
(by code, or by uploading a PDF). Every rule is the certificates service's; routes only render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from starlette.responses import RedirectResponse, Response

from app.auth.dependencies import (
    CurrentPrincipal,
    SessionDep,
    SettingsDep,
    client_address,
    verify_csrf,
)
from app.certificates import service
from app.core.errors import NotFound, PayloadTooLarge
from app.core.i18n import gettext_ as _
from app.web.templating import render

router = APIRouter(tags=["pages"], include_in_schema=False)

MAX_VERIFY_PDF_BYTES = 20 * 1024 * 1024  # a certificate PDF is well under 1 MB


def status_labels() -> dict[str, str]:
    """What each certificate status means to a reader of the verification page."""
    return {
        "valid": _("Sah dan berlaku"),
        "revoked": _("Dicabut"),
        "superseded": _("Digantikan oleh versi yang lebih baru"),
        "expired": _("Masa berlaku habis"),
    }


def status_explanations() -> dict[str, str]:
    return {
        "valid": _("Sertifikat ini diterbitkan oleh instansi kami dan masih berlaku."),
        "revoked": _("Sertifikat ini telah dicabut oleh penerbit dan tidak berlaku lagi."),
        "superseded": _(
            "Sertifikat ini telah diterbitkan ulang; versi ini tidak berlaku. Mintalah versi "
            "terbaru kepada pemegangnya."
        ),
        "expired": _("Sertifikat ini asli tetapi masa berlakunya telah habis."),
    }


def labels() -> dict[str, dict[str, str]]:
    return {"status": status_labels(), "explain": status_explanations()}


def normalise_code(code: str) -> str:
    """A code as typed or scanned: spaces dropped; the service accepts grouped or plain forms."""
    return "".join(code.split())


@router.get("/sertifikat")
def my_certificates_page(
    request: Request, db: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
) -> Response:
    certificates = service.my_certificates(db, principal.user_id)
    return render(
        request,
        "certificates/mine.html",
        {"certificates": [service_view(c, settings) for c in certificates], "labels": labels()},
    )


@router.get("/sertifikat/{certificate_id}")
def my_certificate_page(
    request: Request,
    certificate_id: int,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> Response:
    """One certificate of the caller (staff may open anyone's; others get 404, not 403)."""
    certificate = service.get_certificate(db, certificate_id, principal)
    return render(
        request,
        "certificates/detail.html",
        {"c": service_view(certificate, settings), "labels": labels()},
    )


def service_view(certificate: Any, settings: Any) -> dict[str, Any]:
    """Plain data for templates from the service's certificate read model."""
    code = str(certificate.code)
    return {
        "id": certificate.id,
        "number": certificate.number,
        "code": code,
        "code_display": getattr(certificate, "code_display", None) or code,
        "status": certificate.status,
        "course_title": certificate.course_title,
        "jp": certificate.jp,
        "predikat": getattr(certificate, "predikat", None),
        "score": getattr(certificate, "score", None),
        "issued_at": certificate.issued_at,
        "verify_url": getattr(certificate, "verify_url", None)
        or f"{settings.base_url.rstrip('/')}/verify/{code}",
        "pdf_url": f"/api/v1/certificates/{certificate.id}/pdf",
        "credential_url": f"/api/v1/certificates/{certificate.id}/credential",
    }


# --- public verification -------------------------------------------------------------------------


@router.get("/verify")
def verify_form_page(request: Request) -> Response:
    return render(request, "certificates/verify_form.html", {"values": {}, "errors": {}})


@router.post("/verify", dependencies=[Depends(verify_csrf)])
async def verify_submit(
    request: Request,
    code: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """A code goes to its page; an uploaded PDF is checked here (exact copy or valid signature)."""
    if file is not None and file.filename:
        data = await file.read(MAX_VERIFY_PDF_BYTES + 1)
        if len(data) > MAX_VERIFY_PDF_BYTES:
            raise PayloadTooLarge(_("Berkas lebih dari 20 MB; sertifikat asli jauh lebih kecil."))
        return _pdf_result(request, data, file.filename)
    cleaned = normalise_code(code)
    if not cleaned:
        return render(
            request,
            "certificates/verify_form.html",
            {
                "values": {"code": code},
                "errors": {"code": _("Masukkan kode verifikasi atau pilih berkas PDF.")},
            },
            status_code=422,
        )
    return RedirectResponse(f"/verify/{cleaned}", status_code=303)


def _pdf_result(request: Request, data: bytes, filename: str) -> Response:
    from app.core.db import session_scope
    from app.core.config import get_settings

    settings = get_settings()
    with session_scope() as db:
        service.check_verify_rate(client_address(request, settings), settings)
        result = service.verify_pdf(db, data)
        record = None
        if getattr(result, "code", None):
            try:
                record = service.verify(db, result.code)
            except NotFound:
                record = None
        context = {
            "result": result,
            "record": record,
            "filename": filename,
            "labels": labels(),
        }
        return render(request, "certificates/verify_pdf.html", context)


@router.get("/verify/{code}")
def verify_page(request: Request, code: str, db: SessionDep, settings: SettingsDep) -> Response:
    """Public: status with colour and words, and the record's snapshot; unknown codes are 404."""
    service.check_verify_rate(client_address(request, settings), settings)
    record = service.verify(db, normalise_code(code))
    return render(request, "certificates/verify.html", {"v": record, "labels": labels()})
