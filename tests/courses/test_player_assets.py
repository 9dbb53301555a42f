"""The PDF viewer is loaded by the PDF activity page only, and its pdf.js travels gzipped (1.6 MiB
of JavaScript is about 0.5 MiB on the wire)."""

from __future__ import annotations

import gzip

import httpx

from app.web.static import STATIC_DIR, static_url
from tests.factories import browser_login, enrol, make_activity, make_course, make_run, make_user

PDFJS = ("vendor/pdf.min.mjs", "vendor/pdf.worker.min.mjs")


async def test_pdfjs_is_served_gzipped_and_plain(client: httpx.AsyncClient) -> None:
    wire = 0
    for asset in PDFJS:
        raw = (STATIC_DIR / asset).read_bytes()
        packed = await client.get(static_url(asset), headers={"Accept-Encoding": "gzip"})
        assert packed.status_code == 200
        assert packed.headers["content-encoding"] == "gzip"
        assert packed.headers["content-type"].startswith("text/javascript")
        assert packed.headers["vary"] == "Accept-Encoding"
        assert "immutable" in packed.headers["cache-control"]
        assert packed.content == raw  # httpx undoes the encoding
        wire += int(packed.headers["content-length"])
        assert len(gzip.compress(raw)) >= int(packed.headers["content-length"])
        plain = await client.get(static_url(asset), headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.content == raw
    assert wire < 600_000, wire


async def test_only_the_pdf_activity_page_loads_the_viewer(client: httpx.AsyncClient) -> None:
    course = make_course(pages=1)
    pdf = make_activity(course["section"], kind="document", title="Panduan PDF")
    learner = make_user()
    enrol(make_run(course["course"]), learner.id)
    await browser_login(client, learner.email or "")
    document = (await client.get(f"/activities/{pdf}")).text
    assert static_url("js/pdf-viewer.js") in document
    assert 'aria-label="Perbesar"' in document and 'aria-label="Perkecil"' in document
    assert "Paskan lebar" in document
    assert f'href="/api/v1/activities/{pdf}/content?download=1"' in document
    reading = (await client.get(f"/activities/{course['page1']}")).text
    assert "pdf-viewer" not in reading and "pdf.min" not in reading
