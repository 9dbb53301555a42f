"""The officer pages (hub, catalog, imports, gap map, per-ASN, enrol-by-gap) and the learner's
"Kompetensi saya": who may open them, forms with CSRF, and what a user sees."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from app.core.db import session_scope
from app.courses.models import Enrolment
from tests.competency.helpers import asn, assess, standard
from tests.factories import browser_login, make_course, make_run, make_user


async def as_officer(client: httpx.AsyncClient) -> str:
    make_user(roles=("training_officer",), nip=None, email="petugas@example.go.id")
    return await browser_login(client, "petugas@example.go.id")


async def test_officer_pages_render_and_learners_are_refused(client) -> None:  # type: ignore[no-untyped-def]
    learner = asn(name="Pelajar")
    await browser_login(client, learner.email)
    for url in ("/studio/competency", "/studio/competency/gap-map", "/studio/competency/catalog",
                "/studio/competency/import/standards", "/studio/competency/enrol",
                f"/studio/competency/asn/{learner.id}", "/studio/competency/asn"):  # fmt: skip
        assert (await client.get(url)).status_code == 403, url
    assert (await client.get("/my/kompetensi")).status_code == 200
    client.cookies.clear()
    await as_officer(client)
    for url in ("/studio/competency", "/studio/competency/gap-map", "/studio/competency/catalog",
                "/studio/competency/import/standards", "/studio/competency/import/assessments",
                "/studio/competency/enrol", "/studio/competency/asn?q=Pel",
                "/studio/competency/catalog/integritas"):  # fmt: skip
        response = await client.get(url)
        assert response.status_code == 200, url
    assert (await client.get("/studio/competency/import/other")).status_code == 422
    assert (await client.get("/studio/competency/catalog/nope")).status_code == 404


async def test_import_page_shows_row_errors_then_imports(client) -> None:  # type: ignore[no-untyped-def]
    csrf = await as_officer(client)
    user = asn()
    bad = f"nip,kode_kompetensi,level,tanggal_asesmen,metode\n{user.nip},integritas,9,2026-01-01,CAT\n"
    response = await client.post(
        "/studio/competency/import/assessments",
        files={"file": ("hasil.csv", bad.encode(), "text/csv")},
        data={"csrf_token": csrf},
    )
    assert response.status_code == 422
    assert "Tidak ada data yang diimpor" in response.text and "<td>2</td>" in response.text
    good = bad.replace(",9,", ",2,")
    response = await client.post(
        "/studio/competency/import/assessments",
        files={"file": ("hasil.csv", good.encode(), "text/csv")},
        data={"csrf_token": csrf},
    )
    assert response.status_code == 200 and "1 baris diimpor" in response.text
    standards = await client.post(
        "/studio/competency/import/standards",
        files={"file": ("s.csv", b"jabatan,kode_kompetensi,level_standar\n*,integritas,3\n")},
        data={"csrf_token": csrf},
    )
    assert standards.status_code == 200
    assert "<td>Semua ASN</td><td>Integritas</td><td>3</td>" in standards.text
    no_csrf = await client.post(
        "/studio/competency/import/standards",
        files={"file": ("s.csv", b"jabatan,kode_kompetensi,level_standar\n*,integritas,3\n")},
    )
    assert no_csrf.status_code == 403


async def test_gap_map_page_shows_cells_with_numbers(client) -> None:  # type: ignore[no-untyped-def]
    standard("*", "integritas", 3)
    for i, level in enumerate((1, 3)):
        user = asn(name=f"ASN {i}", opd_code="DISKOMINFO")
        assess(user.id, "integritas", level)
    await as_officer(client)
    page = await client.get("/studio/competency/gap-map")
    assert page.status_code == 200
    assert "50%<small>1/2</small>" in page.text
    assert '<th scope="col">Integritas</th>' in page.text  # the competency's column
    # the link's name starts with its visible text, then says what the numbers count
    assert "— Integritas, DISKOMINFO: 1 dari 2 ASN (50%) punya kesenjangan</span></a>" in page.text
    assert "/studio/competency/enrol?competency=integritas&amp;opd=DISKOMINFO" in page.text
    filtered = await client.get("/studio/competency/gap-map?competency_group=teknis")
    assert "Belum ada hasil asesmen" in filtered.text
    bad = await client.get("/studio/competency/gap-map?opd=NOPE")
    assert bad.status_code == 422 and "tidak ditemukan" in bad.text


async def test_enrol_by_gap_preview_and_confirm(client) -> None:  # type: ignore[no-untyped-def]
    standard("*", "literasi_digital", 3)
    weak = asn(name="Budi Lemah", opd_code="DISKOMINFO")
    assess(weak.id, "literasi_digital", 1)
    run_id = make_run(make_course(title="Literasi Digital Lanjut")["course"])
    csrf = await as_officer(client)
    page = await client.get(
        f"/studio/competency/enrol?competency=literasi_digital&opd=DISKOMINFO&run_id={run_id}"
    )
    assert page.status_code == 200
    assert "Budi Lemah" in page.text and "1 / 3" in page.text
    assert "★ Literasi Digital Lanjut" in page.text
    with session_scope() as session:
        assert session.scalars(select(Enrolment)).all() == []
    form = {"competency": "literasi_digital", "opd": "DISKOMINFO", "run_id": str(run_id)}
    assert (await client.post("/studio/competency/enrol", data=form)).status_code == 403
    done = await client.post("/studio/competency/enrol", data=form | {"csrf_token": csrf})
    assert done.status_code == 200 and "1 ASN didaftarkan, 0 dilewati" in done.text
    with session_scope() as session:
        assert [e.user_id for e in session.scalars(select(Enrolment))] == [weak.id]
    from_cell = await client.get("/studio/competency/enrol?competency=literasi_digital")
    assert from_cell.status_code == 200 and "Budi Lemah" in from_cell.text
    assert "Pilih angkatan tujuan di atas" in from_cell.text
    assert 'method="post" action="/studio/competency/enrol"' not in from_cell.text
    bad_run = await client.get("/studio/competency/enrol?competency=literasi_digital&run_id=x")
    assert bad_run.status_code == 422 and "Pilih angkatan tujuan." in bad_run.text


async def test_catalog_create_and_edit_pages(client) -> None:  # type: ignore[no-untyped-def]
    csrf = await as_officer(client)
    bad = await client.post(
        "/studio/competency/catalog",
        data={"csrf_token": csrf, "code": "x", "name": "", "group": "teknis", "max_level": "5"},
    )
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text
    created = await client.post(
        "/studio/competency/catalog",
        data={"csrf_token": csrf, "code": "analisis_data", "name": "Analisis Data",
              "group": "teknis", "max_level": "4", "level_descriptions": "Dasar\nMenengah"},
    )  # fmt: skip
    assert created.status_code == 303
    edited = await client.post(
        "/studio/competency/catalog/analisis_data",
        data={"csrf_token": csrf, "name": "Analitik Data", "group": "teknis", "max_level": "4",
              "level_descriptions": "Dasar\nMenengah", "description": ""},
    )  # fmt: skip
    assert edited.status_code == 303
    catalog = await client.get("/studio/competency/catalog")
    row = re.search(r"<code>analisis_data</code>.*?</tr>", catalog.text, re.S)
    assert row and "Analitik Data" in row.group(0) and "Nonaktif" in row.group(0)


async def test_asn_page_and_my_page(client) -> None:  # type: ignore[no-untyped-def]
    standard("*", "literasi_digital", 4)
    me = asn(name="Siti Aminah")
    assess(me.id, "literasi_digital", 2)
    course = make_course(code="LD-2", title="Literasi Digital Menengah")
    run_id = make_run(course["course"])
    mentor = asn(name="Pak Mentor", roles=("learner", "mentor"))
    assess(mentor.id, "literasi_digital", 5)
    csrf = await browser_login(client, me.email)
    page = await client.get("/my/kompetensi")
    assert page.status_code == 200
    assert "50.0%" in page.text and "Kurang optimal" in page.text
    assert "Literasi Digital Menengah" in page.text and "Pak Mentor" in page.text
    assert f'action="/runs/{run_id}/enrol"' in page.text
    enrolled = await client.post(f"/runs/{run_id}/enrol", data={"csrf_token": csrf})
    assert enrolled.status_code == 303
    after = await client.get("/my/kompetensi")
    assert "Sudah terdaftar." in after.text and f'action="/runs/{run_id}/enrol"' not in after.text
    client.cookies.clear()
    await as_officer(client)
    officer_view = await client.get(f"/studio/competency/asn/{me.id}")
    assert officer_view.status_code == 200
    assert "Siti Aminah" in officer_view.text and "Riwayat asesmen" in officer_view.text
    assert 'action="/runs/' not in officer_view.text
    found = await client.get("/studio/competency/asn?q=siti")
    assert f"/studio/competency/asn/{me.id}" in found.text


async def test_asn_page_of_unknown_user_is_404(client) -> None:  # type: ignore[no-untyped-def]
    await as_officer(client)
    assert (await client.get("/studio/competency/asn/999999")).status_code == 404
