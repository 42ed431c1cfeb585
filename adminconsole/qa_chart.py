"""Confidence over time as an inline SVG line chart, laid out on the server (no JavaScript)."""
import datetime
from dataclasses import dataclass

from django.utils import timezone

from adminconsole.qa_selectors import QaSeries

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 12, 28
COLORS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777")


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class Line:
    label: str
    color: str
    points: str  # the polyline's "x,y x,y ..."
    dots: list[Dot]
    count: int


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: float
    top: int
    bottom: float
    lines: list[Line]
    threshold_y: float
    y_ticks: list[Tick]
    x_ticks: list[Tick]


def confidence_chart(series: list[QaSeries], *, since: datetime.datetime, until: datetime.datetime,
                     threshold: float) -> Chart:
    """Lines of mean confidence per series between ``since`` and ``until``, with the flag threshold."""
    values = [p.mean_confidence for s in series for p in s.points]
    top_value = max([threshold * 2, *values]) * 1.05
    bottom_value = min([0.0, *values])
    span = (until - since).total_seconds() or 1.0
    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM

    def x(at: datetime.datetime) -> float:
        return round(LEFT + (right - LEFT) * min(max((at - since).total_seconds() / span, 0.0), 1.0), 1)

    def y(value: float) -> float:
        return round(bottom - (bottom - TOP) * (value - bottom_value) / (top_value - bottom_value), 1)

    lines = []
    for i, s in enumerate(series):
        dots = [Dot(x(p.at), y(p.mean_confidence),
                    f"{s.label} · {timezone.localtime(p.at):%Y-%m-%d %H:%M} · {p.mean_confidence:.2f} ({p.count})")
                for p in s.points]
        lines.append(Line(s.label, COLORS[i % len(COLORS)], " ".join(f"{d.x},{d.y}" for d in dots), dots, s.count))
    steps = 4
    y_ticks = [Tick(y(bottom_value + (top_value - bottom_value) * k / steps),
                    f"{bottom_value + (top_value - bottom_value) * k / steps:.2f}") for k in range(steps + 1)]
    days = max(1, round(span / 86400))
    x_ticks = [Tick(x(since + (until - since) * k / 4),
                    f"{timezone.localtime(since + (until - since) * k / 4):{'%H:%M' if days <= 2 else '%m-%d'}}")
               for k in range(5)]
    return Chart(WIDTH, HEIGHT, LEFT, right, TOP, bottom, lines, y(threshold), y_ticks, x_ticks)
