"""Editing a published course in chromium (issue 13 acceptance), on a 360 px phone and a 1366 px
desktop: a content admin renames an activity, replaces its video (the duration follows the new
file), renames and reorders sections; the learner's progress in the activity survives. The edit
pages fit the phone and pass axe-core.

Each run builds its own course through the API, so the demo courses other tests use stay as they
are. The replacement video is tests/data/short-150s.mp4 (150 s -> 3 minutes; see its README).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect

from app.core import clock
from tests.browser.a11y import assert_fits_and_accessible
from tests.browser.conftest import ROOT, LiveServer
from tests.browser.helpers import (
    CONTENT_ADMIN,
    PHONE,
    TRAINING_OFFICER,
    Account,
    login,
    save_screenshot,
)
from tests.browser.test_quiz_browser import api_client

pytestmark = pytest.mark.browser

DEMO_VIDEO = ROOT / "content" / "literasi-digital-asn" / "01-pengantar" / "02-video-empat-pilar.mp4"
SHORT_VIDEO = ROOT / "tests" / "data" / "short-150s.mp4"
DESKTOP = {"viewport": {"width": 1366, "height": 900}}


def published_course(live_server: LiveServer, learner: Account) -> dict[str, int]:
    """Two sections (a video in the first), published, with a run the learner is enrolled in."""
    code = f"UJI-EDIT-{secrets.token_hex(3).upper()}"
    with api_client(live_server, CONTENT_ADMIN) as api:
        course = api.post(
            "/api/v1/courses",
            json={"code": code, "title": f"Kursus Suntingan {code[-6:]}", "jp": 1,
                  "category": "teknis"},
        )  # fmt: skip
        assert course.status_code == 201, course.text
        course_id = course.json()["id"]
        first = api.post(f"/api/v1/courses/{course_id}/sections", json={"title": "Bagian Awal"})
        second = api.post(f"/api/v1/courses/{course_id}/sections", json={"title": "Bagian Akhir"})
        video = api.post(
            f"/api/v1/sections/{first.json()['id']}/activities",
            data={"kind": "video", "title": "Video lama"},
            files={"file": ("empat-pilar.mp4", DEMO_VIDEO.read_bytes(), "video/mp4")},
        )
        assert video.status_code == 201, video.text
        page = api.post(
            f"/api/v1/sections/{second.json()['id']}/activities",
            data={"kind": "page", "title": "Bacaan penutup", "body": "# Penutup\n\nTerima kasih."},
        )
        assert page.status_code == 201, page.text
        assert api.post(f"/api/v1/courses/{course_id}/publish").status_code == 200
    today = clock.today()
    with api_client(live_server, TRAINING_OFFICER) as api:
        run = api.post(
            f"/api/v1/courses/{course_id}/runs",
            json={"name": "Angkatan suntingan", "starts_on": today.isoformat(),
                  "ends_on": (today + dt.timedelta(days=30)).isoformat(),
                  "funding_source": "apbd_kabupaten"},
        )  # fmt: skip
        assert run.status_code == 201, run.text
        enrolled = api.post(f"/api/v1/runs/{run.json()['id']}/enrolments",
                            json={"nips": [learner.nip]})  # fmt: skip
        assert enrolled.status_code == 201, enrolled.text
    return {"course": course_id, "video": video.json()["id"], "first": first.json()["id"],
            "second": second.json()["id"]}  # fmt: skip


def learner_progress(live_server: LiveServer, learner: Account, activity_id: int,
                     **event: Any) -> dict[str, Any]:  # fmt: skip
    with api_client(live_server, learner) as api:
        r = api.post(f"/api/v1/activities/{activity_id}/progress", json=event)
        assert r.status_code == 200, r.text
        return dict(r.json())


@pytest.mark.parametrize("screen", ["phone", "desktop"])
def test_content_admin_edits_a_published_course_and_progress_survives(
    new_context: Callable[..., BrowserContext],
    live_server: LiveServer,
    fresh_learner: Callable[[], Account],
    screen: str,
) -> None:
    learner = fresh_learner()
    ids = published_course(live_server, learner)
    started = learner_progress(live_server, learner, ids["video"], event="heartbeat",
                               position_seconds=12)  # fmt: skip
    assert started["status"] == "in_progress"

    page = new_context(**(PHONE if screen == "phone" else DESKTOP)).new_page()
    login(page, CONTENT_ADMIN.email)
    page.goto(f"/studio/courses/{ids['course']}")
    if screen == "phone":
        assert_fits_and_accessible(page, "course builder at 360 px")
    row = page.locator(f"#activity-{ids['video']}")
    expect(row.locator(".duration")).to_have_text("1 menit")  # 39 s, read from the file

    # The activity's title.
    row.get_by_role("button", name="Ubah").click()
    expect(page.get_by_role("heading", name="Ubah aktivitas")).to_be_visible()
    if screen == "phone":
        assert_fits_and_accessible(page, "activity edit page at 360 px")
    page.get_by_label("Judul aktivitas").fill("Video baru: Empat Pilar")
    page.get_by_role("button", name="Simpan aktivitas").click()
    expect(page.get_by_role("status")).to_have_text("Aktivitas disimpan.")

    # The video itself: the duration follows the new file.
    page.locator("#replace-file").set_input_files(str(SHORT_VIDEO))
    expect(page.locator("input[data-uploader-file-id]")).not_to_have_value("", timeout=20_000)
    page.get_by_role("button", name="Ganti berkas").click()
    expect(page.get_by_role("status")).to_contain_text("Berkas diganti")
    expect(page.locator("#duration-now")).to_contain_text("3 menit")
    expect(page.locator("#replace strong")).to_have_text("short-150s.mp4")
    if screen == "phone":
        save_screenshot(page, "phone-360-studio-activity-edit")
        assert_fits_and_accessible(page, "activity edit page after replacing at 360 px")

    # Sections: rename the first, then move it below the second.
    page.goto(f"/studio/courses/{ids['course']}")
    first = page.locator(f"#section-{ids['first']}")
    first.locator("summary", has_text="Ubah judul").click()
    first.get_by_label("Judul bagian").fill("Pembuka")
    first.get_by_role("button", name="Simpan judul").click()
    expect(page.get_by_role("status")).to_have_text("Judul bagian diubah.")
    page.get_by_role("button", name="↓ Turun : Pembuka").click()
    expect(page.get_by_role("status")).to_have_text("Urutan diubah.")
    titles = page.locator(".section-block h3").all_inner_texts()
    assert titles == ["1. Bagian Akhir", "2. Pembuka"], titles
    expect(page.locator(f"#activity-{ids['video']} .duration")).to_have_text("3 menit")
    log = page.locator("#edit-log")
    expect(log).to_contain_text("Video baru: Empat Pilar")
    expect(log).to_contain_text("Pembuka")
    expect(log.get_by_text(re.compile("urutan bagian"))).to_be_visible()
    if screen == "phone":
        save_screenshot(page, "phone-360-studio-course-edited")
        assert_fits_and_accessible(page, "course builder after the edits at 360 px")
        # The delete confirmation names what would be lost (and deletes nothing by itself).
        page.goto(f"/studio/sections/{ids['first']}/delete")
        expect(page.locator(".loss-list")).to_contain_text("Video baru: Empat Pilar")
        expect(page.locator(".loss-list")).to_contain_text("kemajuan 1 peserta")
        assert_fits_and_accessible(page, "section delete confirmation at 360 px")

    # The learner's place in the video survived the new title and the new file.
    after = learner_progress(live_server, learner, ids["video"], event="heartbeat")
    assert after["status"] == "in_progress" and after["position_seconds"] == 12, after
    with api_client(live_server, learner) as api:
        course = api.get(f"/api/v1/courses/{ids['course']}").json()
    video = next(a for s in course["sections"] for a in s["activities"] if a["id"] == ids["video"])
    assert video["title"] == "Video baru: Empat Pilar" and video["duration_minutes"] == 3
