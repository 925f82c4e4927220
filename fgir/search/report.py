"""Text reports of a search: the Pareto-front table the CLI prints at the end.

Example:
    >>> compact([0, 1, 1, 0]), compact([8, 4, 32]), compact(0.123456)
    ('0110', '8,4,32', '0.1235')
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from fgir.search.pareto import Objective, final_rows, metric

_ELEMENT = re.compile(r"^(.*)\[(\d+)\]$")
MAX_ROWS = 20


def compact(value: Any) -> str:
    """A short form of a value: codes as bit strings, lists comma-joined, floats to 4 digits."""
    if isinstance(value, list):
        if all(v in (0, 1) and not isinstance(v, bool) for v in value):
            return "".join(map(str, value))
        return ",".join(compact(v) for v in value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    return str(value)


def grouped(values: dict[str, Any]) -> dict[str, Any]:
    """``p[0]``, ``p[1]``... (a ``p[*]`` entry) shown as one column ``p[*]`` holding the list."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        match = _ELEMENT.match(key)
        if match:
            out.setdefault(f"{match.group(1)}[*]", []).append(value)
        else:
            out[key] = value
    return out


def format_front(front: Sequence[dict[str, Any]], objectives: Sequence[Objective], total: int,
                 invalid: int) -> str:
    """The Pareto front as an aligned table, sorted by the first objective (best first)."""
    names = ", ".join(str(o) for o in objectives)
    title = (f"Pareto front: {len(front)} of {total} candidates ({invalid} invalid); "
             f"objectives {names}")
    if not front:
        return title + "\n(no valid candidate)"
    first = objectives[0]
    rows = sorted(front, key=lambda r: ((-1 if first.maximize else 1) * metric(r, first.metric),
                                        r["index"]))
    metrics = [o.metric for o in objectives] + [m for m in ("params", "macs") if m not in
                                                 {o.metric for o in objectives}]
    hidden = len(rows) - MAX_ROWS
    rows = rows[:MAX_ROWS]
    value_keys = list(grouped(rows[0]["values"]))
    header = ["#", "hash", *metrics, *value_keys]
    body = [[str(r["index"]), r["hash"], *(compact(metric(r, m)) for m in metrics),
             *(compact(v) for v in grouped(r["values"]).values())] for r in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    numeric = range(2, 2 + len(metrics))
    fmt = lambda line: "  ".join(c.rjust(w) if i in numeric else c.ljust(w)   # noqa: E731
                                 for i, (c, w) in enumerate(zip(line, widths))).rstrip()
    more = [f"... and {hidden} more on the front (all rows are in results.jsonl)"] if hidden > 0 else []
    return "\n".join([title, fmt(header), *map(fmt, body), *more])


__all__ = ["ProgressBar", "compact", "format_front", "grouped", "no_valid_text", "summary_text"]


class ProgressBar:
    """A plain-text progress bar on a stream: redrawn in place on a terminal, a line per 10% elsewhere."""

    WIDTH = 30

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.invalid = 0
        self._shown = -1

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.tty and self._shown >= 0:
            self.stream.write("\n")
            self.stream.flush()

    def update(self, done: int, total: int, row: dict[str, Any], best: dict[str, Any] | None) -> None:
        self.invalid += row.get("status") != "ok"
        tenth = done * 10 // max(total, 1)
        if not self.tty and tenth == self._shown and done != total:
            return
        self._shown = tenth
        filled = done * self.WIDTH // max(total, 1)
        best_text = f"best #{best['index']}" if best else "best -"
        line = (f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{total}  "
                f"{self.invalid} invalid  {best_text}")
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        self.stream.flush()


def no_valid_text(result: Any, where: str = "fgir search") -> str:
    """Why a search has no best candidate: every row invalid or failed (the first reasons)."""
    rows = result.rows
    lines = [f"{where}: error: no valid candidate: all {len(rows)} were invalid or failed, so there is no "
             "best.yaml"]
    lines += [f"{where}: note: #{r['index']}: {r.get('message') or r['status']}" for r in rows[:3]]
    if len(rows) > 3:
        lines.append(f"{where}: note: ... every row is in results.jsonl")
    return "\n".join(lines)


def space_line(space: Any) -> str:
    """The space's size: its dimensions and, when all are discrete, how many candidates.

    >>> from fgir.search.space import Space
    >>> space_line(Space.from_spec("examples/backbone_nas.yaml"))
    'search space: 2 dimensions, 4,900 candidates'
    """
    size = space.size()
    count = f"{size:,} candidates" if size is not None else "continuous (uncountable)"
    n = len(space.dimensions)
    return f"search space: {n} dimension{'s' * (n != 1)}, {count}"


def summary_text(result: Any) -> str:
    """What ``fgir search`` prints at the end: the front, the best candidate, where files went."""
    rows = result.rows
    last = final_rows(rows)
    invalid = sum(r["status"] != "ok" for r in last)
    lines = [space_line(result.space), format_front(result.front, result.config.objectives, len(last), invalid)]
    if len(last) < len(rows):
        epochs = max((r.get("epochs") or 0 for r in rows), default=0)
        reached = sum(r.get("epochs") == epochs for r in last)
        lines.append(f"by rungs: {len(rows)} trainings of {len(last)} candidates; {reached} reached {epochs} "
                     f"epochs, the most any did (the front is of those)")
    if result.exhausted:
        lines.append(f"the space has no new candidates left after {len(last)}")
    if result.evaluated < len(rows):
        lines.append(f"resumed: {len(rows) - result.evaluated} rows replayed, {result.evaluated} evaluated")
    if result.outdir is not None:
        wrote = f"wrote {result.outdir / 'results.jsonl'}"
        if result.best is not None:
            wrote += f" and {result.outdir / 'best.yaml'} (#{result.best['index']})"
        lines.append(wrote)
    return "\n".join(lines)
