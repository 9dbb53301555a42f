"""Run dates against the institution's calendar (settings.timezone): a run that ended "yesterday"
in Makassar takes no more enrolments even while the server's UTC date is still its last day,
and the studio's run page shows enrolment times in the institution's zone."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from app.core.db import session_scope
from app.courses.models import Enrolment, Run
from tests.clocks import freeze_clock
from tests.factories import api_token, browser_login, enrol, make_course, make_run, make_user

pytestmark = pytest.mark.anyio

# 20:00 UTC on 6 December: 04:00 WITA on 7 December, 21:00 in Amsterdam on 6 December.
EVENING_UTC = dt.datetime(2026, 12, 6, 20, 0, tzinfo=dt.UTC)


def run_ending(course_id: int, last_day: dt.date) -> int:
    run_id = make_run(course_id)
    with session_scope() as session:
        run = session.get(Run, run_id)
        assert run is not None
        run.starts_on, run.ends_on = last_day - dt.timedelta(days=10), last_day
    return run_id


async def test_run_ends_by_the_institutions_date(
    client: httpx.AsyncClient,
    settings,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    freeze_clock(monkeypatch, EVENING_UTC)
    course = make_course()
    run_id = run_ending(course["course"], dt.date(2026, 12, 6))
    headers = await api_token(client, make_user().email or "")

    monkeypatch.setattr(settings, "timezone", "Asia/Makassar")
    late = await client.post(f"/api/v1/runs/{run_id}/enrolments", json={}, headers=headers)
    assert late.status_code == 409, late.text
    assert late.json()["detail"] == "Angkatan sudah selesai."

    monkeypatch.setattr(settings, "timezone", "Europe/Amsterdam")
    still = await client.post(f"/api/v1/runs/{run_id}/enrolments", json={}, headers=headers)
    assert still.status_code == 201, still.text


async def test_studio_run_page_shows_local_enrolment_time(
    client: httpx.AsyncClient,
    settings,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setattr(settings, "timezone", "Asia/Makassar")
    course = make_course()
    run_id = make_run(course["course"])
    learner = make_user(name="Ani Lestari")
    enrolment_id = enrol(run_id, learner.id)
    with session_scope() as session:
        enrolment = session.get(Enrolment, enrolment_id)
        assert enrolment is not None
        enrolment.enrolled_at = EVENING_UTC
    officer = make_user(roles=("training_officer",))
    await browser_login(client, officer.email or "")
    page = await client.get(f"/studio/runs/{run_id}")
    assert page.status_code == 200
    assert '<time datetime="2026-12-06T20:00:00+00:00">07-12-2026 04:00 WITA</time>' in page.text
    assert " UTC" not in page.text
