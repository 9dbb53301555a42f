"""Text responses travel compressed (app/web/compression.py): brotli or gzip by Accept-Encoding,
only above the size threshold, never for compressed types, ranges, HEAD or cross-site requests,
always with `Vary: Accept-Encoding`; streamed bodies arrive chunk by chunk. Static text assets
come from build-made siblings (`lms compress-static`), a stale sibling never."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path

import brotli
import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from app.web import static
from app.web.compression import CompressionMiddleware, choose_encoding, compressible
from tests.factories import browser_login, make_user

PAGE = ("<p>Materi pelatihan ASN</p>\n" * 200).encode()  # 5.4 KB of HTML


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip, deflate, br, zstd", "br"),
        ("gzip, deflate", "gzip"),
        ("br;q=0, gzip;q=0.5", "gzip"),
        ("*", "br"),
        ("*;q=0, gzip", "gzip"),
        ("identity", None),
        ("", None),
        ("gzip;q=0", None),
        ("GZIP;Q=1", "gzip"),
        ("gzip;q=oops", None),
    ],
)
def test_choose_encoding_follows_accept_encoding(header: str, expected: str | None) -> None:
    assert choose_encoding(header) == expected


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/html; charset=utf-8", True),
        ("application/json", True),
        ("application/problem+json", True),
        ("application/manifest+json", True),
        ("image/svg+xml", True),
        ("text/csv", True),
        ("text/event-stream", False),
        ("image/png", False),
        ("application/pdf", False),
        ("video/mp4", False),
        ("application/zip", False),
        ("", False),
    ],
)
def test_only_text_types_are_compressible(content_type: str, expected: bool) -> None:
    assert compressible(content_type) is expected


def _app(
    body: bytes | list[bytes],
    *,
    status: int = 200,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> object:
    """An ASGI app answering `body` (a list: streamed in those chunks) with `headers`."""
    chunks = body if isinstance(body, list) else [body]
    head = headers if headers is not None else [(b"content-type", b"text/html; charset=utf-8")]
    if not isinstance(body, list):
        head = [*head, (b"content-length", str(len(body)).encode())]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": head})
        for number, chunk in enumerate(chunks):
            more = number < len(chunks) - 1
            await send({"type": "http.response.body", "body": chunk, "more_body": more})

    return app


async def _call(
    app: object, request_headers: dict[str, str], *, method: str = "GET"
) -> tuple[int, dict[str, str], list[bytes]]:
    """Run the middleware around `app`; the status, headers and the raw body chunks sent."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http", "method": method, "path": "/", "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in request_headers.items()],
    }  # fmt: skip
    await CompressionMiddleware(app)(scope, receive, send)  # type: ignore[arg-type]
    start = sent[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, [m.get("body", b"") for m in sent[1:]]


async def test_brotli_when_accepted_else_gzip_else_identity_with_vary() -> None:
    status, headers, chunks = await _call(_app(PAGE), {"accept-encoding": "gzip, deflate, br"})
    assert status == 200 and headers["content-encoding"] == "br"
    assert headers["vary"] == "Accept-Encoding"
    assert brotli.decompress(b"".join(chunks)) == PAGE
    assert int(headers["content-length"]) == len(b"".join(chunks)) < len(PAGE) / 5

    _, headers, chunks = await _call(_app(PAGE), {"accept-encoding": "gzip"})
    assert headers["content-encoding"] == "gzip"
    assert gzip.decompress(b"".join(chunks)) == PAGE

    _, headers, chunks = await _call(_app(PAGE), {})
    assert "content-encoding" not in headers and b"".join(chunks) == PAGE
    assert headers["vary"] == "Accept-Encoding"  # a cache must still keep the variants apart
    assert headers["content-length"] == str(len(PAGE))


async def test_an_existing_vary_is_extended() -> None:
    app = _app(PAGE, headers=[(b"content-type", b"text/html"), (b"vary", b"Cookie")])
    _, headers, _ = await _call(app, {"accept-encoding": "br"})
    assert headers["vary"] == "Cookie, Accept-Encoding"


async def test_small_bodies_stay_as_they_are() -> None:
    small = b"<p>ok</p>"
    _, headers, chunks = await _call(_app(small), {"accept-encoding": "br"})
    assert "content-encoding" not in headers and chunks == [small]
    # Without a Content-Length the first chunk decides.
    _, headers, chunks = await _call(_app([small]), {"accept-encoding": "br"})
    assert "content-encoding" not in headers and chunks == [small]


@pytest.mark.parametrize(
    ("status", "headers", "request_headers"),
    [
        (200, [(b"content-type", b"image/png")], {}),
        (200, [(b"content-type", b"application/pdf")], {}),
        (200, [(b"content-type", b"text/html"), (b"content-encoding", b"gzip")], {}),
        (206, [(b"content-type", b"text/plain"), (b"content-range", b"bytes 0-9/99")], {}),
        (200, [(b"content-type", b"text/plain")], {"range": "bytes=0-9"}),
        (200, [(b"content-type", b"text/html"), (b"cache-control", b"no-transform")], {}),
        (200, [(b"content-type", b"text/event-stream")], {}),
    ],
)
async def test_left_alone(
    status: int, headers: list[tuple[bytes, bytes]], request_headers: dict[str, str]
) -> None:
    app = _app(PAGE, status=status, headers=headers)
    _, sent, chunks = await _call(app, {"accept-encoding": "br, gzip", **request_headers})
    assert sent.get("content-encoding") in (None, "gzip")  # gzip: the app's own, untouched
    assert "vary" not in sent
    assert b"".join(chunks) == PAGE


async def test_head_is_left_alone() -> None:
    _, headers, _ = await _call(_app(PAGE), {"accept-encoding": "br"}, method="HEAD")
    assert "content-encoding" not in headers and headers["content-length"] == str(len(PAGE))


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
async def test_requests_another_site_started_are_not_compressed(site: str) -> None:
    """BREACH: a page with the session's CSRF token next to text an attacker chose."""
    request = {"accept-encoding": "br, gzip", "sec-fetch-site": site}
    _, headers, chunks = await _call(_app(PAGE), request)
    assert "content-encoding" not in headers and b"".join(chunks) == PAGE
    assert headers["vary"] == "Accept-Encoding"
    for own in ("same-origin", "none"):
        _, headers, _ = await _call(_app(PAGE), {**request, "sec-fetch-site": own})
        assert headers["content-encoding"] == "br"


async def test_a_file_offering_ranges_loses_them_and_its_strong_etag_when_compressed() -> None:
    app = _app(PAGE, headers=[
        (b"content-type", b"text/plain"), (b"accept-ranges", b"bytes"), (b"etag", b'"abc"'),
    ])  # fmt: skip
    _, headers, chunks = await _call(app, {"accept-encoding": "gzip"})
    assert headers["content-encoding"] == "gzip"
    assert "accept-ranges" not in headers and headers["etag"] == 'W/"abc"'
    assert gzip.decompress(b"".join(chunks)) == PAGE
    # The same file asked for a range is the identity bytes, untouched.
    _, headers, chunks = await _call(app, {"accept-encoding": "gzip", "range": "bytes=0-9"})
    assert headers["etag"] == '"abc"' and headers["accept-ranges"] == "bytes"


@pytest.mark.parametrize("encoding", ["br", "gzip"])
async def test_a_stream_is_compressed_chunk_by_chunk(encoding: str) -> None:
    parts = [(f"<li>baris {n}</li>\n" * 100).encode() for n in range(5)]
    _, headers, chunks = await _call(_app(parts), {"accept-encoding": encoding})
    assert headers["content-encoding"] == encoding and "content-length" not in headers
    assert len(chunks) == len(parts)
    # Every chunk is flushed: what has arrived so far decodes to everything sent so far.
    for count in range(1, len(parts)):
        if encoding == "br":
            decoder = brotli.Decompressor()
            got = b"".join(decoder.process(chunk) for chunk in chunks[:count])
        else:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            got = b"".join(inflater.decompress(chunk) for chunk in chunks[:count])
        assert got == b"".join(parts[:count])
    whole = b"".join(chunks)
    decoded = brotli.decompress(whole) if encoding == "br" else gzip.decompress(whole)
    assert decoded == b"".join(parts)


async def test_pages_and_api_json_of_the_app_come_compressed(client: httpx.AsyncClient) -> None:
    learner = make_user()
    await browser_login(client, learner.email or "")
    page = await client.get("/", headers={"Accept-Encoding": "br"})
    assert page.status_code == 200 and page.headers["content-encoding"] == "br"
    assert "Accept-Encoding" in page.headers["vary"]
    assert "<html" in page.text  # httpx decodes it
    spec = await client.get("/api/v1/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert spec.headers["content-encoding"] == "gzip" and spec.json()["openapi"]
    icon = await client.get(
        static.static_url("icons/icon-512.png"), headers={"Accept-Encoding": "br"}
    )
    assert "content-encoding" not in icon.headers


# --- precompressed static assets -----------------------------------------------------------


@pytest.fixture
def static_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A static folder of its own (the app's caches cleared around the test)."""
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "big.js").write_text("const materi = 'pelatihan';\n" * 400)
    (tmp_path / "js" / "tiny.js").write_text("x();\n")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(4000))
    monkeypatch.setattr(static, "STATIC_DIR", tmp_path)
    caches = (static.manifest, static.fresh_siblings, static._gzipped, static._small)
    for cache in caches:
        cache.cache_clear()
    yield tmp_path
    for cache in caches:
        cache.cache_clear()


async def _get(path: str, accept: str, **extra: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=static.HashedStaticFiles())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        return await c.get(path, headers={"Accept-Encoding": accept, **extra})


async def test_the_build_writes_siblings_the_server_sends_by_accept_encoding(
    static_dir: Path,
) -> None:
    written = static.precompress_assets(workers=2)
    assert written == ["js/big.js.br", "js/big.js.gz"]  # not the tiny file, not the image
    assert static.precompress_assets(workers=2) == []  # up to date: nothing to do
    assert "js/big.js.br" not in static.manifest()  # siblings are no assets of their own
    url = static.static_url("js/big.js")
    raw = (static_dir / "js" / "big.js").read_bytes()
    for accept, encoding, sibling in (("br, gzip", "br", ".br"), ("gzip", "gzip", ".gz")):
        response = await _get(url, accept)
        assert response.headers["content-encoding"] == encoding
        assert response.headers["vary"] == "Accept-Encoding"
        assert "immutable" in response.headers["cache-control"]
        assert response.headers["content-type"].startswith("text/javascript")
        assert response.content == raw
        size = (static_dir / "js" / f"big.js{sibling}").stat().st_size
        assert int(response.headers["content-length"]) == size
    plain = await _get(url, "identity")
    assert "content-encoding" not in plain.headers and plain.content == raw
    tiny = await _get(static.static_url("js/tiny.js"), "br, gzip")
    assert "content-encoding" not in tiny.headers and tiny.text == "x();\n"
    ranged = await _get(url, "br", Range="bytes=0-9")
    assert ranged.status_code == 206 and "content-encoding" not in ranged.headers


async def test_a_stale_sibling_is_never_sent(static_dir: Path) -> None:
    static.precompress_assets(workers=1)
    source = static_dir / "js" / "big.js"
    source.write_text("const materi = 'baru';\n" * 400)  # changed after the build
    for cache in (static.manifest, static.fresh_siblings):
        cache.cache_clear()
    response = await _get(static.static_url("js/big.js"), "br, gzip")
    # No fresh brotli sibling: gzip made by the process from the current file.
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == source.read_bytes()
    assert static.precompress_assets(workers=1) == ["js/big.js.br", "js/big.js.gz"]
    response = await _get(static.static_url("js/big.js"), "br, gzip")
    assert response.headers["content-encoding"] == "br"
    assert response.content == source.read_bytes()


async def test_siblings_of_a_removed_asset_are_removed(static_dir: Path) -> None:
    static.precompress_assets(workers=1)
    (static_dir / "js" / "big.js").unlink()
    static.manifest.cache_clear()
    static.precompress_assets(workers=1)
    assert not list(static_dir.rglob("*.br")) and not list(static_dir.rglob("*.gz"))
