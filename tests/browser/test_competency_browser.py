"""Issue 6 in Chromium on a 360 px phone: the training officer imports job standards and
assessment results, opens the gap map, enrols everyone with a gap in one competency into a run
(preview, then confirm by keyboard); the weak learner sees the gap and the recommended course,
reads it, gets the certificate, and the JP reach "Riwayat JP" and the dashboard."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from app.core import clock
from tests.browser.conftest import LiveServer
from tests.browser.helpers import (
    ADMIN,
    PHONE,
    TRAINING_OFFICER,
    Account,
    goto_until_shown,
    login,
    save_screenshot,
)
from tests.browser.test_certificate_browser import view_on_load
from tests.browser.test_courses import fits_phone
from tests.browser.test_quiz_browser import api_client

pytestmark = pytest.mark.browser

COMPETENCY = "keamanan_informasi"
COMPETENCY_NAME = "Keamanan Informasi"


def tagged_course(live_server: LiveServer) -> tuple[str, int, int]:
    """A one-page course that builds the competency to level 3 and issues its certificate on
    completion, with an open run nobody is enrolled in. Returns (title, run id, page id)."""
    suffix = secrets.token_hex(3).upper()
    title = f"Keamanan Informasi Terapan {suffix}"
    with api_client(live_server, ADMIN) as api:
        course = api.post("/api/v1/courses", json={
            "code": f"UJI-KI-{suffix}", "title": title, "jp": 3, "category": "teknis",
            "competencies": [COMPETENCY], "competency_levels": {COMPETENCY: 3},
        })  # fmt: skip
        assert course.status_code == 201, course.text
        course_id = course.json()["id"]
        section = api.post(f"/api/v1/courses/{course_id}/sections", json={"title": "Materi"})
        page = api.post(
            f"/api/v1/sections/{section.json()['id']}/activities",
            data={"kind": "page", "title": "Kata sandi dan phishing", "body": "# Bacaan\n\nIsi."},
        )
        assert page.status_code == 201, page.text
        assert api.post(f"/api/v1/courses/{course_id}/publish").status_code == 200
        today = clock.today()
        run = api.post(f"/api/v1/courses/{course_id}/runs", json={
            "name": "Angkatan induksi", "starts_on": today.isoformat(),
            "ends_on": (today + dt.timedelta(days=30)).isoformat(),
            "funding_source": "apbd_kabupaten",
        })  # fmt: skip
        assert run.status_code == 201, run.text
    return title, int(run.json()["id"]), int(page.json()["id"])


def test_import_gap_map_enrol_by_gap_completion_and_jp(
    new_context: Callable[..., BrowserContext],
    live_server: LiveServer,
    fresh_learner: Callable[[], Account],
    tmp_path: Path,
) -> None:
    weak, strong = fresh_learner(), fresh_learner()
    title, run_id, page_id = tagged_course(live_server)
    today = clock.today()
    standards = tmp_path / "standar-jabatan.csv"
    standards.write_text(f"jabatan,kode_kompetensi,level_standar\n*,{COMPETENCY},3\n")
    assessments = tmp_path / "hasil-asesmen.csv"
    assessments.write_text(
        "nip,kode_kompetensi,level,tanggal,metode\n"
        f"{weak.nip},{COMPETENCY},1,{today:%d/%m/%Y},assessment center\n"
        f"{strong.nip},{COMPETENCY},4,{today:%d/%m/%Y},assessment center\n"
    )

    officer = new_context(**PHONE).new_page()
    login(officer, TRAINING_OFFICER.email)
    officer.get_by_role("link", name="Pengembangan kompetensi").first.click()
    officer.get_by_role("link", name="Impor standar jabatan").click()
    officer.get_by_label("Berkas CSV atau XLSX").set_input_files(str(standards))
    officer.get_by_role("button", name="Impor", exact=True).click()
    expect(officer.get_by_role("status")).to_contain_text("1 baris diimpor")
    officer.goto("/studio/competency/import/assessments")
    officer.get_by_label("Berkas CSV atau XLSX").set_input_files(str(assessments))
    officer.get_by_role("button", name="Impor", exact=True).click()
    expect(officer.get_by_role("status")).to_contain_text("2 baris diimpor")
    fits_phone(officer, "competency-import-done")

    officer.get_by_role("link", name="Lihat peta kesenjangan").click()
    cell = officer.get_by_role(
        "link", name=re.compile(rf"^\d+%.* — {COMPETENCY_NAME}, DISKOMINFO: \d+ dari \d+ ASN")
    )
    expect(cell).to_be_visible()
    save_screenshot(officer, "competency-gap-map")
    cell.click()
    expect(officer.get_by_label("Kompetensi")).to_have_value(COMPETENCY)
    expect(officer.get_by_label("OPD (opsional)")).to_have_value("DISKOMINFO")
    officer.get_by_label("Angkatan tujuan").select_option(str(run_id))
    officer.get_by_role("button", name="Lihat daftar ASN").click()
    preview = officer.locator("table").first
    expect(preview).to_contain_text(weak.name)
    expect(preview).not_to_contain_text(strong.name)
    fits_phone(officer, "competency-enrol-preview")
    confirm = officer.get_by_role("button", name=re.compile(r"^Daftarkan \d+ ASN ke angkatan ini$"))
    confirm.focus()  # keyboard from here
    officer.keyboard.press("Enter")
    expect(officer.get_by_role("status")).to_contain_text("ASN didaftarkan")
    result = officer.locator("tr").filter(has_text=weak.name)
    expect(result).to_contain_text("Terdaftar")
    expect(officer.locator("tr").filter(has_text=strong.name)).to_have_count(0)
    fits_phone(officer, "competency-enrol-result")

    learner = new_context(**PHONE).new_page()
    login(learner, weak.email)
    learner.get_by_role("link", name="Kompetensi saya").first.click()
    expect(learner.get_by_role("heading", level=1)).to_have_text("Kompetensi saya")
    expect(learner.locator("main")).to_contain_text(COMPETENCY_NAME)
    expect(learner.locator("main")).to_contain_text(title)
    fits_phone(learner, "competency-mine")
    view_on_load(learner, page_id)  # the only activity: the run completes, the certificate issues
    jp = learner.locator("#jp-text").filter(has_text=re.compile(r"^\s*3 dari target 20 JP"))
    goto_until_shown(learner, "/", jp)  # the outbox issues it right after the completing step
    learner.get_by_role("link", name="Riwayat JP").first.click()
    code = "UJI-KI-" + title.rsplit(" ", 1)[1]  # the certificate number names the course code
    expect(learner.locator("main")).to_contain_text(re.compile(rf"\d{{4}}/{code}/"))
    expect(learner.locator(".jp-entry").filter(has_text=code)).to_contain_text(title)
    fits_phone(learner, "competency-jp-history")
