"""Geometry of the dashboard's server-side SVG charts: plain data (positions, sizes, texts) that
templates/targets/_charts.html draws; no database, no JavaScript, no chart service.

Charts are 320 units wide and drawn full width, so on a 360 px phone one unit is about one pixel
and FONT-unit text is at least 12 px; wider screens scale them up to the page's max width. Labels
that do not fit are wrapped or shortened at a word with "…" and keep their full text as a
tooltip (<title>); every chart has its data table next to it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from babel.numbers import format_decimal

from app.core import i18n

WIDTH = 320
FONT = 13.0  # text size in units: >= 12 px whenever the chart is drawn >= 296 px wide
CHAR = 0.58 * FONT  # a generous average glyph width, to decide what fits


def text_width(text: str) -> float:
    """Estimated width of `text` at FONT (no font metrics on the server; errs on the wide side)."""
    return len(text) * CHAR


def shorten(text: str, room: float) -> str:
    """`text` if it fits `room` units, else cut at a word boundary (never mid-word unless one
    word is wider than the room) and ended with "…"."""
    if text_width(text) <= room:
        return text
    limit = max(1, int(room / CHAR) - 1)
    cut = text[:limit]
    if " " in cut.strip() and not text[limit : limit + 1].isspace():
        cut = cut[: cut.rstrip().rfind(" ")]
    return cut.rstrip(" ·,–-") + "…"


def wrap(text: str, room: float, max_lines: int = 2) -> tuple[str, ...]:
    """`text` in lines that fit `room` units, breaking between words; the last line is
    shortened with "…" when it still does not fit."""
    lines: list[str] = []
    current = ""
    words = text.split()
    for i, word in enumerate(words):
        candidate = f"{current} {word}".strip()
        if text_width(candidate) <= room or not current:
            current = candidate
            continue
        lines.append(current)
        current = word
        if len(lines) == max_lines - 1:
            current = " ".join(words[i:])
            break
    lines.append(current)
    return tuple(shorten(line, room) for line in lines if line)


def number(value: float | int | None, *, decimals: int = 1) -> str:
    """A number in the reader's locale (12.345,5 in Indonesian), at most `decimals` decimals."""
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "#" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=i18n.current_locale.get())


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str  # a class of templates/targets/_charts.html: "p1", "p2", ...
    text: str  # the value written next to (or above) the bar
    text_x: float
    text_y: float
    anchor: str = "start"


@dataclass(frozen=True, slots=True)
class Label:
    x: float
    y: float
    text: str  # the full text (the tooltip when the lines shorten it)
    anchor: str = "start"
    lines: tuple[str, ...] = ()  # what is drawn, one <tspan> per line; empty: `text`

    @property
    def shown(self) -> tuple[str, ...]:
        return self.lines or (self.text,)

    @property
    def shortened(self) -> bool:
        return " ".join(self.shown) != self.text


@dataclass(frozen=True, slots=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    css: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class Chart:
    width: float
    height: float
    bars: list[Bar] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    polyline: str = ""  # "x,y x,y ..." of a line series, empty when none
    points: list[tuple[float, float, str]] = field(default_factory=list)  # dots with a text
    show_values: bool = True  # False: values only in each bar's <title> (too narrow to write)
    empty: bool = False  # nothing to draw: the page says "no data yet" instead of a blank plot
    font: float = FONT


@dataclass(frozen=True, slots=True)
class HBarRow:
    label: str
    values: Sequence[float]  # one per series, same scale
    texts: Sequence[str]  # what is written after each bar


def hbars(rows: Sequence[HBarRow], *, scale_max: float, target: float | None = None,
          target_text: str = "", text_on_label_line: bool = False) -> Chart:  # fmt: skip
    """Horizontal bars: a label line, then one thin bar per series; a dashed target line. Long
    value texts go at the right end of the label line (`text_on_label_line`), short ones after
    their bar."""
    series = max((len(r.values) for r in rows), default=1)
    bar_h, gap, label_h = FONT, 2.0, FONT + 4
    top = FONT + 6 if target is not None else 2.0
    row_h = label_h + series * (bar_h + gap) + 6
    area = WIDTH - (0.0 if text_on_label_line else 64.0)  # room on the right for the value
    unit = area / scale_max if scale_max > 0 else 0.0
    chart = Chart(width=WIDTH, height=top + row_h * len(rows) + 2, empty=not rows)
    for i, row in enumerate(rows):
        y = top + i * row_h
        room = float(WIDTH)
        if text_on_label_line:
            room -= max((text_width(t) for t in row.texts), default=0) + 8
        chart.labels.append(Label(0, y + FONT, row.label, lines=(shorten(row.label, room),)))
        for s, (value, text) in enumerate(zip(row.values, row.texts, strict=True)):
            by = y + label_h + s * (bar_h + gap)
            w = max(0.0, min(value, scale_max)) * unit
            if text_on_label_line:
                bar = Bar(0, by, round(w, 1), bar_h, f"p{s + 1}", text, WIDTH, y + FONT, "end")
            else:
                bar = Bar(0, by, round(w, 1), bar_h, f"p{s + 1}", text, round(w + 3, 1),
                          by + bar_h - 2)  # fmt: skip
            chart.bars.append(bar)
    if target is not None and scale_max > 0:
        x = round(min(target, scale_max) * unit, 1)
        chart.lines.append(Line(x, FONT + 3, x, chart.height, "target", target_text))
    return chart


def columns(values: Sequence[float], labels: Sequence[str], texts: Sequence[str], *,
            height: float = 160, css: str = "p1") -> Chart:  # fmt: skip
    """Vertical columns with the value above each and its label below."""
    n = max(len(values), 1)
    slot = WIDTH / n
    wrapped = [wrap(label, slot - 4) for label in labels]
    top, bottom = FONT + 4, (FONT + 3) * max((len(w) for w in wrapped), default=1) + 4
    high = max(values, default=0) or 1
    plot = height - top - bottom
    chart = Chart(width=WIDTH, height=height, empty=not any(v > 0 for v in values))
    for i, (value, label, text) in enumerate(zip(values, labels, texts, strict=True)):
        h = round(plot * max(value, 0) / high, 1)
        x = round(i * slot + slot * 0.15, 1)
        w = round(slot * 0.7, 1)
        y = top + plot - h
        chart.bars.append(Bar(x, y, w, h, css, text, round(x + w / 2, 1), y - 3, "middle"))
        chart.labels.append(
            Label(round(x + w / 2, 1), top + plot + FONT + 2, label, "middle", wrapped[i])
        )
    chart.lines.append(Line(0, top + plot, WIDTH, top + plot, "axis"))
    return chart


def trend(jp: Sequence[float], jp_texts: Sequence[str], share: Sequence[float],
          months: Sequence[str], *, target: float, target_text: str,
          height: float = 190) -> Chart:  # fmt: skip
    """JP credited per month as columns (left scale) and the cumulative participation in percent
    as a line on 0–100 % with the dashed target (right scale)."""
    chart = replace(columns(jp, months, jp_texts, height=height, css="p1 soft"), show_values=False)
    top = FONT + 4
    bottom = (FONT + 3) * max((len(label.shown) for label in chart.labels), default=1) + 4
    plot = height - top - bottom
    slot = WIDTH / max(len(share), 1)

    def y_of(p: float) -> float:
        return round(top + plot * (1 - max(0.0, min(p, 100.0)) / 100), 1)

    pts = [(round(i * slot + slot / 2, 1), y_of(p)) for i, p in enumerate(share)]
    chart.points.extend((x, y, f"{number(p)} %") for (x, y), p in zip(pts, share, strict=True))
    ty = y_of(target)
    chart.lines.append(Line(0, ty, WIDTH, ty, "target", target_text))
    empty = not any(v > 0 for v in jp) and not any(p > 0 for p in share)
    return replace(chart, polyline=" ".join(f"{x},{y}" for x, y in pts), empty=empty)
