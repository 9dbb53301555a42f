"""SCORM packages run on a separate content origin that never sees the LMS's cookies.

A package is uploaded HTML and JavaScript: on the LMS's own origin it could read the learner's
pages and call the API as the learner. So its files are served only from LMS_CONTENT_ORIGIN
(another host name; on the embedded default `lms serve` also listens on its port), under a path
that carries a short-lived signed capability instead of a cookie:

    {content_origin}/c/{token}/launch                     the launcher page (SCORM API shim)
    {content_origin}/c/{token}/{package_id}/{path}        the package's files

The token binds user, package and expiry (HMAC-SHA256 with LMS_SECRET_KEY); every request checks
it and the user's access again. Relative URLs inside the package keep working under the prefix.

One ASGI app serves both origins and routes by Host (`ContentOriginRouter`): requests for the
content host reach only `content_app` (these routes, nothing else; the Cookie and Authorization
headers are removed before it runs), and the LMS host has no `/c/` routes. Content responses
carry their own CSP (scripts from the content origin itself, framed only by the LMS) and never
a cookie.

The bridge (static/js/scorm-launcher.js <-> static/js/scorm-player.js): the launcher runs
scorm-again's Scorm12API for the SCO (synchronous answers, exact error codes), loaded with the
cmi the LMS player sends at launch, and relays every successful LMSInitialize, LMSSetValue,
LMSCommit and LMSFinish to the player by postMessage (strict target origin); the player checks
origin and source, replays the call on its own Scorm12API and saves to the server as before.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from app.accounts import service as accounts_service
from app.auth.service import Principal
from app.core import i18n
from app.core.asgi import HttpMiddleware
from app.core.config import Settings, get_settings
from app.core.db import session_scope
from app.core.errors import LMSError
from app.core.i18n import gettext_ as _
from app.core.numbers import row_id
from app.courses import content, repository
from app.storage.service import get_storage
from app.web.delivery import serve_object
from app.web.static import HashedStaticFiles, static_url

TOKEN_PURPOSE = b"scorm-content-v1"
LAUNCHER_ASSETS = ("js/scorm-launcher.js", "vendor/scorm-again-scorm12.min.js")
_SIG_HEX = 32  # 128 bits of HMAC-SHA256
_MAX_ID = 2**63 - 1


# --- origins ----------------------------------------------------------------------------------


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, lower case, default port left out."""
    parts = urlsplit(url)
    scheme = parts.scheme or "http"
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def lms_origin(settings: Settings) -> str:
    return origin_of(settings.base_url)


def content_origin(settings: Settings) -> str:
    return origin_of(settings.content_origin or "")


def _host_port(value: str, scheme: str) -> tuple[str, int] | None:
    """("host", port) of a Host header value; None when it is not one."""
    try:
        parts = urlsplit(f"{scheme}://{value.strip()}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname.lower(), port or (443 if scheme == "https" else 80)


def is_content_host(host_header: str, settings: Settings) -> bool:
    """Whether a request's Host names the content origin (host and port)."""
    origin = urlsplit(content_origin(settings))
    wanted = _host_port(origin.netloc, origin.scheme)
    return wanted is not None and _host_port(host_header, origin.scheme) == wanted


def problem(settings: Settings) -> str | None:
    """Why the content origin does not isolate the LMS's cookies (None when it does)."""
    content_host = (urlsplit(content_origin(settings)).hostname or "").lower()
    lms_host = (urlsplit(settings.base_url).hostname or "").lower()
    if content_host != lms_host:
        return None
    return (
        f"LMS_CONTENT_ORIGIN={content_origin(settings)} has the same host name as LMS_BASE_URL: "
        "browsers send the LMS's cookies to every port of a host, so SCORM packages are not "
        "isolated. Set LMS_CONTENT_ORIGIN to another host name (e.g. https://konten.lms.example.go.id)"
    )


# --- capability tokens ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Capability:
    user_id: int
    package_id: int
    expires: int  # unix seconds


def _signature(user_id: int, package_id: int, expires: int, settings: Settings) -> str:
    message = b"|".join((TOKEN_PURPOSE, b"%d" % user_id, b"%d" % package_id, b"%d" % expires))
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()[:_SIG_HEX]


def mint(user_id: int, package_id: int, settings: Settings, *, now: float | None = None) -> str:
    """A token for one user and package. Its expiry is rounded up to the hour, so launches within
    the same hour get the same URLs and the browser's cache keeps working."""
    moment = time.time() if now is None else now
    expires = math.ceil((moment + settings.content_link_minutes * 60) / 3600) * 3600
    return f"{user_id}.{package_id}.{expires}.{_signature(user_id, package_id, expires, settings)}"


def read(token: str, settings: Settings, *, now: float | None = None) -> Capability | None:
    """The capability of a genuine, unexpired token, else None."""
    parts = token.split(".")
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() and len(p) <= 19 for p in parts[:3]):
        return None
    user_id, package_id, expires = (int(p) for p in parts[:3])
    if max(user_id, package_id) > _MAX_ID:
        return None
    expected = _signature(user_id, package_id, expires, settings)
    if not hmac.compare_digest(expected.encode(), parts[3].encode()):
        return None
    if expires <= (time.time() if now is None else now):
        return None
    return Capability(user_id, package_id, expires)


def launcher_url(token: str, settings: Settings) -> str:
    return f"{content_origin(settings)}/c/{token}/launch"


def file_url(token: str, package_id: int, path: str, settings: Settings) -> str:
    return f"{content_origin(settings)}/c/{token}/{package_id}/{quote(path, safe='/')}"


# --- content security policies ----------------------------------------------------------------


def package_csp(settings: Settings) -> str:
    """For the package's files: the package may run its own (inline) scripts, load only from the
    content origin, and be framed only by the launcher and the LMS player."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "media-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "frame-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            f"frame-ancestors 'self' {lms_origin(settings)}",
        )
    )


def launcher_csp(settings: Settings) -> str:
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'unsafe-inline'",  # the page's own <style>; styles run no code
            "img-src 'self'",
            "frame-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            f"frame-ancestors {lms_origin(settings)}",
        )
    )


def _headers(csp: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "Referrer-Policy": "same-origin",  # the token stays off other sites' logs
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "same-site",
    }


# --- the content app --------------------------------------------------------------------------


def _refused(status: int, message: str) -> Response:
    return PlainTextResponse(
        message,
        status_code=status,
        headers={**_headers("default-src 'none'"), "Cache-Control": "no-store"},
    )


def _bad_link() -> Response:
    return _refused(
        403,
        _("Tautan materi tidak sah atau sudah kedaluwarsa. Buka lagi aktivitas ini dari LMS."),
    )


def _capability(request: Request, settings: Settings) -> Capability | None:
    return read(request.path_params["token"], settings)


def _principal(session: Any, user_id: int) -> Principal | None:
    who = accounts_service.identity(session, user_id)
    if who is None or not who.is_active:
        return None
    return Principal(who.user_id, who.name, who.roles, via="content")


def _launcher(request: Request) -> Response:
    settings = get_settings()
    cap = _capability(request, settings)
    if cap is None:
        return _bad_link()
    token = request.path_params["token"]
    with session_scope() as session:
        principal = _principal(session, cap.user_id)
        if principal is None:
            return _bad_link()
        try:
            content.ensure_package_access(session, principal, cap.package_id)
            package = content.get_package(session, cap.package_id)
        except LMSError as error:
            return _refused(error.status_code, error.detail)
        sco_url = file_url(token, package.id, package.launch_href, settings)
    from app.web.templating import templates

    html = templates.get_template("courses/scorm_launcher.html").render(
        locale=i18n.current_locale.get(),
        lms_origin=lms_origin(settings),
        sco_url=sco_url,
        scripts=[static_url(path) for path in reversed(LAUNCHER_ASSETS)],
    )
    headers = {**_headers(launcher_csp(settings)), "Cache-Control": "no-store"}
    if request.method == "HEAD":
        return Response(status_code=200, media_type="text/html", headers=headers)
    return HTMLResponse(html, headers=headers)


def _package_file(request: Request) -> Response:
    settings = get_settings()
    cap = _capability(request, settings)
    package_id = row_id(request.path_params["package_id"])
    if package_id is None:
        return _refused(404, _("Halaman tidak ditemukan."))
    if cap is None or cap.package_id != package_id:
        return _bad_link()
    path = request.path_params["path"]
    with session_scope() as session:
        principal = _principal(session, cap.user_id)
        if principal is None:
            return _bad_link()
        try:
            content.ensure_package_access(session, principal, package_id)
        except LMSError as error:
            return _refused(error.status_code, error.detail)
        entry = repository.get_scorm_file(session, package_id, path)
        if entry is None:
            return _refused(404, _("Berkas tidak ada di paket SCORM ini."))
        key, content_type = entry.storage_key, entry.content_type
    try:
        return serve_object(
            request,
            get_storage(settings),
            key=key,
            filename=path.rsplit("/", 1)[-1],
            content_type=content_type,
            inline=True,
            trusted_html=True,  # on the content origin: no cookies, no LMS API to reach
            allow_redirect=False,  # everything from this origin, as the CSP demands
            extra_headers=_headers(package_csp(settings)),
        )
    except LMSError as error:  # the object is missing from storage
        return _refused(error.status_code, error.detail)


_assets = HashedStaticFiles()


async def _asset(scope: Scope, receive: Receive, send: Send) -> None:
    """Only the launcher's two scripts, under their hashed names."""
    rel = scope["path"].removeprefix("/static/")
    match = [asset for asset in LAUNCHER_ASSETS if static_url(asset) == f"/static/{rel}"]
    if not match:
        await _refused(404, _("Halaman tidak ditemukan."))(scope, receive, send)
        return
    await _assets(scope, receive, send)


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    await _refused(404, _("Halaman tidak ditemukan."))(scope, receive, send)


def _create_content_app() -> Starlette:
    app = Starlette(
        routes=[
            Route("/c/{token}/launch", _launcher, methods=["GET", "HEAD"]),
            Route("/c/{token}/{package_id}/{path:path}", _package_file, methods=["GET", "HEAD"]),
        ]
    )
    return app


content_app = _create_content_app()

_STRIPPED = {b"cookie", b"authorization"}


class ContentOriginRouter(HttpMiddleware):
    """Outermost ASGI layer: a request whose Host is the content origin goes to `content_app`
    only (without its Cookie and Authorization headers); every other request to the LMS."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        host = next((v for k, v in scope.get("headers", []) if k == b"host"), b"")
        if not is_content_host(host.decode("latin-1"), get_settings()):
            await self.app(scope, receive, send)
            return
        inner = dict(scope)
        inner["headers"] = [(k, v) for k, v in scope.get("headers", []) if k not in _STRIPPED]
        path: str = scope["path"]
        if path.startswith("/static/"):
            await _asset(inner, receive, send)
        elif path.startswith("/c/"):
            await content_app(inner, receive, _without_cookies(send))
            if "route" in inner:  # the metrics label: the route template, never the token
                scope["route"] = inner["route"]
        else:
            await _not_found(inner, receive, send)


def _without_cookies(send: Send) -> Send:
    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = dict(message)
            message["headers"] = [
                (k, v) for k, v in message.get("headers", []) if k.lower() != b"set-cookie"
            ]
        await send(message)

    return wrapped  # type: ignore[return-value]


# --- `lms serve` on the embedded default ------------------------------------------------------

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def embedded_port(settings: Settings, lms_port: int) -> int | None:
    """The port `lms serve` also listens on for the content origin: its port, when its host is a
    loopback name or LMS_BASE_URL's host and this process serves LMS_BASE_URL's port (the
    embedded default). None when a proxy in front sends the content host name to the app's
    ports (production), and for further processes on other ports behind a balancer."""
    origin = urlsplit(content_origin(settings))
    host = (origin.hostname or "").lower()
    port = origin.port or (443 if origin.scheme == "https" else 80)
    base = urlsplit(settings.base_url)
    base_port = base.port or (443 if base.scheme == "https" else 80)
    local = host in _LOOPBACK or host == (base.hostname or "").lower()
    if not local or port == lms_port or lms_port != base_port:
        return None
    return port


def run_server(
    *,
    host: str,
    port: int,
    workers: int,
    content_port: int | None,
    proxy_headers: bool,
    content_required: bool = True,
) -> None:
    """uvicorn on the LMS port and, when given, the content port too: one app, routed by Host.
    A content port that is taken stops the server, or (not `content_required`: derived, not
    asked for) leaves a warning and serves the LMS alone.

    uvloop and httptools (uvicorn[standard]): bench/servers.py measured less than half the
    server CPU per request of asyncio + h11. granian was level with them on the real app and
    binds one address per server (the content origin needs a second listener in the same
    processes). Where they are not installed (Windows) the pure-Python pair runs, with a
    warning."""
    import socket
    import sys
    from importlib.util import find_spec

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    missing = [name for name in ("uvloop", "httptools") if find_spec(name) is None]
    if missing:
        print(f"WARNING: {' and '.join(missing)} not installed: the server runs slower "
              "(pip install 'uvicorn[standard]')", file=sys.stderr)  # fmt: skip
    options: dict[str, Any] = {
        "factory": True, "host": host, "port": port, "workers": workers,
        "proxy_headers": proxy_headers, "access_log": False,
        "loop": "asyncio" if "uvloop" in missing else "uvloop",
        "http": "h11" if "httptools" in missing else "httptools",
        # Several workers: the supervisor kills a worker that does not answer its ping in time
        # and starts another. uvicorn's 5 s is shorter than a worker's start on a busy machine
        # (a new interpreter importing the CLI), which then never comes up.
        "timeout_worker_healthcheck": 30,
        "timeout_keep_alive": get_settings().keep_alive_seconds,
    }  # fmt: skip
    if content_port is None:
        uvicorn.run("app.main:create_app", **options)
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    second = socket.socket(family=family, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    second.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        second.bind((host, content_port))
    except OSError as exc:
        second.close()
        message = (
            f"SCORM content origin: cannot listen on {host}:{content_port} ({exc}); set "
            "LMS_CONTENT_ORIGIN to a free port or pass --content-port"
        )
        if content_required:
            sys.exit(message)
        print(f"WARNING: {message}; SCORM packages will not load", file=sys.stderr)
        uvicorn.run("app.main:create_app", **options)
        return
    second.set_inheritable(True)
    config = uvicorn.Config("app.main:create_app", **options)
    sockets = [config.bind_socket(), second]
    if workers > 1:
        Multiprocess(config, sockets=sockets).run()
        return
    config.load_app()
    server = uvicorn.Server(config)
    server.run(sockets=sockets)
    if not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE
