"""Notification pages: the reader's list, preferences and one-click unsubscribe (no login); for
officers the outbox with retry, the message previews and the scheduled jobs with "run now".
HTML only; the rules are the services' (notifications, outbox, jobs)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from app.accounts import service as accounts_service
from app.accounts.constants import Role
from app.auth.dependencies import (
    CurrentPrincipal,
    SessionDep,
    SettingsDep,
    require_roles,
    resolve_principal,
)
from app.auth.pages import safe_next
from app.auth.service import Principal
from app.core import i18n
from app.core.config import Settings
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.i18n import gettext_ as _
from app.core.numbers import row_id
from app.jobs import service as jobs
from app.notifications import service
from app.notifications.constants import (
    CHANNELS,
    EMAIL,
    EVENTS,
    IN_APP,
    WHATSAPP,
    EventType,
    channel_labels,
)
from app.outbox import service as outbox
from app.web.routing import Router
from app.web.templating import render

router = Router(tags=["pages"], include_in_schema=False)

Officer = Annotated[Principal, Depends(require_roles(Role.TRAINING_OFFICER, Role.ADMIN))]
MaybePrincipal = Annotated[Principal | None, Depends(resolve_principal)]
FormText = Annotated[str | None, Form()]

PER_PAGE = 20
OUTBOX_PER_PAGE = 50
MAX_PAGE = 100_000
MAX_ID = 2**31 - 1  # ids are 32-bit in the database: anything larger names no row


def _page(value: int) -> int:
    return min(max(value, 1), MAX_PAGE)


def _text(value: str | None, limit: int) -> str:
    """A search or filter value as the database can take it (PostgreSQL text holds no NUL)."""
    return (value or "").replace("\x00", "").strip()[:limit]


def _is_htmx(request: Request) -> bool:
    """An htmx request for a fragment (restoring history asks for the whole page)."""
    return request.headers.get("hx-request") == "true" and not request.headers.get(
        "hx-history-restore-request"
    )


# --- labels --------------------------------------------------------------------------------------


def audience_labels() -> dict[str, str]:
    return {
        "learner": _("Peserta (semua ASN)"),
        "mentor": _("Mentor"),
        "opd_head": _("Kepala OPD"),
        "officer": _("Pengelola diklat dan admin"),
        "account": _("Akun (selalu dikirim)"),
    }


def outbox_state_labels() -> dict[str, str]:
    return {
        "pending": _("Menunggu"),
        "sending": _("Sedang dikirim"),
        "sent": _("Terkirim"),
        "dead": _("Gagal"),
        "cancelled": _("Dibatalkan"),
    }


def run_state_labels() -> dict[str, str]:
    return {"running": _("Sedang berjalan"), "done": _("Selesai"), "failed": _("Gagal")}


def cadence_labels() -> dict[str, str]:
    return {
        "minutes": _("Beberapa menit sekali"),
        "hourly": _("Tiap jam"),
        "daily": _("Harian"),
        "weekly": _("Mingguan"),
        "monthly": _("Bulanan"),
    }


# --- the reader: list, open, mark read -----------------------------------------------------------


def _inbox_context(
    db: Session, principal: Principal, *, unread_only: bool, page: int, notice: str | None = None
) -> dict[str, Any]:
    inbox = service.inbox(
        db, principal.user_id, name=principal.name, locale=i18n.current_locale.get(),
        unread_only=unread_only, page=page, per_page=PER_PAGE,
    )  # fmt: skip
    return {
        "inbox": inbox,
        "unread_only": unread_only,
        "page": page,
        "pages": max(1, math.ceil(inbox.total / PER_PAGE)),
        "query": "unread=1" if unread_only else "",
        "notice": {"all_read": _("Semua notifikasi sudah ditandai dibaca.")}.get(notice or ""),
        "unread_count": inbox.unread,  # the bell of this page (and of an htmx swap)
    }


@router.get("/notifications")
def notifications_page(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    unread: bool = False,
    page: int = 1,
    notice: str | None = None,
) -> Response:
    """The reader's notifications, newest first; htmx asks for the list alone."""
    context = _inbox_context(db, principal, unread_only=unread, page=_page(page), notice=notice)
    name = "notifications/_list.html" if _is_htmx(request) else "notifications/list.html"
    response = render(request, name, context)
    response.headers.add_vary_header("HX-Request")  # no cache may hand the fragment to a page
    return response


@router.post("/notifications/read-all")
def mark_all_read_page(
    request: Request, db: SessionDep, principal: CurrentPrincipal, unread: FormText = None
) -> Response:
    """ "Tandai semua sudah dibaca": htmx gets the list again (and the bell, out of band)."""
    service.mark_read(db, principal.user_id, everything=True)
    unread_only = unread in ("1", "true", "on")
    if _is_htmx(request):
        context = _inbox_context(db, principal, unread_only=unread_only, page=1,
                                 notice="all_read")  # fmt: skip
        return render(request, "notifications/_list.html", {**context, "bell_oob": True})
    query = urlencode({"notice": "all_read", **({"unread": "1"} if unread_only else {})})
    return RedirectResponse(f"/notifications?{query}", status_code=303)


@router.get("/notifications/{notification_id}/open")
def open_notification_page(
    notification_id: int, db: SessionDep, principal: CurrentPrincipal
) -> Response:
    """A notification's link: marks it read and goes where it points (only the reader's own)."""
    if not 0 < notification_id <= MAX_ID:
        raise NotFound(_("Notifikasi tidak ditemukan."), code="notification_not_found")
    url = service.open_notification(db, principal.user_id, notification_id)
    return RedirectResponse(safe_next(url), status_code=303)


# --- the reader: preferences ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelColumn:
    """One channel of the preferences table, and why it cannot be used (None: it can)."""

    name: str
    label: str
    unavailable: str | None


def _channel_columns(db: Session, user_id: int, settings: Settings) -> list[ChannelColumn]:
    user = accounts_service.get_user(db, user_id)
    address = {IN_APP: True, EMAIL: bool(user.email), WHATSAPP: bool(user.phone)}
    missing = {
        EMAIL: _("Akun Anda belum mempunyai alamat email."),
        WHATSAPP: _("Akun Anda belum mempunyai nomor WhatsApp."),
    }
    not_configured = {
        EMAIL: _("Pengiriman email belum disiapkan oleh pengelola LMS."),
        WHATSAPP: _("Pengiriman WhatsApp belum disiapkan oleh pengelola LMS."),
    }
    labels = channel_labels()
    columns = []
    for channel in CHANNELS:
        reason = None
        if not service.channel_configured(channel, settings):
            reason = not_configured[channel]
        elif not address[channel]:
            reason = missing[channel]
        columns.append(ChannelColumn(channel, labels[channel], reason))
    return columns


def _preferences_context(
    db: Session, principal: Principal, settings: Settings, *, saved: bool = False,
    error: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    audiences = service.audiences_for(principal.roles)
    current = service.preferences(db, principal.user_id, audiences=audiences)
    events = [
        {
            "name": e.name,
            "label": e.label(),
            "channels": {c: c in e.channels for c in CHANNELS},
            "on": current.events.get(e.name, {}),
        }
        for e in service.optional_events(audiences)
    ]
    return {
        "events": events,
        "columns": _channel_columns(db, principal.user_id, settings),
        "saved": saved,
        "error": error,
    }


@router.get("/notifications/preferences")
def preferences_page(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    saved: bool = False,
) -> Response:
    context = _preferences_context(db, principal, settings, saved=saved)
    return render(request, "notifications/preferences.html", context)


@router.post("/notifications/preferences")
def save_preferences_page(
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    on: Annotated[list[str] | None, Form(max_length=200)] = None,
) -> Response:
    """Each usable box is a choice: ticked on, unticked off (a browser sends only the ticked
    ones, as "event:channel"); a channel shown disabled keeps what it was."""
    ticked = set(on or [])
    usable = {
        c.name for c in _channel_columns(db, principal.user_id, settings) if not c.unavailable
    }
    audiences = service.audiences_for(principal.roles)
    choices = {
        e.name: {c: f"{e.name}:{c}" in ticked for c in CHANNELS if c in usable and c in e.channels}
        for e in service.optional_events(audiences)
    }
    service.set_preferences(db, principal.user_id, choices, audiences=audiences)
    return RedirectResponse("/notifications/preferences?saved=1", status_code=303)


# --- one-click unsubscribe, without login ----------------------------------------------------------


def _unsubscribe_context(token: str, settings: Settings) -> dict[str, Any]:
    _user_id, event, channel = service.read_unsubscribe(token, settings)
    return {
        "token": token,
        "event_label": event.label(),
        "channel_label": channel_labels()[channel],
        "optional": event.optional,
    }


def _bad_link(request: Request) -> Response:
    return render(request, "notifications/unsubscribe.html", {"bad": True}, status_code=404)


@router.get("/notifications/unsubscribe/{token}")
def unsubscribe_page(
    request: Request, token: str, settings: SettingsDep, _principal: MaybePrincipal
) -> Response:
    """What the link stops, and one button; opening it changes nothing (mail scanners open
    links)."""
    try:
        context = _unsubscribe_context(token[:300], settings)
    except NotFound:
        return _bad_link(request)
    return render(request, "notifications/unsubscribe.html", context)


@router.post("/notifications/unsubscribe/{token}")
def unsubscribe_confirm(
    request: Request, token: str, db: SessionDep, settings: SettingsDep,
    _principal: MaybePrincipal,
) -> Response:  # fmt: skip
    """The button, or a mail client's RFC 8058 one-click POST ("List-Unsubscribe=One-Click"):
    no CSRF token and no login; the signed token is the authority."""
    try:
        context = _unsubscribe_context(token[:300], settings)
        service.unsubscribe(db, token[:300], settings)
    except NotFound:
        return _bad_link(request)
    return render(request, "notifications/unsubscribe.html", {**context, "done": True})


# --- officers: hub, outbox -----------------------------------------------------------------------


@router.get("/studio/notifications")
def officer_hub(
    request: Request, db: SessionDep, settings: SettingsDep, _officer: Officer
) -> Response:
    """Notifications and schedule at a glance: the outbox per state, the jobs' last runs."""
    counts = outbox.counts(db)
    return render(
        request,
        "notifications/hub.html",
        {
            "totals": {state: sum(by_topic.values()) for state, by_topic in counts.items()},
            "state_labels": outbox_state_labels(),
            "jobs": jobs.status(db, settings),
            "run_labels": run_state_labels(),
        },
    )


def _retry_notice(notice: str | None, n: int) -> str | None:
    if notice == "retried":
        return _("%(n)s pesan dijadwalkan untuk dikirim ulang.") % {"n": n}
    return None


@router.get("/studio/notifications/outbox")
def outbox_page(
    request: Request,
    db: SessionDep,
    _officer: Officer,
    state: str = "",
    topic: str = "",
    q: str = "",
    page: int = 1,
    notice: str | None = None,
    n: int = 0,
) -> Response:
    """Every message (and other side effect) with its state; filters; retry what failed."""
    state = state if state in outbox.STATES else ""
    topic, q, page = _text(topic, 64), _text(q, 100), _page(page)
    result = outbox.listing(db, state=state or None, topic=topic or None, q=q or None, page=page,
                            per_page=OUTBOX_PER_PAGE)  # fmt: skip
    counts = outbox.counts(db)
    topics = sorted({t for by_topic in counts.values() for t in by_topic} | set(outbox.topics()))
    filters = {"state": state, "topic": topic, "q": q}
    return render(
        request,
        "notifications/outbox.html",
        {
            "result": result,
            "counts": counts,
            "totals": {s: sum(by_topic.values()) for s, by_topic in counts.items()},
            "topics": [{"name": t, "label": outbox.topic_label(t)} for t in topics],
            "filters": filters,
            "query": urlencode({k: v for k, v in filters.items() if v}),
            "page": page,
            "pages": max(1, math.ceil(result.total / OUTBOX_PER_PAGE)),
            "state_labels": outbox_state_labels(),
            "notice": _retry_notice(notice, n),
        },
    )


def _form_id(raw: str | None) -> int:
    """An item id from a form: digits of a 32-bit id, else 422 naming the field."""
    text = (raw or "").strip()
    item_id = row_id(text)
    if item_id is None:
        raise ValidationFailed(_("Pesan yang dipilih tidak sah."), field="id")
    return item_id


@router.post("/studio/notifications/outbox/retry")
def outbox_retry_page(
    db: SessionDep,
    _officer: Officer,
    id: FormText = None,
    all_dead: FormText = None,
    topic: FormText = None,
) -> Response:
    """ "Coba lagi" for one item, or "Coba lagi semua yang gagal" (of the topic shown)."""
    topic = _text(topic, 64) or None
    retried = outbox.retry_all_dead(db, topic) if all_dead else outbox.retry(db, [_form_id(id)])
    query = urlencode({"state": "pending", "notice": "retried", "n": retried,
                       **({"topic": topic} if topic else {})})  # fmt: skip
    return RedirectResponse(f"/studio/notifications/outbox?{query}", status_code=303)


# --- officers: message templates -----------------------------------------------------------------


@router.get("/studio/notifications/templates")
def templates_page(request: Request, _officer: Officer) -> Response:
    """Every event the LMS tells people about, with its audience and channels."""
    labels, audiences = channel_labels(), audience_labels()
    events = [
        {
            "name": e.name,
            "label": e.label(),
            "audience": audiences.get(e.audience, e.audience),
            "channels": [labels[c] for c in CHANNELS if c in e.channels],
            "optional": e.optional,
        }
        for e in EVENTS.values()
    ]
    return render(request, "notifications/templates.html", {"events": events})


def event_or_404(event: str) -> EventType:
    """Loader: the catalogue's event named in the path (404 otherwise)."""
    return service.known_event(event[:64])


KnownEvent = Annotated[EventType, Depends(event_or_404)]


@router.get("/studio/notifications/templates/{event}")
def template_preview_page(
    request: Request, settings: SettingsDep, _officer: Officer, found: KnownEvent, lang: str = "id"
) -> Response:
    """One event's message with sample data, as each channel shows it, in id or en."""
    lang = lang if lang in i18n.LOCALES else "id"
    preview = service.preview(found.name, lang, settings)
    return render(
        request,
        "notifications/preview.html",
        {
            "preview": preview,
            "lang": lang,
            "languages": {"id": "Bahasa Indonesia", "en": "English"},
            "audience": audience_labels().get(found.audience, found.audience),
            "uses": {c: c in found.channels for c in CHANNELS},
        },
    )


# --- officers: scheduled jobs --------------------------------------------------------------------


def job_or_404(name: str) -> jobs.Job:
    """Loader: the scheduled job named in the path (404 otherwise)."""
    return jobs.known_job(name[:100])


KnownJob = Annotated[jobs.Job, Depends(job_or_404)]


def weekday_names() -> list[str]:
    return [_("Senin"), _("Selasa"), _("Rabu"), _("Kamis"), _("Jumat"), _("Sabtu"), _("Minggu")]


def _jobs_context(db: Session, settings: Settings) -> dict[str, Any]:
    return {
        "jobs": jobs.status(db, settings),
        "run_labels": run_state_labels(),
        "cadences": cadence_labels(),
        "schedule": {
            "weekday": weekday_names()[(settings.schedule_weekly_day - 1) % 7],
            "monthday": settings.schedule_monthly_day,
        },
    }


@router.get("/studio/jobs")
def jobs_page(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    _officer: Officer,
    ran: str | None = None,
    busy: str | None = None,
) -> Response:
    """Each scheduled job: cadence, last run, result; "Jalankan sekarang"."""
    context = _jobs_context(db, settings)
    names = {j.name for j in context["jobs"]}
    context["ran"] = ran if ran in names else None
    context["busy"] = busy if busy in names else None
    return render(request, "jobs/list.html", context)


@router.post("/studio/jobs/{name}/run")
def run_job_page(
    request: Request, db: SessionDep, settings: SettingsDep, _officer: Officer, job: KnownJob
) -> Response:
    """Run the job now; htmx swaps the job's card with its outcome, otherwise back to the list."""
    name = job.name
    db.commit()  # the job writes in sessions of its own: SQLite has one writer at a time
    busy: str | None = None
    try:
        jobs.run_now(name, settings)
    except Conflict as exc:
        busy = exc.detail
    if not _is_htmx(request):
        key = "busy" if busy else "ran"
        return RedirectResponse(f"/studio/jobs?{urlencode({key: name})}#job-{name}",
                                status_code=303)  # fmt: skip
    context = _jobs_context(db, settings)
    card = next(j for j in context["jobs"] if j.name == name)
    return render(request, "jobs/_job.html",
                  {**context, "job": card, "ran": None if busy else name, "busy": busy and name})  # fmt: skip


@router.get("/studio/jobs/{name}")
def job_history_page(
    request: Request, db: SessionDep, _officer: Officer, job: KnownJob
) -> Response:
    """The job's recent runs, newest first."""
    return render(
        request,
        "jobs/history.html",
        {
            "job": {"name": job.name, "label": job.label(), "cadence": job.cadence},
            "runs": jobs.history(db, job.name, limit=50),
            "run_labels": run_state_labels(),
            "cadences": cadence_labels(),
        },
    )
