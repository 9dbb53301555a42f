"""Editing a course after it is made (issue 13): activities, sections and files through the API
and the studio, with the edit log of a published course, completion recomputed when what is
required changes, and durations read from the media."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.certificates.models import RunCompletion
from app.core.db import session_scope
from app.courses import media
from app.progress import service as progress_service
from tests.courses.conftest import pdf_bytes
from tests.factories import (
    api_token,
    browser_login,
    complete_activity,
    enrol,
    make_activity,
    make_completed_run,
    make_course,
    make_run,
    make_user,
)
from tests.testdata import THIRD_PARTY

ROOT = Path(__file__).resolve().parent.parent.parent
SHORT_MP4 = ROOT / "tests" / "data" / "short-150s.mp4"  # 150 s -> 3 minutes
DEMO_MP4 = ROOT / "content" / "literasi-digital-asn" / "01-pengantar" / "02-video-empat-pilar.mp4"


async def _as(client: httpx.AsyncClient, *roles: str) -> dict[str, str]:
    user = make_user(roles=roles)
    return await api_token(client, user.email or "")


def _status(enrolment_id: int, activity_id: int) -> str:
    with session_scope() as session:
        rows = progress_service.statuses(session, enrolment_id)
        return rows[activity_id].status if activity_id in rows else "not_started"


def _completed(enrolment_id: int) -> bool:
    with session_scope() as session:
        return session.get(RunCompletion, enrolment_id) is not None


# --- activities ---------------------------------------------------------------------------------


async def test_editing_an_activity_keeps_progress_and_is_recorded(
    client: httpx.AsyncClient,
) -> None:
    ids = make_course(pages=2)
    run_id = make_run(ids["course"])
    learner = make_user()
    eid = enrol(run_id, learner.id)
    complete_activity(eid, ids["page1"])
    editor = await _as(client, "content_admin")

    r = await client.patch(
        f"/api/v1/activities/{ids['page1']}",
        json={"title": "Bacaan Pertama (revisi)", "body": "# Baru\n\nIsi yang diperbaiki.",
              "duration_minutes": 7},
        headers=editor,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == ids["page1"] and body["title"] == "Bacaan Pertama (revisi)"
    assert body["duration_minutes"] == 7 and body["duration_manual"] is True
    assert _status(eid, ids["page1"]) == "completed"  # the learner's progress survived

    edits = (await client.get(f"/api/v1/courses/{ids['course']}/edits", headers=editor)).json()
    by_field = {e["field"]: e for e in edits}
    assert by_field["title"]["old_value"] == "Bacaan 1"
    assert by_field["title"]["new_value"] == "Bacaan Pertama (revisi)"
    assert by_field["duration_minutes"]["old_value"] == "15"
    assert by_field["title"]["user_name"] and by_field["title"]["target"] == "activity"
    assert "body" in by_field

    # null hands the duration back to the media: the page's words at 200 per minute
    back = await client.patch(
        f"/api/v1/activities/{ids['page1']}", json={"duration_minutes": None}, headers=editor
    )
    assert back.json()["duration_minutes"] == 1 and back.json()["duration_manual"] is False


async def test_draft_course_edits_are_not_logged(client: httpx.AsyncClient) -> None:
    ids = make_course(published=False)
    editor = await _as(client, "content_admin")
    r = await client.patch(
        f"/api/v1/activities/{ids['page1']}", json={"title": "Judul baru"}, headers=editor
    )
    assert r.status_code == 200
    edits = await client.get(f"/api/v1/courses/{ids['course']}/edits", headers=editor)
    assert edits.json() == []


async def test_only_course_editors_may_edit(client: httpx.AsyncClient) -> None:
    ids = make_course()
    for role in ("learner", "training_officer", "mentor"):
        headers = await _as(client, role)
        for method, url, payload in (
            ("PATCH", f"/api/v1/activities/{ids['page1']}", {"title": "X"}),
            ("PATCH", f"/api/v1/sections/{ids['section']}", {"title": "X"}),
            ("DELETE", f"/api/v1/sections/{ids['section']}?confirm=true", None),
            ("PUT", f"/api/v1/courses/{ids['course']}/sections/order",
             {"section_ids": [ids["section"]]}),
            ("GET", f"/api/v1/courses/{ids['course']}/edits", None),
        ):  # fmt: skip
            r = await client.request(method, url, json=payload, headers=headers)
            assert r.status_code == 403, (role, method, url, r.status_code)
    editor = await _as(client, "content_admin")
    missing = await client.patch("/api/v1/activities/999999", json={"title": "X"}, headers=editor)
    assert missing.status_code == 404 and missing.json()["error"] == "activity_not_found"
    gone = await client.patch("/api/v1/sections/999999", json={"title": "X"}, headers=editor)
    assert gone.status_code == 404


async def test_validation_errors_name_the_field_in_indonesian(client: httpx.AsyncClient) -> None:
    ids = make_course()
    video = make_activity(ids["section"], kind="video")
    editor = await _as(client, "content_admin")
    blank = await client.patch(
        f"/api/v1/activities/{ids['page1']}", json={"title": "   "}, headers=editor
    )
    assert blank.status_code == 422 and blank.json()["field"] == "title"
    assert "wajib diisi" in blank.json()["detail"]
    wrong_kind = await client.patch(
        f"/api/v1/activities/{video}", json={"body": "teks"}, headers=editor
    )
    assert wrong_kind.status_code == 422 and wrong_kind.json()["field"] == "body"
    assert "Halaman" in wrong_kind.json()["detail"]
    now = dt.datetime.now(dt.UTC)
    window = await client.patch(
        f"/api/v1/activities/{ids['page1']}",
        json={"available_from": now.isoformat(),
              "available_until": (now - dt.timedelta(days=1)).isoformat()},
        headers=editor,
    )  # fmt: skip
    assert window.status_code == 422
    assert "batas akhir" in window.json()["detail"].lower()


async def test_learners_open_an_activity_only_inside_its_window(
    client: httpx.AsyncClient,
) -> None:
    ids = make_course()
    run_id = make_run(ids["course"])
    learner = make_user()
    enrol(run_id, learner.id)
    editor = await _as(client, "content_admin")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    r = await client.patch(
        f"/api/v1/activities/{ids['page1']}",
        json={"available_from": later.isoformat()},
        headers=editor,
    )
    assert r.status_code == 200
    headers = await api_token(client, learner.email or "")
    closed = await client.get(f"/api/v1/activities/{ids['page1']}/content", headers=headers)
    assert closed.status_code == 403 and closed.json()["error"] == "activity_unavailable"
    assert "baru dapat dibuka mulai" in closed.json()["detail"]
    early = await client.post(
        f"/api/v1/activities/{ids['page1']}/progress", json={"event": "viewed"}, headers=headers
    )
    assert early.status_code == 403 and early.json()["error"] == "activity_unavailable"
    staff = await client.get(f"/api/v1/activities/{ids['page1']}/content", headers=editor)
    assert staff.status_code == 200  # staff preview ignores the window
    await client.patch(
        f"/api/v1/activities/{ids['page1']}",
        json={"available_from": None,
              "available_until": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()},
        headers=editor,
    )  # fmt: skip
    over = await client.get(f"/api/v1/activities/{ids['page1']}/content", headers=headers)
    assert over.status_code == 403 and "sudah ditutup" in over.json()["detail"]


async def test_changing_what_is_required_recomputes_completion(
    client: httpx.AsyncClient,
) -> None:
    made = make_completed_run(learners=1, pages=2, complete=False, auto_issue=False)
    pages: list[int] = made["pages"]  # type: ignore[assignment]
    (eid,) = made["enrolments"]  # type: ignore[misc]
    complete_activity(eid, pages[0], seconds=900)
    assert not _completed(eid)  # the second page is still required
    editor = await _as(client, "content_admin")
    r = await client.patch(
        f"/api/v1/activities/{pages[1]}", json={"required": False}, headers=editor
    )
    assert r.status_code == 200
    assert _completed(eid)  # nothing left to do: the run is complete now
    again = await client.patch(
        f"/api/v1/activities/{pages[1]}", json={"required": True}, headers=editor
    )
    assert again.status_code == 200
    assert not _completed(eid)  # no certificate yet: the completion is taken back
    hide = await client.post(f"/api/v1/activities/{pages[1]}/hide", headers=editor)
    assert hide.status_code == 200
    assert _completed(eid)  # a hidden activity is not required of anyone
    added = await client.post(
        f"/api/v1/sections/{made['section']}/activities",
        data={"kind": "page", "title": "Bacaan tambahan", "body": "Isi tambahan."},
        headers=editor,
    )
    assert added.status_code == 201
    assert not _completed(eid)  # a new required activity is still to do
    removed = await client.delete(f"/api/v1/activities/{added.json()['id']}", headers=editor)
    assert removed.status_code == 204
    assert _completed(eid)


# --- sections -----------------------------------------------------------------------------------


async def test_sections_are_renamed_reordered_and_deleted_with_confirmation(
    client: httpx.AsyncClient,
) -> None:
    ids = make_course(pages=1)
    course_id = ids["course"]
    editor = await _as(client, "content_admin")
    second = await client.post(
        f"/api/v1/courses/{course_id}/sections", json={"title": "Penutup"}, headers=editor
    )
    second_id = second.json()["id"]

    renamed = await client.patch(
        f"/api/v1/sections/{ids['section']}", json={"title": "  Modul   Pengantar "},
        headers=editor,
    )  # fmt: skip
    assert renamed.status_code == 200
    bad = await client.put(
        f"/api/v1/courses/{course_id}/sections/order", json={"section_ids": [second_id]},
        headers=editor,
    )  # fmt: skip
    assert bad.status_code == 422 and bad.json()["field"] == "section_ids"
    ordered = await client.put(
        f"/api/v1/courses/{course_id}/sections/order",
        json={"section_ids": [second_id, ids["section"]]}, headers=editor,
    )  # fmt: skip
    assert ordered.status_code == 200
    course = (await client.get(f"/api/v1/courses/{course_id}", headers=editor)).json()
    assert [s["title"] for s in course["sections"]] == ["Penutup", "Modul Pengantar"]

    run_id = make_run(course_id)
    learner = make_user()
    complete_activity(enrol(run_id, learner.id), ids["page1"])
    preview = await client.get(f"/api/v1/sections/{ids['section']}/deletion", headers=editor)
    assert preview.json()["activities"][0]["learners_with_progress"] == 1
    refused = await client.delete(f"/api/v1/sections/{ids['section']}", headers=editor)
    assert refused.status_code == 409 and refused.json()["error"] == "section_not_empty"
    assert '"Bacaan 1"' in refused.json()["detail"]
    deleted = await client.delete(f"/api/v1/sections/{ids['section']}?confirm=true", headers=editor)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["activities"][0]["title"] == "Bacaan 1"
    empty = await client.delete(f"/api/v1/sections/{second_id}", headers=editor)
    assert empty.status_code == 200  # an empty section needs no confirmation

    edits = (await client.get(f"/api/v1/courses/{course_id}/edits", headers=editor)).json()
    fields = {(e["target"], e["field"]) for e in edits}
    assert {("section", "title"), ("course", "section_order"), ("section", "deleted"),
            ("section", "activity_deleted")} <= fields  # fmt: skip
    order = next(e for e in edits if e["field"] == "section_order")
    assert order["old_value"] == "Modul Pengantar | Penutup"
    assert order["new_value"] == "Penutup | Modul Pengantar"


# --- files and media facts ----------------------------------------------------------------------


async def test_video_duration_comes_from_the_file_and_follows_a_replacement(
    client: httpx.AsyncClient,
) -> None:
    ids = make_course(pages=1)
    editor = await _as(client, "content_admin")
    created = await client.post(
        f"/api/v1/sections/{ids['section']}/activities",
        data={"kind": "video", "title": "Video singkat"},
        files={"file": ("singkat.mp4", SHORT_MP4.read_bytes(), "video/mp4")},
        headers=editor,
    )
    assert created.status_code == 201, created.text
    vid = created.json()["id"]
    course = (await client.get(f"/api/v1/courses/{ids['course']}", headers=editor)).json()
    video = next(a for s in course["sections"] for a in s["activities"] if a["id"] == vid)
    assert video["duration_minutes"] == 3 and video["duration_manual"] is False
    assert round(video["media_seconds"]) == 150
    assert course["required_minutes"] == 15 + 3
    assert course["sections"][0]["required_minutes"] == 15 + 3
    assert course["suggested_jp"] == round(18 / 45, 1)

    run_id = make_run(ids["course"])
    learner = make_user()
    eid = enrol(run_id, learner.id)
    complete_activity(eid, vid)
    replaced = await client.put(
        f"/api/v1/activities/{vid}/file",
        files={"file": ("empat-pilar.mp4", DEMO_MP4.read_bytes(), "video/mp4")},
        headers=editor,
    )
    assert replaced.status_code == 200, replaced.text
    activity = replaced.json()["activity"]
    assert activity["id"] == vid and activity["file_name"] == "empat-pilar.mp4"
    assert activity["duration_minutes"] == 1  # 39 s
    assert _status(eid, vid) == "completed"

    # A duration typed by hand stays when the file changes.
    await client.patch(f"/api/v1/activities/{vid}", json={"duration_minutes": 12}, headers=editor)
    again = await client.put(
        f"/api/v1/activities/{vid}/file",
        files={"file": ("singkat.mp4", SHORT_MP4.read_bytes(), "video/mp4")},
        headers=editor,
    )
    assert again.json()["activity"]["duration_minutes"] == 12
    wrong = await client.put(
        f"/api/v1/activities/{vid}/file",
        files={"file": ("x.pdf", pdf_bytes(), "application/pdf")},
        headers=editor,
    )
    assert wrong.status_code == 415
    page = await client.put(
        f"/api/v1/activities/{ids['page1']}/file",
        files={"file": ("x.pdf", pdf_bytes(), "application/pdf")},
        headers=editor,
    )
    assert page.status_code == 422 and page.json()["field"] == "file"


async def test_pdf_pages_and_page_words_give_the_duration(client: httpx.AsyncClient) -> None:
    ids = make_course(pages=0, published=False)
    editor = await _as(client, "content_admin")
    doc = await client.post(
        f"/api/v1/sections/{ids['section']}/activities",
        data={"kind": "document", "title": "Ringkasan"},
        files={"file": ("ringkasan.pdf", pdf_bytes(text="Halaman satu"), "application/pdf")},
        headers=editor,
    )
    assert doc.status_code == 201, doc.text
    words = " ".join(["kata"] * 450)
    page = await client.post(
        f"/api/v1/sections/{ids['section']}/activities",
        data={"kind": "page", "title": "Bacaan panjang", "body": words},
        headers=editor,
    )
    typed = await client.post(
        f"/api/v1/sections/{ids['section']}/activities",
        data={"kind": "page", "title": "Bacaan ketik", "body": words, "duration_minutes": "9"},
        headers=editor,
    )
    course = (await client.get(f"/api/v1/courses/{ids['course']}", headers=editor)).json()
    by_id = {a["id"]: a for s in course["sections"] for a in s["activities"]}
    assert by_id[doc.json()["id"]]["page_count"] == 1
    assert by_id[doc.json()["id"]]["duration_minutes"] == media.MINUTES_PER_PDF_PAGE
    assert by_id[page.json()["id"]]["duration_minutes"] == 3  # 450 words at 200 a minute
    assert by_id[typed.json()["id"]]["duration_minutes"] == 9
    assert by_id[typed.json()["id"]]["duration_manual"] is True


def test_minutes_rules() -> None:
    assert media.minutes_of_video(39) == 1 and media.minutes_of_video(150.1) == 3
    assert media.minutes_of_pages(3) == 3 * media.MINUTES_PER_PDF_PAGE
    assert media.reading_minutes("") == 1 and media.reading_minutes("a " * 401) == 3
    assert media.suggested_jp(90, 45) == 2.0 and media.suggested_jp(20, 45) == 0.4


# --- studio pages -------------------------------------------------------------------------------


async def test_studio_edits_an_activity_and_renames_a_section(client: httpx.AsyncClient) -> None:
    ids = make_course(pages=1)
    admin = make_user(roles=("content_admin",))
    csrf = await browser_login(client, admin.email or "")
    page = await client.get(f"/studio/activities/{ids['page1']}/edit")
    assert page.status_code == 200 and "Bacaan 1" in page.text
    saved = await client.post(
        f"/studio/activities/{ids['page1']}/edit",
        data={"csrf_token": csrf, "title": "Bacaan Utama", "body": "# Isi\n\nBaru.",
              "duration_minutes": "", "required": "on", "min_view_seconds": "0",
              "available_from": "2026-12-20T08:00", "available_until": ""},
    )  # fmt: skip
    assert saved.status_code == 303, saved.text
    after = await client.get(saved.headers["location"])
    assert "Aktivitas disimpan." in after.text and 'value="2026-12-20T08:00"' in after.text
    bad = await client.post(
        f"/studio/activities/{ids['page1']}/edit",
        data={"csrf_token": csrf, "title": "", "body": "x", "required": "on"},
    )
    assert bad.status_code == 422 and "Wajib diisi" in bad.text
    no_csrf = await client.post(
        f"/studio/activities/{ids['page1']}/edit", data={"title": "Tanpa token"}
    )
    assert no_csrf.status_code == 403
    renamed = await client.post(
        f"/studio/sections/{ids['section']}/rename", data={"csrf_token": csrf, "title": "Bab 1"}
    )
    assert renamed.status_code == 303
    builder = await client.get(f"/studio/courses/{ids['course']}")
    assert "1. Bab 1" in builder.text and "Riwayat perubahan" in builder.text
    assert "Bacaan Utama" in builder.text and "Saran JP" in builder.text
    confirm = await client.get(f"/studio/sections/{ids['section']}/delete")
    assert confirm.status_code == 200 and "Bacaan Utama" in confirm.text
    kept = await client.post(f"/studio/sections/{ids['section']}/delete", data={"csrf_token": csrf})
    assert kept.status_code == 409  # the box was not ticked: nothing deleted
    with session_scope() as session:
        from app.courses.models import Section

        assert session.get(Section, ids["section"]) is not None


async def test_learners_cannot_reach_the_edit_pages(client: httpx.AsyncClient) -> None:
    ids = make_course()
    learner = make_user()
    await browser_login(client, learner.email or "")
    for url in (
        f"/studio/activities/{ids['page1']}/edit",
        f"/studio/sections/{ids['section']}/delete",
    ):
        r = await client.get(url)
        assert r.status_code == 403, url


async def test_competencies_are_picked_by_name_with_a_level(client: httpx.AsyncClient) -> None:
    ids = make_course(competencies=("literasi_digital",))
    admin = make_user(roles=("content_admin",))
    csrf = await browser_login(client, admin.email or "")
    saved = await client.post(
        f"/studio/courses/{ids['course']}",
        data={"csrf_token": csrf, "title": "Literasi Digital untuk ASN", "jp": "10",
              "category": "teknis", "learning_mode": "e_learning",
              "competency_code": ["literasi_digital", ""], "competency_level": ["3", ""]},
    )  # fmt: skip
    assert saved.status_code == 303, saved.text
    page = await client.get(f"/studio/courses/{ids['course']}")
    assert "literasi_digital:3" not in page.text
    assert '<option value="literasi_digital" selected>' in page.text
    assert '<option value="3" selected>' in page.text
    with session_scope() as session:
        from app.courses.models import CourseCompetency

        levels = session.scalars(
            select(CourseCompetency.target_level).where(CourseCompetency.course_id == ids["course"])
        ).all()
        assert levels == [3]


# --- SCORM package replaced mid-run --------------------------------------------------------------

SCORM_V1 = THIRD_PARTY / "scorm12" / "singlescobasic.zip"
SCORM_V2 = THIRD_PARTY / "scorm12" / "singlesco_scorm12.zip"


async def test_a_replaced_scorm_package_keeps_begun_attempts_on_their_version(
    client: httpx.AsyncClient,
) -> None:
    ids = make_course(pages=1)
    editor = await _as(client, "content_admin")
    created = await client.post(
        f"/api/v1/sections/{ids['section']}/activities",
        data={"kind": "scorm", "title": "Golf"},
        files={"file": (SCORM_V1.name, SCORM_V1.read_bytes(), "application/zip")},
        headers=editor,
    )
    assert created.status_code == 201, created.text
    aid, old_package = created.json()["id"], created.json()["scorm_package_id"]
    run_id = make_run(ids["course"])
    early, late = make_user(), make_user()
    enrol(run_id, early.id)
    enrol(run_id, late.id)
    early_h = await api_token(client, early.email or "")
    late_h = await api_token(client, late.email or "")
    commit = {"launch_id": "l1", "seq": 1,
              "cmi": {"cmi.core.lesson_status": "incomplete", "cmi.core.lesson_location": "p2",
                      "cmi.suspend_data": "state-of-v1"}}  # fmt: skip
    saved = await client.post(f"/api/v1/activities/{aid}/scorm", json=commit, headers=early_h)
    assert saved.status_code == 200, saved.text

    replaced = await client.put(
        f"/api/v1/activities/{aid}/file",
        files={"file": (SCORM_V2.name, SCORM_V2.read_bytes(), "application/zip")},
        headers=editor,
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["attempts_on_old_version"] == 1
    assert replaced.json()["activity"]["id"] == aid

    early_launch = await client.get(f"/api/v1/activities/{aid}/content", headers=early_h)
    late_launch = await client.get(f"/api/v1/activities/{aid}/content", headers=late_h)
    from app.core.config import get_settings
    from app.courses import content_origin

    def package_of(url: str) -> int:  # {content_origin}/c/{token}/{package_id}/{path}
        return int(url.split("/c/", 1)[1].split("/")[1])

    assert package_of(early_launch.headers["location"]) == old_package
    assert package_of(late_launch.headers["location"]) != old_package
    old_file = early_launch.headers["location"]
    assert (await client.get(old_file)).status_code == 200
    # The late learner's own link, pointed at the old package: refused (token names its package).
    late_token = late_launch.headers["location"].split("/c/", 1)[1].split("/")[0]
    stolen = old_file.replace(old_file.split("/c/", 1)[1].split("/")[0], late_token)
    assert (await client.get(stolen)).status_code == 403
    player = await client.get(f"/activities/{aid}", headers=early_h)
    launcher = re.search(r'data-src="[^"]*/c/([^/"]+)/launch"', player.text)
    assert launcher, player.text
    capability = content_origin.read(launcher.group(1), get_settings())
    assert "state-of-v1" in player.text and capability and capability.package_id == old_package
    edits = (await client.get(f"/api/v1/courses/{ids['course']}/edits", headers=editor)).json()
    assert any(e["field"] == "package" and e["target_id"] == aid for e in edits)


async def test_course_details_changes_are_logged_and_the_studio_replaces_a_file(
    client: httpx.AsyncClient,
) -> None:
    ids = make_course(pages=1, jp=2)
    video = make_activity(ids["section"], kind="video", title="Video lama", duration_minutes=0)
    admin = make_user(roles=("content_admin",))
    headers = await api_token(client, admin.email or "")
    patched = await client.patch(
        f"/api/v1/courses/{ids['course']}", json={"jp": 3, "category": "manajerial"},
        headers=headers,
    )  # fmt: skip
    assert patched.status_code == 200
    edits = (await client.get(f"/api/v1/courses/{ids['course']}/edits", headers=headers)).json()
    changed = {(e["field"], e["old_value"], e["new_value"]) for e in edits}
    assert {("jp", "2", "3"), ("category", "teknis", "manajerial")} <= changed

    csrf = await browser_login(client, admin.email or "")
    sent = await client.post(
        f"/studio/activities/{video}/file",
        data={"csrf_token": csrf, "file_id": "", "file_name": ""},
        files={"file": ("pendek.mp4", SHORT_MP4.read_bytes(), "video/mp4")},
    )
    assert sent.status_code == 303, sent.text
    page = await client.get(sent.headers["location"])
    assert "Berkas diganti" in page.text and "pendek.mp4" in page.text
    assert "Durasi sekarang: 3 menit" in page.text
    log = await client.get(f"/studio/courses/{ids['course']}")
    assert "Manajerial" in log.text  # the category's label, not its stored value
    empty = await client.post(
        f"/studio/activities/{video}/file", data={"csrf_token": csrf, "file_id": ""}
    )
    assert empty.status_code == 422 and "Pilih berkas pengganti." in empty.text


async def test_many_learners_recompute_on_the_job_queue(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = make_completed_run(learners=2, pages=2, complete=False, auto_issue=False)
    pages: list[int] = made["pages"]  # type: ignore[assignment]
    enrolments: list[int] = made["enrolments"]  # type: ignore[assignment]
    for eid in enrolments:
        complete_activity(eid, pages[0], seconds=900)
    queued: list[list[int]] = []
    real = progress_service.recompute_runs
    monkeypatch.setattr(progress_service, "INLINE_RECOMPUTE_LEARNERS", 1)
    monkeypatch.setattr(
        progress_service, "recompute_runs", lambda ids: (queued.append(ids), real(ids))
    )
    editor = await _as(client, "content_admin")
    r = await client.patch(
        f"/api/v1/activities/{pages[1]}", json={"required": False}, headers=editor
    )
    assert r.status_code == 200
    assert queued == [[made["run"]]]  # after the commit, on the queue
    assert all(_completed(eid) for eid in enrolments)
