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
