"""The gradebook of a run: items with effective weights, rows with grades, final score and
predikat; who sees which rows; overrides used by the certificate; the XLSX export; the page;
a fixed number of statements; and the acceptance rule "attendance at least 80% and assignment
passed" completing the run with the predikat from the weighted final score."""

from __future__ import annotations

import io

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.auth.service import Principal
from app.certificates.models import Certificate, RunCompletion
from app.core import events
from app.core.config import get_settings
from app.core.db import session_scope
from app.gradebook import service
from tests.factories import (
    api_token,
    browser_login,
    enrol,
    issue_certificates,
    make_learner,
    make_run,
    make_user,
)
from tests.gradebook.helpers import (
    Blended,
    Fakes,
    add_staff,
    blended_run,
    finish,
    grade_all,
    install_fakes,
)
from tests.queries import count_queries


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Fakes:
    return install_fakes(monkeypatch)


def _officer() -> Principal:
    user = make_user(roles=("training_officer",), name="Petugas Diklat")
    return Principal(user_id=user.id, name=user.name, roles=frozenset({"training_officer"}),
                     via="token")  # fmt: skip


def _completion(eid: int) -> RunCompletion | None:
    with session_scope() as session:
        return session.get(RunCompletion, eid)


def test_items_weights_and_rows(fakes: Fakes) -> None:
    data = blended_run(fakes, 2)
    grade_all(data, fakes)
    fakes.attend(data.users[1], 50)
    del fakes.released[(data.rtl, data.users[1])]  # not released yet
    with session_scope() as session:
        book = service.gradebook(session, data.run, _officer(), get_settings())
    items = {i.id: i for i in book.items}
    assert list(items) == [f"posttest:{data.quiz}", f"assignment:{data.report}",
                           f"assignment:{data.rtl}", "attendance", "activities"]  # fmt: skip
    # post-test 40; assignments 40 split 2:1 by their weights; attendance 20; activities 0.
    assert [i.weight for i in book.items] == [40, 26.67, 13.33, 20, 0]
    assert items[f"assignment:{data.report}"].title == "Laporan Aktualisasi"
    first, second = book.rows
    assert first.user_id == data.users[0]
    assert first.grades[f"posttest:{data.quiz}"] == 80
    assert first.grades[f"assignment:{data.report}"] == 90
    assert first.grades["attendance"] == 100
    # (80*40 + ((90*2 + 60) / 3)*40 + 100*20) / 100
    assert first.final_score == 84.0 and first.predikat == "Memuaskan"
    assert second.grades[f"assignment:{data.rtl}"] is None
    assert second.final_score is None and second.predikat is None  # waits for the RTL grade


def test_posttest_formula_gives_the_posttest_all_the_weight(fakes: Fakes) -> None:
    data = blended_run(fakes, 1)
    with session_scope() as session:
        from app.certificates.models import CertificationRules

        rules = session.get(CertificationRules, data.course)
        assert rules is not None
        rules.score_formula = "posttest"
    grade_all(data, fakes, posttest=91)
    with session_scope() as session:
        book = service.gradebook(session, data.run, _officer(), get_settings())
    assert [i.weight for i in book.items if i.kind == "posttest"] == [100]
    assert sum(i.weight for i in book.items) == 100
    assert book.rows[0].final_score == 91 and book.rows[0].predikat == "Sangat Memuaskan"


async def test_who_sees_which_rows(client: httpx.AsyncClient, fakes: Fakes) -> None:
    data = blended_run(fakes, 2)
    other_run = make_run(data.course)
    grader = make_user(roles=("learner",), name="Penilai A")
    add_staff(data.run, grader.id, "grader")
    stranger = make_user(roles=("learner",), name="Fasilitator B")
    add_staff(other_run, stranger.id, "facilitator")
    outsider = make_learner(name="Peserta Angkatan B")
    enrol(other_run, outsider.id)
    url = f"/api/v1/runs/{data.run}/gradebook"

    assert (await client.get(url)).status_code == 401
    answer = await client.get(url, headers=await api_token(client, grader.email or ""))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert {"items", "rows"} <= set(body)
    assert {"id", "title", "weight"} <= set(body["items"][0])
    assert {"user_id", "grades", "final_score", "predikat"} <= set(body["rows"][0])
    assert [r["user_id"] for r in body["rows"]] == data.users

    with session_scope() as session:
        from app.accounts.models import User

        learner_email = session.get(User, data.users[1]).email  # type: ignore[union-attr]
    own = await client.get(url, headers=await api_token(client, learner_email or ""))
    assert own.status_code == 200
    assert [r["user_id"] for r in own.json()["rows"]] == [data.users[1]]

    for who in (stranger, outsider):
        headers = await api_token(client, who.email or "")
        assert (await client.get(url, headers=headers)).status_code == 403
        put = await client.put(f"{url}/overrides/{data.users[0]}", headers=headers,
                               json={"score": 99, "reason": "coba"})  # fmt: skip
        assert put.status_code == 403
    # A learner of the run cannot override either (only staff who grade).
    headers = await api_token(client, learner_email or "")
    put = await client.put(f"{url}/overrides/{data.users[1]}", headers=headers,
                           json={"score": 99, "reason": "nilai saya"})  # fmt: skip
    assert put.status_code == 403


async def test_override_is_audited_and_used_by_the_certificate(
    client: httpx.AsyncClient, fakes: Fakes
) -> None:
    data = blended_run(fakes, 2, auto_issue=False)
    grade_all(data, fakes)
    finish(data, 0)
    finish(data, 1)
    done = _completion(data.enrolments[0])
    assert done is not None and done.final_score == 84.0 and done.predikat == "Memuaskan"
    grader = make_user(roles=("learner",), name="Penilai A")
    add_staff(data.run, grader.id, "facilitator")
    headers = await api_token(client, grader.email or "")
    url = f"/api/v1/runs/{data.run}/gradebook/overrides/{data.users[0]}"
    bad = await client.put(url, headers=headers, json={"score": 101, "reason": "x"})
    assert bad.status_code == 422
    answer = await client.put(url, headers=headers,
                              json={"score": 92.5, "reason": "Hasil remedial  laporan"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json()["reason"] == "Hasil remedial laporan"
    done = _completion(data.enrolments[0])
    assert done is not None and done.final_score == 92.5 and done.predikat == "Sangat Memuaskan"
    book = (await client.get(f"/api/v1/runs/{data.run}/gradebook", headers=headers)).json()
    row = book["rows"][0]
    assert row["final_score"] == 92.5 and row["computed_score"] == 84.0
    assert row["predikat"] == "Sangat Memuaskan" and row["override"]["by_id"] == grader.id
    with session_scope() as session:
        actions = list(session.scalars(select(AuditEntry.action)))
    assert "gradebook.score_overridden" in actions
    # The officer issues: the certificate prints the overridden score and its predikat.
    officer = make_user(roles=("training_officer",), name="Petugas")
    officer_headers = await api_token(client, officer.email or "")
    issued = await client.post(f"/api/v1/runs/{data.run}/certificates", headers=officer_headers,
                               json={"user_ids": [data.users[0]]})  # fmt: skip
    assert issued.status_code in (200, 201), issued.text
    with session_scope() as session:
        cert = session.scalar(select(Certificate).where(Certificate.user_id == data.users[0]))
        assert cert is not None and cert.score == 92.5 and cert.predikat == "Sangat Memuaskan"
    # Cleared: back to the computed score for the other learner's stored completion too.
    url2 = f"/api/v1/runs/{data.run}/gradebook/overrides/{data.users[1]}"
    assert (await client.put(url2, headers=headers,
                             json={"score": 50, "reason": "keputusan rapat"})).status_code == 200  # fmt: skip
    assert _completion(data.enrolments[1]).predikat == "Tidak Memuaskan"  # type: ignore[union-attr]
    assert (await client.delete(url2, headers=headers)).status_code == 204
    assert (await client.delete(url2, headers=headers)).status_code == 404
    assert _completion(data.enrolments[1]).final_score == 84.0  # type: ignore[union-attr]


def test_override_set_before_completion_goes_on_the_auto_issued_certificate(fakes: Fakes) -> None:
    from app.gradebook.schemas import OverrideIn

    data = blended_run(fakes, 1, auto_issue=True)
    grade_all(data, fakes)
    with session_scope() as session:
        service.set_override(session, data.run, data.users[0],
                             OverrideIn(score=70.5, reason="Keputusan rapat penilaian"),
                             _officer(), get_settings())  # fmt: skip
    finish(data)
    with session_scope() as session:
        cert = session.scalar(select(Certificate).where(Certificate.run_id == data.run))
        assert cert is not None and cert.score == 70.5 and cert.predikat == "Cukup Memuaskan"


def test_attendance_and_assignment_passed_complete_the_run(fakes: Fakes) -> None:
    """Acceptance: the course rule "attendance at least 80% and assignment passed" completes
    the run once both hold, and the certificate shows the predikat of the weighted score."""
    data = blended_run(fakes, 1, min_attendance=80, auto_issue=True)
    grade_all(data, fakes, attendance=75)
    uid, eid = data.users[0], data.enrolments[0]
    complete_activity_page_only = data.page
    from tests.factories import complete_activity

    complete_activity(eid, complete_activity_page_only)
    assert _completion(eid) is None  # the report is not passed yet
    complete_activity(eid, data.report)  # graded at or above its pass mark (assign helper)
    assert _completion(eid) is None  # attendance 75% < 80%
    with session_scope() as session:
        from app.certificates import service as cert_service

        [check] = cert_service.missing(session, data.run, uid, get_settings())
        assert check.name == "attendance_min"
        assert check.reason == "Kehadiran baru 75%, minimal 80%."
    fakes.attend(uid, 87.5, minutes=180)  # the facilitator marks a late arrival present
    with session_scope() as session:
        events.enrolment_changed(session, eid)  # what the live helper announces
    done = _completion(eid)
    assert done is not None
    # (80*40 + 80*40 + 87.5*20) / 100 = 81.5: "Memuaskan" (above 80).
    assert done.final_score == 81.5 and done.predikat == "Memuaskan"
    issue_certificates()  # the outbox's auto-issue, right after the commit
    with session_scope() as session:
        cert = session.scalar(select(Certificate).where(Certificate.run_id == data.run))
        assert cert is not None and cert.predikat == "Memuaskan" and cert.score == 81.5


def test_attended_classroom_minutes_count_as_learning_time(fakes: Fakes) -> None:
    data = blended_run(fakes, 1)
    fakes.attend(data.users[0], 100, minutes=135)
    with session_scope() as session:
        from app.certificates import service as cert_service

        rows = cert_service.run_monitor(session, data.run, get_settings())
    assert rows[0].learning_minutes == 135


def test_xlsx_export(fakes: Fakes) -> None:
    from app.gradebook import exports

    data = blended_run(fakes, 2)
    grade_all(data, fakes)
    with session_scope() as session:
        book = service.gradebook(session, data.run, _officer(), get_settings())
    sheet = load_workbook(io.BytesIO(exports.gradebook_xlsx(book))).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Nama", "NIP", "Tes Akhir (40%)")
    assert "Nilai akhir" in rows[0] and "Predikat" in rows[0]
    assert rows[1][0] == "Peserta 001" and "Memuaskan" in rows[1]
    assert isinstance(rows[1][1], str)  # NIP as text


@pytest.mark.parametrize("real", [False, True], ids=["faked", "real-live-assignments"])
def test_statements_do_not_grow_with_learners_or_items(
    monkeypatch: pytest.MonkeyPatch, real: bool
) -> None:
    """Faked: the other domains answer from memory; real: app.live and app.assignments run
    their own (fixed) queries over these bare activities."""
    fakes = Fakes() if real else install_fakes(monkeypatch)
    officer = _officer()

    def count(data: Blended) -> int:
        for _ in range(2):  # warm the caches (the first call makes the institution template)
            with session_scope() as session:
                service.gradebook(session, data.run, officer, get_settings())
        with session_scope() as session, count_queries() as statements:
            book = service.gradebook(session, data.run, officer, get_settings())
        assert book.rows
        return len(statements)

    small = blended_run(fakes, 2)
    grade_all(small, fakes)
    few = count(small)
    big = blended_run(fakes, 12)
    grade_all(big, fakes)
    with session_scope() as session:  # overrides read: one statement more, whatever their number
        from app.gradebook.models import GradeOverride

        for uid in big.users[:5]:
            session.add(GradeOverride(run_id=big.run, user_id=uid, score=75, reason="uji"))
    many = count(big)
    assert many <= few + 1, (few, many)
    assert many <= 15, many  # 14 with the real live and assignments domains


async def test_page_staff_and_learner(client: httpx.AsyncClient, fakes: Fakes) -> None:
    data = blended_run(fakes, 2)
    grade_all(data, fakes)
    grader = make_user(roles=("learner",), name="Penilai A", email="penilai.a@example.go.id")
    add_staff(data.run, grader.id, "grader")
    csrf = await browser_login(client, "penilai.a@example.go.id")
    page = await client.get(f"/runs/{data.run}/gradebook")
    assert page.status_code == 200, page.text
    assert "Peserta 001" in page.text and "Peserta 002" in page.text
    assert 'class="sticky-col"' in page.text and "css/gradebook." in page.text
    assert "bobot 26,67%" in page.text
    assert f"/runs/{data.run}/gradebook.xlsx" in page.text
    form = await client.get(f"/runs/{data.run}/gradebook?edit={data.users[0]}")
    assert 'id="o-score"' in form.text
    bad = await client.post(f"/runs/{data.run}/gradebook/{data.users[0]}/override",
                            data={"csrf_token": csrf, "score": "abc", "reason": ""})  # fmt: skip
    assert bad.status_code == 422 and "field-error" in bad.text
    saved = await client.post(f"/runs/{data.run}/gradebook/{data.users[0]}/override",
                              data={"csrf_token": csrf, "score": "95,5",
                                    "reason": "Remedial"})  # fmt: skip
    assert saved.status_code == 303
    page = await client.get(saved.headers["location"])
    assert "95,5" in page.text and "diubah manual: Remedial" in page.text
    xlsx = await client.get(f"/runs/{data.run}/gradebook.xlsx")
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")


async def test_page_learner_sees_own_row(client: httpx.AsyncClient, fakes: Fakes) -> None:
    data = blended_run(fakes, 2)
    grade_all(data, fakes)
    with session_scope() as session:
        from app.accounts.models import User

        email = session.get(User, data.users[1]).email  # type: ignore[union-attr]
    await browser_login(client, email or "")
    page = await client.get(f"/runs/{data.run}/gradebook")
    assert page.status_code == 200
    assert "Peserta 002" in page.text and "Peserta 001" not in page.text
    assert "?edit=" not in page.text and "gradebook.xlsx" not in page.text
    other = make_run(data.course)
    assert (await client.get(f"/runs/{other}/gradebook")).status_code == 403
