"""Compressed responses: brotli or gzip, chosen by Accept-Encoding, for text bodies above a size
threshold (pages are 5-10x smaller on a phone's slow link).

A pure ASGI middleware, so streamed bodies are compressed chunk by chunk (each chunk is flushed:
a slow stream still arrives as it is produced). Left alone: bodies that already have an encoding,
types that are compressed already (images, video, PDF, zip), partial content (a Range request or
a 206), `Cache-Control: no-transform`, HEAD requests, event streams, and requests another site
started (BREACH: the pages carry a per-session CSRF token next to reflected text; with
SameSite=Lax cookies the only cross-site requests with a session are top-level navigations, and
those answers stay uncompressed). Static files come precompressed (app/web/static.py).
"""

from __future__ import annotations

import zlib
from typing import Protocol

import brotli  # type: ignore[import-untyped]
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.asgi import HttpMiddleware

# Below this a compressed body saves less than a TCP packet's worth of time.
MINIMUM_SIZE = 1024
# Dynamic responses: brotli 4 and gzip 6 compress a typical 30 KB page in well under a
# millisecond (bench/page_weight.py --cpu); higher levels cost several times more for ~5 %.
BROTLI_QUALITY = 4
GZIP_LEVEL = 6
# Server preference when the client accepts several (brotli is ~15 % smaller than gzip).
ENCODINGS = ("br", "gzip")

_TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/javascript",
        "application/xml",
        "application/x-ndjson",
        "image/svg+xml",
    }
)


def compressible(content_type: str) -> bool:
    """Text-like media types that shrink; everything else is compressed already or binary."""
    media = content_type.partition(";")[0].strip().lower()
    if media == "text/event-stream":
        return False
    return media.startswith("text/") or media in _TEXT_TYPES or media.endswith(("+json", "+xml"))


def choose_encoding(accept_encoding: str, offered: tuple[str, ...] = ENCODINGS) -> str | None:
    """The first of `offered` the client accepts (RFC 9110 12.5.3: q=0 refuses, `*` stands for
    any coding not named); None: send the body as it is."""
    weights: dict[str, float] = {}
    for part in accept_encoding.split(","):
        name, _, params = part.partition(";")
        name = name.strip().lower()
        if not name:
            continue
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[name] = weight
    for coding in offered:
        if weights.get(coding, weights.get("*", 0.0)) > 0:
            return coding
    return None


class _Compressor(Protocol):
    def chunk(self, data: bytes) -> bytes: ...

    def finish(self, data: bytes) -> bytes: ...


class _Brotli:
    def __init__(self) -> None:
        self._inner = brotli.Compressor(quality=BROTLI_QUALITY)

    def chunk(self, data: bytes) -> bytes:
        return bytes(self._inner.process(data)) + bytes(self._inner.flush())

    def finish(self, data: bytes) -> bytes:
        return bytes(self._inner.process(data)) + bytes(self._inner.finish())


class _Gzip:
    def __init__(self) -> None:
        self._inner = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def chunk(self, data: bytes) -> bytes:
        return self._inner.compress(data) + self._inner.flush(zlib.Z_SYNC_FLUSH)

    def finish(self, data: bytes) -> bytes:
        return self._inner.compress(data) + self._inner.flush(zlib.Z_FINISH)


def _compressor(encoding: str) -> _Compressor:
    return _Brotli() if encoding == "br" else _Gzip()


def compress(data: bytes, encoding: str) -> bytes:
    """One whole body in `encoding` ("br" or "gzip"), at the dynamic-response level."""
    return _compressor(encoding).finish(data)


def _request_header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _eligible(status: int, headers: MutableHeaders) -> bool:
    """A body this middleware may compress (before looking at the client or the size)."""
    if status < 200 or status in (204, 206, 304):
        return False
    if "content-encoding" in headers or "content-range" in headers:
        return False
    if "no-transform" in headers.get("cache-control", "").lower():
        return False
    return compressible(headers.get("content-type", ""))


def _add_vary(headers: MutableHeaders) -> None:
    vary = headers.get("vary")
    if vary is None:
        headers["Vary"] = "Accept-Encoding"
    elif vary.strip() != "*" and "accept-encoding" not in vary.lower():
        headers["Vary"] = f"{vary}, Accept-Encoding"


class CompressionMiddleware(HttpMiddleware):
    def __init__(self, app: ASGIApp, *, minimum_size: int = MINIMUM_SIZE) -> None:
        super().__init__(app)
        self.minimum_size = minimum_size

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "HEAD" or _request_header(scope, b"range") is not None:
            await self.app(scope, receive, send)
            return
        encoding = choose_encoding(_request_header(scope, b"accept-encoding") or "")
        if _request_header(scope, b"sec-fetch-site") in ("cross-site", "same-site"):
            encoding = None  # BREACH (module docstring); the answer still says it varies
        await self.app(scope, receive, _Responder(send, encoding, self.minimum_size).send)


class _Responder:
    """Wraps `send` for one response: holds the start message until the first body chunk shows
    whether the body is worth compressing."""

    def __init__(self, send: Send, encoding: str | None, minimum_size: int) -> None:
        self._send = send
        self._encoding = encoding
        self._minimum = minimum_size
        self._start: Message | None = None
        self._compressor: _Compressor | None = None
        self._passing = False

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            await self._on_start(message)
        elif kind == "http.response.body" and not self._passing:
            await self._on_body(message)
        else:
            await self._send(message)

    async def _on_start(self, message: Message) -> None:
        headers = MutableHeaders(scope=message)
        if not _eligible(message["status"], headers):
            self._passing = True
            await self._send(message)
            return
        _add_vary(headers)
        length = headers.get("content-length")
        too_small = length is not None and length.isdigit() and int(length) < self._minimum
        if self._encoding is None or too_small:
            self._passing = True
            await self._send(message)
            return
        self._start = message

    async def _on_body(self, message: Message) -> None:
        body: bytes = message.get("body", b"")
        more: bool = message.get("more_body", False)
        if self._compressor is None:
            start, self._start = self._start, None
            assert start is not None and self._encoding is not None
            if not more and len(body) < self._minimum:
                self._passing = True
                await self._send(start)
                await self._send(message)
                return
            self._compressor = _compressor(self._encoding)
            headers = MutableHeaders(scope=start)
            headers["Content-Encoding"] = self._encoding
            del headers["content-length"]
            # Ranges refer to the identity bytes; the compressed body is another representation,
            # so it neither offers ranges nor keeps a strong validator (as nginx's gzip does).
            del headers["accept-ranges"]
            etag = headers.get("etag")
            if etag is not None and not etag.startswith("W/"):
                headers["ETag"] = f"W/{etag}"
            if not more:
                packed = self._compressor.finish(body)
                headers["Content-Length"] = str(len(packed))
                await self._send(start)
                await self._send({"type": "http.response.body", "body": packed})
                return
            await self._send(start)
        data = self._compressor.chunk(body) if more else self._compressor.finish(body)
        await self._send({"type": "http.response.body", "body": data, "more_body": more})
