"""In-process domain events: a domain announces that something changed for an enrolment or a user,
and the domains that care (certificates: completion and auto-issue) listen, without imports in
the other direction. Listeners run in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable

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
