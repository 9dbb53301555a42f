"""Message text from the event templates (templates/notifications/events/<event>.html, blocks
`title`, `body` and `action`), in the reader's language, and the e-mail and WhatsApp forms of it.

The body is plain text: paragraphs separated by a blank line, "- " starts a list item. The
e-mail's HTML part is built from it by templates/notifications/email.html (escaped there).
"""

from __future__ import annotations

import datetime as dt
import email.policy
import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.dates import format_date as babel_format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

from app.certificates.eligibility import describe_item
from app.core import clock, i18n
from app.core.config import Settings
from app.core.numbers import row_id

TEMPLATE_DIR = Path(__file__).resolve().parent.parent.parent / "templates" / "notifications"


@dataclass(frozen=True, slots=True)
class Rendered:
    title: str
    body: str
    action: str | None
    url: str | None  # absolute


def _date(value: Any, style: str = "long") -> str:
    """ISO text, date or datetime -> "6 Desember 2026" in the current language."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
    if isinstance(value, dt.datetime):
        value = clock.local_date(value)
    return str(babel_format_date(value, format=style, locale=i18n.current_locale.get()))


def _datetime(value: Any) -> str:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return clock.format_datetime(value) if isinstance(value, dt.datetime) else ""


def _number(value: Any) -> str:
    """1 decimal at most, no trailing zero: 6 -> "6", 18.25 -> "18,3" (id) / "18.3" (en)."""
    text = f"{float(value or 0):.1f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if i18n.current_locale.get() == "id" else text


def _month(value: Any) -> str:
    """ "2026-12" -> "Desember 2026"."""
    year, month = str(value).split("-")[:2]
    day = dt.date(int(year), int(month), 1)
    return str(babel_format_date(day, format="LLLL yyyy", locale=i18n.current_locale.get()))


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Plain-text templates (no autoescape); the e-mail layout escapes on its own."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=False,  # noqa: S701 - text/plain output; email.html turns autoescape on
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext_, i18n.ngettext_, newstyle=True
    )
    env.policies["ext.i18n.trimmed"] = True
    env.filters.update(date=_date, datetime=_datetime, number=_number, month=_month)
    # A certificate requirement stored as {"code", "params"}, in the recipient's language.
    env.filters["reason"] = describe_item
    return env


def _template(event: str) -> Template:
    return environment().get_template(f"events/{event}.html")


@contextmanager
def language(locale: str | None) -> Iterator[None]:
    token = i18n.current_locale.set(locale if locale in i18n.LOCALES else i18n.DEFAULT_LOCALE)
    try:
        yield
    finally:
        i18n.current_locale.reset(token)


def absolute(url: str | None, settings: Settings) -> str | None:
    if not url:
        return None
    return url if url.startswith(("http://", "https://")) else settings.absolute_url(url)


def render(
    event: str, context: dict[str, Any], *, name: str, url: str | None, locale: str | None,
    settings: Settings,
) -> Rendered:  # fmt: skip
    """Title, body and action text of one message in `locale`."""
    template = _template(event)
    data = {
        **context, "name": name, "url": absolute(url, settings),
        "institution": settings.institution_name, "target_jp": settings.annual_jp_target,
    }  # fmt: skip
    with language(locale):
        ctx = template.new_context(data)
        title = "".join(template.blocks["title"](ctx)).strip()
        body = "".join(template.blocks["body"](ctx)).strip()
        action = (
            "".join(template.blocks["action"](ctx)).strip() if "action" in template.blocks else ""
        )
    return Rendered(" ".join(title.split()), _tidy(body), action or None, data["url"])


def _tidy(body: str) -> str:
    """Trim each line, keep single blank lines between paragraphs."""
    lines = [line.strip() for line in body.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def blocks(body: str) -> list[tuple[str, list[str]]]:
    """The body as ("p", [text]) and ("ul", [items]) blocks for the HTML part."""
    found: list[tuple[str, list[str]]] = []
    for paragraph in body.split("\n\n"):
        lines = [ln for ln in paragraph.splitlines() if ln.strip()]
        if lines and all(ln.startswith("- ") for ln in lines):
            found.append(("ul", [ln[2:] for ln in lines]))
        elif lines:
            found.append(("p", [" ".join(lines)]))
    return found


# --- e-mail ---------------------------------------------------------------------------------------


def unsubscribe_token(user_id: int, event: str, channel: str, settings: Settings) -> str:
    """A signed "stop this event on this channel" token for links without login."""
    message = f"unsubscribe|{user_id}|{event}|{channel}".encode()
    sig = hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]
    return f"{user_id}.{event}.{channel}.{sig}"


def read_unsubscribe_token(token: str, settings: Settings) -> tuple[int, str, str] | None:
    """(user_id, event, channel) of a genuine token, else None."""
    parts = token.split(".")
    user_id = row_id(parts[0]) if len(parts) == 4 else None
    if user_id is None:
        return None
    event, channel = parts[1], parts[2]
    expected = unsubscribe_token(user_id, event, channel, settings)
    return (user_id, event, channel) if hmac.compare_digest(expected, token) else None


def message_id(notification_id: int, channel: str, settings: Settings) -> str:
    """Stable per notification and channel, so a duplicate delivery is recognisable."""
    domain = parseaddr(settings.mail_from)[1].partition("@")[2] or "lms.invalid"
    tag = hmac.new(settings.secret_key.encode(), f"msgid|{notification_id}".encode(),
                   hashlib.sha256).hexdigest()[:12]  # fmt: skip
    return f"<lms.{notification_id}.{channel}.{tag}@{domain}>"


@dataclass(frozen=True, slots=True)
class EmailParts:
    subject: str
    text: str
    html: str


def email_parts(
    rendered: Rendered, *, unsubscribe_url: str | None, preferences_url: str | None,
    locale: str | None, settings: Settings,
) -> EmailParts:  # fmt: skip
    """The e-mail's subject, plain text and HTML (the footer says how to stop such messages)."""
    text_parts = [rendered.body]
    if rendered.url:
        text_parts.append(f"{rendered.action or rendered.url}: {rendered.url}")
    with language(locale):
        footer = environment().get_template("email_footer.html").render(
            unsubscribe_url=unsubscribe_url, preferences_url=preferences_url,
            institution=settings.institution_name,
        ).strip()  # fmt: skip
        html = environment().get_template("email.html").render(
            title=rendered.title, blocks=blocks(rendered.body), url=rendered.url,
            action=rendered.action, footer_lines=footer.splitlines(),
            institution=settings.institution_name, lang=i18n.current_locale.get(),
        )  # fmt: skip
    return EmailParts(rendered.title, "\n\n".join([*text_parts, footer]) + "\n", html)


# compat32 folds a long header at its colon; RFC 5322 allows 998 characters, so the
# List-Unsubscribe URL stays on its line (some clients mishandle a folded one).
MIME_POLICY = email.policy.compat32.clone(max_line_length=998)


def _header(value: str) -> str:
    """ASCII as it is, anything else RFC 2047-encoded."""
    return value if value.isascii() else Header(value, "utf-8").encode()


def email_message(
    parts: EmailParts, *, notification_id: int, to_name: str, to_address: str,
    unsubscribe_url: str | None, created_at: dt.datetime, settings: Settings,
) -> Message:  # fmt: skip
    """A multipart/alternative message (plain text + HTML) with the headers mail servers and
    clients expect: From, To, Reply-To, Message-ID, Date, Auto-Submitted, and RFC 8058
    one-click unsubscribe. Built with the classic email.mime classes: several times cheaper
    than EmailMessage's header objects, which matters at 10,000 messages a run."""
    msg = MIMEMultipart("alternative", policy=MIME_POLICY)
    msg["Subject"] = _header(parts.subject)
    msg["From"] = _header(settings.mail_from)
    msg["To"] = formataddr((to_name, to_address), charset="utf-8")
    if settings.mail_reply_to:
        msg["Reply-To"] = settings.mail_reply_to
    msg["Message-ID"] = message_id(notification_id, "email", settings)
    msg["Date"] = format_datetime(created_at.astimezone(dt.UTC))
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    if unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.attach(MIMEText(parts.text, "plain", "utf-8"))
    msg.attach(MIMEText(parts.html, "html", "utf-8"))
    return msg


def whatsapp_text(rendered: Rendered) -> str:
    """WhatsApp's own markup: *bold* title, the body, the link."""
    parts = [f"*{rendered.title}*", rendered.body]
    if rendered.url:
        parts.append(rendered.url)
    return "\n\n".join(parts)
