"""The course player's pages: the outline with each activity's state, the position ("3 dari 5"),
previous/next, the rule for done written from the data, "Lanjutkan", who may open it, and a query
count that does not grow with the course."""

from __future__ import annotations

import re

import httpx

from app.courses import player
from tests.factories import (
    browser_login,
    complete_activity,
    enrol,
    make_activity,
    make_course,
    make_quiz,
    make_run,
    make_user,
)
from tests.queries import count_queries


def _course_with_every_rule() -> dict[str, int]:
    """Bacaan 1 (page), a video, a timed page, a PDF, an optional link, and a quiz (pass 75)."""
    course = make_course(pages=1, title="Keamanan Informasi")
    section = course["section"]
    course["video"] = make_activity(section, kind="video", title="Video Sandi Kuat")
    course["timed"] = make_activity(
        section, kind="page", title="Bacaan Panjang", min_view_seconds=120
    )
    course["pdf"] = make_activity(section, kind="document", title="Panduan PDF")
    course["link"] = make_activity(section, kind="link", title="Tautan BSSN", required=False)
    quiz = make_quiz(section, pass_score=75)
    course["quiz"] = quiz["quiz"]
    course["quiz_activity"] = quiz["activity"]
    return course


def _text(html: str) -> str:
    """The page's visible words, tags removed and spaces squeezed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_activity_page_shows_outline_position_states_and_neighbours(
    client: httpx.AsyncClient,
) -> None:
    course = _course_with_every_rule()
    learner = make_user()
    enrolment = enrol(make_run(course["course"]), learner.id)
    complete_activity(enrolment, course["page1"])
    await browser_login(client, learner.email or "")

    page = await client.get(f"/activities/{course['video']}")
    assert page.status_code == 200
    text = _text(page.text)
    assert "Aktivitas 2 dari 6" in text
    assert "Syarat selesai: tonton minimal 90% video" in text
    # The outline lists every activity with its state; the current one is marked.
    outline = page.text[page.text.index("player-outline") :]
    for title in ("Bacaan 1", "Video Sandi Kuat", "Bacaan Panjang", "Panduan PDF", "Tes Akhir"):
        assert title in outline
    assert re.search(r'class="state-completed[^"]*">.*?Bacaan 1', outline, re.S)
    assert f'href="/activities/{course["video"]}" aria-current="page"' in outline
    assert "1/6 selesai" in _text(outline)
    # Previous and next.
    assert re.search(rf'href="/activities/{course["page1"]}" class="prev" rel="prev"', page.text)
    assert re.search(rf'href="/activities/{course["timed"]}" class="next" rel="next"', page.text)
    assert "Belum dimulai" in text  # the video's own state
    # Breadcrumbs: Beranda › Kursus saya › the course › the activity (the page itself).
    crumbs = page.text[page.text.index('class="breadcrumbs"') :]
    crumbs = crumbs[: crumbs.index("</nav>")]
    assert re.findall(r'<a href="([^"]+)">', crumbs) == [
        "/",
        "/my/courses",
        f"/courses/{course['course']}",
    ]
    assert '<span aria-current="page">Video Sandi Kuat</span>' in crumbs


async def test_rule_for_done_follows_each_activity(client: httpx.AsyncClient) -> None:
    course = _course_with_every_rule()
    learner = make_user()
    enrolment = enrol(make_run(course["course"]), learner.id)
    complete_activity(enrolment, course["page1"])
    await browser_login(client, learner.email or "")
    expected = {
        "page1": "Syarat selesai: buka bacaan ini",
        "timed": "Syarat selesai: baca minimal 2 menit",
        "pdf": "Syarat selesai: buka atau unduh PDF ini",
        "link": "Syarat selesai: buka tautan (opsional",
    }
    for key, rule in expected.items():
        text = _text((await client.get(f"/activities/{course[key]}")).text)
        assert rule in text, (key, text[:2000])
    done = _text((await client.get(f"/activities/{course['page1']}")).text)
    assert "Status: ✓ Selesai" in done
    first = (await client.get(f"/activities/{course['page1']}")).text
    assert 'rel="prev"' not in first  # the first activity has no previous one
    quiz_page = await client.get(f"/quizzes/{course['quiz']}")
    assert quiz_page.status_code == 200
    quiz_text = _text(quiz_page.text)
    assert "Syarat selesai: lulus kuis dengan nilai ≥ 75" in quiz_text
    assert "Status: Belum dimulai" in quiz_text
    assert "Aktivitas 6 dari 6" in quiz_text
    assert re.search(rf'href="/activities/{course["link"]}" class="prev"', quiz_page.text)


def test_done_rule_words_come_from_the_data() -> None:
    assert player.done_rule("video", "watched", video_share=0.8) == (
        "tonton minimal 80% video (bagian yang dilompati tidak dihitung)"
    )
    assert player.done_rule("page", "viewed", min_view_seconds=90) == (
        "baca minimal 1 menit 30 detik"
    )
    assert player.done_rule("quiz", "quiz_passed", pass_score=62.5) == (
        "lulus kuis dengan nilai ≥ 62,5"
    )
    assert player.done_rule("quiz", "quiz_attempted") == "kumpulkan satu percobaan kuis"
    assert player.done_rule("scorm", "scorm_passed") == "lulus modul interaktif (status lulus)"
    assert player.done_rule("file", "viewed") == "unduh berkas"


async def test_course_page_continue_leads_to_the_first_unfinished_activity(
    client: httpx.AsyncClient,
) -> None:
    course = make_course(pages=3)
    learner = make_user()
    enrolment = enrol(make_run(course["course"]), learner.id)
    await browser_login(client, learner.email or "")
    page = await client.get(f"/courses/{course['course']}")
    assert re.search(rf'href="/activities/{course["page1"]}" id="continue-link"', page.text)
    complete_activity(enrolment, course["page1"])
    page = await client.get(f"/courses/{course['course']}")
    assert re.search(rf'href="/activities/{course["page2"]}" id="continue-link"', page.text)
    assert "1 dari 3 selesai" in _text(page.text)
    # Opening page 3 (a heartbeat) makes it the one to go back to.
    opened = await client.get(f"/activities/{course['page3']}")
    token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', opened.text)
    assert token
    beat = await client.post(
        f"/api/v1/activities/{course['page3']}/progress",
        json={"event": "heartbeat"},
        headers={"X-CSRF-Token": token.group(1)},
    )
    assert beat.status_code == 200, beat.text
    page = await client.get(f"/courses/{course['course']}")
    assert re.search(rf'href="/activities/{course["page3"]}" id="continue-link"', page.text)
    for key in ("page2", "page3"):
        complete_activity(enrolment, course[key])
    page = await client.get(f"/courses/{course['course']}")
    assert 'id="continue-link"' not in page.text
    assert "Semua aktivitas sudah selesai." in page.text


async def test_learner_not_enrolled_cannot_open_the_player(client: httpx.AsyncClient) -> None:
    course = make_course(pages=2)
    enrol(make_run(course["course"]), make_user().id)
    stranger = make_user()
    await browser_login(client, stranger.email or "")
    page = await client.get(f"/activities/{course['page1']}")
    assert page.status_code == 403
    assert "Bacaan 2" not in page.text  # no outline leaks
    course_page = await client.get(f"/courses/{course['course']}")
    assert course_page.status_code == 200
    assert f'href="/activities/{course["page1"]}"' not in course_page.text
    assert 'id="continue-link"' not in course_page.text


async def test_locked_activity_is_refused_and_shown_locked(client: httpx.AsyncClient) -> None:
    course = make_course(pages=2, locked_second=True)
    learner = make_user()
    enrol(make_run(course["course"]), learner.id)
    await browser_login(client, learner.email or "")
    refused = await client.get(f"/activities/{course['page2']}")
    assert refused.status_code == 403
    assert "Selesaikan dulu aktivitas" in refused.text
    first = _text((await client.get(f"/activities/{course['page1']}")).text)
    assert 'Terkunci: selesaikan "Bacaan 1" dulu' in first
    assert "(terkunci)" in first  # the next link says so


async def test_player_queries_do_not_grow_with_the_course(client: httpx.AsyncClient) -> None:
    small = make_course(pages=2)
    large = make_course(pages=14)
    learner = make_user()
    for course in (small, large):
        enrolment = enrol(make_run(course["course"]), learner.id)
        complete_activity(enrolment, course["page1"])
    await browser_login(client, learner.email or "")
    counts = []
    for course in (small, large):
        for url in (f"/activities/{course['page2']}", f"/courses/{course['course']}"):
            with count_queries() as statements:
                answer = await client.get(url)
            assert answer.status_code == 200
            counts.append(len(statements))
    assert counts[:2] == counts[2:], counts


async def test_activity_outside_its_window_is_shown_closed(client: httpx.AsyncClient) -> None:
    import datetime as dt

    from app.core.db import session_scope, utcnow
    from app.courses.models import Activity

    course = make_course(pages=2)
    with session_scope() as session:
        activity = session.get(Activity, course["page1"])
        assert activity is not None
        activity.available_from = utcnow() + dt.timedelta(days=3)
    learner = make_user()
    enrol(make_run(course["course"]), learner.id)
    await browser_login(client, learner.email or "")
    page = await client.get(f"/courses/{course['course']}")
    assert "Aktivitas ini baru dapat dibuka mulai" in page.text
    assert f'href="/activities/{course["page1"]}"' not in page.text
    # "Lanjutkan" skips what cannot be opened yet.
    assert re.search(rf'href="/activities/{course["page2"]}" id="continue-link"', page.text)
