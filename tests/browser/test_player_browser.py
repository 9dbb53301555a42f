"""The course player in chromium: on a 360 px phone the outline is a collapsed disclosure above the
activity, with the position, the state and the rule for done; on a desktop it is an open side
panel. The PDF viewer zooms with labelled buttons (keyboard too) and fits to width; the survey's
one-line scale keeps the 17-item evaluation short on a phone.

Screenshots: test-artifacts/phone-360-player-*.png, desktop-1366-player.png, phone-360-survey.png.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.a11y import assert_fits_and_accessible
from tests.browser.helpers import PHONE, Account, login, save_screenshot

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1366, "height": 900}}
KAMINFO = "Keamanan Informasi Dasar"
KAMINFO_PDF = "Panduan Saku Keamanan Informasi (PDF)"
LITDIG = "Literasi Digital untuk ASN"
# The survey of the Literasi Digital run (9 course items + 4 items x 2 instructors + 2 texts) was
# 7,185 px tall on a 360 px phone with one radio button per line (3,051 px with the one-line scale);
# it must stay at half of that or less.
SURVEY_MAX_PX = 3600


def enrol_in(page: Page, title: str, query: str) -> int:
    """Open the course from the catalog, enrol in its open run, return the course id."""
    page.goto(f"/courses?q={query}")
    page.get_by_role("link", name=title).first.click()
    course_id = int(re.findall(r"/courses/(\d+)", page.url)[0])
    page.get_by_role("button", name="Daftar ke angkatan ini").click()
    expect(page.get_by_role("status")).to_have_text("Anda terdaftar. Selamat belajar!")
    return course_id


def test_player_outline_position_and_rule_on_a_phone_and_a_desktop(
    new_context: Callable[..., BrowserContext], fresh_learner: Callable[[], Account]
) -> None:
    learner = fresh_learner()
    page = new_context(**PHONE).new_page()
    login(page, learner.email)
    enrol_in(page, KAMINFO, "Keamanan")

    # "Lanjutkan" on the course page leads to the first activity.
    continue_link = page.locator("#continue-link")
    expect(continue_link).to_be_visible()
    continue_link.click()
    expect(page).to_have_url(re.compile(r"/activities/\d+$"))
    expect(page.locator("#player-position")).to_have_text(re.compile(r"^Aktivitas 1 dari \d+$"))
    expect(page.locator("#done-rule")).to_contain_text("Syarat selesai:")
    outline = page.locator("details[data-outline]")
    expect(outline).not_to_have_attribute("open", "")  # collapsed on a phone
    assert_fits_and_accessible(page, "player on a phone, outline closed")
    save_screenshot(page, "phone-360-player-activity")

    # Reading the page for 3 s on screen completes it; the state changes without a reload.
    expect(page.locator("#done-state")).to_have_text("✓ Selesai", timeout=15_000)

    outline.locator("summary").click()
    expect(outline.locator("li.current a")).to_have_attribute("aria-current", "page")
    expect(outline.locator("summary")).to_contain_text("1 selesai")  # counts follow, no reload
    expect(outline.locator("h3").first).to_contain_text("1/3 selesai")
    expect(outline.locator("li").first).to_contain_text("Selesai")
    assert_fits_and_accessible(page, "player on a phone, outline open")
    save_screenshot(page, "phone-360-player-outline")

    # Next: the video says what counts as done for it.
    page.get_by_role("link", name=re.compile(r"^Berikutnya")).click()
    expect(page.locator("#player-position")).to_have_text(re.compile(r"^Aktivitas 2 dari \d+$"))
    expect(page.locator("#done-rule")).to_contain_text("tonton minimal 90% video")
    expect(page.get_by_role("link", name=re.compile(r"^← Sebelumnya"))).to_be_visible()

    # On a desktop the outline is an open side panel beside the activity.
    desk = new_context(**DESKTOP).new_page()
    login(desk, learner.email)
    desk.goto(page.url)
    side = desk.locator("details[data-outline]")
    expect(side).to_have_attribute("open", "")
    main_box = desk.locator(".player-main").bounding_box()
    side_box = desk.locator(".player-side").bounding_box()
    assert main_box and side_box and side_box["x"] + side_box["width"] <= main_box["x"]
    assert_fits_and_accessible(desk, "player on a desktop")
    save_screenshot(desk, "desktop-1366-player")


def test_pdf_viewer_zooms_and_fits_on_a_phone_with_the_keyboard(
    new_context: Callable[..., BrowserContext], fresh_learner: Callable[[], Account]
) -> None:
    learner = fresh_learner()
    page = new_context(**PHONE).new_page()
    login(page, learner.email)
    enrol_in(page, KAMINFO, "Keamanan")
    page.get_by_role("link", name=KAMINFO_PDF).click()
    viewer = page.locator("[data-pdf-viewer]")
    first = viewer.locator(".pdf-page[data-page='1'] canvas")
    expect(first).to_be_visible(timeout=20_000)
    expect(page.get_by_role("button", name=re.compile("^Unduh PDF"))).to_have_attribute(
        "href", re.compile(r"/content\?download=1$")
    )
    fitted = first.bounding_box()
    assert fitted and fitted["width"] <= 360
    toolbar = page.get_by_role("toolbar", name="Ukuran tampilan PDF")
    zoom_in = toolbar.get_by_role("button", name="Perbesar")
    zoom_in.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    expect(toolbar).to_contain_text("156%")
    expect(first).to_be_visible()
    page.wait_for_function(
        "(w) => document.querySelector(\".pdf-page[data-page='1'] canvas\").clientWidth > w * 1.4",
        arg=fitted["width"],
    )
    # Zoomed pages scroll inside their own box; the page itself still fits the phone.
    assert_fits_and_accessible(page, "PDF zoomed on a phone")
    save_screenshot(page, "phone-360-player-pdf-zoomed")
    toolbar.get_by_role("button", name="Paskan lebar").click()
    expect(toolbar).to_contain_text("100%")
    page.wait_for_function(
        "(w) => Math.abs(document.querySelector(\".pdf-page[data-page='1'] canvas\")"
        ".clientWidth - w) < 2",
        arg=fitted["width"],
    )
    toolbar.get_by_role("button", name="Perkecil").click()
    expect(toolbar).to_contain_text("80%")


def test_survey_scale_is_one_line_and_the_page_is_short_on_a_phone(
    new_context: Callable[..., BrowserContext], fresh_learner: Callable[[], Account]
) -> None:
    learner = fresh_learner()
    page = new_context(**PHONE).new_page()
    login(page, learner.email)
    enrol_in(page, LITDIG, "LITDIG")
    page.get_by_role("link", name="Evaluasi penyelenggaraan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Evaluasi penyelenggaraan")
    scales = page.locator("fieldset.likert")
    expect(scales).to_have_count(17)
    height = int(page.evaluate("() => document.documentElement.scrollHeight"))
    print(f"survey page height at 360 px: {height} px")
    save_screenshot(page, "phone-360-survey")
    first = scales.first
    boxes = [first.get_by_role("radio").nth(i).bounding_box() for i in range(5)]
    assert all(boxes) and len({round(b["y"]) for b in boxes if b}) == 1, boxes  # one row
    expect(first.get_by_role("radio", name="1, Sangat tidak setuju")).to_have_count(1)
    assert height <= SURVEY_MAX_PX, height
    # Keyboard: arrow keys move within one question's scale.
    first.get_by_role("radio").nth(2).check()
    page.keyboard.press("ArrowRight")
    expect(first.get_by_role("radio").nth(3)).to_be_checked()
    assert_fits_and_accessible(page, "survey on a phone")
