"""Courses in chromium: a content admin builds, previews and publishes a course in the studio; a
learner on a 360 px phone enrols, resumes a video, reads a PDF and resumes a SCORM package; every
learner page fits a 360 px screen.

Learners are fresh accounts made with `lms users create` against the server's database, so the
progress one test leaves behind never meets another test (or a demo account used elsewhere).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import (
    BrowserContext,
    CDPSession,
    FrameLocator,
    Locator,
    Page,
    Request,
    Response,
    expect,
)

from app.courses.content_import import zip_folder
from tests.browser.conftest import ROOT
from tests.browser.helpers import (
    CONTENT_ADMIN,
    PHONE,
    Account,
    login,
    overflowing_elements,
    page_widths,
    save_screenshot,
)

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1280, "height": 900}}

CONTENT = ROOT / "content"
LITDIG = CONTENT / "literasi-digital-asn"
LITDIG_VIDEO = LITDIG / "01-pengantar" / "02-video-empat-pilar.mp4"
LITDIG_PDF = LITDIG / "02-empat-pilar" / "05-lembar-ringkas-empat-pilar.pdf"
LITDIG_SCORM = LITDIG / "03-praktik" / "02-latihan-cek-fakta.scorm"

# The demo course the phone learner takes: its video, PDF and SCORM activities are not locked.
KAMINFO = "Keamanan Informasi Dasar"
KAMINFO_VIDEO = "Video: Kata Sandi Kuat dan Verifikasi Dua Langkah"
KAMINFO_PDF = "Panduan Saku Keamanan Informasi (PDF)"
KAMINFO_SCORM = "Latihan Interaktif: Kenali Phishing"
KAMINFO_SCORM_PAGES = (
    "Apa itu phishing",
    "Tanda-tanda pesan palsu",
    "Contoh dan cara menanggapi",
    "Latihan",
)

PROGRESS_URL = re.compile(r"/api/v1/activities/(\d+)/progress$")
SCORM_COMMIT_URL = re.compile(r"/api/v1/activities/(\d+)/scorm$")
SCORM_FRAME = 'iframe[title="Materi SCORM"]'  # the launcher, on the content origin
SCO_FRAME = 'iframe[title="Isi paket SCORM"]'  # the package, in the launcher


def sco_of(page: Page) -> FrameLocator:
    """The SCORM package's own frame: the player frames the launcher, the launcher the SCO."""
    return page.frame_locator(SCORM_FRAME).frame_locator(SCO_FRAME)


# --- fixtures and small steps -------------------------------------------------------------------


def fits_phone(page: Page, name: str) -> None:
    """Screenshot to test-artifacts/phone-360-<name>.png; nothing may scroll sideways."""
    save_screenshot(page, f"phone-360-{name}")
    scroll_width, viewport = page_widths(page)
    assert scroll_width <= 360, (name, overflowing_elements(page, 360))
    assert viewport == 360, name


def posted_json(request: Request) -> dict[str, Any]:
    try:
        return dict(json.loads(request.post_data or "{}"))
    except ValueError:
        return {}


def is_progress(event: str) -> Callable[[Response], bool]:
    """Predicate for the player's progress POST answers carrying `event`."""

    def check(response: Response) -> bool:
        request = response.request
        return (
            request.method == "POST"
            and PROGRESS_URL.search(response.url) is not None
            and posted_json(request).get("event") == event
        )

    return check


def throttle_uploads(cdp: CDPSession, bytes_per_second: int | None) -> None:
    """Slow the page's uploads down (DevTools network emulation) so the progress bar is seen.

    The CDP session must stay attached: detaching it ends the emulation.
    """
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second if bytes_per_second else -1,
        },
    )


def pdf_viewer(page: Page) -> tuple[Locator, str]:
    """The document player's embedded PDF and its content URL.

    Today an <iframe class="pdf-frame">; a pdf.js viewer ([data-pdf-viewer] with data-src,
    static/js/pdf-viewer.js) is being built to replace it, so either is accepted: when pdf.js
    is there, its first page must be drawn.
    """
    viewer = page.locator("iframe.pdf-frame, [data-pdf-viewer]")
    expect(viewer).to_have_count(1)
    src = viewer.get_attribute("src") or viewer.get_attribute("data-src") or ""
    assert re.fullmatch(r"/api/v1/activities/\d+/content", src), src
    if viewer.get_attribute("data-pdf-viewer") is not None:
        expect(viewer.locator("canvas").first).to_be_visible()
    return viewer, src


def section_block(page: Page, title: str) -> Locator:
    return page.locator("section.section-block").filter(
        has=page.get_by_role("heading", level=3, name=title)
    )


def activity_form(section: Locator, kind: str, title: str, minutes: int) -> Locator:
    """Open the section's "Tambah aktivitas" form and fill in kind, title and duration."""
    section.get_by_role("button", name="Tambah aktivitas").click()
    form = section.locator("form.kind-form")
    expect(form).to_be_visible()
    form.get_by_label("Jenis", exact=True).select_option(kind)
    form.get_by_label("Judul aktivitas").fill(title)
    form.get_by_label("Durasi (menit)").fill(str(minutes))
    return form


def wait_for_visible_progress(page: Page, form: Locator) -> None:
    """The form's <progress> is shown and part-way (0 < value < max)."""
    handle = form.element_handle()
    page.wait_for_function(
        """(form) => {
            const bar = form.querySelector('progress');
            return bar && !bar.hidden && bar.offsetHeight > 0
                && bar.hasAttribute('value') && bar.value > 0 && bar.value < bar.max;
        }""",
        arg=handle,
        timeout=15_000,
    )


# --- 1. the studio ------------------------------------------------------------------------------


def test_content_admin_builds_previews_and_publishes_a_course_in_the_browser(
    new_context: Callable[..., BrowserContext], fresh_learner: Callable[[], Account]
) -> None:
    code = f"UJI-STUDIO-{secrets.token_hex(3).upper()}"
    title = f"Pelayanan Publik Digital {code[-6:]}"
    section_title = "Bagian 1: Dasar layanan digital"
    page_title, video_title = "Bacaan: Tujuan pembelajaran", "Video: Empat pilar"
    pdf_title, scorm_title = "Lembar ringkas (PDF)", "Latihan cek fakta"

    context = new_context(**DESKTOP)
    page = context.new_page()
    login(page, CONTENT_ADMIN.email)
    cdp = context.new_cdp_session(page)

    # New course from the studio list.
    page.goto("/studio")
    expect(page.get_by_role("heading", level=1)).to_have_text("Studio kursus")
    page.get_by_role("button", name="Kursus baru").click()
    new = page.locator("#new-course form")
    new.get_by_label("Kode kursus").fill(code)
    new.get_by_label("Judul", exact=True).fill(title)
    new.get_by_label("Jumlah JP").fill("1")
    new.get_by_label("Kategori kompetensi").select_option("teknis")
    new.get_by_label("Moda pembelajaran").select_option("e_learning")
    new.get_by_label("Ringkasan").fill("Kursus uji yang disusun lewat peramban.")
    new.get_by_role("button", name="Buat kursus").click()
    expect(page).to_have_url(re.compile(r"/studio/courses/\d+\?notice=created$"))
    course_id = int(re.findall(r"/studio/courses/(\d+)", page.url)[0])
    expect(page.get_by_role("status")).to_have_text(
        "Kursus dibuat. Tambahkan bagian dan materinya."
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draf")

    # A section.
    page.get_by_label("Judul bagian").fill(section_title)
    page.get_by_role("button", name="Tambah bagian").click()
    expect(page.get_by_role("status")).to_have_text("Bagian ditambahkan.")
    section = section_block(page, f"1. {section_title}")
    expect(section).to_contain_text("Bagian ini belum berisi aktivitas.")
    rows = section.locator(".activity-list > li")

    # A page (markdown), sent by htmx without a file.
    form = activity_form(section, "page", page_title, 15)
    expect(form.locator('input[type="file"]')).to_be_hidden()  # only the page's fields show
    form.get_by_label("Isi halaman (markdown)").fill(
        "## Tujuan\n\nSetelah bacaan ini Anda dapat:\n\n- menjelaskan **SPBE**;\n- memakai layanan daring."
    )
    form.get_by_role("button", name="Simpan aktivitas").click()
    expect(rows).to_have_count(1)
    expect(page.get_by_role("status")).to_have_text("Aktivitas ditambahkan.")

    # A video: uploader.js streams it to /api/v1/uploads/stream as soon as it is chosen. Uploads
    # are throttled to 40 KB/s so the progress bar is on screen for a few seconds.
    form = activity_form(section, "video", video_title, 5)
    form.evaluate(  # uploader.js announces the stored file with the server's JSON
        "(f) => f.addEventListener('uploader:done', (e) => { f.dataset.stored = JSON.stringify(e.detail); })"
    )
    throttle_uploads(cdp, 40 * 1024)
    with page.expect_response(lambda r: "/api/v1/uploads/stream?kind=video" in r.url) as stored:
        form.locator('input[type="file"]').set_input_files(LITDIG_VIDEO)
        wait_for_visible_progress(page, form)
        expect(form.locator("[data-progress-status]")).to_contain_text(
            re.compile(r"Mengunggah… \d+%")
        )
        save_screenshot(page, "studio-upload-progress-video")
    throttle_uploads(cdp, None)
    assert stored.value.status == 201
    expect(form).to_have_attribute("data-stored", re.compile("file_id"))
    upload = json.loads(form.get_attribute("data-stored") or "{}")
    assert upload["size"] == LITDIG_VIDEO.stat().st_size
    assert upload["content_type"] == "video/mp4"
    expect(form.locator("[data-progress-status]")).to_have_text(
        f"Berkas terunggah: {LITDIG_VIDEO.name}"
    )
    expect(form.locator("input[data-uploader-file-id]")).to_have_value(str(upload["file_id"]))
    expect(form.locator("progress")).to_have_js_property("value", 1)
    with page.expect_request(lambda r: r.method == "POST" and "/activities" in r.url) as sent:
        form.get_by_role("button", name="Simpan aktivitas").click()
    # The bytes went up once: the form refers to the stored file instead of sending it again.
    body = sent.value.post_data_buffer or b""
    assert len(body) < 10_000 and b"filename=" not in body, len(body)
    assert f'name="file_name"\r\n\r\n{LITDIG_VIDEO.name}\r\n'.encode() in body
    assert f'name="file_id"\r\n\r\n{upload["file_id"]}\r\n'.encode() in body
    expect(rows).to_have_count(2)

    # A PDF document, through the same uploader (small: no throttling needed).
    form = activity_form(section, "document", pdf_title, 20)
    with page.expect_response(lambda r: "/api/v1/uploads/stream?kind=document" in r.url) as stored:
        form.locator('input[type="file"]').set_input_files(LITDIG_PDF)
    assert stored.value.status == 201
    expect(form.locator("[data-progress-status]")).to_have_text(
        f"Berkas terunggah: {LITDIG_PDF.name}"
    )
    form.get_by_role("button", name="Simpan aktivitas").click()
    expect(rows).to_have_count(3)

    # A SCORM package (the demo folder zipped here). SCORM goes with the form itself (htmx,
    # multipart): app.js shows the same bar from htmx's upload progress.
    package = zip_folder(LITDIG_SCORM, max_bytes=50 * 1024 * 1024)
    form = activity_form(section, "scorm", scorm_title, 30)
    form.locator('input[type="file"]').set_input_files(
        {"name": "latihan-cek-fakta.zip", "mimeType": "application/zip", "buffer": package}
    )
    # A package this small reaches the browser's upload buffer in one read, so the bar jumps
    # to "sent, being checked" at once; throttled, that state stays on screen about 2 s.
    throttle_uploads(cdp, max(len(package) // 2, 2048))
    with page.expect_response(
        lambda r: r.request.method == "POST" and "/studio/sections/" in r.url
    ) as posted:
        form.get_by_role("button", name="Simpan aktivitas").click()
        expect(form.locator("progress")).to_be_visible()
        expect(form.locator("[data-progress-status]")).to_have_text(
            "Berkas terkirim, sedang memeriksa dan menyimpan…"
        )
        expect(form.get_by_role("button", name="Simpan aktivitas")).to_be_disabled()
        save_screenshot(page, "studio-upload-progress-scorm")
    throttle_uploads(cdp, None)
    assert posted.value.status in (200, 303), posted.value.status
    expect(rows).to_have_count(4)
    expect(page.get_by_role("status")).to_have_text("Aktivitas ditambahkan.")
    expect(page.get_by_role("alert")).to_have_count(0)
    for row, (kind, name) in zip(
        rows.all(),
        [("Halaman", page_title), ("Video", video_title), ("Dokumen", pdf_title),
         ("Paket SCORM", scorm_title)],
        strict=True,
    ):  # fmt: skip
        expect(row.locator(".activity-title")).to_contain_text(name)
        expect(row.locator(".meta")).to_contain_text(kind)
    save_screenshot(page, "studio-course-built")

    # Preview as a learner: the course page shows the four activities (a draft, for staff only).
    page.get_by_role("button", name="Pratinjau sebagai peserta").click()
    expect(page).to_have_url(re.compile(rf"/courses/{course_id}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    outline = page.locator("ol.outline > li")
    expect(outline).to_have_count(4)
    for item, (kind, name) in zip(
        outline.all(),
        [("Bacaan", page_title), ("Video", video_title), ("Dokumen PDF", pdf_title),
         ("Modul interaktif (SCORM)", scorm_title)],
        strict=True,
    ):  # fmt: skip
        expect(item.get_by_role("link")).to_have_text(name)
        expect(item).to_contain_text(kind)
    save_screenshot(page, "studio-preview-course")
    # ... and each player works with what was uploaded.
    outline.nth(0).get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(page_title)
    expect(page.get_by_text("Pratinjau staf: kemajuan tidak dicatat")).to_be_visible()
    expect(page.locator("article.prose h2")).to_have_text("Tujuan")
    expect(page.locator("article.prose strong")).to_have_text("SPBE")
    page.get_by_role("link", name=f"Berikutnya → {video_title}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(video_title)
    page.wait_for_function("() => document.getElementById('video').readyState >= 1")
    duration = page.evaluate("() => document.getElementById('video').duration")
    assert 35 < duration < 45, duration  # the demo video is 39 s
    page.get_by_role("link", name=f"Berikutnya → {pdf_title}").click()
    _viewer, src = pdf_viewer(page)
    answer = page.request.get(src)
    assert answer.status == 200 and answer.headers["content-type"].startswith("application/pdf")
    assert answer.body() == LITDIG_PDF.read_bytes()
    save_screenshot(page, "studio-preview-pdf")
    page.get_by_role("link", name=f"Berikutnya → {scorm_title}").click()
    sco = sco_of(page)
    expect(sco.locator("[data-where]")).to_have_text("Halaman 1 dari 4")
    expect(sco.locator("h1")).to_have_text("Latihan Cek Fakta")

    # A learner cannot find the draft yet.
    learner = fresh_learner()
    learner_page = new_context(**DESKTOP).new_page()
    login(learner_page, learner.nip)
    learner_page.goto(f"/courses?q={code}")
    expect(learner_page.get_by_text("Tidak ada kursus yang cocok.")).to_be_visible()

    # Publish.
    page.goto(f"/studio/courses/{course_id}")
    page.get_by_role("button", name="Terbitkan").click()
    expect(page.get_by_role("status")).to_have_text(
        "Kursus diterbitkan; peserta sudah dapat melihatnya."
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text("Terbit")
    expect(page.get_by_role("button", name="Terbitkan")).to_have_count(0)

    # Now it is in the learner's catalog, with its outline (no run yet, so no enrol button).
    learner_page.goto("/courses")
    card = learner_page.locator("article.course-card").filter(has_text=code)
    expect(card.get_by_role("link", name=title)).to_be_visible()
    expect(card).to_contain_text("Belum ada angkatan yang dibuka.")
    card.get_by_role("link", name=title).click()
    expect(learner_page.get_by_role("heading", level=1)).to_have_text(title)
    expect(learner_page.locator("ol.outline > li")).to_have_count(4)
    expect(learner_page.locator("ol.outline a")).to_have_count(0)  # not enrolled: titles only
    expect(learner_page.get_by_role("button", name="Daftar ke angkatan ini")).to_have_count(0)
    expect(learner_page.get_by_text("Belum ada angkatan untuk kursus ini.")).to_be_visible()


# --- 2. a learner on a phone --------------------------------------------------------------------


def test_learner_on_a_phone_enrols_and_resumes_video_pdf_and_scorm(
    new_context: Callable[..., BrowserContext], fresh_learner: Callable[[], Account]
) -> None:
    learner = fresh_learner()
    context = new_context(**PHONE)
    page = context.new_page()
    login(page, learner.nip)

    # Catalog -> course page -> enrol in the open run.
    page.goto("/courses")
    fits_phone(page, "catalog")
    expect(page.locator("article.course-card").filter(has_text=KAMINFO)).to_contain_text(
        "Angkatan dibuka:"
    )
    page.get_by_role("link", name=KAMINFO).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(KAMINFO)
    course_url = page.url
    expect(page.get_by_role("link", name=KAMINFO_VIDEO)).to_have_count(0)  # not enrolled yet
    expect(page.get_by_text(KAMINFO_VIDEO)).to_be_visible()
    fits_phone(page, "kaminfo-course")
    page.get_by_role("button", name="Daftar ke angkatan ini").click()
    expect(page).to_have_url(re.compile(r"/courses/\d+\?enrolled=1$"))
    expect(page.get_by_role("status")).to_have_text("Anda terdaftar. Selamat belajar!")
    expect(page.get_by_role("progressbar")).to_have_attribute("value", "0")
    fits_phone(page, "kaminfo-course-enrolled")

    # Video: play (muted) until the player has reported a position, keep playing a few seconds
    # more, then leave: the pagehide beacon saves the newer position.
    page.get_by_role("link", name=KAMINFO_VIDEO).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(KAMINFO_VIDEO)
    video_url = page.url
    page.wait_for_function("() => document.getElementById('video').readyState >= 1")
    expect(page.locator("#resume-note")).to_have_count(0)
    fits_phone(page, "kaminfo-player-video")
    with page.expect_response(is_progress("heartbeat"), timeout=15_000) as first:
        page.evaluate(
            "() => { const v = document.getElementById('video'); v.muted = true; return v.play(); }"
        )
    assert first.value.ok, first.value.text()
    assert first.value.json()["status"] == "in_progress"
    first_position = float(posted_json(first.value.request)["position_seconds"])
    target = max(first_position + 5, 9.0)
    page.wait_for_function(
        "(t) => document.getElementById('video').currentTime >= t", arg=target, timeout=20_000
    )
    page.goto(course_url)  # navigating away: the pagehide beacon (keepalive fetch)
    page.close()

    # Back in a new page. Playwright does not report a keepalive request sent while its page
    # unloads, so poll the server (a fresh page load each time) until it holds the position.
    page = context.new_page()
    resume_at = 0.0
    for _attempt in range(20):
        page.goto(video_url)
        resume_at = float(page.locator("#video").get_attribute("data-resume") or 0)
        if resume_at >= target:
            break
        page.wait_for_timeout(250)
    assert target <= resume_at < target + 3, (target, resume_at)
    expect(page.locator("#resume-note")).to_contain_text("Melanjutkan dari")
    page.wait_for_function(
        "(t) => { const v = document.getElementById('video');"
        " return v.readyState >= 1 && Math.abs(v.currentTime - t) < 1; }",
        arg=resume_at,
    )
    assert page.evaluate("() => document.getElementById('video').paused")  # no autoplay
    fits_phone(page, "kaminfo-player-video-resumed")

    # PDF: embedded, served as application/pdf, and the download button downloads it.
    page.goto(course_url)
    with page.expect_response(is_progress("viewed"), timeout=15_000) as viewed:
        page.get_by_role("link", name=KAMINFO_PDF).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(KAMINFO_PDF)
        _viewer, src = pdf_viewer(page)
        answer = page.request.get(src)
        assert answer.status == 200
        assert answer.headers["content-type"].startswith("application/pdf")
        assert answer.body().startswith(b"%PDF-")
        fits_phone(page, "kaminfo-player-pdf")
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Unduh PDF").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf"), download.suggested_filename
    with open(download.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"
    assert viewed.value.json()["status"] == "completed"

    # SCORM: go two pages into the SCO, leave mid-way, come back at the bookmark.
    page.goto(course_url)
    page.get_by_role("link", name=KAMINFO_SCORM).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(KAMINFO_SCORM)
    sco = sco_of(page)
    where = sco.locator("[data-where]")
    content = sco.frame_locator("iframe[title]").locator("h1")
    expect(where).to_have_text("Halaman 1 dari 4")
    expect(content).to_have_text(KAMINFO_SCORM_PAGES[0])
    expect(sco.get_by_text("Mode pratinjau")).to_be_hidden()  # the SCO found the LMS API
    fits_phone(page, "kaminfo-player-scorm")

    def bookmark_saved(response: Response) -> bool:
        body = posted_json(response.request)
        return (
            SCORM_COMMIT_URL.search(response.url) is not None
            and body.get("cmi", {}).get("cmi.core.lesson_location") == "halaman-3.html"
        )

    with page.expect_response(bookmark_saved) as saved:
        sco.get_by_role("button", name="Lanjut").click()
        expect(where).to_have_text("Halaman 2 dari 4")
        expect(content).to_have_text(KAMINFO_SCORM_PAGES[1])
        sco.get_by_role("button", name="Lanjut").click()
        expect(where).to_have_text("Halaman 3 dari 4")
        expect(content).to_have_text(KAMINFO_SCORM_PAGES[2])
    assert saved.value.ok, saved.value.text()
    assert saved.value.json()["status"] == "in_progress"
    expect(page.locator("[data-scorm-status]")).to_have_text("Tersimpan")

    scorm_url = page.url
    page.goto(course_url)  # leave mid-way: the SCO suspends (LMSFinish) as its page goes
    page.close()
    page = context.new_page()
    cmi: dict[str, Any] = {}
    for _attempt in range(20):  # the unload commit is a keepalive fetch: wait until it landed
        page.goto(scorm_url)
        cmi = json.loads(page.locator("[data-scorm-player]").get_attribute("data-cmi") or "{}")
        if cmi["core"]["entry"] == "resume":
            break
        page.wait_for_timeout(250)
    assert cmi["core"]["entry"] == "resume", cmi
    assert cmi["core"]["lesson_location"] == "halaman-3.html", cmi
    assert cmi["core"]["lesson_status"] == "incomplete", cmi
    sco = sco_of(page)
    expect(sco.locator("[data-where]")).to_have_text("Halaman 3 dari 4")
    expect(sco.frame_locator("iframe[title]").locator("h1")).to_have_text(KAMINFO_SCORM_PAGES[2])
    expect(sco.get_by_role("button", name="Kembali")).to_be_enabled()

    # The course page shows what is done and what is under way.
    page.goto(course_url)
    outline = page.locator("ol.outline > li")
    expect(outline.filter(has_text=KAMINFO_PDF)).to_contain_text("Selesai")
    expect(outline.filter(has_text=KAMINFO_VIDEO)).to_contain_text("Sedang berjalan")
    expect(outline.filter(has_text=KAMINFO_SCORM)).to_contain_text("Sedang berjalan")


# --- 3. every learner page on a 360 px phone ----------------------------------------------------


def api_get(page: Page, path: str) -> Any:
    answer = page.request.get(path)
    assert answer.ok, (path, answer.status, answer.text())
    return answer.json()


def test_learner_pages_of_a_course_fit_a_360_px_phone(
    new_context: Callable[..., BrowserContext], fresh_learner: Callable[[], Account]
) -> None:
    """Literasi Digital (the other demo course): course page with a locked activity, the locked
    page, and a player of every kind (page, video, PDF, SCORM, file, link), plus "Kursus saya"."""
    learner = fresh_learner()
    page = new_context(**PHONE).new_page()
    login(page, learner.email)
    page.goto("/courses?q=LITDIG")
    page.get_by_role("link", name="Literasi Digital untuk ASN").click()
    course_id = int(re.findall(r"/courses/(\d+)", page.url)[0])
    page.get_by_role("button", name="Daftar ke angkatan ini").click()
    expect(page.get_by_role("status")).to_have_text("Anda terdaftar. Selamat belajar!")
    activities = {
        a["title"]: a
        for s in api_get(page, f"/api/v1/courses/{course_id}")["sections"]
        for a in s["activities"]
    }
    by_kind = {a["kind"]: a for a in reversed(activities.values())}  # first of each kind
    scorm = by_kind["scorm"]
    assert scorm["locked_until_previous"], scorm
    locked = page.locator("ol.outline > li.locked")
    expect(locked).to_have_count(1)
    expect(locked).to_contain_text("Terkunci: selesaikan")
    expect(locked.get_by_role("link")).to_have_count(0)
    fits_phone(page, "litdig-course-locked")

    refused = page.goto(f"/activities/{scorm['id']}")  # a bookmark, while still locked
    assert refused is not None and refused.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Akses ditolak")
    expect(page.get_by_text('Selesaikan dulu aktivitas "Memeriksa Informasi')).to_be_visible()
    fits_phone(page, "litdig-activity-locked")

    # The page just before the SCORM package: reading it (3 s on screen) unlocks the package.
    page.goto(f"/courses/{course_id}")
    with page.expect_response(is_progress("viewed"), timeout=15_000) as viewed:
        locked.locator("xpath=preceding-sibling::li[1]").get_by_role("link").click()
        expect(page.locator("article.prose")).to_be_visible()
        fits_phone(page, "litdig-player-page")
    assert viewed.value.json()["status"] == "completed"
    page.get_by_role("link", name=f"Berikutnya → {scorm['title']}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(scorm["title"])
    expect(sco_of(page).locator("[data-where]")).to_have_text("Halaman 1 dari 4")
    fits_phone(page, "litdig-player-scorm")

    for kind, ready in [
        ("video", "#video"),
        ("document", "iframe.pdf-frame, [data-pdf-viewer]"),
        ("file", '[role="button"]:has-text("Unduh berkas")'),
        ("link", '[role="button"]:has-text("Buka tautan di tab baru")'),
    ]:
        page.goto(f"/activities/{by_kind[kind]['id']}")
        expect(page.get_by_role("heading", level=1)).to_have_text(by_kind[kind]["title"])
        expect(page.locator(ready)).to_be_visible()
        if kind == "video":
            page.wait_for_function("() => document.getElementById('video').readyState >= 1")
        fits_phone(page, f"litdig-player-{kind}")

    page.goto(f"/courses/{course_id}")
    expect(page.locator("ol.outline > li.locked")).to_have_count(0)
    fits_phone(page, "litdig-course-progress")
    page.goto("/my/courses")
    expect(page.get_by_text("Literasi Digital untuk ASN")).to_be_visible()
    fits_phone(page, "litdig-my-courses")


# --- known bugs ---------------------------------------------------------------------------------


def test_a_file_uploaded_in_the_studio_keeps_its_name(
    new_context: Callable[..., BrowserContext],
) -> None:
    page = new_context(**DESKTOP).new_page()
    login(page, CONTENT_ADMIN.email)
    page.goto("/studio")
    token = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    headers = {"X-CSRF-Token": token}
    code = f"UJI-NAMA-{secrets.token_hex(3).upper()}"
    created = page.request.post(
        "/api/v1/courses",
        headers=headers,
        data={"code": code, "title": f"Nama berkas {code}", "jp": 1, "category": "teknis"},
    )
    assert created.status == 201, created.text()
    course_id = created.json()["id"]
    section = page.request.post(
        f"/api/v1/courses/{course_id}/sections", headers=headers, data={"title": "Bagian"}
    )
    assert section.status == 201, section.text()

    page.goto(f"/studio/courses/{course_id}")
    block = section_block(page, "1. Bagian")
    form = activity_form(block, "document", "Lembar ringkas", 10)
    form.locator('input[type="file"]').set_input_files(LITDIG_PDF)
    expect(form.locator("[data-progress-status]")).to_have_text(
        f"Berkas terunggah: {LITDIG_PDF.name}"
    )
    form.get_by_role("button", name="Simpan aktivitas").click()
    row = block.locator(".activity-list > li")
    expect(row).to_have_count(1)
    activity_id = int((row.get_attribute("id") or "").removeprefix("activity-"))
    answer = page.request.get(f"/api/v1/activities/{activity_id}/content?download=1")
    assert answer.ok
    disposition = answer.headers["content-disposition"]
    assert f'filename="{LITDIG_PDF.name}"' in disposition, disposition
    expect(row.locator(".meta")).to_contain_text(LITDIG_PDF.name)
