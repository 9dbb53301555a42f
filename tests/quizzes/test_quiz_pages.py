"""Quiz pages through a browser session (no JavaScript): the intro page, starting an attempt, the
taking page without the key, the plain-form submit, the review, access and CSRF."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode

import httpx
import pytest

from app.core.db import session_scope
from app.quizzes.models import Attempt
from tests.factories import (
    browser_login,
    enrol,
    make_course,
    make_quiz,
    make_run,
    make_user,
)

pytestmark = pytest.mark.anyio

# Texts of SAMPLE_GIFT that only the key carries: feedback, weights, accepted answers.
KEY_TEXTS = ("Benar.", "Kurang.", "%50%", "-100", "spbe", "SPBE =")


@pytest.fixture
def course() -> dict[str, int]:
    ids = make_course()
    ids["run"] = make_run(ids["course"])
    ids.update(make_quiz(ids["section"], time_limit_seconds=600, max_attempts=2))
    return ids


async def learner(client: httpx.AsyncClient, run_id: int | None) -> tuple[int, str]:
    user = make_user()
    if run_id is not None:
        enrol(run_id, user.id)
    return user.id, await browser_login(client, user.email or "")


async def start(client: httpx.AsyncClient, quiz_id: int, csrf: str) -> int:
    response = await client.post(f"/quizzes/{quiz_id}/start", data={"csrf_token": csrf})
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/attempts/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


async def post_form(
    client: httpx.AsyncClient, url: str, pairs: list[tuple[str, str]]
) -> httpx.Response:
    """A form post with repeated names (checkboxes), as a browser sends it."""
    return await client.post(
        url,
        content=urlencode(pairs),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def fields(html: str) -> dict[str, list[tuple[str, str]]]:
    """Question id -> [(input name, value)] of every radio/checkbox option on the page."""
    found: dict[str, list[tuple[str, str]]] = {}
    for name, value in re.findall(
        r'<input type="(?:radio|checkbox)" name="(q\d+)" value="([^"]+)"', html
    ):
        found.setdefault(name, []).append((name, value))
    return found


def option_label(html: str, value: str) -> str:
    match = re.search(rf'value="{re.escape(value)}"[^>]*>\s*<span>(.*?)</span>', html, re.S)
    assert match, value
    return match.group(1).strip()


async def test_quiz_page_shows_rules_and_start(
    client: httpx.AsyncClient, course: dict[str, int]
) -> None:
    _uid, _csrf = await learner(client, course["run"])
    page = await client.get(f"/quizzes/{course['quiz']}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "Tes Akhir" in html
    assert "Jumlah soal" in html and "<dd>7</dd>" in html
    assert "10 menit" in html  # time limit in words
    assert "2 kali" in html and "sudah dipakai 0" in html
    assert "60 dari 100" in html
    assert "Nilai tertinggi" in html
    assert "Belum ada percobaan." in html
    assert f'action="/quizzes/{course["quiz"]}/start"' in html
    assert ">Mulai</button>" in html
    # The activity page of a quiz sends the learner here.
    redirect = await client.get(f"/activities/{course['activity']}")
    assert redirect.status_code == 303
    assert redirect.headers["location"] == f"/quizzes/{course['quiz']}"


async def test_start_creates_attempt_then_resumes_it(
    client: httpx.AsyncClient, course: dict[str, int]
) -> None:
    uid, csrf = await learner(client, course["run"])
    attempt_id = await start(client, course["quiz"], csrf)
    assert await start(client, course["quiz"], csrf) == attempt_id  # resumed, not a new one
    with session_scope() as session:
        attempts = session.query(Attempt).filter_by(user_id=uid).all()
        assert [a.id for a in attempts] == [attempt_id]
    page = await client.get(f"/quizzes/{course['quiz']}")
    assert ">Lanjutkan</button>" in page.text
    assert "Sedang dikerjakan" in page.text


async def test_attempt_page_has_every_control_and_no_key(
    client: httpx.AsyncClient, course: dict[str, int]
) -> None:
    _uid, csrf = await learner(client, course["run"])
    attempt_id = await start(client, course["quiz"], csrf)
    page = await client.get(f"/attempts/{attempt_id}")
    assert page.status_code == 200, page.text
    html = page.text
    for key in KEY_TEXTS:
        assert key not in html, key
    assert html.count('<fieldset class="question"') == 7
    assert html.count("<legend>") == 7
    assert 'type="radio"' in html and 'type="checkbox"' in html
    assert 'inputmode="decimal"' in html
    assert "<textarea" in html
    assert html.count("<select") == 3  # one per left item of the matching question
    assert "Keterampilan" in html and "Cakap digital" in html
    assert 'id="quiz-timer"' in html and 'role="timer"' in html
    assert f'data-save-url="/api/v1/attempts/{attempt_id}/answers"' in html
    assert 'id="submit-dialog"' in html
    assert "js/quiz." in html


async def test_no_js_submit_saves_answers_and_shows_review(
    client: httpx.AsyncClient, course: dict[str, int]
) -> None:
    _uid, csrf = await learner(client, course["run"])
    attempt_id = await start(client, course["quiz"], csrf)
    html = (await client.get(f"/attempts/{attempt_id}")).text
    options = fields(html)
    data: list[tuple[str, str]] = [("csrf_token", csrf)]
    for name, choices in options.items():
        labels = {value: option_label(html, value) for _n, value in choices}
        if "Empat" in labels.values():  # single
            data.append((name, next(v for v, t in labels.items() if t == "Empat")))
        elif set(labels.values()) == {"Benar", "Salah"}:  # true/false
            data.append((name, next(v for v, t in labels.items() if t == "Benar")))
        else:  # multiple: NIK and phone number
            data += [(name, v) for v, t in labels.items() if t != "Nama dinas"]
    texts = re.findall(r'<(?:input type="text"|textarea) id="q(\d+)-answer" name="(q\d+)"', html)
    answers = ["spbe", "20", "Aplikasi SRIKANDI untuk surat dinas."]
    for (_qid, name), value in zip(texts, answers, strict=True):
        data.append((name, value))
    key = {"Cakap digital": "Keterampilan", "Etika digital": "Sopan santun",
           "Aman digital": "Perlindungan data"}  # fmt: skip
    for label, name in re.findall(
        r'<label for="q\d+-\w+">(.*?)</label>\s*<select id="q\d+-\w+" name="(q\d+\.\w+)"', html
    ):
        data.append((name, key[label]))

    # "Simpan jawaban" only saves and comes back to the page, answers filled in.
    saved = await post_form(client, f"/attempts/{attempt_id}/submit", [*data, ("action", "save")])
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/attempts/{attempt_id}?saved=1"
    again = (await client.get(saved.headers["location"])).text
    assert "Jawaban tersimpan." in again
    assert 'value="spbe"' in again, (data, again[again.find('id="q-3"') :][:3000])
    assert "SRIKANDI" in again and "selected" in again
    assert again.count(" checked") == 4  # single, true/false, two of the multiple choice

    done = await post_form(client, f"/attempts/{attempt_id}/submit", [*data, ("action", "submit")])
    assert done.status_code == 303
    assert done.headers["location"] == f"/attempts/{attempt_id}/review"
    review = await client.get(done.headers["location"])
    assert review.status_code == 200, review.text
    text = review.text
    assert "Menunggu penilaian esai" in text  # the essay waits for a grader
    assert "6 / 7" in text  # points shown after submit (default review options)
    assert text.count("badge-right") >= 6
    assert "Benar." in text  # feedback is shown after submit
    assert "Jawaban benar" not in text  # the key only after the quiz closes (default)
    assert f'href="/quizzes/{course["quiz"]}"' in text
    assert f'href="/courses/{course["course"]}"' in text
    # The attempt page of a finished attempt goes to its review; a second submit is harmless.
    finished = await client.get(f"/attempts/{attempt_id}")
    assert finished.status_code == 303
    assert finished.headers["location"] == f"/attempts/{attempt_id}/review"
    twice = await post_form(client, f"/attempts/{attempt_id}/submit", data)
    assert twice.status_code == 303
    intro = (await client.get(f"/quizzes/{course['quiz']}")).text
    assert "Menunggu penilaian esai" in intro
    assert "sudah dipakai 1" in intro


async def test_no_attempts_left_is_explained(client: httpx.AsyncClient) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    quiz = make_quiz(ids["section"], max_attempts=1)
    _uid, csrf = await learner(client, run)
    attempt_id = await start(client, quiz["quiz"], csrf)
    await client.post(f"/attempts/{attempt_id}/submit", data={"csrf_token": csrf})
    page = await client.get(f"/quizzes/{quiz['quiz']}")
    assert "Kesempatan mengerjakan kuis ini sudah habis." in page.text
    assert ">Mulai</button>" not in page.text
    refused = await client.post(f"/quizzes/{quiz['quiz']}/start", data={"csrf_token": csrf})
    assert refused.status_code == 409
    assert 'role="alert"' in refused.text
    assert "Kesempatan mengerjakan kuis ini sudah habis." in refused.text


async def test_closed_quiz_is_explained(client: httpx.AsyncClient) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    quiz = make_quiz(ids["section"], open_at=past - dt.timedelta(days=7), close_at=past)
    _uid, csrf = await learner(client, run)
    page = await client.get(f"/quizzes/{quiz['quiz']}")
    assert "Kuis sudah ditutup" in page.text
    refused = await client.post(f"/quizzes/{quiz['quiz']}/start", data={"csrf_token": csrf})
    assert refused.status_code == 409
    assert "Kuis sudah ditutup." in refused.text


async def test_not_enrolled_gets_403_and_others_attempt_is_404(
    client: httpx.AsyncClient, app, course: dict[str, int]
) -> None:
    _uid, csrf = await learner(client, course["run"])
    attempt_id = await start(client, course["quiz"], csrf)

    transport = httpx.ASGITransport(app=app, client=("203.0.113.11", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        _oid, other_csrf = await learner(other, None)  # not enrolled
        denied = await other.get(f"/quizzes/{course['quiz']}")
        assert denied.status_code == 403
        assert "terdaftar" in denied.text
        refused = await other.post(
            f"/quizzes/{course['quiz']}/start", data={"csrf_token": other_csrf}
        )
        assert refused.status_code == 403
        for url in (f"/attempts/{attempt_id}", f"/attempts/{attempt_id}/review"):
            assert (await other.get(url)).status_code == 404
        posted = await other.post(f"/attempts/{attempt_id}/submit", data={"csrf_token": other_csrf})
        assert posted.status_code == 404


async def test_csrf_is_required(client: httpx.AsyncClient, course: dict[str, int]) -> None:
    _uid, csrf = await learner(client, course["run"])
    assert (await client.post(f"/quizzes/{course['quiz']}/start", data={})).status_code == 403
    attempt_id = await start(client, course["quiz"], csrf)
    refused = await client.post(f"/attempts/{attempt_id}/submit", data={"csrf_token": "x"})
    assert refused.status_code == 403
    with session_scope() as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None and attempt.state == "in_progress"


async def test_staff_view_read_only(client: httpx.AsyncClient, app, course: dict[str, int]) -> None:
    _uid, csrf = await learner(client, course["run"])
    attempt_id = await start(client, course["quiz"], csrf)

    transport = httpx.ASGITransport(app=app, client=("203.0.113.12", 50002))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as staff:
        officer = make_user(roles=("training_officer",), name="Siti Penyelenggara")
        staff_csrf = await browser_login(staff, officer.email or "")
        page = await staff.get(f"/attempts/{attempt_id}")
        assert page.status_code == 200, page.text
        html = page.text
        assert "hanya baca" in html
        assert html.count("disabled>") >= 7 or html.count(" disabled") >= 7
        assert "js/quiz." not in html  # no autosave for a viewer
        assert 'id="submit-btn"' not in html
        for key in KEY_TEXTS:
            assert key not in html, key
        refused = await staff.post(
            f"/attempts/{attempt_id}/submit", data={"csrf_token": staff_csrf}
        )
        assert refused.status_code == 403
        # Staff may read the review even before it is submitted (everything shown).
        review = await staff.get(f"/attempts/{attempt_id}/review")
        assert review.status_code == 200
        assert "Jawaban benar" in review.text
        # And staff preview a quiz without being enrolled: the start button says so.
        intro = await staff.get(f"/quizzes/{course['quiz']}")
        assert intro.status_code == 200
        assert "Mulai pratinjau" in intro.text
    with session_scope() as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None and attempt.state == "in_progress"


async def test_expired_attempt_goes_to_review_marked_auto_submitted(
    client: httpx.AsyncClient, course: dict[str, int], settings
) -> None:
    _uid, csrf = await learner(client, course["run"])
    attempt_id = await start(client, course["quiz"], csrf)
    with session_scope() as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        attempt.deadline = dt.datetime.now(dt.UTC) - dt.timedelta(
            seconds=settings.quiz_grace_seconds + 5
        )
    page = await client.get(f"/attempts/{attempt_id}")
    assert page.status_code == 303
    review = await client.get(page.headers["location"] + "?timeout=1")
    assert "Waktu habis" in review.text
    assert "dikumpulkan otomatis" in review.text


async def test_sequential_no_js_submit_skips_locked_questions(client: httpx.AsyncClient) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    quiz = make_quiz(ids["section"], sequential=True, shuffle_choices=False)
    _uid, csrf = await learner(client, run)
    attempt_id = await start(client, quiz["quiz"], csrf)
    with session_scope() as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        attempt.furthest_position = 2  # questions 1 and 2 were passed with "Berikutnya"
    html = (await client.get(f"/attempts/{attempt_id}")).text
    assert 'data-sequential="true"' in html and 'data-furthest="2"' in html
    locked = re.findall(r'<fieldset class="question" id="q-(\d+)"[^>]*?(disabled)?>', html)
    assert [n for n, d in locked if d] == ["1", "2"]
    # A tampered post for a locked question is ignored, not a 409; the rest is saved.
    options = fields(html)
    first = next(iter(options.values()))[0]
    short = re.search(r'id="q(\d+)-answer" name="(q\d+)"', html)
    assert short
    done = await post_form(
        client,
        f"/attempts/{attempt_id}/submit",
        [("csrf_token", csrf), first, (short.group(2), "spbe")],
    )
    assert done.status_code == 303
    review = (await client.get(done.headers["location"])).text
    assert "spbe" in review
    assert review.count("(tidak dijawab)") == 6


async def test_quiz_without_questions_cannot_start(client: httpx.AsyncClient) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    quiz = make_quiz(ids["section"], gift="")
    _uid, csrf = await learner(client, run)
    page = await client.get(f"/quizzes/{quiz['quiz']}")
    assert "Kuis ini belum memiliki soal." in page.text
    assert ">Mulai</button>" not in page.text
    refused = await client.post(f"/quizzes/{quiz['quiz']}/start", data={"csrf_token": csrf})
    assert refused.status_code == 409


async def test_grade_number_hidden_when_review_hides_points(client: httpx.AsyncClient) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    quiz = make_quiz(ids["section"], gift="Dua tambah dua?{=empat}", review_points="never")
    _uid, csrf = await learner(client, run)
    attempt_id = await start(client, quiz["quiz"], csrf)
    html = (await client.get(f"/attempts/{attempt_id}")).text
    name = re.search(r'name="(q\d+)"', html)
    assert name
    done = await post_form(
        client,
        f"/attempts/{attempt_id}/submit",
        [("csrf_token", csrf), (name.group(1), "empat"), ("action", "submit")],
    )
    assert done.status_code == 303
    intro = (await client.get(f"/quizzes/{quiz['quiz']}")).text
    assert "Lulus" in intro and "<strong>100 dari 100" not in intro
