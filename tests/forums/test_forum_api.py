"""The forum API: threads and replies, sanitised markdown, pinning, locking, the edit window,
moderation, answers, search, subscriptions and who may do what (api-v1, issue 16 item 6)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.core.db import session_scope, utcnow
from app.forums import service
from app.notifications.models import Notification
from tests.forums.helpers import PDF, PNG, new_thread, people, reply

API = "/api/v1"


async def test_thread_and_replies_with_sanitised_markdown(client: httpx.AsyncClient) -> None:
    p = await people(client)
    thread = await new_thread(
        client, p, title="  Pertanyaan   tentang SPBE ",
        body="**Penting**\n\n<script>alert(1)</script> [klik](javascript:alert(2))",
    )  # fmt: skip
    assert thread["title"] == "Pertanyaan tentang SPBE"
    assert thread["author"]["name"] == "Ani Learner" and thread["reply_count"] == 0
    answer = await reply(client, p, thread["id"], "facilitator", "Lihat *PermenPANRB* 59/2020.")
    assert answer["author"]["staff_role"] == "facilitator"
    assert "<em>PermenPANRB</em>" in answer["html"]

    r = await client.get(f"{API}/forum/threads/{thread['id']}", headers=p["h_learner2"])
    assert r.status_code == 200, r.text
    detail = r.json()
    opening = detail["posts"][0]
    assert opening["opening"] and "<strong>Penting</strong>" in opening["html"]
    assert "<script" not in opening["html"] and "&lt;script&gt;" in opening["html"]
    assert 'href="javascript' not in opening["html"]
    assert [x["id"] for x in detail["posts"]][1] == answer["id"]
    assert detail["thread"]["reply_count"] == 1 and detail["total"] == 2

    listing = (
        await client.get(f"{API}/runs/{p['run']}/forum/threads", headers=p["h_learner"])
    ).json()
    assert listing["forum"]["run_id"] == p["run"] and listing["total"] == 1
    assert listing["items"][0]["reply_count"] == 1


async def test_blank_and_too_long_fields_are_422_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    p = await people(client)
    url = f"{API}/runs/{p['run']}/forum/threads"
    r = await client.post(url, json={"title": "   ", "body": "isi"}, headers=p["h_learner"])
    assert r.status_code == 422 and "title" in r.text
    r = await client.post(
        url, json={"title": "Judul", "body": "x" * 20_001}, headers=p["h_learner"]
    )
    assert r.status_code == 422 and "body" in r.text
    r = await client.post(url, json={"title": "Judul yang baik"}, headers=p["h_learner"])
    assert r.status_code == 422 and "body" in r.text


async def test_pinned_threads_come_first(client: httpx.AsyncClient) -> None:
    p = await people(client)
    first = await new_thread(client, p, title="Topik pertama")
    await new_thread(client, p, title="Topik kedua")
    await new_thread(client, p, title="Topik ketiga")
    r = await client.post(f"{API}/forum/threads/{first['id']}/pin", headers=p["h_facilitator"])
    assert r.status_code == 200 and r.json()["pinned"]
    titles = [
        t["title"]
        for t in (
            await client.get(f"{API}/runs/{p['run']}/forum/threads", headers=p["h_learner"])
        ).json()["items"]
    ]
    assert titles == ["Topik pertama", "Topik ketiga", "Topik kedua"]


async def test_locked_thread_refuses_replies(client: httpx.AsyncClient) -> None:
    p = await people(client)
    thread = await new_thread(client, p)
    r = await client.post(f"{API}/forum/threads/{thread['id']}/lock", headers=p["h_facilitator"])
    assert r.status_code == 200 and r.json()["locked"]
    r = await client.post(
        f"{API}/forum/threads/{thread['id']}/replies",
        json={"body": "Halo"},
        headers=p["h_learner2"],
    )
    assert r.status_code == 409 and r.json()["error"] == "thread_locked"
    await reply(client, p, thread["id"], "facilitator", "Ditutup: sudah dijawab di sesi.")
    r = await client.post(
        f"{API}/forum/threads/{thread['id']}/lock",
        json={"locked": False},
        headers=p["h_facilitator"],
    )
    assert not r.json()["locked"]
    await reply(client, p, thread["id"], "learner2")


async def test_edit_window(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    p = await people(client)
    thread = await new_thread(client, p)
    detail = (
        await client.get(f"{API}/forum/threads/{thread['id']}", headers=p["h_learner"])
    ).json()
    post_id = detail["posts"][0]["id"]
    assert detail["posts"][0]["editable_until"] is not None
    r = await client.patch(
        f"{API}/forum/posts/{post_id}", json={"body": "Sudah diperbaiki", "title": "Judul baru"},
        headers=p["h_learner"],
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["body"] == "Sudah diperbaiki" and r.json()["edited_at"]
    r = await client.patch(f"{API}/forum/posts/{post_id}", json={"body": "Bukan milik saya"},
                           headers=p["h_learner2"])  # fmt: skip
    assert r.status_code == 403
    r = await client.patch(f"{API}/forum/posts/{post_id}", json={"body": "Fasilitator menulis ulang"},
                           headers=p["h_facilitator"])  # fmt: skip
    assert r.status_code == 403
    # 31 minutes later the default 30-minute window has closed.
    later = utcnow() + dt.timedelta(minutes=31)
    monkeypatch.setattr(service, "now", lambda: later)
    r = await client.patch(f"{API}/forum/posts/{post_id}", json={"body": "Terlambat"},
                           headers=p["h_learner"])  # fmt: skip
    assert r.status_code == 409 and r.json()["error"] == "edit_window_closed"
    detail = (
        await client.get(f"{API}/forum/threads/{thread['id']}", headers=p["h_learner"])
    ).json()
    assert (
        detail["thread"]["title"] == "Judul baru" and detail["posts"][0]["editable_until"] is None
    )


async def test_hidden_post_gone_for_learners_shown_to_staff(client: httpx.AsyncClient) -> None:
    p = await people(client)
    thread = await new_thread(client, p)
    bad = await reply(client, p, thread["id"], "learner2", "Iklan pinjaman online rahasia-xyz")
    r = await client.post(f"{API}/forum/posts/{bad['id']}/hide", json={"reason": "Spam iklan"},
                          headers=p["h_facilitator"])  # fmt: skip
    assert r.status_code == 200 and r.json()["hidden"] and r.json()["hidden_reason"] == "Spam iklan"

    learner_view = (
        await client.get(f"{API}/forum/threads/{thread['id']}", headers=p["h_learner"])
    ).json()
    assert [x["id"] for x in learner_view["posts"]] == [learner_view["posts"][0]["id"]]
    assert learner_view["thread"]["reply_count"] == 0
    r = await client.get(
        f"{API}/runs/{p['run']}/forum/threads?q=rahasia-xyz", headers=p["h_learner"]
    )
    assert r.json()["total"] == 0  # a hidden post is not found by learners either

    staff_view = (
        await client.get(f"{API}/forum/threads/{thread['id']}", headers=p["h_grader"])
    ).json()
    hidden = next(x for x in staff_view["posts"] if x["id"] == bad["id"])
    assert hidden["hidden"] and hidden["hidden_reason"] == "Spam iklan"
    r = await client.get(
        f"{API}/runs/{p['run']}/forum/threads?q=rahasia-xyz", headers=p["h_facilitator"]
    )
    assert r.json()["total"] == 1

    r = await client.post(f"{API}/forum/posts/{bad['id']}/hide", json={"reason": ""},
                          headers=p["h_facilitator"])  # fmt: skip
    assert r.status_code == 422 and "reason" in r.text
    r = await client.post(f"{API}/forum/posts/{bad['id']}/unhide", headers=p["h_facilitator"])
    assert r.status_code == 200 and not r.json()["hidden"] and r.json()["hidden_reason"] is None
    learner_view = (
        await client.get(f"{API}/forum/threads/{thread['id']}", headers=p["h_learner"])
    ).json()
    assert len(learner_view["posts"]) == 2 and learner_view["thread"]["reply_count"] == 1


async def test_hiding_the_opening_post_hides_the_thread(client: httpx.AsyncClient) -> None:
    p = await people(client)
    thread = await new_thread(client, p, title="Topik tidak pantas")
    opening = (
        await client.get(f"{API}/forum/threads/{thread['id']}", headers=p["h_learner"])
    ).json()["posts"][0]
    r = await client.post(f"{API}/forum/posts/{opening['id']}/hide", json={"reason": "SARA"},
                          headers=p["h_officer"])  # fmt: skip
    assert r.status_code == 200
    assert (
        await client.get(f"{API}/forum/threads/{thread['id']}", headers=p["h_learner"])
    ).status_code == 404
    listing = (
        await client.get(f"{API}/runs/{p['run']}/forum/threads", headers=p["h_learner"])
    ).json()
    assert listing["total"] == 0
    listing = (
        await client.get(f"{API}/runs/{p['run']}/forum/threads", headers=p["h_facilitator"])
    ).json()
    assert listing["total"] == 1 and listing["items"][0]["hidden"]


async def test_answer_mark(client: httpx.AsyncClient) -> None:
    p = await people(client)
    thread = await new_thread(client, p)
    first = await reply(client, p, thread["id"], "learner2", "Mungkin begini?")
    best = await reply(
        client, p, thread["id"], "facilitator", "Jawabannya: gunakan instrumen SPBE."
    )
    for who in ("learner", "grader", "other_facilitator"):
        r = await client.post(f"{API}/forum/posts/{best['id']}/answer", headers=p[f"h_{who}"])
        assert r.status_code == 403, who
    r = await client.post(f"{API}/forum/posts/{first['id']}/answer", headers=p["h_facilitator"])
    assert r.status_code == 200 and r.json()["answer"]
    r = await client.post(f"{API}/forum/posts/{best['id']}/answer", headers=p["h_facilitator"])
    assert r.json()["answer"]
    detail = (
        await client.get(f"{API}/forum/threads/{thread['id']}", headers=p["h_learner"])
    ).json()
    assert [x["answer"] for x in detail["posts"]] == [False, False, True]
    assert detail["thread"]["answered"]
    opening = detail["posts"][0]["id"]
    r = await client.post(f"{API}/forum/posts/{opening}/answer", headers=p["h_facilitator"])
    assert r.status_code == 409
    r = await client.post(f"{API}/forum/posts/{best['id']}/answer", json={"answer": False},
                          headers=p["h_facilitator"])  # fmt: skip
    assert not r.json()["answer"]
    listing = (
        await client.get(f"{API}/runs/{p['run']}/forum/threads", headers=p["h_learner"])
    ).json()
    assert not listing["items"][0]["answered"]


async def test_search_titles_and_posts(client: httpx.AsyncClient) -> None:
    p = await people(client)
    a = await new_thread(client, p, title="Indeks SPBE di OPD", body="Bagaimana menghitungnya?")
    b = await new_thread(client, p, title="Jadwal sesi klasikal", body="Kapan sesi kedua?")
    await reply(client, p, b["id"], "facilitator", "Sesi kedua membahas TTE dan BSrE.")
    await new_thread(client, p, title="Diskon 100%_khusus", body="tanda persen")

    async def found(q: str) -> list[int]:
        r = await client.get(f"{API}/runs/{p['run']}/forum/threads", params={"q": q},
                             headers=p["h_learner"])  # fmt: skip
        assert r.status_code == 200
        return [t["id"] for t in r.json()["items"]]

    assert await found("spbe") == [a["id"]]
    assert await found("bsre") == [b["id"]]  # in a reply's body
    assert await found("tidak-ada-sama-sekali") == []
    assert len(await found("%")) == 1  # LIKE wildcards are matched literally
    r = await client.get(f"{API}/runs/{p['run']}/forum/threads", params={"q": "x" * 101},
                         headers=p["h_learner"])  # fmt: skip
    assert r.status_code == 422


def _notified(event: str = "forum_reply") -> dict[int, int]:
    with session_scope() as session:
        rows = session.scalars(select(Notification).where(Notification.event == event)).all()
        counts: dict[int, int] = {}
        for row in rows:
            counts[row.user_id] = counts.get(row.user_id, 0) + 1
        return counts


async def test_subscriptions_notify_others_only(client: httpx.AsyncClient) -> None:
    p = await people(client)
    r = await client.post(f"{API}/runs/{p['run']}/forum/subscription", headers=p["h_facilitator"])
    assert r.status_code == 200 and r.json()["subscribed"]
    thread = await new_thread(client, p)  # the author follows it; the facilitator hears of it
    assert _notified() == {p["facilitator"]: 1}

    r = await client.post(f"{API}/forum/threads/{thread['id']}/subscription", headers=p["h_grader"])
    assert r.json()["subscribed"]
    await reply(client, p, thread["id"], "facilitator", "Jawaban.")
    # the author and the grader; never the writer
    assert _notified() == {p["facilitator"]: 1, p["learner"]: 1, p["grader"]: 1}

    await reply(client, p, thread["id"], "learner", "Terima kasih!")
    assert _notified() == {p["facilitator"]: 2, p["learner"]: 1, p["grader"]: 2}

    r = await client.delete(
        f"{API}/forum/threads/{thread['id']}/subscription", headers=p["h_grader"]
    )
    assert not r.json()["subscribed"]
    await reply(client, p, thread["id"], "learner2", "Saya juga.")
    assert _notified() == {p["facilitator"]: 3, p["learner"]: 2, p["grader"]: 2}
    with session_scope() as session:
        row = session.scalars(
            select(Notification).where(Notification.user_id == p["learner"])
        ).first()
        assert (
            row is not None
            and row.url
            and row.url.startswith(f"/forum/threads/{thread['id']}#post-")
        )
    r = await client.get(f"{API}/forum/threads/{thread['id']}", headers=p["h_learner2"])
    assert r.json()["subscribed"]  # replying follows the thread


async def test_people_outside_the_run(client: httpx.AsyncClient) -> None:
    """A learner of another run and a facilitator of another run: 403 for reading, posting and
    moderating; anonymous callers: 401."""
    p = await people(client)
    thread = await new_thread(client, p)
    post = await reply(client, p, thread["id"], "learner2")
    tid, pid, run = thread["id"], post["id"], p["run"]
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"{API}/runs/{run}/forum/threads", None),
        ("POST", f"{API}/runs/{run}/forum/threads", {"title": "Saya juga", "body": "ikut"}),
        ("POST", f"{API}/runs/{run}/forum/subscription", None),
        ("GET", f"{API}/forum/threads/{tid}", None),
        ("POST", f"{API}/forum/threads/{tid}/replies", {"body": "ikut"}),
        ("POST", f"{API}/forum/threads/{tid}/subscription", None),
        ("POST", f"{API}/forum/threads/{tid}/pin", None),
        ("POST", f"{API}/forum/threads/{tid}/lock", None),
        ("POST", f"{API}/forum/posts/{pid}/hide", {"reason": "coba"}),
        ("POST", f"{API}/forum/posts/{pid}/unhide", None),
        ("POST", f"{API}/forum/posts/{pid}/answer", None),
        ("PATCH", f"{API}/forum/posts/{pid}", {"body": "ubah"}),
    ]
    for who in ("outsider", "other_facilitator", "stranger"):
        for method, url, body in calls:
            r = await client.request(method, url, json=body, headers=p[f"h_{who}"])
            assert r.status_code == 403, (who, method, url, r.status_code)
    for method, url, body in calls:
        r = await client.request(method, url, json=body)
        assert r.status_code == 401, (method, url, r.status_code)
    # a grader of the run posts but does not moderate; a missing run is 404
    await reply(client, p, tid, "grader")
    r = await client.post(f"{API}/forum/threads/{tid}/pin", headers=p["h_grader"])
    assert r.status_code == 403
    r = await client.get(f"{API}/runs/999999/forum/threads", headers=p["h_officer"])
    assert r.status_code == 404
    r = await client.get(f"{API}/forum/threads/999999", headers=p["h_learner"])
    assert r.status_code == 404


async def test_attachments(client: httpx.AsyncClient, settings: Any) -> None:
    p = await people(client)
    thread = await new_thread(client, p)
    post = await reply(client, p, thread["id"], "learner2")
    url = f"{API}/forum/posts/{post['id']}/attachments"
    r = await client.post(
        url, files={"file": ("bukti.png", PNG, "image/png")}, headers=p["h_learner2"]
    )
    assert r.status_code == 201, r.text
    png = r.json()
    assert png["image"] and png["content_type"] == "image/png"
    r = await client.post(
        url, files={"file": ("laporan.pdf", PDF, "application/pdf")}, headers=p["h_learner2"]
    )
    assert r.status_code == 201 and not r.json()["image"]
    r = await client.post(url, files={"file": ("virus.png", b"MZ\x90\x00" + b"\x00" * 64, "image/png")},
                          headers=p["h_learner2"])  # fmt: skip
    assert r.status_code == 415
    r = await client.post(url, files={"file": ("a.png", PNG, "image/png")}, headers=p["h_learner"])
    assert r.status_code == 403  # not the author

    r = await client.get(png["url"], headers=p["h_learner"])
    assert r.status_code == 200 and r.content == PNG
    assert (await client.get(png["url"], headers=p["h_outsider"])).status_code == 403
    assert (await client.get(png["url"])).status_code == 401
    detail = (
        await client.get(f"{API}/forum/threads/{thread['id']}", headers=p["h_learner"])
    ).json()
    assert [a["name"] for a in detail["posts"][1]["attachments"]] == ["bukti.png", "laporan.pdf"]
    # a hidden post's files are for staff only
    await client.post(f"{API}/forum/posts/{post['id']}/hide", json={"reason": "salah unggah"},
                      headers=p["h_facilitator"])  # fmt: skip
    assert (await client.get(png["url"], headers=p["h_learner"])).status_code == 404
    assert (await client.get(png["url"], headers=p["h_grader"])).status_code == 200


async def test_posting_is_rate_limited(
    client: httpx.AsyncClient, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = await people(client)
    monkeypatch.setattr(settings, "rate_limit_forum_post", "2/minute")
    thread = await new_thread(client, p)
    await reply(client, p, thread["id"], "learner")
    r = await client.post(f"{API}/forum/threads/{thread['id']}/replies", json={"body": "lagi"},
                          headers=p["h_learner"])  # fmt: skip
    assert r.status_code == 429 and r.headers.get("retry-after")
    await reply(client, p, thread["id"], "learner2")  # counted per account


async def test_course_forum_for_all_runs(client: httpx.AsyncClient) -> None:
    p = await people(client)
    course = p["course"]
    url = f"{API}/courses/{course}/forum/threads"
    assert (await client.get(url, headers=p["h_learner"])).status_code == 404  # not turned on
    r = await client.put(
        f"{API}/courses/{course}/forum", json={"enabled": True}, headers=p["h_learner"]
    )
    assert r.status_code == 403
    r = await client.put(
        f"{API}/courses/{course}/forum", json={"enabled": True}, headers=p["h_editor"]
    )
    assert r.status_code == 200 and r.json()["enabled"]

    r = await client.post(url, json={"title": "Untuk semua angkatan", "body": "Halo semua"},
                          headers=p["h_learner"])  # fmt: skip
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    # a learner of the other run of the course reads and replies; a stranger may not
    assert (await client.get(url, headers=p["h_outsider"])).json()["total"] == 1
    await reply(client, p, tid, "outsider")
    assert (await client.get(url, headers=p["h_stranger"])).status_code == 403
    assert (
        await client.get(f"{API}/forum/threads/{tid}", headers=p["h_stranger"])
    ).status_code == 403
    # facilitators of any run of the course moderate it
    r = await client.post(f"{API}/forum/threads/{tid}/pin", headers=p["h_other_facilitator"])
    assert r.status_code == 200
    r = await client.post(f"{API}/forum/threads/{tid}/pin", headers=p["h_grader"])
    assert r.status_code == 403
    # the run's own forum is separate
    runs = (await client.get(f"{API}/runs/{p['run']}/forum/threads", headers=p["h_learner"])).json()
    assert runs["total"] == 0
    r = await client.put(
        f"{API}/courses/{course}/forum", json={"enabled": False}, headers=p["h_editor"]
    )
    assert not r.json()["enabled"]
    assert (
        await client.get(f"{API}/forum/threads/{tid}", headers=p["h_learner"])
    ).status_code == 404


async def test_a_withdrawn_subscriber_hears_nothing(client: httpx.AsyncClient) -> None:
    """Notifications go only to people who may still read the forum."""
    from app.courses.models import Enrolment

    p = await people(client)
    r = await client.post(f"{API}/runs/{p['run']}/forum/subscription", headers=p["h_learner2"])
    assert r.json()["subscribed"]
    with session_scope() as session:
        row = session.scalars(
            select(Enrolment).where(
                Enrolment.run_id == p["run"], Enrolment.user_id == p["learner2"]
            )
        ).one()
        row.status = "withdrawn"
    await new_thread(client, p)
    assert _notified() == {}
    assert (
        await client.get(f"{API}/runs/{p['run']}/forum/threads", headers=p["h_learner2"])
    ).status_code == 403
