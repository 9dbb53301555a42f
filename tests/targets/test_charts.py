"""The SVG chart geometry (pure functions): bars proportional to their values, nothing outside
the 320-unit canvas, no division by zero on an empty year."""

from __future__ import annotations

from app.targets import charts


def test_hbars_scale_to_the_maximum_and_draw_the_target() -> None:
    rows = [
        charts.HBarRow("A", [100.0, 50.0], ["100 %", "50 %"]),
        charts.HBarRow("B", [25.0, 0.0], ["25 %", "0 %"]),
    ]
    chart = charts.hbars(rows, scale_max=100, target=90, target_text="Target 90 %")
    widths = [b.width for b in chart.bars]
    assert widths[0] == charts.WIDTH - 64 and widths[1] == widths[0] / 2
    assert widths[2] == widths[0] / 4 and widths[3] == 0
    assert [label.text for label in chart.labels] == ["A", "B"]
    (target,) = chart.lines
    assert target.x1 == target.x2 == round(0.9 * widths[0], 1) and target.text == "Target 90 %"
    assert all(b.y + b.height <= chart.height for b in chart.bars)


def test_hbars_with_long_texts_put_them_on_the_label_line() -> None:
    chart = charts.hbars(
        [charts.HBarRow("APBN", [10.0], ["10 JP · 3 ASN"])], scale_max=10, text_on_label_line=True
    )
    (bar,) = chart.bars
    assert bar.width == charts.WIDTH and bar.text_x == charts.WIDTH and bar.anchor == "end"


def test_empty_data_draws_without_dividing_by_zero() -> None:
    assert charts.hbars([], scale_max=0).bars == []
    chart = charts.columns([0, 0, 0], ["a", "b", "c"], ["0", "0", "0"])
    assert [b.height for b in chart.bars] == [0, 0, 0]
    trend = charts.trend([0.0] * 12, [""] * 12, [0.0] * 12, [str(m) for m in range(12)],
                         target=90, target_text="t")  # fmt: skip
    assert len(trend.polyline.split()) == 12 and not trend.show_values


def test_trend_line_follows_the_percent_scale() -> None:
    trend = charts.trend([5.0, 10.0], ["", ""], [0.0, 100.0], ["Jan", "Feb"],
                         target=50, target_text="t")  # fmt: skip
    (_x1, y1), (_x2, y2) = (tuple(map(float, p.split(","))) for p in trend.polyline.split())
    target = next(line for line in trend.lines if line.css == "target")
    assert y1 > target.y1 > y2  # 0 % below the 50 % target line, 100 % above it
    assert trend.bars[1].height == 2 * trend.bars[0].height


def test_numbers_follow_the_locale() -> None:
    from app.core import i18n

    token = i18n.current_locale.set("id")
    try:
        assert charts.number(12345.5) == "12.345,5" and charts.number(90.0) == "90"
        assert charts.number(None) == "–"
    finally:
        i18n.current_locale.reset(token)
    token = i18n.current_locale.set("en")
    try:
        assert charts.number(1234.5) == "1,234.5"
    finally:
        i18n.current_locale.reset(token)


# --- readable on a phone: text size, labels that fit, empty states ------------------------------


def test_long_labels_are_shortened_at_a_word_with_the_full_text_kept() -> None:
    name = "DISKOMINFO · Dinas Komunikasi, Informatika, Statistik dan Persandian Kabupaten"
    chart = charts.hbars([charts.HBarRow(name, [50.0], ["50 %"])], scale_max=100)
    (label,) = chart.labels
    (shown,) = label.shown
    assert label.text == name and label.shortened
    assert shown.endswith("…") and charts.text_width(shown) <= charts.WIDTH
    assert name.startswith(shown[:-1]) and not name[len(shown) - 1].isalnum()  # between words
    short = charts.hbars([charts.HBarRow("BKPSDM · Badan", [1.0], ["1 %"])], scale_max=100)
    assert not short.labels[0].shortened


def test_funding_label_leaves_room_for_its_value_text() -> None:
    text = "12.345 JP · 1.234 ASN"
    chart = charts.hbars(
        [charts.HBarRow("APBD Kabupaten dan sumber lain yang sah menurut aturan", [1.0], [text])],
        scale_max=1, text_on_label_line=True,
    )  # fmt: skip
    (label,) = chart.labels
    assert charts.text_width(label.shown[0]) + charts.text_width(text) + 8 <= charts.WIDTH


def test_column_labels_wrap_to_their_slot() -> None:
    labels = ["Pelatihan teknis", "Seminar nasional daring", "Mentoring", "E-learning mandiri"]
    chart = charts.columns([1, 2, 3, 4], labels, ["1", "2", "3", "4"])
    slot = charts.WIDTH / 4
    for label in chart.labels:
        assert 1 <= len(label.shown) <= 2
        assert all(charts.text_width(line) <= slot for line in label.shown)
    assert chart.labels[1].shown == ("Seminar", "nasional daring") or chart.labels[1].shortened
    assert all(b.y >= charts.FONT for b in chart.bars)  # room for the value above the tallest


def test_text_is_at_least_12_units_and_empty_charts_say_so() -> None:
    assert charts.FONT >= 12
    assert charts.hbars([], scale_max=0).empty
    assert charts.columns([0, 0], ["a", "b"], ["0", "0"]).empty
    assert not charts.columns([0, 1], ["a", "b"], ["0", "1"]).empty
    assert charts.trend([0.0] * 12, [""] * 12, [0.0] * 12, [str(m) for m in range(12)],
                        target=90, target_text="t").empty  # fmt: skip


async def test_dashboard_of_an_empty_year_shows_no_data_instead_of_empty_plots(client) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import browser_login, make_user

    make_user(roles=("training_officer",), email="officer@example.go.id", nip=None)
    await browser_login(client, "officer@example.go.id")
    html = (await client.get("/studio/targets?year=2001")).text
    for chart in ("chart-opd", "chart-fund", "chart-trend"):  # nothing happened that year
        assert f'<p class="chart-empty muted" id="{chart}" role="note">' in html
    assert html.count("Belum ada data") >= 3
    # The JP distribution of the active ASN is data even when all of them are at 0 JP.
    assert 'id="chart-dist"' in html
