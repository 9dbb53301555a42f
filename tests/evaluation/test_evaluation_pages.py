"""The survey and RTL forms as a browser uses them (CSRF, errors next to their question), the
staff report page and the course survey editor."""

from __future__ import annotations

import datetime as dt
import re

import httpx

from app.core import clock
from app.core.db import session_scope
from app.courses.models import Run
from tests.factories import PASSWORD, csrf_from, enrol, make_course, make_run, make_user


async def browser_login(client: httpx.AsyncClient, username: str) -> str:
    """Sign in through the login form; the CSRF token from the catalog page (the dashboard is
    another helper's page and may be mid-change)."""
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={"csrf_token": csrf_from(page.text), "username": username, "password": PASSWORD,
              "next": "/courses"},
    )  # fmt: skip
    assert response.status_code == 303, response.text
    return csrf_from((await client.get("/courses")).text)


def _run_with_instructor() -> tuple[dict[str, int], int]:
    course = make_course()
    run_id = make_run(course["course"])
    with session_scope() as session:
        run = session.get(Run, run_id)
        assert run is not None
        run.instructors = "Dr. Budi Santoso"
    return course, run_id


def _fields(html: str) -> list[str]:
    return sorted(set(re.findall(r'name="(q\d+(?:_i\d+)?)"', html)))


async def test_learner_fills_the_survey_form(client: httpx.AsyncClient) -> None:
    course, run_id = _run_with_instructor()
    learner = make_user()
    enrol(run_id, learner.id)
    csrf = await browser_login(client, learner.email or "")
    course_page = await client.get(f"/courses/{course['course']}")
    assert f'href="/runs/{run_id}/evaluasi"' in course_page.text
    assert f'href="/runs/{run_id}/rtl"' in course_page.text
    page = await client.get(f"/runs/{run_id}/evaluasi")
    assert page.status_code == 200
    assert "Pengajar menguasai materi yang disampaikan." in page.text
    assert "pengajar: Dr. Budi Santoso" in page.text
    fields = _fields(page.text)
    assert len(fields) == 15  # 11 course items + 4 instructor items for one instructor
    no_token = await client.post(f"/runs/{run_id}/evaluasi", data={fields[0]: "4"})
    assert no_token.status_code == 403
    partial = await client.post(
        f"/runs/{run_id}/evaluasi", data={"csrf_token": csrf, fields[0]: "4"}
    )
    assert partial.status_code == 422
    assert "wajib dijawab" in partial.text and 'aria-invalid="true"' in partial.text
    assert 'value="4" checked' in partial.text  # what was chosen stays chosen
    likert = [f for f in fields if f'{f}" value="5"' in page.text]
    data = {"csrf_token": csrf, **{f: "4" for f in likert}}
    sent = await client.post(f"/runs/{run_id}/evaluasi", data=data)
    assert sent.status_code == 303 and sent.headers["location"] == f"/runs/{run_id}/evaluasi?sent=1"
    done = await client.get(f"/runs/{run_id}/evaluasi?sent=1")
    assert "sudah terkirim" in done.text and '<form method="post" action="/runs/' not in done.text
    twice = await client.post(f"/runs/{run_id}/evaluasi", data=data)
    assert twice.status_code == 409


async def test_learner_sends_and_edits_the_rtl(client: httpx.AsyncClient) -> None:
    _course, run_id = _run_with_instructor()
    learner = make_user()
    enrol(run_id, learner.id)
    csrf = await browser_login(client, learner.email or "")
    page = await client.get(f"/runs/{run_id}/rtl")
    assert page.status_code == 200 and 'name="plan"' in page.text
    bad = await client.post(
        f"/runs/{run_id}/rtl", data={"csrf_token": csrf, "plan": "singkat", "target_date": ""}
    )
    assert bad.status_code == 422 and "tanggal target" in bad.text.lower()
    target = (clock.today() + dt.timedelta(days=30)).isoformat()
    plan = "Menyusun SOP layanan daring di bidang kepegawaian."
    ok = await client.post(
        f"/runs/{run_id}/rtl", data={"csrf_token": csrf, "plan": plan, "target_date": target}
    )
    assert ok.status_code == 303
    shown = await client.get(f"/runs/{run_id}/rtl?sent=1")
    assert plan in shown.text and f'value="{target}"' in shown.text
    assert "Simpan perubahan RTL" in shown.text


async def test_report_and_editor_pages_are_for_staff(client: httpx.AsyncClient) -> None:
    course, run_id = _run_with_instructor()
    learner = make_user()
    enrol(run_id, learner.id)
    await browser_login(client, learner.email or "")
    assert (await client.get(f"/studio/runs/{run_id}/evaluasi")).status_code == 403
    assert (await client.get(f"/studio/courses/{course['course']}/survey")).status_code == 403
    client.cookies.clear()
    officer = make_user(roles=("training_officer",))
    await browser_login(client, officer.email or "")
    report = await client.get(f"/studio/runs/{run_id}/evaluasi")
    assert report.status_code == 200 and "Belum ada peserta yang mengisi" in report.text
    assert f"/api/v1/runs/{run_id}/survey/report?format=xlsx" in report.text
    client.cookies.clear()
    editor = make_user(roles=("content_admin",))
    csrf = await browser_login(client, editor.email or "")
    page = await client.get(f"/studio/courses/{course['course']}/survey")
    assert page.status_code == 200 and "set pertanyaan bawaan" in page.text
    rows = int(re.search(r'name="rows" value="(\d+)"', page.text).group(1))  # type: ignore[union-attr]
    data = {"csrf_token": csrf, "rows": str(rows), "action": "save"}
    data |= {"text_0": "Materi relevan dengan tugas saya.", "kind_0": "likert", "target_0": "course",
             "required_0": "1", "text_1": "Saran Anda?", "kind_1": "text", "target_1": "course"}  # fmt: skip
    saved = await client.post(f"/studio/courses/{course['course']}/survey", data=data)
    assert saved.status_code == 303
    again = await client.get(f"/studio/courses/{course['course']}/survey?saved=1")
    assert "memakai set pertanyaan sendiri" in again.text and "Saran Anda?" in again.text
    assert "Pengajar menguasai materi" not in again.text
