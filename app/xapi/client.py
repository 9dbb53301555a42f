"""The LRS client: POST {LMS_XAPI_ENDPOINT}statements with a JSON array of statements, Basic
auth, the X-Experience-API-Version header. The password is read from its SecretStr only here,
into the request's Authorization header: never logged, never stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from app.core.config import Settings
from app.xapi.constants import STATEMENTS_RESOURCE, VERSION_HEADER


@dataclass(frozen=True, slots=True)
class Answer:
    status: int  # 0: the LRS could not be reached
    message: str


def statements_url(settings: Settings) -> str:
    endpoint = (settings.xapi_endpoint or "").rstrip("/") + "/"
    return endpoint + STATEMENTS_RESOURCE


def _auth(settings: Settings) -> httpx.BasicAuth | None:
    if not settings.xapi_username:
        return None
    secret = settings.xapi_password.get_secret_value() if settings.xapi_password else ""
    return httpx.BasicAuth(settings.xapi_username, secret)


def new_client(settings: Settings) -> httpx.Client:
    return httpx.Client(
        auth=_auth(settings),
        headers={VERSION_HEADER: settings.xapi_version, "Content-Type": "application/json"},
        timeout=settings.xapi_timeout_seconds,
    )


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("message") or body)[:300]
    return str(body)[:300]


def post(client: httpx.Client, settings: Settings, statements: list[dict[str, Any]]) -> Answer:
    """POST a batch; the LRS's status and its message (status 0 when unreachable)."""
    try:
        response = client.post(statements_url(settings), json=statements)
    except httpx.HTTPError as exc:
        return Answer(0, f"LRS tidak dapat dihubungi ({type(exc).__name__})")
    return Answer(response.status_code, _message(response) if response.status_code >= 300 else "")


def get(client: httpx.Client, settings: Settings, params: dict[str, str]) -> dict[str, Any]:
    """GET statements (filters: verb, agent, registration, limit...): the StatementResult."""
    response = client.get(statements_url(settings), params=params)
    response.raise_for_status()
    found: dict[str, Any] = response.json()
    return found
