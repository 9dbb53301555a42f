"""The quiz review leads on: "Lanjut ke aktivitas berikutnya" to the activity after the quiz, as
well as back to the quiz and the course; the quiz page says what counts as done."""

from __future__ import annotations

import re

import httpx

from tests.factories import (
    browser_login,
    enrol,
    make_activity,
    make_course,
    make_quiz,
    make_run,
    make_user,
)

GIFT = "::Pilar::Berapa pilar literasi digital?{=Empat ~Tiga ~Lima}\n"


async def _submit_attempt(client: httpx.AsyncClient, quiz_id: int, token: str) -> str:
    started = await client.post(f"/quizzes/{quiz_id}/start", data={"csrf_token": token})
    assert started.status_code == 303, started.text
    attempt_url = started.headers["location"]
    submitted = await client.post(
        f"{attempt_url}/submit", data={"csrf_token": token, "action": "submit"}
    )
    assert submitted.status_code == 303, submitted.text
    return str(submitted.headers["location"])


async def test_review_leads_to_the_next_activity(client: httpx.AsyncClient) -> None:
    course = make_course(pages=1)
    quiz = make_quiz(course["section"], gift=GIFT, pass_score=80)
    after = make_activity(course["section"], kind="page", title="Refleksi Setelah Kuis")
    learner = make_user()
    enrol(make_run(course["course"]), learner.id)
    token = await browser_login(client, learner.email or "")

    intro = await client.get(f"/quizzes/{quiz['quiz']}")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", intro.text))
    assert "Syarat selesai: lulus kuis dengan nilai ≥ 80" in text
    assert "Aktivitas 2 dari 3" in text

    review_url = await _submit_attempt(client, quiz["quiz"], token)
    review = await client.get(review_url)
    assert review.status_code == 200
    assert re.search(rf'href="/activities/{after}" id="next-activity"', review.text)
    assert "Lanjut ke aktivitas berikutnya" in review.text
    assert "Refleksi Setelah Kuis" in review.text
    assert f'href="/quizzes/{quiz["quiz"]}"' in review.text  # and back to the quiz


async def test_review_of_the_last_activity_has_no_next_link(client: httpx.AsyncClient) -> None:
    course = make_course(pages=1)
    quiz = make_quiz(course["section"], gift=GIFT)
    learner = make_user()
    enrol(make_run(course["course"]), learner.id)
    token = await browser_login(client, learner.email or "")
    review = await client.get(await _submit_attempt(client, quiz["quiz"], token))
    assert review.status_code == 200
    assert 'id="next-activity"' not in review.text
    assert f'href="/courses/{course["course"]}"' in review.text
