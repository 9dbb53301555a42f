"""Static files under hashed names (`app.3f9c2e1a.css`) served with a one-year immutable cache.

The manifest is built once at start-up from the files' sha256; a changed file gets a new URL.
"""

from __future__ import annotations

import hashlib
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
        response = self._lookup(rel)
        await response(scope, receive, send)

    def _lookup(self, rel: str) -> Response:
        cache = "public, max-age=300"
        match = _HASHED.match(rel)
        if match:
            original = match["stem"] + match["suffix"]
            if manifest().get(original) == match["digest"]:
                rel, cache = original, IMMUTABLE
        if rel not in manifest():
            raise HTTPException(status_code=404)
        return FileResponse(STATIC_DIR / rel, headers={"Cache-Control": cache})
