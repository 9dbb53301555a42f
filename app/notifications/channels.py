"""The transports: SMTP for e-mail (settings.smtp_url) and the agency's HTTP gateway for WhatsApp
(settings.whatsapp_url and whatsapp_template).

Connection-level failures raise `outbox.service.ChannelDown` (the whole batch waits); a problem
with one message becomes that message's own outcome.
"""

from __future__ import annotations

import json
import smtplib
import ssl
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from app.core.config import Settings
from app.outbox.service import ChannelDown, Failed, Outcome, Sent

# --- e-mail ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    host: str
    port: int
    security: str  # "plain" | "starttls" | "tls"
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpTarget:
    """smtp://user:pass@host:25, smtp+starttls://...:587 or smtps://...:465 (RFC 8314)."""
    parts = urlsplit(url)
    schemes = {"smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("tls", 465)}
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(
            f"LMS_SMTP_URL not understood: {parts.scheme or '?'}://... "
            "(smtp://, smtp+starttls:// or smtps://user:pass@host:port)"
        )
    security, default_port = schemes[parts.scheme]
    return SmtpTarget(
        host=parts.hostname,
        port=parts.port or default_port,
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


@contextmanager
def smtp_connection(settings: Settings) -> Iterator[smtplib.SMTP]:
    """An authenticated SMTP connection; ChannelDown when the server cannot be reached."""
    assert settings.smtp_url
    target = parse_smtp_url(settings.smtp_url)
    timeout = settings.smtp_timeout_seconds
    conn: smtplib.SMTP | None = None
    try:
        if target.security == "tls":
            conn = smtplib.SMTP_SSL(target.host, target.port, timeout=timeout,
                                    context=ssl.create_default_context())  # fmt: skip
        else:
            conn = smtplib.SMTP(target.host, target.port, timeout=timeout)
        conn.ehlo()
        if target.security == "starttls":
            conn.starttls(context=ssl.create_default_context())
            conn.ehlo()
        if target.username:
            conn.login(target.username, target.password or "")
    except (OSError, smtplib.SMTPException) as exc:
        if conn is not None:
            conn.close()
        raise ChannelDown(f"SMTP {target.host}:{target.port}: {exc}") from exc
    try:
        yield conn
    finally:
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            conn.close()


def send_emails(
    messages: Sequence[tuple[int, Message]], settings: Settings, *, conn: smtplib.SMTP | None = None,
    on_sent: Callable[[int], None] | None = None,
) -> dict[int, Outcome]:
    """Send on one connection (`conn`, else a new one); a refused recipient fails alone (5xx for
    good, 4xx later); a dropped connection is re-opened once, then the rest wait for a later
    round. `on_sent(item_id)` runs as soon as the server accepted a message."""
    outcomes: dict[int, Outcome] = {}
    pending = list(messages)
    dropped: Exception | None = None

    def send_all(connection: smtplib.SMTP) -> None:
        while pending:
            item_id, msg = pending[0]
            outcomes[item_id] = _send_one(connection, msg)
            pending.pop(0)
            if on_sent is not None and isinstance(outcomes[item_id], Sent):
                on_sent(item_id)

    if conn is not None:
        try:
            send_all(conn)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            dropped = exc
    for _attempt in range(1 if conn is not None else 2):
        if not pending:
            break
        try:
            with smtp_connection(settings) as fresh:
                send_all(fresh)
        except ChannelDown:
            if not outcomes:
                raise  # nothing went out: the whole batch waits
            break
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            dropped = exc
    for item_id, _msg in pending:
        outcomes[item_id] = Failed(f"SMTP terputus: {dropped}")
    return outcomes


def _send_one(conn: smtplib.SMTP, msg: Message) -> Outcome:
    try:
        conn.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        return Failed(f"SMTP menolak penerima: {exc.recipients}",
                      permanent=all(500 <= c < 600 for c in codes))  # fmt: skip
    except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
        return Failed(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}",
                      permanent=500 <= exc.smtp_code < 600)  # fmt: skip
    return Sent()


# --- WhatsApp -------------------------------------------------------------------------------------


def _fill(value: Any, fields: dict[str, str]) -> Any:
    """Replace {phone}, {phone_digits} and {text} inside every string of the JSON template."""
    if isinstance(value, str):
        for name, text in fields.items():
            value = value.replace("{" + name + "}", text)
        return value
    if isinstance(value, list):
        return [_fill(v, fields) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, fields) for k, v in value.items()}
    return value


def whatsapp_request(phone: str, text: str, settings: Settings) -> dict[str, Any]:
    """The gateway's JSON body for one message, from settings.whatsapp_template."""
    template = json.loads(settings.whatsapp_template)
    fields = {"phone": phone, "phone_digits": phone.lstrip("+"), "text": text}
    body = _fill(template, fields)
    assert isinstance(body, dict)
    return body


def send_whatsapp(
    messages: Sequence[tuple[int, str, str]], settings: Settings,
    on_sent: Callable[[int], None] | None = None,
) -> dict[int, Outcome]:
    """POST each (item, phone, text) to the gateway. Unreachable gateway: ChannelDown; 429 and
    5xx: retried later; other 4xx: the gateway refuses this message for good. `on_sent(item_id)`
    runs as soon as the gateway accepted a message."""
    assert settings.whatsapp_url
    headers = {"Content-Type": "application/json"}
    if settings.whatsapp_token:
        headers["Authorization"] = f"Bearer {settings.whatsapp_token}"
    outcomes: dict[int, Outcome] = {}
    with httpx.Client(timeout=settings.whatsapp_timeout_seconds, headers=headers) as client:
        for item_id, phone, text in messages:
            try:
                response = client.post(
                    settings.whatsapp_url, json=whatsapp_request(phone, text, settings)
                )
            except (OSError, httpx.TransportError) as exc:
                if not outcomes:
                    raise ChannelDown(f"gateway WhatsApp: {exc}") from exc
                outcomes[item_id] = Failed(f"gateway WhatsApp: {exc}")
                continue
            if response.is_success:
                outcomes[item_id] = Sent()
                if on_sent is not None:
                    on_sent(item_id)
            else:
                retry_later = response.status_code == 429 or response.status_code >= 500
                outcomes[item_id] = Failed(
                    f"gateway WhatsApp {response.status_code}: {response.text[:500]}",
                    permanent=not retry_later,
                )
    return outcomes
