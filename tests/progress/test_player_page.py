"""The activity page wires the player's heartbeats: the progress URL, and the minimum view time
shown to the learner of a document/page that has one."""

from __future__ import annotations

import httpx

from tests.factories import (
    PASSWORD,
    csrf_from,
    enrol,
    make_activity,
    make_course,
    make_run,
    make_user,
)


async def _login(client: httpx.AsyncClient, username: str) -> None:
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={"csrf_token": csrf_from(page.text), "username": username, "password": PASSWORD,
              "next": "/courses"},
    )  # fmt: skip
    assert response.status_code == 303, response.text


async def test_page_with_minimum_view_time_tells_the_learner(client: httpx.AsyncClient) -> None:
    course = make_course(pages=1)
    timed = make_activity(course["section"], kind="page", min_view_seconds=120)
    learner = make_user()
    enrol(make_run(course["course"]), learner.id)
    await _login(client, learner.email or "")
    page = await client.get(f"/activities/{timed}")
    assert page.status_code == 200
    assert f'data-progress-url="/api/v1/activities/{timed}/progress"' in page.text
    assert 'data-enrolled="true"' in page.text and "/player" in page.text
    assert "minimal 2 menit" in page.text
    plain = await client.get(f"/activities/{course['page1']}")
    assert 'id="min-view-note"' not in plain.text
