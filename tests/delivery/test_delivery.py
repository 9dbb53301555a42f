"""serve_object: what a browser gets for a stored file — ranges, validators, safety headers, S3."""

from __future__ import annotations

import email.policy
import io
import os
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Callable
from email.parser import BytesParser
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from starlette.responses import Response

from app.storage import DiskStorage, S3Storage, Storage, new_key
from app.web import errors
from app.web.delivery import parse_range, serve_object

# Marked per module: tests/conftest.py's late marker breaks parametrized async tests.
pytestmark = pytest.mark.anyio

SIZE = 300_000
DATA = os.urandom(SIZE)

Client = Callable[..., Any]


def make_app(storage: Storage, key: str, **options: Any) -> FastAPI:
    app = FastAPI()
    errors.install(app)
    settings: dict[str, Any] = {
        "filename": "Modul 1 — Kebijakan.pdf",
        "content_type": "application/pdf",
        "inline": True,
    } | options

    @app.api_route("/f", methods=["GET", "HEAD"])
    def serve(request: Request) -> Response:
        return serve_object(request, storage, key=key, **settings)

    return app


@pytest.fixture
def stored(disk_storage: DiskStorage) -> tuple[DiskStorage, str, str]:
    key = new_key("files")
    sha = disk_storage.put(key, io.BytesIO(DATA), content_type="application/pdf").sha256
    return disk_storage, key, sha


@pytest.fixture
async def client(stored: tuple[DiskStorage, str, str]) -> AsyncIterator[httpx.AsyncClient]:
    storage, key, _sha = stored
    async with _client(make_app(storage, key)) as c:
        yield c


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


# --- disk: whole file, headers ------------------------------------------------------------


async def test_full_get_streams_the_bytes_with_validators(
    client: httpx.AsyncClient, stored: tuple[DiskStorage, str, str]
) -> None:
    response = await client.get("/f")
    assert response.status_code == 200
    assert response.content == DATA
    headers = response.headers
    assert headers["content-length"] == str(SIZE)
    assert headers["content-type"] == "application/pdf"
    assert headers["accept-ranges"] == "bytes"
    assert headers["etag"] == f'"{stored[2]}"'
    assert headers["last-modified"].endswith(" GMT")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-disposition"].startswith('inline; filename="Modul 1 Kebijakan.pdf"')
    assert "content-security-policy" not in headers


async def test_head_sends_headers_only(client: httpx.AsyncClient) -> None:
    response = await client.head("/f")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(SIZE)
    assert response.headers["accept-ranges"] == "bytes"
    ranged = await client.head("/f", headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206
    assert ranged.headers["content-range"] == f"bytes 0-9/{SIZE}"
    assert ranged.content == b""


async def test_missing_object_is_404(disk_storage: DiskStorage) -> None:
    async with _client(make_app(disk_storage, new_key("files"))) as c:
        assert (await c.get("/f")).status_code == 404


# --- ranges ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=100-199", 100, 199),
        ("bytes=0-0", 0, 0),
        (f"bytes={SIZE - 10}-", SIZE - 10, SIZE - 1),
        ("bytes=-500", SIZE - 500, SIZE - 1),  # suffix: the last 500 bytes
        (f"bytes=-{SIZE * 2}", 0, SIZE - 1),  # a suffix longer than the file is the file
        (f"bytes=1000-{SIZE * 5}", 1000, SIZE - 1),  # a last byte past the end is clipped
        ("bytes = 5-9", 5, 9),
    ],
)
async def test_single_range_is_206(
    client: httpx.AsyncClient, header: str, first: int, last: int
) -> None:
    response = await client.get("/f", headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {first}-{last}/{SIZE}"
    assert response.headers["content-length"] == str(last - first + 1)
    assert response.content == DATA[first : last + 1]


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE + 5}-{SIZE + 9}", "bytes=-0"])
async def test_unsatisfiable_range_is_416(client: httpx.AsyncClient, header: str) -> None:
    response = await client.get("/f", headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{SIZE}"
    assert response.content == b""


@pytest.mark.parametrize(
    "header",
    [
        "bytes=abc",
        "items=0-10",
        "bytes=10-5",
        "bytes=",
        "bytes=0-,0-,0-",
        "bytes=" + ",".join(["1-2"] * 17),
    ],
)
async def test_invalid_or_abusive_range_is_ignored(client: httpx.AsyncClient, header: str) -> None:
    response = await client.get("/f", headers={"Range": header})
    assert response.status_code == 200
    assert response.content == DATA


async def test_multiple_ranges_are_multipart_byteranges(client: httpx.AsyncClient) -> None:
    response = await client.get("/f", headers={"Range": "bytes=0-9, 1000-1099, -5"})
    assert response.status_code == 206
    content_type = response.headers["content-type"]
    assert content_type.startswith("multipart/byteranges; boundary=")
    assert response.headers["content-length"] == str(len(response.content))
    message = BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + response.content
    )
    parts = [
        (part["Content-Range"], part.get_payload(decode=True)) for part in message.iter_parts()
    ]
    assert parts == [
        (f"bytes 0-9/{SIZE}", DATA[0:10]),
        (f"bytes 1000-1099/{SIZE}", DATA[1000:1100]),
        (f"bytes {SIZE - 5}-{SIZE - 1}/{SIZE}", DATA[-5:]),
    ]


def test_parse_range_edge_cases() -> None:
    assert parse_range("bytes=0-", 0) == []  # nothing is satisfiable in an empty file
    assert parse_range("bytes=0-1,5-", 3) == [(0, 1)]  # an unsatisfiable part is dropped
    assert parse_range("BYTES=0-1", 10) == [(0, 1)]


# --- conditional requests --------------------------------------------------------------------


async def test_if_none_match_gives_304(
    client: httpx.AsyncClient, stored: tuple[DiskStorage, str, str]
) -> None:
    etag = f'"{stored[2]}"'
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = await client.get("/f", headers={"If-None-Match": header})
        assert response.status_code == 304, header
        assert response.content == b""
        assert response.headers["etag"] == etag
    assert (await client.get("/f", headers={"If-None-Match": '"other"'})).status_code == 200
    assert (await client.head("/f", headers={"If-None-Match": etag})).status_code == 304


async def test_if_modified_since(client: httpx.AsyncClient) -> None:
    last_modified = (await client.head("/f")).headers["last-modified"]
    assert (await client.get("/f", headers={"If-Modified-Since": last_modified})).status_code == 304
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert (await client.get("/f", headers={"If-Modified-Since": old})).status_code == 200
    assert (await client.get("/f", headers={"If-Modified-Since": "kemarin"})).status_code == 200
    # If-None-Match wins over If-Modified-Since.
    both = {"If-Modified-Since": last_modified, "If-None-Match": '"other"'}
    assert (await client.get("/f", headers=both)).status_code == 200


async def test_if_range(client: httpx.AsyncClient, stored: tuple[DiskStorage, str, str]) -> None:
    etag = f'"{stored[2]}"'
    last_modified = (await client.head("/f")).headers["last-modified"]
    cases = [
        (etag, 206),  # the client's copy is current: send the rest
        ('"stale"', 200),  # it changed: send everything
        (f"W/{etag}", 200),  # weak validators never match If-Range
        (last_modified, 206),
        ("Mon, 01 Jan 2001 00:00:00 GMT", 200),
    ]
    for if_range, status in cases:
        response = await client.get("/f", headers={"Range": "bytes=10-19", "If-Range": if_range})
        assert response.status_code == status, if_range
        assert response.content == (DATA[10:20] if status == 206 else DATA)


async def test_etag_hint_is_used(stored: tuple[DiskStorage, str, str]) -> None:
    storage, key, _sha = stored
    async with _client(make_app(storage, key, etag_hint="abc123")) as c:
        response = await c.get("/f")
        assert response.headers["etag"] == '"abc123"'
        assert (await c.get("/f", headers={"If-None-Match": '"abc123"'})).status_code == 304


# --- safety ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/html; charset=utf-8", "image/svg+xml", "application/xml", "application/octet-stream"],
)
async def test_markup_and_unknown_types_are_forced_to_download(
    disk_storage: DiskStorage, content_type: str
) -> None:
    key = new_key("files")
    disk_storage.put(key, io.BytesIO(b"<script>alert(1)</script>"), content_type=content_type)
    app = make_app(
        disk_storage, key, filename="halaman.html", content_type=content_type, inline=True
    )
    async with _client(app) as c:
        response = await c.get("/f")
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_trusted_html_is_inline_for_scorm_packages(disk_storage: DiskStorage) -> None:
    key = new_key("scorm")
    disk_storage.put(
        key, io.BytesIO(b"<html><script>API.LMSInitialize('')</script>"), content_type="text/html"
    )
    app = make_app(
        disk_storage, key, filename="index.html", content_type="text/html", trusted_html=True
    )
    async with _client(app) as c:
        response = await c.get("/f")
    assert response.headers["content-disposition"].startswith("inline;")
    assert "content-security-policy" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_safe_types_follow_the_inline_flag(stored: tuple[DiskStorage, str, str]) -> None:
    storage, key, _sha = stored
    async with _client(make_app(storage, key, inline=False)) as c:
        response = await c.get("/f")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "content-security-policy" not in response.headers


async def test_empty_object(disk_storage: DiskStorage) -> None:
    key = new_key("files")
    disk_storage.put(key, io.BytesIO(b""), content_type="text/plain")
    async with _client(make_app(disk_storage, key, content_type="text/plain")) as c:
        full = await c.get("/f")
        assert (full.status_code, full.content, full.headers["content-length"]) == (200, b"", "0")
        ranged = await c.get("/f", headers={"Range": "bytes=0-"})
        assert ranged.status_code == 416
        assert ranged.headers["content-range"] == "bytes */0"


# --- S3: a short-lived redirect ---------------------------------------------------------------


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, Any]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - moto on 127.0.0.1
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return response.status, response.read(), response.headers


async def test_s3_get_redirects_to_a_presigned_url(s3_storage: S3Storage) -> None:
    key = new_key("files")
    s3_storage.put(key, io.BytesIO(DATA), content_type="application/octet-stream")
    async with _client(make_app(s3_storage, key)) as c:
        response = await c.get("/f")
    assert response.status_code == 307
    assert response.headers["cache-control"] == "no-store"
    location = response.headers["location"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    assert int(query["X-Amz-Expires"][0]) <= 300
    status, body, headers = fetch(location)
    assert (status, body) == (200, DATA)
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"].startswith("inline;")
    # The browser repeats its Range on the redirected request; S3 answers it.
    status, body, _headers = fetch(location, {"Range": "bytes=10-19"})
    assert (status, body) == (206, DATA[10:20])


async def test_s3_markup_is_an_attachment_and_head_is_answered_here(s3_storage: S3Storage) -> None:
    key = new_key("files")
    html = b"<html><script>alert(1)</script></html>"
    sha = s3_storage.put(key, io.BytesIO(html), content_type="text/html").sha256
    app = make_app(s3_storage, key, filename="a.html", content_type="text/html", etag_hint=sha)
    async with _client(app) as c:
        response = await c.get("/f")
        head = await c.head("/f")
        not_modified = await c.get("/f", headers={"If-None-Match": f'"{sha}"'})
    _status, body, headers = fetch(response.headers["location"])
    assert body == html
    assert headers["Content-Disposition"].startswith("attachment;")
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(html))
    assert head.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert not_modified.status_code == 304  # answered without a round trip to S3


async def test_s3_trusted_html_is_streamed_from_our_origin(s3_storage: S3Storage) -> None:
    key = new_key("scorm")
    page = b"<html><script>window.parent.API.LMSInitialize('')</script></html>"
    s3_storage.put(key, io.BytesIO(page), content_type="text/html")
    image_key = new_key("scorm")
    s3_storage.put(image_key, io.BytesIO(b"\x89PNG\r\n\x1a\n"), content_type="image/png")
    page_app = make_app(
        s3_storage, key, filename="index.html", content_type="text/html", trusted_html=True
    )
    image_app = make_app(
        s3_storage, image_key, filename="a.png", content_type="image/png", trusted_html=True
    )
    async with _client(page_app) as c:
        response = await c.get("/f")
        ranged = await c.get("/f", headers={"Range": "bytes=0-5"})
    assert (response.status_code, response.content) == (200, page)
    assert response.headers["content-disposition"].startswith("inline;")
    assert (ranged.status_code, ranged.content) == (206, page[:6])
    async with _client(image_app) as c:
        assert (await c.get("/f")).status_code == 307  # media may still come from the bucket
