"""The report's charts as plain shapes (lines, points, text) in pixels: drawn once, written as SVG or PNG.

:func:`scatter` lays out candidates by two metrics (feasible points, infeasible
crosses, the Pareto front highlighted and joined); :func:`progress` the best
value so far against the candidate's number.  Each point shape carries its row
index (``data``) so the page can show the candidate on hover.

Example:
    >>> shapes = axes(Box(0, 0, 300, 200), (0.0, 10.0), (0.0, 1.0), "macs", "accuracy")
    >>> sorted({s.kind for s in shapes})
    ['line', 'text']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from fgir.search.pareto import metric

COLORS = {"feasible": "#3b6fb6", "front": "#e8731a", "infeasible": "#c62828", "axis": "#444444",
          "grid": "#e4e4e4", "text": "#222222", "muted": "#9aa7b8", "stopped": "#3b6fb6"}
MARGIN = (64, 18, 28, 46)       # left, top, right, bottom


@dataclass
class Shape:
    """One thing to draw: ``line``/``polyline`` (points), ``circle`` (centre, r), ``cross`` (centre, r),
    ``text`` (at, text), ``rect`` (corner, size)."""

    kind: str
    points: list[tuple[float, float]]
    color: str = COLORS["axis"]
    r: float = 0.0
    text: str = ""
    width: float = 1.0
    fill: bool = True
    anchor: str = "start"           # start | middle | end
    css: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    width: float
    height: float


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round numbers spanning [low, high]: steps of 1, 2 or 5 times a power of ten."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        if value >= low - step * 1e-9:
            ticks.append(round(value, 12))
        value += step
    return ticks


def short(value: float) -> str:
    """A tick label: 1.2G, 350k, 0.85."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def _span(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    pad = (high - low) * 0.05 or abs(high) * 0.05 or 1.0
    return low - pad, high + pad


class _Frame:
    """Data coordinates → pixels inside a box's plotting area."""

    def __init__(self, box: Box, xs: tuple[float, float], ys: tuple[float, float]) -> None:
        self.box, self.xs, self.ys = box, xs, ys
        left, top, right, bottom = MARGIN
        self.x0, self.x1 = box.left + left, box.left + box.width - right
        self.y0, self.y1 = box.top + box.height - bottom, box.top + top

    def at(self, x: float, y: float) -> tuple[float, float]:
        fx = (x - self.xs[0]) / (self.xs[1] - self.xs[0])
        fy = (y - self.ys[0]) / (self.ys[1] - self.ys[0])
        return round(self.x0 + fx * (self.x1 - self.x0), 2), round(self.y0 + fy * (self.y1 - self.y0), 2)


def axes(box: Box, xs: tuple[float, float], ys: tuple[float, float], xlabel: str, ylabel: str) -> list[Shape]:
    """Grid, ticks and labels of a chart over ``xs`` × ``ys`` in ``box``."""
    frame = _Frame(box, xs, ys)
    out = []
    for tick in nice_ticks(*xs):
        x, _ = frame.at(tick, ys[0])
        out.append(Shape("line", [(x, frame.y0), (x, frame.y1)], COLORS["grid"]))
        out.append(Shape("text", [(x, frame.y0 + 14)], COLORS["text"], text=short(tick), anchor="middle"))
    for tick in nice_ticks(*ys):
        _, y = frame.at(xs[0], tick)
        out.append(Shape("line", [(frame.x0, y), (frame.x1, y)], COLORS["grid"]))
        out.append(Shape("text", [(frame.x0 - 6, y + 4)], COLORS["text"], text=short(tick), anchor="end"))
    out.append(Shape("line", [(frame.x0, frame.y0), (frame.x1, frame.y0)], COLORS["axis"]))
    out.append(Shape("line", [(frame.x0, frame.y0), (frame.x0, frame.y1)], COLORS["axis"]))
    out.append(Shape("text", [((frame.x0 + frame.x1) / 2, frame.y0 + 32)], COLORS["text"], text=xlabel,
                     anchor="middle"))
    out.append(Shape("text", [(box.left + 4, box.top + 12)], COLORS["text"], text=ylabel))
    return out


def scatter(data: Any, x: str, y: str, box: Box) -> list[Shape]:
    """Every candidate with both figures by ``x`` and ``y``; the front (of the feasible ones) joined."""
    plotted = [r for r in data.candidates if data.kind(r, x, y) != "unplotted"]
    if not plotted:
        return [Shape("text", [(box.left + box.width / 2, box.top + box.height / 2)], COLORS["text"],
                       text=f"no candidate has both {x} and {y}", anchor="middle")]
    xs = _span([metric(r, x) for r in plotted])
    ys = _span([metric(r, y) for r in plotted])
    frame = _Frame(box, xs, ys)
    out = axes(box, xs, ys, f"{x} ({'max' if data.directions[x] else 'min'})",
               f"{y} ({'max' if data.directions[y] else 'min'})")
    front = data.front(x, y)
    on_front = {r["index"] for r in front}
    line = sorted((frame.at(metric(r, x), metric(r, y)) for r in front))
    if len(line) > 1:
        out.append(Shape("polyline", line, COLORS["front"], width=1.5, fill=False, css="front-line"))
    top_epochs = max((r.get("epochs") or 0 for r in plotted), default=0)
    for row in plotted:
        centre = frame.at(metric(row, x), metric(row, y))
        kind = data.kind(row, x, y)
        marks = {"data": {"i": row["index"]}}
        if kind == "infeasible":
            out.append(Shape("cross", [centre], COLORS["infeasible"], r=4, width=1.6, css="pt infeasible", **marks))
        elif row["index"] in on_front:
            out.append(Shape("circle", [centre], COLORS["front"], r=5, css="pt front", **marks))
        else:
            stopped = (row.get("epochs") or 0) < top_epochs   # an early-stopped candidate: hollow
            out.append(Shape("circle", [centre], COLORS["feasible"], r=3.5, fill=not stopped,
                             css="pt feasible" + (" stopped" if stopped else ""), **marks))
    return out


def progress(data: Any, box: Box) -> list[Shape]:
    """The first objective's best value so far against the candidate's number (every valid one faint)."""
    name, steps = data.best_so_far()
    valid = [(r["index"], metric(r, name)) for r in data.rows if r.get("status") == "ok" and
             metric(r, name) is not None]
    if not valid:
        return [Shape("text", [(box.left + box.width / 2, box.top + box.height / 2)], COLORS["text"],
                      text="no valid candidate", anchor="middle")]
    xs = _span([0, max(len(data.rows) - 1, 1)])
    ys = _span([v for _, v in valid])
    frame = _Frame(box, xs, ys)
    out = axes(box, xs, ys, "candidate (row)", f"best {name} so far")
    for index, value in valid:
        out.append(Shape("circle", [frame.at(index, value)], COLORS["muted"], r=2, css="pt-faint",
                         data={"i": index}))
    line = []
    for (index, value), following in zip(steps, [*(s[0] for s in steps[1:]), len(data.rows) - 1]):
        line += [frame.at(index, value), frame.at(following, value)]
    out.append(Shape("polyline", line, COLORS["front"], width=2, fill=False, css="best-line"))
    return out


def legend(box: Box, counts: dict[str, int]) -> list[Shape]:
    """A line under the chart: what the marks mean and how many of each."""
    x, y = box.left + MARGIN[0], box.top + box.height + 14
    out = []
    for kind, label in (("front", "Pareto front"), ("feasible", "feasible"), ("infeasible", "infeasible"),
                        ("unplotted", "not plotted (no figures)")):
        if kind == "infeasible":
            out.append(Shape("cross", [(x, y - 4)], COLORS[kind], r=4, width=1.6))
        elif kind != "unplotted":
            out.append(Shape("circle", [(x, y - 4)], COLORS[kind], r=4))
        text = f"{label}: {counts.get(kind, 0)}"
        out.append(Shape("text", [(x + (8 if kind != "unplotted" else -4), y)], COLORS["text"], text=text))
        x += 8 * len(text) + 30
    return out


__all__ = ["Box", "COLORS", "Shape", "axes", "legend", "nice_ticks", "progress", "scatter", "short"]
