"""Geometry for small server-rendered SVG charts (the templates draw them; no JavaScript).

Each chart is a list of bars in a fixed ``viewBox``; the template adds a title, a description
and a table with the same numbers, so screen-reader users and keyboard users get the data too.
"""
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 640
HEIGHT = 220
LEFT = 44  # room for the value axis labels
BOTTOM = 28  # room for the category labels
TOP = 12


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float
    series: int = 0
    show_label: bool = True

    @property
    def label_x(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class Tick:
    value: float
    y: float


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: float = HEIGHT - BOTTOM


def _nice_max(value: float) -> float:
    """The smallest 1/2/5 × 10^n at or above ``value`` (an axis that ends on a round number)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value))) / 10 if value >= 1 else 1.0
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def column_chart(labels: Sequence[str], series: Sequence[Sequence[float]], *, label_every: int = 1,
                 width: int = WIDTH) -> Chart:
    """Vertical bars: one group per label, one bar per series in each group.

    ``width`` is the viewBox width: about the pixel width the chart is shown at, so text keeps its size.
    """
    top = _nice_max(max((v for values in series for v in values), default=0))
    plot_height = HEIGHT - BOTTOM - TOP
    group = (width - LEFT) / max(len(labels), 1)
    bar_width = group * 0.8 / max(len(series), 1)
    bars = []
    for i, label in enumerate(labels):
        for s, values in enumerate(series):
            height = values[i] / top * plot_height
            bars.append(Bar(label, values[i], LEFT + i * group + group * 0.1 + s * bar_width, HEIGHT - BOTTOM - height,
                            bar_width, height, s, show_label=s == 0 and i % label_every == 0))
    ticks = [Tick(top * f, HEIGHT - BOTTOM - plot_height * f) for f in (0, 0.5, 1)]
    return Chart(bars, ticks, width=width)


ROW = 26


@dataclass(frozen=True)
class HBar:
    label: str
    value: float
    y: float
    width: float
    series: int


@dataclass(frozen=True)
class HChart:
    bars: list[HBar]
    height: int
    scale_max: float
    width: int = WIDTH
    left: int = 150


def bar_rows(labels: Sequence[str], series: Sequence[Sequence[float]], *, width: int = WIDTH) -> HChart:
    """Horizontal bars: one row per label, the series stacked as thin bars within the row."""
    top = _nice_max(max((v for values in series for v in values), default=0))
    left = 150
    plot = width - left - 70
    thickness = (ROW - 6) / max(len(series), 1)
    bars = [HBar(label, values[i], 4 + i * ROW + s * thickness, values[i] / top * plot, s)
            for i, label in enumerate(labels) for s, values in enumerate(series)]
    return HChart(bars, height=len(labels) * ROW + 8, scale_max=top, width=width, left=left)
