"""Bulk issue reports already-certified learners as such (with the number) and cannot start with
nothing eligible; eligibility reasons are codes + parameters, described through gettext in the
reader's language (page, API with Accept-Language, run-closing message)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from app.certificates import eligibility as e
from app.certificates import service
from app.certificates.schemas import RulesUpdate
from app.core import i18n
from app.core.config import get_settings
from app.core.db import session_scope
from app.notifications import render as notification_render
from tests.certificates.test_pages import World, read_page
from tests.factories import api_token, browser_login


@pytest.fixture
def world() -> World:
    return World()


def manual_issue(course_id: int) -> None:
    with session_scope() as session:
        service.update_rules(session, course_id, RulesUpdate(auto_issue=False), get_settings())


# --- bulk issue ----------------------------------------------------------------------------------


async def test_nothing_eligible_disables_the_issue_buttons_with_a_reason(
    client: httpx.AsyncClient, world: World
) -> None:
    manual_issue(world.ids["course"])
    token = await browser_login(client, world.officer.email or "")
    page = (await client.get(f"/studio/runs/{world.run_id}/monitor")).text
    buttons = re.findall(r"<button type=\"submit\" name=\"scope\"[^>]*>", page)
    assert len(buttons) == 2 and all(" disabled" in b for b in buttons), buttons
    assert all('aria-describedby="issue-none"' in b for b in buttons)
    assert 'id="issue-none"' in page and "Belum ada yang dapat diterbitkan" in page
    refused = await client.post(
        f"/studio/runs/{world.run_id}/certificates", data={"csrf_token": token, "scope": "all"}
    )
    assert refused.status_code == 422
    assert "Belum ada peserta yang memenuhi syarat" in refused.text

    await read_page(client, world, world.learner.email or "")  # one learner becomes eligible
    page = (await client.get(f"/studio/runs/{world.run_id}/monitor")).text
    buttons = re.findall(r"<button type=\"submit\" name=\"scope\"[^>]*>", page)
    assert not any(" disabled" in b for b in buttons), buttons
    assert 'id="issue-none"' not in page


async def test_already_certified_learners_are_reported_with_their_number(
    client: httpx.AsyncClient, world: World
) -> None:
    manual_issue(world.ids["course"])
    await read_page(client, world, world.learner.email or "")
    with session_scope() as session:
        first = service.issue(session, world.run_id, [world.learner.id], None, get_settings())
    [cert] = first.issued
    await read_page(client, world, world.other.email or "")
    token = await browser_login(client, world.officer.email or "")
    monitor = (await client.get(f"/studio/runs/{world.run_id}/monitor")).text
    row = monitor.split(f'id="participant-{world.learner.id}"')[1].split("</tr>")[0]
    assert "Sudah bersertifikat" in row and cert.number in row
    assert "Sertifikat sudah terbit" not in row

    started = await client.post(
        f"/studio/runs/{world.run_id}/certificates", data={"csrf_token": token, "scope": "all"}
    )
    assert started.status_code == 303, started.text
    page = (await client.get(started.headers["location"])).text
    assert "Terbit: 1" in page and "Sudah bersertifikat: 1" in page
    assert "Belum memenuhi syarat: 0" in page
    learner_row = page.split("Dewi Lestari")[1].split("</tr>")[0]
    assert ">Sudah bersertifikat</td>" in learner_row
    assert cert.number in learner_row and f"/studio/certificates/{cert.id}" in learner_row
    assert 'data-job-state="done"' in page

    # The API says the same.
    headers = await api_token(client, world.officer.email or "")
    again = await client.post(
        f"/api/v1/runs/{world.run_id}/certificates",
        json={"user_ids": [world.learner.id]},
        headers=headers,
    )
    body = again.json()
    assert body["ineligible"] == []
    assert body["already_certified"] == [
        {"id": cert.id, "number": cert.number, "user_id": world.learner.id}
    ]


# --- reasons in the reader's language ------------------------------------------------------------


def test_reasons_are_codes_with_parameters_described_per_locale() -> None:
    check = e.Check("required_activities", False, {"titles": ["Modul PDF", "Video"]})
    assert check.as_data() == {
        "code": "required_activities",
        "params": {"titles": ["Modul PDF", "Video"]},
    }
    assert check.reason == "Aktivitas wajib belum selesai (2): Modul PDF, Video."
    profile = e.Check("profile_complete", False, {"fields": ["pangkat_golongan", "opd"]})
    token = i18n.current_locale.set("en")
    try:
        assert check.reason == "Required activities not finished yet (2): Modul PDF, Video."
        assert profile.reason == "Profile incomplete: rank/grade, OPD."
        assert e.describe_item("Teks lama.") == "Teks lama."  # stored before codes existed
        stored = e.encode_reasons([profile])
        assert e.decode_reasons(stored) == "Profile incomplete: rank/grade, OPD."
        assert e.decode_reasons("0001/LIT/2026") == "0001/LIT/2026"
    finally:
        i18n.current_locale.reset(token)


async def test_english_reader_sees_english_reasons_on_page_and_api(
    client: httpx.AsyncClient, world: World
) -> None:
    en = {"Accept-Language": "en"}
    headers = {**await api_token(client, world.learner.email or ""), **en}
    url = f"/api/v1/runs/{world.run_id}/eligibility/{world.learner.id}"
    body = (await client.get(url, headers=headers)).json()
    failed = [c for c in body["checks"] if not c["passed"]]
    assert failed[0]["name"] == "required_activities"
    assert failed[0]["reason"] == "Required activity not finished yet (1): Bacaan 1."
    assert failed[0]["params"] == {"titles": ["Bacaan 1"]}
    indonesian = (await client.get(url, headers=headers | {"Accept-Language": "id"})).json()
    assert indonesian["checks"][1]["reason"] == "Aktivitas wajib belum selesai (1): Bacaan 1."
    mine = (await client.get("/api/v1/me/courses", headers=headers)).json()
    assert mine[0]["missing"][0]["reason"].startswith("Required activity not finished yet")

    await browser_login(client, world.learner.email or "")
    page = (await client.get("/my/courses", headers=en)).text
    assert "Required activity not finished yet (1): Bacaan 1." in page
    assert "Aktivitas wajib belum selesai" not in page


def test_run_closing_message_lists_reasons_in_the_recipients_language(world: World) -> None:
    settings = get_settings()
    with session_scope() as session:
        missing = service.missing_for_run(session, world.run_id, settings)
    items = missing[world.learner.id]
    assert items == [{"code": "required_activities", "params": {"titles": ["Bacaan 1"]}}]
    json.dumps(items)  # stored in the message's context
    context = {
        "course_title": "Literasi Digital untuk ASN", "run_name": "Angkatan I",
        "ends_on": world_end(), "jp": 10, "days_left": 3, "missing": items,
    }  # fmt: skip
    english_mail = notification_render.render(
        "run_closing", context, name="Dewi", url="/courses/1", locale="en", settings=settings
    )
    assert "- Required activity not finished yet (1): Bacaan 1." in english_mail.body
    indonesian = notification_render.render(
        "run_closing", context, name="Dewi", url="/courses/1", locale="id", settings=settings
    )
    assert "- Aktivitas wajib belum selesai (1): Bacaan 1." in indonesian.body


def world_end() -> Any:
    import datetime as dt

    return dt.date(2026, 12, 31)
