"""Gettext for the UI: Indonesian source text, English from app/locale/en/LC_MESSAGES/messages.po.

The .po files are compiled in memory at first use, so no build step makes .mo files.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from babel.dates import format_date as babel_date
from babel.dates import format_datetime as babel_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALES = ("id", "en")
DEFAULT_LOCALE = "id"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> gettext.NullTranslations:
    po_path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT_LOCALE or not po_path.exists():
        return gettext.NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def gettext_(message: str) -> str:
    return translations(current_locale.get()).gettext(message)


def ngettext_(singular: str, plural: str, n: int) -> str:
    return translations(current_locale.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a msgid for extraction without translating it now: for text kept as a code-like
    value (an enrolment skip reason, an error detail) and translated when it is shown."""
    return message


_ = gettext_


def translate_default(text: str | None) -> str:
    """Text that may be a msgid kept untranslated (`N_`, an error's detail, a shipped default
    stored as data such as the default survey questions): the reader's language when it is a
    catalog msgid, else the text as it is (already translated, or as people wrote it)."""
    return gettext_(text) if text else ""


def pick_locale(
    cookie: str | None,
    user_locale: str | None,
    accept_language: str | None,
    default: str = DEFAULT_LOCALE,
) -> str:
    """The user's saved choice, then the cookie, then Accept-Language, then the institution's default."""
    for candidate in (user_locale, cookie):
        if candidate in LOCALES:
            return candidate
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LOCALES:
            return tag
    return default if default in LOCALES else DEFAULT_LOCALE


# --- dates and numbers in the reader's language (Babel's CLDR data) --------------------------

# Indonesian pages keep the numeric dd-mm-yyyy that forms and letters use; English readers get
# the month's name, so 07-12-2026 cannot be read as July 12th.
_DAY = {"en": "d MMM y"}
_MOMENT = {"en": "d MMM y, HH:mm"}


def format_day(day: dt.date | None) -> str:
    """A calendar date for the current reader ("07-12-2026", "7 Dec 2026"); "" for None."""
    if day is None:
        return ""
    locale = current_locale.get()
    if locale in _DAY:
        return babel_date(day, _DAY[locale], locale=locale)
    return day.strftime("%d-%m-%Y")


def format_moment(local: dt.datetime) -> str:
    """A local date and time for the current reader ("07-12-2026 14:05", "7 Dec 2026, 14:05")."""
    locale = current_locale.get()
    if locale in _MOMENT:
        return babel_datetime(local, _MOMENT[locale], locale=locale)
    return local.strftime("%d-%m-%Y %H:%M")


def format_number(value: float | int | None, digits: int = 2) -> str:
    """A number with the reader's separators: 10.000 and 2,5 in Indonesian, 10,000 and 2.5 in
    English; at most `digits` decimals, none when whole; "" for None."""
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=current_locale.get())


def local_date(value: dt.date | dt.datetime | None, pattern: str | None = None) -> str:
    """Template filter `local_date`: a date, or a stored moment's date in the institution's
    zone, for the current reader; an explicit strftime `pattern` is kept as written."""
    from app.core import clock

    if pattern is not None:
        return clock.format_date(value, pattern)
    if isinstance(value, dt.datetime):
        value = clock.local_date(value)
    return format_day(value)


def local_datetime(moment: dt.datetime | None, pattern: str | None = None) -> str:
    """Template filter `local_datetime`: a stored moment in the institution's zone with its zone
    label ("7 Dec 2026, 14:05" and the zone); an explicit strftime `pattern` is kept as written."""
    from app.core import clock

    if pattern is not None:
        return clock.format_datetime(moment, pattern)
    local = clock.to_local(moment)
    if local is None:
        return ""
    return f"{format_moment(local)} {clock.tz_label(local)}"
