"""Objectives and Pareto fronts over result rows.

An objective is a metric and a direction, written ``accuracy:max`` or ``macs:min``.
Rows are the dicts written to results.jsonl; a metric is read from the row
(``params``, ``macs``) or its ``metrics``.  Only rows whose status is ``ok``
take part; an invalid row is dominated by every valid one (NSGA-II's
constrained domination).

Example:
    >>> objs = parse_objectives(["accuracy:max", "macs:min"])
    >>> rows = [{"status": "ok", "macs": 5, "metrics": {"accuracy": 0.9}},
    ...         {"status": "ok", "macs": 9, "metrics": {"accuracy": 0.8}},
    ...         {"status": "ok", "macs": 2, "metrics": {"accuracy": 0.5}}]
    >>> [r["macs"] for r in pareto_front(rows, objs)]
    [5, 2]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence


@dataclass(frozen=True)
class Objective:
    metric: str
    maximize: bool

    def __str__(self) -> str:
        return f"{self.metric}:{'max' if self.maximize else 'min'}"


class ObjectiveError(ValueError):
    pass


def parse_objective(text: Any) -> Objective:
    if not isinstance(text, str) or not text:
        raise ObjectiveError(f"an objective is written 'metric:max' or 'metric:min', got {text!r}")
    metric, _, direction = text.partition(":")
    direction = direction or "max"
    if direction not in ("max", "min") or not metric.strip():
        raise ObjectiveError(f"an objective is written 'metric:max' or 'metric:min', got {text!r}")
    return Objective(metric.strip(), direction == "max")


def parse_objectives(texts: Iterable[Any]) -> list[Objective]:
    return [parse_objective(t) for t in texts]


def metric(row: dict[str, Any], name: str) -> float | None:
    value = row.get("metrics", {}).get(name, row.get(name))
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def scores(row: dict[str, Any], objectives: Sequence[Objective]) -> tuple[float, ...] | None:
    """The row's objective values, each turned so that larger is better; None if any is missing."""
    out = []
    for obj in objectives:
        value = metric(row, obj.metric)
        if value is None:
            return None
        out.append(value if obj.maximize else -value)
    return tuple(out)


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    return all(x >= y for x, y in zip(a, b)) and any(x > y for x, y in zip(a, b))


def non_dominated_sort(points: Sequence[Sequence[float]]) -> list[list[int]]:
    """Fronts of indices (front 0 is the Pareto front), each in ascending index order."""
    n = len(points)
    dominated_by: list[list[int]] = [[] for _ in range(n)]
    counts = [0] * n
    for i in range(n):
        for j in range(i + 1, n):
            if dominates(points[i], points[j]):
                dominated_by[i].append(j)
                counts[j] += 1
            elif dominates(points[j], points[i]):
                dominated_by[j].append(i)
                counts[i] += 1
    fronts: list[list[int]] = []
    current = [i for i in range(n) if counts[i] == 0]
    while current:
        fronts.append(sorted(current))
        following = []
        for i in current:
            for j in dominated_by[i]:
                counts[j] -= 1
                if counts[j] == 0:
                    following.append(j)
        current = following
    return fronts


def crowding_distance(points: Sequence[Sequence[float]]) -> list[float]:
    """NSGA-II's crowding distance of each point within one front (boundaries: infinity)."""
    n = len(points)
    if n == 0:
        return []
    distance = [0.0] * n
    for k in range(len(points[0])):
        order = sorted(range(n), key=lambda i: (points[i][k], i))
        low, high = points[order[0]][k], points[order[-1]][k]
        distance[order[0]] = distance[order[-1]] = float("inf")
        if high == low:
            continue
        for a, b, c in zip(order, order[1:], order[2:]):
            distance[b] += (points[c][k] - points[a][k]) / (high - low)
    return distance


def pareto_front(rows: Sequence[dict[str, Any]], objectives: Sequence[Objective]) -> list[dict[str, Any]]:
    """The valid rows no other valid row dominates, in their original order; equal points once.

    Sorting best-first means only rows already kept can dominate the next one, so
    this costs O(n log n + n·front) instead of a full non-dominated sort's O(n²).
    """
    scored = [(s, i) for i, s in enumerate(scores(row, objectives) if row.get("status") == "ok"
                                           else None for row in rows) if s is not None]
    scored.sort(key=lambda t: (tuple(-v for v in t[0]), t[1]))
    kept: list[tuple[tuple[float, ...], int]] = []
    for point, index in scored:
        if all(point != k and not dominates(k, point) for k, _ in kept):
            kept.append((point, index))
    return [rows[i] for i in sorted(i for _, i in kept)]


def final_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each candidate's last row (where an early-stopping search stopped training it), in the order
    candidates first appeared."""
    last: dict[str, dict[str, Any]] = {}
    for row in rows:
        last[row["hash"]] = row
    return list(last.values())


def best(rows: Sequence[dict[str, Any]], objectives: Sequence[Objective]) -> dict[str, Any] | None:
    """The valid row best on the first objective, ties broken by the next ones, then by order."""
    scored = [(scores(row, objectives), -i, row) for i, row in enumerate(rows) if row.get("status") == "ok"]
    scored = [t for t in scored if t[0] is not None]
    return max(scored, key=lambda t: (t[0], t[1]))[2] if scored else None


__all__ = ["Objective", "ObjectiveError", "best", "crowding_distance", "dominates", "final_rows", "metric",
           "non_dominated_sort", "parse_objective", "parse_objectives", "pareto_front", "scores"]
