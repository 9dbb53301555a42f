"""API routes for notifications (api-v1.md "Accounts self-service, sign-in and notifications"):
the reader's inbox, mark read and preferences; for officers the outbox, its retry, the message
previews and the scheduled jobs with "run now"."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Path, Query
from starlette.responses import Response

from app.accounts.constants import Role
from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.core import i18n
from app.core.errors import ValidationFailed
from app.core.i18n import gettext_ as _
from app.jobs import service as jobs
from app.jobs.schemas import JobRunRead, JobStatus
from app.notifications import service
from app.notifications.constants import EventType
from app.notifications.schemas import (
    MarkReadIn,
    NotificationList,
    PreferencesIn,
    PreferencesRead,
    PreviewRead,
)
from app.outbox import service as outbox
from app.outbox.schemas import OutboxPage, RetryIn, RetryOut
from app.web.routing import Router

router = Router(prefix="/api/v1", tags=["notifications"])

Officer = Annotated[Principal, Depends(require_roles(Role.TRAINING_OFFICER, Role.ADMIN))]
PageNo = Annotated[int, Query(ge=1, le=100_000)]
State = Literal["pending", "sending", "sent", "dead", "cancelled"]
JobName = Annotated[str, Path(max_length=100)]
EventName = Annotated[str, Path(max_length=64)]
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL: refused here, not a 500 there


# --- the reader ----------------------------------------------------------------------------------


@router.get("/me/notifications", response_model=NotificationList)
def my_notifications(
    db: SessionDep,
    principal: CurrentPrincipal,
    unread: bool = False,
    page: PageNo = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> NotificationList:
    """The caller's in-app notifications, newest first, in the request's language."""
    return service.inbox(
        db, principal.user_id, name=principal.name, locale=i18n.current_locale.get(),
        unread_only=unread, page=page, per_page=per_page,
    )  # fmt: skip


@router.post("/me/notifications/read", status_code=204)
def mark_read(body: MarkReadIn, db: SessionDep, principal: CurrentPrincipal) -> Response:
    """Mark the caller's own notifications read (`ids`, or `all: true`); others' are untouched."""
    service.mark_read(db, principal.user_id, ids=body.ids, everything=body.all)
    return Response(status_code=204)


@router.get("/me/notification-preferences", response_model=PreferencesRead)
def my_preferences(db: SessionDep, principal: CurrentPrincipal) -> PreferencesRead:
    return service.preferences(
        db, principal.user_id, audiences=service.audiences_for(principal.roles)
    )


@router.put("/me/notification-preferences", response_model=PreferencesRead)
def set_my_preferences(
    body: PreferencesIn, db: SessionDep, principal: CurrentPrincipal
) -> PreferencesRead:
    """Partial: only the events and channels given change."""
    return service.set_preferences(
        db, principal.user_id, body.events, audiences=service.audiences_for(principal.roles)
    )


# --- officers: outbox ----------------------------------------------------------------------------


@router.get("/outbox", response_model=OutboxPage)
def outbox_listing(
    db: SessionDep,
    _officer: Officer,
    state: State | None = None,
    topic: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    q: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
    page: PageNo = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 50,
) -> OutboxPage:
    """Messages and other side effects, newest first; filter by state, topic, label text."""
    return outbox.listing(db, state=state, topic=topic, q=q, page=page, per_page=per_page)


@router.get("/outbox/counts")
def outbox_counts(db: SessionDep, _officer: Officer) -> dict[str, dict[str, int]]:
    """{state: {topic: count}} with every state present."""
    return outbox.counts(db)


@router.post("/outbox/retry", response_model=RetryOut)
def outbox_retry(body: RetryIn, db: SessionDep, _officer: Officer) -> RetryOut:
    """Dead (or cancelled) items get a fresh set of attempts: `ids`, or `all_dead` (of a topic)."""
    if body.all_dead:
        return RetryOut(retried=outbox.retry_all_dead(db, body.topic or None))
    if not body.ids:
        raise ValidationFailed(_("Sebutkan ids atau all_dead: true."), field="ids")
    return RetryOut(retried=outbox.retry(db, body.ids))


# --- officers: message templates -----------------------------------------------------------------


def event_or_404(event: EventName) -> EventType:
    """Loader: the catalogue's event named in the path (404 otherwise)."""
    return service.known_event(event)


def job_or_404(name: JobName) -> jobs.Job:
    """Loader: the scheduled job named in the path (404 otherwise)."""
    return jobs.known_job(name)


KnownEvent = Annotated[EventType, Depends(event_or_404)]
KnownJob = Annotated[jobs.Job, Depends(job_or_404)]


@router.get("/notification-templates/{event}/preview", response_model=PreviewRead)
def template_preview(
    settings: SettingsDep,
    _officer: Officer,
    event: KnownEvent,
    locale: Literal["id", "en"] = "id",
) -> PreviewRead:
    """An event's message with sample data: e-mail subject, text and HTML, WhatsApp, in-app."""
    return service.preview(event.name, locale, settings)


# --- officers: scheduled jobs --------------------------------------------------------------------


@router.get("/scheduled-jobs", response_model=list[JobStatus])
def scheduled_jobs(db: SessionDep, settings: SettingsDep, _officer: Officer) -> list[JobStatus]:
    """Every scheduled job with its cadence and last run."""
    return jobs.status(db, settings)


@router.get("/scheduled-jobs/{name}/runs", response_model=list[JobStatus])
def scheduled_job_runs(db: SessionDep, _officer: Officer, job: KnownJob) -> list[JobStatus]:
    """The job's recent runs, newest first (404 for an unknown job)."""
    return jobs.history(db, job.name)


@router.post("/scheduled-jobs/{name}/run", response_model=JobRunRead)
def run_scheduled_job(
    db: SessionDep, settings: SettingsDep, _officer: Officer, job: KnownJob
) -> JobRunRead:
    """Run the job now (its current period, or a manual run) and answer with its outcome."""
    db.commit()  # the job writes in sessions of its own: SQLite has one writer at a time
    outcome = jobs.run_now(job.name, settings)
    return JobRunRead(
        job=outcome.job, period=outcome.period, state=outcome.state, result=outcome.result
    )
