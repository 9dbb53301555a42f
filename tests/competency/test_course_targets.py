"""Course competency tags with target levels: the API (`competency_levels`), the studio form
(`code:level`), course.yaml entries `{code, target_level}`, and catalog checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from app.core.config import Settings
from app.core.db import session_scope
from app.courses import repository
from app.courses.content_import import CONTENT_ROOT, import_course
from tests.factories import api_token, browser_login, make_user


async def editor(client: httpx.AsyncClient) -> dict[str, str]:
    make_user(roles=("content_admin",), nip=None, email="editor@example.go.id")
    return await api_token(client, "editor@example.go.id")


def tags(code: str) -> dict[str, int | None]:
    with session_scope() as session:
        course = repository.get_course_by_code(session, code)
        assert course is not None
        return {c.competency_code: c.target_level for c in course.competencies}


async def test_api_levels_create_update_and_catalog_checks(client: httpx.AsyncClient) -> None:
    headers = await editor(client)
    base = {"code": "LD-01", "title": "Literasi Digital", "jp": 4, "category": "teknis"}
    created = await client.post(
        "/api/v1/courses",
        json=base | {"competencies": ["Literasi-Digital", "Integritas"],
                     "competency_levels": {"literasi_digital": 3}},
        headers=headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    assert sorted(created.json()["competencies"]) == ["integritas", "literasi_digital"]
    assert created.json()["competency_levels"] == {"literasi_digital": 3}
    course_id = created.json()["id"]
    assert tags("LD-01") == {"literasi_digital": 3, "integritas": None}
    # Changing only the codes keeps the levels of the codes kept.
    kept = await client.patch(
        f"/api/v1/courses/{course_id}", json={"competencies": ["literasi_digital", "spbe"]},
        headers=headers,
    )  # fmt: skip
    assert kept.status_code == 200, kept.text
    assert tags("LD-01") == {"literasi_digital": 3, "spbe": None}
    only_levels = await client.patch(
        f"/api/v1/courses/{course_id}", json={"competency_levels": {"spbe": 2}}, headers=headers
    )
    assert only_levels.status_code == 200
    assert tags("LD-01") == {"literasi_digital": None, "spbe": 2}
    unknown = await client.post(
        "/api/v1/courses", json=base | {"code": "X-1", "competencies": ["tik-01"]},
        headers=headers,
    )  # fmt: skip
    assert unknown.status_code == 422
    assert "tik-01" in unknown.json()["detail"] and "literasi_digital" in unknown.json()["detail"]
    too_high = await client.patch(
        f"/api/v1/courses/{course_id}", json={"competency_levels": {"spbe": 6}}, headers=headers
    )
    assert too_high.status_code == 422
    assert tags("LD-01") == {"literasi_digital": None, "spbe": 2}


async def test_studio_form_takes_code_colon_level(client: httpx.AsyncClient) -> None:
    make_user(roles=("content_admin",), nip=None, email="studio@example.go.id")
    csrf = await browser_login(client, "studio@example.go.id")
    form = {"csrf_token": csrf, "code": "KI-01", "title": "Keamanan Informasi", "jp": "4",
            "category": "teknis", "learning_mode": "e_learning",
            "competencies": "keamanan_informasi:4, literasi digital"}  # fmt: skip
    response = await client.post("/studio/courses", data=form)
    assert response.status_code == 303, response.text
    assert tags("KI-01") == {"keamanan_informasi": 4, "literasi_digital": None}
    page = await client.get(response.headers["location"])
    # Shown in the catalog picker (names and a level select), never as typed codes.
    assert "keamanan_informasi:4" not in page.text
    assert '<option value="keamanan_informasi" selected>' in page.text
    assert '<option value="4" selected>' in page.text
    bad = await client.post(
        "/studio/courses", data=form | {"code": "KI-02", "competencies": "spbe:x, nope"}
    )
    assert bad.status_code == 422
    assert 'id="f-competencies-error"' in bad.text or "aria-invalid" in bad.text


def test_course_yaml_entries_with_target_level(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "keamanan-informasi-dasar"
    shutil.copytree(CONTENT_ROOT / "keamanan-informasi-dasar", folder)
    yaml_file = folder / "course.yaml"
    text = yaml_file.read_text(encoding="utf-8")
    text = text.replace(
        "competencies:\n  - keamanan_informasi\n  - literasi_digital\n",
        "competencies:\n  - code: keamanan_informasi\n    target_level: 3\n  - literasi_digital\n",
    )
    yaml_file.write_text(text, encoding="utf-8")
    with session_scope() as session:
        report = import_course(session, settings, folder)
    code = report.code
    assert tags(code) == {"keamanan_informasi": 3, "literasi_digital": None}
    with session_scope() as session:
        again = import_course(session, settings, folder)
    assert "competencies" not in again.course_updated
    yaml_file.write_text(text.replace("target_level: 3", "target_level: 4"), encoding="utf-8")
    with session_scope() as session:
        changed = import_course(session, settings, folder)
    assert "competencies" in changed.course_updated
    assert tags(code)["keamanan_informasi"] == 4
