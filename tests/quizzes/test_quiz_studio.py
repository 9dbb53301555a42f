"""Quiz studio pages through a browser session: adding a quiz from the builder, settings, the
question editor (validation, rows, preview, regrade), import, results with essay grading,
analysis, pre/post, role checks, CSRF and the results page's query count."""

from __future__ import annotations

import datetime as dt
import html
import re

import httpx
import pytest
from sqlalchemy import func, select

from app.core.db import session_scope
from app.courses.models import Activity
from app.quizzes.models import Attempt, BankQuestion, QuestionVersion, Quiz, QuizAuditLog, QuizSlot
from tests.factories import browser_login, make_course, make_quiz, make_run, make_user
from tests.queries import count_queries
from tests.quizzes.test_reports import RIGHT, TWO_QUESTIONS, four_learners, learner, take, wrong

pytestmark = pytest.mark.anyio


async def sign_in(client: httpx.AsyncClient, *roles: str) -> str:
    person = make_user(roles=roles)
    return await browser_login(client, person.email or "")


def slot_question_ids(quiz_id: int) -> list[int]:
    with session_scope() as session:
        return list(
            session.scalars(
                select(QuizSlot.question_id)
                .where(QuizSlot.quiz_id == quiz_id)
                .order_by(QuizSlot.position)
            )
        )


def text_of(page: str) -> str:
    """The page's visible text, tags dropped and whitespace collapsed (for assertions)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


# --- adding a quiz and its settings ---------------------------------------------------------


async def test_add_quiz_from_builder_and_save_settings_in_wib(client: httpx.AsyncClient) -> None:
    csrf = await sign_in(client, "content_admin")
    ids = make_course(published=False)
    created = await client.post(
        f"/studio/courses/{ids['course']}/quizzes",
        data={"csrf_token": csrf, "section_id": str(ids["section"]), "title": "Pre-test TIK",
              "kind": "pretest"},
    )  # fmt: skip
    assert created.status_code == 303, created.text
    match = re.fullmatch(r"/studio/quizzes/(\d+)\?notice=created", created.headers["location"])
    assert match
    quiz_id = int(match.group(1))
    page = await client.get(created.headers["location"])
    assert page.status_code == 200
    assert "Pre-test TIK" in page.text and "Dibuka (WIB)" in page.text  # the default zone
    assert "Tanggal dan jam diisi dalam WIB (UTC+7)." in page.text
    builder = await client.get(f"/studio/courses/{ids['course']}")
    with session_scope() as session:
        activity_id = session.scalar(select(Quiz.activity_id).where(Quiz.id == quiz_id))
    assert f"/studio/activities/{activity_id}/quiz" in builder.text
    assert 'action="/studio/courses/{}/quizzes"'.format(ids["course"]) in builder.text
    jump = await client.get(f"/studio/activities/{activity_id}/quiz")
    assert jump.status_code == 303 and jump.headers["location"] == f"/studio/quizzes/{quiz_id}"

    form = {
        "csrf_token": csrf, "title": "Pre-test TIK", "kind": "pretest", "pass_score": "70,5",
        "grading": "first", "max_attempts": "2", "attempt_delay_minutes": "10",
        "time_limit_minutes": "30", "open_at": "2026-03-02T08:00", "close_at": "2026-03-02T17:30",
        "shuffle_choices": "on", "required": "on", "duration_minutes": "30",
        "review_correctness": "after_close", "review_points": "after_submit",
        "review_feedback": "never", "review_answers": "after_close", "intro": "Kerjakan sendiri.",
    }  # fmt: skip
    saved = await client.post(f"/studio/quizzes/{quiz_id}", data=form)
    assert saved.status_code == 303, text_of(saved.text)
    with session_scope() as session:
        quiz = session.get(Quiz, quiz_id)
        assert quiz is not None
        assert quiz.open_at == dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # 08:00 WIB
        assert quiz.close_at == dt.datetime(2026, 3, 2, 10, 30, tzinfo=dt.UTC)
        assert (quiz.time_limit_seconds, quiz.attempt_delay_seconds, quiz.max_attempts) == (
            1800, 600, 2
        )  # fmt: skip
        assert (quiz.pass_score, quiz.grading, quiz.review_feedback) == (70.5, "first", "never")
        assert quiz.shuffle_questions is False and quiz.shuffle_choices is True
    again = await client.get(f"/studio/quizzes/{quiz_id}")
    assert 'value="2026-03-02T08:00"' in again.text  # shown back in WIB

    bad = await client.post(
        f"/studio/quizzes/{quiz_id}",
        data={**form, "close_at": "2026-03-02T07:00", "max_attempts": "dua", "title": "Baru"},
    )
    assert bad.status_code == 422
    assert "Waktu tutup harus setelah waktu buka." in bad.text
    assert "Isi dengan bilangan bulat." in bad.text
    assert 'value="Baru"' in bad.text and 'value="dua"' in bad.text  # typed input kept


async def test_add_quiz_to_a_section_route(client: httpx.AsyncClient) -> None:
    csrf = await sign_in(client, "admin")
    ids = make_course()
    response = await client.post(
        f"/studio/sections/{ids['section']}/quizzes",
        data={"csrf_token": csrf, "title": "Latihan 1", "kind": "exercise"},
    )
    assert response.status_code == 303
    empty = await client.post(
        f"/studio/sections/{ids['section']}/quizzes",
        data={"csrf_token": csrf, "title": "  ", "kind": "exercise"},
    )
    assert empty.status_code == 422 and "Kuis belum dibuat" in empty.text


# --- question editor ------------------------------------------------------------------------


async def test_question_editor_creates_and_keeps_input_on_error(client: httpx.AsyncClient) -> None:
    csrf = await sign_in(client, "content_admin")
    ids = make_course()
    quiz = make_quiz(ids["section"], gift="")["quiz"]
    page = await client.get(f"/studio/quizzes/{quiz}/questions/new?type=single")
    assert page.status_code == 200
    assert 'name="choices-3-text"' in page.text and 'name="choices-4-text"' not in page.text
    for label in ('for="q-text"', 'for="c0-text"', 'for="c0-correct"', 'for="c0-weight"'):
        assert label in page.text
    form = {
        "csrf_token": csrf, "type": "single", "title": "Ibu kota", "text": "Ibu kota Jawa Barat?",
        "text_format": "plain", "points": "2", "category": "Geografi",
        "choices-0-text": "Bandung", "choices-1-text": "Bogor", "choices-1-feedback": "Bukan.",
        "choices-2-text": "", "choices-3-text": "",
    }  # fmt: skip
    invalid = await client.post(f"/studio/quizzes/{quiz}/questions/new",
                                data={**form, "action": "save"})  # fmt: skip
    assert invalid.status_code == 422
    assert "Tandai minimal satu pilihan yang benar." in invalid.text
    assert 'id="choices-error"' in invalid.text
    assert 'value="Bandung"' in invalid.text and 'value="Bukan."' in invalid.text
    assert slot_question_ids(quiz) == []

    more = await client.post(f"/studio/quizzes/{quiz}/questions/new",
                             data={**form, "action": "add_choices"})  # fmt: skip
    assert more.status_code == 200
    assert 'name="choices-4-text"' in more.text and "autofocus" in more.text
    assert 'value="Bandung"' in more.text

    ok = await client.post(
        f"/studio/quizzes/{quiz}/questions/new",
        data={**form, "choices-0-correct": "on", "action": "save"},
    )
    assert ok.status_code == 303, text_of(ok.text)
    assert ok.headers["location"].startswith(f"/studio/quizzes/{quiz}?notice=question_added")
    [qid] = slot_question_ids(quiz)
    listing = await client.get(f"/studio/quizzes/{quiz}")
    assert "Ibu kota" in listing.text and f"/studio/quizzes/{quiz}/questions/{qid}" in listing.text
    edit = await client.get(f"/studio/quizzes/{quiz}/questions/{qid}")
    assert edit.status_code == 200
    assert 'value="Bandung"' in edit.text and 'value="Geografi"' in edit.text
    assert "Nilai ulang percobaan" not in edit.text  # not used yet: edited in place


async def test_editing_an_imported_question_keeps_its_format_and_key(
    client: httpx.AsyncClient,
) -> None:
    csrf = await sign_in(client, "content_admin")
    ids = make_course()
    quiz = make_quiz(ids["section"])["quiz"]  # SAMPLE_GIFT: moodle text format
    first = slot_question_ids(quiz)[0]
    edit = await client.get(f"/studio/quizzes/{quiz}/questions/{first}")
    assert '<option value="moodle" selected>' in edit.text
    pairs = re.findall(r'name="([\w-]+)" value="([^"]*)"', edit.text)
    form = {k: v for k, v in pairs if not k.endswith("-correct")}
    form.update(re.findall(r'name="(text)"[^>]*>([^<]*)</textarea>', edit.text))
    form.update({"csrf_token": csrf, "text_format": "moodle", "action": "save"})
    for i in re.findall(r'name="choices-(\d)-correct" value="on" checked', edit.text):
        form[f"choices-{i}-correct"] = "on"
    bad = await client.post(
        f"/studio/quizzes/{quiz}/questions/{first}", data={**form, "points": "0"}
    )
    assert bad.status_code == 422 and "Harus lebih dari 0." in bad.text
    saved = await client.post(f"/studio/quizzes/{quiz}/questions/{first}", data=form)
    assert saved.status_code == 303, text_of(saved.text)
    with session_scope() as session:
        version = session.scalar(
            select(QuestionVersion).where(QuestionVersion.question_id == first)
        )
        assert version is not None and version.text_format == "moodle"
        assert "Empat" in version.content_json and '"weight": 100.0' in version.content_json


@pytest.mark.parametrize(
    ("qtype", "fields", "shown"),
    [
        ("truefalse", {"correct": "true", "feedback_true": "Tepat"}, "Benar"),
        ("short", {"answers-0": "SPBE", "answers-1": "spbe*"}, 'id="preview-answer"'),
        ("numeric", {"numeric-0-value": "2,5", "numeric-0-tolerance": "0,1"}, "inputmode"),
        (
            "matching",
            {
                "pairs-0-left": "Cakap",
                "pairs-0-right": "Terampil",
                "pairs-1-left": "Etika",
                "pairs-1-right": "Sopan",
                "pairs-2-left": "",
                "pairs-2-right": "Pengecoh",
            },
            "Pengecoh",
        ),
        ("essay", {}, "<textarea"),
        (
            "multiple",
            {
                "choices-0-text": "NIK",
                "choices-0-correct": "on",
                "choices-1-text": "Telepon",
                "choices-1-correct": "on",
                "choices-2-text": "Dinas",
            },
            'type="checkbox"',
        ),
    ],
)
async def test_every_type_saves_and_previews_without_key(
    client: httpx.AsyncClient, qtype: str, fields: dict[str, str], shown: str
) -> None:
    csrf = await sign_in(client, "content_admin")
    ids = make_course()
    quiz = make_quiz(ids["section"], gift="")["quiz"]
    data = {"csrf_token": csrf, "type": qtype, "text": f"Soal {qtype}", "points": "1", **fields}
    preview = await client.post(f"/studio/quizzes/{quiz}/questions/preview", data=data)
    assert preview.status_code == 200
    assert shown in preview.text and f"Soal {qtype}" in preview.text
    assert "Tepat" not in preview.text and "spbe*" not in preview.text  # no key, no feedback
    assert "Terampil" in preview.text or qtype != "matching"
    saved = await client.post(f"/studio/quizzes/{quiz}/questions/new",
                              data={**data, "action": "save"})  # fmt: skip
    assert saved.status_code == 303, text_of(saved.text)
    [qid] = slot_question_ids(quiz)
    edit = await client.get(f"/studio/quizzes/{quiz}/questions/{qid}")
    assert edit.status_code == 200
    for value in fields.values():
        if value not in ("on", "true"):
            shown_back = value.replace(",", ".") if qtype == "numeric" else value
            assert f'value="{shown_back}"' in edit.text, value


async def test_preview_reports_what_is_missing(client: httpx.AsyncClient) -> None:
    csrf = await sign_in(client, "content_admin")
    ids = make_course()
    quiz = make_quiz(ids["section"], gift="")["quiz"]
    response = await client.post(
        f"/studio/quizzes/{quiz}/questions/preview",
        data={"csrf_token": csrf, "type": "short", "text": "Singkatan SPBE?"},
    )
    assert response.status_code == 200
    assert "Isian singkat memerlukan jawaban yang diterima." in response.text


async def test_regrade_through_the_editor_changes_finished_attempts(
    client: httpx.AsyncClient,
) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    # The key is wrong: "Bogor" marked right.
    quiz = make_quiz(ids["section"], gift="::Q1::Ibu kota Jawa Barat?{=Bogor ~Bandung}\n",
                     pass_score=60)["quiz"]  # fmt: skip
    _uid, _nip, headers = await learner(client, run, "Hana")
    attempt = await take(client, quiz, headers, {"Ibu kota Jawa Barat?": "Bandung"})
    assert attempt["score"] == 0 and attempt["passed"] is False

    csrf = await sign_in(client, "content_admin")
    [qid] = slot_question_ids(quiz)
    edit = await client.get(f"/studio/quizzes/{quiz}/questions/{qid}")
    assert "Nilai ulang percobaan yang sudah selesai (perbaikan kunci)" in edit.text
    ids_in_form = dict(re.findall(r'name="choices-(\d)-id" value="([0-9a-f]+)"', edit.text))
    texts = dict(re.findall(r'name="choices-(\d)-text" value="([^"]*)"', edit.text))
    bandung = next(i for i, t in texts.items() if t == "Bandung")
    form = {"csrf_token": csrf, "type": "single", "text": "Ibu kota Jawa Barat?", "points": "1",
            "action": "save", "regrade": "on"}  # fmt: skip
    for i, text in texts.items():
        form[f"choices-{i}-text"] = text
        form[f"choices-{i}-id"] = ids_in_form[i]
    form[f"choices-{bandung}-correct"] = "on"
    saved = await client.post(f"/studio/quizzes/{quiz}/questions/{qid}", data=form)
    assert saved.status_code == 303, text_of(saved.text)
    assert "notice=regraded" in saved.headers["location"]
    with session_scope() as session:
        row = session.get(Attempt, attempt["id"])
        assert row is not None and row.score == 1 and row.passed is True
        logs = session.scalars(select(QuizAuditLog).where(QuizAuditLog.quiz_id == quiz)).all()
        assert [log.action for log in logs] == ["regrade"] and logs[0].attempt_id == attempt["id"]
        question = session.get(BankQuestion, qid)
        assert question is not None and question.current_version == 2
        count = session.scalar(select(func.count()).select_from(QuestionVersion)
                               .where(QuestionVersion.question_id == qid))  # fmt: skip
        assert count == 2


async def test_remove_question_from_quiz(client: httpx.AsyncClient) -> None:
    csrf = await sign_in(client, "content_admin")
    ids = make_course()
    quiz = make_quiz(ids["section"], gift=TWO_QUESTIONS)["quiz"]
    first, second = slot_question_ids(quiz)
    response = await client.post(f"/studio/quizzes/{quiz}/questions/{first}/remove",
                                 data={"csrf_token": csrf})  # fmt: skip
    assert response.status_code == 303
    assert slot_question_ids(quiz) == [second]
    with session_scope() as session:
        assert session.get(BankQuestion, first) is not None  # still in the bank
    again = await client.post(f"/studio/quizzes/{quiz}/questions/{first}/remove",
                              data={"csrf_token": csrf})  # fmt: skip
    assert again.status_code == 404


# --- import ---------------------------------------------------------------------------------


async def test_import_page_shows_line_errors_and_imports_nothing(
    client: httpx.AsyncClient,
) -> None:
    csrf = await sign_in(client, "content_admin")
    ids = make_course()
    quiz = make_quiz(ids["section"], gift="")["quiz"]
    page = await client.get(f"/studio/quizzes/{quiz}/import")
    assert page.status_code == 200
    assert "/api/v1/quizzes/questions/template.xlsx" in page.text
    assert "data-progress" in page.text and "<progress" in page.text
    bad_gift = "::A::Soal baik?{=Ya ~Tidak}\n\n::B::Soal rusak?{=Ya ~Tidak\n\n::C::Lagi?{TRUE}\n"
    response = await client.post(
        f"/studio/quizzes/{quiz}/import",
        data={"csrf_token": csrf, "format": "gift"},
        files={"file": ("soal.gift.txt", bad_gift.encode(), "text/plain")},
    )
    assert response.status_code == 422
    assert "Tidak ada soal yang diimpor" in response.text
    rows = re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]+)</td></tr>', response.text)
    assert rows and all(int(line) >= 1 for line, _msg in rows)
    assert slot_question_ids(quiz) == []

    good = await client.post(
        f"/studio/quizzes/{quiz}/import",
        data={"csrf_token": csrf, "format": "gift", "category": "Impor"},
        files={"file": ("soal.gift.txt", TWO_QUESTIONS.encode(), "text/plain")},
    )
    assert good.status_code == 200
    assert "2 soal diimpor" in text_of(good.text)
    assert len(slot_question_ids(quiz)) == 2

    no_file = await client.post(f"/studio/quizzes/{quiz}/import",
                                data={"csrf_token": csrf, "format": "gift"})  # fmt: skip
    assert no_file.status_code == 422 and "Pilih berkas soal." in no_file.text


# --- results, essay grading, analysis, pre/post ---------------------------------------------


async def test_essay_grading_form_moves_attempt_to_graded(client: httpx.AsyncClient) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    quiz = make_quiz(ids["section"], pass_score=50)["quiz"]
    _uid, _nip, headers = await learner(client, run, "Indah Permata")

    def essay_only(questions: list[dict]) -> list[dict]:
        return [{"question_id": q["id"], "text": "Layanan <b>SRIKANDI</b>."}
                for q in questions if q["type"] == "essay"]  # fmt: skip

    attempt = await take(client, quiz, headers, answers=essay_only)
    assert attempt["state"] == "needs_grading"

    csrf = await sign_in(client, "training_officer")
    page = await client.get(f"/studio/quizzes/{quiz}/results?run_id={run}")
    assert page.status_code == 200
    assert "Layanan &lt;b&gt;SRIKANDI&lt;/b&gt;." in page.text  # escaped, never rendered
    assert f'action="/studio/attempts/{attempt["id"]}/grades"' in page.text
    assert f"/attempts/{attempt['id']}/review" in page.text
    essay_qid = re.search(r'name="question_id" value="(\d+)"', page.text)
    assert essay_qid

    too_many = await client.post(
        f"/studio/attempts/{attempt['id']}/grades",
        data={"csrf_token": csrf, "question_id": essay_qid.group(1), "points": "5",
              "comment": "Bagus", "run_id": str(run)},
    )  # fmt: skip
    assert too_many.status_code == 422
    assert "Nilai maksimal soal ini 1." in too_many.text and 'value="5"' in too_many.text

    graded = await client.post(
        f"/studio/attempts/{attempt['id']}/grades",
        data={"csrf_token": csrf, "question_id": essay_qid.group(1), "points": "1",
              "comment": "Contoh tepat.", "run_id": str(run)},
    )  # fmt: skip
    assert graded.status_code == 303
    assert graded.headers["location"] == (
        f"/studio/quizzes/{quiz}/results?run_id={run}&notice=graded#grading"
    )
    with session_scope() as session:
        row = session.get(Attempt, attempt["id"])
        assert row is not None and row.state == "graded" and row.score == 1
        assert session.scalar(select(func.count()).select_from(QuizAuditLog)
                              .where(QuizAuditLog.action == "essay_graded")) == 1  # fmt: skip
    after = await client.get(graded.headers["location"])
    assert "Nilai esai disimpan." in after.text
    assert "Tidak ada esai yang menunggu penilaian." in after.text


async def test_results_page_filters_and_export_links(client: httpx.AsyncClient) -> None:
    case = await four_learners(client)
    await sign_in(client, "content_admin")
    base = f"/studio/quizzes/{case['quiz']}/results"
    page = await client.get(base, params={"run_id": case["run"]})
    assert page.status_code == 200
    visible = text_of(page.text)
    for name in case["people"]:
        assert name in visible
    assert "Belum mengerjakan" in visible
    assert (
        f"/api/v1/quizzes/{case['quiz']}/results?format=csv&amp;run_id={case['run']}" in page.text
    )
    failed = await client.get(base, params={"run_id": case["run"], "passed": "0"})
    assert "Citra Dewi" in failed.text and "Ani Lestari" not in failed.text
    assert "passed=false" in failed.text  # the export keeps the filter
    searched = await client.get(base, params={"q": "budi", "state": "graded", "run_id": ""})
    assert "Budi Santoso" in searched.text and "Citra Dewi" not in searched.text
    export = await client.get(f"/api/v1/quizzes/{case['quiz']}/results?format=csv")
    assert export.status_code == 200  # the session cookie works for the API link


async def test_analysis_page_renders_stats_chart_and_flags(client: httpx.AsyncClient) -> None:
    case = await four_learners(client)
    await sign_in(client, "training_officer")
    page = await client.get(f"/studio/quizzes/{case['quiz']}/analysis",
                            params={"run_id": case["run"]})  # fmt: skip
    assert page.status_code == 200
    visible = text_of(page.text)
    assert "62.5%" in visible  # mean
    assert "90–100% 2 percobaan" in visible  # the bar's text for screen readers
    assert "75.0" in visible and "57.7" in visible  # facility and discrimination of Q1
    assert "<details" in page.text and "✓ kunci" in page.text
    everything = await client.get(f"/studio/quizzes/{case['quiz']}/analysis",
                                  params={"run_id": case["run"], "all_attempts": "1"})  # fmt: skip
    assert "Dianalisis: 5 percobaan" in text_of(everything.text)

    gift = TWO_QUESTIONS + "\n::Q3::Warna langit cerah?{=Hijau ~Biru}\n"
    quiz = make_quiz(case["section"], gift=gift, kind="exercise")["quiz"]
    for n, picks in enumerate([
        {**RIGHT, "Warna langit cerah?": "Biru"}, {**RIGHT, "Warna langit cerah?": "Biru"},
        {**wrong("Dua tambah dua?"), "Warna langit cerah?": "Hijau"},
        {"Ibu kota Jawa Barat?": "Bogor", "Warna langit cerah?": "Hijau"},
    ]):  # fmt: skip
        _uid, _nip, headers = await learner(client, case["run"], f"Analisis {n}")
        await take(client, quiz, headers, picks)
    flagged = await client.get(f"/studio/quizzes/{quiz}/analysis")
    assert 'class="flagged"' in flagged.text
    assert "Daya beda negatif" in flagged.text


async def test_prepost_page_and_run_link(client: httpx.AsyncClient) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    pre = make_quiz(ids["section"], gift=TWO_QUESTIONS, kind="pretest", pass_score=0)["quiz"]
    post = make_quiz(ids["section"], gift=TWO_QUESTIONS, kind="posttest")["quiz"]
    _uid, _nip, headers = await learner(client, run, "Joko Widodo")
    await take(client, pre, headers, wrong("Dua tambah dua?"))
    await take(client, post, headers, RIGHT)
    await sign_in(client, "training_officer")
    run_page = await client.get(f"/studio/runs/{run}")
    assert f'href="/studio/runs/{run}/prepost"' in run_page.text
    page = await client.get(f"/studio/runs/{run}/prepost")
    assert page.status_code == 200
    visible = text_of(page.text)
    assert "Joko Widodo" in visible and "50.0 100.0 +50.0 1.00" in visible
    assert "Peserta dengan kedua nilai 1" in visible


# --- access, CSRF, query counts -------------------------------------------------------------


async def test_learners_get_403_on_studio_pages(client: httpx.AsyncClient) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    quiz = make_quiz(ids["section"], gift=TWO_QUESTIONS)["quiz"]
    [qid, _q2] = slot_question_ids(quiz)
    csrf = await sign_in(client, "learner")
    for url in (
        f"/studio/quizzes/{quiz}", f"/studio/quizzes/{quiz}/questions/new",
        f"/studio/quizzes/{quiz}/questions/{qid}", f"/studio/quizzes/{quiz}/import",
        f"/studio/quizzes/{quiz}/results", f"/studio/quizzes/{quiz}/analysis",
        f"/studio/runs/{run}/prepost",
    ):  # fmt: skip
        assert (await client.get(url)).status_code == 403, url
    for url in (
        f"/studio/sections/{ids['section']}/quizzes", f"/studio/quizzes/{quiz}",
        f"/studio/quizzes/{quiz}/questions/new", f"/studio/quizzes/{quiz}/questions/preview",
        f"/studio/quizzes/{quiz}/questions/{qid}/remove", "/studio/attempts/1/grades",
    ):  # fmt: skip
        response = await client.post(url, data={"csrf_token": csrf, "title": "X"})
        assert response.status_code == 403, url
    assert slot_question_ids(quiz) == [qid, _q2]


async def test_officers_see_results_but_do_not_edit(client: httpx.AsyncClient) -> None:
    ids = make_course()
    quiz = make_quiz(ids["section"], gift=TWO_QUESTIONS)["quiz"]
    await sign_in(client, "training_officer")
    assert (await client.get(f"/studio/quizzes/{quiz}")).status_code == 403
    results = await client.get(f"/studio/quizzes/{quiz}/results")
    assert results.status_code == 200
    assert f'href="/studio/quizzes/{quiz}/import"' not in results.text


async def test_posts_need_the_csrf_token(client: httpx.AsyncClient) -> None:
    await sign_in(client, "content_admin")
    ids = make_course()
    quiz = make_quiz(ids["section"], gift=TWO_QUESTIONS)["quiz"]
    [qid, _q2] = slot_question_ids(quiz)
    response = await client.post(f"/studio/quizzes/{quiz}/questions/{qid}/remove", data={})
    assert response.status_code == 403
    assert len(slot_question_ids(quiz)) == 2
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Activity)) == 2


async def test_results_page_query_count_does_not_grow_with_learners(
    client: httpx.AsyncClient,
) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    quiz = make_quiz(ids["section"])["quiz"]  # with an essay: attempts wait in the queue

    async def add_learners(n: int, start: int) -> None:
        for i in range(start, start + n):
            _uid, _nip, headers = await learner(client, run, f"Peserta {i}")
            if i % 2 == 0:
                await take(client, quiz, headers, answers=lambda qs: [
                    {"question_id": q["id"], "text": "jawaban"} for q in qs
                    if q["type"] in ("essay", "short")])  # fmt: skip

    await add_learners(2, 0)
    await sign_in(client, "content_admin")

    async def queries() -> int:
        with count_queries() as statements:
            response = await client.get(f"/studio/quizzes/{quiz}/results?run_id={run}")
        assert response.status_code == 200
        return len(statements)

    small = await queries()
    await add_learners(6, 2)
    assert await queries() == small
