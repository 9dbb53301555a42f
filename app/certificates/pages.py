"""HTML pages for certificates: the learner's own certificates and the public verification pages
(by code, or by uploading a PDF). Every rule is the certificates service's; routes only render."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, File, Form, Request, UploadFile
from starlette.responses import RedirectResponse, Response

from app.auth.dependencies import (
    CurrentPrincipal,
    SessionDep,
    SettingsDep,
    client_address,
    verify_csrf,
)
from app.certificates import service
from app.certificates.layout import display_code
from app.certificates.schemas import CertificateRead, MyCertificate
from app.core.config import Settings
from app.core.errors import NotFound, PayloadTooLarge, ValidationFailed
from app.core.i18n import gettext_ as _
from app.web.params import RowId
from app.web.routing import Router
from app.web.templating import render

router = Router(tags=["pages"], include_in_schema=False)

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


def throttle(request: Request, settings: Settings) -> None:
    """Verification is public: the same per-address limit as the API's (verify_rate_per_minute)."""
    service.throttle_verify(client_address(request, settings), settings)


@router.get("/sertifikat")
def my_certificates_page(
    request: Request, db: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
) -> Response:
    certificates = service.my_certificates(db, principal.user_id, settings)
    return render(
        request,
        "certificates/mine.html",
        {"certificates": [certificate_view(c) for c in certificates], "labels": labels()},
    )


@router.get("/sertifikat/{certificate_id}")
def my_certificate_page(
    request: Request,
    certificate_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> Response:
    """One certificate of the caller (staff may open anyone's; others get 404, not 403)."""
    certificate = service.certificate_detail(db, certificate_id, principal, settings)
    view = certificate_view(certificate)
    crumbs = [(_("Sertifikat saya"), "/sertifikat"), (view["course_title"], None)]
    return render(
        request,
        "certificates/detail.html",
        {"c": view, "labels": labels(), "breadcrumbs": crumbs},
    )


@router.get("/sertifikat/{certificate_id}/pdf-status")
def my_certificate_pdf_status(
    request: Request,
    certificate_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> Response:
    """The card's PDF action alone (htmx polls it while the PDF is being prepared)."""
    certificate = service.certificate_detail(db, certificate_id, principal, settings)
    return render(request, "certificates/_pdf_action.html", {"c": certificate_view(certificate)})


@router.get("/runs/{run_id}/sertifikat-status")
def run_certificate_status(
    request: Request,
    run_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> Response:
    """A result page's certificate card alone (htmx polls it while the certificate is being
    issued); the caller's own certificate only, empty when the run gave them none."""
    from app.certificates import run_notice

    cert = run_notice.run_certificate(db, run_id, principal, settings)
    return render(request, "certificates/_run_notice.html", {"cert": cert})


def certificate_view(certificate: MyCertificate | CertificateRead) -> dict[str, Any]:
    """Plain data for the learner's certificate card (dashboard, "Sertifikat saya")."""
    return {
        "id": certificate.id,
        "number": certificate.number,
        "code": certificate.code,
        "code_display": display_code(certificate.code),
        "status": certificate.status,
        "course_title": certificate.course_title,
        "jp": certificate.jp,
        "predikat": certificate.predikat,
        "issued_at": certificate.issued_at,
        "verify_url": certificate.verify_url,
        "has_pdf": (
            certificate.has_pdf
            if isinstance(certificate, MyCertificate)
            else certificate.pdf_ready
        ),
        "pdf_url": f"/api/v1/certificates/{certificate.id}/pdf",
        "credential_url": f"/api/v1/certificates/{certificate.id}/credential",
        "credential_jwt_url": f"/api/v1/certificates/{certificate.id}/credential?format=jwt",
    }


# --- public verification -------------------------------------------------------------------------


@router.get("/verify")
def verify_form_page(request: Request) -> Response:
    return render(request, "certificates/verify_form.html", {"values": {}, "errors": {}})


@router.post("/verify", dependencies=[Depends(verify_csrf)])
def verify_submit(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    code: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """A code goes to its page; an uploaded PDF is checked here (exact copy or valid signature)."""
    if file is not None and file.filename:
        data = file.file.read(MAX_VERIFY_PDF_BYTES + 1)
        if len(data) > MAX_VERIFY_PDF_BYTES:
            raise PayloadTooLarge(_("Berkas lebih dari 20 MB; sertifikat asli jauh lebih kecil."))
        if not data:
            raise ValidationFailed(_("Berkas kosong. Pilih berkas PDF sertifikat."), field="file")
        throttle(request, settings)
        result = service.verify_pdf(db, data, settings)
        return render(
            request,
            "certificates/verify_pdf.html",
            {"result": result, "filename": file.filename, "labels": labels()},
        )
    cleaned = service.normalise_code(code)
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
    return RedirectResponse(f"/verify/{quote(cleaned, safe='')}", status_code=303)


@router.get("/verify/{code}")
def verify_page(request: Request, code: str, db: SessionDep, settings: SettingsDep) -> Response:
    """Public: status with colour and words, and the record's snapshot; unknown codes are 404."""
    throttle(request, settings)
    try:
        record = service.verify(db, code)
    except NotFound:
        # Back to the form with what was typed and a message (still a 404 for crawlers).
        return render(
            request,
            "certificates/verify_form.html",
            {
                "values": {"code": code[:80]},
                "errors": {
                    "code": _(
                        "Sertifikat dengan kode ini tidak ditemukan. Periksa kembali kode "
                        "verifikasi (huruf A–Z dan angka 2–7) atau unggah berkas PDF-nya."
                    )
                },
            },
            status_code=404,
        )
    return render(request, "certificates/verify.html", {"v": record, "labels": labels()})
