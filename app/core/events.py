"""In-process domain events: a domain announces that something changed for an enrolment or a user,
and the domains that care (certificates: completion and auto-issue) listen, without imports in
the other direction. Listeners run in the caller's transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

EnrolmentListener = Callable[[Session, int], None]

_enrolment_listeners: list[EnrolmentListener] = []
_user_listeners: list[EnrolmentListener] = []


def on_enrolment_changed(listener: EnrolmentListener) -> EnrolmentListener:
    """Register `listener(session, enrolment_id)`; usable as a decorator."""
    if listener not in _enrolment_listeners:
        _enrolment_listeners.append(listener)
    return listener


def on_user_changed(listener: EnrolmentListener) -> EnrolmentListener:
    """Register `listener(session, user_id)` for profile changes; usable as a decorator."""
    if listener not in _user_listeners:
        _user_listeners.append(listener)
    return listener


def enrolment_changed(session: Session, enrolment_id: int) -> None:
    """An activity completed, a survey or RTL was sent: completion may now hold."""
    for listener in _enrolment_listeners:
        listener(session, enrolment_id)


def user_changed(session: Session, user_id: int) -> None:
    """A user's profile changed: profile-complete rules may now hold."""
    for listener in _user_listeners:
        listener(session, user_id)


RunListener = Callable[[Session, int], None]
_requirement_listeners: list[RunListener] = []


def on_run_requirements_changed(listener: RunListener) -> RunListener:
    """Register `listener(session, run_id)`; usable as a decorator."""
    if listener not in _requirement_listeners:
        _requirement_listeners.append(listener)
    return listener


def run_requirements_changed(session: Session, run_id: int) -> None:
    """A run's course changed what completion needs (an activity required, hidden, added or
    removed): completions may now hold or no longer hold."""
    for listener in _requirement_listeners:
        listener(session, run_id)


# --- learning events: state changes in a learner's journey (app.xapi listens) ------------------


@dataclass(frozen=True, slots=True)
class LearningEvent:
    """One state change in a learner's journey, announced where it happens — never per heartbeat.
    `kind`: "started" (an activity's first progress), "completed" (an activity), "graded" (a quiz
    attempt: `score` percent, `passed`), "attended" (a live session), "earned" (a certificate:
    `ref_id`), "mentoring_confirmed" (`ref_id` the mentoring session). The ids say what it
    concerns; listeners read whatever else they need in the same transaction."""

    kind: str
    enrolment_id: int | None = None
    activity_id: int | None = None
    user_id: int | None = None
    ref_id: int | None = None
    score: float | None = None
    passed: bool | None = None
    at: dt.datetime | None = None


LearningListener = Callable[[Session, LearningEvent], None]
_learning_listeners: list[LearningListener] = []


def on_learning(listener: LearningListener) -> LearningListener:
    """Register `listener(session, event)`; usable as a decorator."""
    if listener not in _learning_listeners:
        _learning_listeners.append(listener)
    return listener


def learning(session: Session, event: LearningEvent) -> None:
    """Announce a learning event to its listeners (in the caller's transaction)."""
    for listener in _learning_listeners:
        listener(session, event)


# --- the JP ledger: a source credited, withdrawn or moved (SIASN push listens) -------------------


@dataclass(frozen=True, slots=True)
class JpChange:
    """What changed in the JP ledger: `kind` credited (with the holders in `user_ids`, in the
    order of `source_ids`), withdrawn, or moved (a re-issued certificate: `old_id` -> the one
    id in `source_ids`)."""

    kind: Literal["credited", "withdrawn", "moved"]
    source: str
    source_ids: tuple[int, ...]
    user_ids: tuple[int, ...] = ()
    old_id: int | None = None


JpListener = Callable[[Session, JpChange], None]
_jp_listeners: list[JpListener] = []


def on_jp_changed(listener: JpListener) -> JpListener:
    """Register `listener(session, change)`; usable as a decorator."""
    if listener not in _jp_listeners:
        _jp_listeners.append(listener)
    return listener


def jp_changed(session: Session, change: JpChange) -> None:
    """A JP credit was written, withdrawn or moved, in the caller's transaction."""
    for listener in _jp_listeners:
        listener(session, change)
