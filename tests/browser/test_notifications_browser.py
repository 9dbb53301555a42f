"""Issue 12 in chromium on a 360 px phone: a learner's certificate e-mail (read back from the SMTP
server) and the bell; the one-click unsubscribe link in that e-mail stops the next such e-mail
while the bell still shows it; and every new page (notifications, preferences, unsubscribe, the
officers' outbox, templates, scheduled jobs, the kepala OPD's list) passes axe-core's WCAG 2.1
A/AA rules, fits the phone and works with the keyboard."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.a11y import assert_fits_and_accessible
from tests.browser.conftest import LiveServer
from tests.browser.helpers import (
    MENTOR,
    PHONE,
    TRAINING_OFFICER,
    Account,
    goto_until_shown,
    login,
    mails_to,
    wait_for_mail,
)
from tests.browser.test_certificate_browser import small_course_with_learners
from tests.browser.test_quiz_browser import api_client
from tests.mailsink import text_of

pytestmark = pytest.mark.browser

UNSUBSCRIBE = re.compile(r"https?://\S+/notifications/unsubscribe/[\w.-]+")


def outbox_states(live_server: LiveServer, address: str, event: str) -> list[str]:
    """The e-mail deliveries of one event the outbox holds for an address, as officers see it."""
    with api_client(live_server, TRAINING_OFFICER) as api:
        page = api.get("/api/v1/outbox", params={"topic": "notify.email", "q": address}).json()
    return [item["state"] for item in page["items"] if item["label"].startswith(event)]


def test_certificate_email_bell_and_one_click_unsubscribe(
    new_context: Callable[..., BrowserContext],
    live_server: LiveServer,
    fresh_learner: Callable[[], Account],
) -> None:
    learner = fresh_learner()
    first_run = small_course_with_learners(live_server, [learner], auto_issue=True)
    subject = "sudah terbit"
    mail = wait_for_mail(live_server.mail, learner.email, subject)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = text_of(mail)
    assert learner.name in text

    page = new_context(**PHONE).new_page()
    login(page, learner.nip)
    bell = page.locator("#bell")
    expect(bell).to_have_attribute("aria-label", re.compile(r"^Notifikasi, [1-9]\d* belum dibaca$"))
    bell.focus()
    page.keyboard.press("Enter")  # keyboard only: the bell is a link
    expect(page).to_have_url(re.compile(r"/notifications$"))
    item = page.locator("main li").filter(has_text=subject).first
    expect(item).to_be_visible()
    assert_fits_and_accessible(page, "notifications list")

    # The footer's link: one page, one button, no login (a new browser, as from a mail app).
    link = UNSUBSCRIBE.search(text)
    assert link, text
    public = new_context(**PHONE).new_page()
    public.goto(link.group(0))
    expect(public.get_by_role("heading", level=1)).to_have_text("Berhenti berlangganan")
    assert_fits_and_accessible(public, "unsubscribe")
    public.get_by_role("button", name="Berhenti berlangganan").focus()
    public.keyboard.press("Enter")
    expect(public.get_by_role("status")).to_contain_text("tidak akan lagi menerima")
    assert_fits_and_accessible(public, "unsubscribed")

    # The next certificate: in the bell, but no e-mail.
    before = len(mails_to(live_server.mail, learner.email, subject))
    second_run = small_course_with_learners(live_server, [learner], auto_issue=True)
    assert second_run != first_run
    issued = page.locator("main li").filter(has_text=subject)
    goto_until_shown(page, "/notifications", issued.nth(1))  # issued by the outbox just after
    expect(issued).to_have_count(2)
    assert outbox_states(live_server, learner.email, "certificate_issued") == ["sent"]
    time.sleep(2)  # the worker had its chance to (wrongly) send it
    assert len(mails_to(live_server.mail, learner.email, subject)) == before

    # Marking everything read empties the bell.
    page.get_by_role("button", name="Tandai semua sudah dibaca").click()
    expect(page.locator("#bell")).to_have_attribute(
        "aria-label", "Notifikasi, tidak ada yang belum dibaca"
    )


def test_preferences_by_keyboard_on_a_phone(
    new_context: Callable[..., BrowserContext],
    live_server: LiveServer,
    fresh_learner: Callable[[], Account],
) -> None:
    learner = fresh_learner()
    page = new_context(**PHONE).new_page()
    login(page, learner.nip)
    page.goto("/notifications/preferences")
    assert_fits_and_accessible(page, "notification preferences")
    boxes = page.locator("main input[type=checkbox]:not([disabled])")
    first = boxes.first
    was_checked = first.is_checked()
    first.focus()
    page.keyboard.press("Space")
    while not page.evaluate("() => document.activeElement.type === 'submit'"):
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("disimpan")
    expect(page.locator("main input[type=checkbox]:not([disabled])").first).to_be_checked(
        checked=not was_checked
    )
    assert_fits_and_accessible(page, "preferences saved")
    page.goto("/me/password")
    assert_fits_and_accessible(page, "change password")


def test_officer_pages_and_the_opd_heads_list_pass_axe_on_a_phone(
    new_context: Callable[..., BrowserContext], live_server: LiveServer
) -> None:
    officer = new_context(**PHONE).new_page()
    login(officer, TRAINING_OFFICER.email)
    for path in (
        "/studio/notifications",
        "/studio/notifications/outbox",
        "/studio/notifications/outbox?state=sent",
        "/studio/notifications/templates",
        "/studio/notifications/templates/below_pace",
        "/studio/notifications/templates/certificate_issued?lang=en",
        "/studio/jobs",
        "/studio/jobs/notifications.below_pace",
        "/studio/activation",
        "/admin/users/import",
    ):
        officer.goto(path)
        expect(officer.get_by_role("heading", level=1)).to_be_visible()
        assert_fits_and_accessible(officer, path)

    # "Jalankan sekarang" with the keyboard: the verification digest runs and says so.
    officer.goto("/studio/jobs")
    card = officer.locator("[id='job-notifications.verification_digest']")
    card.get_by_role("button", name="Jalankan sekarang").focus()
    officer.keyboard.press("Enter")
    expect(officer.get_by_role("status").first).to_be_visible(timeout=30_000)
    assert_fits_and_accessible(officer, "jobs after a run")

    # The demo mentor is the kepala OPD of DISKOMINFO: the list of his OPD only.
    head = new_context(**PHONE).new_page()
    login(head, MENTOR.email)
    head.get_by_role("link", name="JP pegawai OPD").click()
    expect(head.get_by_role("heading", level=1)).to_contain_text("ASN di bawah target JP")
    expect(head.locator("#b-opd")).to_have_count(0)  # no other OPD to choose
    assert_fits_and_accessible(head, "kepala OPD list")
