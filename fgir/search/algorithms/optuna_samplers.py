"""Optuna's samplers as fgir algorithms: ``TPESearch`` (tree-structured Parzen estimator) and
``OptunaNSGA2Search`` (Optuna's NSGA-II), through Optuna's ask/tell interface.

The space is mapped onto Optuna's distributions by :mod:`.optuna_space`.  Each
``ask`` asks Optuna for up to ``batch`` trials (TPE's constant liar keeps a
batch's trials apart); ``tell`` gives back each row's objective values (turned
so that larger is better: the study maximizes every objective).  An invalid
candidate (it does not compile, or breaks a constraint: found statically) is an
infeasible trial through Optuna's constraints, as fgir's own algorithms rank it
behind every valid one: NSGA-II's constrained domination, and TPE's "worse"
group, so that TPE learns where the infeasible candidates are; a candidate whose
evaluation failed is a failed trial.  A trial that decodes to a candidate
already proposed is told that candidate's outcome (or failed, while it is still
out) and another is asked: fgir never evaluates a candidate twice.  The spec's own values are enqueued as the
first trial.  Optuna is seeded with the search's seed and its state lives in
memory, so a seed gives the same search and a resumed search replays it exactly.
Needs ``optuna`` (``pip install scikit-learn optuna (fgir's search extra)``).

Example:
    >>> from fgir.search.space import Space
    >>> from fgir.search.pareto import parse_objectives
    >>> algo = TPESearch(Space.from_spec("examples/backbone_nas.yaml"), seed=0,
    ...                  objectives=parse_objectives(["params:max"]), batch=3)
    >>> [p.origin for p in algo.ask()]
    ['initial', 'tpe', 'tpe']
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

from fgir.search.algorithms.base import MAX_TRIES, OptionError, Proposal, SearchAlgorithm
from fgir.search.algorithms.optuna_space import OptunaSpace
from fgir.search.algorithms.registry import register_algorithm
from fgir.search.pareto import Objective, scores
from fgir.search.space import Space

Row = dict[str, Any]
INFEASIBLE = "fgir_invalid"     # the constraint an invalid candidate violates (1.0; a valid one 0.0)


class MissingPackage(ValueError):
    """An algorithm whose package is not installed (reported like a bad option, at the algorithm's name)."""


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise MissingPackage("this algorithm needs the Python package 'optuna', not installed "
                             "(pip install scikit-learn optuna (fgir's search extra))") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


class OptunaSearch(SearchAlgorithm):
    """The ask/tell bridge; subclasses say which sampler (:meth:`sampler`) and how they are named."""

    origin = "optuna"

    def __init__(self, space: Space, *, seed: int, objectives: Sequence[Objective], batch: int = 4) -> None:
        super().__init__(space, seed=seed, objectives=objectives)
        if not self.objectives:
            raise OptionError("objectives", f"{self.type_name()} needs at least one objective")
        optuna = _optuna()
        self.batch, self.codec = batch, OptunaSpace(space)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")            # Optuna's ExperimentalWarning for some options
            self.study = optuna.create_study(directions=["maximize"] * len(self.objectives),
                                             sampler=self.sampler(optuna, seed))
        self.fail = optuna.trial.TrialState.FAIL
        self.out: dict[str, Any] = {}                  # hash → its trial, until told
        self.told: dict[str, tuple[str, list[float] | None]] = {}   # hash → (status, values) its trial got
        self._initial = self.space.initial(self.rng)
        self.study.enqueue_trial(self.codec.encode(self._initial))

    def sampler(self, optuna: Any, seed: int) -> Any:
        raise NotImplementedError

    @staticmethod
    def constraints_func(optuna: Any) -> Any:
        """For Optuna before 5 (no ``Trial.set_constraint``): the sampler reads feasibility off a user attribute."""
        if hasattr(optuna.trial.Trial, "set_constraint"):
            return None
        return lambda trial: [trial.user_attrs.get(INFEASIBLE, 0.0)]

    def _tell(self, trial: Any, status: str, values: list[float] | None) -> None:
        if status == "ok" or status == "invalid":
            infeasible = 1.0 if status == "invalid" else 0.0
            if hasattr(trial, "set_constraint"):
                trial.set_constraint(INFEASIBLE, infeasible)
            else:
                trial.set_user_attr(INFEASIBLE, infeasible)
            # an infeasible trial's values are never compared: the samplers rank it by its violation
            self.study.tell(trial, values if values is not None else [0.0] * len(self.objectives))
        else:
            self.study.tell(trial, state=self.fail)

    def ask(self) -> list[Proposal]:
        out: list[Proposal] = []
        tries = 0
        while len(out) < self.batch and tries < MAX_TRIES * self.batch:
            tries += 1
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                trial = self.study.ask(self.codec.distributions)
            values = self.codec.decode(trial.params)
            key = self.space.key(values)
            if self.claim(values):
                self.out[key] = trial
                out.append(Proposal(values, "initial" if trial.number == 0 else self.origin))
            elif key in self.refused:   # over a limit, never evaluated: the sampler learns it is infeasible
                self._tell(trial, "invalid", None)
            else:            # a duplicate: what its first trial learnt (failed while that one is still out)
                self._tell(trial, *self.told.get(key, ("error", None)))
        return out or self.random_batch(self.batch)

    def tell(self, rows: list[Row]) -> None:
        super().tell(rows)
        for row in rows:
            value = scores(row, self.objectives) if row.get("status") == "ok" else None
            status = "ok" if value is not None else "invalid" if row.get("status") == "invalid" else "error"
            self.told[row["hash"]] = (status, list(value) if value is not None else None)
            trial = self.out.pop(row["hash"], None)
            if trial is not None:                        # None: a random fallback Optuna did not propose
                self._tell(trial, *self.told[row["hash"]])


@register_algorithm
class TPESearch(OptunaSearch):
    """Optuna's TPE: ``startup`` random trials, then the tree-structured Parzen estimator (multivariate)."""

    origin = "tpe"

    def __init__(self, space: Space, *, seed: int, objectives: Sequence[Objective], batch: int = 4,
                 startup: int = 10, multivariate: bool = True) -> None:
        self.startup, self.multivariate = startup, multivariate
        super().__init__(space, seed=seed, objectives=objectives, batch=batch)

    def sampler(self, optuna: Any, seed: int) -> Any:
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.startup, multivariate=self.multivariate,
                                          constant_liar=True, constraints_func=self.constraints_func(optuna))


@register_algorithm
class OptunaNSGA2Search(OptunaSearch):
    """Optuna's NSGA-II (``population`` a generation), for comparison with fgir's NSGA2Search."""

    origin = "nsga2"

    def __init__(self, space: Space, *, seed: int, objectives: Sequence[Objective], population: int = 16,
                 crossover: float = 0.9) -> None:
        if population < 2:
            raise OptionError("population", f"population must be at least 2, got {population}")
        if not 0 <= crossover <= 1:
            raise OptionError("crossover", f"crossover is a probability from 0 to 1, got {crossover}")
        self.population, self.crossover = population, crossover
        super().__init__(space, seed=seed, objectives=objectives, batch=population)

    def sampler(self, optuna: Any, seed: int) -> Any:
        return optuna.samplers.NSGAIISampler(population_size=self.population, crossover_prob=self.crossover,
                                             seed=seed, constraints_func=self.constraints_func(optuna))


__all__ = ["MissingPackage", "OptunaNSGA2Search", "OptunaSearch", "TPESearch"]
