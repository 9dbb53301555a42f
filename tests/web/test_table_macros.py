"""templates/_macros/table.html: scroll boxes, folded filters and what is missing as a count."""

from __future__ import annotations

from app.certificates.eligibility import Check
from app.web.templating import _env

MACROS = '{% import "_macros/table.html" as tbl with context %}'


def render(source: str, **context: object) -> str:
    return _env.from_string(MACROS + source).render(**context)


def test_scroll_box_is_a_labelled_focusable_region() -> None:
    html = render('{% call tbl.scroll("Peserta") %}<table></table>{% endcall %}')
    assert '<div class="table-wrap" role="region" tabindex="0" aria-label="Peserta">' in html


def test_filters_fold_and_open_when_one_is_in_use() -> None:
    assert '<details class="filter-box">' in render("{% call tbl.filters(0) %}f{% endcall %}")
    used = render("{% call tbl.filters(2) %}f{% endcall %}")
    assert '<details class="filter-box" open>' in used and "2 aktif" in used


def test_many_unfinished_activities_become_one_count_with_the_titles_folded() -> None:
    titles = [f"Aktivitas {n}" for n in range(1, 14)]
    checks = [
        Check("required_activities", False, {"titles": titles}),
        Check("survey_sent", False),
    ]
    html = render("<ul>{{ tbl.missing_items(checks, '/courses/7') }}</ul>", checks=checks)
    assert "13 aktivitas wajib belum selesai" in html
    assert '<a href="/courses/7">' in html and "<details><summary>" in html
    assert html.count("<li>Aktivitas ") == 13
    assert html.count('<li class="missing-count">') == 1 and html.count("<li>") == 14
    few = [Check("required_activities", False, {"titles": ["Satu", "Dua"]})]
    short = render("{{ tbl.missing_items(checks) }}", checks=few)
    assert "<details>" not in short and "Satu, Dua" in short
    assert render("{{ tbl.missing_items(['Belum mengisi survei.']) }}") == (
        "<li>Belum mengisi survei.</li>"
    )
