"""SCORM 1.2 run-time rules on the server: merging a browser commit into the stored cmi state
and building the cmi a launch starts from (pure: no database, no HTTP).

The state is a plain dict whose keys mirror `ScormTrack` columns (see `TrackState`).
"""

from __future__ import annotations

import math
import re
from typing import Any, TypedDict

from app.core.config import Settings, get_settings
from app.core.errors import ValidationFailed
from app.core.i18n import gettext_ as _

LESSON_STATUSES = ("passed", "completed", "failed", "incomplete", "browsed", "not attempted")
EXIT_VALUES = ("time-out", "suspend", "logout", "")
# SCORM 1.2 caps cmi.core.lesson_location at 255 characters; real packages store more, and the
# ScormTrack column holds 1,024.
MAX_LESSON_LOCATION_CHARS = 1024
# How many recent launches keep their last-seen session time (a retry can only come from a
# launch that is still open somewhere, so a handful is plenty).
MAX_TRACKED_LAUNCHES = 20
MAX_LAUNCH_ID_CHARS = 64

_TIMESPAN_RE = re.compile(r"^\s*(\d{1,4}):([0-5]?\d):([0-5]?\d(?:\.\d+)?)\s*$", re.ASCII)
_LAUNCH_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Statuses after which the learner has earned the activity: never taken back (see merge rule).
_DONE_STATUSES = ("completed", "passed")


class TrackState(TypedDict, total=False):
    """What is kept between launches; `launch_seconds` needs its own JSON column."""

    lesson_status: str
    lesson_location: str | None
    score_raw: float | None
    score_min: float | None
    score_max: float | None
    total_time_seconds: float
    suspend_data: str | None
    exit: str | None
    launches: dict[str, LaunchMark]  # launch id -> last commit seen from it, newest last


class LaunchMark(TypedDict):
    seq: int  # highest commit sequence number applied from this launch
    seconds: float  # highest session_time (seconds) seen from this launch


def parse_timespan(value: str) -> float:
    """SCORM 1.2 CMITimespan `HHHH:MM:SS.SS` (lenient: `H:MM:SS`, `0:5:3`) to seconds."""
    match = _TIMESPAN_RE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"not a SCORM 1.2 timespan: {value!r}")
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def format_timespan(seconds: float) -> str:
    """Seconds to SCORM 1.2 CMITimespan `HHHH:MM:SS.SS` (capped at 9999:59:59.99)."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"not a duration: {seconds!r}")
    centis = min(round(seconds * 100), (9999 * 3600 + 59 * 60 + 59) * 100 + 99)
    hours, rest = divmod(centis, 360000)
    minutes, rest = divmod(rest, 6000)
    secs, hundredths = divmod(rest, 100)
    return f"{hours:04d}:{minutes:02d}:{secs:02d}.{hundredths:02d}"


def _invalid(detail: str, field: str, code: str) -> ValidationFailed:
    return ValidationFailed(detail, field=field, code=code)


def _text(cmi: dict[str, Any], key: str) -> str | None:
    """A cmi value as the browser sent it (scorm-again sends strings); None when absent."""
    value = cmi.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _invalid(_("Nilai %(key)s tidak valid.") % {"key": key}, key, "scorm_invalid_value")
    return str(value)


def _score(cmi: dict[str, Any], key: str) -> float | None:
    """CMIDecimal or blank: blank/absent means "not reported" (None)."""
    text = _text(cmi, key)
    if text is None or text.strip() == "":
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise _invalid(
            _("Nilai %(key)s '%(value)s' bukan angka.") % {"key": key, "value": text[:40]},
            key,
            "scorm_invalid_score",
        )
    return value


def is_done(status: str | None) -> bool:
    """SCORM 1.2: completed or passed means the learner finished the SCO."""
    return status in _DONE_STATUSES


def next_lesson_status(current: str, reported: str) -> str:
    """Monotonic status rule: before completion the latest reported status wins (a learner may
    go incomplete -> failed -> incomplete while retrying), except that "not attempted" never
    replaces an attempt; once completed or passed the status only moves up (completed ->
    passed), so a later launch never takes back earned credit.
    """
    if is_done(current):
        return "passed" if reported == "passed" else current
    if reported == "not attempted":
        return current
    return reported


def mastery_status(reported: str, raw: float | None, mastery_score: float | None) -> str:
    """SCORM 1.2 RTE 3.4.2.1.x (cmi.core.lesson_status): when the SCO reports "completed", a
    mastery score is set and a raw score exists, the LMS sets passed (raw >= mastery) or failed.
    """
    if reported != "completed" or mastery_score is None or raw is None:
        return reported
    return "passed" if raw >= mastery_score else "failed"


def _session_seconds(cmi: dict[str, Any]) -> float | None:
    text = _text(cmi, "cmi.core.session_time")
    if text is None or text.strip() == "":
        return None
    try:
        return parse_timespan(text)
    except ValueError:
        raise _invalid(
            _("cmi.core.session_time '%(value)s' bukan durasi SCORM 1.2 (HHHH:MM:SS.SS).")
            % {"value": text[:40]},
            "cmi.core.session_time",
            "scorm_invalid_session_time",
        ) from None


def merge_commit(
    track_state: dict[str, Any],
    cmi: dict[str, Any],
    settings: Settings | None = None,
    *,
    launch_id: str,
    sequence: int | None = None,
    mastery_score: float | None = None,
) -> dict[str, Any]:
    """The new track state after a commit from the browser (flat `cmi.core.*` keys).

    `launch_id` is random per page load. session_time in SCORM 1.2 is the time of the current
    session so far, so the browser sends it whole on every commit; the state remembers the last
    value seen per launch and only the growth is added to total_time, so a retried commit never
    counts twice. `sequence` (increasing per launch) makes an older commit that arrives after a
    newer one a no-op. Raises ValidationFailed for values outside SCORM 1.2 vocabularies or above
    the size caps; nothing is partly applied.
    """
    settings = settings or get_settings()
    if not isinstance(launch_id, str) or _LAUNCH_ID_RE.match(launch_id) is None:
        raise _invalid(_("launch_id tidak valid."), "launch_id", "scorm_invalid_launch_id")

    state: dict[str, Any] = {
        "lesson_status": track_state.get("lesson_status") or "not attempted",
        "lesson_location": track_state.get("lesson_location"),
        "score_raw": track_state.get("score_raw"),
        "score_min": track_state.get("score_min"),
        "score_max": track_state.get("score_max"),
        "total_time_seconds": float(track_state.get("total_time_seconds") or 0.0),
        "suspend_data": track_state.get("suspend_data"),
        "exit": track_state.get("exit"),
        "launches": {
            str(key): {"seq": int(mark.get("seq", 0)), "seconds": float(mark.get("seconds", 0.0))}
            for key, mark in (track_state.get("launches") or {}).items()
        },
    }
    launches: dict[str, LaunchMark] = state["launches"]
    mark = launches.pop(launch_id, None) or {"seq": -1, "seconds": 0.0}
    launches[launch_id] = mark  # re-inserted: newest last, the oldest are forgotten first
    while len(launches) > MAX_TRACKED_LAUNCHES:
        launches.pop(next(iter(launches)))
    if sequence is not None:
        if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
            raise _invalid(_("Nomor urut commit tidak valid."), "seq", "scorm_invalid_sequence")
        if sequence < mark["seq"]:
            return state  # stale: a newer commit from this launch is already applied
        mark["seq"] = sequence

    status = _text(cmi, "cmi.core.lesson_status")
    if status is not None:
        status = status.strip().lower()
        if status not in LESSON_STATUSES:
            raise _invalid(
                _("cmi.core.lesson_status '%(value)s' tidak dikenal; nilai yang sah: %(value2)s.")
                % {"value": status[:40], "value2": ", ".join(LESSON_STATUSES)},
                "cmi.core.lesson_status",
                "scorm_invalid_status",
            )

    location = _text(cmi, "cmi.core.lesson_location")
    if location is not None and len(location) > MAX_LESSON_LOCATION_CHARS:
        raise _invalid(
            _("cmi.core.lesson_location lebih dari %(MAX_LESSON_LOCATION_CHARS)s karakter.")
            % {"MAX_LESSON_LOCATION_CHARS": format(MAX_LESSON_LOCATION_CHARS, ",")},
            "cmi.core.lesson_location",
            "scorm_location_too_long",
        )

    suspend_data = _text(cmi, "cmi.suspend_data")
    limit = settings.scorm_max_suspend_data_chars
    if suspend_data is not None and len(suspend_data) > limit:
        raise _invalid(
            _(
                "cmi.suspend_data berisi %(n)s karakter, melebihi batas %(limit)s karakter; kemajuan ini tidak dapat disimpan."
            )
            % {"n": format(len(suspend_data), ","), "limit": format(limit, ",")},
            "cmi.suspend_data",
            "scorm_suspend_data_too_long",
        )

    exit_value = _text(cmi, "cmi.core.exit")
    if exit_value is not None:
        exit_value = exit_value.strip().lower()
        if exit_value == "normal":  # a SCORM 2004 word some 1.2 content sends; it means ""
            exit_value = ""
        if exit_value not in EXIT_VALUES:
            raise _invalid(
                _("cmi.core.exit '%(value)s' tidak dikenal.") % {"value": exit_value[:40]},
                "cmi.core.exit",
                "scorm_invalid_exit",
            )

    raw = _score(cmi, "cmi.core.score.raw")
    score_min = _score(cmi, "cmi.core.score.min")
    score_max = _score(cmi, "cmi.core.score.max")
    session = _session_seconds(cmi)

    # Validated: apply.
    if raw is not None:
        state["score_raw"] = raw
    if score_min is not None:
        state["score_min"] = score_min
    if score_max is not None:
        state["score_max"] = score_max
    if status is not None:
        status = mastery_status(status, state["score_raw"], mastery_score)
        state["lesson_status"] = next_lesson_status(state["lesson_status"], status)
    if location is not None:
        state["lesson_location"] = location
    if suspend_data is not None:
        state["suspend_data"] = suspend_data
    if exit_value is not None:
        state["exit"] = exit_value
    if session is not None:
        state["total_time_seconds"] += max(0.0, session - mark["seconds"])
        mark["seconds"] = max(mark["seconds"], session)
    return state


def initial_cmi(
    state: dict[str, Any],
    *,
    student_id: str,
    student_name: str,
    mastery_score: float | None,
    launch_data: str | None,
) -> dict[str, Any]:
    """The cmi a launch starts from, in scorm-again's `loadFromJSON` shape (`{"core": ...}`).

    entry is "resume" when the last session ended with exit "suspend" and left a bookmark or
    suspend_data, else "ab-initio"; total_time is the stored total. Values are strings, as the
    SCORM API returns them; blank means "not set".
    """
    suspend_data = state.get("suspend_data") or ""
    location = state.get("lesson_location") or ""
    resume = state.get("exit") == "suspend" and bool(suspend_data or location)
    return {
        "core": {
            "student_id": student_id,
            "student_name": student_name,
            "lesson_location": location,
            "credit": "credit",
            "lesson_status": state.get("lesson_status") or "not attempted",
            "entry": "resume" if resume else "ab-initio",
            "total_time": format_timespan(float(state.get("total_time_seconds") or 0.0)),
            "lesson_mode": "normal",
            "score": {
                "raw": _decimal(state.get("score_raw")),
                "min": _decimal(state.get("score_min")),
                "max": _decimal(state.get("score_max")),
            },
        },
        "suspend_data": suspend_data,
        "launch_data": launch_data or "",
        "student_data": {"mastery_score": _decimal(mastery_score)},
    }


def _decimal(value: float | None) -> str:
    """CMIDecimal text: "80" rather than "80.0"; blank for None."""
    if value is None:
        return ""
    number = float(value)
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
