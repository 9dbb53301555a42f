"""Static files under hashed names (`app.3f9c2e1a.css`) served with a one-year immutable cache,
text assets precompressed (brotli and gzip siblings made at build time by `lms compress-static`).

The manifest is built once at start-up from the files' sha256; a changed file gets a new URL.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import brotli  # type: ignore[import-untyped]
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.types import Receive, Scope, Send

from app.web.compression import MINIMUM_SIZE, choose_encoding

STATIC_DIR = Path(__file__).resolve().parent.parent.parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
_HASHED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{10})(?P<suffix>\.[A-Za-z0-9]+)$")
# Text assets travel compressed (pdf.js: 1.6 MiB -> 0.4 MiB with brotli on a phone's slow link).
COMPRESSIBLE = (".js", ".mjs", ".css", ".svg", ".json", ".map")
# Precompressed siblings: `pdf.min.mjs.br`, `pdf.min.mjs.gz` next to `pdf.min.mjs`.
SIBLINGS = {"br": ".br", "gzip": ".gz"}


def _is_sibling(path: Path) -> bool:
    """A build-made `.br`/`.gz` next to its text asset, or one being written (not an asset)."""
    if path.name.startswith(".") and path.suffix == ".tmp":
        return True
    if path.suffix not in SIBLINGS.values():
        return False
    source = path.with_suffix("")
    return source.name.endswith(COMPRESSIBLE)


@lru_cache(maxsize=1)
def manifest() -> dict[str, str]:
    """Relative path -> first 10 hex digits of its sha256."""
    result: dict[str, str] = {}
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file() and not _is_sibling(path):
            rel = path.relative_to(STATIC_DIR).as_posix()
            result[rel] = _digest(path.read_bytes())
    return result


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:10]


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
        headers = dict(scope.get("headers") or [])
        # A range refers to the identity bytes: such requests get the plain file.
        accept = b"" if b"range" in headers else headers.get(b"accept-encoding", b"")
        response = self._lookup(rel, accept=accept.decode("latin-1"))
        await response(scope, receive, send)

    def _lookup(self, rel: str, *, accept: str = "") -> Response:
        cache = "public, max-age=300"
        match = _HASHED.match(rel)
        if match:
            original = match["stem"] + match["suffix"]
            if manifest().get(original) == match["digest"]:
                rel, cache = original, IMMUTABLE
        if rel not in manifest():
            raise HTTPException(status_code=404)
        if not rel.endswith(COMPRESSIBLE) or _small(rel):
            return FileResponse(STATIC_DIR / rel, headers={"Cache-Control": cache})
        headers = {"Cache-Control": cache, "Vary": "Accept-Encoding"}
        media_type = mimetypes.guess_type(rel)[0] or "application/octet-stream"
        if rel.endswith((".js", ".mjs")):
            media_type = "text/javascript"
        built = fresh_siblings(rel)
        encoding = choose_encoding(accept, tuple(c for c in SIBLINGS if c in built) or ("gzip",))
        if encoding is None:
            return FileResponse(STATIC_DIR / rel, media_type=media_type, headers=headers)
        headers["Content-Encoding"] = encoding
        if encoding in built:
            return FileResponse(_sibling(rel, encoding), media_type=media_type, headers=headers)
        # No build step ran (a development checkout): gzip once per process and keep it.
        return Response(_gzipped(rel), media_type=media_type, headers=headers)


def _sibling(rel: str, encoding: str) -> Path:
    return STATIC_DIR / (rel + SIBLINGS[encoding])


def _decode(data: bytes, encoding: str) -> bytes:
    return brotli.decompress(data) if encoding == "br" else gzip.decompress(data)


@lru_cache(maxsize=256)
def fresh_siblings(rel: str) -> frozenset[str]:
    """Encodings whose sibling holds exactly the asset's current bytes: a sibling left from an
    older build (the asset changed since) is never served. Checked once per asset and process."""
    found = set()
    for encoding in SIBLINGS:
        path = _sibling(rel, encoding)
        try:
            if _digest(_decode(path.read_bytes(), encoding)) == manifest()[rel]:
                found.add(encoding)
        except (OSError, ValueError, EOFError, brotli.error):
            continue
    return frozenset(found)


@lru_cache(maxsize=256)
def _small(rel: str) -> bool:
    """Too small to gain from compression (the icon's 239 bytes would grow)."""
    return (STATIC_DIR / rel).stat().st_size < MINIMUM_SIZE


@lru_cache(maxsize=64)
def _gzipped(rel: str) -> bytes:
    return gzip.compress((STATIC_DIR / rel).read_bytes(), compresslevel=9, mtime=0)


# --- the build step ---------------------------------------------------------------------------


def _targets() -> Iterator[str]:
    """Text assets worth compressing (tiny files would gain less than a packet)."""
    for rel in manifest():
        if rel.endswith(COMPRESSIBLE) and not _small(rel):
            yield rel


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)  # two builds at once never leave half a file


def _build_one(rel: str) -> list[str]:
    raw = (STATIC_DIR / rel).read_bytes()
    built = fresh_siblings(rel)
    written = []
    for encoding in SIBLINGS:
        if encoding in built:
            continue
        if encoding == "br":
            packed = brotli.compress(raw, quality=11, mode=brotli.MODE_TEXT)
        else:
            packed = gzip.compress(raw, compresslevel=9, mtime=0)
        _write_atomically(_sibling(rel, encoding), packed)
        written.append(rel + SIBLINGS[encoding])
    return written


def precompress_assets(workers: int | None = None) -> list[str]:
    """Write the missing or stale `.br` (quality 11) and `.gz` (level 9) siblings of every text
    asset; remove siblings whose asset is gone. Returns the paths written. The slow part
    (brotli 11: about 30 s of CPU for the vendored files) runs once, at image build time."""
    for path in STATIC_DIR.rglob("*"):
        if path.suffix != ".tmp" and _is_sibling(path) and not path.with_suffix("").is_file():
            path.unlink()
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        written = [path for paths in pool.map(_build_one, list(_targets())) for path in paths]
    fresh_siblings.cache_clear()
    return sorted(written)


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
