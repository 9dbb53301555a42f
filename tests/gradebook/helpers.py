"""A blended run for the gradebook tests: a page, a post-test, two assignments and a live
session, with the live and assignments domains faked at their function boundary (the contract's
AttendanceSummary / released grades) unless a test uses the real ones."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from app.certificates.models import CertificationRules
from app.core.db import session_scope
from app.courses.models import RunStaff
from app.gradebook import service as gradebook_service
from tests.factories import (
    complete_activity,
    enrol,
    graded_attempt,
    make_activity,
    make_course,
    make_learner,
    make_quiz,
    make_run,
)

WEIGHTS = {"posttest": 40, "assignments": 40, "attendance": 20}


@dataclass(frozen=True, slots=True)
class Summary:
    """app.live.service.AttendanceSummary as the contract has it."""

    sessions: int
    attended: int
    percent: float
    attended_minutes: int


@dataclass
class Fakes:
    """What the live and assignments domains answer, per test."""

    attendance: dict[int, Summary] = field(default_factory=dict)  # user id -> summary
    released: dict[tuple[int, int], float] = field(default_factory=dict)
    items: list[gradebook_service.AssignmentRef] = field(default_factory=list)

    def attend(self, user_id: int, percent: float, minutes: int = 0) -> None:
        self.attendance[user_id] = Summary(4, round(4 * percent / 100), percent, minutes)


def install_fakes(monkeypatch: pytest.MonkeyPatch) -> Fakes:
    from app.certificates import service as cert_service

    fakes = Fakes()
    none = Summary(0, 0, 100.0, 0)
    monkeypatch.setattr(cert_service, "attendance_by_user", lambda _s, _r: dict(fakes.attendance))
    monkeypatch.setattr(
        cert_service, "attendance_of", lambda _s, _r, uid: fakes.attendance.get(uid, none)
    )
    monkeypatch.setattr(
        cert_service, "assignment_items",
        lambda _s, _c: [(i.activity_id, i.title, i.weight) for i in fakes.items],
    )  # fmt: skip
    monkeypatch.setattr(cert_service, "released_grades", lambda _s, _r: dict(fakes.released))
    return fakes


@dataclass
class Blended:
    course: int
    run: int
    page: int
    quiz: int
    posttest_activity: int
    report: int  # assignment "Laporan Aktualisasi", weight 2, required (assignment_passed)
    rtl: int  # assignment "Dokumen RTL", weight 1, not required
    session: int  # live session
    users: list[int]
    enrolments: list[int]


def blended_run(
    fakes: Fakes,
    learners: int = 2,
    *,
    weights: dict[str, float] | None = None,
    min_attendance: float | None = None,
    auto_issue: bool = False,
) -> Blended:
    ids = make_course(pages=1, title="Latsar CPNS Angkatan Uji")
    quiz = make_quiz(ids["section"], gift="", kind="posttest")
    report = make_activity(ids["section"], kind="assignment", title="Laporan Aktualisasi",
                           completion_rule="assignment_passed")  # fmt: skip
    rtl = make_activity(ids["section"], kind="assignment", title="Dokumen RTL", required=False,
                        completion_rule="assignment_submitted")  # fmt: skip
    live = make_activity(ids["section"], kind="live_session", title="Sesi Klasikal 1",
                         required=False, completion_rule="attended")  # fmt: skip
    fakes.items[:] = [
        gradebook_service.AssignmentRef(report, "Laporan Aktualisasi", 2.0),
        gradebook_service.AssignmentRef(rtl, "Dokumen RTL", 1.0),
    ]
    with session_scope() as session:
        session.add(
            CertificationRules(
                course_id=ids["course"],
                score_formula="weighted",
                weights_json=json.dumps(weights or WEIGHTS),
                min_attendance_percent=min_attendance,
                auto_issue=auto_issue,
            )
        )
    run_id = make_run(ids["course"])
    users: list[int] = []
    enrolments: list[int] = []
    for i in range(learners):
        user = make_learner(name=f"Peserta {i + 1:03d}")
        users.append(user.id)
        enrolments.append(enrol(run_id, user.id))
    return Blended(ids["course"], run_id, ids["page1"], quiz["quiz"], quiz["activity"], report,
                   rtl, live, users, enrolments)  # fmt: skip


def grade_all(data: Blended, fakes: Fakes, *, posttest: float = 80, report: float = 90,
              rtl: float = 60, attendance: float = 100) -> None:  # fmt: skip
    """Every learner: the page read, the post-test graded, both assignments released."""
    for uid, eid in zip(data.users, data.enrolments, strict=True):
        fakes.attend(uid, attendance, minutes=120)
        fakes.released[(data.report, uid)] = report
        fakes.released[(data.rtl, uid)] = rtl
        graded_attempt(data.quiz, uid, eid, data.run, posttest)


def finish(data: Blended, index: int = 0) -> None:
    """The learner reads the page and passes the report (what the assign helper completes)."""
    eid = data.enrolments[index]
    complete_activity(eid, data.page)
    complete_activity(eid, data.report)


def add_staff(run_id: int, user_id: int, role: str) -> None:
    with session_scope() as session:
        session.add(RunStaff(run_id=run_id, user_id=user_id, role=role))
