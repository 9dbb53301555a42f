"""In chromium on a 360 px phone and a 1366 px desktop: a content admin changes a course's certification rules in the
studio form (a wrong value is refused next to its field, then the rules are saved), and a
training officer reads the targets dashboard whose charts fill the phone's width with text of at
least 12 px and labels inside the chart; both pages fit the phone and pass axe-core."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from app.core import clock
from tests.browser.a11y import assert_fits_and_accessible
from tests.browser.conftest import LiveServer
from tests.browser.helpers import (
    ADMIN,
    CONTENT_ADMIN,
    PASSWORD,
    PHONE,
    TRAINING_OFFICER,
    Account,
    login,
    save_screenshot,
)
from tests.browser.test_quiz_browser import api_client

pytestmark = pytest.mark.browser

COURSE_TITLE = "Literasi Digital untuk ASN"
CHARTS = ("chart-opd", "chart-fund", "chart-dist", "chart-trend")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _course_id(live_server: LiveServer) -> int:
    with api_client(live_server, ADMIN) as api:
        courses = api.get("/api/v1/courses", params={"q": COURSE_TITLE}).json()
        return int(next(c["id"] for c in courses if c["title"] == COURSE_TITLE))


def _rules(live_server: LiveServer, course_id: int) -> dict[str, Any]:
    with api_client(live_server, ADMIN) as api:
        answer = api.get(f"/api/v1/courses/{course_id}/certification-rules")
        assert answer.status_code == 200, answer.text
        rules: dict[str, Any] = answer.json()
        return rules


def _restore(live_server: LiveServer, course_id: int, before: dict[str, Any]) -> None:
    """Other browser tests use the demo course: put its rules back as they were."""
    fields = ("pass_score", "score_formula", "weights", "require_posttest", "min_learning_minutes",
              "require_survey", "require_rtl", "require_profile", "auto_issue", "validity_years",
              "curriculum_page", "template_id")  # fmt: skip
    body: dict[str, Any] = {f: before[f] if f in before["overridden"] else None for f in fields}
    body["predikat_bands"] = (
        before["predikat_bands"] if "predikat_bands" in before["overridden"] else None
    )
    with api_client(live_server, ADMIN) as api:
        answer = api.put(f"/api/v1/courses/{course_id}/certification-rules", json=body)
        assert answer.status_code == 200, answer.text


DESKTOP = {"viewport": {"width": 1366, "height": 900}}


@pytest.mark.parametrize("screen", ["phone", "desktop"])
def test_content_admin_edits_certification_rules(
    live_server: LiveServer, new_context: Callable[..., BrowserContext], screen: str
) -> None:
    course_id = _course_id(live_server)
    before = _rules(live_server, course_id)
    page = new_context(**(PHONE if screen == "phone" else DESKTOP)).new_page()
    width = "360 px" if screen == "phone" else "1366 px"
    try:
        login(page, CONTENT_ADMIN.email)
        page.goto(f"/studio/courses/{course_id}")
        link = page.get_by_role("button", name="Aturan sertifikat").or_(
            page.get_by_role("link", name="Aturan sertifikat")
        )
        link.first.click()
        expect(page).to_have_url(
            f"{live_server.base_url}/studio/courses/{course_id}/certification-rules"
        )
        expect(page.get_by_role("heading", name="Aturan sertifikat", level=1)).to_be_visible()
        assert_fits_and_accessible(page, f"certification rules form at {width}")

        score = page.get_by_label("Nilai kelulusan (0–100)")
        score.fill("150")
        page.get_by_role("button", name="Simpan aturan").click()
        expect(page.get_by_role("alert")).to_contain_text("Aturan belum disimpan")
        expect(page.get_by_label("Nilai kelulusan (0–100)")).to_have_attribute(
            "aria-invalid", "true"
        )
        expect(page.locator("#r-pass_score-error")).to_have_text("Isi angka dari 0 sampai 100.")
        assert_fits_and_accessible(page, f"certification rules form with errors at {width}")
        save_screenshot(page, f"certification-rules-{screen}")

        page.get_by_label("Nilai kelulusan (0–100)").fill("75")
        page.get_by_label("Wajib mengisi evaluasi penyelenggaraan").select_option("1")
        page.get_by_label("Masa berlaku (tahun)").fill("2")
        page.get_by_label("Batas nilai baris 1").fill("85")
        page.get_by_label("Nama predikat baris 1").fill("Sangat Baik")
        page.get_by_role("button", name="Simpan aturan").click()
        expect(page.get_by_role("status")).to_contain_text("Aturan sertifikat disimpan")
        expect(page.get_by_label("Nilai kelulusan (0–100)")).to_have_value("75")
        after = _rules(live_server, course_id)
        assert after["pass_score"] == 75 and after["require_survey"] is True
        assert after["validity_years"] == 2
        assert after["predikat_bands"] == [{"above": 85.0, "label": "Sangat Baik"}]
    finally:
        _restore(live_server, course_id, before)


def _chart_facts(page: Page, chart_id: str) -> dict[str, Any]:
    facts: dict[str, Any] = page.evaluate(
        """(id) => {
          const svg = document.getElementById(id);
          const box = svg.getBoundingClientRect();
          const scale = box.width / svg.viewBox.baseVal.width;
          const texts = [...svg.querySelectorAll('text')].filter(t => t.textContent.trim());
          const sizes = texts.map(t => parseFloat(getComputedStyle(t).fontSize) * scale);
          const outside = texts.filter(t => {
            const r = t.getBoundingClientRect();
            return r.left < box.left - 1 || r.right > box.right + 1;
          }).map(t => t.textContent.trim());
          const main = document.querySelector('main') || document.body;
          const cs = getComputedStyle(main);
          const inner = main.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
          return {width: box.width, inner, smallest: Math.min(...sizes), outside,
                  count: texts.length};
        }""",
        chart_id,
    )
    return facts


def _credit_jp_this_year(live_server: LiveServer, learner: Account) -> None:
    """A fresh learner's verified external training this year: the OPD, funding and trend
    charts have something to draw."""
    today = clock.today()
    with httpx.Client(base_url=live_server.base_url, timeout=30) as api:
        token = api.post(
            "/api/v1/auth/token", data={"username": learner.email, "password": PASSWORD}
        ).json()["access_token"]
        made = api.post(
            "/api/v1/me/external-trainings",
            data={
                "name": "Pelatihan Literasi Digital Pemprov", "organiser": "BPSDM Provinsi",
                "starts_on": today.isoformat(), "ends_on": today.isoformat(), "jp": "24",
                "certificate_number": f"800/{secrets.randbelow(10**6)}/BPSDM/{today.year}",
                "funding_source": "apbd_provinsi", "mode": "klasikal",
            },
            files={"file": ("sertifikat.pdf", PDF, "application/pdf")},
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip
        assert made.status_code == 201, made.text
    with api_client(live_server, TRAINING_OFFICER) as api:
        verified = api.post(
            f"/api/v1/external-trainings/{made.json()['id']}/verify", json={"approved": True}
        )
        assert verified.status_code == 200, verified.text


def test_targets_charts_fit_a_phone(
    live_server: LiveServer,
    new_context: Callable[..., BrowserContext],
    fresh_learner: Callable[[], Account],
) -> None:
    _credit_jp_this_year(live_server, fresh_learner())
    page = new_context(**PHONE).new_page()
    login(page, TRAINING_OFFICER.email)
    page.goto("/studio/targets")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dasbor target")
    drawn = 0
    for chart_id in CHARTS:
        element = page.locator(f"#{chart_id}")
        expect(element).to_have_count(1)
        if element.evaluate("e => e.tagName.toLowerCase()") != "svg":
            expect(element).to_contain_text("Belum ada data")  # the empty state, not a blank plot
            continue
        drawn += 1
        facts = _chart_facts(page, chart_id)
        assert facts["count"] > 0, chart_id
        assert facts["width"] >= facts["inner"] - 2, (chart_id, facts)  # full width
        assert facts["smallest"] >= 12, (chart_id, facts)  # readable text
        assert not facts["outside"], (chart_id, facts)  # labels inside the chart
    # The data behind every chart is on the page as tables (some inside "Lihat data").
    assert page.locator("table").count() >= 4
    assert drawn == len(CHARTS)  # this year has JP credited: every chart draws
    label = page.locator("#chart-opd text.chart-label", has_text="DISKOMINFO")
    expect(label.first).to_be_visible()
    assert_fits_and_accessible(page, "targets dashboard at 360 px")
    save_screenshot(page, "targets-dashboard-phone")
