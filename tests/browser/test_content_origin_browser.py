"""A malicious SCORM package in Chromium: it runs on the content origin and gets nothing of the
LMS — no cookie, no access to the player page or its storage, no API call as the learner — while
what it reports still reaches the LMS through the SCORM bridge (app/courses/content_origin.py).

The live server's LMS is http://127.0.0.1:{port}; its content origin http://localhost:{port2}
(another host name, so not even the host's cookies are shared)."""

from __future__ import annotations

import datetime as dt
import io
import json
import secrets
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Request, expect

from tests.browser.conftest import LiveServer
from tests.browser.helpers import CONTENT_ADMIN, TRAINING_OFFICER, Account, login
from tests.browser.test_courses import SCORM_FRAME, sco_of
from tests.browser.test_quiz_browser import api_client

pytestmark = pytest.mark.browser

MANIFEST = b"""<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="uji.jahat" version="1"
    xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
    xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="org"><organization identifier="org"><title>Paket Jahat</title>
    <item identifier="i1" identifierref="r1"><title>Halaman</title></item>
  </organization></organizations>
  <resources>
    <resource identifier="r1" type="webcontent" adlcp:scormtype="sco" href="index.html">
      <file href="index.html"/><file href="jahat.js"/>
    </resource>
  </resources>
</manifest>
"""

INDEX = b"""<!doctype html>
<html lang="id"><head><meta charset="utf-8"><title>Paket jahat</title></head>
<body><h1>Paket jahat</h1><pre id="report">...</pre><script src="jahat.js"></script></body></html>
"""

# Everything a hostile package would try, each result written down; then the report goes to the
# LMS through the only door it has: the SCORM API.
EVIL_JS = """
(async function () {
  var LMS = %(lms)s;
  var report = { origin: location.origin, cookie: document.cookie };
  function attempt(name, fn) {
    try { report[name] = String(fn()); } catch (e) { report[name] = "blocked: " + e.name; }
  }
  attempt("ownLocalStorage", function () { return localStorage.getItem("lms-secret"); });
  attempt("playerDocument", function () { return window.top.document.cookie; });
  attempt("playerLocalStorage", function () { return window.top.localStorage.getItem("lms-secret"); });
  attempt("playerApi", function () { return typeof window.top.API.LMSSetValue; });
  attempt("playerLocation", function () { return window.top.location.href; });
  try {
    var r = await fetch(LMS + "/api/v1/me", { credentials: "include" });
    report.fetchMe = r.status + " " + (await r.text()).slice(0, 200);
  } catch (e) { report.fetchMe = "blocked: " + e.name; }
  try {
    var opaque = await fetch(LMS + "/api/v1/me", { credentials: "include", mode: "no-cors" });
    report.fetchNoCors = "sent: " + opaque.type;
  } catch (e) { report.fetchNoCors = "blocked: " + e.name; }
  try {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", LMS + "/api/v1/me", false);
    xhr.withCredentials = true;
    xhr.send();
    report.xhrMe = xhr.status + " " + xhr.responseText.slice(0, 200);
  } catch (e) { report.xhrMe = "blocked: " + e.name; }

  var api = window.parent.API;
  api.LMSInitialize("");
  report.studentName = api.LMSGetValue("cmi.core.student_name");
  api.LMSSetValue("cmi.core.lesson_location", "laporan");
  api.LMSSetValue("cmi.core.score.raw", "40");
  api.LMSSetValue("cmi.core.lesson_status", "incomplete");
  api.LMSSetValue("cmi.suspend_data", JSON.stringify(report));
  api.LMSCommit("");
  // A message straight from this window to the player, posing as the launcher: ignored.
  window.top.postMessage({ type: "lms-scorm:call", method: "LMSSetValue",
                           args: ["cmi.core.score.raw", "99"] }, "*");
  window.top.postMessage({ type: "lms-scorm:call", method: "LMSCommit", args: [""] }, "*");
  document.getElementById("report").textContent = JSON.stringify(report);
  setTimeout(function () { api.LMSFinish(""); document.body.dataset.done = "1"; }, 800);
})();
"""


def malicious_package(lms_origin: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("imsmanifest.xml", MANIFEST)
        zf.writestr("index.html", INDEX)
        zf.writestr("jahat.js", EVIL_JS % {"lms": json.dumps(lms_origin)})
    return buffer.getvalue()


def course_with_package(live_server: LiveServer, learner: Account, package: bytes) -> int:
    """A published course whose only activity is the package, the learner enrolled; its id."""
    code = f"UJI-JAHAT-{secrets.token_hex(3).upper()}"
    with api_client(live_server, CONTENT_ADMIN) as api:
        course = api.post("/api/v1/courses", json={"code": code, "title": f"Paket {code}", "jp": 1,
                                                   "category": "teknis"})  # fmt: skip
        assert course.status_code == 201, course.text
        course_id = course.json()["id"]
        section = api.post(f"/api/v1/courses/{course_id}/sections", json={"title": "Bagian"})
        activity = api.post(
            f"/api/v1/sections/{section.json()['id']}/activities",
            data={"kind": "scorm", "title": "Paket jahat"},
            files={"file": ("jahat.zip", package, "application/zip")},
        )
        assert activity.status_code == 201, activity.text
        assert api.post(f"/api/v1/courses/{course_id}/publish").status_code == 200
    today = dt.date.today()
    with api_client(live_server, TRAINING_OFFICER) as api:
        run = api.post(
            f"/api/v1/courses/{course_id}/runs",
            json={"name": "Angkatan uji", "starts_on": today.isoformat(),
                  "ends_on": (today + dt.timedelta(days=30)).isoformat(),
                  "funding_source": "apbd_kabupaten"},
        )  # fmt: skip
        assert run.status_code == 201, run.text
        enrolled = api.post(f"/api/v1/runs/{run.json()['id']}/enrolments",
                            json={"nips": [learner.nip]})  # fmt: skip
        assert enrolled.status_code == 201, enrolled.text
    return int(activity.json()["id"])


def test_a_malicious_package_gets_nothing_of_the_lms_but_its_report_reaches_it(
    new_context: Callable[..., BrowserContext],
    live_server: LiveServer,
    fresh_learner: Callable[[], Account],
) -> None:
    content = live_server.env["LMS_CONTENT_ORIGIN"]
    learner = fresh_learner()
    activity_id = course_with_package(live_server, learner, malicious_package(live_server.base_url))

    context = new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    login(page, learner.nip)
    # Something to steal on the LMS origin: a readable cookie and a localStorage entry.
    context.add_cookies([{"name": "lms_probe", "value": "rahasia", "url": live_server.base_url}])
    page.evaluate("() => localStorage.setItem('lms-secret', 'rahasia')")

    commits: list[dict[str, Any]] = []

    def on_request(request: Request) -> None:
        if request.url.endswith(f"/api/v1/activities/{activity_id}/scorm"):
            commits.append(json.loads(request.post_data or "{}"))

    content_requests: list[Request] = []
    page.on("request", on_request)
    page.on("request", lambda r: content_requests.append(r) if r.url.startswith(content) else None)

    page.goto(f"/activities/{activity_id}")
    frame = page.locator(SCORM_FRAME)
    assert (frame.get_attribute("src") or "").startswith(f"{content}/c/")
    sco = sco_of(page)
    expect(sco.locator("body")).to_have_attribute("data-done", "1", timeout=15_000)
    report = json.loads(sco.locator("#report").text_content() or "{}")

    # What the package saw: its own origin, no cookie, nothing of the player page.
    assert report["origin"] == content
    assert report["cookie"] == "", report
    # Its own storage (partitioned, or refused in a third-party frame as in this incognito-like
    # context) never holds the LMS's entry.
    assert report["ownLocalStorage"] in ("null", "blocked: SecurityError"), report
    for name in ("playerDocument", "playerLocalStorage", "playerApi", "playerLocation"):
        assert report[name] == "blocked: SecurityError", (name, report)
    for name in ("fetchMe", "fetchNoCors", "xhrMe"):  # the CSP's connect-src 'self'
        assert report[name].startswith("blocked:"), (name, report)
    assert report["studentName"] == learner.name  # the SCORM API does answer

    # ... and the report reached the LMS through the bridge, with the package's own score only.
    page.wait_for_timeout(500)
    assert commits, "no SCORM commit reached the LMS"
    last = commits[-1]
    assert last["finished"] is True
    assert last["cmi"]["cmi.core.score.raw"] == "40", last  # the forged "99" was ignored
    assert last["cmi"]["cmi.core.lesson_location"] == "laporan"
    assert json.loads(last["cmi"]["cmi.suspend_data"]) == report

    # No request to the content origin carried a cookie or credentials of the LMS.
    assert content_requests
    for request in content_requests:
        headers = request.all_headers()
        assert "cookie" not in headers and "authorization" not in headers, (request.url, headers)
    # Nor does the content origin hand out cookies.
    for cookie in context.cookies():
        assert cookie["domain"] == "127.0.0.1", cookie
