"""Page weight on a phone's slow link (Chromium's "Fast 3G" profile, empty cache): the learner
dashboard, first visit after login, stays within 150 KB on the wire; the course player with a PDF
loads pdf.js and its worker only there. LCP and the PDF viewer's ready time are reported (a
timing is never asserted: bench/page_weight.py measures them).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.helpers import PHONE, Account, login
from tests.browser.page_load import prepare, throttled_load
from tests.browser.test_player_browser import KAMINFO, KAMINFO_PDF, LITDIG, enrol_in

pytestmark = pytest.mark.browser

DASHBOARD_BUDGET = 150_000  # bytes transferred, headers included (issue 15)


def test_learner_dashboard_first_visit_stays_within_150_kb_on_fast_3g(
    new_context: Callable[..., BrowserContext],
    fresh_learner: Callable[[], Account],
    record_property: Callable[[str, object], None],
) -> None:
    learner = fresh_learner()
    context = new_context(**PHONE)
    prepare(context)
    page = context.new_page()
    login(page, learner.email)
    enrol_in(page, KAMINFO, "Keamanan")
    enrol_in(page, LITDIG, "Literasi")

    load = throttled_load(context, page, "/")
    print("\n" + load.report())
    record_property("dashboard_bytes", load.total)
    record_property("dashboard_lcp_ms", load.lcp_ms)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert load.lcp_ms is not None  # the page painted its largest element
    assert load.total <= DASHBOARD_BUDGET, load.report()
    scripts = [url for kind, url, _size, _enc in load.resources if kind == "Script"]
    assert not [url for url in scripts if re.search(r"pdf|scorm-again", url)], scripts
    # Every text resource over a few hundred bytes came compressed.
    for kind, url, size, encoding in load.resources:
        if kind in ("Document", "Stylesheet", "Script") and size > 1500:
            assert encoding in ("br", "gzip", "zstd"), (url, size)


def test_pdf_viewer_on_the_course_player_is_measured_on_fast_3g(
    new_context: Callable[..., BrowserContext],
    fresh_learner: Callable[[], Account],
    record_property: Callable[[str, object], None],
) -> None:
    learner = fresh_learner()
    context = new_context(**PHONE)
    prepare(context)
    page = context.new_page()
    login(page, learner.email)
    enrol_in(page, KAMINFO, "Keamanan")
    page.get_by_role("link", name=KAMINFO_PDF).click()
    expect(page.locator("[data-pdf-viewer]")).to_have_attribute("data-ready", "true")
    activity = page.url

    load = throttled_load(context, page, activity, wait_for_pdf=True)
    print("\n" + load.report())
    record_property("player_pdf_bytes", load.total)
    record_property("player_pdf_ready_ms", load.pdf_ready_ms)
    assert load.pdf_state == "true", load.report()
    expect(page.locator(".pdf-page[data-page='1'] canvas")).to_be_visible()
    urls = [url for _kind, url, _size, _enc in load.resources]
    assert any("pdf.worker.min" in url for url in urls) and any("pdf.min" in url for url in urls)
    assert not any("scorm-again" in url for url in urls)
    # pdf.js is the one heavy part: it must travel compressed.
    for _kind, url, size, encoding in load.resources:
        if "pdf" in url and url.endswith("js") and size > 1500:
            assert encoding in ("br", "gzip"), (url, size)
