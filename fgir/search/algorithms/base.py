"""The algorithm interface: ``ask`` for a batch of proposals, ``tell`` their results.

The runner owns evaluation, parallelism, the results file and resuming; an
algorithm only proposes samples and learns from rows.  Everything random comes
from ``self.rng`` (seeded), and a batch does not depend on how it is evaluated,
so the same seed gives the same search with any number of workers, and replaying
recorded rows restores an algorithm's state exactly (that is how resume works).

A new algorithm in a few lines::

    @register_algorithm
    class MutateBest(SearchAlgorithm):
        def __init__(self, space, *, seed, objectives, batch: int = 8):
            super().__init__(space, seed=seed, objectives=objectives)
            self.batch = batch

        def ask(self):
            top = best(self.history, self.objectives)
            if top is None:
                return self.random_batch(self.batch)
            return self.mutants([top], self.batch)
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

from fgir.search.cost import CostModel, fits, static_constraints
from fgir.search.pareto import Objective
from fgir.search.space import Sample, Space

MAX_TRIES = 200   # fresh-sample attempts before a batch gives up (a small or exhausted space)


class OptionError(ValueError):
    """A bad algorithm option; ``option`` names it so the message lands where it was written."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


@dataclass(frozen=True)
class Proposal:
    """A sample to evaluate and how it was made (``random``, ``mutation of #3 (...)``...)."""

    values: Sample
    origin: str


class SearchAlgorithm:
    """Base class; see the module docstring.  Subclasses take their options as keyword arguments."""

    name: ClassVar[str] = ""

    def __init__(self, space: Space, *, seed: int, objectives: Sequence[Objective]) -> None:
        self.space = space
        self.rng = random.Random(seed)
        self.objectives = list(objectives)
        self.seen: set[str] = set()
        self.history: list[dict[str, Any]] = []
        self.model: CostModel | None = None
        self.limits: dict[str, float] = {}
        self.refused: set[str] = set()      # keys of samples refused by their static cost, never proposed

    @classmethod
    def type_name(cls) -> str:
        return cls.name or cls.__name__

    def ask(self) -> list[Proposal]:
        """The next batch; an empty list when there is nothing new left to propose."""
        raise NotImplementedError

    def tell(self, rows: list[dict[str, Any]]) -> None:
        """The rows of the last batch, in the order it was asked (possibly cut short at the budget)."""
        self.history.extend(rows)

    def limit_to(self, model: CostModel, constraints: dict[str, float]) -> None:
        """Propose only samples whose static cost (compiled by ``model``, once each) meets ``constraints``.

        Every way an algorithm proposes goes through :meth:`claim`, so random
        samples, mutants, children and Optuna's trials over the limit are drawn
        again instead of costing an evaluation; the rejection depends on the
        values alone, so a seed still gives one search and resuming replays it.
        """
        self.model, self.limits = model, static_constraints(constraints)

    # -- helpers ----------------------------------------------------------------------------
    def claim(self, values: Sample) -> bool:
        """True (and remember it) when no earlier proposal had these values and they are within the limits."""
        key = self.space.key(values)
        if key in self.seen:
            return False
        self.seen.add(key)
        if self.limits and self.model is not None and not fits(self.model.cost(values), self.limits):
            self.refused.add(key)
            return False
        return True

    def random_batch(self, n: int) -> list[Proposal]:
        out: list[Proposal] = []
        tries = 0
        while len(out) < n and tries < MAX_TRIES * n:
            tries += 1
            values = self.space.sample(self.rng)
            if self.claim(values):
                out.append(Proposal(values, "random"))
        return out

    def initial_proposal(self) -> list[Proposal]:
        """The spec's own values (the initial code vectors), when new."""
        values = self.space.initial(self.rng)
        return [Proposal(values, "initial")] if self.claim(values) else []

    def mutants(self, parents: Sequence[dict[str, Any]], n: int, rate: float | None = None) -> list[Proposal]:
        """Up to ``n`` fresh mutants of rows drawn uniformly from ``parents``."""
        out: list[Proposal] = []
        tries = 0
        while len(out) < n and tries < MAX_TRIES * n:
            tries += 1
            parent = parents[self.rng.randrange(len(parents))]
            values, move = self.space.mutate(parent["values"], self.rng, rate)
            if self.claim(values):
                out.append(Proposal(values, f"mutation of #{parent['index']} ({move})"))
        return out


__all__ = ["MAX_TRIES", "OptionError", "Proposal", "SearchAlgorithm"]
