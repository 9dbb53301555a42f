"""Turns every error into `{"error","detail"}` JSON for /api and a friendly page for browsers.

No stack trace ever reaches a user; unexpected errors are logged with the request id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from app.core import i18n
from app.core.errors import (
    LMSError,
    NotAuthenticated,
    Throttled,
    ValidationFailed,
    pydantic_message,
)
from app.core.i18n import gettext_ as _
from app.core.i18n import translate_default as translated

log = logging.getLogger("lms.errors")

_STATUS_CODES = {
    400: "bad_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "validation_error", 429: "too_many_attempts",
    500: "internal_error", 503: "service_unavailable",
}  # fmt: skip


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/") or request.url.path == "/healthz":
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _titles() -> dict[int, str]:
    return {
        400: _("Permintaan tidak dapat diproses"),
        401: _("Silakan masuk"),
        403: _("Akses ditolak"),
        404: _("Halaman tidak ditemukan"),
        409: _("Terjadi konflik data"),
        413: _("Berkas terlalu besar"),
        415: _("Jenis berkas tidak didukung"),
        422: _("Data belum benar"),
        429: _("Terlalu banyak percobaan"),
        500: _("Terjadi kesalahan pada sistem"),
        503: _("Layanan sedang tidak tersedia"),
    }


def error_response(
    request: Request,
    status: int,
    code: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    if wants_json(request):
        body: dict[str, Any] = {"error": code, "detail": detail, **(extra or {})}
        return JSONResponse(body, status_code=status, headers=headers)
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    from app.web.templating import render  # the template layer imports this module's peers

    response = render(
        request,
        "error.html",
        {
            "status": status,
            "title": _titles().get(status, _("Terjadi kesalahan")),
            "detail": detail,
            "request_id": getattr(request.state, "request_id", None),
        },
        status_code=status,
    )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


async def handle_lms_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LMSError)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Throttled) else None
    if isinstance(exc, NotAuthenticated):
        headers = {"WWW-Authenticate": "Bearer"}
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationFailed):
        extra = {"field": exc.field, "errors": exc.errors}
    return error_response(
        request, exc.status_code, exc.code, exc.detail, headers=headers, extra=extra
    )


async def handle_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form")]
        errors.append({"field": ".".join(loc) or "body", "message": pydantic_message(err)})
    first = errors[0] if errors else {"field": "body", "message": _("Nilai tidak valid.")}
    detail = f"{first['field']}: {first['message']}"
    return error_response(
        request, 422, "validation_error", detail, extra={"field": first["field"], "errors": errors}
    )


async def handle_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "error")
    detail = translated(exc.detail) if isinstance(exc.detail, str) else code
    if exc.status_code == 404:
        detail = _("Alamat yang Anda buka tidak ada.")
    return error_response(request, exc.status_code, code, detail, headers=exc.headers)


def _request_locale(request: Request) -> str:
    """The locale LocaleMiddleware would pick; the 500 handler runs outside that middleware."""
    from app.core.config import get_settings
    from app.web.i18n import LANG_COOKIE

    return i18n.pick_locale(
        request.cookies.get(LANG_COOKIE),
        None,
        request.headers.get("accept-language"),
        default=get_settings().default_locale,
    )


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.error(
        "unhandled error",
        exc_info=exc,
        extra={"payload": {"request_id": getattr(request.state, "request_id", None),
                           "path": request.url.path, "message": repr(exc)}},
    )  # fmt: skip
    request_id = getattr(request.state, "request_id", None)
    token = i18n.current_locale.set(_request_locale(request))
    try:
        # This response is built outside the request-log middleware, so it adds the id itself.
        return error_response(
            request, 500, "internal_error",
            _("Maaf, terjadi kesalahan. Tim teknis dapat melacaknya dengan kode permintaan."),
            headers={"X-Request-ID": request_id} if request_id else None,
        )  # fmt: skip
    finally:
        i18n.current_locale.reset(token)


def install(app: FastAPI) -> None:
    app.add_exception_handler(LMSError, handle_lms_error)
    app.add_exception_handler(RequestValidationError, handle_validation)
    app.add_exception_handler(StarletteHTTPException, handle_http)
    app.add_exception_handler(Exception, handle_unexpected)
