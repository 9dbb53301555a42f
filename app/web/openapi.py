"""The OpenAPI document tells the truth about errors.

Every error of the API has the project's shape (app/web/errors.py): `{"error": code, "detail":
message}`, and a 422 adds `field` and `errors`. FastAPI documents its own 422 body
(`HTTPValidationError`, `detail` as a list) and no other error at all, so clients and schema-driven
tools (Schemathesis in CI) were told something false. `install` replaces FastAPI's 422 on every
operation, adds the statuses any `/api/v1` operation may answer (bad or missing token, no right,
unknown id, conflict, body too large or of the wrong type, validation, rate limit, database
unavailable) and fills in the body of every error status a route declares with a description
only, e.g. `responses={501: {"description": "..."}}`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

ERROR_REF = "#/components/schemas/ErrorResponse"
VALIDATION_REF = "#/components/schemas/ValidationErrorResponse"
_FASTAPI_422_REF = "#/components/schemas/HTTPValidationError"


class FieldError(BaseModel):
    """One problem of a request's input."""

    model_config = ConfigDict(extra="allow")  # e.g. an imported file's `file` and `line`

    field: str | None = Field(description="The input, as a dotted path (`choices.0.text`), or null")
    message: str = Field(description="What is wrong, in the request's language")


class ErrorResponse(BaseModel):
    """Every error answer of the API."""

    error: str = Field(
        description="Machine-readable code: not_authenticated, forbidden, not_found, "
        "validation_error, too_many_attempts, ... or a more precise one such as course_not_found",
        examples=["not_found"],
    )
    detail: str = Field(description="Human-readable message in the request's language (id or en)")


class ValidationErrorResponse(ErrorResponse):
    """422: the input is not valid; `errors` lists every problem found, `field` names the first."""

    field: str | None = Field(description="The first wrong input, or null for the whole request")
    errors: list[FieldError]


# Statuses that any /api/v1 operation may answer, with the meaning clients can rely on.
COMMON_ERRORS: dict[str, str] = {
    "400": "Bad request: the request cannot be processed as sent",
    "401": "Not authenticated: no, an expired or a revoked bearer token (WWW-Authenticate: Bearer)",
    "403": "Forbidden: the caller's roles or scope do not allow this",
    "404": "Not found: an id in the path names nothing the caller may see",
    "409": "Conflict with the current state (e.g. already submitted, already exists)",
    "413": "Payload too large",
    "415": "Unsupported media type or file type",
    "422": "Validation error: `errors` lists each problem with its field",
    "429": "Too many requests: wait the Retry-After seconds",
    "503": "Service unavailable (e.g. the database restarts): retry after Retry-After seconds",
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": ref}}}


def _error_content(status: str) -> dict[str, Any]:
    return _json(VALIDATION_REF if status == "422" else ERROR_REF)


def _merge(response: dict[str, Any], status: str) -> None:
    """Make an error response's JSON body say the project's error shape (or, when a route
    documents its own body for that status, either one)."""
    content = response.setdefault("content", {})
    media = content.get("application/json")
    schema = (media or {}).get("schema")
    if not schema or schema.get("$ref") == _FASTAPI_422_REF:
        content["application/json"] = _error_content(status)["application/json"]
        if status in COMMON_ERRORS and response.get("description") in (None, "Validation Error"):
            response["description"] = COMMON_ERRORS[status]
        return
    ours = _error_content(status)["application/json"]["schema"]
    if schema == ours or ours in schema.get("anyOf", []):
        return
    media["schema"] = {"anyOf": [schema, ours]}


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite an OpenAPI document (in place) so that its errors say the real shape."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (FieldError, ErrorResponse, ValidationErrorResponse):
        definition = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in definition.pop("$defs", {}).items():
            components.setdefault(name, sub)
        components[model.__name__] = definition
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            for status, description in COMMON_ERRORS.items():
                responses.setdefault(status, {"description": description})
            for status, response in responses.items():
                if status[:1] in ("4", "5"):
                    _merge(response, status)
            responses["429"].setdefault("headers", _RETRY_AFTER)
            operation["responses"] = dict(sorted(responses.items()))
    text = repr(schema.get("paths", {}))
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{unused}'" not in text:
            components.pop(unused, None)
    return schema


def install(app: FastAPI) -> None:
    """Serve the rewritten document at app.openapi_url (built once, on first request)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
