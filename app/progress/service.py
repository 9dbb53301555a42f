"""Rules for progress in an activity: time on task, video watched intervals, views, SCORM results.

Courses ask it for statuses (locks, course page); certificates ask it for a run's progress.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.core import events
from app.core.config import Settings
from app.core.db import utcnow
from app.core.logging import current_request_age
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
    min_view_seconds: int = 0


@dataclass(slots=True)
class EnrolmentProgress:
    """An enrolment's status per activity (activity id -> status) and its time on task."""

    statuses: dict[int, str]
    learning_seconds: float


# Kinds whose "viewed" may wait for a minimum time on the page (Activity.min_view_seconds).
TIMED_VIEW_KINDS = ("document", "page")


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


def credited_seconds(elapsed: float, active_seconds: float | None, idle_gap: float) -> float:
    """Time on task: a heartbeat credits the wall-clock time since this activity's previous one,
    nothing after an idle gap (> settings.idle_gap_seconds, issue: 5 minutes), and never more than
    the playing/visible time the player says it had in between (it cannot add to wall clock)."""
    if elapsed <= 0 or elapsed > idle_gap:
        return 0.0
    if active_seconds is not None:
        return min(elapsed, active_seconds)
    return elapsed


def _video_step(
    progress: ActivityProgress, event: ProgressEvent, elapsed: float, settings: Settings
) -> None:
    """Count a heartbeat's segment as watched only if it moved forward no faster than real time,
    and never let the watched total exceed the time on task (plus the jitter slack).

    Seeking ahead (a jump larger than the wall-clock time since the last report) adds nothing;
    a burst of heartbeats adds at most the slack, since bursts credit no time on task.
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
    slack = settings.heartbeat_slack_seconds
    allowed = progress.time_seconds + slack - progress.watched_seconds
    if 0 < delta <= elapsed + slack and allowed > 0:
        end = previous + min(delta, allowed)
        intervals = merge_interval(json.loads(progress.watched_intervals or "[]"), previous, end)
        progress.watched_intervals = json.dumps([[round(a, 2), round(b, 2)] for a, b in intervals])
        progress.watched_seconds = watched_total(intervals)
    progress.position_seconds = position


def video_complete(watched: float, length: float, share: float) -> bool:
    """Video: complete when at least `share` (settings.video_completion_share, default 90%) of
    its length was actually watched, counted from merged intervals (a seek to the end is not)."""
    return length > 0 and watched >= share * length


def view_complete(kind: str, event: str, time_seconds: float, min_view_seconds: int) -> bool:
    """Document/page: "viewed" once opened, or, with a minimum time set on the activity, once the
    time on the page reaches it (any report counts then); other kinds: on "viewed"/"ended"."""
    if kind in TIMED_VIEW_KINDS and min_view_seconds > 0:
        return time_seconds >= min_view_seconds
    return event in ("viewed", "ended")


def _video_length(progress: ActivityProgress, facts: ActivityFacts) -> float:
    return progress.media_seconds or facts.duration_minutes * 60.0


def _percent(progress: ActivityProgress, facts: ActivityFacts) -> int:
    """100 when complete; otherwise the share done where it can be measured (video watched,
    time toward a minimum view time), capped at 99; 50 for "started" elsewhere."""
    if progress.status == COMPLETED:
        return 100
    if progress.status == NOT_STARTED:
        return 0
    if facts.kind == "video":
        length = _video_length(progress, facts)
        return min(99, int(100 * progress.watched_seconds / length)) if length else 0
    if (
        facts.kind in TIMED_VIEW_KINDS
        and facts.completion_rule == "viewed"
        and facts.min_view_seconds > 0
    ):
        return min(99, int(100 * progress.time_seconds / facts.min_view_seconds))
    return 50


def to_read(progress: ActivityProgress | None, facts: ActivityFacts) -> ProgressRead:
    if progress is None:
        return ProgressRead(status=NOT_STARTED, percent=0)
    return ProgressRead(
        status=progress.status,
        percent=_percent(progress, facts),
        position_seconds=progress.position_seconds,
    )


def _new_progress(enrolment_id: int, activity_id: int, now: dt.datetime) -> ActivityProgress:
    return ActivityProgress(
        enrolment_id=enrolment_id,
        activity_id=activity_id,
        status=IN_PROGRESS,
        position_seconds=0.0,
        watched_seconds=0.0,
        watched_intervals="[]",
        time_seconds=0.0,
        first_seen_at=now,
        last_seen_at=now,
    )


def get_or_start(session: Session, enrolment_id: int, activity_id: int) -> ActivityProgress:
    progress = repository.get_progress(session, enrolment_id, activity_id)
    if progress is None:
        progress = _new_progress(enrolment_id, activity_id, utcnow())
        repository.add(session, progress)
        _announce(session, "started", enrolment_id, activity_id)
    return progress


def _step(
    progress: ActivityProgress,
    facts: ActivityFacts,
    event: ProgressEvent,
    now: dt.datetime,
    settings: Settings,
) -> bool:
    """Apply one report to the row in memory; True when the activity's completion rule holds.
    A report that arrived before the one already applied (it waited longer in the server)
    changes nothing: its time and segment are inside the later one's."""
    if now < progress.last_seen_at:
        return False
    elapsed = max(0.0, (now - progress.last_seen_at).total_seconds())
    progress.time_seconds = (progress.time_seconds or 0.0) + credited_seconds(
        elapsed, event.active_seconds, settings.idle_gap_seconds
    )
    progress.last_seen_at = now
    if facts.kind == "video":
        _video_step(progress, event, elapsed, settings)
        length = _video_length(progress, facts)
        return video_complete(progress.watched_seconds, length, settings.video_completion_share)
    if facts.completion_rule == "viewed":
        return view_complete(facts.kind, event.event, progress.time_seconds, facts.min_view_seconds)
    return False


_UNREAD: Any = object()
NOTABLE_WAIT_SECONDS = 1.0  # shorter waits are noise next to the heartbeat slack (5 s)


def _arrival() -> dt.datetime:
    """When the report reached the server: the clock of time on task and of watched video.
    Not when it is processed — a heartbeat that waited 8 s for a database slot behind a burst
    would otherwise see 8 s less since the previous one, and its 30 s of video, more than that
    plus the slack, would not count."""
    waited = current_request_age()
    now = utcnow()
    return now - dt.timedelta(seconds=waited) if waited >= NOTABLE_WAIT_SECONDS else now


def record_event(
    session: Session,
    enrolment_id: int,
    facts: ActivityFacts,
    event: ProgressEvent,
    settings: Settings,
    *,
    as_read: ActivityProgress | None = _UNREAD,
) -> ProgressRead:
    """One small write per heartbeat (an UPDATE; the first report of an activity an INSERT):
    time on task, position, watched intervals, status.

    `as_read` is the row as the caller read it without a lock (None: there was none), saving a
    query: the UPDATE then applies only if the row's last_seen_at and status are still those
    read (every writer of time on task moves last_seen_at, every completion the status), else
    the row is read again, locked, and the report applied to it. Without `as_read` the row is
    read locked (PostgreSQL) first. Either way heartbeats sent at once credit the time once.
    The session's unit of work is bypassed: plain values, prepared statements.
    """
    now = _arrival()
    if as_read is not None and as_read is not _UNREAD:
        seen = (as_read.last_seen_at, as_read.status)
        done = _step(as_read, facts, event, now, settings)
        newly = done and _complete(as_read, now)
        if repository.save_heartbeat(session, as_read, unless_changed_from=seen):
            if newly:
                events.enrolment_changed(session, enrolment_id)
                _announce(session, "completed", enrolment_id, facts.id)
            return to_read(as_read, facts)
        progress = repository.lock_progress(session, enrolment_id, facts.id)  # changed meanwhile
    elif as_read is None:
        progress = None
    else:
        progress = repository.lock_progress(session, enrolment_id, facts.id)
    if progress is None:
        fresh = _new_progress(enrolment_id, facts.id, now)
        done = _step(fresh, facts, event, now, settings)
        newly = done and _complete(fresh, now)
        if repository.insert_progress(session, fresh):
            _announce(session, "started", enrolment_id, facts.id)
            if newly:
                events.enrolment_changed(session, enrolment_id)
                _announce(session, "completed", enrolment_id, facts.id)
            return to_read(fresh, facts)
        # Another report of the same learner created the row a moment ago: apply to that one.
        progress = repository.lock_progress(session, enrolment_id, facts.id)
        assert progress is not None
    done = _step(progress, facts, event, now, settings)
    newly = done and _complete(progress, now)
    repository.save_heartbeat(session, progress)
    if newly:
        events.enrolment_changed(session, enrolment_id)
        _announce(session, "completed", enrolment_id, facts.id)
    return to_read(progress, facts)


def _announce(session: Session, kind: str, enrolment_id: int, activity_id: int) -> None:
    """A state change of the learner's journey (started, completed) for its listeners (xAPI)."""
    events.learning(session, events.LearningEvent(kind, enrolment_id, activity_id))


def _complete(progress: ActivityProgress, now: dt.datetime) -> bool:
    """Mark complete; False when it already was (completion is never taken back)."""
    if progress.status == COMPLETED:
        return False
    progress.status = COMPLETED
    progress.completed_at = now
    return True


def complete_activity(session: Session, enrolment_id: int, activity_id: int) -> bool:
    """Complete an activity in one statement (a new row when the learner never opened it);
    completion is never taken back. A new completion is announced (certificates listen);
    False when it already was complete."""
    now = utcnow()
    row = _new_progress(enrolment_id, activity_id, now)
    _complete(row, now)
    if not repository.complete_row(session, row):
        return False
    events.enrolment_changed(session, enrolment_id)
    _announce(session, "completed", enrolment_id, activity_id)
    return True


def start_activity(session: Session, enrolment_id: int, activity_id: int) -> None:
    """The learner began an activity: an "in progress" row unless one exists (one statement)."""
    if repository.insert_progress(session, _new_progress(enrolment_id, activity_id, utcnow())):
        _announce(session, "started", enrolment_id, activity_id)


def required_pending(session: Session, enrolment_id: int) -> bool:
    """Whether a required, visible activity of the enrolment's course other than a post-test
    is not complete yet: the run cannot be complete (one query, no course loaded)."""
    return repository.required_pending(session, enrolment_id)


def mark_completed(session: Session, progress: ActivityProgress) -> None:
    """Completion is never taken back; a new completion is announced (certificates listen)."""
    if _complete(progress, utcnow()):
        session.flush()
        events.enrolment_changed(session, progress.enrolment_id)
        _announce(session, "completed", progress.enrolment_id, progress.activity_id)


def statuses(session: Session, enrolment_id: int) -> dict[int, ActivityProgress]:
    """Every activity's progress row for an enrolment, in one query."""
    return repository.progress_of_enrolment(session, enrolment_id)


def enrolments_progress(
    session: Session, enrolment_ids: Sequence[int]
) -> dict[int, EnrolmentProgress]:
    """Enrolment id -> its status per activity and time on task (every id gets an entry), for
    list pages of several runs: one query whatever the number of enrolments (up to 900)."""
    out = {e: EnrolmentProgress(statuses={}, learning_seconds=0.0) for e in enrolment_ids}
    for enrolment_id, activity_id, status, seconds in repository.progress_of_enrolments(
        session, enrolment_ids
    ):
        entry = out[enrolment_id]
        entry.statuses[activity_id] = status
        entry.learning_seconds += seconds or 0.0
    return out


def enrolment_progress(session: Session, enrolment_id: int) -> EnrolmentProgress:
    """An enrolment's status per activity and its time on task (heartbeats), in one query."""
    rows = repository.progress_of_enrolment(session, enrolment_id).values()
    return EnrolmentProgress(
        statuses={p.activity_id: p.status for p in rows},
        learning_seconds=sum(p.time_seconds or 0.0 for p in rows),
    )


def run_progress(session: Session, run_id: int) -> dict[int, EnrolmentProgress]:
    """Every enrolment of a run (any status) -> its progress, in one query."""
    out: dict[int, EnrolmentProgress] = {}
    for enrolment_id, activity_id, status, seconds in repository.progress_of_run(session, run_id):
        entry = out.get(enrolment_id)
        if entry is None:
            entry = out[enrolment_id] = EnrolmentProgress(statuses={}, learning_seconds=0.0)
        if activity_id is not None:
            entry.statuses[activity_id] = status or NOT_STARTED
            entry.learning_seconds += seconds or 0.0
    return out


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
    package_id: int | None = None,
) -> ProgressRead:
    """Store an LMSCommit/LMSFinish; the activity completes on completed/passed (or passed only).
    A new attempt is tied to `package_id`, the package version it runs on."""
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
        track = ScormTrack(
            enrolment_id=enrolment_id, activity_id=facts.id, launch_count=1, package_id=package_id
        )
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
    now = utcnow()
    # Commits are the SCO's heartbeats: time on task by the same rule, never the SCO's own clock.
    elapsed = max(0.0, (now - progress.last_seen_at).total_seconds())
    progress.time_seconds = (progress.time_seconds or 0.0) + credited_seconds(
        elapsed, None, settings.idle_gap_seconds
    )
    progress.last_seen_at = now
    wanted = ("passed",) if facts.completion_rule == "scorm_passed" else ("completed", "passed")
    if track.lesson_status in wanted:
        mark_completed(session, progress)
    session.flush()
    return to_read(progress, facts)


def last_seen_per_run(session: Session, user_id: int) -> dict[int, dt.datetime]:
    """Run id -> the user's latest moment of learning in it (one query)."""
    return repository.last_seen_per_run(session, user_id)


def learners_active_since(session: Session, since: dt.datetime) -> int:
    """Distinct ASN who learned (any activity event) since a moment: the month's participation."""
    return repository.learners_active_since(session, since)


# --- requirements changed ------------------------------------------------------------------------

RECOMPUTE_TASK = "progress.requirements_changed"


def requirements_changed(
    session: Session, run_ids: list[int], learners: int, settings: Settings
) -> bool:
    """A course's required activities changed: every run's completions are worked out again (the
    listeners store those that now hold and drop those that no longer do). Up to
    INLINE_RECOMPUTE_LEARNERS learners in the request itself; more on the job queue after the
    commit. Returns True when queued."""
    if not run_ids:
        return False
    if learners <= INLINE_RECOMPUTE_LEARNERS:
        for run_id in run_ids:
            events.run_requirements_changed(session, run_id)
        return False
    from sqlalchemy import event as sa_event

    from app.jobs import queue

    def _enqueue(_session: Session) -> None:
        queue.enqueue(RECOMPUTE_TASK, list(run_ids))

    sa_event.listen(session, "after_commit", _enqueue, once=True)
    return True


INLINE_RECOMPUTE_LEARNERS = 500  # a run this size recomputes in well under a second


def recompute_runs(run_ids: list[int]) -> None:
    """The queued half of `requirements_changed`: one transaction per run."""
    from app.core.db import session_scope

    for run_id in run_ids:
        with session_scope() as session:
            events.run_requirements_changed(session, run_id)


def learners_with_progress(session: Session, activity_ids: list[int]) -> dict[int, int]:
    """Activity id -> learners who have begun it (for the "what is lost" confirmation)."""
    return repository.learners_with_progress(session, activity_ids)


def pin_scorm_attempts(session: Session, activity_id: int, package_id: int) -> int:
    """Before an activity's SCORM package is replaced: attempts already begun stay on the
    version they began (their suspend data and bookmarks belong to it)."""
    return repository.pin_tracks(session, activity_id, package_id)


def scorm_attempt_package(
    session: Session, enrolment_id: int | None, activity_id: int
) -> int | None:
    """The package version the learner's attempt runs on, if it is pinned to one."""
    if enrolment_id is None:
        return None
    track = repository.get_track(session, enrolment_id, activity_id)
    return track.package_id if track is not None else None


def has_attempt_on_package(session: Session, package_id: int, enrolment_ids: list[int]) -> bool:
    return repository.track_on_package(session, package_id, enrolment_ids)
