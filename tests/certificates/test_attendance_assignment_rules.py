"""Issue 16: the final score's new components (assignments, attendance), the attendance minimum
rule and its sentence; courses without the new weights score as before."""

from __future__ import annotations

import pytest

from app.certificates import eligibility as checks
from app.certificates import rules as rules_mod
from app.certificates.eligibility import CourseFacts, LearnerFacts
from app.certificates.models import CertificationRules
from app.core import i18n
from app.core.config import get_settings


def _rules(**own: object) -> rules_mod.Rules:
    return rules_mod.resolve(1, CertificationRules(course_id=1, **own), get_settings())


def test_old_weights_score_as_before() -> None:
    weights = {"posttest": 70.0, "activities": 30.0}
    old = rules_mod.final_score("weighted", weights, posttest=80, activities=50)
    assert old == 71.0
    assert rules_mod.final_score("weighted", weights, posttest=80, activities=50,
                                 assignments=None, attendance=None) == 71.0  # fmt: skip
    assert rules_mod.final_score("posttest", weights, posttest=88.5, activities=0,
                                 assignments=10, attendance=10) == 88.5  # fmt: skip


def test_weighted_with_assignments_and_attendance() -> None:
    weights = {"posttest": 40.0, "assignments": 40.0, "attendance": 20.0}
    score = rules_mod.final_score(
        "weighted", weights, posttest=80, activities=0, assignments=90, attendance=75
    )
    assert score == pytest.approx((80 * 40 + 90 * 40 + 75 * 20) / 100)
    # An assignment grade not released yet: no final score yet (like a missing post-test).
    assert rules_mod.final_score("weighted", weights, posttest=80, activities=0,
                                 assignments=None, attendance=75) is None  # fmt: skip
    # Weight 0: the component is ignored.
    assert rules_mod.final_score("weighted", {"posttest": 1.0, "assignments": 0.0}, posttest=60,
                                 activities=0, assignments=None) == 60  # fmt: skip


def test_assignments_percent_weighs_each_assignment() -> None:
    items = [(1, 2.0), (2, 1.0), (3, 0.0)]
    assert rules_mod.assignments_percent(items, {1: 90, 2: 60}) == 80.0
    assert rules_mod.assignments_percent(items, {1: 90}) is None  # 2 not released yet
    assert rules_mod.assignments_percent([(3, 0.0)], {3: 100}) is None  # nothing weighs
    assert rules_mod.assignments_percent([], {}) is None


def test_check_weights_accepts_the_new_components() -> None:
    assert rules_mod.check_weights({"assignments": 50, "attendance": 50}) is None
    problem = rules_mod.check_weights({"kuis": 10})
    assert problem is not None and "assignments" in problem and "attendance" in problem


def test_predikat_from_the_weighted_score() -> None:
    bands = get_settings().cert_predikat_bands
    lowest = get_settings().cert_predikat_lowest
    score = rules_mod.final_score("weighted", {"assignments": 60.0, "attendance": 40.0},
                                  posttest=None, activities=0, assignments=95,
                                  attendance=90)  # fmt: skip
    assert score == 93.0
    assert rules_mod.predikat(score, bands, lowest) == "Sangat Memuaskan"
    assert rules_mod.predikat(80.0, bands, lowest) == "Cukup Memuaskan"  # strictly above 80


def test_min_attendance_follows_the_institution_then_the_course() -> None:
    assert _rules().min_attendance_percent == 0
    rules = _rules(min_attendance_percent=80)
    assert rules.min_attendance_percent == 80 and "min_attendance_percent" in rules.overridden


def _facts(percent: float | None) -> tuple[CourseFacts, LearnerFacts]:
    course = CourseFacts(course_id=1, code="C1", title="Latsar", jp=10, required=[])
    learner = LearnerFacts(enrolment_id=1, user_id=1, enrolment_status="active",
                           attendance_percent=percent)  # fmt: skip
    return course, learner


def test_attendance_min_check_and_sentence() -> None:
    rules = _rules(min_attendance_percent=80, require_posttest=False)
    course, learner = _facts(75)
    result = checks.evaluate(course, learner, rules)
    assert not result.completed
    [missing] = result.missing
    assert missing.name == "attendance_min"
    assert missing.params == {"percent": "75", "minimum": "80"}
    assert missing.reason == "Kehadiran baru 75%, minimal 80%."
    token = i18n.current_locale.set("en")
    try:
        assert "75" in missing.reason and "80" in missing.reason
    finally:
        i18n.current_locale.reset(token)
    course, learner = _facts(80)
    assert checks.evaluate(course, learner, rules).completed
    course, learner = _facts(None)  # no live session in the course: nothing due
    assert checks.evaluate(course, learner, rules).completed


def test_rule_off_adds_no_check() -> None:
    rules = _rules(require_posttest=False)
    course, learner = _facts(0)
    names = [c.name for c in checks.completion_checks(course, learner, rules)]
    assert "attendance_min" not in names
