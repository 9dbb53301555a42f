"""The one domain exception hierarchy; `app.web.errors` renders it as JSON or an HTML page.

Services raise these; no `HTTPException` outside the HTTP layer.
"""

from __future__ import annotations

from typing import Any


class LMSError(Exception):
    """Base of every error a user may see: a machine code, a human detail, an HTTP status."""

    status_code = 400
    code = "bad_request"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra


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
        self.errors = errors or ([{"field": field, "message": detail}] if field else [])


class Throttled(LMSError):
    status_code = 429
    code = "too_many_attempts"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)


class ServiceUnavailable(LMSError):
    status_code = 503
    code = "service_unavailable"
