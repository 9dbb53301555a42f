"""Markdown to safe HTML: markdown-it-py (CommonMark + tables) then nh3 (ammonia) sanitising.

Every piece of user-written markdown shown in a page goes through `render_markdown`. Each table
of the result sits in its own labelled, keyboard-focusable scroll box, so a wide table scrolls
inside the text on a phone instead of making the whole page scroll sideways.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape as html_escape

import nh3
from markdown_it import MarkdownIt

from app.core.i18n import current_locale
from app.core.i18n import gettext_ as _

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
    "sup", "sub", "span", "figure", "figcaption", "kbd", "mark",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"align"},
    "td": {"align"},
    "code": {"class"},
}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # html=False: raw HTML in markdown is shown as text, not passed through.
    return (
        MarkdownIt("commonmark", {"html": False, "linkify": False})
        .enable("table")
        .enable("strikethrough")
    )


def render_markdown(text: str | None) -> str:
    """Sanitised HTML for markdown written by users (links get rel=noopener, no scripts, no styles)."""
    if not text:
        return ""
    return _rendered(text, current_locale.get())


@lru_cache(maxsize=2048)
def _rendered(text: str, locale: str) -> str:
    """Parsing and sanitising cost about a millisecond per kilobyte, and the same course and
    activity texts are shown to every learner: the result is kept per text and language (the
    tables' labels are translated)."""
    return _clean_html(_parser().render(text))


_TABLE = re.compile(r"<table>|</table>")


def _clean_html(html: str) -> str:
    return _wrap_tables(
        nh3.clean(
            html,
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer nofollow",
        )
    )


def _wrap_tables(clean: str) -> str:
    """Each <table> of sanitised HTML (tags without attributes, text escaped, so every `<table>`
    is a real table) in a scroll box: role=region with a label and tabindex=0, as WCAG asks of
    a scrollable region (axe-core scrollable-region-focusable)."""
    count = 0

    def wrap(match: re.Match[str]) -> str:
        nonlocal count
        if match.group(0) == "</table>":
            return "</table></div>"
        count += 1
        label = html_escape(_("Tabel %(n)s") % {"n": count})
        return (
            f'<div class="table-wrap md-table" role="region" tabindex="0" aria-label="{label}">'
            "<table>"
        )

    return _TABLE.sub(wrap, clean)


def render_rich(text: str | None, text_format: str, *, inline: bool = False) -> str:
    """Sanitised HTML for text in one of the question formats GIFT knows: markdown, html and
    moodle (HTML allowed, line breaks kept) or plain (escaped). `inline` drops the wrapping <p>
    of a one-paragraph markdown text (choices)."""
    if not text:
        return ""
    if text_format == "markdown":
        html = render_markdown(text)
        if (
            inline
            and html.startswith("<p>")
            and html.rstrip().endswith("</p>")
            and html.count("<p>") == 1
        ):
            html = html.strip()[3:-4]
        return html
    if text_format in ("html", "moodle"):
        body = text if text_format == "html" or "<" in text else text.replace("\n", "<br>\n")
        return _clean_html(body)
    escaped = html_escape(text)
    return escaped.replace("\n", "<br>\n")
