"""Rules for notifications: making them in the transaction of their event (in-app row plus an
outbox item per external channel the reader allows), the reader's preferences, the inbox,
one-click unsubscribe, and the officers' template preview.

Other domains call `notify` / `notify_many` with a `NewNotification` whose key names the event,
the recipient and the period; a key seen before makes nothing (never sent twice).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from app.accounts.constants import Role
from app.core.config import Settings, get_settings
from app.core.db import utcnow
from app.core.errors import NotFound, ValidationFailed
from app.core.i18n import gettext_ as _
from app.notifications import render, repository
from app.notifications.constants import (
    CHANNELS,
    EMAIL,
    EVENTS,
    IN_APP,
    TOPIC_OF_CHANNEL,
    WHATSAPP,
    EventType,
    NewNotification,
    channel_labels,
)
from app.notifications.models import Notification
from app.notifications.repository import Delivery, Recipient
from app.notifications.schemas import (
    NotificationItem,
    NotificationList,
    PreferencesRead,
    PreviewRead,
)
from app.outbox import service as outbox

# Extra context made at delivery time (activation: a fresh token in the link), by event.
ContextProvider = Callable[[Session, Delivery, str, Settings], dict[str, Any]]
_providers: dict[str, ContextProvider] = {}


def provide_context(event: str) -> Callable[[ContextProvider], ContextProvider]:
    """Register `fn(session, delivery, channel, settings) -> extra context` for an event; it
    runs in the delivery's transaction (committed with the item marked sent)."""

    def register(fn: ContextProvider) -> ContextProvider:
        _providers[event] = fn
        return fn

    return register


def event_type(name: str) -> EventType:
    found = EVENTS.get(name)
    if found is None:
        raise ValidationFailed(
            _("Jenis notifikasi '%(e)s' tidak dikenal.") % {"e": name}, field="event"
        )
    return found


def known_event(name: str) -> EventType:
    """The catalogue's event of that name (404 otherwise: an officer's preview address)."""
    found = EVENTS.get(name)
    if found is None:
        raise NotFound(_("Jenis notifikasi tidak dikenal."), code="event_not_found")
    return found


def channel_configured(channel: str, settings: Settings) -> bool:
    """A channel the deployment can use: e-mail needs LMS_SMTP_URL, WhatsApp its gateway."""
    if channel == EMAIL:
        return bool(settings.smtp_url)
    if channel == WHATSAPP:
        return bool(settings.whatsapp_url)
    return channel == IN_APP


def enabled(event: EventType, channel: str, override: bool | None) -> bool:
    """The reader's choice where they made one, else the event's default; account messages
    (activation, reset) cannot be turned off."""
    if channel not in event.channels:
        return False
    if not event.optional or override is None:
        return channel in event.defaults
    return override


def _contact(recipient: Recipient, channel: str) -> str | None:
    return {EMAIL: recipient.email, WHATSAPP: recipient.phone}.get(channel)


# --- making notifications -------------------------------------------------------------------------


def notify(session: Session, item: NewNotification, settings: Settings | None = None) -> bool:
    """Make one notification (and its deliveries) in the caller's transaction; False when its
    key existed already or the reader gets nothing."""
    return notify_many(session, [item], settings) == 1


def notify_many(
    session: Session, items: Sequence[NewNotification], settings: Settings | None = None
) -> int:
    """Make many notifications at once (a monthly reminder for 10,000 ASN): a few queries for
    the readers and their preferences, one insert for the notifications, one for the outbox.
    Returns how many were new."""
    settings = settings or get_settings()
    unique = list({i.key: i for i in items}.values())
    if not unique:
        return 0
    for item in unique:
        event_type(item.event)
    people = repository.recipients(session, [i.user_id for i in unique])
    prefs = repository.overrides(session, list(people), {i.event for i in unique})
    rows: list[dict[str, Any]] = []
    plans: dict[str, tuple[NewNotification, Recipient, list[str]]] = {}
    now = utcnow()
    for item in unique:
        person = people.get(item.user_id)
        if person is None or not person.is_active:
            continue
        event = EVENTS[item.event]
        wanted = item.channels if item.channels is not None else frozenset(CHANNELS)
        on = [
            c for c in CHANNELS
            if c in wanted and enabled(event, c, prefs.get((item.user_id, item.event, c)))
        ]  # fmt: skip
        external = [
            c for c in on if c != IN_APP and channel_configured(c, settings) and _contact(person, c)
        ]
        if IN_APP not in on and not external:
            continue
        rows.append({
            "user_id": item.user_id, "event": item.event, "key": item.key,
            "context": item.context, "url": item.url, "in_app": IN_APP in on,
            "created_at": now,
        })  # fmt: skip
        plans[item.key] = (item, person, external)
    made = repository.insert_new(session, rows)
    deliveries = [
        outbox.NewItem(
            topic=TOPIC_OF_CHANNEL[channel],
            payload={"notification_id": made[key]},
            key=f"notification:{made[key]}:{channel}",
            label=f"{item.event} · {person.name} · {_contact(person, channel)}",
            user_id=person.user_id,
        )
        for key, (item, person, external) in plans.items()
        if key in made
        for channel in external
    ]
    outbox.add_many(session, deliveries)
    return len(made)


def keys_seen(session: Session, keys: Sequence[str]) -> set[str]:
    """Which of these notification keys exist already (jobs skip their work for those)."""
    return repository.existing_keys(session, keys)


# --- the reader: inbox, preferences, unsubscribe ---------------------------------------------------


def rendered(
    row: Notification | Delivery, name: str, locale: str | None, settings: Settings
) -> render.Rendered:
    return render.render(row.event, row.context, name=name, url=row.url, locale=locale,
                         settings=settings)  # fmt: skip


def inbox(
    session: Session, user_id: int, *, name: str, locale: str | None, unread_only: bool = False,
    page: int = 1, per_page: int = 20, settings: Settings | None = None,
) -> NotificationList:  # fmt: skip
    """The reader's in-app notifications, newest first, in their language."""
    settings = settings or get_settings()
    total, rows = repository.inbox(
        session, user_id, unread_only=unread_only, offset=(max(page, 1) - 1) * per_page,
        limit=per_page,
    )  # fmt: skip
    items = []
    for row in rows:
        text = rendered(row, name, locale, settings)
        items.append(
            NotificationItem(
                id=row.id,
                event=row.event,
                title=text.title,
                body=text.body,
                url=row.url,
                action=text.action,
                created_at=row.created_at,
                read_at=row.read_at,
            )
        )
    return NotificationList(
        unread=repository.unread_count(session, user_id), total=total, items=items
    )


def unread_count(session: Session, user_id: int) -> int:
    return repository.unread_count(session, user_id)


def mark_read(
    session: Session, user_id: int, *, ids: Sequence[int] | None = None, everything: bool = False
) -> int:
    """Mark the reader's own notifications read: the given ids, or all of them."""
    if not everything and not ids:
        raise ValidationFailed(_("Sebutkan ids atau all: true."), field="ids")
    return repository.mark_read(session, user_id, None if everything else list(ids or []), utcnow())


def open_notification(session: Session, user_id: int, notification_id: int) -> str:
    """Mark one notification read and give the address it points at (the bell's links)."""
    row = repository.get_own(session, user_id, notification_id)
    if row is None:
        raise NotFound(_("Notifikasi tidak ditemukan."), code="notification_not_found")
    if row.read_at is None:
        row.read_at = utcnow()
    return row.url or "/notifications"


def optional_events(audiences: set[str] | None = None) -> list[EventType]:
    """Events a reader may switch, in catalogue order (only those of their audiences)."""
    return [
        e for e in EVENTS.values() if e.optional and (audiences is None or e.audience in audiences)
    ]


def audiences_for(roles: Iterable[str]) -> set[str]:
    """Whose events a user receives: learner events for everyone, the OPD digest for OPD heads,
    the verification digest for training officers and admins (constants.EVENTS audiences)."""
    held = set(roles)
    found = {"learner"}
    if Role.MENTOR in held:
        found.add("mentor")
    if Role.OPD_HEAD in held:
        found.add("opd_head")
    if held & {Role.TRAINING_OFFICER, Role.ADMIN}:
        found.add("officer")
    return found


def preferences(
    session: Session, user_id: int, *, audiences: set[str] | None = None
) -> PreferencesRead:
    """{event: {channel: on}} for every event a reader may switch (of their audiences)."""
    events = optional_events(audiences)
    prefs = repository.overrides(session, [user_id], [e.name for e in events])
    return PreferencesRead(
        events={
            e.name: {c: enabled(e, c, prefs.get((user_id, e.name, c))) for c in CHANNELS}
            for e in events
        }
    )


def set_preferences(
    session: Session, user_id: int, events: dict[str, dict[str, bool]], *,
    audiences: set[str] | None = None,
) -> PreferencesRead:  # fmt: skip
    """Store the reader's choices; an unknown event or channel (or an event not of the reader's
    audiences) is refused by name."""
    values: dict[tuple[str, str], bool] = {}
    for name, channels in events.items():
        event = EVENTS.get(name)
        if (
            event is None
            or not event.optional
            or (audiences is not None and event.audience not in audiences)
        ):
            raise ValidationFailed(
                _("Notifikasi '%(e)s' tidak dapat diatur.") % {"e": name}, field=f"events.{name}"
            )
        for channel, on in channels.items():
            if channel not in CHANNELS:
                raise ValidationFailed(
                    _("Saluran '%(c)s' tidak dikenal (in_app, email, whatsapp).") % {"c": channel},
                    field=f"events.{name}.{channel}",
                )
            if channel in event.channels:
                values[(name, channel)] = bool(on)
    repository.set_preferences(session, user_id, values, utcnow())
    return preferences(session, user_id, audiences=audiences)


def unsubscribe_url(user_id: int, event: str, channel: str, settings: Settings) -> str:
    token = render.unsubscribe_token(user_id, event, channel, settings)
    return settings.absolute_url(f"/notifications/unsubscribe/{token}")


def read_unsubscribe(token: str, settings: Settings) -> tuple[int, EventType, str]:
    """The reader, event and channel of a genuine unsubscribe link (404 otherwise)."""
    parsed = render.read_unsubscribe_token(token, settings)
    if parsed is None or parsed[1] not in EVENTS or parsed[2] not in CHANNELS:
        raise NotFound(
            _("Tautan berhenti berlangganan tidak sah atau sudah rusak."), code="bad_unsubscribe"
        )
    return parsed[0], EVENTS[parsed[1]], parsed[2]


def unsubscribe(session: Session, token: str, settings: Settings) -> tuple[EventType, str]:
    """One click, no login: turn this event off on this channel for the link's reader."""
    user_id, event, channel = read_unsubscribe(token, settings)
    if not repository.recipients(session, [user_id]):  # the account was deleted since
        raise NotFound(
            _("Tautan berhenti berlangganan tidak sah atau sudah rusak."), code="bad_unsubscribe"
        )
    if event.optional:
        repository.set_preferences(session, user_id, {(event.name, channel): False}, utcnow())
    return event, channel


# --- officers: preview ----------------------------------------------------------------------------


def preview(event: str, locale: str, settings: Settings) -> PreviewRead:
    """An event's message with its sample data, as e-mail (text and HTML), WhatsApp and in-app."""
    found = event_type(event)
    text = render.render(found.name, found.sample(), name="Dewi Lestari, S.Kom.", url="/",
                         locale=locale, settings=settings)  # fmt: skip
    mail = render.email_parts(
        text,
        unsubscribe_url=unsubscribe_url(0, found.name, EMAIL, settings) if found.optional else None,
        preferences_url=settings.absolute_url("/notifications/preferences"),
        locale=locale,
        settings=settings,
    )
    return PreviewRead(
        event=found.name, label=found.label(), locale=locale, subject=text.title,
        email_text=mail.text,
        email_html=mail.html,
        whatsapp=render.whatsapp_text(text), title=text.title, body=text.body,
        channels=[channel_labels()[c] for c in CHANNELS if c in found.channels],
    )  # fmt: skip
