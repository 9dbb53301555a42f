"""Markdown to safe HTML: markdown-it-py (CommonMark + tables) then nh3 (ammonia) sanitising.

Every piece of user-written markdown shown in a page goes through `render_markdown`.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape as html_escape

import nh3
from markdown_it import MarkdownIt

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
    return _clean_html(_parser().render(text))


def _clean_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


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
