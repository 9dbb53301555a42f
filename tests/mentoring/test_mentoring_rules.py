"""The mentoring rules as pure functions (no database), and the dashboard's waiting counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.auth.service import Principal
from app.core.config import get_settings
from app.core.db import session_scope, utcnow
from app.mentoring import service
from app.mentoring.models import MentoringAssignment, MentoringSession
from app.mentoring.schemas import SessionCreate
from tests.factories import make_user

D = dt.date


def _assignment(**extra: Any) -> MentoringAssignment:
    values: dict[str, Any] = {
        "id": 1, "mentor_id": 1, "mentee_id": 2, "competency_code": "integritas", "goal": "g",
        "planned_sessions": 4, "jp_per_session": 2.0, "starts_on": D(2026, 1, 15),
        "ends_on": D(2026, 4, 30), "status": "active",
    }  # fmt: skip
    values.update(extra)
    return MentoringAssignment(**values)


def _session(sid: int, held: dt.date, *, confirmed: bool = False) -> MentoringSession:
    return MentoringSession(
        id=sid, assignment_id=1, held_on=held, duration_minutes=60, goal="g", reality="r",
        options="o", way_forward="w", mentee_confirmed_at=utcnow() if confirmed else None,
    )  # fmt: skip


def _data(held: dt.date, minutes: int = 60, **extra: str) -> SessionCreate:
    body: dict[str, Any] = {"held_on": held, "duration_minutes": minutes, "goal": "g",
                            "reality": "r", "options": "o", "way_forward": "w"}  # fmt: skip
    body.update(extra)
    return SessionCreate.model_validate(body)


def test_months_spanned_counts_calendar_months() -> None:
    assert service.months_spanned(D(2026, 1, 31), D(2026, 2, 1)) == 2
    assert service.months_spanned(D(2026, 1, 1), D(2026, 1, 31)) == 1
    assert service.months_spanned(D(2025, 11, 20), D(2026, 2, 3)) == 4


def test_plan_must_fit_the_monthly_cap() -> None:
    settings = get_settings()
    ok = {"goal": "g", "jp_per_session": 2.0, "starts_on": D(2026, 1, 15),
          "ends_on": D(2026, 2, 10), "settings": settings}  # fmt: skip
    assert service.plan_errors(planned_sessions=4, **ok) == []  # 2 months x 2
    [error] = service.plan_errors(planned_sessions=5, **ok)
    assert error["field"] == "planned_sessions" and "paling banyak 4 sesi" in error["message"]
    fields = [e["field"] for e in service.plan_errors(**{**ok, "goal": " ", "jp_per_session": 0.0,
                                                        "ends_on": D(2026, 1, 1)},
                                                     planned_sessions=2)]  # fmt: skip
    assert fields == ["goal", "ends_on", "jp_per_session"]


def test_session_rules_each_refused() -> None:
    settings = get_settings()
    a = _assignment()
    today = D(2026, 3, 20)
    march = [_session(1, D(2026, 3, 2)), _session(2, D(2026, 3, 9))]

    def fields(data: SessionCreate, existing: list[MentoringSession] | None = None) -> list[str]:
        return [
            e["field"] for e in service.session_errors(a, existing or [], data, settings, today)
        ]

    assert fields(_data(D(2026, 3, 20))) == []
    assert fields(_data(D(2026, 3, 21))) == ["held_on"]  # future
    assert fields(_data(D(2026, 1, 14))) == ["held_on"]  # before the period
    assert fields(_data(D(2026, 3, 16)), march) == ["held_on"]  # third in March
    assert fields(_data(D(2026, 2, 16)), march) == []  # February is free
    full = [*march, _session(3, D(2026, 2, 2)), _session(4, D(2026, 2, 9))]
    assert fields(_data(D(2026, 1, 20)), full) == ["held_on"]  # all planned sessions logged
    assert fields(_data(D(2026, 3, 20), minutes=29)) == ["duration_minutes"]
    assert fields(_data(D(2026, 3, 20), options=" ")) == ["options"]


def test_credited_sessions_are_confirmed_ones_oldest_first_at_most_planned() -> None:
    rows = [
        _session(5, D(2026, 3, 9), confirmed=True),
        _session(4, D(2026, 2, 9)),
        _session(3, D(2026, 2, 2), confirmed=True),
        _session(6, D(2026, 4, 1), confirmed=True),
    ]
    assert [s.id for s in service.credited_sessions(rows, 4)] == [3, 5, 6]
    assert [s.id for s in service.credited_sessions(rows, 2)] == [3, 5]


def test_todo_counts_what_waits_for_each_person() -> None:
    mentor = make_user(roles=("mentor",))
    mentee = make_user()
    officer = make_user(roles=("training_officer",))
    with session_scope() as session:
        a = _assignment(id=None, mentor_id=mentor.id, mentee_id=mentee.id)
        b = _assignment(id=None, mentor_id=mentor.id, mentee_id=mentee.id, status="signed_off")
        session.add_all([a, b])
        session.flush()
        session.add_all(
            [
                MentoringSession(assignment_id=a.id, held_on=D(2026, 2, 2), duration_minutes=60,
                                 goal="g", reality="r", options="o", way_forward="w"),
                MentoringSession(assignment_id=b.id, held_on=D(2026, 2, 2), duration_minutes=60,
                                 goal="g", reality="r", options="o", way_forward="w",
                                 mentee_confirmed_at=utcnow()),
            ]
        )  # fmt: skip

    def who(user: Any, *roles: str) -> Principal:
        return Principal(user_id=user.id, name=user.name, roles=frozenset(roles), via="token")

    with session_scope() as session:
        assert service.todo(session, who(mentee, "learner")) == service.Todo(1, 0, 0)
        assert service.todo(session, who(mentor, "mentor")) == service.Todo(0, 1, 0)
        assert service.todo(session, who(officer, "training_officer")) == service.Todo(0, 0, 1)
