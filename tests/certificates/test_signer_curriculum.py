"""The certificate PDF's signature block names the signer (name, NIP, jabatan) from the settings
or from the template; the curriculum page lists sections with their JP (minutes / 45, rounded as
the JP ledger does) and no 0 JP rows; learners see "Open Badges" with an explanation."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from app.certificates import documents, service
from app.certificates import templates as cert_templates
from app.certificates.layout import DEFAULT_LAYOUT, layout_json
from app.certificates.models import Certificate
from app.core.config import get_settings
from app.core.db import session_scope
from app.courses import service as courses_service
from app.courses.constants import ActivityKind
from app.courses.models import Course
from tests.certificates.pdfs import make_pdfs
from tests.factories import browser_login, make_completed_run, make_user

needs_pdftotext = pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler-utils")


def _pdf_text(cert_id: int, tmp_path: Path) -> str:
    with session_scope() as session:
        cert = session.get(Certificate, cert_id)
        assert cert is not None
        data = documents.read_pdf(cert)
    path = tmp_path / f"{cert_id}.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return out.stdout.decode("utf-8")


def _add_section(course_id: int, title: str, minutes: list[int]) -> None:
    with session_scope() as session:
        course = session.get(Course, course_id)
        assert course is not None
        section = courses_service.add_section(session, course, title)
        for i, m in enumerate(minutes):
            courses_service.add_activity(
                session,
                section,
                courses_service.ActivityInput(
                    kind=ActivityKind.PAGE, title=f"{title} {i + 1}", body="Isi.",
                    duration_minutes=m, required=False,
                ),
            )  # fmt: skip


def _issue(run_id: int, user_id: int) -> int:
    with session_scope() as session:
        result = service.issue(session, run_id, [user_id], None, get_settings())
    assert result.issued, result
    make_pdfs()
    return result.issued[0].id


@needs_pdftotext
def test_curriculum_lists_sections_with_their_jp_and_no_zero_rows(tmp_path: Path) -> None:
    data = make_completed_run(1, auto_issue=False, pages=2)  # "Pengantar": 2 x 15 min = 0 JP
    course_id = int(data["course"])  # type: ignore[call-overload]
    _add_section(course_id, "Materi Inti", [90, 45])  # 135 min = 3 JP
    _add_section(course_id, "Studi Kasus", [60, 50])  # 110 min = 2.44 -> 2 JP (floor)
    _add_section(course_id, "Penutup", [10])  # 0 JP: left out
    cid = _issue(data["run"], data["users"][0])  # type: ignore[arg-type, index]
    with session_scope() as session:
        cert = session.get(Certificate, cid)
        assert cert is not None
        assert json.loads(cert.curriculum_json or "[]") == [
            ["Materi Inti", 3.0],
            ["Studi Kasus", 2.0],
        ]
    page2 = _pdf_text(cid, tmp_path).split("\f")[1]
    assert "KURIKULUM PELATIHAN" in page2
    lines = [" ".join(line.split()) for line in page2.splitlines() if line.strip()]
    assert "1. Materi Inti 3" in lines and "2. Studi Kasus 2" in lines
    assert "Jumlah 5" in lines
    assert not any("Pengantar" in line or "Penutup" in line for line in lines)
    assert not any(line.endswith(" 0") or "0,1" in line for line in lines)


@needs_pdftotext
def test_signature_block_shows_signer_name_nip_and_jabatan(tmp_path: Path) -> None:
    settings = get_settings()
    data = make_completed_run(1, auto_issue=False)
    cid = _issue(data["run"], data["users"][0])  # type: ignore[arg-type, index]
    text = " ".join(_pdf_text(cid, tmp_path).split("\f")[0].split())
    assert settings.cert_signer_name in text
    assert f"NIP {settings.cert_signer_nip}" in text
    assert settings.cert_signer_jabatan in text


@needs_pdftotext
def test_a_template_can_name_its_own_signer(tmp_path: Path) -> None:
    data = make_completed_run(1, auto_issue=False)
    course_id = int(data["course"])  # type: ignore[call-overload]
    with session_scope() as session:
        cert_templates.save_template(
            session, template_id=None, course_id=course_id, name="Templat Diskominfo",
            layout_text=layout_json(DEFAULT_LAYOUT), by_id=None,
            signer=("Ir. Made Sukarsa, M.T.", "19680817 199303 1 004", "Kepala Dinas Kominfo"),
        )  # fmt: skip
    cid = _issue(data["run"], data["users"][0])  # type: ignore[arg-type, index]
    with session_scope() as session:
        cert = session.get(Certificate, cid)
        assert cert is not None
        assert (cert.signer_name, cert.signer_nip, cert.signer_jabatan) == (
            "Ir. Made Sukarsa, M.T.", "196808171993031004", "Kepala Dinas Kominfo")  # fmt: skip
    text = " ".join(_pdf_text(cid, tmp_path).split("\f")[0].split())
    assert "Ir. Made Sukarsa, M.T." in text
    assert "NIP 196808171993031004" in text and "Kepala Dinas Kominfo" in text


async def test_template_editor_saves_the_signer_and_checks_the_nip(
    client: httpx.AsyncClient,
) -> None:
    officer = make_user(roles=("training_officer",))
    token = await browser_login(client, officer.email or "")
    page = await client.get("/studio/certificate-templates/default")
    assert page.status_code == 200 and 'name="signer_nip"' in page.text
    with session_scope() as session:
        template = cert_templates.institution_template(session)
        assert template is not None
        layout, template_id = template.layout_json, template.id
    form = {"csrf_token": token, "name": "Templat institusi", "layout_json": layout,
            "signer_name": "Dra. Sri Wahyuni", "signer_nip": "12345",
            "signer_jabatan": "Sekretaris BKPSDM"}  # fmt: skip
    bad = await client.post(f"/studio/certificate-templates/{template_id}", data=form)
    assert bad.status_code == 422
    assert "NIP penandatangan: NIP harus 18 digit" in bad.text
    assert 'value="Dra. Sri Wahyuni"' in bad.text  # what was typed stays
    good = await client.post(
        f"/studio/certificate-templates/{template_id}",
        data=form | {"signer_nip": "196501011990032001"},
    )
    assert good.status_code == 303, good.text
    with session_scope() as session:
        signer = cert_templates.signer_for(session.get(type(template), template_id), get_settings())
    assert signer == cert_templates.Signer(
        "Dra. Sri Wahyuni", "196501011990032001", "Sekretaris BKPSDM"
    )


async def test_learner_sees_open_badges_with_an_explanation(client: httpx.AsyncClient) -> None:
    data = make_completed_run(1)  # auto-issued
    with session_scope() as session:
        from app.accounts.models import User

        user = session.get(User, data["users"][0])  # type: ignore[index]
        assert user is not None
        email = user.email or ""
    await browser_login(client, email)
    page = (await client.get("/sertifikat")).text
    assert "Open Badges (untuk dompet digital)" in page
    assert "Kredensial digital (JSON)" not in page
    assert "dompet digital atau dikirim ke pihak lain untuk diperiksa" in page
