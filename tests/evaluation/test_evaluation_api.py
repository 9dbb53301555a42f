"""The post-course survey and the RTL through the API: who may answer and read, validation that
names the question, once per learner and run, the aggregated report and its exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from app.core import clock, events
from app.core.db import session_scope
from app.courses.models import Run
from app.evaluation import service as evaluation_service
from app.evaluation.constants import DEFAULT_QUESTIONS
from tests.factories import api_token, enrol, make_course, make_run, make_user
from tests.queries import count_queries


@pytest.fixture
def announced() -> Iterator[list[int]]:
    seen: list[int] = []

    def listener(_session: Any, enrolment_id: int) -> None:
        seen.append(enrolment_id)

    events.on_enrolment_changed(listener)
    yield seen
    events._enrolment_listeners.remove(listener)


def _set_run(run_id: int, **values: Any) -> None:
    with session_scope() as session:
        run = session.get(Run, run_id)
        assert run is not None
        for key, value in values.items():
            setattr(run, key, value)


async def _setup(client: httpx.AsyncClient, learners: int = 1) -> dict[str, Any]:
    course = make_course()
    run_id = make_run(course["course"])
    _set_run(run_id, instructors="Dr. Budi Santoso\n\n  Siti Aminah, M.Si. \nDr. Budi Santoso\n")
    users = [make_user() for _ in range(learners)]
    enrolments = [enrol(run_id, u.id) for u in users]
    headers = [await api_token(client, u.email or "") for u in users]
    return {"course": course, "run": run_id, "enrolments": enrolments, "h": headers}


def _full_answers(form: dict[str, Any], likert: int = 4, text: str = "") -> list[dict[str, Any]]:
    answers = []
    for q in form["questions"]:
        names = form["instructors"] if q["target"] == "instructor" else [None]
        for name in names:
            value: Any = likert if q["kind"] == "likert" else text
            answer: dict[str, Any] = {"question_id": q["id"], "value": value}
            if name:
                answer["instructor"] = name
            answers.append(answer)
    return answers


async def test_default_survey_is_answered_once_and_announced(
    client: httpx.AsyncClient, announced: list[int]
) -> None:
    s = await _setup(client)
    h = s["h"][0]
    form = (await client.get(f"/api/v1/runs/{s['run']}/survey", headers=h)).json()
    assert form["instructors"] == ["Dr. Budi Santoso", "Siti Aminah, M.Si."]
    assert [q["text"] for q in form["questions"]] == [t for _k, _t, t, _r in DEFAULT_QUESTIONS]
    assert form["submitted"] is False and form["answers"] == []
    answers = _full_answers(form, likert=5, text="Materi SPBE sangat berguna.")
    r = await client.post(f"/api/v1/runs/{s['run']}/survey", json={"answers": answers}, headers=h)
    assert r.status_code == 201, r.text
    assert announced == [s["enrolments"][0]]
    again = await client.post(
        f"/api/v1/runs/{s['run']}/survey", json={"answers": answers}, headers=h
    )
    assert again.status_code == 409 and again.json()["error"] == "survey_already_sent"
    mine = (await client.get(f"/api/v1/runs/{s['run']}/survey", headers=h)).json()
    assert mine["submitted"] is True
    instructor_items = [a for a in mine["answers"] if a["instructor"]]
    assert len(instructor_items) == 2 * 4  # four instructor items, two instructors
    with session_scope() as session:
        assert evaluation_service.survey_sent(session, s["enrolments"][0])
        assert not evaluation_service.rtl_sent(session, s["enrolments"][0])


async def test_validation_names_each_question(client: httpx.AsyncClient) -> None:
    s = await _setup(client)
    h = s["h"][0]
    form = (await client.get(f"/api/v1/runs/{s['run']}/survey", headers=h)).json()
    answers = _full_answers(form)
    first, instructor_q = form["questions"][0], form["questions"][9]
    answers = [a for a in answers if a["question_id"] != first["id"]]  # the first left out
    for a in answers:
        if a["question_id"] == instructor_q["id"] and a.get("instructor") == "Siti Aminah, M.Si.":
            a["value"] = 9
    answers.append({"question_id": 999_999, "value": 3})
    r = await client.post(f"/api/v1/runs/{s['run']}/survey", json={"answers": answers}, headers=h)
    assert r.status_code == 422
    body = r.json()
    assert body["detail"].startswith("Pertanyaan 999999 tidak ada")
    messages = {e["field"]: e["message"] for e in body["errors"]}
    assert messages[f"q{first['id']}"] == (
        'Pertanyaan 1 ("Materi pelatihan sesuai dengan kebutuhan tugas dan jabatan saya.") '
        "wajib dijawab."
    )
    assert messages[f"q{instructor_q['id']}_i1"] == (
        'Pertanyaan 10 tentang pengajar Siti Aminah, M.Si. ("Pengajar menguasai materi yang '
        'disampaikan."): pilih nilai 1 sampai 5.'
    )
    unknown = await client.post(
        f"/api/v1/runs/{s['run']}/survey",
        json={"answers": [{"question_id": instructor_q["id"], "instructor": "Orang Lain", "value": 3}]},
        headers=h,
    )  # fmt: skip
    assert 'Pengajar "Orang Lain" tidak ada' in unknown.json()["detail"]
    with session_scope() as session:
        assert not evaluation_service.survey_sent(session, s["enrolments"][0])


async def test_only_enrolled_learners_answer_and_only_staff_read_the_report(
    client: httpx.AsyncClient,
) -> None:
    s = await _setup(client, learners=3)
    run = s["run"]
    form = (await client.get(f"/api/v1/runs/{run}/survey", headers=s["h"][0])).json()
    for i, (likert, text) in enumerate([(5, '=HYPERLINK("http://x")'), (4, "Bagus"), (2, "")]):
        answers = _full_answers(form, likert=likert, text=text)
        r = await client.post(f"/api/v1/runs/{run}/survey", json={"answers": answers},
                              headers=s["h"][i])  # fmt: skip
        assert r.status_code == 201
    outsider = await api_token(client, make_user().email or "")
    assert (await client.get(f"/api/v1/runs/{run}/survey", headers=outsider)).status_code == 403
    refused = await client.post(
        f"/api/v1/runs/{run}/survey", json={"answers": _full_answers(form)}, headers=outsider
    )
    assert refused.status_code == 403 and refused.json()["error"] == "not_enrolled"
    for who in (
        s["h"][0],
        outsider,
        await api_token(client, make_user(roles=("content_admin",)).email or ""),
    ):
        assert (
            await client.get(f"/api/v1/runs/{run}/survey/report", headers=who)
        ).status_code == 403
    officer = await api_token(client, make_user(roles=("training_officer",)).email or "")
    report = (await client.get(f"/api/v1/runs/{run}/survey/report", headers=officer)).json()
    assert report["responses"] == 3 and report["enrolled"] == 3
    first = report["items"][0]
    assert first["count"] == 3 and first["mean"] == pytest.approx(3.67)
    assert first["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}
    per_item = [i for i in report["items"] if i["instructor"] == "Siti Aminah, M.Si."]
    assert len(per_item) == 4 and all(i["count"] == 3 for i in per_item)
    assert [(i["name"], i["count"]) for i in report["instructors"]] == [
        ("Dr. Budi Santoso", 12), ("Siti Aminah, M.Si.", 12)
    ]  # fmt: skip
    texts = {t["text"]: t["answers"] for t in report["texts"]}
    assert texts["Hal apa yang paling bermanfaat dari pelatihan ini?"] == [
        '=HYPERLINK("http://x")',
        "Bagus",
    ]  # optional and left blank by the third learner
    csv_r = await client.get(f"/api/v1/runs/{run}/survey/report?format=csv", headers=officer)
    assert csv_r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(csv_r.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["Bagian", "Pertanyaan", "Pengajar", "Jumlah jawaban", "Rata-rata"]
    assert rows[1][1].startswith("Materi pelatihan") and rows[1][3:10] == [
        "3", "3.67", "0", "1", "0", "1", "1"
    ]  # fmt: skip
    assert [rows[-4][0], rows[-4][10]] == ["Jawaban teks", '\'=HYPERLINK("http://x")']
    xlsx_r = await client.get(f"/api/v1/runs/{run}/survey/report?format=xlsx", headers=officer)
    sheet = load_workbook(io.BytesIO(xlsx_r.content)).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    formula_cells = [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert formula_cells == []
    assert any(row[10] == '=HYPERLINK("http://x")' for row in values if len(row) > 10)
    assert values[1][:4] == ["Responden", 3, "Peserta", 3]


async def test_course_survey_replaces_the_default_and_reports_keep_old_questions(
    client: httpx.AsyncClient,
) -> None:
    s = await _setup(client)
    course_id = s["course"]["course"]
    editor = await api_token(client, make_user(roles=("content_admin",)).email or "")
    default = (await client.get(f"/api/v1/courses/{course_id}/survey", headers=editor)).json()
    assert default["uses_default"] is True and len(default["questions"]) == len(DEFAULT_QUESTIONS)
    learner_h = s["h"][0]
    assert (
        await client.get(f"/api/v1/courses/{course_id}/survey", headers=learner_h)
    ).status_code == 403
    own = {
        "questions": [
            {"kind": "likert", "text": "Studi kasus relevan dengan OPD saya."},
            {"kind": "likert", "target": "instructor", "text": "Narasumber komunikatif."},
            {"kind": "text", "text": "Topik lanjutan yang Anda perlukan?", "required": False},
        ]
    }
    saved = await client.put(f"/api/v1/courses/{course_id}/survey", json=own, headers=editor)
    assert saved.status_code == 200 and saved.json()["uses_default"] is False
    form = (await client.get(f"/api/v1/runs/{s['run']}/survey", headers=learner_h)).json()
    assert [q["text"] for q in form["questions"]] == [q["text"] for q in own["questions"]]
    answers = _full_answers(form, likert=3)
    answers = [a for a in answers if a["value"] != ""]
    r = await client.post(f"/api/v1/runs/{s['run']}/survey", json={"answers": answers},
                          headers=learner_h)  # fmt: skip
    assert r.status_code == 201, r.text
    # Editing the set later leaves the report of answers already given as it was.
    await client.put(f"/api/v1/courses/{course_id}/survey", json={"questions": []}, headers=editor)
    back = (await client.get(f"/api/v1/courses/{course_id}/survey", headers=editor)).json()
    assert back["uses_default"] is True
    admin = await api_token(client, make_user(roles=("admin",)).email or "")
    report = (await client.get(f"/api/v1/runs/{s['run']}/survey/report", headers=admin)).json()
    assert [i["text"] for i in report["items"]] == [
        "Studi kasus relevan dengan OPD saya.", "Narasumber komunikatif.", "Narasumber komunikatif."
    ]  # fmt: skip
    # The institution default set: admins only, and never empty.
    assert (await client.put("/api/v1/survey-default", json={"questions": []},
                             headers=editor)).status_code == 403  # fmt: skip
    empty = await client.put("/api/v1/survey-default", json={"questions": []}, headers=admin)
    assert empty.status_code == 422


async def test_rtl_rules(client: httpx.AsyncClient, announced: list[int]) -> None:
    s = await _setup(client, learners=2)
    run, h = s["run"], s["h"][0]
    url = f"/api/v1/runs/{run}/rtl"
    assert (await client.get(url, headers=h)).status_code == 404
    today = clock.today()
    short = await client.put(url, json={"plan": "Terapkan", "target_date": str(today)}, headers=h)
    assert short.status_code == 422 and short.json()["field"] == "plan"
    past = await client.put(
        url,
        json={"plan": "Menerapkan tanda tangan elektronik di OPD.", "target_date": str(today - dt.timedelta(days=1))},
        headers=h,
    )  # fmt: skip
    assert past.status_code == 422 and past.json()["field"] == "target_date"
    plan = "Menerapkan tanda tangan elektronik untuk surat dinas di bidang saya."
    target = today + dt.timedelta(days=90)
    sent = await client.put(url, json={"plan": plan, "target_date": str(target)}, headers=h)
    assert sent.status_code == 200 and sent.json()["editable"] is True
    assert announced == [s["enrolments"][0]]
    changed = await client.put(
        url, json={"plan": plan + " Mulai Januari.", "target_date": str(target)}, headers=h
    )
    assert changed.json()["plan"].endswith("Mulai Januari.")
    # Another learner sees only their own (none yet); an outsider is refused.
    assert (await client.get(url, headers=s["h"][1])).status_code == 404
    outsider = await api_token(client, make_user().email or "")
    assert (await client.get(url, headers=outsider)).status_code == 403
    with session_scope() as session:
        assert evaluation_service.submissions(session, s["enrolments"]) == {
            s["enrolments"][0]: (False, True),
            s["enrolments"][1]: (False, False),
        }
    # After the run ends it can no longer change.
    _set_run(run, ends_on=today - dt.timedelta(days=1))
    closed = await client.put(url, json={"plan": plan, "target_date": str(target)}, headers=h)
    assert closed.status_code == 409 and closed.json()["error"] == "rtl_closed"
    assert (await client.get(url, headers=h)).json()["editable"] is False
    # A learner who never sent one may still send it late (so that completion can hold).
    late = await client.put(url, json={"plan": plan, "target_date": str(target)}, headers=s["h"][1])
    assert late.status_code == 200 and late.json()["editable"] is False


def test_submissions_take_two_queries() -> None:
    course = make_course()
    run_id = make_run(course["course"])
    ids = [enrol(run_id, make_user().id) for _ in range(5)]
    with session_scope() as session:
        session.connection()
        with count_queries() as seen:
            result = evaluation_service.submissions(session, ids)
    assert len(seen) == 2 and result == {i: (False, False) for i in ids}


def test_rules_are_pure() -> None:
    assert evaluation_service.instructors_of(" A \n\na\nB  C\n") == ["A", "B C"]
    today = dt.date(2026, 5, 1)
    assert evaluation_service.check_rtl("x" * 20, today, today) == []
    assert [e["field"] for e in evaluation_service.check_rtl("x", dt.date(2026, 4, 30), today)] == [
        "plan", "target_date"
    ]  # fmt: skip
