"""API routes for completion, certification rules, certificates, verification, bulk jobs and
exports (api-v1.md "Progress, completion, JP" and "Certificates and verification")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import Depends, File, Query, Request, UploadFile
from starlette.responses import JSONResponse, Response, StreamingResponse

from app.audit import service as audit
from app.auth.dependencies import (
    CurrentPrincipal,
    SessionDep,
    SettingsDep,
    client_address,
    require_roles,
)
from app.auth.service import Principal
from app.certificates import credential, exports, service
from app.certificates.schemas import (
    CertificatePage,
    CertificateRead,
    EligibilityRead,
    IssueRequest,
    IssueResult,
    JobRead,
    MyCertificate,
    MyCourse,
    ParticipantRow,
    ReissueRequest,
    RevokeRequest,
    RulesRead,
    RulesUpdate,
    VerifyPdfRead,
    VerifyRead,
)
from app.core import clock
from app.core.config import Settings
from app.core.errors import NotFound, PayloadTooLarge, ValidationFailed
from app.courses import service as courses_service
from app.storage import content_disposition
from app.web.params import PageNumber, RowId
from app.web.routing import Router

router = Router(prefix="/api/v1", tags=["certificates"])

Staff = Annotated[Principal, Depends(require_roles(*service.STAFF_ROLES))]
RuleEditor = Annotated[Principal, Depends(require_roles(*service.RULE_EDITORS))]
MAX_VERIFY_PDF_BYTES = 20 * 1024 * 1024


def _throttle(request: Request, settings: Settings) -> None:
    service.throttle_verify(client_address(request, settings), settings)


# --- progress, completion -------------------------------------------------------------------------


@router.get("/me/courses", response_model=list[MyCourse])
def my_courses(
    principal: CurrentPrincipal, db: SessionDep, settings: SettingsDep
) -> list[MyCourse]:
    """The caller's runs with progress, completion, certificate and what is still missing."""
    return service.my_courses(db, principal.user_id, settings)


@router.get("/runs/{run_id}/eligibility/{user_id}", response_model=EligibilityRead)
def run_eligibility(
    run_id: RowId, user_id: RowId, principal: CurrentPrincipal, db: SessionDep, settings: SettingsDep
) -> EligibilityRead:
    """The named checks for a learner (owner or staff): each passed or failed with a reason."""
    result = service.eligibility_for(db, run_id, user_id, principal, settings)
    return EligibilityRead(
        eligible=result.eligible, completed=result.completed,
        checks=service.check_reads(result.checks),
    )  # fmt: skip


@router.get("/courses/{course_id}/certification-rules", response_model=RulesRead)
def get_rules(course_id: RowId, _p: RuleEditor, db: SessionDep, settings: SettingsDep) -> RulesRead:
    """The course's effective rules; `overridden` lists what the course sets itself."""
    courses_service.course_content(db, course_id)
    return service.rules_read(service.rules_for(db, course_id, settings))


@router.put("/courses/{course_id}/certification-rules", response_model=RulesRead)
def put_rules(
    course_id: RowId, data: RulesUpdate, _p: RuleEditor, db: SessionDep, settings: SettingsDep
) -> RulesRead:
    """Change rules (null: back to the institution's setting); completion is recomputed."""
    return service.rules_read(service.update_rules(db, course_id, data, settings))


# --- issuing -------------------------------------------------------------------------------------


@router.post("/runs/{run_id}/certificates", response_model=IssueResult)
def issue_certificates(
    run_id: RowId,
    principal: Staff,
    db: SessionDep,
    settings: SettingsDep,
    data: IssueRequest | None = None,
) -> IssueResult | JSONResponse:
    """Issue for everyone eligible (or the chosen users): 200 with the certificates when done
    inline, 202 with `job_id` when it runs in the background (GET /api/v1/jobs/{job_id})."""
    result = service.issue(db, run_id, data.user_ids if data else None, principal.user_id, settings)
    if result.job_id:
        return JSONResponse(result.model_dump(mode="json"), status_code=202)
    return result


@router.get("/jobs/{job_id}", response_model=JobRead)
def job(job_id: str, _p: Staff, db: SessionDep) -> JobRead:
    """A bulk issue's progress and per-user results."""
    return service.job_status(db, job_id)


@router.get("/runs/{run_id}/monitor", response_model=list[ParticipantRow])
def run_monitor(
    run_id: RowId,
    _p: Staff,
    db: SessionDep,
    settings: SettingsDep,
    format: Literal["json", "xlsx"] = "json",
) -> list[ParticipantRow] | Response:
    """Every participant's progress, time, completion, eligibility and certificate."""
    rows = service.run_monitor(db, run_id, settings)
    if format == "xlsx":
        audit.exported(db, "run_monitor", rows=len(rows), fmt="xlsx", target=("run", run_id))
        return Response(
            exports.monitor_xlsx(rows), media_type=exports.XLSX_TYPE,
            headers={"Content-Disposition": f'attachment; filename="monitor-angkatan-{run_id}.xlsx"'},
        )  # fmt: skip
    return rows


@router.get("/runs/{run_id}/certificates.zip")
def run_certificates_zip(
    run_id: RowId, _p: Staff, db: SessionDep, settings: SettingsDep
) -> StreamingResponse:
    """Every valid certificate PDF of a run in one ZIP, streamed."""
    from app.storage import get_storage

    storage = get_storage(settings)

    def chunks(key: str) -> Iterator[bytes]:  # a generator: the object is opened in its turn
        yield from storage.open_range(key)

    entries = [
        (exports.zip_name(number, holder), chunks(key))
        for number, key, holder in service.run_pdf_keys(db, run_id)
    ]
    audit.exported(db, "run_certificates_zip", rows=len(entries), fmt="zip", target=("run", run_id))
    return StreamingResponse(
        exports.zip_stream(entries), media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="sertifikat-angkatan-{run_id}.zip"'},
    )  # fmt: skip


# --- certificates --------------------------------------------------------------------------------


@router.get("/me/certificates", response_model=list[MyCertificate])
def my_certificates(
    principal: CurrentPrincipal, db: SessionDep, settings: SettingsDep
) -> list[MyCertificate]:
    return service.my_certificates(db, principal.user_id, settings)


@router.get("/certificates", response_model=CertificatePage)
def list_certificates(
    _p: Staff,
    db: SessionDep,
    settings: SettingsDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    run_id: RowId | None = None,
    course_id: RowId | None = None,
    user_id: RowId | None = None,
    status: Literal["valid", "revoked", "superseded"] | None = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    opd: Annotated[str | None, Query(max_length=100)] = None,
    page: PageNumber = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
    format: Literal["json", "xlsx"] = "json",
) -> CertificatePage | Response:
    """Search (name, NIP, number, course) and filter certificates; `format=xlsx` exports every
    match."""
    filters = service.CertificateFilter(
        q=q, run_id=run_id, course_id=course_id, user_id=user_id, status=status, year=year,
        opd=opd, page=page, per_page=None if format == "xlsx" else per_page,
    )  # fmt: skip
    result = service.list_certificates(db, filters, settings)
    if format == "xlsx":
        audit.exported(db, "certificates", rows=len(result.items), fmt="xlsx",
                       filters={"q": q, "run_id": run_id, "course_id": course_id,
                                "user_id": user_id, "status": status, "year": year, "opd": opd})  # fmt: skip
        return Response(
            exports.certificates_xlsx(result.items), media_type=exports.XLSX_TYPE,
            headers={"Content-Disposition": 'attachment; filename="sertifikat.xlsx"'},
        )  # fmt: skip
    return result


@router.get("/certificates/{certificate_id}", response_model=CertificateRead)
def get_certificate(
    certificate_id: RowId, principal: CurrentPrincipal, db: SessionDep, settings: SettingsDep
) -> CertificateRead:
    """The record (holder or staff; 404 for anyone else)."""
    return service.certificate_detail(db, certificate_id, principal, settings)


@router.get("/certificates/{certificate_id}/pdf")
def certificate_pdf(
    certificate_id: RowId, principal: CurrentPrincipal, db: SessionDep, settings: SettingsDep
) -> StreamingResponse:
    """The stored, PAdES-signed PDF (the bytes issued, never re-rendered)."""
    from app.certificates import documents

    cert, _key = service.certificate_pdf(db, certificate_id, principal)
    name = exports.zip_name(cert.number, cert.holder_name)
    headers = {"Content-Disposition": content_disposition(name, inline=False)}
    if cert.pdf_size:
        headers["Content-Length"] = str(cert.pdf_size)
    return StreamingResponse(
        documents.open_pdf(cert, settings), media_type="application/pdf", headers=headers
    )


@router.get("/certificates/{certificate_id}/credential")
def certificate_credential(
    certificate_id: RowId,
    request: Request,
    principal: CurrentPrincipal,
    db: SessionDep,
    settings: SettingsDep,
    format: Literal["json", "jwt"] | None = None,
) -> Response:
    """Open Badges 3.0 / W3C VC: JSON with an embedded DataIntegrityProof (eddsa-rdfc-2022) in
    a `proof` array; with `Accept: application/vc+jwt` (or `?format=jwt`, as a file) the VC-JWT
    (compact JWS) alone."""
    token, document = service.certificate_credential(db, certificate_id, principal, settings)
    headers = {"Content-Disposition": f'attachment; filename="sertifikat-{certificate_id}.json"'}
    if format == "jwt" or (
        format is None and credential.MEDIA_TYPE in request.headers.get("accept", "")
    ):
        jwt_headers = {
            "Content-Disposition": f'attachment; filename="sertifikat-{certificate_id}.jwt"'
        }
        return Response(
            credential.current(token, settings),
            media_type=credential.MEDIA_TYPE,
            headers=jwt_headers if format == "jwt" else None,
        )
    return Response(
        json.dumps(document, ensure_ascii=False, indent=2),
        media_type="application/json", headers=headers,
    )  # fmt: skip


@router.post("/certificates/{certificate_id}/revoke", response_model=CertificateRead)
def revoke(
    certificate_id: RowId, data: RevokeRequest, principal: Staff, db: SessionDep,
    settings: SettingsDep,
) -> CertificateRead:  # fmt: skip
    """Revoke with a reason; the record stays (status revoked) and its JP is withdrawn."""
    cert = service.revoke(db, certificate_id, data.reason, principal.user_id)
    return service.certificate_read(cert, settings)


@router.post("/certificates/{certificate_id}/reissue", response_model=CertificateRead)
def reissue(
    certificate_id: RowId, data: ReissueRequest, principal: Staff, db: SessionDep,
    settings: SettingsDep,
) -> CertificateRead:  # fmt: skip
    """A new version (new number and code) from the current profile; the old one is superseded
    and its JP credit moves to the new one."""
    cert = service.reissue(db, certificate_id, principal.user_id, data.reason, settings)
    return service.certificate_read(cert, settings)


# --- verification (public, rate-limited) -----------------------------------------------------------


@router.get("/verify/keys")
def verify_keys(settings: SettingsDep) -> dict[str, list[dict[str, str]]]:
    """The institution's credential public key (JWKS) for checking VC-JWTs."""
    return {"keys": [credential.public_jwk(settings)]}


@router.get("/verify/keys/{thumbprint}")
def verify_key(thumbprint: str, settings: SettingsDep) -> dict[str, str]:
    """One public JWK: what a VC-JWT's `kid` URL dereferences to; 404 for another key."""
    jwk = credential.public_jwk(settings)
    if not jwk["kid"].endswith(f"/{thumbprint}"):
        raise NotFound("Kunci tidak dikenal.", code="key_not_found")
    return jwk


@router.get("/verify/issuer")
def verify_issuer(settings: SettingsDep) -> dict[str, object]:
    """The issuer profile named in every credential, also the controller document of the
    credential key (Multikey in `verificationMethod`/`assertionMethod`)."""
    return credential.issuer_profile(settings)


@router.get("/verify/{code}", response_model=VerifyRead)
def verify(code: str, request: Request, db: SessionDep, settings: SettingsDep) -> VerifyRead:
    """Status and facts of a certificate by its verification code; 404 for unknown codes."""
    _throttle(request, settings)
    return service.verify(db, code)


@router.post("/verify/pdf", response_model=VerifyPdfRead)
def verify_pdf(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File()],
) -> VerifyPdfRead:
    """Is this PDF exactly an issued certificate, or signed by the institution and unchanged?"""
    _throttle(request, settings)
    data = file.file.read(MAX_VERIFY_PDF_BYTES + 1)
    if len(data) > MAX_VERIFY_PDF_BYTES:
        raise PayloadTooLarge("Berkas terlalu besar untuk sebuah sertifikat (maks. 20 MB).")
    if not data:
        raise ValidationFailed("Pilih berkas PDF sertifikat.", field="file")
    return service.verify_pdf(db, data, settings)


# --- reports -------------------------------------------------------------------------------------


@router.get("/reports/siasn")
def siasn_report(
    _p: Staff,
    db: SessionDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    format: Literal["json", "csv"] = "json",
) -> Response:
    """Completed trainings of a year with SIASN's riwayat kursus fields (CSV or JSON)."""
    year = year or clock.today().year
    rows = service.siasn_rows(db, year)
    if format == "csv":
        audit.exported(db, "siasn", rows=len(rows), fmt="csv", filters={"year": year})
        return Response(
            exports.siasn_csv(rows), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="siasn-riwayat-kursus-{year}.csv"'},
        )  # fmt: skip
    return JSONResponse(rows)


# --- certificate templates (H3): GET/PUT /api/v1/certificate-templates/{id|default} ----------------
from app.certificates.template_editor import api_router as _template_api_router  # noqa: E402

router.include_router(_template_api_router)
