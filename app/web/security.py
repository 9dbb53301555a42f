"""Security headers on every response: Content-Security-Policy, HSTS (https only),
Referrer-Policy, Permissions-Policy, X-Content-Type-Options and Cross-Origin-Opener-Policy.

Pages run no inline script (every script is a file under /static), so `script-src 'self'` needs
no nonce. Styles keep 'unsafe-inline' for the templates' `style=` attributes (styles cannot run
code). The policy names the other origins the browser really talks to: the S3 endpoint (media
and PDFs by presigned redirect, multipart upload PUTs), the content origin for SCORM packages
(`content_origin`, when set) and the SSO providers (the login form's redirect to them).

A response that already carries a Content-Security-Policy keeps it (file delivery puts a sandbox
on unsafe files). SCORM package files get only `frame-ancestors`: their own scripts must run.
Inline PDFs get only `frame-ancestors` too: Chromium's built-in viewer is a plugin that
`object-src 'none'` on the PDF itself would block.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import MutableHeaders
from starlette.types import Message, Receive, Scope, Send

from app.core.asgi import HttpMiddleware
from app.core.config import Settings, get_settings
from app.storage.s3 import parse_s3_url

DOCS_PATH = "/api/v1/docs"
SCORM_PREFIX = "/scorm/"
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
HSTS = "max-age=31536000; includeSubDomains"


def origin_of(url: str | None) -> str | None:
    """scheme://host[:port] of an absolute http(s) URL, else None."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def storage_origins(settings: Settings) -> tuple[str, ...]:
    """Where presigned S3 URLs point: the configured endpoint, else AWS's bucket host names."""
    if not settings.storage_url.startswith("s3://"):
        return ()
    endpoint = origin_of(settings.s3_endpoint_url)
    if endpoint:
        return (endpoint,)
    try:
        bucket, _prefix = parse_s3_url(settings.storage_url)
    except ValueError:
        return ()
    return (
        f"https://{bucket}.s3.{settings.s3_region}.amazonaws.com",
        f"https://{bucket}.s3.amazonaws.com",
    )


def content_origin(settings: Settings) -> str | None:
    """The separate origin SCORM and uploaded HTML are served from (LMS_CONTENT_ORIGIN)."""
    return origin_of(getattr(settings, "content_origin", None))


def sso_origins(settings: Settings) -> tuple[str, ...]:
    """The identity providers the login form's GET /login/sso/{name} redirects to."""
    found = (origin_of(p.discovery_url) for p in settings.oidc_providers)
    return tuple(sorted({o for o in found if o}))


def _join(*sources: str | None) -> str:
    seen: list[str] = []
    for source in sources:
        if source and source not in seen:
            seen.append(source)
    return " ".join(seen)


@lru_cache(maxsize=16)
def _page_policy(storage: tuple[str, ...], content: str | None, sso: tuple[str, ...]) -> str:
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self' 'unsafe-inline'",
        "img-src": _join("'self'", "data:", "blob:", *storage),
        "font-src": "'self' data:",
        "connect-src": _join("'self'", *storage),
        "media-src": _join("'self'", "blob:", *storage),
        "worker-src": "'self'",  # the pdf.js worker (static/vendor/pdf.worker.min.mjs)
        "frame-src": _join("'self'", content, *storage),
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": _join("'self'", *sso),
        "frame-ancestors": "'self'",
        "manifest-src": "'self'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def page_policy(settings: Settings) -> str:
    """The Content-Security-Policy of pages, static files, JSON and errors."""
    return _page_policy(storage_origins(settings), content_origin(settings), sso_origins(settings))


def framed_only_policy(settings: Settings) -> str:
    """For documents that run their own code (SCORM) or a viewer plugin (PDF): framing only."""
    return "frame-ancestors " + _join("'self'", origin_of(settings.base_url))


def headers_for(path: str, content_type: str, settings: Settings) -> dict[str, str]:
    """Every security header for one response (its path and Content-Type)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if path.startswith(SCORM_PREFIX) or media == "application/pdf":
        csp = framed_only_policy(settings)
    else:
        csp = page_policy(settings)
    headers = {
        "Content-Security-Policy": csp,
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Permissions-Policy": PERMISSIONS_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if settings.base_url.startswith("https://"):
        headers["Strict-Transport-Security"] = HSTS
    return headers


def add_headers(path: str, headers: MutableHeaders, settings: Settings) -> None:
    """Set each security header the response does not set itself."""
    for name, value in headers_for(path, headers.get("content-type", ""), settings).items():
        if name not in headers:
            headers[name] = value


class SecurityHeadersMiddleware(HttpMiddleware):
    """Adds the headers at `http.response.start`; the 500 page adds them itself (it is built by
    Starlette's outermost error middleware, outside this one)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        settings = get_settings()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_headers(path, MutableHeaders(scope=message), settings)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _docs_page(request: Request) -> HTMLResponse:
    """Swagger UI from static/vendor (no CDN), started by a script file (no inline script)."""
    from app.web.static import static_url

    openapi_url = request.app.openapi_url or "/api/v1/openapi.json"
    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(request.app.title)} — API</title>
<link rel="stylesheet" href="{static_url("vendor/swagger-ui/swagger-ui.css")}">
<link rel="icon" href="{static_url("icons/icon.svg")}" type="image/svg+xml">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{escape(openapi_url)}"></div>
<script src="{static_url("vendor/swagger-ui/swagger-ui-bundle.js")}"></script>
<script src="{static_url("js/swagger-init.js")}"></script>
</body>
</html>
"""
    return HTMLResponse(html)


def install_docs(app: FastAPI) -> None:
    """GET /api/v1/docs: create the app with docs_url=None and call this instead."""
    app.add_api_route(DOCS_PATH, _docs_page, methods=["GET"], include_in_schema=False)
