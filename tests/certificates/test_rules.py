"""Certification rules: institution defaults, per-course overrides, predikat bands (strictly
above), final score formulas; GET/PUT /api/v1/courses/{id}/certification-rules recomputes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.certificates import rules
from app.certificates.models import CertificationRules, RunCompletion
from app.core.config import Settings
from app.core.db import session_scope
from tests.factories import api_token, make_completed_run, make_user

BANDS = Settings().cert_predikat_bands


@pytest.mark.parametrize(
    ("score", "label"),
    [(100, "Sangat Memuaskan"), (90.01, "Sangat Memuaskan"), (90, "Memuaskan"),
     (80.5, "Memuaskan"), (80, "Cukup Memuaskan"), (70, "Kurang Memuaskan"),
     (60, "Tidak Memuaskan"), (0, "Tidak Memuaskan")],
)  # fmt: skip
def test_predikat_is_strictly_above_each_band(score: float, label: str) -> None:
    assert rules.predikat(score, BANDS, "Tidak Memuaskan") == label


def test_no_score_no_predikat() -> None:
    assert rules.predikat(None, BANDS, "Tidak Memuaskan") is None


def test_final_score_formulas() -> None:
    assert rules.final_score("posttest", {}, posttest=82.5, activities=50) == 82.5
    assert rules.final_score("posttest", {}, posttest=None, activities=100) is None
    weighted = {"posttest": 70, "activities": 30}
    assert rules.final_score("weighted", weighted, posttest=80, activities=100) == 86.0
    assert rules.final_score("weighted", {"activities": 1}, posttest=None, activities=75) == 75
    assert rules.final_score("weighted", weighted, posttest=None, activities=100) is None


def test_check_weights() -> None:
    assert rules.check_weights({"posttest": 70, "activities": 30}) is None
    assert "tidak dikenal" in (rules.check_weights({"pretest": 1}) or "")
    assert rules.check_weights({"posttest": 0}) is not None


def test_resolve_inherits_and_overrides() -> None:
    settings = Settings(cert_pass_score=70, cert_auto_issue=True)
    inherited = rules.resolve(5, None, settings)
    assert inherited.pass_score == 70 and inherited.auto_issue and inherited.overridden == ()
    row = CertificationRules(course_id=5, pass_score=80, auto_issue=False,
                             predikat_bands_json='[[85, "Baik Sekali"], [75, "Baik"]]')  # fmt: skip
    own = rules.resolve(5, row, settings)
    assert own.pass_score == 80 and not own.auto_issue
    assert own.predikat_bands == [(85.0, "Baik Sekali"), (75.0, "Baik")]
    assert set(own.overridden) == {"pass_score", "auto_issue", "predikat_bands"}


async def test_rules_api_roles_and_null_resets(client) -> None:  # type: ignore[no-untyped-def]
    data = make_completed_run(0, complete=False)
    url = f"/api/v1/courses/{data['course']}/certification-rules"
    admin = make_user(roles=("content_admin",))
    learner = make_user()
    headers = await api_token(client, admin.email)
    assert (
        await client.get(url, headers=await api_token(client, learner.email))
    ).status_code == 403
    body = (await client.get(url, headers=headers)).json()
    assert body["pass_score"] == 70 and body["overridden"] == []
    assert body["predikat_bands"][0] == {"above": 90.0, "label": "Sangat Memuaskan"}
    put = await client.put(url, headers=headers, json={"pass_score": 80, "score_formula": "weighted",
                                                       "weights": {"posttest": 60, "activities": 40}})  # fmt: skip
    assert put.status_code == 200, put.text
    assert put.json()["pass_score"] == 80 and "pass_score" in put.json()["overridden"]
    bad = await client.put(url, headers=headers, json={"weights": {"pretest": 100}})
    assert bad.status_code == 422
    reset = (await client.put(url, headers=headers, json={"pass_score": None})).json()
    assert reset["pass_score"] == 70 and "pass_score" not in reset["overridden"]
    assert reset["score_formula"] == "weighted"
    assert (await client.get("/api/v1/courses/999999/certification-rules",
                             headers=headers)).status_code == 404  # fmt: skip


async def test_stricter_rules_drop_uncertified_completion_and_relaxing_restores(client) -> None:  # type: ignore[no-untyped-def]
    data = make_completed_run(2, auto_issue=False)
    url = f"/api/v1/courses/{data['course']}/certification-rules"
    headers = await api_token(client, make_user(roles=("training_officer",)).email)

    def completed() -> int:
        with session_scope() as session:
            return len(list(session.scalars(select(RunCompletion).where(
                RunCompletion.run_id == data["run"]))))  # fmt: skip

    assert completed() == 2
    # Each learner spent 2 x 15 minutes: a 60-minute minimum takes the completion back.
    assert (
        await client.put(url, headers=headers, json={"min_learning_minutes": 60})
    ).status_code == 200
    assert completed() == 0
    assert (
        await client.put(url, headers=headers, json={"min_learning_minutes": 30})
    ).status_code == 200
    assert completed() == 2
