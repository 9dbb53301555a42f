"""The heavy vendored scripts load only on the pages that use them: pdf.js (PDF activities and the
certificate template editor), scorm-again (SCORM activities), Swagger UI (the API docs). Every
other page a learner opens carries the shell's CSS and two small scripts, all under hashed,
immutable URLs."""

from __future__ import annotations

import re

import httpx

from app.web.static import static_url
from tests.factories import browser_login, enrol, make_activity, make_course, make_run, make_user

HEAVY = ("pdf.min", "pdf.worker", "scorm-again", "swagger-ui")


async def test_learner_pages_load_no_heavy_vendored_script(client: httpx.AsyncClient) -> None:
    course = make_course(pages=2)
    make_activity(course["section"], kind="document", title="Panduan PDF")
    learner = make_user()
    enrol(make_run(course["course"]), learner.id)
    await browser_login(client, learner.email or "")
    paths = [
        "/", "/courses", f"/courses/{course['course']}", "/my/courses",
        f"/activities/{course['page1']}", "/notifications", "/me/password",
    ]  # fmt: skip
    for path in paths:
        response = await client.get(path)
        assert response.status_code == 200, path
        html = response.text
        assert not [name for name in HEAVY if name in html], path
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
        assert static_url("vendor/pico.min.css") in assets, path
        for asset in assets:  # hashed names only: a changed file gets a new URL
            assert re.search(r"\.[0-9a-f]{10}\.[a-z]+$", asset), (path, asset)
            cached = await client.get(asset)
            assert cached.headers["cache-control"] == "public, max-age=31536000, immutable"
