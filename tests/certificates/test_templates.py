"""Certificate templates: institution default and course override, a version bump on every save,
background images checked by content and size, the editor pages (officers and admins only,
CSRF, validation errors, live preview) and GET/PUT /api/v1/certificate-templates."""

from __future__ import annotations

import io
import json
import os

import httpx
import pytest
from PIL import Image

from app.certificates import documents, templates
from app.certificates.layout import DEFAULT_LAYOUT, layout_json
from app.certificates.models import Certificate, CertificateTemplate
from app.core.db import session_scope
from app.core.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from tests.factories import (
    api_token,
    browser_login,
    make_certificate_record,
    make_course,
    make_user,
)


def _image(
    fmt: str, size: tuple[int, int] = (1169, 827), color: tuple[int, int, int] = (240, 230, 200)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


# --- service ------------------------------------------------------------------------------


def test_institution_template_is_made_once_from_the_default_layout() -> None:
    with session_scope() as session:
        first = templates.institution_template(session)
        again = templates.institution_template(session)
        assert first is not None and again is not None and first.id == again.id
        assert first.course_id is None and first.version == 1
        assert json.loads(first.layout_json) == json.loads(layout_json(DEFAULT_LAYOUT))


def test_course_override_wins_and_saves_bump_the_version() -> None:
    course_id = make_course()["course"]
    with session_scope() as session:
        default = templates.institution_template(session)
        assert default is not None
        assert templates.template_for_course(session, course_id).id == default.id
        own = templates.save_template(
            session,
            template_id=None,
            course_id=course_id,
            name="Khusus",
            layout_text=default.layout_json,
            by_id=None,
        )
        assert templates.template_for_course(session, course_id).id == own.id
        data = json.loads(own.layout_json)
        data["elements"][1]["text"] = "PIAGAM"
        saved = templates.save_template(
            session,
            template_id=own.id,
            course_id=course_id,
            name="Khusus",
            layout_text=json.dumps(data),
            by_id=None,
        )
        assert saved.version == 2
        with pytest.raises(ValidationFailed):
            templates.save_template(
                session,
                template_id=None,
                course_id=course_id,
                name="Dua",
                layout_text=default.layout_json,
                by_id=None,
            )


def test_certificate_is_drawn_with_its_course_template(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    cert_id = make_certificate_record()
    with session_scope() as session:
        cert = session.get(Certificate, cert_id)
        assert cert is not None
        data = json.loads(layout_json(DEFAULT_LAYOUT))
        data["elements"][1]["text"] = "PIAGAM PENGHARGAAN"
        templates.save_template(
            session, template_id=None, course_id=cert.course_id, name="Khusus",
            layout_text=json.dumps(data), by_id=None,
        )  # fmt: skip
        documents.produce(session, cert, settings)
        pdf_bytes = documents.read_pdf(cert, settings)
    path = tmp_path / "c.pdf"
    path.write_bytes(pdf_bytes)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "PIAGAM PENGHARGAAN" in text


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_background_png_and_jpeg_are_accepted(settings, fmt: str) -> None:  # type: ignore[no-untyped-def]
    with session_scope() as session:
        template = templates.institution_template(session)
        assert template is not None
        templates.set_background(session, template, _image(fmt), settings, by_id=None)
        assert template.background_key and template.background_sha256 and template.version == 2
        rendered = templates.preview_pdf(session, template, settings)
        assert b"/Subtype /Image" in rendered
        templates.remove_background(session, template, by_id=None)
        assert template.background_key is None and template.version == 3


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (_image("GIF"), UnsupportedMediaType, "PNG atau JPEG"),
        (b"%PDF-1.7 this is not an image", UnsupportedMediaType, "PNG atau JPEG"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, ValidationFailed, "rusak"),
        (_image("PNG", (300, 200)), ValidationFailed, "terlalu kecil"),
        (_image("PNG", (800, 1131)), ValidationFailed, "mendatar"),
        (_image("PNG", (4000, 2829)), ValidationFailed, "Resolusi"),
    ],
)
def test_bad_backgrounds_are_refused_with_a_reason(
    settings, data: bytes, error: type, message: str
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=message):
        templates.check_background(data, settings)


def test_background_size_cap(settings) -> None:  # type: ignore[no-untyped-def]
    small = settings.model_copy(update={"cert_background_max_bytes": 64 * 1024})
    noisy = Image.frombytes("RGB", (700, 495), os.urandom(700 * 495 * 3))
    buffer = io.BytesIO()
    noisy.save(buffer, "PNG")
    with pytest.raises(PayloadTooLarge):
        templates.check_background(buffer.getvalue(), small)


# --- pages --------------------------------------------------------------------------------


async def _officer(client: httpx.AsyncClient, role: str = "training_officer") -> str:
    user = make_user(roles=(role,))
    return await browser_login(client, user.email or "")


async def test_editor_is_for_officers_and_admins_only(client: httpx.AsyncClient) -> None:
    learner = make_user()
    await browser_login(client, learner.email or "")
    assert (await client.get("/studio/certificate-templates")).status_code == 403
    assert (await client.get("/studio/certificate-templates/default")).status_code == 403


@pytest.mark.parametrize("role", ["training_officer", "admin"])
async def test_editor_page_shows_layout_and_fields(client: httpx.AsyncClient, role: str) -> None:
    await _officer(client, role)
    listing = await client.get("/studio/certificate-templates")
    assert listing.status_code == 200 and "Templat institusi" in listing.text
    page = await client.get("/studio/certificate-templates/default")
    assert page.status_code == 200
    assert "holder_name" in page.text and "Tata letak (JSON)" in page.text
    assert 'hx-post="/studio/certificate-templates/' in page.text


async def test_save_bumps_version_and_bad_layout_shows_errors(client: httpx.AsyncClient) -> None:
    csrf = await _officer(client)
    page = await client.get("/studio/certificate-templates/default")
    with session_scope() as session:
        template = templates.institution_template(session)
        assert template is not None
        tid, layout_text = template.id, template.layout_json
    data = json.loads(layout_text)
    data["elements"][1]["text"] = "SERTIFIKAT ELEKTRONIK"
    saved = await client.post(
        f"/studio/certificate-templates/{tid}",
        data={"csrf_token": csrf, "name": "Templat baru", "layout_json": json.dumps(data)},
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("notice=saved")
    with session_scope() as session:
        row = session.get(CertificateTemplate, tid)
        assert row is not None and row.version == 2 and row.name == "Templat baru"
        assert "SERTIFIKAT ELEKTRONIK" in row.layout_json

    data["elements"][0]["y"] = 999
    bad = await client.post(
        f"/studio/certificate-templates/{tid}",
        data={"csrf_token": csrf, "name": "Templat baru", "layout_json": json.dumps(data)},
    )
    assert bad.status_code == 422
    assert "elements[0].y" in bad.text and "harus ≤ 210" in bad.text
    with session_scope() as session:
        row = session.get(CertificateTemplate, tid)
        assert row is not None and row.version == 2  # nothing saved
    assert page.status_code == 200


async def test_save_without_csrf_is_refused(client: httpx.AsyncClient) -> None:
    await _officer(client)
    response = await client.post(
        "/studio/certificate-templates/default", data={"name": "x", "layout_json": "{}"}
    )
    assert response.status_code == 403


async def test_live_preview_returns_a_pdf_or_errors(client: httpx.AsyncClient) -> None:
    csrf = await _officer(client)
    good = await client.post(
        "/studio/certificate-templates/default/preview",
        data={"layout_json": layout_json(DEFAULT_LAYOUT)},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert good.status_code == 200 and "data-pdf-preview" in good.text
    assert "<html" not in good.text  # a fragment for htmx
    import base64
    import re

    encoded = re.search(r'data-pdf="([^"]+)"', good.text)
    assert encoded and base64.b64decode(encoded.group(1)).startswith(b"%PDF-")
    bad = await client.post(
        "/studio/certificate-templates/default/preview",
        data={"layout_json": '{"elements": [{"kind": "field", "field": "nama", "x": 1, "y": 1}]}'},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert bad.status_code == 200 and "nama" in bad.text and 'role="alert"' in bad.text
    saved = await client.get("/studio/certificate-templates/default/preview.pdf")
    assert saved.status_code == 200 and saved.headers["content-type"] == "application/pdf"
    assert saved.content.startswith(b"%PDF-")


async def test_background_upload_page(client: httpx.AsyncClient) -> None:
    csrf = await _officer(client)
    ok = await client.post(
        "/studio/certificate-templates/default/background",
        data={"csrf_token": csrf},
        files={"file": ("latar.jpg", _image("JPEG"), "image/jpeg")},
    )
    assert ok.status_code == 303
    refused = await client.post(
        "/studio/certificate-templates/default/background",
        data={"csrf_token": csrf},
        files={"file": ("latar.png", b"GIF89a not really", "image/png")},
    )
    assert refused.status_code == 415 and "PNG atau JPEG" in refused.text
    with session_scope() as session:
        template = templates.institution_template(session)
        assert template is not None and template.background_key and template.version == 2


async def test_course_override_from_the_list_page(client: httpx.AsyncClient) -> None:
    csrf = await _officer(client)
    course_id = make_course()["course"]
    created = await client.post(
        "/studio/certificate-templates", data={"csrf_token": csrf, "course_id": str(course_id)}
    )
    assert created.status_code == 303
    location = created.headers["location"]
    page = await client.get(location)
    assert page.status_code == 200 and "Khusus kursus" in page.text
    tid = int(location.split("/")[-1].split("?")[0])
    deleted = await client.post(
        f"/studio/certificate-templates/{tid}/delete", data={"csrf_token": csrf}
    )
    assert deleted.status_code == 303
    unknown = await client.post(
        "/studio/certificate-templates", data={"csrf_token": csrf, "course_id": "999999"}
    )
    assert unknown.status_code == 404


# --- API ----------------------------------------------------------------------------------


async def test_api_get_and_put(client: httpx.AsyncClient) -> None:
    officer = make_user(roles=("training_officer",))
    headers = await api_token(client, officer.email or "")
    got = await client.get("/api/v1/certificate-templates/default", headers=headers)
    assert got.status_code == 200
    body = got.json()
    assert body["version"] == 1 and body["course_id"] is None
    assert body["layout"]["elements"][0]["field"] == "issuer"

    body["layout"]["elements"][1]["text"] = "SERTIFIKAT"
    put = await client.put(
        f"/api/v1/certificate-templates/{body['id']}",
        json={"name": "Baru", "layout": body["layout"]},
        headers=headers,
    )
    assert put.status_code == 200 and put.json()["version"] == 2 and put.json()["name"] == "Baru"

    body["layout"]["elements"][3]["size"] = 500
    bad = await client.put(
        "/api/v1/certificate-templates/default", json={"layout": body["layout"]}, headers=headers
    )
    assert bad.status_code == 422
    assert "elements[3].size" in json.dumps(bad.json())

    learner = make_user()
    learner_headers = await api_token(client, learner.email or "")
    assert (
        await client.get("/api/v1/certificate-templates/default", headers=learner_headers)
    ).status_code == 403
    assert (
        await client.get("/api/v1/certificate-templates/424242", headers=headers)
    ).status_code == 404
