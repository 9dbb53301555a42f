"""Shared steps for the browser tests: the demo accounts and signing in through the form."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from app.accounts.constants import Role
from app.dev.seed import DEMO_ACCOUNTS, DEMO_PASSWORD
from tests.mailsink import MailSink

ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"  # git-ignored
PASSWORD = DEMO_PASSWORD
DASHBOARD = re.compile(r"^https?://[^/]+/$")
LOGIN = re.compile(r"^https?://[^/]+/login(\?.*)?$")
PHONE = {  # a 360 px phone, for browser.new_context(**PHONE)
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


@dataclass(frozen=True, slots=True)
class Account:
    nip: str
    email: str
    name: str


def demo(role: Role) -> Account:
    """The demo account whose first role is `role` (loaded by `lms demo`, app/dev/seed.py)."""
    for account in DEMO_ACCOUNTS:
        if account.roles[0] == role:
            return Account(nip=account.nip, email=account.email, name=account.name)
    raise LookupError(role)


# One account per test where possible, so login throttling and "logout ends every session"
# never reach across tests.
ADMIN = demo(Role.ADMIN)
TRAINING_OFFICER = demo(Role.TRAINING_OFFICER)
CONTENT_ADMIN = demo(Role.CONTENT_ADMIN)
MENTOR = demo(Role.MENTOR)
LEARNER = demo(Role.LEARNER)


def login(page: Page, username: str, password: str = PASSWORD) -> None:
    """Fill in the Indonesian login form like a person and wait for the dashboard."""
    page.goto("/login")
    page.get_by_label("NIP atau email").fill(username)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk").click()
    expect(page).to_have_url(DASHBOARD)


def save_screenshot(page: Page, name: str) -> Path:
    """A full-page PNG in test-artifacts/ at the repository root (created when missing)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def stylesheets_applied(page: Page) -> bool:
    """Every <link rel=stylesheet> of the page loaded and has rules."""
    return bool(
        page.evaluate(
            """() => [...document.querySelectorAll('link[rel="stylesheet"]')].every(
                (link) => link.sheet !== null && link.sheet.cssRules.length > 0)"""
        )
    )


def page_widths(page: Page) -> tuple[int, int]:
    """(document scrollWidth, layout viewport width): equal when nothing overflows sideways."""
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    return int(widths[0]), int(widths[1])


def overflowing_elements(page: Page, limit: int) -> list[str]:
    """Elements whose right edge passes `limit` px (outside scrolling containers), for messages."""
    return list(
        page.evaluate(
            """(limit) => {
                const out = [];
                for (const el of document.body.querySelectorAll('*')) {
                    const r = el.getBoundingClientRect();
                    if (r.right > limit + 0.5 && r.width > 0 && !el.closest('.table-wrap')) {
                        const cls = el.className && typeof el.className === 'string'
                            ? '.' + el.className.trim().replace(/\\s+/g, '.') : '';
                        out.push(`${el.tagName.toLowerCase()}${cls} right=${Math.round(r.right)}`);
                    }
                }
                return out.slice(0, 15);
            }""",
            limit,
        )
    )


def mails_to(sink: MailSink, address: str, subject: str) -> list[EmailMessage]:
    """Messages the SMTP sink received for `address` whose subject contains `subject`."""
    return [m for m in sink.to(address) if subject in str(m["Subject"])]


def wait_for_mail(sink: MailSink, address: str, subject: str, timeout: float = 30) -> EmailMessage:
    """The message the server's outbox delivers in the background (its job worker thread)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = mails_to(sink, address, subject)
        if found:
            return found[-1]
        time.sleep(0.2)
    raise AssertionError(f"no e-mail '{subject}' to {address} within {timeout:.0f} s")


def goto_until_shown(page: Page, path: str, locator: Locator, timeout: float = 30) -> None:
    """Open `path` until `locator` is on it: for what the outbox makes right after a commit (an
    auto-issued certificate appears within moments of the learner's last step, not in it)."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(path)
        if locator.count() or time.monotonic() > deadline:
            break
        page.wait_for_timeout(500)
    expect(locator.first).to_be_visible()
