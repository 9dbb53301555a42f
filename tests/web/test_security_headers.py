"""Every page type carries the security headers (app/web/security.py): pages of each router
family, API JSON, static files, file delivery, redirects, error responses (404/405/422/429/500)
and the API docs; the policy names the S3, SSO and content origins only when configured."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from app.core.config import OidcProvider, Settings
from app.web import security
from app.web.static import static_url
from tests.courses.conftest import pdf_bytes
from tests.factories import PASSWORD, api_token, browser_login, make_course, make_user

pytestmark = pytest.mark.anyio

COMMON = {
    "referrer-policy": "strict-origin-when-cross-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "x-content-type-options": "nosniff",
    "cross-origin-opener-policy": "same-origin",
}


def _directives(csp: str) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            result[words[0]] = words[1:]
    return result


def assert_secure(response: httpx.Response, *, page_policy: bool = True) -> None:
    """The common headers, and (for pages, JSON, static files, errors) the strict policy."""
    where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    for name, value in COMMON.items():
        assert response.headers.get(name) == value, (where, name, response.headers.get(name))
    assert "strict-transport-security" not in response.headers, where  # base URL is http here
    csp = response.headers.get("content-security-policy")
    assert csp, where
    if not page_policy:
        return
    d = _directives(csp)
    assert d["script-src"] == ["'self'"], where  # no 'unsafe-inline', no 'unsafe-eval'
    assert "'unsafe-inline'" not in d["default-src"] and "'unsafe-eval'" not in csp, where
    assert d["object-src"] == ["'none'"], where
    assert d["base-uri"] == ["'self'"], where
    assert d["form-action"][0] == "'self'", where
    assert d["frame-ancestors"] == ["'self'"], where
    assert d["worker-src"] == ["'self'"], where
    assert {"'self'", "data:", "blob:"} <= set(d["img-src"]), where


async def test_public_pages_and_the_login_page(client: httpx.AsyncClient) -> None:
    for path in ("/login", "/verify", "/password/forgot", "/privacy", "/manifest.webmanifest"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert_secure(response)


async def test_learner_studio_and_admin_pages(client: httpx.AsyncClient) -> None:
    make_user(roles=("learner",), email="learner@example.go.id")
    make_user(roles=("content_admin",), email="content@example.go.id")
    make_user(roles=("admin",), email="admin@example.go.id")
    pages = {
        "learner@example.go.id": ["/", "/my/courses", "/sertifikat", "/me/password"],
        "content@example.go.id": ["/studio"],
        "admin@example.go.id": ["/admin/users", "/admin/opds", "/studio/certificate-templates"],
    }
    for email, paths in pages.items():
        client.cookies.clear()
        await browser_login(client, email)
        for path in paths:
            response = await client.get(path)
            assert response.status_code == 200, (email, path)
            assert "text/html" in response.headers["content-type"]
            assert_secure(response)
        # htmx partials get the same headers
        partial = await client.get("/", headers={"HX-Request": "true"})
        assert_secure(partial)


async def test_api_json_docs_and_openapi(client: httpx.AsyncClient) -> None:
    make_user(roles=("learner",), email="api@example.go.id")
    headers = await api_token(client, "api@example.go.id")
    me = await client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200 and me.headers["content-type"] == "application/json"
    assert_secure(me)
    assert_secure(await client.get("/api/v1/openapi.json"))
    assert_secure(await client.get("/healthz"))
    docs = await client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert_secure(docs)
    # Swagger UI comes from static/vendor, started by a script file: nothing inline, no CDN.
    assert "cdn.jsdelivr.net" not in docs.text and "<script>" not in docs.text
    for src in re.findall(r'(?:src|href)="(/static/[^"]+)"', docs.text):
        asset = await client.get(src)
        assert asset.status_code == 200, src
        assert_secure(asset)


async def test_static_files(client: httpx.AsyncClient) -> None:
    for path in (
        static_url("js/app.js"),
        static_url("vendor/pdf.worker.min.mjs"),  # a worker runs under its own response's CSP
        static_url("css/app.css"),
        "/static/css/app.css",
        "/favicon.ico",
    ):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert_secure(response)
    missing = await client.get("/static/js/nope.0000000000.js")
    assert missing.status_code == 404
    assert_secure(missing)


async def test_file_delivery_keeps_its_own_policy(client: httpx.AsyncClient) -> None:
    """An inline PDF gets framing rules only (Chromium's viewer is a plugin); an unsafe file
    keeps delivery's sandbox policy, which the middleware never overrides."""
    ids = make_course(pages=0, published=False)
    make_user(roles=("content_admin",), email="editor@example.go.id")
    editor = await api_token(client, "editor@example.go.id")
    doc = await client.post(
        f"/api/v1/sections/{ids['section']}/activities",
        data={"kind": "document", "title": "Modul"},
        files={"file": ("modul.pdf", pdf_bytes(), "application/pdf")},
        headers=editor,
    )
    assert doc.status_code == 201, doc.text
    pdf = await client.get(f"/api/v1/activities/{doc.json()['id']}/content", headers=editor)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert_secure(pdf, page_policy=False)
    assert pdf.headers["content-security-policy"] == "frame-ancestors 'self' http://testserver"
    ranged = await client.get(
        f"/api/v1/activities/{doc.json()['id']}/content",
        headers={**editor, "Range": "bytes=0-9"},
    )
    assert ranged.status_code == 206
    assert_secure(ranged, page_policy=False)

    html = await client.post(
        f"/api/v1/sections/{ids['section']}/activities",
        data={"kind": "file", "title": "Lampiran"},
        files={"file": ("x.html", b"<script>alert(1)</script>", "text/html")},
        headers=editor,
    )
    assert html.status_code == 201, html.text  # uploaded markup: a sandboxed attachment
    served = await client.get(f"/api/v1/activities/{html.json()['id']}/content", headers=editor)
    assert served.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert served.headers["content-disposition"].startswith("attachment")
    assert_secure(served, page_policy=False)


async def test_redirects(client: httpx.AsyncClient) -> None:
    signed_out = await client.get("/admin/users")
    assert signed_out.status_code == 303
    assert_secure(signed_out)
    make_user(roles=("learner",), email="redirect@example.go.id")
    page = await client.get("/login")
    token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
    assert token
    login = await client.post(
        "/login",
        data={"csrf_token": token.group(1), "username": "redirect@example.go.id",
              "password": PASSWORD, "next": "/"},
    )  # fmt: skip
    assert login.status_code == 303
    assert_secure(login)


async def test_error_responses(client: httpx.AsyncClient, app: FastAPI) -> None:
    not_found = await client.get("/no-such-page")
    assert not_found.status_code == 404 and "text/html" in not_found.headers["content-type"]
    assert_secure(not_found)
    api_404 = await client.get("/api/v1/no-such-thing")
    assert api_404.status_code == 404
    assert_secure(api_404)
    not_allowed = await client.delete("/login")
    assert not_allowed.status_code == 405
    assert_secure(not_allowed)
    invalid = await client.post("/api/v1/auth/token", data={})
    assert invalid.status_code == 422 and invalid.json()["error"] == "validation_error"
    assert_secure(invalid)
    unauthenticated = await client.get("/api/v1/me")
    assert unauthenticated.status_code == 401
    assert_secure(unauthenticated)

    @app.get("/boom-for-security-headers")
    def boom() -> None:
        raise RuntimeError("boom")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        for accept in ("text/html", "application/json"):
            crashed = await c.get("/boom-for-security-headers", headers={"Accept": accept})
            assert crashed.status_code == 500
            assert_secure(crashed)


async def test_throttled_response(client: httpx.AsyncClient, settings: Settings,
                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(settings, "rate_limit_api", "1/minute")
    await client.get("/api/v1/verify/keys")
    throttled = await client.get("/api/v1/verify/keys")
    assert throttled.status_code == 429
    assert_secure(throttled)


async def test_scorm_files_may_run_their_own_scripts(client: httpx.AsyncClient) -> None:
    """SCORM package files (a 404 here stands for any answer on that path) only restrict
    framing, unless their route set a policy of its own (the content origin does)."""
    response = await client.get("/scorm/999999/index.html")
    csp = response.headers["content-security-policy"]
    assert "script-src" not in csp and "frame-ancestors" in csp


def test_hsts_only_on_https(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "Strict-Transport-Security" not in security.headers_for("/", "text/html", settings)
    monkeypatch.setattr(settings, "base_url", "https://lms.example.go.id")
    headers = security.headers_for("/", "text/html", settings)
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_policy_names_s3_sso_and_content_origins(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = _directives(security.page_policy(settings))
    assert plain["connect-src"] == ["'self'"] and plain["form-action"] == ["'self'"]

    monkeypatch.setattr(settings, "storage_url", "s3://lms-bucket/objects")
    monkeypatch.setattr(settings, "s3_endpoint_url", "http://127.0.0.1:8333/")
    d = _directives(security.page_policy(settings))
    for name in ("connect-src", "media-src", "img-src", "frame-src"):
        assert "http://127.0.0.1:8333" in d[name], name
    assert "http://127.0.0.1:8333" not in d["script-src"]

    monkeypatch.setattr(settings, "s3_endpoint_url", None)
    monkeypatch.setattr(settings, "s3_region", "ap-southeast-3")
    d = _directives(security.page_policy(settings))
    assert "https://lms-bucket.s3.ap-southeast-3.amazonaws.com" in d["connect-src"]

    provider = OidcProvider(
        name="sso", discovery_url="https://sso.example.go.id/realms/asn/.well-known/openid-configuration",
        client_id="lms",
    )  # fmt: skip
    monkeypatch.setattr(settings, "oidc_providers", [provider])
    d = _directives(security.page_policy(settings))
    assert d["form-action"] == ["'self'", "https://sso.example.go.id"]

    monkeypatch.setattr(settings, "content_origin", "http://127.0.0.1:8001", raising=False)
    d = _directives(security.page_policy(settings))
    assert "http://127.0.0.1:8001" in d["frame-src"]
    assert "http://127.0.0.1:8001" not in d["script-src"] + d["connect-src"]
