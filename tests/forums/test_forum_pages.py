"""The forum pages (/runs/{id}/forum, /forum/threads/{id}): a learner asks, a facilitator
answers and moderates, people outside the run are refused, and both pages send a fixed number
of SQL statements whatever the number of threads or posts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from app.core.db import session_scope
from app.forums.models import ForumThread
from tests.factories import browser_login
from tests.forums.helpers import PNG, new_thread, people, reply
from tests.queries import count_queries


@asynccontextmanager
async def _browser(app: Any, login: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A signed-in browser session of its own (cookies apart from the API client)."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.20", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, await browser_login(client, login)


async def test_learner_asks_and_facilitator_answers(client: httpx.AsyncClient, app: Any) -> None:
    p = await people(client, tokens=False)
    async with _browser(app, p["login_learner"]) as (learner, csrf):
        page = await learner.get(f"/runs/{p['run']}/forum")
        assert page.status_code == 200
        assert "Forum diskusi" in page.text and 'name="title"' in page.text
        assert "Sematkan" not in page.text

        r = await learner.post(
            f"/runs/{p['run']}/forum",
            data={"csrf_token": csrf, "title": "", "body": ""},
        )
        assert r.status_code == 422 and 'aria-invalid="true"' in r.text

        r = await learner.post(
            f"/runs/{p['run']}/forum",
            data={"csrf_token": csrf, "title": "Kapan tugas RTL dikumpulkan?",
                  "body": "Mohon info **tenggat**."},
            files={"file": ("jadwal.png", PNG, "image/png")},
        )  # fmt: skip
        assert r.status_code == 303, r.text
        thread_url = r.headers["location"].split("?")[0]
        page = await learner.get(thread_url)
        assert page.status_code == 200
        assert "<strong>tenggat</strong>" in page.text and "jadwal.png" in page.text
        assert "Ubah" in page.text  # own post, in the edit window
        assert "Tandai jawaban fasilitator" not in page.text

    async with _browser(app, p["login_facilitator"]) as (facilitator, fcsrf):
        r = await facilitator.post(
            f"{thread_url}/replies", data={"csrf_token": fcsrf, "body": "Paling lambat Jumat."}
        )
        assert r.status_code == 303
        post_id = int(r.headers["location"].split("#post-")[1])
        r = await facilitator.post(
            f"/forum/posts/{post_id}/answer", data={"csrf_token": fcsrf, "value": "1"}
        )
        assert r.status_code == 303
        r = await facilitator.post(f"{thread_url}/pin", data={"csrf_token": fcsrf, "value": "1"})
        assert r.status_code == 303
        r = await facilitator.post(f"{thread_url}/lock", data={"csrf_token": fcsrf, "value": "1"})
        assert r.status_code == 303
        page = await facilitator.get(thread_url)
        assert "Jawaban fasilitator" in page.text and "Buka kunci" in page.text
        listing = await facilitator.get(f"/runs/{p['run']}/forum")
        assert "Dijawab fasilitator" in listing.text and "Disematkan" in listing.text

    async with _browser(app, p["login_learner2"]) as (learner2, csrf2):
        page = await learner2.get(thread_url)
        assert (
            "Topik ini dikunci" in page.text
            and 'name="body"' not in page.text.split('id="balas"')[1]
        )
        r = await learner2.post(f"{thread_url}/replies", data={"csrf_token": csrf2, "body": "Oke"})
        assert r.status_code == 409 and "dikunci" in r.text
        r = await learner2.get(f"/runs/{p['run']}/forum", params={"q": "RTL"})
        assert "Kapan tugas RTL dikumpulkan?" in r.text
        r = await learner2.get(f"/runs/{p['run']}/forum", params={"q": "tidak-ada"})
        assert "Tidak ada topik yang cocok." in r.text


async def test_moderation_hides_with_reason(client: httpx.AsyncClient, app: Any) -> None:
    p = await people(client)
    thread = await new_thread(client, p)
    bad = await reply(client, p, thread["id"], "learner2", "Tulisan yang melanggar aturan-xyz")
    async with _browser(app, p["login_facilitator"]) as (facilitator, fcsrf):
        r = await facilitator.post(
            f"/forum/posts/{bad['id']}/hide", data={"csrf_token": fcsrf, "reason": ""}
        )
        assert r.status_code == 422
        r = await facilitator.post(
            f"/forum/posts/{bad['id']}/hide",
            data={"csrf_token": fcsrf, "reason": "Melanggar etika"},
        )
        assert r.status_code == 303
        page = await facilitator.get(f"/forum/threads/{thread['id']}")
        assert "aturan-xyz" in page.text and "Melanggar etika" in page.text
        assert "Tampilkan kembali" in page.text
    async with _browser(app, p["login_learner"]) as (learner, _csrf):
        page = await learner.get(f"/forum/threads/{thread['id']}")
        assert "aturan-xyz" not in page.text and "Melanggar etika" not in page.text


async def test_edit_own_post_and_subscribe(client: httpx.AsyncClient, app: Any) -> None:
    p = await people(client)
    thread = await new_thread(client, p)
    async with _browser(app, p["login_learner"]) as (learner, csrf):
        detail = (
            await client.get(f"/api/v1/forum/threads/{thread['id']}", headers=p["h_learner"])
        ).json()
        pid = detail["posts"][0]["id"]
        r = await learner.post(
            f"/forum/posts/{pid}/edit",
            data={"csrf_token": csrf, "title": "Judul yang diperbaiki", "body": "Isi diperbaiki"},
        )
        assert r.status_code == 303
        page = await learner.get(f"/forum/threads/{thread['id']}")
        assert "Judul yang diperbaiki" in page.text and "diubah" in page.text
        assert "Berhenti mengikuti topik" in page.text  # the author follows the thread
        r = await learner.post(
            f"/forum/threads/{thread['id']}/subscription", data={"csrf_token": csrf, "value": "0"}
        )
        assert r.status_code == 303
        assert "Ikuti topik ini" in (await learner.get(f"/forum/threads/{thread['id']}")).text
        r = await learner.post(
            f"/runs/{p['run']}/forum/subscription", data={"csrf_token": csrf, "subscribe": "1"}
        )
        assert r.status_code == 303
        assert "Berhenti mengikuti forum" in (await learner.get(f"/runs/{p['run']}/forum")).text
    async with _browser(app, p["login_learner2"]) as (other, ocsrf):
        r = await other.post(
            f"/forum/posts/{pid}/edit", data={"csrf_token": ocsrf, "body": "bukan milik saya"}
        )
        assert r.status_code == 403


async def test_outsiders_and_anonymous(client: httpx.AsyncClient, app: Any) -> None:
    p = await people(client)
    thread = await new_thread(client, p)
    for who in ("outsider", "other_facilitator"):
        async with _browser(app, p[f"login_{who}"]) as (browser, _csrf):
            assert (await browser.get(f"/runs/{p['run']}/forum")).status_code == 403
            assert (await browser.get(f"/forum/threads/{thread['id']}")).status_code == 403
    r = await client.get(f"/runs/{p['run']}/forum")
    assert r.status_code in (302, 303, 401)
    if r.status_code != 401:
        assert "/login" in r.headers["location"]
    r = await client.get(f"/forum/threads/{thread['id']}")
    assert r.status_code in (302, 303, 401)


async def _grow(client: httpx.AsyncClient, p: dict[str, Any], threads: int, replies: int) -> int:
    """Add threads (each with replies) through the service-level API; returns the last thread."""
    last = 0
    for i in range(threads):
        t = await new_thread(client, p, title=f"Topik nomor {i}", who="facilitator")
        for j in range(replies):
            await reply(client, p, t["id"], "learner2" if j % 2 else "facilitator", f"Balasan {j}")
        last = t["id"]
    return last


async def test_bounded_queries(
    client: httpx.AsyncClient, app: Any, settings: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(settings, "rate_limit_forum_post", "10000/minute")
    p = await people(client)
    async with _browser(app, p["login_learner"]) as (learner, _csrf):
        list_counts, thread_counts = [], []
        thread_id = 0
        for threads, replies in ((2, 2), (10, 8)):
            thread_id = await _grow(client, p, threads, replies)
            await learner.get(f"/runs/{p['run']}/forum")  # warm caches alike
            with count_queries() as statements:
                r = await learner.get(f"/runs/{p['run']}/forum")
            assert r.status_code == 200
            list_counts.append(len(statements))
            with session_scope() as session:
                thread = session.get(ForumThread, thread_id)
                assert thread is not None and thread.reply_count == replies
            await learner.get(f"/forum/threads/{thread_id}")
            with count_queries() as statements:
                r = await learner.get(f"/forum/threads/{thread_id}")
            assert r.status_code == 200 and f"Balasan {replies - 1}" in r.text
            thread_counts.append(len(statements))
    assert list_counts[0] == list_counts[1], list_counts
    assert thread_counts[0] == thread_counts[1], thread_counts
    assert list_counts[0] <= 15 and thread_counts[0] <= 15, (list_counts, thread_counts)
