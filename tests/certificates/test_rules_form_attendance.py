"""Issue 16 in the certification-rules form: the attendance minimum and the assignments and
attendance weights are saved, shown again and checked."""

from __future__ import annotations

import httpx

from app.certificates import service
from app.core.config import get_settings
from app.core.db import session_scope
from tests.certificates.test_rules_form import _course, _form
from tests.factories import browser_login, make_user


async def test_attendance_minimum_and_new_weights(client: httpx.AsyncClient) -> None:
    course_id = _course()
    admin = make_user(roles=("content_admin",), name="Admin Konten")
    token = await browser_login(client, admin.email or "")
    url = f"/studio/courses/{course_id}/certification-rules"
    page = await client.get(url)
    assert 'name="min_attendance_percent"' in page.text
    assert 'name="weight_assignments"' in page.text and 'name="weight_attendance"' in page.text
    answer = await client.post(url, data=_form(
        token, score_formula="weighted", weight_posttest="40", weight_assignments="40",
        weight_attendance="20", min_attendance_percent="80",
    ))  # fmt: skip
    assert answer.status_code == 303, answer.text
    with session_scope() as db:
        rules = service.rules_for(db, course_id, get_settings())
    assert rules.weights == {"posttest": 40.0, "assignments": 40.0, "attendance": 20.0}
    assert rules.min_attendance_percent == 80
    page = await client.get(url)
    assert 'value="80"' in page.text
    bad = await client.post(url, data=_form(token, min_attendance_percent="120"))
    assert bad.status_code == 422
    assert "Isi angka dari 0 sampai 100." in bad.text
    cleared = await client.post(url, data=_form(token, min_attendance_percent=""))
    assert cleared.status_code == 303
    with session_scope() as db:
        assert service.rules_for(db, course_id, get_settings()).min_attendance_percent == 0


async def test_rules_api_reads_and_sets_the_attendance_minimum(client: httpx.AsyncClient) -> None:
    from tests.factories import api_token

    course_id = _course()
    admin = make_user(roles=("content_admin",), name="Admin Konten")
    headers = await api_token(client, admin.email or "")
    url = f"/api/v1/courses/{course_id}/certification-rules"
    answer = await client.put(url, headers=headers, json={"min_attendance_percent": 75})
    assert answer.status_code == 200, answer.text
    assert answer.json()["min_attendance_percent"] == 75
