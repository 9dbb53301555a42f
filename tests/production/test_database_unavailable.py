"""The 503 mapping of a lost database connection, in process (no stack needed): a route or a
middleware that meets a disconnect answers 503 + Retry-After, JSON under /api, the friendly page
elsewhere; other database errors stay 500s; no trace either way."""

from __future__ import annotations

import sqlite3

import httpx
import psycopg
from fastapi import FastAPI, Request
from sqlalchemy import exc as sa_exc

from app.web import errors

TRACE_MARKERS = ("Traceback", "psycopg", "OperationalError", "connection refused")


def _disconnect() -> sa_exc.OperationalError:
    return sa_exc.OperationalError(
        "SELECT 1", {}, psycopg.OperationalError("connection refused"), connection_invalidated=True
    )


def _app() -> FastAPI:
    app = FastAPI()
    errors.install(app)

    @app.get("/api/v1/down")
    def api_down() -> None:
        raise _disconnect()

    @app.get("/page-down")
    def page_down() -> None:
        raise _disconnect()

    @app.get("/api/v1/integrity")
    def integrity() -> None:
        raise sa_exc.IntegrityError("INSERT", {}, psycopg.IntegrityError("duplicate key"))

    @app.get("/api/v1/sqlite-locked")
    def locked() -> None:
        raise sa_exc.OperationalError("UPDATE", {}, sqlite3.OperationalError("database is locked"))

    @app.get("/api/v1/sqlite-bug")
    def missing_table() -> None:
        raise sa_exc.OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))

    @app.middleware("http")
    async def session_loader(request: Request, call_next):  # type: ignore[no-untyped-def]
        if request.url.path == "/api/v1/middleware-down":
            raise _disconnect()
        return await call_next(request)

    return app


async def _get(path: str, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get(path, headers=headers)


async def test_api_disconnect_is_503_json_with_retry_after() -> None:
    for path in ("/api/v1/down", "/api/v1/middleware-down", "/api/v1/sqlite-locked"):
        r = await _get(path)
        assert r.status_code == 503, (path, r.text)
        assert int(r.headers["retry-after"]) > 0
        assert r.json()["error"] == "service_unavailable" and r.json()["detail"]
        assert not any(m in r.text for m in TRACE_MARKERS)


async def test_page_disconnect_is_friendly_503_page() -> None:
    r = await _get("/page-down", accept="text/html")
    assert r.status_code == 503 and r.headers["content-type"].startswith("text/html")
    assert int(r.headers["retry-after"]) > 0
    assert "<html" in r.text.lower() and not any(m in r.text for m in TRACE_MARKERS)


async def test_other_database_errors_stay_500() -> None:
    for path in ("/api/v1/integrity", "/api/v1/sqlite-bug"):
        r = await _get(path)
        assert r.status_code == 500, (path, r.text)
        assert "retry-after" not in r.headers
        assert not any(m in r.text for m in TRACE_MARKERS)


def test_classification() -> None:
    assert errors.database_unavailable(_disconnect())
    assert errors.database_unavailable(sa_exc.TimeoutError("QueuePool limit reached"))
    assert not errors.database_unavailable(ValueError("x"))
