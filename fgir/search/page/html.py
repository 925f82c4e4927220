"""The search report page: one self-contained HTML file (inline SVG, CSS and a little script; no network).

It shows the Pareto front of any two metrics (a menu picks the pair; every
pair is drawn in advance, so the page needs no plotting library), feasible and
infeasible candidates marked, each candidate's values, metrics and status on
hover, the best value so far against the candidate's number, the best
candidate's spec (best.yaml), and a table of every candidate.

Example:
    >>> from fgir.search import run_search
    >>> from fgir.search.page.data import read_search
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> _ = run_search("examples/backbone_nas.yaml", out, budget=5)
    >>> page = render_page(read_search(out))
    >>> page.count('class="pt front"') + page.count('class="pt feasible"') >= 5, "http" in page.split("<svg")[0]
    (True, False)
"""

from __future__ import annotations

import json
from html import escape
from itertools import combinations
from typing import Any

from fgir.search.page.data import SearchData
from fgir.search.page.draw import to_svg
from fgir.search.page.scene import Box, legend, progress, scatter
from fgir.search.report import compact, grouped

WIDTH, HEIGHT = 640, 400

STYLE = """
body{font-family:sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px} .muted{color:#667}
.charts{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
.pt{cursor:pointer} .pt:hover{stroke:#000;stroke-width:2}
#tip{position:fixed;display:none;background:#fff;border:1px solid #889;padding:6px 8px;font-size:12px;
     max-width:460px;box-shadow:0 2px 6px rgba(0,0,0,.2);pointer-events:none;white-space:pre-wrap}
pre{background:#f6f7f9;padding:10px;overflow:auto;font-size:12px;max-height:480px}
table{border-collapse:collapse;font-size:12px} td,th{border-bottom:1px solid #e3e3e3;padding:2px 8px;text-align:left}
tr.invalid td,tr.error td{color:#a33}
"""

SCRIPT = """
(function () {
  var rows = JSON.parse(document.getElementById('rows').textContent);
  var byIndex = {};
  rows.forEach(function (r) { byIndex[r.index] = r; });
  var tip = document.getElementById('tip');
  var pick = document.getElementById('pair');
  function show(name) {
    document.querySelectorAll('.scatter').forEach(function (s) { s.hidden = s.dataset.pair !== name; });
  }
  pick.addEventListener('change', function () { show(pick.value); });
  show(pick.value);
  function text(r) {
    var lines = ['#' + r.index + '  ' + r.hash + '  ' + r.status, r.origin];
    Object.keys(r.values).forEach(function (k) { lines.push(k + ': ' + JSON.stringify(r.values[k])); });
    if (r.params !== null) lines.push('params: ' + r.params + '   macs: ' + r.macs);
    Object.keys(r.metrics || {}).forEach(function (k) { lines.push(k + ': ' + r.metrics[k]); });
    if (r.epochs !== undefined) lines.push('epochs: ' + r.epochs);
    if (r.message) lines.push(r.message);
    return lines.join('\\n');
  }
  document.querySelectorAll('[data-i]').forEach(function (el) {
    el.addEventListener('mouseenter', function (e) {
      tip.textContent = text(byIndex[el.getAttribute('data-i')]);
      tip.style.display = 'block';
    });
    el.addEventListener('mousemove', function (e) {
      tip.style.left = (e.clientX + 14) + 'px'; tip.style.top = (e.clientY + 10) + 'px';
    });
    el.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
  });
})();
"""


def pairs(data: SearchData) -> list[tuple[str, str]]:
    """The metric pairs the menu offers: the objectives' first, then every other pair (x, y)."""
    objectives = [o.split(":")[0] for o in data.objectives if o.split(":")[0] in data.metrics]
    ordered = objectives + [m for m in data.metrics if m not in objectives]
    first = [(objectives[1], objectives[0])] if len(objectives) > 1 else []
    return first + [(x, y) for y, x in combinations(ordered, 2) if (x, y) not in first]


def counts(data: SearchData, x: str, y: str) -> dict[str, int]:
    kinds = [data.kind(r, x, y) for r in data.candidates]
    front = len(data.front(x, y))
    return {"front": front, "feasible": kinds.count("feasible") - front, "infeasible": kinds.count("infeasible"),
            "unplotted": kinds.count("unplotted")}


def scatter_svg(data: SearchData, x: str, y: str) -> str:
    box = Box(0, 0, WIDTH, HEIGHT - 24)
    return to_svg([*scatter(data, x, y, box), *legend(box, counts(data, x, y))], WIDTH, HEIGHT)


def _table(data: SearchData) -> str:
    keys = list(grouped(data.rows[0]["values"])) if data.rows else []
    head = "".join(f"<th>{escape(h)}</th>" for h in ["#", "hash", "status", "params", "macs", "metrics", *keys,
                                                       "message"])
    body = []
    for r in data.rows:
        metrics = ", ".join(f"{k} {compact(v)}" for k, v in r.get("metrics", {}).items())
        cells = [r["index"], r["hash"], r["status"], compact(r.get("params")), compact(r.get("macs")), metrics,
                 *(compact(v) for v in grouped(r["values"]).values()), r.get("message") or ""]
        body.append(f'<tr class="{escape(r["status"])}" data-i="{r["index"]}">' +
                    "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _json_for_script(value: Any) -> str:
    return json.dumps(value).replace("</", "<\\/")


def render_page(data: SearchData, x: str | None = None, y: str | None = None) -> str:
    """The whole page; ``x``/``y`` pick the pair shown first (default: the first two objectives)."""
    choices = pairs(data)
    if x is not None and y is not None and (x, y) not in choices:
        choices.insert(0, (x, y))
    shown = (x, y) if x is not None and y is not None else (choices[0] if choices else None)
    charts = "".join(f'<div class="scatter" data-pair="{escape(a)} / {escape(b)}">{scatter_svg(data, a, b)}</div>'
                     for a, b in choices)
    options = "".join(f'<option value="{escape(a)} / {escape(b)}"{" selected" if (a, b) == shown else ""}>'
                      f"{escape(b)} against {escape(a)}</option>" for a, b in choices)
    best_so_far = to_svg(progress(data, Box(0, 0, WIDTH, HEIGHT - 24)), WIDTH, HEIGHT - 24)
    rows = len(data.rows)
    invalid = sum(r["status"] != "ok" for r in data.rows)
    title = f"fgir search report: {escape(data.folder.name)}"
    about = (f"{rows} rows, {len(data.candidates)} candidates ({invalid} rows invalid or failed); algorithm "
             f"{escape(str(data.settings.get('algorithm')))}, objectives {escape(', '.join(data.objectives))}, "
             f"constraints {escape(json.dumps(data.settings.get('constraints', {})))}, seed "
             f"{escape(str(data.settings.get('seed')))}")
    best = (f"<h2>The best candidate (#{data.best_index}): best.yaml</h2><pre>{escape(data.best_spec)}</pre>"
            if data.best_spec else "<h2>The best candidate</h2><p>No valid candidate: there is no best.yaml.</p>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{STYLE}</style></head>
<body><h1>{title}</h1><p class="muted">{about}</p>
<div class="charts"><div><h2>Pareto front: <select id="pair">{options}</select></h2>{charts}</div>
<div><h2>Best so far</h2>{best_so_far}</div></div>
{best}
<h2>Every candidate</h2>{_table(data)}
<div id="tip"></div>
<script type="application/json" id="rows">{_json_for_script(data.rows)}</script>
<script>{SCRIPT}</script></body></html>
"""


__all__ = ["pairs", "render_page", "scatter_svg"]
