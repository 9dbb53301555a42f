"""Certificate pages without a browser: the learner's dashboard and certificates, the public
verification pages (code and PDF upload), and the officer pages (run monitor, bulk issue with its
progress page, list, revoke and re-issue), each with and without the right to see it, and CSRF."""

from __future__ import annotations

import io
import re

import httpx
import openpyxl
import pytest

from app.accounts import service as accounts_service
from app.core.db import session_scope
from tests.certificates.pdfs import make_pdfs
from tests.factories import (
    api_token,
    browser_login,
    csrf_from,
    enrol,
    issue_certificates,
    make_course,
    make_opd,
    make_run,
    make_user,
)

pytestmark = pytest.mark.anyio


# --- arrange -------------------------------------------------------------------------------------


def complete_profile(user_id: int) -> None:
    with session_scope() as session:
        user = accounts_service.get_user(session, user_id)
        user.pangkat_golongan = "III/a"
        user.jabatan = "Pranata Komputer Ahli Pertama"


class World:
    """A course of one reading, its run, a learner enrolled in it and a training officer."""

    def __init__(self) -> None:
        make_opd()
        self.ids = make_course(code="LITDIG-01", title="Literasi Digital untuk ASN", jp=10)
        self.run_id = make_run(self.ids["course"])
        self.learner = make_user(name="Dewi Lestari", opd_code="DISKOMINFO")
        complete_profile(self.learner.id)
        self.enrolment_id = enrol(self.run_id, self.learner.id)
        self.officer = make_user(roles=("training_officer",), name="Petugas Diklat")
        self.other = make_user(name="Budi Santoso", opd_code="DISKOMINFO")
        enrol(self.run_id, self.other.id)


@pytest.fixture
def world() -> World:
    return World()


async def read_page(client: httpx.AsyncClient, world: World, user_email: str) -> None:
    """The learner reads the course's one page: the run completes and auto-issue runs."""
    headers = await api_token(client, user_email)
    answer = await client.post(
        f"/api/v1/activities/{world.ids['page1']}/progress",
        json={"event": "viewed"},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "completed"
    issue_certificates()  # the outbox's auto-issue, right after the commit


async def certificate_of(client: httpx.AsyncClient, email: str) -> dict[str, object]:
    headers = await api_token(client, email)
    mine = (await client.get("/api/v1/me/certificates", headers=headers)).json()
    assert len(mine) == 1, mine
    return dict(mine[0])


async def issued(client: httpx.AsyncClient, world: World) -> dict[str, object]:
    await read_page(client, world, world.learner.email or "")
    return await certificate_of(client, world.learner.email or "")


def signed_out(client: httpx.AsyncClient) -> None:
    client.cookies.clear()


# --- learner pages -------------------------------------------------------------------------------


async def test_dashboard_lists_courses_missing_rules_and_jp(
    client: httpx.AsyncClient, world: World
) -> None:
    await browser_login(client, world.learner.email or "")
    html = (await client.get("/")).text
    assert 'data-role="learner"' in html
    assert "Literasi Digital untuk ASN" in html
    assert f'id="course-run-{world.run_id}"' in html
    assert f'href="/my/runs/{world.run_id}/continue"' in html
    assert "Yang masih kurang untuk sertifikat" in html
    assert "Aktivitas wajib belum selesai (1): Bacaan 1." in html
    assert re.search(r'<meter id="jp-meter"[^>]*value="0(\.0)?"', html), html
    assert "0 dari target 20 JP" in html
    assert "Belum ada sertifikat" in html

    go = await client.get(f"/my/runs/{world.run_id}/continue")
    assert go.status_code == 303
    assert go.headers["location"] == f"/activities/{world.ids['page1']}"


async def test_my_courses_page_shows_progress_and_what_is_missing(
    client: httpx.AsyncClient, world: World
) -> None:
    await browser_login(client, world.learner.email or "")
    html = (await client.get("/my/courses")).text
    assert '<progress value="0" max="100"' in html
    assert f'href="/my/runs/{world.run_id}/continue"' in html
    assert "Aktivitas wajib belum selesai (1): Bacaan 1." in html
    await read_page(client, world, world.learner.email or "")
    done = (await client.get("/my/courses")).text
    assert '<progress value="100" max="100"' in done
    assert 'href="/sertifikat/' in done
    assert "/continue" not in done


async def test_certificate_appears_on_the_dashboard_at_once(
    client: httpx.AsyncClient, world: World
) -> None:
    cert = await issued(client, world)
    await browser_login(client, world.learner.email or "")
    html = (await client.get("/")).text
    assert f'id="certificate-{cert["id"]}"' in html
    assert str(cert["number"]) in html
    assert "Sah dan berlaku" in html
    # Issued at once; its PDF is being prepared (the card polls for it) and it verifies already.
    assert "Sertifikat sedang disiapkan" in html
    assert f'hx-get="/sertifikat/{cert["id"]}/pdf-status"' in html
    assert f'href="/api/v1/certificates/{cert["id"]}/pdf"' not in html
    assert "Sah dan berlaku" in (await client.get(f"/verify/{cert['code']}")).text
    pending = await client.get(f"/sertifikat/{cert['id']}/pdf-status")
    assert pending.status_code == 200 and "hx-trigger" in pending.text
    make_pdfs()
    ready = await client.get(f"/sertifikat/{cert['id']}/pdf-status")
    assert f'href="/api/v1/certificates/{cert["id"]}/pdf"' in ready.text
    assert "hx-trigger" not in ready.text
    html = (await client.get("/")).text
    assert f'href="/api/v1/certificates/{cert["id"]}/pdf"' in html
    assert f'value="http://testserver/verify/{cert["code"]}"' in html
    assert "10 dari target 20 JP" in html
    assert "Yang masih kurang" not in html
    mine = await client.get("/sertifikat")
    assert mine.status_code == 200
    assert str(cert["number"]) in mine.text
    one = await client.get(f"/sertifikat/{cert['id']}")
    assert one.status_code == 200
    assert f"/verify/{cert['code']}" in one.text


async def test_learner_cannot_open_someone_elses_certificate(
    client: httpx.AsyncClient, world: World
) -> None:
    cert = await issued(client, world)
    await browser_login(client, world.other.email or "")
    mine = await client.get("/sertifikat")
    assert str(cert["number"]) not in mine.text
    for path in (
        f"/sertifikat/{cert['id']}",
        f"/api/v1/certificates/{cert['id']}",
        f"/api/v1/certificates/{cert['id']}/pdf",
        f"/api/v1/certificates/{cert['id']}/credential",
    ):
        answer = await client.get(path)
        assert answer.status_code == 404, path
        assert str(cert["number"]) not in answer.text


async def test_learner_pages_need_a_login(client: httpx.AsyncClient) -> None:
    for path in ("/sertifikat", "/sertifikat/1", "/my/runs/1/continue"):
        answer = await client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login")


# --- public verification -------------------------------------------------------------------------


async def test_verify_page_is_public_and_masks_the_nip(
    client: httpx.AsyncClient, world: World
) -> None:
    cert = await issued(client, world)
    signed_out(client)
    answer = await client.get(f"/verify/{cert['code']}")
    assert answer.status_code == 200
    html = answer.text
    assert "cert-status-valid" in html and "Sah dan berlaku" in html
    assert str(cert["number"]) in html
    assert "Dewi Lestari" in html
    assert world.learner.nip not in html  # masked
    assert (world.learner.nip or "")[:4] in html
    assert "Literasi Digital untuk ASN" in html
    assert "10 JP" in html
    assert "Penandatangan" in html
    record = (await client.get(f"/api/v1/verify/{cert['code']}")).json()
    if record.get("pdf_sha256"):
        assert record["pdf_sha256"] in html


async def test_unknown_code_returns_to_the_form_with_a_message(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/verify/ABCD-EFGH-JKLM-NPQR")
    assert answer.status_code == 404
    assert "Halaman tidak ditemukan" not in answer.text  # not the generic 404 page
    assert '<form method="post" action="/verify"' in answer.text
    assert 'value="ABCD-EFGH-JKLM-NPQR"' in answer.text  # what was typed, to correct it
    assert 'id="verify-code-error"' in answer.text and 'aria-invalid="true"' in answer.text
    assert "Sertifikat dengan kode ini tidak ditemukan" in answer.text
    assert "cert-facts" not in answer.text


async def test_verify_form_takes_a_code_with_anonymous_csrf(
    client: httpx.AsyncClient, world: World
) -> None:
    cert = await issued(client, world)
    signed_out(client)
    form = await client.get("/verify")
    assert form.status_code == 200
    token = csrf_from(form.text)
    no_token = await client.post("/verify", data={"code": str(cert["code"])})
    assert no_token.status_code == 403
    empty = await client.post("/verify", data={"csrf_token": token, "code": "  "})
    assert empty.status_code == 422
    assert "Masukkan kode verifikasi" in empty.text
    spaced = " ".join(str(cert["code"]))
    answer = await client.post("/verify", data={"csrf_token": token, "code": spaced})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/verify/{cert['code']}"


async def test_verify_form_checks_an_uploaded_pdf(client: httpx.AsyncClient, world: World) -> None:
    cert = await issued(client, world)
    make_pdfs()
    headers = await api_token(client, world.learner.email or "")
    pdf = (await client.get(f"/api/v1/certificates/{cert['id']}/pdf", headers=headers)).content
    assert pdf.startswith(b"%PDF")
    signed_out(client)
    token = csrf_from((await client.get("/verify")).text)
    original = await client.post(
        "/verify",
        data={"csrf_token": token},
        files={"file": ("sertifikat.pdf", pdf, "application/pdf")},
    )
    assert original.status_code == 200
    assert "verify-authentic" in original.text
    assert str(cert["number"]) in original.text
    changed = bytearray(pdf)
    changed[len(changed) // 2] ^= 0x01
    edited = await client.post(
        "/verify",
        data={"csrf_token": token},
        files={"file": ("sertifikat.pdf", bytes(changed), "application/pdf")},
    )
    assert edited.status_code == 200
    assert "verify-not-authentic" in edited.text
    assert "Tidak asli" in edited.text
    no_token = await client.post(
        "/verify", files={"file": ("sertifikat.pdf", pdf, "application/pdf")}
    )
    assert no_token.status_code == 403


# --- officer pages -------------------------------------------------------------------------------


def officer_paths(world: World, cert_id: int, job_id: str = "x") -> list[str]:
    return [
        f"/studio/runs/{world.run_id}/monitor",
        "/studio/certificates",
        f"/studio/certificates/{cert_id}",
        f"/studio/certificate-jobs/{job_id}",
    ]


async def test_officer_pages_are_403_for_learners(client: httpx.AsyncClient, world: World) -> None:
    cert = await issued(client, world)
    token = await browser_login(client, world.learner.email or "")
    for path in officer_paths(world, int(str(cert["id"]))):
        answer = await client.get(path)
        assert answer.status_code == 403, path
    for path in (
        f"/studio/certificates/{cert['id']}/revoke",
        f"/studio/certificates/{cert['id']}/reissue",
        f"/studio/runs/{world.run_id}/certificates",
    ):
        answer = await client.post(path, data={"csrf_token": token, "reason": "Percobaan cabut"})
        assert answer.status_code == 403, path


async def test_run_monitor_shows_progress_eligibility_and_filters(
    client: httpx.AsyncClient, world: World
) -> None:
    cert = await issued(client, world)
    await browser_login(client, world.officer.email or "")
    page = await client.get(f"/studio/runs/{world.run_id}/monitor")
    assert page.status_code == 200
    html = page.text
    assert "Dewi Lestari" in html and "Budi Santoso" in html
    assert str(cert["number"]) in html
    assert "Aktivitas wajib belum selesai" in html  # Budi's failed check, in words
    export = f"/api/v1/runs/{world.run_id}/monitor?format=xlsx"
    xlsx = await client.get(export)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    certified = (await client.get(f"/studio/runs/{world.run_id}/monitor?status=certified")).text
    assert "Dewi Lestari" in certified and "Budi Santoso" not in certified
    filtered = f"/studio/runs/{world.run_id}/monitor.xlsx?status=certified"
    assert f'href="{filtered}"' in certified  # the export keeps the filters on screen
    sheet = openpyxl.load_workbook(io.BytesIO((await client.get(filtered)).content)).active
    names = {str(c.value) for row in sheet.iter_rows() for c in row}
    assert "Dewi Lestari" in names and "Budi Santoso" not in names
    search = (await client.get(f"/studio/runs/{world.run_id}/monitor?q=budi")).text
    assert "Budi Santoso" in search and "Dewi Lestari" not in search
    run_page = (await client.get(f"/studio/runs/{world.run_id}")).text
    assert f'href="/studio/runs/{world.run_id}/monitor"' in run_page


async def test_certificate_list_searches_and_links_the_export(
    client: httpx.AsyncClient, world: World
) -> None:
    cert = await issued(client, world)
    await browser_login(client, world.officer.email or "")
    page = await client.get("/studio/certificates", params={"q": "Dewi"})
    assert page.status_code == 200
    assert str(cert["number"]) in page.text
    assert 'href="/api/v1/certificates?format=xlsx&amp;q=Dewi"' in page.text
    xlsx = await client.get("/api/v1/certificates?format=xlsx&q=Dewi")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    none = await client.get("/studio/certificates", params={"q": "Tidak Ada Orang Ini"})
    assert str(cert["number"]) not in none.text


async def test_officer_revokes_with_a_reason_and_csrf(
    client: httpx.AsyncClient, world: World
) -> None:
    cert = await issued(client, world)
    token = await browser_login(client, world.officer.email or "")
    url = f"/studio/certificates/{cert['id']}/revoke"
    assert (await client.post(url, data={"reason": "Data peserta keliru"})).status_code == 403
    empty = await client.post(url, data={"csrf_token": token, "reason": " "})
    assert empty.status_code == 422
    assert "Tuliskan alasan" in empty.text
    done = await client.post(url, data={"csrf_token": token, "reason": "Data peserta keliru"})
    assert done.status_code == 303
    detail = await client.get(done.headers["location"])
    assert "Sertifikat dicabut" in detail.text
    assert "Data peserta keliru" in detail.text
    signed_out(client)
    public = await client.get(f"/verify/{cert['code']}")
    assert "cert-status-revoked" in public.text and "Dicabut" in public.text


async def test_officer_reissues_and_the_old_version_is_superseded(
    client: httpx.AsyncClient, world: World
) -> None:
    cert = await issued(client, world)
    token = await browser_login(client, world.officer.email or "")
    url = f"/studio/certificates/{cert['id']}/reissue"
    done = await client.post(url, data={"csrf_token": token, "reissue_reason": "Nama salah ketik"})
    assert done.status_code == 303, done.text
    new_id = int(re.findall(r"/studio/certificates/(\d+)", done.headers["location"])[0])
    assert new_id != cert["id"]
    detail = await client.get(done.headers["location"])
    assert "diterbitkan ulang" in detail.text
    signed_out(client)
    old = await client.get(f"/verify/{cert['code']}")
    assert "cert-status-superseded" in old.text
    newer = re.findall(r'href="/verify/([A-Z2-7]{32})">Lihat versi yang berlaku', old.text)
    assert newer and newer[0] != cert["code"]
    assert "cert-status-valid" in (await client.get(f"/verify/{newer[0]}")).text
    await browser_login(client, world.learner.email or "")
    dashboard = (await client.get("/")).text
    assert dashboard.count('class="cert-card"') == 1  # only the version in force
    assert f'id="certificate-{new_id}"' in dashboard
    mine = (await client.get("/sertifikat")).text
    assert mine.count('class="cert-card"') == 2 and "cert-status-superseded" in mine


def officer_issues(course_id: int) -> None:
    """The course waits for the officer instead of issuing on completion."""
    from app.certificates import service
    from app.certificates.schemas import RulesUpdate
    from app.core.config import get_settings

    with session_scope() as session:
        service.update_rules(session, course_id, RulesUpdate(auto_issue=False), get_settings())


async def test_bulk_issue_shows_a_progress_page(client: httpx.AsyncClient, world: World) -> None:
    officer_issues(world.ids["course"])
    await read_page(client, world, world.learner.email or "")
    await read_page(client, world, world.other.email or "")
    token = await browser_login(client, world.officer.email or "")
    assert (
        await client.post(f"/studio/runs/{world.run_id}/certificates", data={"scope": "all"})
    ).status_code == 403
    started = await client.post(
        f"/studio/runs/{world.run_id}/certificates", data={"csrf_token": token, "scope": "all"}
    )
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    assert re.fullmatch(r"/studio/certificate-jobs/[A-Za-z0-9_-]+", location), location
    page = await client.get(location)
    assert page.status_code == 200
    assert '<progress id="job-bar"' in page.text
    fragment = await client.get(f"{location}/progress", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith("<section")  # the fragment only, for the swap
    assert 'id="job-progress"' in fragment.text
    # Jobs run at once in the tests: the bar is full, polling stopped, each result listed.
    assert '<progress id="job-bar" value="2" max="2">' in page.text
    assert 'data-job-state="done"' in page.text
    assert 'hx-trigger="every 1s"' not in page.text
    assert "Terbit: 2" in page.text
    assert page.text.count(">Diterbitkan</td>") == 2
    assert "Dewi Lestari" in page.text and "Budi Santoso" in page.text
    listed = (await client.get(f"/studio/certificates?run_id={world.run_id}")).text
    assert listed.count('class="cert-number"') == 2


async def test_a_running_job_polls_every_second_and_refreshes_without_js(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.certificates import tasks

    monkeypatch.setattr(tasks, "enqueue", lambda job_id: None)  # the worker has not started it
    officer_issues(world.ids["course"])
    await read_page(client, world, world.learner.email or "")
    token = await browser_login(client, world.officer.email or "")
    started = await client.post(
        f"/studio/runs/{world.run_id}/certificates",
        data={"csrf_token": token, "scope": "selected", "user_ids": str(world.learner.id)},
    )
    assert started.status_code == 303, started.text
    page = (await client.get(started.headers["location"])).text
    assert 'data-job-state="queued"' in page
    assert f'hx-get="{started.headers["location"]}/progress"' in page
    assert 'hx-trigger="every 1s"' in page
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert '<progress id="job-bar" value="0" max="1">' in page


async def test_issue_for_chosen_participants_needs_a_choice(
    client: httpx.AsyncClient, world: World
) -> None:
    token = await browser_login(client, world.officer.email or "")
    answer = await client.post(
        f"/studio/runs/{world.run_id}/certificates", data={"csrf_token": token, "scope": "selected"}
    )
    assert answer.status_code == 422
    assert "Centang dulu peserta" in answer.text
