"""Quiz reports on real attempts taken through the API: results with filters and CSV/XLSX export,
item analysis numbers on a hand-checkable case, the essay queue, pre/post comparison and access."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from app.core.db import session_scope
from app.quizzes import reports
from app.quizzes import service as quiz_service
from tests.factories import api_token, enrol, make_course, make_quiz, make_run, make_user

pytestmark = pytest.mark.anyio

TWO_QUESTIONS = """\
::Q1::Ibu kota Jawa Barat?{=Bandung ~Bogor ~Bekasi}

::Q2::Dua tambah dua?{=Empat ~Tiga ~Lima}
"""
RIGHT = {"Ibu kota Jawa Barat?": "Bandung", "Dua tambah dua?": "Empat"}


# --- helpers shared with test_quiz_studio ---------------------------------------------------


async def learner(
    client: httpx.AsyncClient, run_id: int, name: str = "Peserta", **user: Any
) -> tuple[int, str, dict[str, str]]:
    """An enrolled learner: (user id, NIP, bearer headers)."""
    person = make_user(name=name, **user)
    enrol(run_id, person.id)
    assert person.nip
    return person.id, person.nip, await api_token(client, person.nip)


def picks_for(questions: list[dict[str, Any]], picks: dict[str, str | None]) -> list[dict]:
    """Answers choosing the choice with the given text per question text (None: no answer)."""
    out = []
    for q in questions:
        wanted = picks.get(q["text"])
        if wanted is None:
            continue
        if q["type"] in ("single", "multiple", "truefalse"):
            choice = next(c["id"] for c in q["choices"] if c["text"] == wanted)
            out.append({"question_id": q["id"], "choice_ids": [choice]})
        else:
            out.append({"question_id": q["id"], "text": wanted})
    return out


async def take(
    client: httpx.AsyncClient,
    quiz_id: int,
    headers: dict[str, str],
    picks: dict[str, str | None] | None = None,
    *,
    answers: Any = None,
) -> dict[str, Any]:
    """Start an attempt, save answers (by choice text, or a function of the questions), submit."""
    started = await client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=headers)
    assert started.status_code == 201, started.text
    body = started.json()
    chosen = answers(body["questions"]) if answers else picks_for(body["questions"], picks or {})
    saved = await client.put(
        f"/api/v1/attempts/{body['id']}/answers", json={"answers": chosen}, headers=headers
    )
    assert saved.status_code == 200, saved.text
    submitted = await client.post(f"/api/v1/attempts/{body['id']}/submit", headers=headers)
    assert submitted.status_code == 200, submitted.text
    return {"id": body["id"], **submitted.json()}


def wrong(text: str) -> dict[str, str | None]:
    """Picks: the right answer to every question except `text`, answered with its first
    distractor."""
    distractors = {"Ibu kota Jawa Barat?": "Bogor", "Dua tambah dua?": "Tiga"}
    return {q: (distractors[q] if q == text else a) for q, a in RIGHT.items()}


async def four_learners(client: httpx.AsyncClient) -> dict[str, Any]:
    """The hand-checkable case: 4 learners on 2 one-point questions, plus one who never starts.

    Ani 1+1, Budi 1+1, Citra 1+0 ("Tiga"), Dodi 0 ("Bogor") + no answer; Dodi then retakes and
    gets 1+1 (a second attempt, left out of first-attempt analysis).
    """
    ids = make_course()
    run = make_run(ids["course"])
    quiz = make_quiz(ids["section"], gift=TWO_QUESTIONS, kind="exercise", pass_score=60)["quiz"]
    people: dict[str, Any] = {}
    for name in ("Ani Lestari", "Budi Santoso", "Citra Dewi", "Dodi Pratama", "Eka Putri"):
        people[name] = await learner(client, run, name)
    await take(client, quiz, people["Ani Lestari"][2], RIGHT)
    await take(client, quiz, people["Budi Santoso"][2], RIGHT)
    await take(client, quiz, people["Citra Dewi"][2], wrong("Dua tambah dua?"))
    await take(client, quiz, people["Dodi Pratama"][2], {"Ibu kota Jawa Barat?": "Bogor"})
    await take(client, quiz, people["Dodi Pratama"][2], RIGHT)
    return {"run": run, "quiz": quiz, "people": people, **ids}


def staff_principal() -> Any:
    from app.auth.service import Principal

    return Principal(user_id=0, name="staf", roles=frozenset({"admin"}), via="token")


# --- results --------------------------------------------------------------------------------


async def test_results_list_every_enrolled_learner_with_grade_and_state(
    client: httpx.AsyncClient,
) -> None:
    case = await four_learners(client)
    with session_scope() as session:
        quiz = quiz_service.get_quiz(session, case["quiz"])
        rows = {r.name: r for r in reports.results(session, quiz, case["run"])}
    assert list(rows) == sorted(rows)  # by name
    assert rows["Ani Lestari"].grade_percent == 100 and rows["Ani Lestari"].passed is True
    assert rows["Citra Dewi"].grade_percent == 50 and rows["Citra Dewi"].passed is False
    dodi = rows["Dodi Pratama"]
    assert (dodi.attempts, dodi.grade_percent, dodi.passed) == (2, 100, True)  # highest
    eka = rows["Eka Putri"]
    assert (eka.state, eka.attempts, eka.grade_percent, eka.passed) == (
        "not_started", 0, None, None
    )  # fmt: skip
    assert eka.last_attempt_id is None and eka.submitted_at is None
    assert rows["Ani Lestari"].state == "graded" and rows["Ani Lestari"].submitted_at
    assert rows["Ani Lestari"].nip == case["people"]["Ani Lestari"][1]


async def test_results_filters(client: httpx.AsyncClient) -> None:
    case = await four_learners(client)
    with session_scope() as session:
        quiz = quiz_service.get_quiz(session, case["quiz"])

        def names(**filters: Any) -> list[str]:
            return [r.name for r in reports.results(session, quiz, case["run"], **filters)]

        assert names(passed=True) == ["Ani Lestari", "Budi Santoso", "Dodi Pratama"]
        assert names(passed=False) == ["Citra Dewi"]
        assert names(state="not_started") == ["Eka Putri"]
        assert names(state="graded", passed=False) == ["Citra Dewi"]
        assert names(q="citra") == ["Citra Dewi"]
        assert names(q=case["people"]["Budi Santoso"][1]) == ["Budi Santoso"]
        assert names(q="tidak ada") == []
        other_run = make_run(case["course"])
        assert reports.results(session, quiz, other_run) == []


async def test_results_export_csv_and_xlsx_parse_back(client: httpx.AsyncClient) -> None:
    case = await four_learners(client)
    officer = make_user(roles=("training_officer",))
    headers = await api_token(client, officer.nip or "")
    url = f"/api/v1/quizzes/{case['quiz']}/results"

    as_json = await client.get(url, params={"run_id": case["run"]}, headers=headers)
    assert as_json.status_code == 200, as_json.text
    assert len(as_json.json()) == 5

    response = await client.get(
        url, params={"run_id": case["run"], "format": "csv", "passed": "true"}, headers=headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    text = response.content.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:5] == ["NIP", "Nama", "OPD", "Percobaan", "Nilai (%)"]
    body = {row[1]: row for row in table[1:]}
    assert set(body) == {"Ani Lestari", "Budi Santoso", "Dodi Pratama"}
    assert body["Ani Lestari"][0] == case["people"]["Ani Lestari"][1]  # 18 digits, untouched
    assert body["Dodi Pratama"][3:6] == ["2", "100", "Ya"]

    response = await client.get(url, params={"run_id": case["run"], "format": "xlsx"},
                                headers=headers)  # fmt: skip
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "NIP"
    by_name = {r[1]: r for r in rows[1:]}
    assert set(by_name) == set(case["people"])
    nip_cell = sheet.cell(row=2, column=1)
    assert isinstance(nip_cell.value, str) and len(nip_cell.value) == 18
    assert nip_cell.number_format == "@"
    assert by_name["Citra Dewi"][4] == 50 and by_name["Citra Dewi"][5] == "Tidak"
    assert by_name["Eka Putri"][4] is None and by_name["Eka Putri"][6] == "Belum mengerjakan"


def test_csv_export_defuses_formulas() -> None:
    from app.quizzes.schemas import ResultRow

    row = ResultRow(user_id=1, nip="199001012015031001", name="=HYPERLINK(1)", opd="-OPD",
                    attempts=0, grade_percent=None, passed=None, state="not_started",
                    last_attempt_id=None, submitted_at=None)  # fmt: skip
    text = reports.results_csv([row]).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text and "'-OPD" in text
    sheet = load_workbook(io.BytesIO(reports.results_xlsx([row]))).active
    assert sheet is not None
    assert sheet.cell(row=2, column=2).data_type == "s"


# --- item analysis --------------------------------------------------------------------------


async def test_item_analysis_hand_checked_numbers(client: httpx.AsyncClient) -> None:
    case = await four_learners(client)
    with session_scope() as session:
        quiz = quiz_service.get_quiz(session, case["quiz"])
        report = reports.item_analysis(session, quiz, case["run"])
        everything = reports.item_analysis(session, quiz, case["run"], all_attempts=True)
    assert (report.attempts_graded, report.attempts_analysed, report.learners) == (5, 4, 4)
    q1, q2 = report.items
    assert (q1.number, q1.title, q1.type) == (1, "Q1", "single")
    # Q1 marks [1, 1, 1, 0] against the rest [1, 1, 0, 0]: r = 0.5 / sqrt(0.75).
    assert q1.facility_index == 75
    assert q2.facility_index == 50
    assert q1.discrimination_index == pytest.approx(100 * 0.5 / math.sqrt(0.75))
    assert q2.discrimination_index == pytest.approx(100 * 0.5 / math.sqrt(0.75))
    assert q1.flags == [] and q2.flags == []
    freq = {f.text: (f.count, f.percent, f.correct) for f in q1.frequencies}
    assert freq == {"Bandung": (3, 75, True), "Bogor": (1, 25, False), "Bekasi": (0, 0, False)}
    assert q2.no_response == 1  # Dodi's first attempt left Q2 blank
    assert {f.text: f.count for f in q2.frequencies}["Tiga"] == 1
    t = report.test
    assert t.n == 4 and t.mean == 62.5 and t.median == 75
    assert t.sd == pytest.approx(math.sqrt(6875 / 3))
    # Cronbach's alpha: k/(k-1) * (1 - (0.75 + 1) / 2.75) with item and total sums of squares.
    assert t.internal_consistency == pytest.approx(100 * 2 * (1 - 1.75 / 2.75))
    assert [c for _lo, _hi, c in t.bands] == [1, 0, 0, 0, 0, 1, 0, 0, 0, 2]
    assert report.max_band == 2
    assert everything.attempts_analysed == 5 and everything.items[0].facility_index == 80


async def test_item_analysis_flags_a_wrong_key(client: httpx.AsyncClient) -> None:
    """Learners who do well overall miss the item: negative discrimination, flagged."""
    gift = TWO_QUESTIONS + "\n::Q3::Warna langit cerah?{=Hijau ~Biru}\n"
    ids = make_course()
    run = make_run(ids["course"])
    quiz = make_quiz(ids["section"], gift=gift, kind="exercise")["quiz"]
    patterns = [
        {**RIGHT, "Warna langit cerah?": "Biru"},
        {**RIGHT, "Warna langit cerah?": "Biru"},
        {**wrong("Dua tambah dua?"), "Warna langit cerah?": "Hijau"},
        {
            "Ibu kota Jawa Barat?": "Bogor",
            "Dua tambah dua?": "Tiga",
            "Warna langit cerah?": "Hijau",
        },
    ]
    for n, picks in enumerate(patterns):
        _uid, _nip, headers = await learner(client, run, f"Peserta {n}")
        await take(client, quiz, headers, picks)
    with session_scope() as session:
        report = reports.item_analysis(session, quiz_service.get_quiz(session, quiz))
    q3 = report.items[2]
    assert q3.discrimination_index is not None and q3.discrimination_index < 0
    assert "negative_discrimination" in q3.flags
    assert any("negatif" in label for label in q3.flag_labels)


# --- essay queue ----------------------------------------------------------------------------


async def test_essay_queue_lists_ungraded_essays(client: httpx.AsyncClient) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    quiz = make_quiz(ids["section"])["quiz"]  # SAMPLE_GIFT: one essay among 7 questions
    _uid, _nip, headers = await learner(client, run, "Fajar Nugroho")

    def essay_only(questions: list[dict]) -> list[dict]:
        return [{"question_id": q["id"], "text": "SRIKANDI untuk surat dinas."}
                for q in questions if q["type"] == "essay"]  # fmt: skip

    result = await take(client, quiz, headers, answers=essay_only)
    assert result["state"] == "needs_grading"
    with session_scope() as session:
        queue = reports.essay_queue(session, [quiz])
    assert len(queue) == 1
    row = queue[0]
    assert (row.attempt_id, row.name, row.number, row.quiz_title) == (
        result["id"], "Fajar Nugroho", 1, "Tes Akhir"
    )  # fmt: skip
    assert len(row.essays) == 1 and row.essays[0].response == "SRIKANDI untuk surat dinas."
    assert row.essays[0].number == 7 and row.essays[0].points == 1

    officer = make_user(roles=("training_officer",))
    staff = await api_token(client, officer.nip or "")
    api = await client.get(f"/api/v1/quizzes/{quiz}/grading-queue", headers=staff)
    assert api.status_code == 200 and api.json()[0]["essays"][0]["question_id"]
    graded = await client.post(
        f"/api/v1/attempts/{result['id']}/grades",
        json=[{"question_id": row.essays[0].question_id, "points": 1}],
        headers=staff,
    )
    assert graded.status_code == 200 and graded.json()["state"] == "graded"
    with session_scope() as session:
        assert reports.essay_queue(session, [quiz]) == []


# --- pre/post -------------------------------------------------------------------------------


async def test_prepost_summary_and_rows(client: httpx.AsyncClient) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    pre = make_quiz(ids["section"], gift=TWO_QUESTIONS, kind="pretest", pass_score=0)["quiz"]
    post = make_quiz(ids["section"], gift=TWO_QUESTIONS, kind="posttest")["quiz"]
    plan = {  # name: (pre picks, post picks); 100 % = both right
        "Ani": (wrong("Dua tambah dua?"), RIGHT),  # 50 -> 100
        "Budi": (RIGHT, RIGHT),  # 100 -> 100
        "Citra": ({}, wrong("Dua tambah dua?")),  # 0 -> 50
        "Dodi": (RIGHT, None),  # pre only
    }
    for name, (before, after) in plan.items():
        _uid, _nip, headers = await learner(client, run, name)
        await take(client, pre, headers, before)
        if after is not None:
            await take(client, post, headers, after)
    await learner(client, run, "Eka")  # took nothing
    with session_scope() as session:
        report = reports.prepost(session, run)
    s = report.summary
    assert [q.id for q in report.pretests] == [pre] and [q.id for q in report.posttests] == [post]
    assert (s.matched, s.pre_only, s.post_only) == (3, 1, 0)
    assert s.mean_pre == 50 and s.mean_post == pytest.approx(250 / 3)
    assert s.mean_gain == pytest.approx(100 / 3)
    assert s.normalised_gain == pytest.approx(0.75)  # (1.0 + 0.5) / 2; Budi has no room
    assert (s.improved, s.same, s.worse) == (2, 1, 0)
    rows = {r.name: r for r in report.learners}
    assert set(rows) == {"Ani", "Budi", "Citra", "Dodi", "Eka"}
    assert (rows["Ani"].pre, rows["Ani"].post, rows["Ani"].gain) == (50, 100, 50)
    assert rows["Budi"].normalised_gain is None
    assert (rows["Dodi"].pre, rows["Dodi"].post, rows["Dodi"].gain) == (100, None, None)
    assert rows["Eka"].pre is None

    officer = make_user(roles=("training_officer",))
    api = await client.get(f"/api/v1/runs/{run}/prepost",
                           headers=await api_token(client, officer.nip or ""))  # fmt: skip
    assert api.status_code == 200
    assert api.json()["summary"]["matched"] == 3


# --- access ---------------------------------------------------------------------------------


async def test_report_apis_are_for_staff_only(client: httpx.AsyncClient) -> None:
    ids = make_course()
    run = make_run(ids["course"])
    quiz = make_quiz(ids["section"], gift=TWO_QUESTIONS)["quiz"]
    _uid, _nip, headers = await learner(client, run, "Gita")
    for url in (
        f"/api/v1/quizzes/{quiz}/results",
        f"/api/v1/quizzes/{quiz}/results?format=csv",
        f"/api/v1/quizzes/{quiz}/analysis",
        f"/api/v1/quizzes/{quiz}/grading-queue",
        f"/api/v1/runs/{run}/prepost",
    ):
        response = await client.get(url, headers=headers)
        assert response.status_code == 403, (url, response.text)
        assert (await client.get(url)).status_code == 401
    admin = make_user(roles=("content_admin",))
    staff = await api_token(client, admin.nip or "")
    assert (await client.get(f"/api/v1/quizzes/{quiz}/analysis", headers=staff)).status_code == 200
    other = make_course()
    other_run = make_run(other["course"])
    wrong_run = await client.get(
        f"/api/v1/quizzes/{quiz}/results", params={"run_id": other_run}, headers=staff
    )
    assert wrong_run.status_code == 404
