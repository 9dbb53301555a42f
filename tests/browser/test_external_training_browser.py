"""External training in chromium on a 360 px phone: the learner records a training with its PDF
through the labelled form, the training officer verifies it from the queue, and the learner's
"Riwayat JP saya" shows the JP under external training. Nothing scrolls sideways."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from app.core import clock
from tests.browser.helpers import LEARNER, PHONE, TRAINING_OFFICER, login
from tests.browser.test_courses import fits_phone
from tests.external_training.test_api import PDF

pytestmark = pytest.mark.browser

TRAINING = "Pelatihan Keamanan Informasi Pemprov Banten"


def test_record_verify_and_see_jp_on_a_phone(
    new_context: Callable[..., BrowserContext],
    tmp_path: Path,
) -> None:
    pdf = tmp_path / "sertifikat-keamanan.pdf"
    pdf.write_bytes(PDF)
    year = clock.today().year
    ends_on = clock.today() - dt.timedelta(days=1)
    starts_on = ends_on - dt.timedelta(days=2)
    if starts_on.year != ends_on.year:  # keep the credit in one year: the 1st of January
        starts_on = ends_on
    year = ends_on.year

    learner = new_context(**PHONE).new_page()
    login(learner, LEARNER.email)
    learner.goto("/my/external-trainings")
    fits_phone(learner, "external-training-list-empty")
    learner.get_by_role("button", name="Catat pelatihan eksternal").click()
    expect(learner.get_by_role("heading", level=1)).to_have_text("Catat pelatihan eksternal")
    learner.get_by_label("Nama pelatihan").fill(TRAINING)
    learner.get_by_label("Penyelenggara").fill("BPSDM Provinsi Banten")
    learner.get_by_label("Tanggal mulai").fill(starts_on.isoformat())
    learner.get_by_label("Tanggal selesai").fill(ends_on.isoformat())
    learner.get_by_label("Jumlah JP").fill("24")
    learner.get_by_label("Nomor sertifikat").fill("800/777/BPSDM-BANTEN")
    learner.get_by_label("Sumber dana").select_option("apbd_provinsi")
    learner.get_by_label("Metode pelatihan").select_option("klasikal")
    learner.get_by_label("Sertifikat (PDF)").set_input_files(str(pdf))
    fits_phone(learner, "external-training-form")
    learner.get_by_role("button", name="Kirim untuk diverifikasi").click()
    expect(learner.get_by_role("status")).to_contain_text("menunggu verifikasi")
    card = learner.locator("article").filter(has_text=TRAINING)
    expect(card).to_contain_text("Menunggu verifikasi")
    fits_phone(learner, "external-training-list")

    officer = new_context(**PHONE).new_page()
    login(officer, TRAINING_OFFICER.email)
    officer.goto("/studio/external-trainings")
    fits_phone(officer, "external-training-queue")
    row = officer.locator("tr").filter(has_text=TRAINING)
    row.get_by_role("link", name="Periksa").click()
    expect(officer.get_by_role("heading", level=1)).to_have_text(TRAINING)
    fits_phone(officer, "external-training-decide")
    officer.get_by_role("button", name="Verifikasi (24 JP masuk buku JP)").click()
    expect(officer.get_by_role("status")).to_contain_text("JP sudah masuk")

    learner.goto(f"/my/jp?year={year}")
    group = learner.locator("article").filter(has_text="Pelatihan eksternal terverifikasi")
    expect(group).to_contain_text("800/777/BPSDM-BANTEN")
    expect(group).to_contain_text(TRAINING)  # the credit names what earned it
    expect(group).to_contain_text("24 JP")
    fits_phone(learner, "jp-history")
    learner.goto("/my/external-trainings")
    expect(learner.locator("article").filter(has_text=TRAINING)).to_contain_text("Terverifikasi")
