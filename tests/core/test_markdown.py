"""Rendered markdown: each table scrolls inside its own labelled, focusable box."""

from __future__ import annotations

from app.core.markdown import render_markdown, render_rich

WIDE = "| Kolom | Isi |\n|---|---|\n| satu | " + "panjang " * 40 + "|\n"


def test_each_markdown_table_sits_in_its_own_labelled_scroll_box() -> None:
    html = render_markdown(WIDE + "\nteks\n\n" + WIDE)
    assert html.count('<div class="table-wrap md-table" role="region" tabindex="0"') == 2
    assert 'aria-label="Tabel 1"><table>' in html and 'aria-label="Tabel 2"><table>' in html
    assert html.count("</table></div>") == 2


def test_text_that_looks_like_a_table_tag_is_not_wrapped() -> None:
    html = render_markdown("tulis `<table>` atau <table> di teks")
    assert "table-wrap" not in html and "&lt;table&gt;" in html


def test_html_question_text_keeps_tables_balanced_and_clean() -> None:
    html = render_rich(
        '<table onclick="x()"><tr><td><table><tr><td>a</td></tr></table></td></tr></table>',
        "html",
    )
    assert "onclick" not in html
    assert html.count('class="table-wrap md-table"') == html.count("</table></div>") == 2
