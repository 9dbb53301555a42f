"""Issue 12 acceptance in chromium on a 360 px phone: an officer imports a roster of 3 new ASN
(one with e-mail, one with a phone, one with neither) and sends activation in one click; the first
activates from the link in the e-mail read from the SMTP sink, the second from the URL the
WhatsApp gateway recorded, the third with the code printed in the PDF letter (pdftotext), one of
them keyboard only; all three then sign in. Every self-service page passes axe-core and fits
360 px."""

from __future__ import annotations

import random
import re
import secrets
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from app.dev.seed import synthetic_nip
from tests.browser.a11y import assert_fits_and_accessible
from tests.browser.helpers import DASHBOARD, PHONE, TRAINING_OFFICER, login
from tests.mailsink import text_of

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Kopi-Tubruk-Pagi-Hari-9"
LINK = re.compile(r"https?://[^\s]+/activate\?token=[A-Za-z0-9_-]+")


def _wait(found: Callable[[], str | None], what: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {timeout:.0f} s")


def _set_password_and_accept(page: Page, *, keyboard: bool = False) -> None:
    if not keyboard:
        page.get_by_label("Kata sandi baru", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("Ulangi kata sandi baru").fill(NEW_PASSWORD)
        page.get_by_role("checkbox").check()
        page.get_by_role("button", name="Aktifkan akun").click()
        return
    page.get_by_label("Kata sandi baru", exact=True).focus()
    page.keyboard.type(NEW_PASSWORD)
    page.keyboard.press("Tab")  # past the hint text: the confirmation
    page.keyboard.type(NEW_PASSWORD)
    for _ in range(3):  # e-mail, phone, then the terms checkbox
        page.keyboard.press("Tab")
    expect(page.get_by_role("checkbox")).to_be_focused()
    page.keyboard.press("Space")
    expect(page.get_by_role("checkbox")).to_be_checked()
    while not page.evaluate("() => document.activeElement.type === 'submit'"):
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")


def _then_sign_in(page: Page, nip: str) -> None:
    expect(page).to_have_url(re.compile(r"/login\?done=activated&nip=\d{18}$"))
    expect(page.get_by_role("status")).to_contain_text("Akun Anda sudah aktif")
    expect(page.get_by_label("NIP atau email")).to_have_value(nip)
    assert_fits_and_accessible(page, "login after activation")
    page.get_by_label("Kata sandi").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page).to_have_url(DASHBOARD)


def test_three_new_asn_activate_by_email_whatsapp_and_letter(
    live_server, new_context: Callable[..., BrowserContext], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(secrets.randbits(64))
    nips = []
    while len(nips) < 3:
        nip, employment = synthetic_nip(rng, rng.randrange(999))
        if employment == "PNS" and nip not in nips:
            nips.append(nip)
    email = f"aktivasi.{nips[0]}@demo.lms.go.id"
    phone_digits = f"812{rng.randrange(10**7, 10**8)}"  # a Telkomsel number: 0812-xxxx-xxxx
    roster = tmp_path / "asn-baru.csv"
    roster.write_text(
        "NIP,Nama,Email,Jenis Pegawai,Pangkat/Golongan,Jabatan,Kode OPD,No HP\n"
        f"{nips[0]},Rina Email,{email},PNS,III/a,Pranata Komputer,DISKOMINFO,\n"
        f"{nips[1]},Wawan Whatsapp,,PNS,III/a,Pranata Komputer,DISKOMINFO,0{phone_digits}\n"
        f"{nips[2]},Sari Surat,,PNS,III/a,Pranata Komputer,DISKOMINFO,\n"
    )

    officer = new_context(**PHONE).new_page()
    login(officer, TRAINING_OFFICER.email)
    officer.goto("/admin/users/import")
    assert_fits_and_accessible(officer, "roster import")
    officer.get_by_label("Berkas data ASN").set_input_files(str(roster))
    officer.get_by_role("button", name="Impor").click()
    send = officer.get_by_role("button", name="Kirim aktivasi ke 3 ASN dari impor ini")
    expect(send).to_be_visible()
    assert_fits_and_accessible(officer, "import result")
    send.click()
    expect(officer.get_by_role("status").first).to_contain_text(
        "3 aktivasi diproses: email 1, WhatsApp 1, surat 1"
    )
    assert_fits_and_accessible(officer, "activation sent")
    officer.get_by_role("button", name="Lihat dan unduh surat aktivasi").click()
    download_link = officer.get_by_role("link", name=re.compile(r"^DISKOMINFO"))
    expect(download_link).to_be_visible(timeout=30_000)  # htmx polls until the job is done
    assert_fits_and_accessible(officer, "letters")
    with officer.expect_download() as download:
        download_link.click()
    pdf = tmp_path / "surat.pdf"
    download.value.save_as(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout  # fmt: skip
    shown = f"{nips[2][:8]} {nips[2][8:14]} {nips[2][14]} {nips[2][15:]}"
    (letter,) = [p for p in text.split("\f") if shown in p]
    code = re.search(r"\b([0-9A-Z]{4}-[0-9A-Z]{4})\b", letter)
    assert code and "Sari Surat" in letter

    # 1. E-mail: the link read back from the SMTP server.
    mailed = _wait(
        lambda: next((LINK.search(text_of(m)).group(0)  # type: ignore[union-attr]
                      for m in live_server.mail.to(email) if LINK.search(text_of(m))), None),
        "activation e-mail",
    )  # fmt: skip
    first = new_context(**PHONE).new_page()
    first.goto(mailed.replace("http://127.0.0.1", live_server.base_url.rsplit(":", 1)[0]))
    expect(first.get_by_role("heading", level=1)).to_have_text("Aktivasi akun")
    expect(first.get_by_label("Email")).to_have_value(email)
    assert_fits_and_accessible(first, "activation form")
    _set_password_and_accept(first)
    _then_sign_in(first, nips[0])

    # 2. WhatsApp: the URL the gateway recorded; keyboard only.
    def whatsapp_link() -> str | None:
        for request in list(live_server.whatsapp.requests):
            if request["json"]["to"] == f"62{phone_digits}":
                found = LINK.search(request["json"]["text"]["body"])
                return found.group(0) if found else None
        return None

    second = new_context(**PHONE).new_page()
    second.goto(_wait(whatsapp_link, "WhatsApp message"))
    expect(second.get_by_label("Nomor HP (WhatsApp)")).to_have_value(f"+62{phone_digits}")
    _set_password_and_accept(second, keyboard=True)
    _then_sign_in(second, nips[1])

    # 3. The letter: NIP and the printed code, typed as people type it.
    third = new_context(**PHONE).new_page()
    third.goto("/login")
    third.get_by_role("link", name="Aktifkan akun baru").click()
    assert_fits_and_accessible(third, "activation with a code")
    third.get_by_label("NIP", exact=True).fill(nips[2])
    third.get_by_label("Kode aktivasi (dari surat)").fill(code.group(1).lower().replace("-", ""))
    third.get_by_role("button", name="Lanjutkan").click()
    expect(third.get_by_text("Halo, Sari Surat.")).to_be_visible()
    _set_password_and_accept(third)
    _then_sign_in(third, nips[2])


def test_self_service_pages_fit_a_phone_and_pass_axe(
    new_context: Callable[..., BrowserContext],
) -> None:
    page = new_context(**PHONE).new_page()
    for path, heading in (
        ("/password/forgot", "Lupa kata sandi"),
        ("/password/reset?token=tidak-ada", "Buat kata sandi baru"),
        ("/terms", "Ketentuan Penggunaan LMS Diklat ASN"),
        ("/privacy", "Pemberitahuan Privasi LMS Diklat ASN"),
    ):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        assert_fits_and_accessible(page, path)
    page.goto("/password/forgot")
    page.get_by_label("NIP atau email").fill("199001012015031999")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Bila NIP atau email itu terdaftar")
    assert_fits_and_accessible(page, "reset requested")

    officer = new_context(**PHONE).new_page()
    login(officer, TRAINING_OFFICER.email)
    officer.goto("/studio/activation")
    officer.get_by_label("OPD", exact=True).select_option("DISKOMINFO")
    officer.get_by_role("button", name="Periksa penerima").click()
    expect(officer.get_by_role("heading", name="Penerima terpilih")).to_be_visible()
    assert_fits_and_accessible(officer, "activation preview")
    officer.goto("/me/password")
    assert_fits_and_accessible(officer, "change password")
