"""Static files under hashed names (`app.3f9c2e1a.css`) served with a one-year immutable cache.

The manifest is built once at start-up from the files' sha256; a changed file gets a new URL.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
from functools import lru_cache
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.types import Receive, Scope, Send

STATIC_DIR = Path(__file__).resolve().parent.parent.parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
_HASHED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{10})(?P<suffix>\.[A-Za-z0-9]+)$")


@lru_cache(maxsize=1)
def manifest() -> dict[str, str]:
    """Relative path -> first 10 hex digits of its sha256."""
    result: dict[str, str] = {}
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file():
            rel = path.relative_to(STATIC_DIR).as_posix()
            result[rel] = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    return result


def static_url(path: str) -> str:
    """URL of a static file with its content hash in the name."""
    digest = manifest().get(path)
    if digest is None:
        raise KeyError(f"static file not found: {path}")
    stem, dot, suffix = path.rpartition(".")
    return f"/static/{stem}.{digest}.{suffix}" if dot else f"/static/{path}"


class HashedStaticFiles:
    """ASGI app for /static: hashed names get the immutable cache, plain names a short one."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Starlette keeps the full path and puts the mount prefix in root_path (or not, in older
        # versions): strip whichever is there.
        path: str = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        rel = path.removeprefix("/static").lstrip("/")
        accept = dict(scope.get("headers") or []).get(b"accept-encoding", b"")
        response = self._lookup(rel, gzip_ok=b"gzip" in accept)
        await response(scope, receive, send)

    def _lookup(self, rel: str, *, gzip_ok: bool = False) -> Response:
        cache = "public, max-age=300"
        match = _HASHED.match(rel)
        if match:
            original = match["stem"] + match["suffix"]
            if manifest().get(original) == match["digest"]:
                rel, cache = original, IMMUTABLE
        if rel not in manifest():
            raise HTTPException(status_code=404)
        if rel.endswith(COMPRESSIBLE):
            headers = {"Cache-Control": cache, "Vary": "Accept-Encoding"}
            media_type = mimetypes.guess_type(rel)[0] or "application/octet-stream"
            if rel.endswith((".js", ".mjs")):
                media_type = "text/javascript"
            if gzip_ok:
                headers["Content-Encoding"] = "gzip"
                return Response(_gzipped(rel), media_type=media_type, headers=headers)
            return FileResponse(STATIC_DIR / rel, media_type=media_type, headers=headers)
        return FileResponse(STATIC_DIR / rel, headers={"Cache-Control": cache})


# Text assets travel gzipped (pdf.js: 1.6 MiB -> 0.5 MiB on a phone's slow link); compressed once
# per process and kept, since the files never change while it runs.
COMPRESSIBLE = (".js", ".mjs", ".css", ".svg", ".json", ".map")


@lru_cache(maxsize=64)
def _gzipped(rel: str) -> bytes:
    return gzip.compress((STATIC_DIR / rel).read_bytes(), compresslevel=9, mtime=0)


THEME_COLOR = "#0172ad"  # Pico's primary blue, the header's and the icon's colour
ICON_CACHE = "public, max-age=604800"  # /favicon.ico and the manifest keep fixed names: a week


def web_manifest(name: str, short_name: str, lang: str) -> dict[str, object]:
    """The web app manifest (so ASN can add the LMS to a phone's home screen); icons by
    their hashed URLs."""
    return {
        "name": name,
        "short_name": short_name,
        "lang": lang,
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOR,
        "icons": [
            {"src": static_url("icons/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
            {"src": static_url("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static_url("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static_url("icons/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }


def favicon_response() -> Response:
    """/favicon.ico, which browsers ask for by that name whatever the page links."""
    return FileResponse(
        STATIC_DIR / "icons" / "favicon.ico",
        media_type="image/vnd.microsoft.icon",
        headers={"Cache-Control": ICON_CACHE},
    )
