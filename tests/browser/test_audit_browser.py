"""The audit log page in Chromium on a 360 px phone: axe-core WCAG 2.1 A/AA, no sideways scroll,
filters and details by keyboard (the admin's own login is the entry to find)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.a11y import assert_fits_and_accessible
from tests.browser.conftest import LiveServer
from tests.browser.helpers import ADMIN, PHONE, login

pytestmark = pytest.mark.browser


def test_audit_page_on_a_phone_by_keyboard(
    new_context: Callable[..., BrowserContext], live_server: LiveServer
) -> None:
    page = new_context(**PHONE).new_page()
    login(page, ADMIN.nip)
    page.goto("/studio/audit")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log audit")
    assert_fits_and_accessible(page, "audit log")
    summary = page.locator("details.filter-box > summary")
    summary.focus()
    page.keyboard.press("Enter")
    action = page.get_by_label("Aksi", exact=True)
    action.focus()
    page.keyboard.type("auth.login")
    page.keyboard.press("Enter")
    page.wait_for_url("**/studio/audit?*action=auth.login*")
    expect(page.locator("table.audit tbody tr").first).to_contain_text("auth.login.success")
    expect(page.locator("table.audit tbody")).to_contain_text(ADMIN.nip)
    details = page.locator("table.audit tbody details summary").first
    details.focus()
    page.keyboard.press("Enter")
    expect(page.locator("table.audit tbody details pre").first).to_be_visible()
    assert_fits_and_accessible(page, "audit log filtered")
