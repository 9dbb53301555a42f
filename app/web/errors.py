"""Turns every error into `{"error","detail"}` JSON for /api and a friendly page for browsers.

No stack trace ever reaches a user; unexpected errors are logged with the request id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
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
    500: "internal_error", 503: "service_unavailable", 507: "insufficient_storage",
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
        507: _("Ruang penyimpanan penuh"),
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
    if headers is None and getattr(exc, "retry_after", None):  # e.g. storage down, PDF not ready
        headers = {"Retry-After": str(exc.retry_after)}  # type: ignore[attr-defined]
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


DATABASE_RETRY_AFTER_SECONDS = 5


def database_unavailable(exc: BaseException) -> bool:
    """True for a lost or refused database connection (server restarting, network cut, pool
    exhausted): the request may succeed when retried, so it is a 503, not a 500."""
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return True
    if not isinstance(exc, sa_exc.OperationalError):
        return False
    if type(exc.orig).__module__.startswith("sqlite3"):  # SQLite: only a busy or missing file
        message = str(exc.orig).lower()
        return any(word in message for word in ("locked", "busy", "unable to open"))
    return True


async def handle_database_unavailable(request: Request, exc: Exception) -> Response:
    """503 + Retry-After while the database is unreachable; the request's transaction was
    rolled back as a whole, so nothing of it was written."""
    if not database_unavailable(exc):
        raise exc  # any other database error stays a logged 500 (handle_unexpected)
    log.warning(
        "database unavailable",
        extra={"payload": {"request_id": getattr(request.state, "request_id", None),
                           "path": request.url.path, "error": type(exc).__name__}},
    )  # fmt: skip
    token = i18n.current_locale.set(_request_locale(request))
    try:
        request_id = getattr(request.state, "request_id", None)
        headers = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
        if request_id:
            headers["X-Request-ID"] = request_id
        return error_response(
            request, 503, "service_unavailable",
            _("Basis data sedang tidak dapat dihubungi. Tidak ada yang tersimpan dari permintaan "
              "ini; silakan coba lagi sebentar lagi."),
            headers=headers,
        )  # fmt: skip
    finally:
        i18n.current_locale.reset(token)


# SQLSTATEs of a value the column cannot hold: numeric_value_out_of_range (an id or count past
# the column's integer type), datetime_field_overflow (a year 10000).
_OUT_OF_RANGE_SQLSTATES = frozenset({"22003", "22008"})


def value_out_of_range(exc: BaseException) -> bool:
    """True for a number (or date) from the request that the database cannot hold: SQLite raises
    OverflowError for integers past 2**63, PostgreSQL a DataError for an int4 column past 2**31-1.
    Routes bound their ids (app/web/params.py); this is the safety net for any value that slips
    through, so that it is a 422 and never a 500."""
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, OverflowError):
        return True
    if isinstance(exc, sa_exc.StatementError) and isinstance(exc.orig, OverflowError):
        return True
    if isinstance(exc, sa_exc.DataError):
        sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return sqlstate in _OUT_OF_RANGE_SQLSTATES or nul_in_text(exc)
    return False


def nul_in_text(exc: BaseException) -> bool:
    """PostgreSQL text cannot hold U+0000 (psycopg refuses it before sending the query)."""
    from sqlalchemy import exc as sa_exc

    return isinstance(exc, sa_exc.DataError) and "NUL (0x00)" in str(exc.orig)


async def handle_out_of_range(request: Request, exc: Exception) -> Response:
    """422 for a value the database cannot store; the transaction was rolled back whole."""
    if not value_out_of_range(exc):
        raise exc  # any other data error stays a logged 500 (handle_unexpected)
    log.warning(
        "value the database cannot store",
        extra={"payload": {"request_id": getattr(request.state, "request_id", None),
                           "path": request.url.path, "error": type(exc).__name__}},
    )  # fmt: skip
    if nul_in_text(exc):
        return error_response(
            request, 422, "invalid_character",
            _("Teks memuat karakter NUL yang tidak dapat disimpan."),
            extra={"field": None, "errors": []},
        )  # fmt: skip
    return error_response(
        request, 422, "value_out_of_range",
        _("Ada angka atau tanggal di luar rentang yang dapat disimpan."),
        extra={"field": None, "errors": []},
    )  # fmt: skip


def disk_full(exc: BaseException) -> str | None:
    """What is full when a write failed for lack of space: "database" (SQLite: "database or
    disk is full", SQLITE_FULL), "storage" (ENOSPC / EDQUOT from a file write), else None."""
    from sqlalchemy import exc as sa_exc

    from app.storage.base import is_disk_full

    if isinstance(exc, sa_exc.OperationalError) and "database or disk is full" in str(exc.orig):
        return "database"
    return "storage" if is_disk_full(exc) else None


async def handle_disk_full(request: Request, exc: Exception, what: str) -> Response:
    """507 Insufficient Storage: the transaction was rolled back whole (SQLite undoes a write
    that did not fit) and stored files are written to a temporary name first, so nothing
    half-written stays."""
    log.error(
        "disk full",
        extra={"payload": {"request_id": getattr(request.state, "request_id", None),
                           "path": request.url.path, "what": what, "error": repr(exc)}},
    )  # fmt: skip
    return _outermost_error(
        request, 507, "insufficient_storage",
        lambda: _("Ruang penyimpanan basis data di server penuh. Perubahan ini tidak disimpan; "
                  "hubungi admin untuk menambah ruang disk.")
        if what == "database"
        else _("Ruang penyimpanan berkas di server penuh. Berkas tidak disimpan; hubungi "
               "admin untuk menambah ruang disk."),
    )  # fmt: skip


def _outermost_error(
    request: Request, status: int, code: str, detail: Callable[[], str]
) -> Response:
    """An error response built outside every middleware (Starlette's outermost error handler
    runs it): it sets the request's language, the request id and the security headers itself."""
    from app.core.config import get_settings
    from app.web import security

    request_id = getattr(request.state, "request_id", None)
    token = i18n.current_locale.set(_request_locale(request))
    try:
        response = error_response(
            request, status, code, detail(),
            headers={"X-Request-ID": request_id} if request_id else None,
        )  # fmt: skip
    finally:
        i18n.current_locale.reset(token)
    security.add_headers(request.url.path, response.headers, get_settings())
    return response


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    full = disk_full(exc)
    if full:  # a write that did not fit on the disk: 507 naming what is full, not a 500
        return await handle_disk_full(request, exc, full)
    if database_unavailable(exc):  # raised outside a route (a middleware): still a 503
        unavailable = await handle_database_unavailable(request, exc)
        from app.core.config import get_settings
        from app.web import security

        security.add_headers(request.url.path, unavailable.headers, get_settings())
        return unavailable
    log.error(
        "unhandled error",
        exc_info=exc,
        extra={"payload": {"request_id": getattr(request.state, "request_id", None),
                           "path": request.url.path, "message": repr(exc)}},
    )  # fmt: skip
    return _outermost_error(
        request, 500, "internal_error",
        lambda: _("Maaf, terjadi kesalahan. Tim teknis dapat melacaknya dengan kode permintaan."),
    )  # fmt: skip


def install(app: FastAPI) -> None:
    app.add_exception_handler(LMSError, handle_lms_error)
    app.add_exception_handler(RequestValidationError, handle_validation)
    app.add_exception_handler(StarletteHTTPException, handle_http)
    from sqlalchemy import exc as sa_exc

    for db_error in (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError,
                     sa_exc.TimeoutError):  # fmt: skip
        app.add_exception_handler(db_error, handle_database_unavailable)
    app.add_exception_handler(OverflowError, handle_out_of_range)
    # DataError (PostgreSQL), or OverflowError wrapped while binding parameters
    app.add_exception_handler(sa_exc.StatementError, handle_out_of_range)
    app.add_exception_handler(Exception, handle_unexpected)
