"""Quiz times in the institution's zone (settings.timezone): a window typed in the studio is read
in that zone and stored as UTC, shown back and to learners in it, labelled with its name; the
results export writes local times and names the zone in its header."""

from __future__ import annotations

import csv
import datetime as dt
import io

import httpx
import pytest
from openpyxl import load_workbook

from app.core.db import session_scope
from app.quizzes import reports
from app.quizzes.models import Quiz
from app.quizzes.schemas import ResultRow
from tests.factories import browser_login, enrol, make_course, make_quiz, make_run, make_user

pytestmark = pytest.mark.anyio

SETTINGS_FORM = {
    "title": "Post-test TIK", "kind": "posttest", "pass_score": "70", "grading": "highest",
    "max_attempts": "2", "attempt_delay_minutes": "0", "time_limit_minutes": "30",
    "duration_minutes": "30", "review_correctness": "after_close", "review_points": "after_submit",
    "review_feedback": "never", "review_answers": "after_close", "intro": "",
}  # fmt: skip


async def test_window_typed_in_wita_is_stored_utc_and_shown_back(
    client: httpx.AsyncClient,
    settings,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setattr(settings, "timezone", "Asia/Makassar")
    ids = make_course()
    run_id = make_run(ids["course"])
    quiz_id = make_quiz(ids["section"])["quiz"]
    editor = make_user(roles=("content_admin",))
    csrf = await browser_login(client, editor.email or "")

    page = await client.get(f"/studio/quizzes/{quiz_id}")
    assert page.status_code == 200
    assert "Dibuka (WITA)" in page.text and "Ditutup (WITA)" in page.text
    assert "Tanggal dan jam diisi dalam WITA (UTC+8)." in page.text
    assert "WIB" not in page.text

    saved = await client.post(
        f"/studio/quizzes/{quiz_id}",
        data={**SETTINGS_FORM, "csrf_token": csrf,
              "open_at": "2030-03-02T08:00", "close_at": "2030-03-02T17:30"},
    )  # fmt: skip
    assert saved.status_code == 303, saved.text
    with session_scope() as session:
        quiz = session.get(Quiz, quiz_id)
        assert quiz is not None
        assert quiz.open_at == dt.datetime(2030, 3, 2, 0, 0, tzinfo=dt.UTC)  # 08:00 WITA
        assert quiz.close_at == dt.datetime(2030, 3, 2, 9, 30, tzinfo=dt.UTC)
    again = await client.get(f"/studio/quizzes/{quiz_id}")
    assert 'value="2030-03-02T08:00"' in again.text and 'value="2030-03-02T17:30"' in again.text

    learner = make_user()
    enrol(run_id, learner.id)
    client.cookies.clear()
    await browser_login(client, learner.email or "")
    intro = await client.get(f"/quizzes/{quiz_id}")
    assert intro.status_code == 200
    assert '<time datetime="2030-03-02T00:00:00+00:00">02-03-2030 08:00 WITA</time>' in intro.text
    assert "02-03-2030 17:30 WITA" in intro.text
    assert "Kuis dibuka 02-03-2030 08:00 WITA." in intro.text

    # The stored moment does not move; another zone shows it in its own time.
    monkeypatch.setattr(settings, "timezone", "Asia/Jakarta")
    intro = await client.get(f"/quizzes/{quiz_id}")
    assert "02-03-2030 07:00 WIB" in intro.text and "WITA" not in intro.text


def test_results_export_is_local_and_names_the_zone(
    settings, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "timezone", "Asia/Jayapura")
    row = ResultRow(user_id=1, nip="199001012015031001", name="Ani Lestari", opd="Diskominfo",
                    attempts=1, grade_percent=80, passed=True, state="graded", last_attempt_id=1,
                    submitted_at=dt.datetime(2026, 12, 6, 16, 5, tzinfo=dt.UTC))  # fmt: skip
    table = list(csv.reader(io.StringIO(reports.results_csv([row]).decode("utf-8-sig"))))
    assert table[0][-1] == "Dikumpulkan (WIT)"
    assert table[1][-1] == "2026-12-07 01:05"  # 16:05 UTC is past midnight in Papua
    sheet = load_workbook(io.BytesIO(reports.results_xlsx([row]))).active
    assert sheet is not None
    assert sheet.cell(row=1, column=8).value == "Dikumpulkan (WIT)"
    assert sheet.cell(row=2, column=8).value == dt.datetime(2026, 12, 7, 1, 5)
