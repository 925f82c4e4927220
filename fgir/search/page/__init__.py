"""The search report: ``fgir report OUTDIR -o report.html`` (or ``.svg``, ``.png``).

:func:`write_report` reads an ``fgir search`` output folder (:mod:`.data`) and
writes one self-contained page (:mod:`.html`: the Pareto front of any two
metrics, every candidate on hover, the best so far, the best spec), or a static
figure of the front and the best so far, drawn from the same shapes
(:mod:`.scene`, :mod:`.draw`).  The HTML page needs nothing from the network; the
PNG is drawn by Pillow (an fgir dependency).

Example:
    >>> from fgir.search import run_search
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> _ = run_search("examples/backbone_nas.yaml", out, budget=5)
    >>> write_report(out, out / "report.svg").read_text().startswith("<svg")
    True
"""

from __future__ import annotations

from pathlib import Path

from fgir.atomic import write_atomic
from fgir.diagnostics import Diagnostic, Loc, SpecIOError
from fgir.search.page.data import SearchData, read_search
from fgir.search.page.draw import to_svg, write_png
from fgir.search.page.html import HEIGHT, WIDTH, counts, pairs, render_page
from fgir.search.page.scene import COLORS, Box, Shape, legend, progress, scatter
from fgir.search.page.space_page import render_space_page, write_space_page

SUFFIXES = (".html", ".svg", ".png")


def _pair(data: SearchData, x: str | None, y: str | None, where: str) -> tuple[str, str]:
    from fgir.diagnostics import did_you_mean

    for name in (x, y):
        if name is not None and name not in data.metrics:
            raise SpecIOError(Diagnostic(Loc(where), "", f"the search has no metric '{name}'",
                                         hint=did_you_mean(name, data.metrics) or
                                         f"metrics: {', '.join(data.metrics)}"))
    choices = pairs(data)
    if not choices:
        raise SpecIOError(Diagnostic(Loc(str(data.folder)), "", "no candidate has two figures to plot"))
    default = choices[0]
    return x or (default[0] if y != default[0] else default[1]), y or default[1]


def figure(data: SearchData, x: str, y: str) -> tuple[list[Shape], int, int]:
    """The static figure: the front of ``x`` and ``y`` beside the best so far, with a title."""
    top = 26
    left, right = Box(0, top, WIDTH, HEIGHT - 24), Box(WIDTH + 20, top, WIDTH, HEIGHT - 24)
    title = Shape("text", [(8, 16)], COLORS["text"], text=f"fgir search {data.folder.name}: "
                  f"{len(data.candidates)} candidates; objectives {', '.join(data.objectives)}")
    shapes = [title, *scatter(data, x, y, left), *legend(left, counts(data, x, y)), *progress(data, right)]
    return shapes, 2 * WIDTH + 20, HEIGHT + top


def write_report(folder: str | Path, output: str | Path, x: str | None = None, y: str | None = None) -> Path:
    """Write the report of the search in ``folder`` to ``output`` (its suffix picks the form)."""
    output = Path(output)
    if output.suffix.lower() not in SUFFIXES:
        raise SpecIOError(Diagnostic(Loc(str(output)), "", f"cannot write a report as '{output.suffix or output.name}'",
                                     hint="use .html (the page), .svg or .png"))
    data = read_search(folder)
    x, y = _pair(data, x, y, str(output))
    if output.suffix.lower() == ".html":
        text = render_page(data, x, y)
    else:
        shapes, width, height = figure(data, x, y)
        if output.suffix.lower() == ".png":
            write_png(shapes, width, height, output)
            return output
        text = to_svg(shapes, width, height)
    write_atomic(output, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return output


__all__ = ["SUFFIXES", "SearchData", "read_search", "render_page", "render_space_page", "write_report",
           "write_space_page"]
