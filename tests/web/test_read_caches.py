"""Read caches of hot answers (app/core/readcache.py): the course content every learner asks
for and GET /api/v1/me. A second read needs no query, and a change committed in this process is
in the very next answer, whatever code path made it."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update

from app.accounts.models import User
from app.core.config import get_settings
from app.core.db import session_scope
from app.courses.models import Activity
from tests.factories import api_token, enrol, make_course, make_run, make_user
from tests.queries import count_queries


@pytest.fixture(autouse=True)
def _fresh() -> None:
    from app.accounts.service import own_accounts
    from app.courses.service import course_details

    course_details.clear()
    own_accounts.clear()


async def test_course_content_is_read_once_and_changes_show_at_once(
    client: httpx.AsyncClient,
) -> None:
    ids = make_course(pages=2)
    run_id = make_run(ids["course"])
    author = make_user(roles=("admin",))
    learner = make_user()
    enrol(run_id, learner.id)
    headers = await api_token(client, learner.email)
    staff = await api_token(client, author.email)
    path = f"/api/v1/courses/{ids['course']}"
    first = await client.get(path, headers=headers)
    assert first.status_code == 200
    with count_queries() as statements:
        again = await client.get(path, headers=headers)
    assert again.json() == first.json()
    assert not [s for s in statements if "activity" in s]  # served from the cache
    # An author's edit through the API shows in the learner's next answer.
    r = await client.patch(path, json={"title": "Literasi Digital Lanjutan"}, headers=staff)
    assert r.status_code == 200, r.text
    assert (await client.get(path, headers=headers)).json()["title"] == "Literasi Digital Lanjutan"
    # So does a bulk statement in any unit of work (a job hiding an activity).
    with session_scope() as session:
        session.execute(update(Activity).where(Activity.id == ids["page2"]).values(hidden=True))
    titles = [a["title"] for s in (await client.get(path, headers=headers)).json()["sections"]
              for a in s["activities"]]  # fmt: skip
    assert titles == ["Bacaan 1"]
    # Staff still see the hidden activity: the staff view is cached apart.
    staff_view = (await client.get(path, headers=staff)).json()
    assert [a["title"] for a in staff_view["sections"][0]["activities"]] == ["Bacaan 1", "Bacaan 2"]


async def test_draft_course_stays_hidden_from_learners(client: httpx.AsyncClient) -> None:
    ids = make_course(published=False)
    author = make_user(roles=("admin",))
    learner = make_user()
    staff = await api_token(client, author.email)
    path = f"/api/v1/courses/{ids['course']}"
    assert (await client.get(path, headers=staff)).status_code == 200  # cached for staff
    assert (await client.get(path, headers=await api_token(client, learner.email))).status_code == 404


async def test_own_account_is_cached_and_changes_show_at_once(client: httpx.AsyncClient) -> None:
    user = make_user(name="Dewi Lestari")
    headers = await api_token(client, user.email)
    assert (await client.get("/api/v1/me", headers=headers)).json()["name"] == "Dewi Lestari"
    with count_queries() as statements:
        assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    assert statements == []  # caller and account both from the caches
    with session_scope() as session:
        session.execute(update(User).where(User.id == user.id).values(name="Dewi Lestari, S.Kom."))
    assert (await client.get("/api/v1/me", headers=headers)).json()["name"] == "Dewi Lestari, S.Kom."


async def test_zero_lifetime_turns_the_read_caches_off(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "read_cache_seconds", 0.0)
    user = make_user()
    headers = await api_token(client, user.email)
    for _ in range(2):
        with count_queries() as statements:
            assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
        assert any("user_account" in s for s in statements)
