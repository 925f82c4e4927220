"""RegularizedEvolution: aging evolution (Real et al. 2019, "Regularized Evolution for Image Classifier
Architecture Search"; NNI's RegularizedEvolution), beside BackboneNasSearch.

A population of ``population`` candidates, the spec's own values and random
samples first.  Each child: draw ``sample`` members at random, mutate the best
of them (one dimension; a code keeps its count of ones), add the child and
retire the *oldest* member, not the worst: every architecture has to keep
being re-found to stay, which regularizes against lucky evaluations.  A batch
is ``batch`` children from the same population.  Several objectives rank by
the first, ties broken by the next ones; an invalid candidate loses to every
valid one.

Example:
    >>> from fgir.search.space import Space
    >>> from fgir.search.pareto import parse_objectives
    >>> algo = RegularizedEvolution(Space.from_spec("examples/backbone_nas.yaml"), seed=0,
    ...                             objectives=parse_objectives(["params:max"]), population=4, batch=2)
    >>> [p.origin for p in algo.ask()]
    ['initial', 'random', 'random', 'random']
"""

from __future__ import annotations

from collections import deque
from typing import Any, Sequence

from fgir.search.algorithms.base import OptionError, Proposal, SearchAlgorithm
from fgir.search.algorithms.registry import register_algorithm
from fgir.search.pareto import Objective, scores
from fgir.search.space import Space

Row = dict[str, Any]


@register_algorithm
class RegularizedEvolution(SearchAlgorithm):
    """Aging evolution; see the module docstring."""

    def __init__(self, space: Space, *, seed: int, objectives: Sequence[Objective], population: int = 16,
                 sample: int = 4, batch: int = 8) -> None:
        super().__init__(space, seed=seed, objectives=objectives)
        if population < 2:
            raise OptionError("population", f"population must be at least 2, got {population}")
        if sample > population:
            raise OptionError("sample", f"sample ({sample}) cannot exceed population ({population})")
        self.population_size, self.sample_size, self.batch = population, sample, batch
        self.population: deque[Row] = deque()
        self._seeded = 0

    def ask(self) -> list[Proposal]:
        if self._seeded < self.population_size:     # the first population: the spec's values, then random
            out = self.initial_proposal() if self._seeded == 0 else []
            out += self.random_batch(self.population_size - self._seeded - len(out))
            self._seeded = self._seeded + len(out) if out else self.population_size
            if out:
                return out
        if not self.population:
            return self.random_batch(self.batch)
        out: list[Proposal] = []
        for _ in range(self.batch):
            members = self.rng.sample(list(self.population), min(self.sample_size, len(self.population)))
            out += self.mutants([max(members, key=self._fitness)], 1)
        return out or self.random_batch(self.batch)

    def _fitness(self, row: Row) -> tuple:
        value = scores(row, self.objectives) if row.get("status") == "ok" else None
        return (value is not None, value or (), -row["index"])

    def tell(self, rows: list[Row]) -> None:
        super().tell(rows)
        for row in rows:
            self.population.append(row)
            if len(self.population) > self.population_size:
                self.population.popleft()        # the oldest goes, however good it was


__all__ = ["RegularizedEvolution"]
