"""BackboneNasSearch: random samples first, then mutations of the Pareto front.

docs/semantics.md: an evolutionary search over binary codes; a mutation moves a 1 to
a neighbouring 0 or swaps a 1 with a 0 (both keep the count of ones, so the
widths a code implies stay consistent), or adds or removes a 1 where the count
is free; duplicates are skipped by the canonical hash; the front is over the
objectives (e.g. accuracy:max and macs:min).  The spec's own values (the
initial code vectors) are the first candidate.

Example:
    >>> from fgir.search.space import Space
    >>> from fgir.search.pareto import parse_objectives
    >>> algo = BackboneNasSearch(Space.from_spec("examples/backbone_nas.yaml"), seed=0,
    ...                          objectives=parse_objectives(["params:max", "macs:min"]))
    >>> [p.origin for p in algo.ask()][:2]
    ['initial', 'random']
"""

from __future__ import annotations

from typing import Sequence

from fgir.search.algorithms.base import Proposal, SearchAlgorithm
from fgir.search.algorithms.registry import register_algorithm
from fgir.search.pareto import Objective, pareto_front
from fgir.search.space import Space


@register_algorithm
class BackboneNasSearch(SearchAlgorithm):
    """``num_random`` random candidates, then batches of mutants of Pareto-front parents."""

    def __init__(self, space: Space, *, seed: int, objectives: Sequence[Objective],
                 num_random: int = 16, batch: int = 8) -> None:
        super().__init__(space, seed=seed, objectives=objectives)
        self.num_random, self.batch = num_random, batch
        self._proposed = 0
        self.front: list[dict] = []

    def ask(self) -> list[Proposal]:
        if self._proposed < self.num_random:
            out = self.initial_proposal() if self._proposed == 0 else []
            out += self.random_batch(min(self.batch, self.num_random - self._proposed) - len(out))
        else:
            out = self.mutants(self.front, self.batch) if self.front else []
            out = out or self.random_batch(self.batch)   # no valid parent yet, or the front is spent
        self._proposed += len(out)
        return out

    def tell(self, rows: list[dict]) -> None:
        super().tell(rows)
        # the front of everything seen is the front of the old front and the new rows
        self.front = pareto_front(sorted(self.front + rows, key=lambda r: r["index"]), self.objectives)
