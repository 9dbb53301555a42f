"""Completion on the event that completes it: listeners for enrolment and profile changes that
store RunCompletion and, for auto-issue courses, issue the certificate in the same transaction.

Registered with app.core.events when app.certificates.service is imported (app.main, app.cli).
Cheap when nothing changes: an enrolment already complete costs one primary-key read; progress
emits the event only when an activity newly completes (never per heartbeat).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.core import events
from app.core.config import get_settings


@events.on_enrolment_changed
def on_enrolment_changed(session: Session, enrolment_id: int) -> None:
    """An activity completed, a survey or RTL was sent: completion may now hold."""
    from app.certificates import service

    service.enrolment_changed(session, enrolment_id, get_settings())


@events.on_user_changed
def on_user_changed(session: Session, user_id: int) -> None:
    """A profile changed: a run waiting only for a complete profile may now complete."""
    from app.certificates import service

    service.user_changed(session, user_id, get_settings())


@events.on_run_requirements_changed
def on_run_requirements_changed(session: Session, run_id: int) -> None:
    """The course's required activities changed: store or drop the run's completions."""
    from app.certificates import service

    service.recompute_run(session, run_id, get_settings())
