"""RandomSearch and GridSearch: the baselines every other algorithm is measured against.

Example:
    >>> from fgir.search.space import Space
    >>> space = Space.from_spec("examples/backbone_nas.yaml")
    >>> len(RandomSearch(space, seed=0, objectives=[], batch=4).ask())
    4
"""

from __future__ import annotations

import itertools
from typing import Iterator, Sequence

from fgir.search.algorithms.base import Proposal, SearchAlgorithm
from fgir.search.algorithms.registry import register_algorithm
from fgir.search.pareto import Objective
from fgir.search.space import Space

GRID_LIMIT = 1_000_000


@register_algorithm
class RandomSearch(SearchAlgorithm):
    """Uniform samples of the space, duplicates skipped."""

    def __init__(self, space: Space, *, seed: int, objectives: Sequence[Objective],
                 batch: int = 16) -> None:
        super().__init__(space, seed=seed, objectives=objectives)
        self.batch = batch

    def ask(self) -> list[Proposal]:
        return self.random_batch(self.batch)


@register_algorithm
class GridSearch(SearchAlgorithm):
    """Every sample in order (the last dimension varying fastest); for small, finite spaces."""

    def __init__(self, space: Space, *, seed: int, objectives: Sequence[Objective],
                 batch: int = 16) -> None:
        super().__init__(space, seed=seed, objectives=objectives)
        size = space.size()
        if size is None:
            continuous = next(d for d in space.dimensions if d.domain.size() is None)
            raise ValueError(f"GridSearch needs finite domains, but {continuous.key} is "
                             f"{continuous.domain!r}; use RandomSearch or choice(...)")
        if size > GRID_LIMIT:
            raise ValueError(f"the space has {size:,} points, too many for GridSearch (at most "
                             f"{GRID_LIMIT:,}); use RandomSearch or BackboneNasSearch")
        self.batch = batch
        self._grid: Iterator = space.grid()

    def ask(self) -> list[Proposal]:
        out = []
        for values in itertools.islice(self._grid, self.batch):
            if self.claim(values):
                out.append(Proposal(values, "grid"))
        return out
