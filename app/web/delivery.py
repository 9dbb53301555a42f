"""Sends a stored object to the browser: a redirect to a short-lived S3 URL, or a streamed,
range-aware, cache-validated response from disk. Owns the download safety headers.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterator
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from app.courses.filetypes import is_inline_safe
from app.storage import ObjectInfo, Storage, content_disposition

MAX_RANGES = 16
DEFAULT_CACHE_CONTROL = "private, no-cache"  # course material is per user: revalidate by ETag
_SANDBOX_CSP = "sandbox; default-src 'none'"
_RANGE_SPEC = re.compile(r"([0-9]*)-([0-9]*)")  # ASCII digits only
_ETAG_SAFE = re.compile(r"[!#-~]+")  # RFC 9110 etagc, without the quote

Ranges = list[tuple[int, int]]  # inclusive (first, last) byte positions


def serve_object(
    request: Request,
    storage: Storage,
    *,
    key: str,
    filename: str | None,
    content_type: str,
    inline: bool,
    etag_hint: str | None = None,
    cache_control: str = DEFAULT_CACHE_CONTROL,
    trusted_html: bool = False,
    allow_redirect: bool = True,
    extra_headers: dict[str, str] | None = None,
) -> Response:
    """The response for GET/HEAD of one stored object; call it from a sync (`def`) route.

    It takes plain values, so the route's database session is closed before bytes flow.
    `etag_hint` is the ContentFile's sha256 (a strong validator for these exact bytes).
    Markup and unknown types are always sent as attachments inside a CSP sandbox, except with
    `trusted_html`: SCORM packages are served inline and unsandboxed, and their markup is
    streamed from here even on S3 (a redirect would move it to the bucket's origin); only the
    content origin (app/courses/content_origin.py), which carries no cookies, uses it, with
    `allow_redirect=False` (every byte from that origin, as its CSP demands) and its own
    `extra_headers` (the CSP). Uploaded HTML elsewhere stays a sandboxed attachment.
    """
    safe = trusted_html or is_inline_safe(content_type)
    same_origin = trusted_html and not is_inline_safe(content_type)
    show_inline = inline and safe
    etag = _quote_etag(etag_hint) if etag_hint else None
    if request.method == "GET" and not same_origin and allow_redirect:
        if etag is not None and _none_match(request, etag):
            return Response(
                status_code=304,
                headers={"ETag": etag, "Cache-Control": cache_control, **(extra_headers or {})},
            )
        url = storage.presigned_get_url(
            key, filename=filename, content_type=content_type, inline=show_inline
        )
        if url is not None:
            # The URL expires in s3_presign_seconds; a cached redirect would outlive it.
            return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
    # HEAD never redirects: a presigned GET URL's signature does not cover HEAD.
    info = storage.stat(key)
    if etag is None:
        etag = _quote_etag(info.sha256 or info.etag)
    headers = _base_headers(info, etag, filename, content_type, show_inline, safe, cache_control)
    headers.update(extra_headers or {})
    if _not_modified(request, etag, info.last_modified):
        return Response(
            status_code=304,
            # The extra headers too: a 304's headers replace the cached response's (its CSP).
            headers={
                **{k: headers[k] for k in ("ETag", "Last-Modified", "Cache-Control")},
                **(extra_headers or {}),
            },
        )
    ranges = _requested_ranges(request, info.size, etag, info.last_modified)
    if ranges is None:
        return _full(request, storage, key, info.size, headers)
    if not ranges:
        headers.update({"Content-Range": f"bytes */{info.size}", "Content-Length": "0"})
        del headers["Content-Type"]
        return Response(status_code=416, headers=headers)
    if len(ranges) == 1:
        return _single_range(request, storage, key, info.size, ranges[0], headers)
    return _multipart(request, storage, key, info.size, ranges, headers)


def _quote_etag(value: str) -> str:
    value = value.strip().strip('"')
    if not _ETAG_SAFE.fullmatch(value):
        value = secrets.token_hex(8)  # unusable validator rather than a broken header
    return f'"{value}"'


def _base_headers(
    info: ObjectInfo,
    etag: str,
    filename: str | None,
    content_type: str,
    show_inline: bool,
    safe: bool,
    cache_control: str,
) -> dict[str, str]:
    headers = {
        "Content-Type": content_type,
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Last-Modified": _http_date(info.last_modified),
        "Cache-Control": cache_control,
        "Content-Disposition": content_disposition(filename, inline=show_inline),
        "X-Content-Type-Options": "nosniff",
    }
    if not safe:
        # Even if a browser were talked into rendering it, the document gets no origin.
        headers["Content-Security-Policy"] = _SANDBOX_CSP
    return headers


def _http_date(moment: dt.datetime) -> str:
    return format_datetime(moment.astimezone(dt.UTC).replace(microsecond=0), usegmt=True)


def _parse_http_date(value: str) -> dt.datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


# --- conditional requests (RFC 9110 section 13) -------------------------------------------


def _etags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def _none_match(request: Request, etag: str) -> bool:
    """If-None-Match uses the weak comparison: W/"x" matches "x"."""
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    tags = _etags(header)
    return "*" in tags or etag in {tag.removeprefix("W/") for tag in tags}


def _not_modified(request: Request, etag: str, last_modified: dt.datetime) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    if "if-none-match" in request.headers:  # it overrides If-Modified-Since when present
        return _none_match(request, etag)
    since = _parse_http_date(request.headers.get("if-modified-since", ""))
    return since is not None and last_modified.replace(microsecond=0) <= since


def _if_range_holds(request: Request, etag: str, last_modified: dt.datetime) -> bool:
    """If-Range: serve the range only if the client's copy is the current one (strong match)."""
    value = request.headers.get("if-range")
    if value is None:
        return True
    value = value.strip()
    if value.startswith(("W/", '"')):
        return value == etag  # a weak tag never matches here
    moment = _parse_http_date(value)
    return moment is not None and moment == last_modified.replace(microsecond=0)


# --- ranges (RFC 9110 section 14) ----------------------------------------------------------


def _requested_ranges(
    request: Request, size: int, etag: str, last_modified: dt.datetime
) -> Ranges | None:
    """None: send the whole object. []: nothing satisfiable (416). Else the byte ranges."""
    header = request.headers.get("range")
    if header is None or not _if_range_holds(request, etag, last_modified):
        return None
    return parse_range(header, size)


def parse_range(header: str, size: int) -> Ranges | None:
    """`bytes=0-99, -500, 1000-` -> inclusive ranges clipped to `size`.

    Invalid syntax, another unit, too many ranges, or ranges adding up to more than the object
    (an amplification trick) make us ignore the header (None) as RFC 9110 allows.
    """
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip():
        return None
    specs = [part.strip() for part in spec.split(",") if part.strip()]
    if not specs or len(specs) > MAX_RANGES:
        return None
    ranges: Ranges = []
    for part in specs:
        match = _RANGE_SPEC.fullmatch(part)
        if match is None or match.group(1) == match.group(2) == "":
            return None
        first_text, last_text = match.groups()
        if first_text == "":  # suffix: the last N bytes
            length = int(last_text)
            if length > 0 and size > 0:
                ranges.append((max(0, size - length), size - 1))
            continue
        first = int(first_text)
        if last_text and int(last_text) < first:
            return None
        if first < size:
            ranges.append((first, min(int(last_text), size - 1) if last_text else size - 1))
    if sum(last - first + 1 for first, last in ranges) > size:
        return None
    return ranges


# --- bodies ----------------------------------------------------------------------------------


def _full(
    request: Request, storage: Storage, key: str, size: int, headers: dict[str, str]
) -> Response:
    headers["Content-Length"] = str(size)
    if request.method == "HEAD":
        return Response(status_code=200, headers=headers)
    # open_range raises NotFound now (a 404), not halfway through a 200.
    return StreamingResponse(storage.open_range(key), status_code=200, headers=headers)


def _single_range(
    request: Request,
    storage: Storage,
    key: str,
    size: int,
    byte_range: tuple[int, int],
    headers: dict[str, str],
) -> Response:
    first, last = byte_range
    headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    headers["Content-Length"] = str(last - first + 1)
    if request.method == "HEAD":
        return Response(status_code=206, headers=headers)
    return StreamingResponse(storage.open_range(key, first, last), status_code=206, headers=headers)


def _multipart(
    request: Request,
    storage: Storage,
    key: str,
    size: int,
    ranges: Ranges,
    headers: dict[str, str],
) -> Response:
    """206 multipart/byteranges (RFC 9110 section 14.6), with an exact Content-Length."""
    boundary = secrets.token_hex(16)
    part_content_type = headers["Content-Type"]
    heads = [
        (
            f"--{boundary}\r\nContent-Type: {part_content_type}\r\n"
            f"Content-Range: bytes {first}-{last}/{size}\r\n\r\n"
        ).encode("latin-1")
        for first, last in ranges
    ]
    tail = f"--{boundary}--\r\n".encode("latin-1")
    length = sum(
        len(h) + (last - first + 1) + 2 for h, (first, last) in zip(heads, ranges, strict=True)
    )
    headers["Content-Type"] = f"multipart/byteranges; boundary={boundary}"
    headers["Content-Length"] = str(length + len(tail))
    if request.method == "HEAD":
        return Response(status_code=206, headers=headers)

    def body() -> Iterator[bytes]:
        for head, (first, last) in zip(heads, ranges, strict=True):
            yield head
            yield from storage.open_range(key, first, last)
            yield b"\r\n"
        yield tail

    return StreamingResponse(body(), status_code=206, headers=headers)
