"""Gettext for the UI: Indonesian source text, English from app/locale/en/LC_MESSAGES/messages.po.

The .po files are compiled in memory at first use, so no build step makes .mo files.
"""

from __future__ import annotations

import gettext
import io
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

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


_ = gettext_


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
