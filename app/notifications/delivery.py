"""The outbox handlers that deliver notifications: e-mail over SMTP and WhatsApp through the
gateway. Each batch reads its notifications and readers in one query, checks again that the
reader still wants the event on that channel (an unsubscribe cancels what is queued), renders
in the reader's language and sends.

Registered on the outbox when this module is imported (app.main imports it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from app.core import clock
from app.core.config import Settings
from app.core.i18n import gettext_ as _
from app.notifications import channels, render, repository, service
from app.notifications.constants import EMAIL, EVENTS, TOPIC_EMAIL, TOPIC_WHATSAPP, WHATSAPP
from app.notifications.repository import Delivery
from app.outbox.models import OutboxItem
from app.outbox.service import Cancelled, Failed, Outcome, confirmer, register


def _still_wanted(
    session: Session, found: dict[int, Delivery], channel: str
) -> dict[int, str | None]:
    """notification id -> why it should no longer go (None: it should)."""
    overrides = repository.pairs_enabled(session, [(d.user_id, d.event) for d in found.values()],
                                         channel)  # fmt: skip
    reasons: dict[int, str | None] = {}
    for nid, d in found.items():
        event = EVENTS.get(d.event)
        if event is None:
            reasons[nid] = "jenis notifikasi tidak dikenal lagi"
        elif not d.is_active:
            reasons[nid] = "akun nonaktif"
        elif not service.enabled(event, channel, overrides.get((d.user_id, d.event))):
            reasons[nid] = "penerima berhenti berlangganan"
        elif not (d.email if channel == EMAIL else d.phone):
            reasons[nid] = "alamat penerima dihapus"
        else:
            reasons[nid] = None
    return reasons


def _prepare(
    session: Session, items: list[OutboxItem], channel: str, settings: Settings
) -> tuple[dict[int, Outcome], list[tuple[OutboxItem, Delivery, render.Rendered]]]:
    """Outcomes decided before sending (cancelled, unrenderable) and the messages to send."""
    found = repository.deliveries(session, [int(i.payload["notification_id"]) for i in items])
    reasons = _still_wanted(session, found, channel)
    outcomes: dict[int, Outcome] = {}
    ready: list[tuple[OutboxItem, Delivery, render.Rendered]] = []
    for item in items:
        d = found.get(int(item.payload["notification_id"]))
        if d is None:
            outcomes[item.id] = Cancelled("notifikasi sudah dihapus")
            continue
        why = reasons.get(d.id)
        if why:
            outcomes[item.id] = Cancelled(why)
            continue
        context: dict[str, Any] = dict(d.context)
        provider = service._providers.get(d.event)
        url = d.url
        if provider is not None:
            extra = provider(session, d, channel, settings)
            url = extra.pop("url", url)
            context.update(extra)
        try:
            text = render.render(d.event, context, name=d.name, url=url, locale=d.locale,
                                 settings=settings)  # fmt: skip
        except Exception as exc:  # a template bug must not block the rest of the batch
            outcomes[item.id] = Failed(f"templat {d.event}: {type(exc).__name__}: {exc}",
                                       permanent=True)  # fmt: skip
            continue
        ready.append((item, d, text))
    return outcomes, ready


def _email_rate(settings: Settings) -> int:
    return settings.notify_email_per_minute


def _whatsapp_rate(settings: Settings) -> int:
    return settings.notify_whatsapp_per_minute


def _quiet_hours(settings: Settings, now: dt.datetime) -> dt.datetime | None:
    """WhatsApp rests during the institution's quiet hours (default 21:00-06:00 local)."""
    return clock.in_quiet_hours(now, settings.whatsapp_quiet_start, settings.whatsapp_quiet_end)


@register(TOPIC_EMAIL, rate_per_minute=_email_rate, label=lambda: _("Email"))
def deliver_email(
    session: Session, items: list[OutboxItem], settings: Settings
) -> dict[int, Outcome]:
    if not settings.smtp_url:
        return {i.id: Failed("LMS_SMTP_URL belum diatur") for i in items}
    preferences_url = settings.absolute_url("/notifications/preferences")
    # Connect first: while the mail server is down (ChannelDown, the whole batch waits) nothing
    # is rendered; then the batch goes out on this one connection.
    with channels.smtp_connection(settings) as conn:
        outcomes, ready = _prepare(session, items, EMAIL, settings)
        messages = []
        for item, d, text in ready:
            optional = EVENTS[d.event].optional
            unsubscribe = (
                service.unsubscribe_url(d.user_id, d.event, EMAIL, settings) if optional else None
            )
            parts = render.email_parts(
                text, unsubscribe_url=unsubscribe,
                preferences_url=preferences_url if optional else None, locale=d.locale,
                settings=settings,
            )  # fmt: skip
            assert d.email is not None
            msg = render.email_message(
                parts, notification_id=d.id, to_name=d.name, to_address=d.email,
                unsubscribe_url=unsubscribe, created_at=d.created_at, settings=settings,
            )  # fmt: skip
            messages.append((item.id, msg))
        outcomes.update(
            channels.send_emails(messages, settings, conn=conn, on_sent=confirmer(session))
        )
    return outcomes


@register(
    TOPIC_WHATSAPP, batch=50, rate_per_minute=_whatsapp_rate, paused_until=_quiet_hours,
    label=lambda: _("WhatsApp"),
)  # fmt: skip
def deliver_whatsapp(
    session: Session, items: list[OutboxItem], settings: Settings
) -> dict[int, Outcome]:
    if not settings.whatsapp_url:
        return {i.id: Failed("LMS_WHATSAPP_URL belum diatur") for i in items}
    outcomes, ready = _prepare(session, items, WHATSAPP, settings)
    messages = [(item.id, d.phone or "", render.whatsapp_text(text)) for item, d, text in ready]
    if messages:
        outcomes.update(channels.send_whatsapp(messages, settings, on_sent=confirmer(session)))
    return outcomes
