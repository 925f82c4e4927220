"""The space report page (``fgir space SPEC --html OUT.html``): histograms of params and MACs, each
constraint's limit drawn on its metric, the share within it and what pushes candidates over, the
dimensions, the extremes and the duplicates.  Drawn with the search report's shapes (:mod:`.scene`),
written by its SVG writer (:mod:`.draw`), in its style; self-contained (nothing from the network).

Example:
    >>> from fgir.search.space_report import space_report
    >>> page = render_space_page(space_report("examples/backbone_nas.yaml", samples=20))
    >>> page.count('class="bar"'), "http" in page.split("<svg")[0]
    (40, False)
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from fgir.atomic import write_atomic
from fgir.search.page.draw import to_svg
from fgir.search.page.html import HEIGHT, STYLE, WIDTH, _json_for_script
from fgir.search.page.scene import COLORS, Box, Shape, _Frame, axes
from fgir.search.report import compact

SPACE_STYLE = STYLE + ".bar{cursor:pointer} .bar:hover{fill:#e8731a}\n"

SCRIPT = """
(function () {
  var tip = document.getElementById('tip');
  document.querySelectorAll('.bar').forEach(function (el) {
    el.addEventListener('mouseenter', function () {
      tip.textContent = el.dataset.metric + ' ' + el.dataset.low + ' to ' + el.dataset.high + ': ' +
        el.dataset.count + ' samples';
      tip.style.display = 'block';
    });
    el.addEventListener('mousemove', function (e) {
      tip.style.left = (e.clientX + 14) + 'px'; tip.style.top = (e.clientY + 10) + 'px';
    });
    el.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
  });
})();
"""


def histogram(metric: str, dist: dict[str, Any], box: Box, limits: list[tuple[str, float]]) -> list[Shape]:
    """Bars of ``dist``'s histogram in ``box``, each constraint's limit on it a vertical line."""
    hist = dist["histogram"]
    low, width, counts = hist["low"], hist["width"], hist["counts"]
    high = low + width * len(counts)
    xs = (low, high) if high > low else (low - 1, low + 1)
    ys = (0.0, max(counts) * 1.08 or 1.0)
    frame = _Frame(box, xs, ys)
    out = axes(box, xs, ys, metric, "samples")
    for i, count in enumerate(counts):
        left, top = frame.at(low + i * width, count)
        right, bottom = frame.at(low + (i + 1) * width, 0)
        out.append(Shape("rect", [(left + 0.5, top), (max(right - left - 1, 1), bottom - top)], COLORS["feasible"],
                         css="bar", data={"metric": metric, "low": compact(round(low + i * width)),
                                          "high": compact(round(low + (i + 1) * width)), "count": count}))
    for name, limit in limits:
        if xs[0] <= limit <= xs[1]:
            x, _ = frame.at(limit, 0)
            out.append(Shape("line", [(x, frame.y0), (x, frame.y1)], COLORS["infeasible"], width=2))
            out.append(Shape("text", [(x + 4, frame.y1 + 12)], COLORS["infeasible"], text=f"{name} {compact(limit)}"))
    return out


def _table(head: list[str], rows: list[list[Any]]) -> str:
    cells = "".join(f"<tr>{''.join(f'<td>{escape(str(c))}</td>' for c in row)}</tr>" for row in rows)
    return f"<table><thead><tr>{''.join(f'<th>{escape(h)}</th>' for h in head)}</tr></thead><tbody>{cells}</tbody></table>"


def render_space_page(report: Any) -> str:
    """The whole page of a :class:`~fgir.search.space_report.SpaceReport`."""
    data = report.to_json()
    count = f"{report.candidates:,}" if report.candidates is not None else "infinitely many"
    title = f"fgir space: {escape(Path(report.file).name)}"
    samples = data["samples"]
    about = (f"{count} candidates; {'the whole space' if samples['exact'] else str(samples['drawn']) + ' random samples'}"
             f" compiled ({samples['distinct']} distinct, {samples['invalid']} invalid) in {samples['seconds']} s")
    charts = ""
    for metric, dist in report.metrics.items():
        limits = [(c["name"], c["limit"]) for c in report.constraints if c["name"].split("_", 1)[1] == metric]
        box = Box(0, 0, WIDTH, HEIGHT - 24)
        charts += f'<div class="histogram" data-metric="{metric}"><h2>{metric}</h2>' + \
            to_svg(histogram(metric, dist, box, limits), WIDTH, HEIGHT - 24) + "</div>"
    dims = _table(["dimension", "domain", "values", "listed"],
                  [[d["key"], d["domain"], d["size"] if d["size"] is not None else "continuous",
                    ", ".join(compact(v) for v in d["values"]) if d["values"] is not None else "..."]
                   for d in report.dimensions])
    limits = ""
    for c in report.constraints:
        rows = [[d["key"], v["value"], f"{v['over']:.0%}", v["samples"]] for d in c["by_dimension"] for v in d["values"]]
        limits += (f'<h2 class="constraint">{escape(c["name"])} {c["limit"]:,} ({escape(c["from"])}): '
                   f'{c["within"]:.1%} within</h2>' + _table(["dimension", "value", "over the limit", "samples"], rows))
    extremes = _table(["", "params", "macs", "values"],
                      [[name.replace("_", " by "), f"{e['params']:,}", f"{e['macs']:,}",
                        ", ".join(f"{k}={compact(v)}" for k, v in e["values"].items())]
                       for name, e in report.extremes.items()])
    dup = report.duplicates
    duplicates = (f"<p>{dup['assignments']:,} distinct assignments compile to {dup['networks']:,} distinct networks "
                  f"({dup['duplicates']:,} duplicates).</p>" if dup else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{SPACE_STYLE}</style></head>
<body><h1>{title}</h1><p class="muted">{escape(about)}</p>
<div class="charts">{charts}</div>
<h2>Dimensions</h2>{dims}
{limits}
<h2>Smallest and largest</h2>{extremes}
<h2>Duplicates</h2>{duplicates}
<div id="tip"></div>
<script type="application/json" id="report">{_json_for_script(data)}</script>
<script>{SCRIPT}</script></body></html>
"""


def write_space_page(report: Any, output: str | Path) -> Path:
    """Write :func:`render_space_page` to ``output`` atomically."""
    output = Path(output)
    text = render_space_page(report)
    write_atomic(output, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return output


__all__ = ["histogram", "render_space_page", "write_space_page"]
