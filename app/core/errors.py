"""The one domain exception hierarchy; `app.web.errors` renders it as JSON or an HTML page.

Services raise these; no `HTTPException` outside the HTTP layer. A detail is an Indonesian msgid
(babel.cfg extracts the first argument of these classes) translated when it is read, so the
response is in the language of the request that renders it, not of the code that raised it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.i18n import current_locale, format_number
from app.core.i18n import gettext_ as _
from app.core.i18n import translate_default as translated


class LMSError(Exception):
    """Base of every error a user may see: a machine code, a human detail, an HTTP status."""

    status_code = 400
    code = "bad_request"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.msgid = detail
        if code is not None:
            self.code = code
        self.extra = extra

    @property
    def detail(self) -> str:
        """The message in the current request's language."""
        return translated(self.msgid)

    @detail.setter
    def detail(self, value: str) -> None:
        self.msgid = value


class NotAuthenticated(LMSError):
    status_code = 401
    code = "not_authenticated"


class InvalidCredentials(LMSError):
    status_code = 401
    code = "invalid_credentials"


class Forbidden(LMSError):
    status_code = 403
    code = "forbidden"


class CSRFFailed(Forbidden):
    code = "csrf_failed"


class NotFound(LMSError):
    status_code = 404
    code = "not_found"


class Conflict(LMSError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(LMSError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(LMSError):
    status_code = 415
    code = "unsupported_media_type"


class ValidationFailed(LMSError):
    """Bad input; `field` names it and `errors` may list several problems."""

    status_code = 422
    code = "validation_error"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(detail, code=code)
        self.field = field
        self._errors = errors or ([{"field": field, "message": detail}] if field else [])

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Each problem with its message in the current request's language."""
        return [
            {**e, "message": translated(e["message"])} if isinstance(e.get("message"), str) else e
            for e in self._errors
        ]

    @errors.setter
    def errors(self, value: list[dict[str, Any]]) -> None:
        self._errors = value


class Throttled(LMSError):
    status_code = 429
    code = "too_many_attempts"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)


class ServiceUnavailable(LMSError):
    status_code = 503
    code = "service_unavailable"


def _pydantic_msgids() -> dict[str, str]:
    """Indonesian msgids for the pydantic error types people meet; `%(name)s` reads the error's ctx."""
    return {
        "missing": _("Wajib diisi."),
        "string_type": _("Harus berupa teks."),
        "string_too_short": _("Paling sedikit %(min_length)s karakter."),
        "string_too_long": _("Paling banyak %(max_length)s karakter."),
        "string_pattern_mismatch": _("Formatnya tidak sesuai."),
        "too_short": _("Paling sedikit %(min_length)s isian."),
        "too_long": _("Paling banyak %(max_length)s isian."),
        "int_type": _("Harus berupa bilangan bulat."),
        "int_parsing": _("Harus berupa bilangan bulat."),
        "int_from_float": _("Harus berupa bilangan bulat."),
        "float_type": _("Harus berupa angka."),
        "float_parsing": _("Harus berupa angka."),
        "decimal_parsing": _("Harus berupa angka."),
        "bool_type": _("Harus berupa benar atau salah."),
        "bool_parsing": _("Harus berupa benar atau salah."),
        "greater_than": _("Harus lebih dari %(gt)s."),
        "greater_than_equal": _("Paling kecil %(ge)s."),
        "less_than": _("Harus kurang dari %(lt)s."),
        "less_than_equal": _("Paling besar %(le)s."),
        "literal_error": _("Harus salah satu dari: %(expected)s."),
        "enum": _("Harus salah satu dari: %(expected)s."),
        "date_type": _("Harus berupa tanggal (YYYY-MM-DD)."),
        "date_parsing": _("Harus berupa tanggal (YYYY-MM-DD)."),
        "date_from_datetime_parsing": _("Harus berupa tanggal (YYYY-MM-DD)."),
        "datetime_type": _("Harus berupa tanggal dan waktu (ISO 8601)."),
        "datetime_parsing": _("Harus berupa tanggal dan waktu (ISO 8601)."),
        "datetime_from_date_parsing": _("Harus berupa tanggal dan waktu (ISO 8601)."),
        "timezone_aware": _("Waktu harus menyertakan zona waktu."),
        "uuid_parsing": _("Harus berupa UUID."),
        "url_parsing": _("Harus berupa alamat URL."),
        "json_invalid": _("Isi permintaan bukan JSON yang valid."),
        "model_attributes_type": _("Harus berupa objek."),
        "dict_type": _("Harus berupa objek."),
        "model_type": _("Harus berupa objek."),
        "list_type": _("Harus berupa daftar."),
        "extra_forbidden": _("Isian ini tidak dikenal."),
    }


def pydantic_message(err: Mapping[str, Any]) -> str:
    """One pydantic error in the current locale: a known type through gettext, a ValueError raised
    by our validators as its (translated) text, anything else as pydantic's English or a generic line.
    """
    kind = str(err.get("type", ""))
    ctx = dict(err.get("ctx") or {})
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return translated(str(ctx["error"]))
    msgid = _pydantic_msgids().get(kind)
    if msgid is not None:
        values = {
            k: format_number(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
            for k, v in ctx.items()
        }
        try:
            return msgid % values
        except (KeyError, TypeError, ValueError):
            return msgid
    if current_locale.get() == "en":
        return str(err.get("msg", ""))
    return _("Nilai tidak valid.")
