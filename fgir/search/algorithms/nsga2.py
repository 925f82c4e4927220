"""NSGA2Search: multi-objective evolution (NSGA-II) over any space.

Each generation: binary tournaments on (front rank, crowding distance) pick
parents, uniform crossover and per-dimension mutation make ``population``
children, and the best ``population`` of parents and children survive by
non-dominated sorting and crowding distance.  Invalid candidates rank behind
every valid one (constrained domination).  It serves any dimensions alike: the
Quant bit lists (``process.nbit_w_list[*]: choice(2, 4, 8)``), Prune masks
(``process.chn_mask[*]: code()``) or architecture codes.

Example:
    >>> from fgir.search.space import Space
    >>> from fgir.search.pareto import parse_objectives
    >>> algo = NSGA2Search(Space.from_spec("examples/backbone_nas.yaml"), seed=0,
    ...                    objectives=parse_objectives(["params:max", "macs:min"]), population=6)
    >>> len(algo.ask())
    6
"""

from __future__ import annotations

from typing import Any, Sequence

from fgir.search.algorithms.base import MAX_TRIES, OptionError, Proposal, SearchAlgorithm
from fgir.search.algorithms.registry import register_algorithm
from fgir.search.pareto import Objective, crowding_distance, non_dominated_sort, scores
from fgir.search.space import Space

Row = dict[str, Any]


@register_algorithm
class NSGA2Search(SearchAlgorithm):
    """NSGA-II; ``mutation`` is the per-dimension rate (0: one dimension per child)."""

    def __init__(self, space: Space, *, seed: int, objectives: Sequence[Objective],
                 population: int = 16, crossover: float = 0.9, mutation: float = 0.0) -> None:
        super().__init__(space, seed=seed, objectives=objectives)
        for name, rate in (("crossover", crossover), ("mutation", mutation)):
            if not 0 <= rate <= 1:
                raise OptionError(name, f"{name} is a probability from 0 to 1, got {rate}")
        if population < 2:
            raise OptionError("population", f"population must be at least 2, got {population}")
        self.population, self.crossover_rate = population, crossover
        self.mutation_rate = mutation or None
        self.parents: list[Row] = []
        self._rank: dict[int, tuple[int, float]] = {}   # row index → (front, -crowding)

    def ask(self) -> list[Proposal]:
        if not self.history:
            out = self.initial_proposal()
            return out + self.random_batch(self.population - len(out))
        out: list[Proposal] = []
        tries = 0
        while len(out) < self.population and tries < MAX_TRIES * self.population:
            tries += 1
            a, b = self._tournament(), self._tournament()
            mixed = self.rng.random() < self.crossover_rate
            child = self.space.crossover(a["values"], b["values"], self.rng) if mixed else a["values"]
            child, move = self.space.mutate(child, self.rng, self.mutation_rate)
            if self.claim(child):
                how = f"crossover of #{a['index']} and #{b['index']}, " if mixed else f"#{a['index']}, "
                out.append(Proposal(child, how + move))
        return out or self.random_batch(self.population)

    def tell(self, rows: list[Row]) -> None:
        super().tell(rows)
        self.parents = self._select(self.parents + rows, self.population)

    def _tournament(self) -> Row:
        a = self.parents[self.rng.randrange(len(self.parents))]
        b = self.parents[self.rng.randrange(len(self.parents))]
        return min(a, b, key=lambda r: (self._rank[r["index"]], r["index"]))

    def _select(self, pool: list[Row], n: int) -> list[Row]:
        valid = [(r, scores(r, self.objectives)) for r in pool if r.get("status") == "ok"]
        valid = [(r, s) for r, s in valid if s is not None]
        invalid = [r for r in pool if all(r is not v for v, _ in valid)]
        fronts = [[valid[i] for i in front] for front in non_dominated_sort([s for _, s in valid])]
        chosen: list[Row] = []
        self._rank = {}
        for rank, front in enumerate(fronts):
            crowd = crowding_distance([s for _, s in front])
            ordered = sorted(zip(front, crowd), key=lambda t: (-t[1], t[0][0]["index"]))
            for (row, _), distance in ordered:
                self._rank[row["index"]] = (rank, -distance)
            chosen.extend(row for (row, _), _ in ordered[: n - len(chosen)])
            if len(chosen) >= n:
                return chosen
        for row in invalid[: n - len(chosen)]:
            self._rank[row["index"]] = (len(fronts), 0.0)
            chosen.append(row)
        return chosen
