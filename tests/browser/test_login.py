"""Signing in and out, the language switch, keyboard use and the phone layout in chromium."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.helpers import (
    ADMIN,
    CONTENT_ADMIN,
    DASHBOARD,
    LEARNER,
    LOGIN,
    MENTOR,
    PASSWORD,
    PHONE,
    TRAINING_OFFICER,
    login,
    overflowing_elements,
    page_widths,
    save_screenshot,
    stylesheets_applied,
)

pytestmark = pytest.mark.browser


def test_admin_logs_in_with_email_and_sees_the_admin_panel(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    expect(page.locator("html")).to_have_attribute("lang", "id")
    expect(page.get_by_role("heading", level=1)).to_have_text("Masuk")
    page.get_by_label("NIP atau email").fill(ADMIN.email)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page).to_have_url(DASHBOARD)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Selamat datang, {ADMIN.name}")
    panel = page.locator('article[data-role="admin"]')
    expect(panel.get_by_role("heading")).to_have_text("Administrasi sistem")
    expect(panel.get_by_role("link", name="Kelola pengguna")).to_have_attribute(
        "href", "/admin/users"
    )
    nav = page.get_by_role("navigation", name="Navigasi utama")
    nav.locator("summary", has_text="Kelola").click()  # management pages are grouped
    expect(nav.get_by_role("link", name="Pengguna")).to_be_visible()
    page.keyboard.press("Escape")  # closes the submenu again
    expect(nav.get_by_role("link", name="Beranda")).to_have_attribute("aria-current", "page")
    panel.get_by_role("link", name="Kelola pengguna").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pengguna")
    expect(page.get_by_role("cell", name=LEARNER.nip)).to_be_visible()


def test_learner_logs_in_with_nip(page: Page) -> None:
    login(page, LEARNER.nip)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Selamat datang, {LEARNER.name}")
    expect(page.get_by_text(f"NIP {LEARNER.nip}")).to_be_visible()
    expect(page.locator('article[data-role="learner"]')).to_contain_text("Pembelajaran saya")
    expect(page.locator('article[data-role="admin"]')).to_have_count(0)
    expect(page.locator('a[href^="/admin"]')).to_have_count(0)


def test_wrong_password_shows_the_error_and_stays_on_login(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("NIP atau email").fill(TRAINING_OFFICER.email)
    page.get_by_label("Kata sandi").fill(PASSWORD + "-salah")
    with page.expect_response(
        lambda r: r.url.endswith("/login") and r.request.method == "POST"
    ) as answer:
        page.get_by_role("button", name="Masuk").click()
    assert answer.value.status == 401
    expect(page).to_have_url(LOGIN)
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("NIP/email atau kata sandi salah.")
    username = page.get_by_label("NIP atau email")
    expect(username).to_have_value(TRAINING_OFFICER.email)  # kept, so only the password is retyped
    expect(username).to_have_attribute("aria-invalid", "true")
    expect(username).to_have_attribute("aria-describedby", "login-error")
    expect(page.get_by_label("Kata sandi")).to_have_value("")
    assert page.context.cookies() and not any(
        c["name"] == "lms_session" for c in page.context.cookies()
    )
    # The right password still works afterwards (one failure is far below the throttle).
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page).to_have_url(DASHBOARD)


def test_language_switch_to_english_and_back(page: Page) -> None:
    page.goto("/login")
    page.get_by_role("button", name="Switch to English").click()
    expect(page).to_have_url(LOGIN)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.get_by_label("NIP or email")).to_be_visible()
    expect(page.get_by_role("link", name="Skip to content")).to_be_attached()
    # Signing in keeps the language.
    page.get_by_label("NIP or email").fill(CONTENT_ADMIN.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(DASHBOARD)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {CONTENT_ADMIN.name}")
    expect(page.locator('article[data-role="content_admin"]')).to_contain_text("Content management")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    # And back to Indonesian, on the same page.
    page.get_by_role("button", name="Ganti ke Bahasa Indonesia").click()
    expect(page).to_have_url(DASHBOARD)
    expect(page.locator("html")).to_have_attribute("lang", "id")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Selamat datang, {CONTENT_ADMIN.name}"
    )
    expect(page.get_by_role("button", name="Keluar")).to_be_visible()
    expect(page.get_by_role("button", name="Switch to English")).to_be_visible()


def _focused(page: Page) -> str:
    """A short description of the focused element: its id, else its text, else its tag."""
    return str(
        page.evaluate(
            """() => {
                const e = document.activeElement;
                if (!e || e === document.body) return 'BODY';
                return e.id || (e.textContent || '').trim() || e.tagName;
            }"""
        )
    )


def _skip_link_visible_when_focused(page: Page, label: str) -> None:
    skip = page.get_by_role("link", name=label)
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    box = skip.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["y"] >= 0, box  # on screen, not parked off to the side
    assert box["width"] > 20 and box["height"] > 10, box


def test_keyboard_only_login(page: Page) -> None:
    page.goto("/login")
    # No mouse from here on. The username field has focus on arrival (autofocus) ...
    assert _focused(page) == "username"
    # ... and Shift+Tab walks back up to the skip link, which shows itself when focused.
    for _ in range(6):
        if _focused(page) == "Langsung ke isi":
            break
        page.keyboard.press("Shift+Tab")
    _skip_link_visible_when_focused(page, "Langsung ke isi")
    # Tab to the username field: through the brand link and the language switch.
    stops = []
    for _ in range(6):
        page.keyboard.press("Tab")
        stops.append(_focused(page))
        if stops[-1] == "username":
            break
    assert stops[-1] == "username", stops
    assert "English" in stops, stops
    page.keyboard.type(MENTOR.nip)
    page.keyboard.press("Tab")
    assert _focused(page) == "password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(DASHBOARD)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Selamat datang, {MENTOR.name}")


def test_skip_link_is_the_first_stop_and_jumps_to_the_content(page: Page) -> None:
    login(page, ADMIN.email)
    page.keyboard.press("Tab")
    _skip_link_visible_when_focused(page, "Langsung ke isi")
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    page.keyboard.press("Tab")  # the next stop is the first link of the content, past the menu
    expect(page.locator("main").get_by_role("link", name="Kelola pengguna")).to_be_focused()


def test_stylesheets_load_and_apply(page: Page) -> None:
    page.goto("/login")
    assert stylesheets_applied(page)
    # app.css parks the skip link off screen until it has focus.
    box = page.get_by_role("link", name="Langsung ke isi").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 0, box


@pytest.mark.parametrize(
    ("name", "path"),
    [("login", "/login"), ("dashboard", "/"), ("admin-users", "/admin/users")],
)
def test_phone_width_has_no_horizontal_scroll(
    new_context: Callable[..., BrowserContext], name: str, path: str
) -> None:
    page = new_context(**PHONE).new_page()
    if path != "/login":
        login(page, ADMIN.email)
    page.goto(path)
    expect(page.locator("main h1")).to_be_visible()
    screenshot = save_screenshot(page, f"phone-360-{name}")
    assert screenshot.stat().st_size > 0
    assert stylesheets_applied(page), "Pico CSS / app.css did not load: layout cannot be judged"
    scroll_width, viewport = page_widths(page)
    assert scroll_width <= 360, overflowing_elements(page, 360)
    assert viewport == 360  # a phone browser widens the layout viewport when content overflows


def test_logout_ends_the_session(new_context: Callable[..., BrowserContext]) -> None:
    page = new_context().new_page()
    other_device = new_context().new_page()
    login(page, LEARNER.email)
    login(other_device, LEARNER.nip)
    page.get_by_role("button", name="Keluar").click()
    expect(page).to_have_url(LOGIN)
    assert not any(c["name"] == "lms_session" for c in page.context.cookies())
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Masuk")
    # Logging out ends every session of the account (shared phones and kiosks).
    other_device.goto("/")
    expect(other_device).to_have_url(re.compile(r"/login\?next=/$"))
