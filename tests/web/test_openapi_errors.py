"""The published OpenAPI document describes the errors the API really sends (issue 14): real
responses of each error status validate against the schema the document gives for that
operation and status, and FastAPI's own 422 body (HTTPValidationError) is documented nowhere."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from app.web.openapi import COMMON_ERRORS
from tests.factories import api_token, make_course, make_user

OPENAPI = "/api/v1/openapi.json"


@pytest.fixture
def document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


async def test_the_served_document_is_the_rewritten_one(
    client: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    response = await client.get(OPENAPI)
    assert response.status_code == 200
    assert response.json() == document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
    ]


def check(document: dict[str, Any], method: str, path: str, response: httpx.Response) -> None:
    """Fail unless the response's status is documented for the operation and its JSON body
    validates against the documented schema (a JSON pointer into the document itself, so that
    its references resolve there)."""
    documented = document["paths"][path][method.lower()]["responses"]
    status = str(response.status_code)
    assert status in documented, f"{method} {path}: {status} not in {sorted(documented)}"
    assert "application/json" in documented[status]["content"]
    pointer = "/".join(
        part.replace("~", "~0").replace("/", "~1")
        for part in ("paths", path, method.lower(), "responses", status, "content",
                     "application/json", "schema")
    )  # fmt: skip
    registry: Registry = Registry().with_resource(
        "urn:lms-openapi", Resource.from_contents(document, default_specification=DRAFT202012)
    )
    schema = {"$ref": "urn:lms-openapi#/" + quote(pointer, safe="/~")}
    errors = list(Draft202012Validator(schema, registry=registry).iter_errors(response.json()))
    assert not errors, f"{method} {path} {status}: {[e.message for e in errors]}"


def test_no_operation_documents_fastapis_own_validation_body(document: dict[str, Any]) -> None:
    text = str(document)
    assert "HTTPValidationError" not in text
    assert "#/components/schemas/ValidationError'" not in text
    assert set(document["components"]["schemas"]["ValidationErrorResponse"]["required"]) == {
        "error", "detail", "field", "errors",
    }  # fmt: skip


def test_every_api_operation_documents_the_common_errors(document: dict[str, Any]) -> None:
    operations = _operations(document)
    assert len(operations) > 100
    for method, path, operation in operations:
        for status in COMMON_ERRORS:
            body = operation["responses"][status]["content"]["application/json"]["schema"]
            expected = "ValidationErrorResponse" if status == "422" else "ErrorResponse"
            assert expected in str(body), (method, path, status, body)
        assert "Retry-After" in operation["responses"]["429"]["headers"]


def test_operations_that_answer_501_on_disk_storage_say_so(document: dict[str, Any]) -> None:
    start = document["paths"]["/api/v1/uploads"]["post"]["responses"]
    assert start["501"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"
    }
    assert "501" not in document["paths"]["/api/v1/courses"]["get"]["responses"]


def test_an_imports_own_422_body_stays_documented_beside_ours(document: dict[str, Any]) -> None:
    """Routes that document their own body for an error status keep it: either body is valid."""
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if status.startswith(("4", "5")) and "anyOf" in schema:
                assert {"$ref": "#/components/schemas/ErrorResponse"} in schema[
                    "anyOf"
                ] or {"$ref": "#/components/schemas/ValidationErrorResponse"} in schema["anyOf"], (
                    method, path, status,
                )  # fmt: skip


async def test_real_error_bodies_match_the_document(
    client: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    admin = await api_token(client, make_user(roles=("admin",), name="Admin Uji").nip or "")
    learner = await api_token(client, make_user(name="Peserta Uji").nip or "")
    course = make_course()["course"]
    target = make_user(name="Pegawai Uji")
    cases: list[tuple[str, str, str, dict[str, Any], int]] = [
        # 401: no token
        ("GET", "/api/v1/courses/{course_id}", f"/api/v1/courses/{course}", {}, 401),
        # 403: a learner on an administrator's operation
        ("GET", "/api/v1/users", "/api/v1/users", {"headers": learner}, 403),
        # 404: an id that names nothing
        ("GET", "/api/v1/courses/{course_id}", "/api/v1/courses/2147483647", {"headers": admin},
         404),
        # 422 from request validation (FastAPI): a path id out of range, a body field missing
        ("GET", "/api/v1/courses/{course_id}", "/api/v1/courses/2147483648", {"headers": admin},
         422),
        ("POST", "/api/v1/courses", "/api/v1/courses", {"headers": admin, "json": {}}, 422),
        # 422 from a service (ValidationFailed): an account without any role
        ("PATCH", "/api/v1/users/{user_id}", f"/api/v1/users/{target.id}",
         {"headers": admin, "json": {"roles": []}}, 422),
        # 401 from a service: a wrong password
        ("POST", "/api/v1/auth/token", "/api/v1/auth/token",
         {"data": {"username": "nobody", "password": "x"}}, 401),
    ]  # fmt: skip
    for method, template, url, kwargs, expected in cases:
        response = await client.request(method, url, **kwargs)
        assert response.status_code == expected, (url, response.text)
        check(document, method, template, response)
    # 429: the login throttle after repeated wrong passwords, with Retry-After
    for _ in range(20):
        response = await client.post(
            "/api/v1/auth/token", data={"username": target.nip, "password": "salah-lagi"}
        )
        if response.status_code == 429:
            break
    assert response.status_code == 429, response.text
    assert int(response.headers["Retry-After"]) >= 1
    check(document, "POST", "/api/v1/auth/token", response)


def test_the_check_refuses_fastapis_default_body(document: dict[str, Any]) -> None:
    """The check above can fail: FastAPI's own 422 body is not the documented one."""
    fastapi_body = httpx.Response(
        422, json={"detail": [{"loc": ["path", "course_id"], "msg": "bad", "type": "int_parsing"}]}
    )
    with pytest.raises(AssertionError):
        check(document, "GET", "/api/v1/courses/{course_id}", fastapi_body)
    with pytest.raises(AssertionError):  # a status the operation does not document
        check(document, "GET", "/api/v1/courses/{course_id}", httpx.Response(418, json={}))


def test_an_import_documents_its_report_and_the_error_shape_for_422(
    document: dict[str, Any],
) -> None:
    responses = document["paths"]["/api/v1/competency/standards/import"]["post"]["responses"]
    schema = responses["422"]["content"]["application/json"]["schema"]
    own, ours = schema["anyOf"]
    assert own["$ref"].endswith("ImportResult")
    assert ours == {"$ref": "#/components/schemas/ValidationErrorResponse"}
    report = httpx.Response(422, json={"imported": 0, "created": 0, "updated": 0, "errors": [
        {"row": 2, "field": "kode_kompetensi", "message": "Tidak dikenal."}]})  # fmt: skip
    check(document, "POST", "/api/v1/competency/standards/import", report)
