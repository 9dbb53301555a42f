"""Eligibility as small named checks with plain Indonesian reasons naming what is missing;
GET /api/v1/runs/{run_id}/eligibility/{user_id} for the owner and staff only."""

from __future__ import annotations

from app.certificates import eligibility as e
from app.certificates.rules import resolve
from app.core.config import Settings
from app.core.db import session_scope
from tests.factories import (
    api_token,
    complete_activity,
    graded_attempt,
    make_completed_run,
    make_quiz,
    make_user,
)

COURSE = e.CourseFacts(
    course_id=1, code="LIT", title="Literasi", jp=10,
    required=[(1, "Video Pengantar"), (2, "Modul PDF"), (3, "Tes Akhir")],
    posttest_activity_ids=frozenset({3}),
)  # fmt: skip


def _rules(**overrides: object) -> object:
    return resolve(1, None, Settings(**overrides))  # type: ignore[arg-type]


def _learner(**kw: object) -> e.LearnerFacts:
    base: dict[str, object] = {"enrolment_id": 1, "user_id": 1, "enrolment_status": "active"}
    return e.LearnerFacts(**(base | kw))  # type: ignore[arg-type]


def test_missing_names_each_unmet_rule() -> None:
    rules = _rules(cert_require_survey=True, cert_require_rtl=True, cert_require_profile=True,
                   cert_min_learning_minutes=60)  # fmt: skip
    learner = _learner(
        statuses={1: "completed", 2: "in_progress"}, learning_seconds=35 * 60 + 10,
        posttest_grades=[55.0], posttest_best=[55.0],
        missing_profile=("pangkat_golongan", "opd"),
    )  # fmt: skip
    result = e.evaluate(COURSE, learner, rules)  # type: ignore[arg-type]
    reasons = {c.name: c.reason for c in result.missing}
    assert not result.eligible and not result.completed
    assert reasons == {
        "required_activities": "Aktivitas wajib belum selesai (1): Modul PDF.",
        "posttest_passed": "Post-test belum lulus (nilai terbaik 55, minimal 70).",
        "min_learning_time": "Waktu belajar baru 35 menit, minimal 60 menit.",
        "survey_sent": "Evaluasi penyelenggaraan (survei) belum dikirim.",
        "rtl_sent": "Rencana tindak lanjut (RTL) belum dikirim.",
        "profile_complete": "Profil belum lengkap: pangkat/golongan, OPD.",
    }


def test_optional_rules_are_off_by_default() -> None:
    learner = _learner(statuses={1: "completed", 2: "completed"}, posttest_grades=[70.0],
                       posttest_best=[70.0])  # fmt: skip
    result = e.evaluate(COURSE, learner, _rules())  # type: ignore[arg-type]
    assert result.eligible and result.completed
    assert [c.name for c in result.checks] == [
        "enrolment_active",
        "required_activities",
        "posttest_passed",
        "not_already_issued",
    ]


def test_posttest_not_taken_and_issued_states() -> None:
    rules = _rules()
    taken = e.posttest_passed(COURSE, _learner(posttest_grades=[None]), rules)  # type: ignore[arg-type]
    assert not taken.passed and "belum dikerjakan" in taken.reason
    issued = _learner(certificate_status="valid", certificate_number="0001/LIT")
    assert e.not_already_issued(issued).reason == "Sertifikat sudah terbit (nomor 0001/LIT)."
    assert e.not_already_issued(_learner(certificate_status="superseded")).passed
    assert not e.enrolment_active(_learner(enrolment_status="withdrawn")).passed


async def test_eligibility_api_owner_staff_and_others(client) -> None:  # type: ignore[no-untyped-def]
    data = make_completed_run(2, complete=False, auto_issue=False)
    quiz = make_quiz(data["section"], pass_score=60)  # type: ignore[arg-type]
    owner, other = data["users"]  # type: ignore[misc]
    eid = data["enrolments"][0]  # type: ignore[index]
    complete_activity(eid, data["pages"][0])  # type: ignore[index]
    graded_attempt(quiz["quiz"], owner, eid, data["run"], 55)  # type: ignore[arg-type]
    with session_scope() as session:
        from app.accounts.models import User

        email_owner = session.get(User, owner).email  # type: ignore[union-attr]
        email_other = session.get(User, other).email  # type: ignore[union-attr]
    url = f"/api/v1/runs/{data['run']}/eligibility/{owner}"
    body = (await client.get(url, headers=await api_token(client, email_owner))).json()
    assert body["eligible"] is False
    failed = {c["name"]: c["reason"] for c in body["checks"] if not c["passed"]}
    assert failed == {
        "required_activities": "Aktivitas wajib belum selesai (1): Bacaan 2.",
        "posttest_passed": "Post-test belum lulus (nilai terbaik 55, minimal 70).",
    }
    assert (await client.get(url, headers=await api_token(client, email_other))).status_code == 404
    officer = make_user(roles=("training_officer",))
    staff = await client.get(url, headers=await api_token(client, officer.email))
    assert staff.status_code == 200
    graded_attempt(quiz["quiz"], owner, eid, data["run"], 80)  # type: ignore[arg-type]
    complete_activity(eid, data["pages"][1])  # type: ignore[index]
    body = (await client.get(url, headers=await api_token(client, email_owner))).json()
    assert body["eligible"] is True and body["completed"] is True
