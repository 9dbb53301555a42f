"""The Content-Security-Policy in Chromium: the main page types load with no policy violation
(every `securitypolicyviolation` event and every "Content Security Policy" console message is
collected, from pages and workers) and still work: the login form, htmx (the certificate
template preview), the PDF viewer with its pdf.js worker, a quiz attempt, the resumable upload
and the API docs (Swagger UI from static/vendor)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect

from tests.browser.a11y import assert_accessible
from tests.browser.conftest import LiveServer
from tests.browser.helpers import ADMIN, CONTENT_ADMIN, Account, login
from tests.browser.test_authoring_browser import SHORT_VIDEO, published_course
from tests.browser.test_player_browser import KAMINFO, KAMINFO_PDF, enrol_in
from tests.browser.test_quiz_browser import open_posttest, start_with_keyboard

pytestmark = pytest.mark.browser

REPORTER = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolation({directive: e.violatedDirective, blocked: e.blockedURI,
                         source: e.sourceFile, line: e.lineNumber, page: location.pathname});
});
"""


@dataclass
class Violations:
    found: list[str] = field(default_factory=list)

    def check(self, where: str) -> None:
        assert not self.found, f"CSP violations ({where}):\n" + "\n".join(self.found)


@pytest.fixture
def watched(new_context: Callable[..., BrowserContext]) -> Iterator[tuple[Page, Violations]]:
    """A desktop page whose CSP violations (events and console reports) are collected."""
    violations = Violations()
    context = new_context(viewport={"width": 1280, "height": 900})

    def report(_source: Any, detail: dict[str, Any]) -> None:
        violations.found.append(f"event: {detail}")

    context.expose_binding("__cspViolation", report)
    context.add_init_script(REPORTER)
    page = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            violations.found.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: violations.found.append(f"page error: {error}"))
    yield page, violations


def test_public_pages_and_the_api_docs(watched: tuple[Page, Violations]) -> None:
    page, violations = watched
    for path in ("/login", "/verify", "/password/forgot", "/activate"):
        response = page.goto(path)
        assert response is not None and "script-src 'self'" in (
            response.headers.get("content-security-policy") or ""
        )
        page.wait_for_load_state("load")
    # htmx and app.js are files: they ran (htmx defines window.htmx, with our meta config).
    assert page.evaluate("() => typeof htmx !== 'undefined' && htmx.config.allowEval === false")
    page.goto("/api/v1/docs")
    expect(page.get_by_role("heading", level=1)).to_contain_text("LMS Diklat ASN", timeout=20_000)
    expect(page.locator(".opblock").first).to_be_visible()
    violations.check("public pages and API docs")


def test_learner_pdf_viewer_and_quiz(
    watched: tuple[Page, Violations],
    live_server: LiveServer,
    fresh_learner: Callable[[], Account],
) -> None:
    page, violations = watched
    learner = fresh_learner()
    login(page, learner.email)
    for path in ("/", "/my/courses", "/sertifikat", "/notifications"):
        page.goto(path)
    enrol_in(page, KAMINFO, "Keamanan")
    page.get_by_role("link", name=KAMINFO_PDF).click()
    # pdf.js (a module) and its worker draw the first page.
    expect(page.locator("[data-pdf-viewer] .pdf-page[data-page='1'] canvas")).to_be_visible(
        timeout=20_000
    )
    violations.check("PDF viewer")

    open_posttest(page, live_server)
    start_with_keyboard(page)
    first = page.locator("fieldset.question").first
    expect(first).to_be_visible()
    # Questions come shuffled: answer the first one that offers choices (a numeric or text
    # question's input cannot be checked).
    page.locator(
        "fieldset.question input[type=radio], fieldset.question input[type=checkbox]"
    ).first.check()
    # quiz.js autosaves the answer through fetch (connect-src 'self').
    expect(page.get_by_text(re.compile(r"Tersimpan \d\d:\d\d")).first).to_be_visible(timeout=15_000)
    assert_accessible(page, "quiz attempt under the CSP")  # axe still injects
    violations.check("quiz attempt")


def test_template_editor_preview_over_htmx(watched: tuple[Page, Violations]) -> None:
    page, violations = watched
    login(page, ADMIN.email)
    page.goto("/studio/certificate-templates")
    page.locator("table a[href^='/studio/certificate-templates/']").first.click()
    expect(page).to_have_url(re.compile(r"/studio/certificate-templates/\d+$"))
    # hx-trigger="load" posts the layout; template-editor.js draws the PDF it sends back.
    canvas = page.locator("#template-preview canvas").first
    expect(canvas).to_be_visible(timeout=30_000)
    expect(canvas).to_have_attribute("aria-label", re.compile(r"^Pratinjau halaman 1$"))
    violations.check("certificate template editor")


def test_upload_page(
    watched: tuple[Page, Violations],
    live_server: LiveServer,
    fresh_learner: Callable[[], Account],
) -> None:
    page, violations = watched
    ids = published_course(live_server, fresh_learner())
    login(page, CONTENT_ADMIN.email)
    page.goto(f"/studio/courses/{ids['course']}")
    page.locator(f"#activity-{ids['video']}").get_by_role("button", name="Ubah").click()
    expect(page.get_by_role("heading", name="Ubah aktivitas")).to_be_visible()
    page.locator("#replace-file").set_input_files(str(SHORT_VIDEO))
    expect(page.locator("input[data-uploader-file-id]")).not_to_have_value("", timeout=30_000)
    page.get_by_role("button", name="Ganti berkas").click()
    expect(page.get_by_role("status")).to_contain_text("Berkas diganti")
    violations.check("upload page")


def test_an_injected_inline_script_is_refused_and_reported(
    watched: tuple[Page, Violations],
) -> None:
    """The policy really blocks inline script, and the watch above really sees violations."""
    page, violations = watched
    page.goto("/login")
    page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.__injected = true"; document.head.append(s); }"""
    )
    expect(page.locator("body")).to_be_visible()
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__injected === undefined")
    assert any("script-src" in v for v in violations.found), violations.found
