"""The English catalog covers every Indonesian UI string, and the pages follow the language choice.

The catalog check extracts messages from the current sources with babel.cfg's own mapping, so a
new `_("...")` without an English msgstr fails here. To fix it:

    .venv/bin/pybabel extract -F babel.cfg -w 100 --ignore-dirs ".* __pycache__" -o app/locale/messages.pot .
    .venv/bin/pybabel update -i app/locale/messages.pot -d app/locale -l en -w 100 -N --ignore-obsolete

then write the English in app/locale/en/LC_MESSAGES/messages.po.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from app.core import i18n

ROOT = Path(__file__).resolve().parent.parent.parent
BABEL_CFG = ROOT / "babel.cfg"
EN_PO = ROOT / "app" / "locale" / "en" / "LC_MESSAGES" / "messages.po"
UPDATE_HINT = (
    "run `.venv/bin/pybabel extract -F babel.cfg -w 100 --ignore-dirs '.* __pycache__' "
    "-o app/locale/messages.pot .` and "
    "`.venv/bin/pybabel update -i app/locale/messages.pot -d app/locale -l en -w 100 -N "
    "--ignore-obsolete`, "
    "then translate app/locale/en/LC_MESSAGES/messages.po"
)
# printf-style conversions as Python's % operator reads them; `%%` is a literal percent sign.
_PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]"
)


def _source_dirs_only(path: str) -> bool:
    """Walk only app/ and templates/ (babel.cfg's patterns) and skip hidden dirs and caches, as
    `--ignore-dirs ".* __pycache__"` does (templates/_macros/ holds messages too)."""
    rel = Path(path).resolve().relative_to(ROOT)
    hidden = any(part.startswith(".") or part == "__pycache__" for part in rel.parts)
    return not hidden and rel.parts[0] in {"app", "templates"}


def extract_source_messages() -> dict[str, list[str]]:
    """msgid -> ["file:line", ...] for every message the sources use, as `pybabel extract` sees them."""
    with BABEL_CFG.open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, str(BABEL_CFG))  # type: ignore[no-untyped-call]
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT,
        method_map,
        options_map,
        keywords=DEFAULT_KEYWORDS,
        directory_filter=_source_dirs_only,
    ):
        msgids = message if isinstance(message, tuple) else (message,)
        for msgid in msgids:
            if msgid:
                found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def source_messages() -> dict[str, list[str]]:
    return extract_source_messages()


@pytest.fixture(scope="module")
def english() -> Catalog:
    with EN_PO.open("rb") as handle:
        return read_po(handle, locale="en")


def _entries(catalog: Catalog) -> Iterator[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) for each singular and plural form in the catalog."""
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for index, msgid in enumerate(ids):
            # A plural msgid_plural maps to the last msgstr form.
            msgstr = strings[min(index, len(strings) - 1)] if strings else ""
            yield str(msgid), str(msgstr or ""), message.fuzzy


def _placeholders(text: str) -> list[str]:
    result = []
    for match in _PLACEHOLDER.finditer(text):
        if match.group(0) != "%%":
            result.append(match.group(0))
    return sorted(result)


def test_babel_cfg_reaches_python_and_templates(source_messages: dict[str, list[str]]) -> None:
    """The mapping extracts from both kinds of source (a broken pattern would find nothing)."""
    files = {location.rsplit(":", 1)[0] for where in source_messages.values() for location in where}
    assert any(f.startswith("app" + os.sep) and f.endswith(".py") for f in files), files
    assert any(f.startswith("templates" + os.sep) and f.endswith(".html") for f in files), files
    assert "Masuk" in source_messages  # templates/auth/login.html
    assert "NIP/email atau kata sandi salah." in source_messages  # app/auth/pages.py
    assert "Beranda" in source_messages  # app/web/templating.py (`_ = i18n.gettext_`)
    assert "Lihat daftar" in source_messages  # templates/_macros/table.html: underscore dirs too
    # babel.cfg's keywords: a domain error's detail needs no `_()` (it is translated when shown)
    assert "Kursus tidak ditemukan." in source_messages  # raise NotFound("...") in courses
    assert "Kuota angkatan sudah penuh." in source_messages  # N_("...") in courses/service.py


def test_every_source_message_has_english(
    source_messages: dict[str, list[str]], english: Catalog
) -> None:
    translated = {msgid: msgstr for msgid, msgstr, fuzzy in _entries(english) if not fuzzy}
    missing = {
        msgid: where
        for msgid, where in source_messages.items()
        if not translated.get(msgid, "").strip()
    }
    assert not missing, (
        f"{len(missing)} UI string(s) have no English translation ({UPDATE_HINT}):\n"
        + "\n".join(
            f"  {msgid!r} at {', '.join(where)}" for msgid, where in sorted(missing.items())
        )
    )


def test_no_fuzzy_or_stale_entries(source_messages: dict[str, list[str]], english: Catalog) -> None:
    """Fuzzy entries are ignored at run time; stale ones mislead translators."""
    fuzzy = sorted(msgid for msgid, _msgstr, is_fuzzy in _entries(english) if is_fuzzy)
    stale = sorted(
        msgid for msgid, _msgstr, _f in _entries(english) if msgid not in source_messages
    )
    assert not fuzzy, f"fuzzy entries (review them and drop the flag): {fuzzy}"
    assert not stale, f"entries no source uses any more ({UPDATE_HINT}): {stale}"


def test_placeholders_match(english: Catalog) -> None:
    wrong = [
        (msgid, msgstr)
        for msgid, msgstr, _fuzzy in _entries(english)
        if msgstr and _placeholders(msgid) != _placeholders(msgstr)
    ]
    assert not wrong, "placeholders differ between msgid and msgstr:\n" + "\n".join(
        f"  {msgid!r}\n  -> {msgstr!r}" for msgid, msgstr in wrong
    )
    problems = [(message.id, [str(e) for e in errors]) for message, errors in english.check()]
    assert not problems, problems


def test_every_message_survives_percent_formatting(english: Catalog) -> None:
    """Newstyle gettext in Jinja always applies `%` to the text, even without variables, so a
    bare `%` (write `%%`) or an unknown name breaks the page in that language."""
    broken = []
    for msgid, msgstr, _fuzzy in _entries(english):
        values = {m.group("name"): 1 for m in _PLACEHOLDER.finditer(msgid) if m.group("name")}
        for text in (msgid, msgstr):
            try:
                text % values
            except (KeyError, TypeError, ValueError) as exc:
                broken.append(f"{text!r}: {exc!r}")
    assert not broken, broken


def test_catalog_compiles_in_memory() -> None:
    i18n.translations.cache_clear()
    token = i18n.current_locale.set("en")
    try:
        assert i18n.gettext_("Masuk") == "Sign in"
        assert i18n.gettext_("Selamat datang, %(name)s") % {"name": "Dewi"} == "Welcome, Dewi"
    finally:
        i18n.current_locale.reset(token)
    assert i18n.gettext_("Masuk") == "Masuk"  # the default locale is the source language


async def test_login_page_is_indonesian_by_default(client: httpx.AsyncClient) -> None:
    response = await client.get("/login")
    assert response.status_code == 200
    assert '<html lang="id"' in response.text
    assert "Gunakan NIP atau email dan kata sandi Anda." in response.text
    assert "Langsung ke isi" in response.text
    assert "Use your NIP or email" not in response.text


async def test_login_page_is_english_with_the_language_cookie(client: httpx.AsyncClient) -> None:
    client.cookies.set("lms_lang", "en")
    response = await client.get("/login")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="en"' in html
    assert "<h1>Sign in</h1>" in html
    assert "Use your NIP or email and your password." in html
    assert '<label for="username">NIP or email</label>' in html
    assert "Skip to content" in html
    assert "Bahasa Indonesia" in html  # the switch now offers the way back
    for indonesian in ("Gunakan NIP atau email", "Kata sandi", "Langsung ke isi", "Navigasi utama"):
        assert indonesian not in html


async def test_accept_language_english_without_cookie(client: httpx.AsyncClient) -> None:
    response = await client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9,id;q=0.5"})
    assert '<html lang="en"' in response.text
    assert "<h1>Sign in</h1>" in response.text


async def test_unknown_language_cookie_falls_back_to_indonesian(client: httpx.AsyncClient) -> None:
    client.cookies.set("lms_lang", "fr")
    response = await client.get("/login")
    assert '<html lang="id"' in response.text
    assert "<h1>Masuk</h1>" in response.text
