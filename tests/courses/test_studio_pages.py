"""Studio pages through a browser session: the course builder (content admin) and runs with
enrolment (training officer), their error pages, role checks, CSRF and query counts."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import Workbook
from sqlalchemy import select

from app.core import clock
from app.core.db import session_scope
from app.courses import studio
from app.courses.models import Activity, Course, Enrolment, Run, Section
from app.progress import service as progress_service
from tests.courses.conftest import pdf_bytes
from tests.factories import browser_login, make_opd, make_user, valid_nip
from tests.queries import count_queries

pytestmark = pytest.mark.anyio

# app/courses/service.py create_course -> repository.set_competencies assigns
# `course.competencies` on a just-flushed Course; the relationship is lazy="raise", so reading the
# old collection raises InvalidRequestError and every new course fails (500). Remove the marker
# once fixed (e.g. build Course(..., competencies=[...]) before the first flush).

TODAY = clock.today()


@pytest.fixture
def app() -> FastAPI:
    """The real app, with the studio router added if app/main.py does not include it yet."""
    from app.main import create_app

    application = create_app()
    if not any(getattr(r, "path", "").startswith("/studio") for r in application.routes):
        application.include_router(studio.router)
    return application


# --- helpers --------------------------------------------------------------------------------


async def sign_in(client: httpx.AsyncClient, *roles: str, **user: Any) -> str:
    person = make_user(roles=roles, **user)
    return await browser_login(client, person.email or "")


async def new_course(client: httpx.AsyncClient, csrf: str, **fields: str) -> int:
    data = {
        "csrf_token": csrf,
        "code": "lat-tik-01",
        "title": "Literasi Digital ASN",
        "jp": "4",
        "category": "teknis",
        "learning_mode": "e_learning",
        "summary": "Dasar TIK",
        "description": "Kursus **dasar**.",
        "competencies": "literasi_digital:3, Pelayanan-Publik",
    } | fields
    response = await client.post("/studio/courses", data=data)
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/studio/courses/(\d+)\?notice=created", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


def make_draft_course(*, code: str = "LAT-TIK-01", title: str = "Literasi Digital ASN") -> int:
    """A draft course straight in the database (see CREATE_COURSE_BUG for why not the form)."""
    with session_scope() as session:
        course = Course(
            code=code,
            title=title,
            category="teknis",
            jp=4,
            status="draft",
            learning_mode="e_learning",
            summary="Dasar TIK",
        )
        session.add(course)
        session.flush()
        return course.id


async def add_section(client: httpx.AsyncClient, csrf: str, course_id: int, title: str) -> int:
    response = await client.post(
        f"/studio/courses/{course_id}/sections", data={"csrf_token": csrf, "title": title}
    )
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("#section-", 1)[1])


async def add_activity(
    client: httpx.AsyncClient,
    csrf: str,
    section_id: int,
    *,
    files: dict[str, Any] | None = None,
    **fields: str,
) -> httpx.Response:
    """Multipart like the browser's form (an empty file part when no file is chosen)."""
    data = {"csrf_token": csrf, "duration_minutes": "10", "required": "on", "body": "", "url": ""}
    return await client.post(
        f"/studio/sections/{section_id}/activities",
        data=data | fields,
        files=files or {"file": ("", b"", "application/octet-stream")},
    )


def activities(course_id: int) -> list[Activity]:
    with session_scope() as session:
        rows = session.scalars(
            select(Activity)
            .join(Section, Section.id == Activity.section_id)
            .where(Activity.course_id == course_id)
            .order_by(Section.position, Activity.position)
        ).all()
        session.expunge_all()
        return list(rows)


def make_course_with_run(*, capacity: int | None = None) -> tuple[int, int]:
    """A published course with one section, one page and one open run; (course_id, run_id)."""
    with session_scope() as session:
        course = Course(
            code="LAT-01",
            title="Pelayanan Publik",
            category="manajerial",
            jp=8,
            status="published",
            learning_mode="e_learning",
        )
        session.add(course)
        session.flush()
        section = Section(course_id=course.id, position=1, title="Pengantar")
        session.add(section)
        session.flush()
        session.add(
            Activity(
                section_id=section.id,
                course_id=course.id,
                position=1,
                kind="page",
                title="Baca dulu",
                completion_rule="viewed",
                body_md="Halo",
            )
        )
        run = Run(
            course_id=course.id,
            name="Angkatan I",
            starts_on=TODAY,
            ends_on=TODAY + dt.timedelta(days=30),
            capacity=capacity,
            funding_source="apbd_kabupaten",
            organiser="BKPSDM",
        )
        session.add(run)
        session.flush()
        return course.id, run.id


def enrolment_rows(run_id: int) -> dict[int, str]:
    with session_scope() as session:
        return {
            e.user_id: e.status
            for e in session.scalars(select(Enrolment).where(Enrolment.run_id == run_id))
        }


# --- course builder -------------------------------------------------------------------------


async def test_content_admin_creates_a_course_through_the_form(client: httpx.AsyncClient) -> None:
    csrf = await sign_in(client, "content_admin")
    listing = await client.get("/studio")
    assert listing.status_code == 200
    assert 'action="/studio/courses"' in listing.text

    course_id = await new_course(client, csrf)
    page = await client.get(f"/studio/courses/{course_id}?notice=created")
    assert page.status_code == 200
    assert "Kursus dibuat." in page.text
    assert f'href="/courses/{course_id}"' in page.text  # preview as learner
    assert "LAT-TIK-01" in page.text and "Draf" in page.text
    # The picker shows the catalog's choices by name, never the typed `code:level` text.
    assert "literasi_digital:3" not in page.text
    assert '<option value="literasi_digital" selected>' in page.text
    assert '<option value="pelayanan_publik" selected>' in page.text
    assert '<option value="3" selected>' in page.text
    with session_scope() as session:
        course = session.get(Course, course_id)
        assert course is not None and (course.jp, course.status) == (4, "draft")


async def test_content_admin_builds_reorders_hides_and_publishes(
    client: httpx.AsyncClient,
) -> None:
    csrf = await sign_in(client, "content_admin")
    course_id = make_draft_course()
    page = await client.get(f"/studio/courses/{course_id}")
    assert page.status_code == 200
    assert f'href="/courses/{course_id}"' in page.text  # preview as learner
    assert "LAT-TIK-01" in page.text and "Draf" in page.text

    # An empty course cannot be published: the service's message, 409.
    empty = await client.post(f"/studio/courses/{course_id}/publish", data={"csrf_token": csrf})
    assert empty.status_code == 409
    assert "Kursus belum punya aktivitas yang tampil" in empty.text

    intro = await add_section(client, csrf, course_id, "Pengantar")
    core = await add_section(client, csrf, course_id, "Materi inti")
    page_added = await add_activity(
        client, csrf, intro, kind="page", title="Selamat datang", body="# Halo\nSelamat belajar."
    )
    assert page_added.status_code == 303, page_added.text
    assert page_added.headers["location"].endswith(f"?notice=activity_added#section-{intro}")
    link_added = await add_activity(
        client,
        csrf,
        intro,
        kind="link",
        title="Portal SIASN",
        url="https://siasn.bkn.go.id",
        required="",
    )
    assert link_added.status_code == 303, link_added.text
    built = await client.get(f"/studio/courses/{course_id}")
    assert built.text.index("1. Pengantar") < built.text.index("2. Materi inti")
    assert built.text.index("Selamat datang") < built.text.index("Portal SIASN")
    assert "https://siasn.bkn.go.id" in built.text and "opsional" in built.text

    # Sections and activities move up and down.
    moved = await client.post(f"/studio/sections/{core}/move?dir=up", data={"csrf_token": csrf})
    assert moved.status_code == 303
    link = next(a for a in activities(course_id) if a.kind == "link")
    assert not link.required
    moved = await client.post(
        f"/studio/activities/{link.id}/move?dir=up", data={"csrf_token": csrf}
    )
    assert moved.status_code == 303
    page = await client.get(moved.headers["location"])
    assert page.text.index("1. Materi inti") < page.text.index("2. Pengantar")
    assert page.text.index("Portal SIASN") < page.text.index("Selamat datang")
    assert [a.title for a in activities(course_id)] == ["Portal SIASN", "Selamat datang"]

    # Hide one: flagged for staff, hidden from learners.
    welcome = next(a for a in activities(course_id) if a.kind == "page")
    hidden = await client.post(f"/studio/activities/{welcome.id}/hide", data={"csrf_token": csrf})
    assert hidden.status_code == 303
    page = await client.get(hidden.headers["location"])
    assert "tersembunyi" in page.text and "disembunyikan dari peserta" in page.text
    assert f'formaction="/studio/activities/{welcome.id}/show"' in page.text
    assert next(a for a in activities(course_id) if a.id == welcome.id).hidden

    published = await client.post(f"/studio/courses/{course_id}/publish", data={"csrf_token": csrf})
    assert published.status_code == 303
    page = await client.get(published.headers["location"])
    assert "Kursus diterbitkan" in page.text and "Terbit" in page.text
    with session_scope() as session:
        course = session.get(Course, course_id)
        assert course is not None and course.status == "published"
        assert course.published_at is not None

    archived = await client.post(f"/studio/courses/{course_id}/archive", data={"csrf_token": csrf})
    assert archived.status_code == 303
    listing = await client.get("/studio")
    assert "Arsip" in listing.text and "Literasi Digital ASN" in listing.text


async def test_course_form_shows_field_messages(client: httpx.AsyncClient) -> None:
    csrf = await sign_in(client, "content_admin")
    bad = await client.post(
        "/studio/courses",
        data={"csrf_token": csrf, "code": "x y", "title": "AB", "jp": "0", "category": "teknis"},
    )
    assert bad.status_code == 422
    assert "Periksa kembali isian yang ditandai." in bad.text
    assert 'id="new-code-error"' in bad.text and "Hanya huruf, angka" in bad.text
    assert "Minimal 3 karakter." in bad.text  # title
    assert "Minimal 1." in bad.text  # jp
    assert 'value="x y"' in bad.text  # what was typed comes back

    make_draft_course(code="DUP-1")
    duplicate = await client.post(
        "/studio/courses",
        data={
            "csrf_token": csrf,
            "code": "dup-1",
            "title": "Lain lagi",
            "jp": "2",
            "category": "teknis",
        },
    )
    assert duplicate.status_code == 409
    assert "Kode kursus DUP-1 sudah dipakai." in duplicate.text


async def test_details_form_updates_and_validates(client: httpx.AsyncClient) -> None:
    csrf = await sign_in(client, "admin")
    course_id = make_draft_course()
    form = {
        "csrf_token": csrf,
        "title": "Literasi Digital Lanjutan",
        "jp": "6",
        "category": "manajerial",
        "learning_mode": "blended",
        "summary": "",
        "description": "Baru",
        "competencies": "spbe",
    }
    saved = await client.post(f"/studio/courses/{course_id}", data=form)
    assert saved.status_code == 303
    page = await client.get(saved.headers["location"])
    assert "Perubahan disimpan." in page.text and "Literasi Digital Lanjutan" in page.text
    with session_scope() as session:
        course = session.get(Course, course_id)
        assert course is not None
        assert (course.jp, course.category, course.summary) == (6, "manajerial", "")

    wrong = await client.post(f"/studio/courses/{course_id}", data=form | {"jp": "abc"})
    assert wrong.status_code == 422
    assert "Isi dengan bilangan bulat." in wrong.text
    assert re.search(r"<details id=\"details\" open>", wrong.text)


async def test_activity_form_errors_keep_the_form_open(client: httpx.AsyncClient) -> None:
    csrf = await sign_in(client, "content_admin")
    course_id = make_draft_course()
    section_id = await add_section(client, csrf, course_id, "Bagian 1")

    no_url = await add_activity(
        client, csrf, section_id, kind="link", title="Tautan", url="ftp://x"
    )
    assert no_url.status_code == 422
    assert "Tautan harus alamat http(s):// yang sah." in no_url.text
    assert f'id="s{section_id}-url-error"' in no_url.text
    assert 'value="Tautan"' in no_url.text  # typed title kept

    no_body = await add_activity(client, csrf, section_id, kind="page", title="Halaman kosong")
    assert no_body.status_code == 422
    assert "Halaman memerlukan isi (markdown)." in no_body.text

    no_file = await add_activity(client, csrf, section_id, kind="video", title="Video tanpa berkas")
    assert no_file.status_code == 422
    assert f'id="s{section_id}-file-error"' in no_file.text

    bad_kind = await add_activity(client, csrf, section_id, kind="quiz", title="Kuis")
    assert bad_kind.status_code == 422
    assert "Pilih jenis aktivitas." in bad_kind.text
    assert activities(course_id) == []

    empty_section = await client.post(
        f"/studio/courses/{course_id}/sections", data={"csrf_token": csrf, "title": "  "}
    )
    assert empty_section.status_code == 422
    assert 'id="section-title-error"' in empty_section.text


async def test_document_upload_and_wrong_type(client: httpx.AsyncClient) -> None:
    csrf = await sign_in(client, "content_admin")
    course_id = make_draft_course()
    section_id = await add_section(client, csrf, course_id, "Bahan bacaan")
    uploaded = await add_activity(
        client,
        csrf,
        section_id,
        kind="document",
        title="Modul 1",
        files={"file": ("modul-1.pdf", pdf_bytes(), "application/pdf")},
    )
    assert uploaded.status_code == 303, uploaded.text
    [document] = activities(course_id)
    assert document.kind == "document" and document.file_id is not None
    assert document.file_name == "modul-1.pdf"

    wrong = await add_activity(
        client,
        csrf,
        section_id,
        kind="document",
        title="Bukan PDF",
        files={"file": ("virus.pdf", b"MZ\x90\x00" + b"\x00" * 200, "application/pdf")},
    )
    assert wrong.status_code == 415, wrong.text
    assert 'class="alert"' in wrong.text
    assert len(activities(course_id)) == 1


async def test_htmx_upload_error_comes_back_as_a_page_to_swap(client: httpx.AsyncClient) -> None:
    csrf = await sign_in(client, "content_admin")
    course_id = make_draft_course()
    section_id = await add_section(client, csrf, course_id, "Bagian 1")
    response = await client.post(
        f"/studio/sections/{section_id}/activities",
        data={"kind": "page", "title": "Tanpa isi", "body": ""},
        files={"file": ("", b"", "application/octet-stream")},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert response.status_code == 422
    assert '<main id="main"' in response.text  # hx-select="main" finds it
    assert "data-progress" in response.text and "<progress hidden" in response.text
    assert "data-uploader" in response.text


async def test_delete_is_refused_once_a_learner_has_progress(
    client: httpx.AsyncClient, settings: Any
) -> None:
    course_id, run_id = make_course_with_run()
    learner = make_user(roles=("learner",))
    with session_scope() as session:
        enrolment = Enrolment(run_id=run_id, user_id=learner.id, status="active")
        session.add(enrolment)
        session.flush()
        [used] = session.scalars(select(Activity).where(Activity.course_id == course_id)).all()
        progress_service.get_or_start(session, enrolment.id, used.id)
        spare = Activity(
            section_id=used.section_id,
            course_id=course_id,
            position=2,
            kind="link",
            title="Cadangan",
            completion_rule="viewed",
            url="https://example.go.id",
        )
        session.add(spare)
        session.flush()
        used_id, spare_id = used.id, spare.id
    csrf = await sign_in(client, "content_admin")

    refused = await client.post(f"/studio/activities/{used_id}/delete", data={"csrf_token": csrf})
    assert refused.status_code == 409
    assert "sudah punya kemajuan peserta" in refused.text
    deleted = await client.post(f"/studio/activities/{spare_id}/delete", data={"csrf_token": csrf})
    assert deleted.status_code == 303
    assert [a.id for a in activities(course_id)] == [used_id]


async def test_builder_page_query_count_does_not_grow_with_content(
    client: httpx.AsyncClient,
) -> None:
    csrf = await sign_in(client, "content_admin")
    course_id = make_draft_course()

    async def queries() -> int:
        with count_queries() as statements:
            response = await client.get(f"/studio/courses/{course_id}")
        assert response.status_code == 200
        return len(statements)

    section_id = await add_section(client, csrf, course_id, "Bagian 1")
    await add_activity(client, csrf, section_id, kind="page", title="H1", body="isi")
    small = await queries()
    for n in range(2, 6):
        section_id = await add_section(client, csrf, course_id, f"Bagian {n}")
        for m in range(4):
            await add_activity(client, csrf, section_id, kind="page", title=f"H{n}.{m}", body="x")
    assert await queries() == small


# --- roles and CSRF ------------------------------------------------------------------------


async def test_learner_is_refused_every_studio_page(client: httpx.AsyncClient) -> None:
    course_id, run_id = make_course_with_run()
    csrf = await sign_in(client, "learner")
    for path in (
        "/studio",
        f"/studio/courses/{course_id}",
        f"/studio/courses/{course_id}/runs",
        f"/studio/runs/{run_id}",
    ):
        response = await client.get(path)
        assert response.status_code == 403, path
        assert "Akses ditolak" in response.text
    posted = await client.post(
        "/studio/courses",
        data={
            "csrf_token": csrf,
            "code": "X1",
            "title": "Judul",
            "jp": "2",
            "category": "teknis",
        },
    )
    assert posted.status_code == 403
    with session_scope() as session:
        assert session.scalar(select(Course).where(Course.code == "X1")) is None


async def test_content_admin_does_not_manage_runs(client: httpx.AsyncClient) -> None:
    course_id, run_id = make_course_with_run()
    await sign_in(client, "content_admin")
    listing = await client.get("/studio")
    assert listing.status_code == 200
    assert f"/studio/courses/{course_id}/runs" not in listing.text
    assert (await client.get(f"/studio/courses/{course_id}/runs")).status_code == 403
    assert (await client.get(f"/studio/runs/{run_id}")).status_code == 403


async def test_training_officer_sees_the_list_read_only(client: httpx.AsyncClient) -> None:
    course_id, _run_id = make_course_with_run()
    await sign_in(client, "training_officer")
    listing = await client.get("/studio")
    assert listing.status_code == 200
    assert f'href="/studio/courses/{course_id}/runs"' in listing.text
    assert f'href="/studio/courses/{course_id}"' not in listing.text
    assert 'action="/studio/courses"' not in listing.text  # no "new course" form
    assert (await client.get(f"/studio/courses/{course_id}")).status_code == 403


async def test_post_without_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    course_id, _run_id = make_course_with_run()
    await sign_in(client, "admin")
    response = await client.post(
        "/studio/courses",
        data={
            "code": "NOCSRF",
            "title": "Tanpa token",
            "jp": "2",
            "category": "teknis",
        },
    )
    assert response.status_code == 403
    assert "CSRF" in response.text
    wrong = await client.post(f"/studio/courses/{course_id}/archive", data={"csrf_token": "0" * 64})
    assert wrong.status_code == 403
    with session_scope() as session:
        assert session.scalar(select(Course).where(Course.code == "NOCSRF")) is None
        course = session.get(Course, course_id)
        assert course is not None and course.status == "published"


# --- runs and enrolment ---------------------------------------------------------------------


async def test_officer_creates_a_run_with_validation(client: httpx.AsyncClient) -> None:
    course_id, _run_id = make_course_with_run()
    csrf = await sign_in(client, "training_officer")
    page = await client.get(f"/studio/courses/{course_id}/runs")
    assert page.status_code == 200
    assert "Angkatan I" in page.text and "APBD Kabupaten" in page.text and "BKPSDM" in page.text
    assert "0 / ∞" in page.text

    form = {
        "csrf_token": csrf,
        "name": "Angkatan II",
        "funding_source": "apbn",
        "capacity": "30",
        "starts_on": (TODAY + dt.timedelta(days=10)).isoformat(),
        "ends_on": TODAY.isoformat(),
        "organiser": "BPSDM Provinsi",
    }
    bad = await client.post(f"/studio/courses/{course_id}/runs", data=form)
    assert bad.status_code == 422
    assert 'id="run-ends_on-error"' in bad.text
    assert "tanggal selesai tidak boleh sebelum tanggal mulai" in bad.text
    assert 'value="Angkatan II"' in bad.text

    missing = await client.post(
        f"/studio/courses/{course_id}/runs", data=form | {"name": "", "ends_on": "bukan-tanggal"}
    )
    assert missing.status_code == 422
    assert "Wajib diisi." in missing.text and "Tanggal tidak sah." in missing.text

    good = form | {"ends_on": (TODAY + dt.timedelta(days=40)).isoformat()}
    created = await client.post(f"/studio/courses/{course_id}/runs", data=good)
    assert created.status_code == 303
    run_page = await client.get(created.headers["location"])
    assert run_page.status_code == 200
    assert "Angkatan dibuat." in run_page.text and "APBN" in run_page.text
    listing = await client.get(f"/studio/courses/{course_id}/runs")
    assert "Angkatan II" in listing.text and "0 / 30" in listing.text
    with session_scope() as session:
        run = session.scalar(select(Run).where(Run.name == "Angkatan II"))
        assert run is not None and run.capacity == 30 and run.funding_source == "apbn"


async def test_enrol_by_nip_list_reports_unknown_nip(client: httpx.AsyncClient) -> None:
    _course_id, run_id = make_course_with_run()
    first, second = make_user(name="Budi Santoso"), make_user(name="Sari Dewi")
    unknown = valid_nip(seq=777)
    csrf = await sign_in(client, "training_officer")
    spaced = f"{second.nip[:8]} {second.nip[8:14]} {second.nip[14]} {second.nip[14 + 1 :]}"
    nips = f"{first.nip}, {unknown}\n{spaced}\n12345"
    response = await client.post(
        f"/studio/runs/{run_id}/enrol/nips", data={"csrf_token": csrf, "nips": nips}
    )
    assert response.status_code == 200, response.text
    assert "2 peserta didaftarkan, 2 dilewati." in response.text
    report = response.text[response.text.index('id="enrol-report"') :]
    assert re.search(rf"<td>{unknown}</td><td>NIP tidak terdaftar\.</td>", report)
    assert "NIP harus 18 digit" in report  # "12345"
    assert "Budi Santoso" in response.text and "Sari Dewi" in response.text
    assert enrolment_rows(run_id) == {first.id: "active", second.id: "active"}

    again = await client.post(
        f"/studio/runs/{run_id}/enrol/nips", data={"csrf_token": csrf, "nips": first.nip}
    )
    assert "Sudah terdaftar di angkatan ini." in again.text

    empty = await client.post(f"/studio/runs/{run_id}/enrol/nips", data={"csrf_token": csrf})
    assert empty.status_code == 422
    assert 'id="enrol-nips-error"' in empty.text


async def test_enrol_a_whole_opd(client: httpx.AsyncClient) -> None:
    _course_id, run_id = make_course_with_run()
    make_opd(code="DINKES", name="Dinas Kesehatan")
    members = [make_user(name=f"Pegawai {n}", opd_code="DINKES") for n in range(3)]
    make_user(name="Nonaktif", opd_code="DINKES", active=False)
    csrf = await sign_in(client, "training_officer")
    page = await client.get(f"/studio/runs/{run_id}")
    assert 'value="DINKES"' in page.text
    response = await client.post(
        f"/studio/runs/{run_id}/enrol/opd", data={"csrf_token": csrf, "opd_code": "DINKES"}
    )
    assert response.status_code == 200, response.text
    assert "3 peserta didaftarkan, 0 dilewati." in response.text
    assert enrolment_rows(run_id) == {m.id: "active" for m in members}
    assert "3 / ∞" not in response.text  # run page shows the fresh count, not a stale one
    assert "Peserta aktif: 3" in re.sub(r"\s+", " ", response.text)

    unknown = await client.post(
        f"/studio/runs/{run_id}/enrol/opd", data={"csrf_token": csrf, "opd_code": "TIDAKADA"}
    )
    assert unknown.status_code == 422
    assert "tidak ditemukan atau tidak punya pegawai aktif" in unknown.text


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8-sig")


async def test_enrol_by_csv_file_names_rows(client: httpx.AsyncClient) -> None:
    _course_id, run_id = make_course_with_run(capacity=2)
    a, b, c = (make_user(name=n) for n in ("Ani", "Beni", "Cici"))
    unknown = valid_nip(seq=888)
    data = _csv(
        [
            ["No", "Nama", "NIP"],
            ["1", "Ani", a.nip or ""],  # row 2: enrolled
            ["2", "Tidak dikenal", unknown],  # row 3: not registered
            ["3", "Ani lagi", a.nip or ""],  # row 4: repeated
            ["4", "Tanpa NIP", ""],  # row 5: empty NIP
            ["5", "Beni", b.nip or ""],  # row 6: enrolled (capacity 2 reached)
            ["6", "Cici", c.nip or ""],  # row 7: run full
            ["", "", ""],  # blank line: ignored
        ]
    )
    csrf = await sign_in(client, "training_officer")
    response = await client.post(
        f"/studio/runs/{run_id}/enrol/file",
        data={"csrf_token": csrf},
        files={"file": ("peserta.csv", data, "text/csv")},
    )
    assert response.status_code == 200, response.text
    assert "2 peserta didaftarkan, 4 dilewati." in response.text
    assert "peserta.csv" in response.text
    report = response.text[response.text.index('id="enrol-report"') :]
    rows = re.findall(r"<tr>\s*<td>(\d+)</td>\s*<td>([^<]*)</td><td>([^<]*)</td>", report)
    assert rows == [
        ("3", unknown, "NIP tidak terdaftar."),
        ("4", a.nip, "NIP sama dengan baris 2."),
        ("5", "—", "NIP kosong."),
        ("7", c.nip, "Kuota angkatan sudah penuh."),
    ]
    assert enrolment_rows(run_id) == {a.id: "active", b.id: "active"}


async def test_enrol_by_xlsx_file(client: httpx.AsyncClient) -> None:
    _course_id, run_id = make_course_with_run()
    person = make_user(name="Dedi")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["NIP Baru", "Nama"])
    sheet.append([person.nip, "Dedi"])  # text cell
    sheet.append([float(person.nip or 0), "Angka"])  # typed as a number: digits lost
    buffer = io.BytesIO()
    book.save(buffer)
    csrf = await sign_in(client, "training_officer")
    response = await client.post(
        f"/studio/runs/{run_id}/enrol/file",
        data={"csrf_token": csrf},
        files={"file": ("peserta.xlsx", buffer.getvalue(), "application/octet-stream")},
    )
    assert response.status_code == 200, response.text
    assert "1 peserta didaftarkan, 1 dilewati." in response.text
    assert "<td>3</td>" in response.text and "Format kolom NIP sebagai Teks" in response.text
    assert enrolment_rows(run_id) == {person.id: "active"}


async def test_enrol_file_without_nip_column_or_not_a_table(client: httpx.AsyncClient) -> None:
    _course_id, run_id = make_course_with_run()
    csrf = await sign_in(client, "training_officer")
    no_column = await client.post(
        f"/studio/runs/{run_id}/enrol/file",
        data={"csrf_token": csrf},
        files={"file": ("x.csv", _csv([["Nama"], ["Ani"]]), "text/csv")},
    )
    assert no_column.status_code == 422
    assert "Kolom NIP tidak ditemukan" in no_column.text
    binary = await client.post(
        f"/studio/runs/{run_id}/enrol/file",
        data={"csrf_token": csrf},
        files={"file": ("x.csv", pdf_bytes() + b"\x00\x01", "text/csv")},
    )
    assert binary.status_code == 415


async def test_withdraw_keeps_the_history(client: httpx.AsyncClient) -> None:
    _course_id, run_id = make_course_with_run()
    stays, leaves = make_user(name="Tetap Ikut"), make_user(name="Keluar Dulu")
    csrf = await sign_in(client, "training_officer")
    await client.post(
        f"/studio/runs/{run_id}/enrol/nips",
        data={"csrf_token": csrf, "nips": f"{stays.nip}\n{leaves.nip}"},
    )
    response = await client.post(
        f"/studio/runs/{run_id}/enrolments/{leaves.id}/withdraw", data={"csrf_token": csrf}
    )
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "riwayatnya tetap tersimpan" in page.text
    assert "Dikeluarkan" in page.text and "Keluar Dulu" in page.text
    assert f"/enrolments/{leaves.id}/withdraw" not in page.text
    assert f"/enrolments/{stays.id}/withdraw" in page.text
    assert enrolment_rows(run_id) == {stays.id: "active", leaves.id: "withdrawn"}
    with session_scope() as session:
        run = session.get(Run, run_id)
        assert run is not None and run.enrolled_count == 1

    twice = await client.post(
        f"/studio/runs/{run_id}/enrolments/{leaves.id}/withdraw", data={"csrf_token": csrf}
    )
    assert twice.status_code == 409
    assert "tidak sedang aktif" in twice.text


async def test_run_page_query_count_does_not_grow_with_enrolments(
    client: httpx.AsyncClient,
) -> None:
    _course_id, run_id = make_course_with_run()
    make_opd(code="DISDIK", name="Dinas Pendidikan")
    people = [make_user(name=f"Guru {n}", opd_code="DISDIK") for n in range(12)]
    csrf = await sign_in(client, "training_officer")

    async def queries() -> int:
        with count_queries() as statements:
            response = await client.get(f"/studio/runs/{run_id}")
        assert response.status_code == 200
        return len(statements)

    await client.post(
        f"/studio/runs/{run_id}/enrol/nips", data={"csrf_token": csrf, "nips": people[0].nip}
    )
    small = await queries()
    await client.post(
        f"/studio/runs/{run_id}/enrol/opd", data={"csrf_token": csrf, "opd_code": "DISDIK"}
    )
    assert await queries() == small


def test_split_nips_keeps_spaced_nips_whole() -> None:
    nip = "198503152010011001"
    assert studio.split_nips(f"19850315 201001 1 001\n{nip}, 1990;  x  y ") == [
        nip,
        nip,
        "1990",
        "x",
        "y",
    ]
    assert studio.split_nips(f"{nip} {nip}") == [nip, nip]


async def test_page_minimum_reading_time_is_set_in_the_form(client: httpx.AsyncClient) -> None:
    csrf = await sign_in(client, "content_admin")
    course_id = make_draft_course()
    section_id = await add_section(client, csrf, course_id, "Bagian 1")
    bad = await add_activity(
        client, csrf, section_id, kind="page", title="Bacaan", body="Isi", min_view_seconds="-5"
    )
    assert bad.status_code == 422
    assert f'id="s{section_id}-min_view_seconds-error"' in bad.text
    added = await add_activity(
        client, csrf, section_id, kind="page", title="Bacaan", body="Isi", min_view_seconds="120"
    )
    assert added.status_code == 303, added.text
    assert [a.min_view_seconds for a in activities(course_id)] == [120]
