"""The menu, breadcrumbs and home pages in Chromium: each role's home at 360 px (screenshots in
test-artifacts/ for review), the phone menu opened and walked with the keyboard only, the desktop
bar with its "Kelola" submenu, and breadcrumbs that wrap on a phone."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from app.auth.service import Principal
from app.dev.seed import DEMO_ACCOUNTS
from app.web.templating import nav_links, navigation
from tests.browser.a11y import assert_fits_and_accessible
from tests.browser.helpers import (
    CONTENT_ADMIN,
    LEARNER,
    MENTOR,
    PHONE,
    TRAINING_OFFICER,
    Account,
    login,
    page_widths,
    save_screenshot,
)

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1366, "height": 900}}


def menu_of(account: Account) -> list[tuple[str, str]]:
    """(href, label) of every menu link the account's roles get, in menu order."""
    demo = next(a for a in DEMO_ACCOUNTS if a.nip == account.nip)
    who = Principal(user_id=0, name=demo.name, roles=frozenset(demo.roles), via="session")
    return [(item.href, item.label) for item in nav_links(navigation(who))]


def phone_page(new_context: Callable[..., BrowserContext], account: Account) -> Page:
    page = new_context(**PHONE).new_page()
    login(page, account.nip)
    return page


@pytest.mark.parametrize(
    ("account", "name", "heading"),
    [
        (TRAINING_OFFICER, "home-officer-360", "Penyelenggaraan diklat"),
        (CONTENT_ADMIN, "home-content-admin-360", "Kursus bermasalah"),
        (MENTOR, "home-mentor-opd-head-360", "Kepala OPD"),
    ],
)
def test_home_page_fits_a_phone_and_is_accessible(
    new_context: Callable[..., BrowserContext], account: Account, name: str, heading: str
) -> None:
    page = phone_page(new_context, account)
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.locator("#site-menu")).to_be_hidden()  # folded behind "Menu" on a phone
    save_screenshot(page, name)
    assert_fits_and_accessible(page, name)


def test_learner_home_at_360_px_shows_what_to_do_next(
    new_context: Callable[..., BrowserContext], fresh_learner: Callable[[], Account]
) -> None:
    """A new ASN: empty states first; after enrolling and reading one activity, the home page
    offers that course to continue, with its progress, the JP gauge and the course list."""
    page = phone_page(new_context, fresh_learner())
    resume = page.locator("section[aria-labelledby=resume-title]")
    expect(resume).to_contain_text("Tidak ada kursus yang sedang Anda ikuti.")
    expect(page.locator("#my-courses-title + ul")).to_contain_text("Anda belum mengikuti kursus.")
    save_screenshot(page, "home-learner-new-360")
    assert_fits_and_accessible(page, "new learner's home")

    page.goto("/courses?q=LITDIG")
    page.get_by_role("link", name="Literasi Digital untuk ASN").click()
    page.get_by_role("button", name="Daftar ke angkatan ini").click()
    expect(page.get_by_role("status")).to_have_text("Anda terdaftar. Selamat belajar!")
    page.goto("/")

    expect(resume.get_by_role("link", name="Literasi Digital untuk ASN")).to_be_visible()
    button = resume.get_by_role("button", name="Lanjutkan Literasi Digital untuk ASN")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 360
    expect(page.locator("#jp-meter")).to_have_attribute("max", re.compile(r"^20(\.0)?$"))
    expect(page.locator("#jp-text")).to_contain_text("dari target 20 JP")
    run_id = (button.get_attribute("href") or "").split("/")[3]  # /my/runs/{id}/continue
    expect(page.locator(f"#course-run-{run_id}")).to_be_visible()
    expect(page.locator('[data-role="training_officer"]')).to_have_count(0)
    save_screenshot(page, "home-learner-360")
    assert_fits_and_accessible(page, "learner's home")

    button.click()  # "Lanjutkan" opens the first unfinished activity
    expect(page).to_have_url(re.compile(r"/(activities|quizzes)/\d+$"))


def test_phone_menu_opens_and_reaches_every_item_by_keyboard(
    new_context: Callable[..., BrowserContext],
) -> None:
    page = phone_page(new_context, TRAINING_OFFICER)
    expected = menu_of(TRAINING_OFFICER)
    toggle = page.locator(".menu-toggle")
    menu = page.locator("#site-menu")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_hidden()

    # From the top of the page: skip link, brand, then the menu button.
    page.locator("body").focus()
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.classList.contains('menu-toggle')"):
            break
    expect(toggle).to_be_focused()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(menu).to_be_visible()
    save_screenshot(page, "phone-menu-open-officer-360")
    assert_fits_and_accessible(page, "phone menu open")

    # Tab walks every item in menu order (the "Kelola" group is open, its label tabbable).
    reached: list[str] = []
    for _ in range(len(expected) + 4):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => { const el = document.activeElement;
                       if (!el.closest('#site-menu')) return null;
                       const r = el.getBoundingClientRect();
                       return {href: el.getAttribute('href'), right: r.right, height: r.height}; }"""
        )
        if focused is None:
            break
        if focused["href"]:
            assert focused["height"] > 0 and focused["right"] <= 360, focused
            reached.append(focused["href"])
    assert reached == [href for href, _label in expected]
    for href, label in expected:
        expect(menu.locator(f'a[href="{href}"]')).to_have_text(label)

    # Escape closes the menu and returns to its button.
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    expect(menu).to_be_hidden()

    # An item opened from the menu is marked as the current page, also on its sub-pages.
    toggle.click()
    menu.get_by_role("link", name="Kelola sertifikat").click()
    page.wait_for_url("**/studio/certificates")
    expect(page.locator('#site-menu a[href="/studio/certificates"]')).to_have_attribute(
        "aria-current", "page"
    )


def test_desktop_bar_shows_items_and_kelola_opens_by_keyboard(
    new_context: Callable[..., BrowserContext],
) -> None:
    page = new_context(**DESKTOP).new_page()
    login(page, TRAINING_OFFICER.nip)
    expect(page.locator(".menu-toggle")).to_be_hidden()
    nav = page.get_by_role("navigation", name="Navigasi utama")
    for label in ("Beranda", "Katalog", "Kursus saya", "Pelatihan eksternal", "Mentoring saya"):
        expect(nav.get_by_role("link", name=label, exact=True)).to_be_visible()
    kelola = nav.locator("summary", has_text="Kelola")
    kelola.focus()
    page.keyboard.press("Enter")
    expect(nav.get_by_role("link", name="Verifikasi pelatihan eksternal")).to_be_visible()
    page.keyboard.press("Escape")
    expect(nav.get_by_role("link", name="Verifikasi pelatihan eksternal")).to_be_hidden()
    expect(kelola).to_be_focused()
    save_screenshot(page, "home-officer-1366")
    assert_fits_and_accessible(page, "officer home 1366")


def test_breadcrumbs_lead_back_and_fit_a_phone(new_context: Callable[..., BrowserContext]) -> None:
    page = phone_page(new_context, TRAINING_OFFICER)
    page.goto("/studio/competency/catalog")
    trail = page.get_by_role("navigation", name="Jejak navigasi")
    expect(trail.get_by_role("link", name="Pengembangan kompetensi")).to_have_attribute(
        "href", "/studio/competency"
    )
    expect(trail.locator('[aria-current="page"]')).to_have_text("Katalog kompetensi")
    save_screenshot(page, "breadcrumbs-catalog-360")
    assert_fits_and_accessible(page, "catalog with breadcrumbs")


def test_without_javascript_the_phone_menu_is_simply_shown(
    new_context: Callable[..., BrowserContext],
) -> None:
    page = new_context(**PHONE, java_script_enabled=False).new_page()
    login(page, MENTOR.nip)
    expect(page.locator(".menu-toggle")).to_be_hidden()  # a button that could do nothing
    menu = page.locator("#site-menu")
    expect(menu).to_be_visible()
    for href, label in menu_of(MENTOR):
        expect(menu.get_by_role("link", name=label, exact=True)).to_have_attribute("href", href)
    width, viewport = page_widths(page)  # (axe-core itself needs JavaScript)
    assert width <= viewport, f"{width}px wide on a {viewport}px phone"


def test_learner_desktop_bar_shows_every_item_at_1024_px(
    new_context: Callable[..., BrowserContext], fresh_learner: Callable[[], Account]
) -> None:
    learner = fresh_learner()
    page = new_context(viewport={"width": 1024, "height": 768}).new_page()
    login(page, learner.nip)
    nav = page.get_by_role("navigation", name="Navigasi utama")
    expect(page.locator(".menu-toggle")).to_be_hidden()
    for href, label in menu_of(LEARNER):
        link = nav.get_by_role("link", name=label, exact=True)
        expect(link).to_be_visible()
        expect(link).to_have_attribute("href", href)
    save_screenshot(page, "home-learner-1024")
    assert_fits_and_accessible(page, "learner home 1024")
