"""Early stopping across budgets: successive halving, ASHA and Hyperband over training epochs.

A scheduler decides what to train next: a new candidate at the lowest rung, or
the promotion of a good one to the next rung (more epochs, continuing from where
its training stopped).  Rungs are epochs growing by ``eta`` up to
``max_epochs`` (``1, 3, 9`` for ``min_epochs=1, max_epochs=9, eta=3``).
Candidates at a rung are ranked by the objectives (by Pareto rank, then
crowding distance, for several: the multi-objective ASHA of Schmucker et al.;
one objective is the plain order), and the top ``1/eta`` go on.

* :class:`ASHA` (Li et al. 2020) promotes whenever a rung's top ``1/eta`` holds a
  candidate not yet promoted, else starts a new one: no waiting for a rung.
* :class:`SuccessiveHalving` (synchronous) trains brackets of ``eta^(K-1)``
  candidates (K rungs) and promotes a bracket's rung only once it is complete.
* :class:`Hyperband` (Li et al. 2018) cycles through brackets that start at
  each rung, trading many short trainings against few long ones.

Determinism: work is planned in rounds of ``batch`` trials from what is recorded
(never from which worker finished first), and every round is recorded in the
order it was planned, so a seed gives the same results with any executor or
number of workers, and a resumed search replays the rounds exactly.  Only
candidates whose exact static metrics passed the constraints are trained (the
others come back ``invalid`` before training, at no epoch cost).

Example:
    >>> from fgir.search.pareto import parse_objectives
    >>> asha = ASHA(objectives=parse_objectives(["accuracy:max"]), min_epochs=1, max_epochs=9)
    >>> asha.rungs
    [1, 3, 9]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from fgir.search.algorithms.base import OptionError, Proposal
from fgir.search.pareto import Objective, crowding_distance, non_dominated_sort, scores

Row = dict[str, Any]
SCHEDULERS: dict[str, type] = {}


def register_scheduler(cls: type) -> type:
    SCHEDULERS[cls.__name__] = cls
    return cls


def rung_epochs(min_epochs: int, max_epochs: int, eta: int) -> list[int]:
    """The epochs of each rung: ``min_epochs`` first, then anchored at ``max_epochs``, each ``eta`` times the
    one before (``rung_epochs(1, 10, 3)`` is ``[1, 3, 10]``)."""
    count = math.ceil(math.log(max_epochs / min_epochs, eta) - 1e-9) + 1
    out = [min_epochs]
    for k in range(1, count):
        epochs = round(max_epochs / eta ** (count - 1 - k))
        if epochs > out[-1]:
            out.append(epochs)
    return out


def ranked(rows: Sequence[Row], objectives: Sequence[Objective]) -> list[Row]:
    """Valid rows best first: by Pareto front, then crowding distance (larger first), then order."""
    valid = [(row, scores(row, objectives)) for row in rows if row.get("status") == "ok"]
    valid = [(row, s) for row, s in valid if s is not None]
    out: list[Row] = []
    for front in non_dominated_sort([s for _, s in valid]):
        crowd = crowding_distance([valid[i][1] for i in front])
        order = sorted(range(len(front)), key=lambda j: (-crowd[j], valid[front[j]][0]["index"]))
        out.extend(valid[front[j]][0] for j in order)
    return out


@dataclass
class Trial:
    """One training to run: a new candidate (``proposal``) or a promotion (``parent``: its row a rung below)."""

    rung: int
    epochs: int
    proposal: Proposal | None = None
    parent: Row | None = None
    bracket: int = 0

    @property
    def cost(self) -> int:
        """Epochs this trial trains (a promotion continues from its parent's epochs)."""
        return self.epochs - (self.parent["epochs"] if self.parent is not None else 0)


class Scheduler:
    """Base: the rungs, what each holds, and the planning of rounds; see the module docstring."""

    def __init__(self, *, objectives: Sequence[Objective], min_epochs: int = 1, max_epochs: int | None = None,
                 eta: int = 3, batch: int = 8) -> None:
        if max_epochs is None:
            raise OptionError("max_epochs", "max_epochs is required (or the evaluator's epochs)")
        if eta < 2:
            raise OptionError("eta", f"eta must be at least 2, got {eta}")
        if max_epochs <= min_epochs:
            raise OptionError("max_epochs", f"max_epochs ({max_epochs}) must be above min_epochs ({min_epochs}): "
                              "with one rung nothing stops early (max_epochs is the evaluator's epochs unless given)")
        self.objectives, self.eta, self.batch = list(objectives), eta, batch
        self.rungs = rung_epochs(min_epochs, max_epochs, eta)
        self.results: list[list[Row]] = [[] for _ in self.rungs]   # recorded rows at each rung
        self.promoted: list[set[str]] = [set() for _ in self.rungs]
        self._rankings: dict[Any, tuple[int, list[Row]]] = {}

    def ranking(self, key: Any, rows: list[Row]) -> list[Row]:
        """``ranked(rows)``, kept until ``rows`` grows: the lists of a rung's rows are only appended to,
        and planning asks for the same ranking once per trial it plans."""
        kept = self._rankings.get(key)
        if kept is None or kept[0] != len(rows):
            kept = (len(rows), ranked(rows, self.objectives))
            self._rankings[key] = kept
        return kept[1]

    def plan(self, fresh: Callable[[], Proposal | None], room: Callable[[int], bool]) -> list[Trial]:
        """Up to ``batch`` trials: promotions first, then new candidates from ``fresh`` (None: none left);
        ``room(epochs)`` says whether the epoch budget has room for trials costing that many epochs."""
        trials: list[Trial] = []
        spent = 0
        while len(trials) < self.batch:
            trial = self.promotion()
            if trial is not None:
                if not room(spent + trial.cost):
                    break
                self.commit(trial)
            else:
                trial = self.start(fresh, lambda cost: room(spent + cost))
                if trial is None:
                    break
            trials.append(trial)
            spent += trial.cost
        return trials

    def promotion(self) -> Trial | None:
        """The next promotion due (not yet committed), or None."""
        raise NotImplementedError

    def commit(self, trial: Trial) -> None:
        self.promoted[trial.rung - 1].add(trial.parent["hash"])

    def start(self, fresh: Callable[[], Proposal | None], room: Callable[[int], bool]) -> Trial | None:
        """A new candidate at the first rung, when the budget has room for it and ``fresh`` has one."""
        if not room(self.rungs[0]):
            return None
        proposal = fresh()
        return Trial(0, self.rungs[0], proposal) if proposal is not None else None

    def record(self, trial: Trial, row: Row) -> None:
        self.results[trial.rung].append(row)


@register_scheduler
class ASHA(Scheduler):
    """Asynchronous successive halving (deterministic rounds); see the module docstring."""

    def promotion(self) -> Trial | None:
        for rung in reversed(range(len(self.rungs) - 1)):
            done = self.results[rung]
            for row in self.ranking(rung, done)[: len(done) // self.eta]:
                if row["hash"] not in self.promoted[rung]:
                    return Trial(rung + 1, self.rungs[rung + 1], parent=row)
        return None


@dataclass
class _Bracket:
    start: int                      # its first rung
    size: int                       # candidates it starts
    members: list[list[Row]] = field(default_factory=list)   # valid rows per rung (from its first)
    planned: list[int] = field(default_factory=list)         # trials planned per rung
    recorded: list[int] = field(default_factory=list)        # trials recorded per rung (valid or not)
    closed: bool = False            # no more candidates join its first rung

    def keep(self, k: int, eta: int) -> int:
        """How many of rung ``k``'s candidates go on: the top 1/eta, at least one."""
        return min(len(self.members[k]), max(1, len(self.members[k]) // eta))

    def complete(self, k: int, eta: int) -> bool:
        """Every trial rung ``k`` will have is recorded."""
        if k == 0:
            return self.closed and self.recorded[0] == self.planned[0]
        return self.complete(k - 1, eta) and self.planned[k] == self.keep(k - 1, eta) and \
            self.recorded[k] == self.planned[k]


@register_scheduler
class SuccessiveHalving(Scheduler):
    """Synchronous successive halving: brackets of ``eta^(K-1)`` candidates; see the module docstring."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.brackets: list[_Bracket] = []

    def bracket_shape(self, number: int) -> tuple[int, int]:
        """(first rung, candidates) of the ``number``-th bracket."""
        return 0, self.eta ** (len(self.rungs) - 1)

    def promotion(self) -> Trial | None:
        for b, bracket in enumerate(self.brackets):
            for k in reversed(range(len(bracket.members) - 1)):
                if not bracket.complete(k, self.eta) or bracket.planned[k + 1] >= bracket.keep(k, self.eta):
                    continue
                rung = bracket.start + k
                row = next(r for r in self.ranking((b, k), bracket.members[k])
                           if r["hash"] not in self.promoted[rung])
                return Trial(rung + 1, self.rungs[rung + 1], parent=row, bracket=b)
        return None

    def commit(self, trial: Trial) -> None:
        super().commit(trial)
        bracket = self.brackets[trial.bracket]
        bracket.planned[trial.rung - bracket.start] += 1

    def start(self, fresh: Callable[[], Proposal | None], room: Callable[[int], bool]) -> Trial | None:
        current = self.brackets[-1] if self.brackets else None
        if current is None or current.closed:
            first, size = self.bracket_shape(len(self.brackets))
            number = len(self.brackets)
        else:
            first, size, number = current.start, current.size, len(self.brackets) - 1
        if not room(self.rungs[first]):
            return None
        proposal = fresh()
        if proposal is None:
            if current is not None:
                current.closed = True     # the candidates are spent: its first rung is what it has
            return None
        if number == len(self.brackets):
            depth = len(self.rungs) - first
            self.brackets.append(_Bracket(first, size, [[] for _ in range(depth)], [0] * depth, [0] * depth))
        bracket = self.brackets[number]
        bracket.planned[0] += 1
        bracket.closed = bracket.planned[0] >= bracket.size
        return Trial(first, self.rungs[first], proposal, bracket=number)

    def record(self, trial: Trial, row: Row) -> None:
        super().record(trial, row)
        bracket = self.brackets[trial.bracket]
        k = trial.rung - bracket.start
        bracket.recorded[k] += 1
        if row.get("status") == "ok":
            bracket.members[k].append(row)


@register_scheduler
class Hyperband(SuccessiveHalving):
    """Hyperband: successive-halving brackets starting at each rung in turn (s = K-1 ... 0)."""

    def bracket_shape(self, number: int) -> tuple[int, int]:
        count = len(self.rungs)
        s = count - 1 - number % count          # rungs this bracket halves over
        size = math.ceil(count / (s + 1) * self.eta ** s)
        return count - 1 - s, size


__all__ = ["ASHA", "Hyperband", "SCHEDULERS", "Scheduler", "SuccessiveHalving", "Trial", "ranked",
           "register_scheduler", "rung_epochs"]
