"""Quizzes in chromium on a 360 px phone: a learner takes the demo course's post-test with the
keyboard alone (autosave, a failed save kept across a reload, the countdown restored, the
confirmation dialog, the review), and a timed attempt that runs out submits itself.

The key comes from the post-test's GIFT file (content/), parsed with the quizzes importer, so the
test follows the demo content. Learners are fresh accounts made with `lms users create` against
the server's database.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from app.core import clock
from app.quizzes.gift import parse_gift
from app.quizzes.models import Attempt
from app.quizzes.questions import Question
from app.quizzes.questions import QuestionType as QT
from tests.browser.a11y import assert_fits_and_accessible
from tests.browser.conftest import ROOT, LiveServer
from tests.browser.helpers import (
    ADMIN,
    ARTIFACTS,
    CONTENT_ADMIN,
    PASSWORD,
    PHONE,
    Account,
    overflowing_elements,
    page_widths,
    save_screenshot,
)

pytestmark = pytest.mark.browser

COURSE_TITLE = "Literasi Digital untuk ASN"
POSTTEST_DIR = ROOT / "content" / "literasi-digital-asn" / "03-praktik"
POSTTEST_GIFT = POSTTEST_DIR / "05-kuis-akhir.gift"
POSTTEST_TITLE = "Tes Akhir (Post-test)"
# Used only when the demo import has no post-test yet (the same settings as its .meta.yaml).
FALLBACK_SETTINGS: dict[str, Any] = {
    "title": POSTTEST_TITLE,
    "kind": "posttest",
    "pass_score": 70,
    "time_limit_seconds": 900,
    "max_attempts": 3,
    "shuffle_questions": True,
    "review_answers": "after_submit",
}
SAVED = re.compile(r"^Tersimpan \d\d:\d\d$")
MAX_TABS = 120


# --- fixtures and small steps -------------------------------------------------------------------


def key_questions() -> list[Question]:
    parsed = parse_gift(POSTTEST_GIFT.read_text(encoding="utf-8"))
    assert not parsed.errors, parsed.errors
    return [q for q in parsed.questions if q.type != QT.DESCRIPTION]


def squash(text: str) -> str:
    return " ".join(text.split())


def focused(page: Page, predicate: str, arg: Any = None) -> bool:
    return bool(
        page.evaluate(
            f"(arg) => {{ const el = document.activeElement; return !!el && ({predicate}); }}", arg
        )
    )


def tab_until(page: Page, predicate: str, arg: Any = None, *, back: bool = False) -> None:
    """Press Tab (or Shift+Tab) until the focused element matches the JS `predicate` (over `el`)."""
    for _ in range(MAX_TABS):
        if focused(page, predicate, arg):
            return
        page.keyboard.press("Shift+Tab" if back else "Tab")
    described = page.evaluate("() => document.activeElement && document.activeElement.outerHTML")
    pytest.fail(f"focus never reached {predicate} ({arg!r}); focus is on {described}")


def tab_to(page: Page, locator: Locator, *, back: bool = False) -> None:
    handle = locator.element_handle()
    assert handle is not None
    for _ in range(MAX_TABS):
        if page.evaluate("(el) => document.activeElement === el", handle):
            return
        page.keyboard.press("Shift+Tab" if back else "Tab")
    pytest.fail(f"focus never reached {locator}")


def seconds(clock: str) -> int:
    parts = [int(p) for p in clock.strip().split(":")]
    total = 0
    for part in parts:
        total = total * 60 + part
    return total


def fits_phone(page: Page, name: str) -> None:
    save_screenshot(page, f"phone-360-{name}")
    scroll_width, viewport = page_widths(page)
    assert scroll_width <= 360, (name, overflowing_elements(page, 360))
    assert viewport == 360, name


def login_with_keyboard(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("NIP atau email").focus()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Kata sandi")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"^https?://[^/]+/$"))


@contextmanager
def api_client(live_server: LiveServer, account: Account) -> Iterator[httpx.Client]:
    """An API client with the account's bearer token."""
    with httpx.Client(base_url=live_server.base_url, timeout=30) as api:
        token = api.post(
            "/api/v1/auth/token", data={"username": account.email, "password": PASSWORD}
        )
        assert token.status_code == 200, token.text
        api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield api


def ensure_posttest(live_server: LiveServer) -> None:
    """Make the post-test through the quizzes API if the demo import has none (yet)."""
    with api_client(live_server, CONTENT_ADMIN) as api:
        courses = api.get("/api/v1/courses", params={"q": COURSE_TITLE}).json()
        course_id = next(c["id"] for c in courses if c["title"] == COURSE_TITLE)
        course = api.get(f"/api/v1/courses/{course_id}").json()
        activities = [a for s in course["sections"] for a in s["activities"]]
        if any(a["kind"] == "quiz" and a["title"] == POSTTEST_TITLE for a in activities):
            return
        section_id = course["sections"][-1]["id"]
        created = api.post(f"/api/v1/sections/{section_id}/quizzes", json=FALLBACK_SETTINGS)
        assert created.status_code == 201, created.text
        imported = api.post(
            f"/api/v1/quizzes/{created.json()['id']}/questions/import",
            data={"format": "gift"},
            files={"file": ("kuis.gift", POSTTEST_GIFT.read_bytes(), "text/plain")},
        )
        assert imported.status_code == 200 and not imported.json()["errors"], imported.text


def open_posttest(page: Page, live_server: LiveServer) -> None:
    """From the catalog: enrol in the demo course's open run and open its post-test."""
    ensure_posttest(live_server)
    page.goto("/courses?q=Literasi")
    href = page.get_by_role("link", name=COURSE_TITLE).first.get_attribute("href")
    assert href
    page.goto(href)
    enrol = page.get_by_role("button", name="Daftar ke angkatan ini").first
    enrol.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/courses/\d+\?enrolled=1$"))
    quiz_link = page.get_by_role("link", name=POSTTEST_TITLE)
    href = quiz_link.get_attribute("href")
    assert href
    page.goto(href)  # /activities/<id> sends a quiz on to its page
    expect(page).to_have_url(re.compile(r"/quizzes/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(POSTTEST_TITLE)


def start_with_keyboard(page: Page) -> int:
    button = page.get_by_role("button", name=re.compile(r"^(Mulai|Lanjutkan)$"))
    tab_to(page, button)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/attempts/\d+$"))
    return int(re.findall(r"/attempts/(\d+)", page.url)[0])


def question_fieldset(page: Page, q: Question) -> Locator:
    """The fieldset whose question text starts like the key's question."""
    start = squash(q.text)[:40]
    for fieldset in page.locator("fieldset.question").all():
        if squash(fieldset.locator(".question-text").inner_text()).startswith(start):
            return fieldset
    pytest.fail(f"question not on the page: {start}")


def typed_key(q: Question) -> str:
    """The right answer of a short-answer or numeric question, as typed."""
    return q.answers[0].text if q.type == QT.SHORT else f"{q.numeric[0].value:g}"


def right_choices(q: Question) -> list[str]:
    return [c.text for c in q.choices if c.weight > 0]


def answer_with_keyboard(page: Page, q: Question) -> None:
    """Answer one question right, with the keyboard only."""
    fs = question_fieldset(page, q)
    if q.type in (QT.SINGLE, QT.TRUEFALSE):
        target = (
            ("Benar" if q.truefalse_key else "Salah")
            if q.type == QT.TRUEFALSE
            else right_choices(q)[0]
        )
        radio = fs.get_by_role("radio", name=target, exact=True)
        tab_to(page, fs.get_by_role("radio").first)
        page.keyboard.press("Space")  # the first option: checked
        for _ in range(10):
            if radio.is_checked():
                break
            page.keyboard.press("ArrowDown")  # moves and checks the next option
        expect(radio).to_be_checked()
        expect(radio).to_be_focused()
    elif q.type == QT.MULTIPLE:
        for text in right_choices(q):
            box = fs.get_by_role("checkbox", name=text, exact=True)
            tab_to(page, box)
            page.keyboard.press("Space")
            expect(box).to_be_checked()
    elif q.type in (QT.SHORT, QT.NUMERIC):
        field = fs.get_by_role("textbox")
        tab_to(page, field)
        value = typed_key(q)
        page.keyboard.type(value)
        expect(field).to_have_value(value)
    elif q.type == QT.MATCHING:
        for pair in q.gradable_pairs:
            select = fs.get_by_label(pair.left, exact=True)
            tab_to(page, select)
            for _ in range(len(q.pairs) + 2):  # arrows change a closed <select> on Linux
                if select.input_value() == pair.right:
                    break
                page.keyboard.press("ArrowDown")
            expect(select).to_have_value(pair.right)
    elif q.type == QT.ESSAY:
        field = fs.get_by_role("textbox")
        tab_to(page, field)
        page.keyboard.type("Jawaban esai lewat papan ketik.")
    else:  # pragma: no cover - the demo quiz has no other type
        pytest.fail(f"unexpected question type {q.type}")


def expect_answered(page: Page, q: Question) -> None:
    """After a reload: the page shows the answer given earlier."""
    fs = question_fieldset(page, q)
    if q.type == QT.TRUEFALSE:
        expect(
            fs.get_by_role("radio", name="Benar" if q.truefalse_key else "Salah")
        ).to_be_checked()
    elif q.type in (QT.SINGLE, QT.MULTIPLE):
        for text in right_choices(q):
            expect(fs.get_by_label(text, exact=True)).to_be_checked()
    elif q.type in (QT.SHORT, QT.NUMERIC):
        expect(fs.get_by_role("textbox")).to_have_value(typed_key(q))
    elif q.type == QT.MATCHING:
        for pair in q.gradable_pairs:
            expect(fs.get_by_label(pair.left, exact=True)).to_have_value(pair.right)


def move_deadline(live_server: LiveServer, attempt_id: int, seconds_from_now: int) -> None:
    """Set an attempt's deadline in the server's database (as if its time limit were short)."""
    engine = create_engine(f"sqlite:///{live_server.data_dir / 'browser.db'}")
    try:
        with Session(engine) as session:
            attempt = session.get(Attempt, attempt_id)
            assert attempt is not None
            attempt.deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds_from_now)
            session.commit()
    finally:
        engine.dispose()


# --- the tests ----------------------------------------------------------------------------------


def test_learner_takes_the_posttest_with_the_keyboard_on_a_phone(
    new_context: Callable[..., BrowserContext],
    live_server: LiveServer,
    fresh_learner: Callable[[], Account],
) -> None:
    questions = key_questions()
    learner = fresh_learner()
    page = new_context(**PHONE).new_page()
    login_with_keyboard(page, learner.nip)
    open_posttest(page, live_server)
    intro = page.locator("main")
    expect(intro).to_contain_text("Jumlah soal")
    expect(intro).to_contain_text(f"{len(questions)}")
    expect(intro).to_contain_text("15 menit")
    expect(intro).to_contain_text("Belum ada percobaan.")
    # The course player's facts: the position in the course and the rule for done.
    expect(page.locator("#player-position")).to_have_text(re.compile(r"^Aktivitas \d+ dari \d+$"))
    expect(page.locator("#done-rule")).to_have_text("Syarat selesai: lulus kuis dengan nilai ≥ 70")
    fits_phone(page, "quiz-intro")
    assert_fits_and_accessible(page, "quiz intro on a phone")

    attempt_id = start_with_keyboard(page)
    expect(page.locator("fieldset.question")).to_have_count(len(questions))
    status = page.locator("#save-status")
    timer = page.locator("#quiz-timer")
    expect(timer).to_have_text(re.compile(r"^1[45]:\d\d$"))
    fits_phone(page, "quiz-attempt")
    assert_fits_and_accessible(page, "quiz question page on a phone")

    # The first half, then the autosave indicator.
    first, rest = questions[: len(questions) // 2], questions[len(questions) // 2 :]
    ordered = sorted(
        first, key=lambda q: question_fieldset(page, q).evaluate("(f) => +f.dataset.position")
    )
    for q in ordered:
        answer_with_keyboard(page, q)
    page.keyboard.press("Tab")  # leaving the last question saves it at once
    expect(status).to_have_text(SAVED, timeout=10_000)
    answered_nav = page.locator(".qnav a.answered")
    expect(answered_nav).to_have_count(len(first))

    # A save that fails (the request is dropped) is kept on the device, shown, and retried after a
    # reload; the reload restores every answer and the remaining time.
    answers_api = "**/api/v1/attempts/*/answers"
    page.route(answers_api, lambda route: route.abort())
    late = rest[0]
    answer_with_keyboard(page, late)
    tab_to(page, page.locator("#save-btn"))  # focus leaves the question: save now
    failed = "Gagal menyimpan — mencoba lagi"
    expect(status).to_have_text(failed)
    queued = page.evaluate(f"() => sessionStorage.getItem('lms-quiz-attempt-{attempt_id}')")
    assert queued and '"answers"' in queued
    before = seconds(timer.inner_text())
    page.reload()
    after = seconds(timer.inner_text())
    assert before - 30 <= after <= before + 1, (before, after)
    assert after > 600
    for q in [*first, late]:
        expect_answered(page, q)
    expect(status).to_have_text(failed)  # still queued: sent again after the reload
    page.unroute(answers_api)
    expect(status).to_have_text(SAVED, timeout=20_000)  # the retry (with backoff) got through
    stored = page.request.get(f"/api/v1/attempts/{attempt_id}").json()
    assert {a["question_id"] for a in stored["answers"]} == {
        int(question_fieldset(page, q).get_attribute("data-question-id") or 0)
        for q in [*first, late]
    }

    # The confirmation lists what is still open; going back is one key away.
    submit = page.get_by_role("button", name="Kumpulkan", exact=True)
    tab_to(page, submit)
    page.keyboard.press("Enter")
    dialog = page.locator("#submit-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#submit-cancel")).to_be_focused()
    missing = sorted(
        int(question_fieldset(page, q).get_attribute("data-number") or 0) for q in rest[1:]
    )
    expect(dialog).to_contain_text("Soal yang belum dijawab: " + ", ".join(map(str, missing)))
    ARTIFACTS.mkdir(exist_ok=True)  # the open dialog as the phone shows it (not full page)
    page.screenshot(path=str(ARTIFACTS / "phone-360-quiz-confirm.png"))
    page.keyboard.press("Enter")  # "Kembali mengerjakan"
    expect(dialog).to_be_hidden()

    # The rest, from the top of the page again (Shift+Tab back to the start first).
    tab_until(page, "el.classList.contains('skip-link')", back=True)
    remaining = sorted(
        rest[1:], key=lambda q: question_fieldset(page, q).evaluate("(f) => +f.dataset.position")
    )
    for q in remaining:
        answer_with_keyboard(page, q)
    expect(answered_nav).to_have_count(len(questions))
    tab_to(page, submit)
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Semua soal sudah dijawab.")
    page.keyboard.press("Tab")
    expect(page.locator("#submit-confirm")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/attempts/{attempt_id}/review$"))

    # The review shows what the post-test's settings allow right after submitting.
    main = page.locator("main")
    expect(main).to_contain_text("Lulus")
    expect(main).to_contain_text("100 dari 100")
    expect(page.locator(".review-item .badge-right")).to_have_count(len(questions))
    expect(main).to_contain_text("Jawaban benar")
    fits_phone(page, "quiz-review")
    assert_fits_and_accessible(page, "quiz review on a phone")
    # The post-test is the course's last activity: the review leads back to the quiz and the
    # course (the next-activity link appears when there is a next one; see tests/quizzes).
    expect(page.locator("#next-activity")).to_have_count(0)
    expect(page.get_by_role("link", name="Kembali ke kursus")).to_be_visible()
    assert page.evaluate(f"() => sessionStorage.getItem('lms-quiz-attempt-{attempt_id}')") is None

    # Back on the quiz page: the grade and the attempt in the table.
    tab_to(page, page.get_by_role("link", name=f"← {POSTTEST_TITLE}"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/quizzes/\d+$"))
    expect(page.locator("main")).to_contain_text("Selesai dinilai")
    expect(page.locator("main")).to_contain_text("sudah dipakai 1")


def test_time_runs_out_and_the_page_submits_by_itself(
    new_context: Callable[..., BrowserContext],
    live_server: LiveServer,
    fresh_learner: Callable[[], Account],
) -> None:
    questions = key_questions()
    short = next(q for q in questions if q.type in (QT.SHORT, QT.NUMERIC))
    learner = fresh_learner()
    page = new_context(**PHONE).new_page()
    login_with_keyboard(page, learner.nip)
    open_posttest(page, live_server)
    attempt_id = start_with_keyboard(page)

    # Screen readers hear the time left at 5 minutes and at 1 minute.
    announce = page.locator("#quiz-announce")
    expect(announce).to_have_attribute("aria-live", "assertive")
    for left, message in ((305, "Sisa waktu 5 menit."), (65, "Sisa waktu 1 menit.")):
        move_deadline(live_server, attempt_id, left)
        page.reload()
        expect(announce).to_be_empty()
        expect(announce).to_have_text(message, timeout=10_000)

    move_deadline(live_server, attempt_id, 12)
    page.reload()
    timer = page.locator("#quiz-timer")
    expect(timer).to_have_class(re.compile(r"\btimer-low\b"))  # red in the last minute
    assert seconds(timer.inner_text()) <= 12
    # An answer typed just before the end is still sent (time-up flushes the queue first).
    field = question_fieldset(page, short).get_by_role("textbox")
    tab_to(page, field)
    page.keyboard.type(typed_key(short))

    expect(page.locator("#save-status")).to_have_text("Waktu habis", timeout=15_000)
    expect(page).to_have_url(
        re.compile(rf"/attempts/{attempt_id}/review\?timeout=1$"), timeout=15_000
    )
    expect(page.get_by_role("alert")).to_contain_text("Waktu habis")
    item = page.locator(".review-item").filter(has_text=squash(short.text)[:30])
    expect(item).to_contain_text(typed_key(short))
    fits_phone(page, "quiz-timeout-review")


SEQUENTIAL_GIFT = """\
::S1::Langkah pertama saat menerima pesan berantai adalah berhenti sejenak.{TRUE}

::S2::Domain situs resmi pemerintah Indonesia adalah{=go.id}

::S3::Kata sandi yang kuat sebaiknya{=panjang dan unik ~sama untuk semua akun ~nama sendiri}
"""


def test_sequential_quiz_shows_one_question_at_a_time(
    new_context: Callable[..., BrowserContext],
    live_server: LiveServer,
    fresh_learner: Callable[[], Account],
) -> None:
    """ "Berikutnya" only: a passed question is locked, also after a reload."""
    learner = fresh_learner()
    code = f"UJI-KUIS-{secrets.token_hex(3).upper()}"
    with api_client(live_server, ADMIN) as api:
        course = api.post(
            "/api/v1/courses",
            json={"code": code, "title": f"Kuis Berurutan {code[-6:]}", "jp": 1,
                  "category": "teknis", "competencies": ["literasi_digital"]},
        )  # fmt: skip
        assert course.status_code == 201, course.text
        course_id = course.json()["id"]
        section = api.post(f"/api/v1/courses/{course_id}/sections", json={"title": "Evaluasi"})
        quiz = api.post(
            f"/api/v1/sections/{section.json()['id']}/quizzes",
            json={"title": "Kuis berurutan", "kind": "exercise", "sequential": True,
                  "shuffle_choices": False},
        )  # fmt: skip
        assert quiz.status_code == 201, quiz.text
        quiz_id = quiz.json()["id"]
        imported = api.post(
            f"/api/v1/quizzes/{quiz_id}/questions/import",
            data={"format": "gift"},
            files={"file": ("kuis.gift", SEQUENTIAL_GIFT.encode(), "text/plain")},
        )
        assert imported.status_code == 200 and not imported.json()["errors"], imported.text
        assert api.post(f"/api/v1/courses/{course_id}/publish").status_code == 200
        today = clock.today()
        run = api.post(
            f"/api/v1/courses/{course_id}/runs",
            json={"name": "Angkatan uji", "starts_on": today.isoformat(),
                  "ends_on": (today + dt.timedelta(days=30)).isoformat(),
                  "funding_source": "non_anggaran"},
        )  # fmt: skip
        assert run.status_code == 201, run.text
        enrolled = api.post(
            f"/api/v1/runs/{run.json()['id']}/enrolments", json={"nips": [learner.nip]}
        )
        assert enrolled.status_code == 201 and enrolled.json()["enrolled"], enrolled.text

    page = new_context(**PHONE).new_page()
    login_with_keyboard(page, learner.nip)
    page.goto(f"/quizzes/{quiz_id}")
    expect(page.locator("main")).to_contain_text("Berurutan")
    start_with_keyboard(page)
    questions = page.locator("fieldset.question")
    expect(page.locator("nav.qnav")).to_have_count(0)  # no jumping around
    expect(page.locator("fieldset.question:visible")).to_have_count(1)
    expect(page.locator("#seq-progress")).to_have_text("Soal 1 dari 3")

    tab_to(page, questions.nth(0).get_by_role("radio").first)
    page.keyboard.press("Space")  # "Benar"
    tab_to(page, page.get_by_role("button", name="Berikutnya"))
    with page.expect_request(lambda r: r.method == "PUT" and "position" in (r.post_data or "")):
        page.keyboard.press("Enter")
    expect(questions.nth(1)).to_be_visible()
    expect(questions.nth(0)).to_be_hidden()
    expect(page.locator("#seq-progress")).to_have_text("Soal 2 dari 3")
    expect(questions.nth(1)).to_be_focused()
    tab_to(page, questions.nth(1).get_by_role("textbox"))
    page.keyboard.type("go.id")
    expect(page.locator("#save-status")).to_have_text(SAVED, timeout=10_000)

    page.reload()  # the server remembers the furthest question shown
    expect(page.locator("#seq-progress")).to_have_text("Soal 2 dari 3")
    expect(questions.nth(0)).to_have_attribute("disabled", "")
    expect(questions.nth(0)).to_be_hidden()
    expect(questions.nth(1).get_by_role("textbox")).to_have_value("go.id")
    tab_to(page, page.get_by_role("button", name="Berikutnya"))
    page.keyboard.press("Enter")
    expect(page.locator("#seq-progress")).to_have_text("Soal 3 dari 3")
    expect(page.get_by_role("button", name="Berikutnya")).to_be_hidden()  # the last one
    tab_to(page, questions.nth(2).get_by_role("radio").first)
    page.keyboard.press("Space")
    save_screenshot(page, "phone-360-quiz-sequential")
    tab_to(page, page.get_by_role("button", name="Kumpulkan", exact=True))
    page.keyboard.press("Enter")
    expect(page.locator("#submit-dialog")).to_contain_text("Semua soal sudah dijawab.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/attempts/\d+/review$"))
    expect(page.locator(".review-item .badge-right")).to_have_count(3)
