"""Rules for progress in an activity: video watched intervals, views, SCORM results.

Courses ask it for statuses (locks, course page); it never reads course tables itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import utcnow
from app.progress import repository, scorm_runtime
from app.progress.models import ActivityProgress, ScormTrack
from app.progress.schemas import ProgressEvent, ProgressRead

NOT_STARTED, IN_PROGRESS, COMPLETED = "not_started", "in_progress", "completed"


@dataclass(frozen=True, slots=True)
class ActivityFacts:
    """What progress needs to know about an activity (plain data from the courses domain)."""

    id: int
    kind: str
    completion_rule: str
    duration_minutes: int


def merge_interval(intervals: list[list[float]], start: float, end: float) -> list[list[float]]:
    """Add [start, end] to a sorted list of disjoint intervals, merging overlaps and touches."""
    merged: list[list[float]] = []
    for a, b in sorted([*intervals, [start, end]]):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return merged


def watched_total(intervals: list[list[float]]) -> float:
    return sum(b - a for a, b in intervals)


def _video_step(
    progress: ActivityProgress, event: ProgressEvent, elapsed: float, settings: Settings
) -> None:
    """Count a heartbeat's segment as watched only if it moved forward no faster than real time.

    Seeking ahead (a jump larger than the wall-clock time since the last report) adds nothing.
    """
    if event.duration_seconds:
        progress.media_seconds = event.duration_seconds
    if event.position_seconds is None:
        return
    position = event.position_seconds
    if progress.media_seconds:
        position = min(position, progress.media_seconds)
    previous = progress.position_seconds
    delta = position - previous
    if 0 < delta <= elapsed + settings.heartbeat_slack_seconds:
        intervals = merge_interval(
            json.loads(progress.watched_intervals or "[]"), previous, position
        )
        progress.watched_intervals = json.dumps([[round(a, 2), round(b, 2)] for a, b in intervals])
        progress.watched_seconds = watched_total(intervals)
    progress.position_seconds = position


def _percent(progress: ActivityProgress, facts: ActivityFacts) -> int:
    if progress.status == COMPLETED:
        return 100
    if facts.kind == "video":
        length = progress.media_seconds or facts.duration_minutes * 60
        return min(99, int(100 * progress.watched_seconds / length)) if length else 0
    return 0 if progress.status == NOT_STARTED else 50


def to_read(progress: ActivityProgress | None, facts: ActivityFacts) -> ProgressRead:
    if progress is None:
        return ProgressRead(status=NOT_STARTED, percent=0)
    return ProgressRead(
        status=progress.status,
        percent=_percent(progress, facts),
        position_seconds=progress.position_seconds,
    )


def get_or_start(session: Session, enrolment_id: int, activity_id: int) -> ActivityProgress:
    progress = repository.get_progress(session, enrolment_id, activity_id)
    if progress is None:
        now = utcnow()
        progress = ActivityProgress(
            enrolment_id=enrolment_id,
            activity_id=activity_id,
            status=IN_PROGRESS,
            position_seconds=0.0,
            watched_seconds=0.0,
            watched_intervals="[]",
            first_seen_at=now,
            last_seen_at=now,
        )
        repository.add(session, progress)
    return progress


def record_event(
    session: Session,
    enrolment_id: int,
    facts: ActivityFacts,
    event: ProgressEvent,
    settings: Settings,
) -> ProgressRead:
    """One small write per heartbeat: position, watched intervals, status."""
    progress = get_or_start(session, enrolment_id, facts.id)
    now = utcnow()
    elapsed = max(0.0, (now - progress.last_seen_at).total_seconds())
    if facts.kind == "video":
        _video_step(progress, event, elapsed, settings)
        length = progress.media_seconds or facts.duration_minutes * 60
        if length and progress.watched_seconds >= settings.video_completion_share * length:
            mark_completed(progress)
    elif facts.completion_rule == "viewed" and event.event in ("viewed", "ended"):
        mark_completed(progress)
    progress.last_seen_at = now
    session.flush()
    return to_read(progress, facts)


def mark_completed(progress: ActivityProgress) -> None:
    if progress.status != COMPLETED:
        progress.status = COMPLETED
        progress.completed_at = utcnow()


def statuses(session: Session, enrolment_id: int) -> dict[int, ActivityProgress]:
    """Every activity's progress row for an enrolment, in one query."""
    return repository.progress_of_enrolment(session, enrolment_id)


def activity_has_progress(session: Session, activity_id: int) -> bool:
    return repository.activity_has_progress(session, activity_id)


def resume_position(session: Session, enrolment_id: int, activity_id: int) -> float:
    progress = repository.get_progress(session, enrolment_id, activity_id)
    return progress.position_seconds if progress else 0.0


# --- SCORM 1.2 runtime data ---------------------------------------------------------------------


def _track_state(track: ScormTrack | None) -> dict[str, Any]:
    if track is None:
        return {}
    return {
        "lesson_status": track.lesson_status,
        "lesson_location": track.lesson_location,
        "score_raw": track.score_raw,
        "score_min": track.score_min,
        "score_max": track.score_max,
        "total_time_seconds": track.total_time_seconds,
        "suspend_data": track.suspend_data,
        "exit": track.exit,
        "launches": json.loads(track.launches_json or "{}"),
    }


def scorm_launch(
    session: Session,
    enrolment_id: int | None,
    activity_id: int,
    *,
    student_id: str,
    student_name: str,
    mastery_score: float | None,
    launch_data: str | None,
) -> dict[str, Any]:
    """The cmi a new launch starts from (the stored bookmark, status, score and time)."""
    track = repository.get_track(session, enrolment_id, activity_id) if enrolment_id else None
    if track is not None:
        track.launch_count += 1
    return scorm_runtime.initial_cmi(
        _track_state(track),
        student_id=student_id,
        student_name=student_name,
        mastery_score=mastery_score,
        launch_data=launch_data,
    )


def scorm_commit(
    session: Session,
    enrolment_id: int,
    facts: ActivityFacts,
    *,
    launch_id: str,
    sequence: int | None,
    cmi: dict[str, Any],
    mastery_score: float | None,
    settings: Settings,
) -> ProgressRead:
    """Store an LMSCommit/LMSFinish; the activity completes on completed/passed (or passed only)."""
    track = repository.get_track(session, enrolment_id, facts.id)
    state = scorm_runtime.merge_commit(
        _track_state(track),
        cmi,
        settings,
        launch_id=launch_id,
        sequence=sequence,
        mastery_score=mastery_score,
    )
    if track is None:
        track = ScormTrack(enrolment_id=enrolment_id, activity_id=facts.id, launch_count=1)
        session.add(track)
    track.lesson_status = state["lesson_status"]
    track.lesson_location = state["lesson_location"]
    track.score_raw, track.score_min, track.score_max = (
        state["score_raw"],
        state["score_min"],
        state["score_max"],
    )
    track.total_time_seconds = state["total_time_seconds"]
    track.suspend_data = state["suspend_data"]
    track.exit = state["exit"]
    track.launches_json = json.dumps(state["launches"])
    progress = get_or_start(session, enrolment_id, facts.id)
    progress.last_seen_at = utcnow()
    wanted = ("passed",) if facts.completion_rule == "scorm_passed" else ("completed", "passed")
    if track.lesson_status in wanted:
        mark_completed(progress)
    session.flush()
    return to_read(progress, facts)
