"""Single sign-on in chromium on a 360 px phone, keyboard only: the LMS (`lms serve`) with one
OpenID Connect provider, the real provider (tests/oidc) on 127.0.0.1, and back again at logout.

Its own LMS server: the shared one of conftest.py has no provider configured.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.a11y import assert_accessible
from tests.browser.conftest import run_lms, serving
from tests.browser.helpers import (
    PHONE,
    overflowing_elements,
    page_widths,
    save_screenshot,
    stylesheets_applied,
)
from tests.oidc.server import oidc_provider
from tests.ports import free_port

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent.parent
NIP = "199001012015032001"
NAME = "Dewi Lestari"
CLIENT = {"client_id": "lms-diklat", "client_secret": "rahasia-klien-lms-uji-0123456789"}


@pytest.fixture(scope="module")
def sso_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The provider, then an LMS configured with it and one account with the provider's NIP."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    clients = [
        {
            **CLIENT,
            "redirect_uris": [f"{base}/auth/callback/kabupaten"],
            "post_logout_redirect_uris": [f"{base}/login"],
        }
    ]
    accounts = {"asn-dewi": {"nip": NIP, "name": NAME, "email": "dewi@example.go.id"}}
    with oidc_provider(clients=clients, accounts=accounts) as issuer:
        data = tmp_path_factory.mktemp("sso-server")
        env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_")}
        env.update(
            {
                "LMS_ENVIRONMENT": "test",
                "LMS_DATABASE_URL": f"sqlite:///{data / 'sso.db'}",
                "LMS_STORAGE_URL": f"file://{data / 'objects'}",
                "LMS_SECRET_KEY": secrets.token_urlsafe(32),
                "LMS_BASE_URL": base,
                "LMS_LOG_LEVEL": "WARNING",
                "LMS_JOBS_IN_PROCESS_WORKER": "false",
                "LMS_OIDC_PROVIDERS": json.dumps(
                    [
                        {
                            "name": "kabupaten",
                            "label": "SSO Kabupaten Contoh",
                            "discovery_url": f"{issuer}/.well-known/openid-configuration",
                            **CLIENT,
                        }
                    ]
                ),
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH")))),
            }
        )
        run_lms("db", "upgrade", env=env, cwd=data)
        run_lms("users", "create", "--name", NAME, "--nip", NIP, "--role", "learner",
                "--password", "Kata-Sandi-Uji-2026", env=env, cwd=data)  # fmt: skip
        with serving(port, data, env):
            yield base


def _focused(page: Page) -> str:
    return str(
        page.evaluate(
            "() => { const e = document.activeElement;"
            " return e ? (e.id || e.name || (e.textContent || '').trim()) : ''; }"
        )
    )


def test_sso_on_a_phone_with_the_keyboard_only(
    browser: Browser, sso_site: str, request: pytest.FixtureRequest
) -> None:
    context = browser.new_context(base_url=sso_site, locale="id-ID", **PHONE)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto("/login?next=/my/jp")
        button = page.get_by_role("button", name="Masuk dengan SSO Kabupaten Contoh")
        expect(button).to_be_visible()
        assert stylesheets_applied(page)
        save_screenshot(page, "phone-360-login-sso")
        assert_accessible(page, "login page with the SSO button")
        scroll_width, viewport = page_widths(page)
        assert scroll_width <= 360 and viewport == 360, overflowing_elements(page, 360)
        box = button.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, box
        # Keyboard only: from the username field (autofocus) Tab reaches the SSO button.
        stops = []
        for _ in range(5):
            page.keyboard.press("Tab")
            stops.append(_focused(page))
            if stops[-1] == "Masuk dengan SSO Kabupaten Contoh":
                break
        assert stops[-1] == "Masuk dengan SSO Kabupaten Contoh", stops
        page.keyboard.press("Enter")
        # The provider's sign-in form (its development interaction), then back to the LMS.
        expect(page).to_have_url(re.compile(r"^http://127\.0\.0\.1:\d+/interaction/"))
        page.keyboard.type("asn-dewi")
        page.keyboard.press("Tab")
        page.keyboard.type("apa-saja")
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{sso_site}/my/jp")
        page.goto("/")
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Selamat datang, {NAME}")
        expect(page.get_by_text(f"NIP {NIP}")).to_be_visible()
        # Logout: the LMS session ends and the provider asks to end its own (RP-initiated).
        page.get_by_role("button", name="Keluar").focus()
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"^http://127\.0\.0\.1:\d+/session/end"))
        page.get_by_role("button", name="Yes, sign me out").focus()
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{sso_site}/login")
        page.goto("/")
        expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    except BaseException:
        save_screenshot(page, f"FAILED-{request.node.name}")
        raise
    finally:
        context.close()


def test_sso_refusal_is_readable_on_a_phone(browser: Browser, sso_site: str) -> None:
    context = browser.new_context(base_url=sso_site, locale="id-ID", **PHONE)
    page = context.new_page()
    try:
        page.goto("/auth/callback/kabupaten?state=tidak-ada&code=x")
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("tidak dikenal atau sudah dipakai")
        assert page_widths(page)[0] <= 360, overflowing_elements(page, 360)
        expect(page.get_by_role("button", name="Masuk dengan SSO Kabupaten Contoh")).to_be_visible()
    finally:
        context.close()
