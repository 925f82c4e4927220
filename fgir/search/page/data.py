"""What a search report shows, read from an output folder: rows, metrics, directions, fronts, best-so-far.

Each candidate appears once: its row (with a scheduler, its last row, where its
training stopped).  A candidate is *feasible* when its status is ``ok``,
*infeasible* when it was measured but broke a constraint (``over budget``), and
*unplotted* when it has no figures (it failed to compile, or its evaluation
failed).  A metric's direction is the search's objective's, else the usual one
(costs are minimized, accuracy maximized).

Example:
    >>> from fgir.search import run_search
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> _ = run_search("examples/backbone_nas.yaml", out, budget=6, constraints={"max_macs": 150_000_000})
    >>> data = read_search(out)
    >>> data.metrics[:3], len(data.candidates), data.objectives
    (['params', 'macs', 'weight_bytes'], 6, ['params:max', 'macs:min'])
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fgir.diagnostics import Diagnostic, Loc, SpecIOError
from fgir.search.pareto import final_rows, metric, parse_objective, pareto_front

Row = dict[str, Any]
MAXIMIZED = ("accuracy", "mean_bits", "score", "test_accuracy")
TIMING = ("latency_ms",)


@dataclass
class SearchData:
    """One search's results, as the report draws them."""

    folder: Path
    settings: dict[str, Any]
    rows: list[Row]                        # every row, in order
    candidates: list[Row]                  # one per candidate: its last row
    metrics: list[str]                     # numeric figures some candidate has
    best_index: int | None                 # the row best.yaml holds
    best_spec: str | None
    directions: dict[str, bool] = field(default_factory=dict)   # metric → maximize
    _fronts: dict[tuple[str, str], list[Row]] = field(default_factory=dict, repr=False)   # the chart and its legend

    @property
    def objectives(self) -> list[str]:
        return list(self.settings.get("objectives", []))

    def kind(self, row: Row, x: str, y: str) -> str:
        """``feasible``, ``infeasible`` or ``unplotted`` for a scatter of ``x`` against ``y``."""
        if metric(row, x) is None or metric(row, y) is None:
            return "unplotted"
        return "feasible" if row.get("status") == "ok" else "infeasible"

    def front(self, x: str, y: str) -> list[Row]:
        """The feasible candidates no other one beats on both ``x`` and ``y`` (by their directions)."""
        if (x, y) not in self._fronts:
            objectives = [parse_objective(f"{m}:{'max' if self.directions[m] else 'min'}") for m in (x, y)]
            self._fronts[(x, y)] = pareto_front([r for r in self.candidates if self.kind(r, x, y) == "feasible"],
                                                objectives)
        return self._fronts[(x, y)]

    def best_so_far(self) -> tuple[str, list[tuple[int, float]]]:
        """The first objective and, at each row that improved it, (row index, best value so far)."""
        first = parse_objective(self.objectives[0]) if self.objectives else parse_objective(self.metrics[0])
        best: float | None = None
        out = []
        for row in self.rows:
            value = metric(row, first.metric) if row.get("status") == "ok" else None
            if value is not None and (best is None or (value > best if first.maximize else value < best)):
                best = value
                out.append((row["index"], value))
        return first.metric, out


def _fail(path: Path, message: str) -> SpecIOError:
    return SpecIOError(Diagnostic(Loc(str(path)), "", message,
                                  hint="give the output folder of an `fgir search` run (-o OUTDIR)"))


def read_search(folder: str | Path) -> SearchData:
    """Read ``folder`` (an ``fgir search`` output folder); SpecIOError when it is none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise _fail(folder, "no such search folder" if not folder.exists() else "is not a folder")
    settings_path, results = folder / "search.json", folder / "results.jsonl"
    if not settings_path.exists() or not results.exists():
        raise _fail(folder, "holds no search results (search.json and results.jsonl)")
    try:
        settings = json.loads(settings_path.read_text(encoding="utf-8"))
        rows = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (ValueError, OSError) as exc:
        raise _fail(folder, f"unreadable search results ({exc})") from None
    candidates = final_rows(rows)
    metrics: list[str] = []
    for row in rows:
        for name in ("params", "macs", *row.get("metrics", {})):
            if name not in metrics and metric(row, name) is not None:
                metrics.append(name)
    directions = {m: m in MAXIMIZED for m in metrics}
    for text in settings.get("objectives", []):
        objective = parse_objective(text)
        directions[objective.metric] = objective.maximize
    best_spec = (folder / "best.yaml").read_text(encoding="utf-8") if (folder / "best.yaml").exists() else None
    best_index = _best_index(best_spec)
    return SearchData(folder, settings, rows, candidates, metrics, best_index, best_spec, directions)


def _best_index(spec: str | None) -> int | None:
    """The row best.yaml says it is (its header's ``# #12 (hash ...)``)."""
    if spec is None:
        return None
    for line in spec.splitlines()[:3]:
        if line.startswith("# #"):
            return int(line[3:].split(" ", 1)[0])
    return None


__all__ = ["SearchData", "TIMING", "read_search"]
