"""Shapes (:mod:`.scene`) written out: an SVG element (for the page and ``.svg``) or a PNG (Pillow).

Example:
    >>> from fgir.search.page.scene import Shape
    >>> print(to_svg([Shape("circle", [(5, 5)], "#000", r=2, css="pt", data={"i": 3})], 10, 10))
    <svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" viewBox="0 0 10 10" font-family="sans-serif" font-size="11"><circle cx="5" cy="5" r="2" fill="#000" stroke="#000" class="pt" data-i="3"/></svg>
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Sequence

from fgir.atomic import write_atomic
from fgir.search.page.scene import Shape

def _attrs(shape: Shape) -> str:
    out = f' class="{shape.css}"' if shape.css else ""
    return out + "".join(f' data-{k}="{escape(str(v))}"' for k, v in shape.data.items())


def _element(shape: Shape) -> str:
    c, w = shape.color, shape.width
    if shape.kind == "line":
        (x1, y1), (x2, y2) = shape.points
        return f'<line x1="{x1:g}" y1="{y1:g}" x2="{x2:g}" y2="{y2:g}" stroke="{c}" stroke-width="{w:g}"/>'
    if shape.kind == "polyline":
        points = " ".join(f"{x:g},{y:g}" for x, y in shape.points)
        return f'<polyline points="{points}" fill="none" stroke="{c}" stroke-width="{w:g}"{_attrs(shape)}/>'
    if shape.kind == "circle":
        (x, y), fill = shape.points[0], c if shape.fill else "white"
        return f'<circle cx="{x:g}" cy="{y:g}" r="{shape.r:g}" fill="{fill}" stroke="{c}"{_attrs(shape)}/>'
    if shape.kind == "cross":
        (x, y), r = shape.points[0], shape.r
        d = f"M{x - r:g},{y - r:g}L{x + r:g},{y + r:g}M{x - r:g},{y + r:g}L{x + r:g},{y - r:g}"
        return f'<path d="{d}" stroke="{c}" stroke-width="{w:g}" fill="none"{_attrs(shape)}/>'
    if shape.kind == "rect":
        (x, y), (w, h) = shape.points
        return f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" fill="{c}"{_attrs(shape)}/>'
    if shape.kind == "text":
        x, y = shape.points[0]
        return f'<text x="{x:g}" y="{y:g}" fill="{c}" text-anchor="{shape.anchor}">{escape(shape.text)}</text>'
    raise ValueError(f"unknown shape {shape.kind!r}")


def to_svg(shapes: Sequence[Shape], width: int, height: int, css: str = "") -> str:
    """One ``<svg>`` element holding ``shapes``."""
    cls = f' class="{css}"' if css else ""
    body = "".join(_element(s) for s in shapes)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11"{cls}>{body}</svg>')


def write_png(shapes: Sequence[Shape], width: int, height: int, path: Path, scale: int = 2) -> None:
    """``shapes`` as a PNG, drawn by Pillow at ``scale`` times the size (sharper), written atomically."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (width * scale, height * scale), "white")
    draw = ImageDraw.Draw(image)
    try:
        font = ImageFont.load_default(size=11 * scale)
    except TypeError:                      # Pillow before 10.1: one bitmap size
        font = ImageFont.load_default()

    def px(point: tuple[float, float]) -> tuple[float, float]:
        return point[0] * scale, point[1] * scale

    for s in shapes:
        w = max(1, round(s.width * scale))
        if s.kind in ("line", "polyline"):
            draw.line([px(p) for p in s.points], fill=s.color, width=w, joint="curve")
        elif s.kind == "circle":
            (x, y), r = px(s.points[0]), s.r * scale
            draw.ellipse([x - r, y - r, x + r, y + r], fill=s.color if s.fill else "white", outline=s.color)
        elif s.kind == "rect":
            (x, y), (w, h) = px(s.points[0]), px(s.points[1])
            draw.rectangle([x, y, x + w, y + h], fill=s.color)
        elif s.kind == "cross":
            (x, y), r = px(s.points[0]), s.r * scale
            draw.line([(x - r, y - r), (x + r, y + r)], fill=s.color, width=w)
            draw.line([(x - r, y + r), (x + r, y - r)], fill=s.color, width=w)
        elif s.kind == "text":             # the point is the baseline's start, middle or end, as in SVG
            x, y = px(s.points[0])
            left, _, right, bottom = draw.textbbox((0, 0), s.text, font=font)
            shift = {"start": 0, "middle": (right - left) / 2, "end": right - left}[s.anchor]
            draw.text((x - shift, y - bottom), s.text, fill=s.color, font=font)
    write_atomic(path, lambda tmp: image.save(tmp, format="PNG"))


__all__ = ["to_svg", "write_png"]
