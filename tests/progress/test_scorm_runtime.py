"""SCORM 1.2 run-time rules: timespans, merging browser commits, and the cmi a launch starts from."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.config import Settings
from app.core.errors import ValidationFailed
from app.progress.scorm_runtime import (
    MAX_TRACKED_LAUNCHES,
    format_timespan,
    initial_cmi,
    merge_commit,
    parse_timespan,
)

SETTINGS = Settings(environment="test")
MAX_CENTIS = (9999 * 3600 + 59 * 60 + 59) * 100 + 99


def commit(
    state: dict[str, Any],
    launch: str = "launchA",
    seq: int | None = None,
    mastery: float | None = None,
    settings: Settings = SETTINGS,
    **cmi: str,
) -> dict[str, Any]:
    """`status="completed"` -> {"cmi.core.lesson_status": "completed"} and so on."""
    names = {
        "status": "cmi.core.lesson_status",
        "location": "cmi.core.lesson_location",
        "raw": "cmi.core.score.raw",
        "min": "cmi.core.score.min",
        "max": "cmi.core.score.max",
        "session": "cmi.core.session_time",
        "exit": "cmi.core.exit",
        "suspend": "cmi.suspend_data",
    }
    body = {names[key]: value for key, value in cmi.items()}
    return merge_commit(
        state, body, settings, launch_id=launch, sequence=seq, mastery_score=mastery
    )


# --------------------------------------------------------------------------- timespans


@given(st.integers(min_value=0, max_value=MAX_CENTIS))
def test_timespan_round_trip(centis: int) -> None:
    seconds = centis / 100
    text = format_timespan(seconds)
    assert re.fullmatch(r"\d{4}:[0-5]\d:[0-5]\d\.\d\d", text)
    assert parse_timespan(text) == pytest.approx(seconds, abs=1e-6)
    assert format_timespan(parse_timespan(text)) == text


@given(st.floats(min_value=0, max_value=9999 * 3600, allow_nan=False))
def test_format_rounds_to_hundredths(seconds: float) -> None:
    assert parse_timespan(format_timespan(seconds)) == pytest.approx(seconds, abs=0.0051)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0000:00:00", 0),
        ("0001:02:03.50", 3723.5),
        ("00:01:30", 90),
        ("1:00:00.5", 3600.5),
        ("0:5:3", 303),
        ("9999:59:59.99", 9999 * 3600 + 3599.99),
    ],
)
def test_parse_timespan_lenient_forms(text: str, seconds: float) -> None:
    assert parse_timespan(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text", ["", "abc", "00:00", "1:60:00", "0:00:61", "12345:00:00", "-1:00:00", "PT1M", "1:2:3:4"]
)
def test_parse_timespan_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timespan(text)


def test_format_timespan() -> None:
    assert format_timespan(3723.5) == "0001:02:03.50"
    assert format_timespan(0) == "0000:00:00.00"
    with pytest.raises(ValueError):
        format_timespan(-1)


# --------------------------------------------------------------------------- lesson_status


def test_unknown_status_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        commit({}, status="done")
    assert caught.value.code == "scorm_invalid_status"
    assert caught.value.field == "cmi.core.lesson_status"


@pytest.mark.parametrize(
    ("steps", "final"),
    [
        (["incomplete", "completed", "incomplete"], "completed"),
        (["passed", "failed"], "passed"),
        (["passed", "incomplete", "completed"], "passed"),
        (["completed", "passed"], "passed"),
        (["completed", "failed"], "completed"),
        (["incomplete", "failed", "incomplete"], "incomplete"),  # retrying before completion
        (["incomplete", "not attempted"], "incomplete"),
        (["browsed", "incomplete"], "incomplete"),
    ],
)
def test_status_never_goes_back_after_completion(steps: list[str], final: str) -> None:
    state: dict[str, Any] = {}
    for status in steps:
        state = commit(state, status=status)
    assert state["lesson_status"] == final


@pytest.mark.parametrize(
    ("raw", "mastery", "expected"),
    [
        ("85", 80.0, "passed"),
        ("80", 80.0, "passed"),
        ("79.5", 80.0, "failed"),
        ("85", None, "completed"),
    ],
)
def test_mastery_score_turns_completed_into_passed_or_failed(
    raw: str, mastery: float | None, expected: str
) -> None:
    state = commit({}, status="completed", raw=raw, mastery=mastery)
    assert state["lesson_status"] == expected
    assert state["score_raw"] == float(raw)


def test_mastery_uses_score_reported_in_an_earlier_commit() -> None:
    state = commit({}, status="incomplete", raw="60", seq=1, mastery=70.0)
    state = commit(state, status="completed", seq=2, mastery=70.0)
    assert state["lesson_status"] == "failed"


def test_mastery_without_raw_score_leaves_completed() -> None:
    assert commit({}, status="completed", mastery=70.0)["lesson_status"] == "completed"


def test_explicit_passed_is_kept_even_below_mastery() -> None:
    """The rule only applies to "completed"; a SCO that judges pass/fail itself is believed."""
    assert commit({}, status="passed", raw="10", mastery=80.0)["lesson_status"] == "passed"


# --------------------------------------------------------------------------- session time


def test_session_time_counted_once_per_launch() -> None:
    state = commit({"total_time_seconds": 100.0}, launch="A", seq=1, session="00:01:00")
    assert state["total_time_seconds"] == 160
    state = commit(state, launch="A", seq=1, session="00:01:00")  # network retry
    assert state["total_time_seconds"] == 160
    state = commit(state, launch="A", seq=2, session="00:02:30")  # same session, later
    assert state["total_time_seconds"] == 250
    state = commit(state, launch="B", seq=1, session="00:00:30")  # next launch
    assert state["total_time_seconds"] == 280
    state = commit(state, launch="A", seq=2, session="00:02:30")  # late retry from launch A
    assert state["total_time_seconds"] == 280


def test_session_time_going_backwards_never_subtracts() -> None:
    state = commit({}, launch="A", session="00:05:00")
    state = commit(state, launch="A", session="00:01:00")
    assert state["total_time_seconds"] == 300


def test_stale_commit_from_same_launch_is_ignored() -> None:
    state = commit({}, seq=5, location="page-9", suspend="new", session="00:09:00")
    stale = commit(state, seq=4, location="page-3", suspend="old", session="00:03:00")
    assert stale["lesson_location"] == "page-9"
    assert stale["suspend_data"] == "new"
    assert stale["total_time_seconds"] == 540


def test_tracked_launches_are_bounded() -> None:
    state: dict[str, Any] = {}
    for n in range(MAX_TRACKED_LAUNCHES + 5):
        state = commit(state, launch=f"L{n}", session="00:00:10")
    assert len(state["launches"]) == MAX_TRACKED_LAUNCHES
    assert "L0" not in state["launches"]
    assert state["total_time_seconds"] == 10 * (MAX_TRACKED_LAUNCHES + 5)


def test_invalid_session_time_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        commit({}, session="lima menit")
    assert caught.value.code == "scorm_invalid_session_time"


@pytest.mark.parametrize("launch", ["", "a b", "x" * 65, "../../etc"])
def test_invalid_launch_id_refused(launch: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        commit({}, launch=launch, status="incomplete")
    assert caught.value.code == "scorm_invalid_launch_id"


# --------------------------------------------------------------------------- other fields


def test_suspend_data_of_64k_accepted() -> None:
    data = "x" * 64 * 1024
    assert commit({}, suspend=data)["suspend_data"] == data


def test_suspend_data_over_cap_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        commit({}, suspend="x" * (SETTINGS.scorm_max_suspend_data_chars + 1))
    assert caught.value.code == "scorm_suspend_data_too_long"
    assert caught.value.field == "cmi.suspend_data"


def test_suspend_data_cap_is_a_setting() -> None:
    low = Settings(environment="test", scorm_max_suspend_data_chars=4096)
    assert commit({}, settings=low, suspend="x" * 4096)["suspend_data"] == "x" * 4096
    with pytest.raises(ValidationFailed):
        commit({}, settings=low, suspend="x" * 4097)


def test_lesson_location_cap() -> None:
    assert commit({}, location="p" * 1024)["lesson_location"] == "p" * 1024
    with pytest.raises(ValidationFailed) as caught:
        commit({}, location="p" * 1025)
    assert caught.value.code == "scorm_location_too_long"


def test_scores_blank_keeps_stored_and_garbage_refused() -> None:
    state = commit({}, raw="72.5", min="0", max="100")
    state = commit(state, raw="", min="", max="")
    assert (state["score_raw"], state["score_min"], state["score_max"]) == (72.5, 0, 100)
    with pytest.raises(ValidationFailed) as caught:
        commit(state, raw="tinggi")
    assert caught.value.code == "scorm_invalid_score"


def test_exit_vocabulary() -> None:
    assert commit({}, exit="suspend")["exit"] == "suspend"
    assert commit({}, exit="normal")["exit"] == ""  # SCORM 2004 word from some 1.2 content
    with pytest.raises(ValidationFailed) as caught:
        commit({}, exit="pergi")
    assert caught.value.code == "scorm_invalid_exit"


def test_failed_commit_changes_nothing() -> None:
    state = commit({}, status="incomplete", location="p1", session="00:01:00")
    before = copy.deepcopy(state)
    with pytest.raises(ValidationFailed):
        commit(state, status="completed", location="p2", session="00:02:00", raw="abc")
    assert state == before


# --------------------------------------------------------------------------- initial cmi


def launch_cmi(state: dict[str, Any], mastery: float | None = 80.0) -> dict[str, Any]:
    return initial_cmi(
        state,
        student_id="199001012020011001",
        student_name="Siti Aminah",
        mastery_score=mastery,
        launch_data="level=2",
    )


def test_first_launch_is_ab_initio() -> None:
    cmi = launch_cmi({})
    core = cmi["core"]
    assert core["entry"] == "ab-initio"
    assert core["lesson_status"] == "not attempted"
    assert core["total_time"] == "0000:00:00.00"
    assert core["lesson_mode"] == "normal" and core["credit"] == "credit"
    assert core["student_id"] == "199001012020011001"
    assert core["student_name"] == "Siti Aminah"
    assert core["score"] == {"raw": "", "min": "", "max": ""}
    assert cmi["suspend_data"] == "" and cmi["launch_data"] == "level=2"
    assert cmi["student_data"] == {"mastery_score": "80"}


def test_suspended_session_resumes() -> None:
    state = commit(
        {},
        status="incomplete",
        location="slide-7",
        suspend="s=7",
        exit="suspend",
        session="01:02:03.5",
        raw="40",
    )
    cmi = launch_cmi(state, mastery=None)
    assert cmi["core"]["entry"] == "resume"
    assert cmi["core"]["lesson_location"] == "slide-7"
    assert cmi["core"]["lesson_status"] == "incomplete"
    assert cmi["core"]["total_time"] == "0001:02:03.50"
    assert cmi["core"]["score"]["raw"] == "40"
    assert cmi["suspend_data"] == "s=7"
    assert cmi["student_data"] == {"mastery_score": ""}


@pytest.mark.parametrize(
    "state",
    [
        {"exit": "", "suspend_data": "s=7", "lesson_location": "x"},  # finished normally
        {"exit": "logout", "suspend_data": "s=7"},
        {"exit": "suspend", "suspend_data": None, "lesson_location": None},  # nothing to resume
    ],
)
def test_without_suspend_and_bookmark_launch_is_ab_initio(state: dict[str, Any]) -> None:
    assert launch_cmi(state)["core"]["entry"] == "ab-initio"
