"""Horizontal bar charts as plain data; templates/_charts.html draws them as inline SVG.

No chart library and no script: the numbers are laid out here, the template writes `<rect>`s
and `<text>`s (escaped like everything else), and a table beside each chart carries the same
figures for screen readers and copying.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

LABEL_W = 150  # px for the row labels
PLOT_W = 420  # px for the longest bar
VALUE_W = 90  # px for the value text after a bar
BAR_H = 12
GAP = 4
ROW_GAP = 10


@dataclass(frozen=True)
class Bar:
    series: int
    x: float
    y: float
    width: float
    text: str


@dataclass(frozen=True)
class Row:
    label: str
    y: float  # baseline of the label
    bars: list[Bar]


@dataclass
class Chart:
    ident: str
    title: str
    series: list[str]
    rows: list[Row] = field(default_factory=list)
    height: float = 0.0
    width: float = LABEL_W + PLOT_W + VALUE_W

    total: float = 0.0

    @property
    def empty(self) -> bool:
        return not self.rows or not self.total


def bar_chart(
    ident: str,
    title: str,
    rows: Sequence[tuple[str, Sequence[float | None]]],
    *,
    series: Sequence[str],
    fmt: Callable[[float], str] = lambda v: f"{v:,.0f}",
) -> Chart:
    """One group of bars per row (one bar per series), scaled to the largest value in the chart."""
    chart = Chart(ident=ident, title=title, series=list(series))
    top = max((v for _, values in rows for v in values if v is not None), default=0.0) or 1.0
    y = 0.0
    for label, values in rows:
        bars = []
        for index, value in enumerate(values):
            v = float(value or 0.0)
            bars.append(
                Bar(
                    series=index,
                    x=LABEL_W,
                    y=y + index * (BAR_H + GAP),
                    width=round(max(v / top * PLOT_W, 1.0 if v else 0.0), 2),
                    text="–" if value is None else fmt(v),
                )
            )
        group_h = len(values) * (BAR_H + GAP) - GAP
        chart.rows.append(Row(label=label, y=y + group_h / 2 + 4, bars=bars))
        y += group_h + ROW_GAP
    chart.height = max(y - ROW_GAP, 0.0) + 2
    chart.total = sum(float(v or 0.0) for _, values in rows for v in values)
    return chart
