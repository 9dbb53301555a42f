"""Acceptance with the real live and assignments domains, through the API: a course rule
"attendance at least 80% and assignment passed" completes the run once the facilitator has
marked the learner and released a passing grade, and the auto-issued certificate shows the
predikat of the weighted final score (post-test 40, assignments 40, attendance 20). The
gradebook shows the same figures."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import select

from app.certificates.models import Certificate, CertificationRules, RunCompletion
from app.core.db import session_scope
from tests.factories import (
    api_token,
    complete_activity,
    enrol,
    graded_attempt,
    issue_certificates,
    make_course,
    make_learner,
    make_quiz,
    make_run,
    make_user,
)
from tests.gradebook.helpers import add_staff
from tests.queries import count_queries


async def _activity(client: httpx.AsyncClient, headers: dict[str, str], section: int,
                    **form: Any) -> int:  # fmt: skip
    answer = await client.post(f"/api/v1/sections/{section}/activities", headers=headers,
                               data={k: str(v) for k, v in form.items()})  # fmt: skip
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _completion(eid: int) -> RunCompletion | None:
    with session_scope() as session:
        return session.get(RunCompletion, eid)


async def test_attendance_and_passed_assignment_complete_with_weighted_predikat(
    client: httpx.AsyncClient,
) -> None:
    ids = make_course(pages=1, title="Latsar CPNS")
    quiz = make_quiz(ids["section"], gift="", kind="posttest")
    with session_scope() as session:
        session.add(CertificationRules(
            course_id=ids["course"], score_formula="weighted", auto_issue=True,
            weights_json=json.dumps({"posttest": 40, "assignments": 40, "attendance": 20}),
            min_attendance_percent=80,
        ))  # fmt: skip
    run = make_run(ids["course"])
    admin = await api_token(client, make_user(roles=("content_admin",), name="Admin").email or "")
    report = await _activity(
        client, admin, ids["section"], kind="assignment", title="Laporan Aktualisasi",
        instructions="Unggah laporan.", due_at="2026-12-20T17:00", online_text="true",
        max_points=100, pass_points=70, completion_rule="assignment_passed",
    )  # fmt: skip
    sessions = [
        await _activity(
            client, admin, ids["section"], kind="live_session", title=f"Sesi Klasikal {n}",
            starts_at=f"2026-12-0{n}T08:00", ends_at=f"2026-12-0{n}T10:00", location="Aula",
            required="false",
        )
        for n in (1, 2)
    ]  # fmt: skip
    facilitator = make_user(name="Fasilitator Satu")
    add_staff(run, facilitator.id, "facilitator")
    fac = await api_token(client, facilitator.email or "")
    learner = make_learner(name="Dewi Peserta")
    eid = enrol(run, learner.id)
    me = await api_token(client, learner.email or "")

    complete_activity(eid, ids["page1"])
    graded_attempt(quiz["quiz"], learner.id, eid, run, 80)
    sent = await client.post(f"/api/v1/assignments/{report}/submissions", headers=me,
                             json={"text": "Laporan aktualisasi saya."})  # fmt: skip
    assert sent.status_code == 201, sent.text
    graded = await client.post(f"/api/v1/submissions/{sent.json()['id']}/grade", headers=fac,
                               json={"points": 90})  # fmt: skip
    assert graded.status_code == 200, graded.text
    for aid, status in zip(sessions, ("present", "absent"), strict=True):
        marked = await client.post(f"/api/v1/sessions/{aid}/attendance", headers=fac,
                                   json={"user_id": learner.id, "status": status})  # fmt: skip
        assert marked.status_code == 200, marked.text
    released = await client.post(f"/api/v1/assignments/{report}/release", headers=fac,
                                 params={"run_id": run})  # fmt: skip
    assert released.status_code == 200, released.text
    assert _completion(eid) is None  # assignment passed, but attendance 50% < 80%
    officer = await api_token(client, make_user(roles=("training_officer",)).email or "")
    checks = (await client.get(f"/api/v1/runs/{run}/eligibility/{learner.id}",
                               headers=officer)).json()  # fmt: skip
    failed = [c for c in checks["checks"] if not c["passed"]]
    assert [c["name"] for c in failed] == ["attendance_min"], failed
    assert failed[0]["reason"] == "Kehadiran baru 50%, minimal 80%."

    marked = await client.post(f"/api/v1/sessions/{sessions[1]}/attendance", headers=fac,
                               json={"user_id": learner.id, "status": "late"})  # fmt: skip
    assert marked.status_code == 200
    done = _completion(eid)
    assert done is not None
    # (80*40 + 90*40 + 100*20) / 100 = 88: "Memuaskan" (above 80, not above 90).
    assert done.final_score == 88.0 and done.predikat == "Memuaskan"
    issue_certificates()  # the outbox's auto-issue, right after the commit
    with session_scope() as session:
        cert = session.scalar(select(Certificate).where(Certificate.run_id == run))
        assert cert is not None and cert.score == 88.0 and cert.predikat == "Memuaskan"

    with count_queries() as statements:
        book = await client.get(f"/api/v1/runs/{run}/gradebook", headers=fac)
    assert book.status_code == 200
    body = book.json()
    assert [(i["title"], i["weight"]) for i in body["items"]] == [
        ("Tes Akhir", 40), ("Laporan Aktualisasi", 40), ("Kehadiran", 20),
        ("Aktivitas wajib selesai", 0),
    ]  # fmt: skip
    [row] = body["rows"]
    assert row["grades"][f"assignment:{report}"] == 90 and row["grades"]["attendance"] == 100
    assert row["final_score"] == 88 and row["predikat"] == "Memuaskan"
    print("gradebook statements (real live + assignments):", len(statements))
