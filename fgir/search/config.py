"""Search settings: the spec's ``search_algorithm`` section, overridden by the command line.

::

    search_algorithm:
      type: BackboneNasSearch          # RandomSearch (default), GridSearch, NSGA2Search, ...
      num_random: 16                   # the algorithm's own options
      objectives: [accuracy:max, macs:min]
      constraints: {max_macs: 50_000_000, max_params: 2_000_000}
      evaluator: {type: train, epochs: 9}    # or: evaluator: static
      scheduler: {type: ASHA, min_epochs: 1, eta: 3}   # early stopping (max_epochs: the evaluator's epochs)
      epoch_budget: 200                # total training epochs (with a scheduler)
      latency: {batch: 1, threads: 1}  # measure latency_ms (implied by an objective or constraint on it)
                                       # (predicted instead with --latency-model machine.json)
      budget: 100
      seed: 0

Problems in the spec are diagnostics at their line and column (exit 1);
problems in command-line or API arguments are :class:`SearchUsageError` (exit 2).

Example:
    >>> from fgir.spec.document import parse_document
    >>> from fgir.spec.yaml_loader import load_yaml_text
    >>> doc = parse_document(load_yaml_text(open("examples/backbone_nas.yaml").read()))
    >>> cfg = make_config(doc, budget=10)
    >>> cfg.algorithm.__name__, cfg.budget, [str(o) for o in cfg.objectives]
    ('BackboneNasSearch', 10, ['params:max', 'macs:min'])
"""

from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

from fgir.diagnostics import Diagnostic, FgirError, Loc, Origin, did_you_mean
from fgir.search.algorithms import ALGORITHMS, SearchAlgorithm, algorithm_options
from fgir.search.config_budget import read_latency, read_scheduler
from fgir.search.evaluators import EVALUATORS, known_metrics
from fgir.search.evaluators.latency import Latency, predicted_by
from fgir.search.reporter import Reporter, SearchUsageError, is_integer, is_positive_int, report_either
from fgir.search.pareto import Objective, ObjectiveError, parse_objective
from fgir.search.space import Space
from fgir.spec.document import SpecDocument
from fgir.spec.yaml_loader import SList, SMap

DEFAULT_ALGORITHM = "RandomSearch"
DEFAULT_BUDGET = 100
RESERVED = ("type", "objectives", "constraints", "evaluator", "budget", "seed", "scheduler", "epoch_budget",
            "latency")
DEFAULT_OBJECTIVES = {"static": ("params:max", "macs:min"), "train": ("accuracy:max", "macs:min")}


@dataclass
class SearchConfig:
    """Everything that decides a search's results (plus the budget, which only bounds it)."""

    algorithm: type
    options: dict[str, Any]
    objectives: list[Objective]
    constraints: dict[str, float]
    evaluator: str | Callable[..., dict]
    evaluator_options: dict[str, Any]
    budget: int
    seed: int
    input: str | None = None
    algorithm_origin: Origin | None = field(default=None, repr=False)
    option_origins: dict[str, Origin] = field(default_factory=dict, repr=False)
    scheduler: type | None = None           # early stopping (fgir.search.budget); None: every candidate in full
    scheduler_options: dict[str, Any] = field(default_factory=dict)
    epoch_budget: int | None = None         # total training epochs (bounds a scheduler's search)
    latency: Latency | None = None          # measure latency_ms after the static metrics
    scheduler_origins: dict[str, Origin] = field(default_factory=dict, repr=False)   # "type" and its options
    constraint_origins: dict[str, Origin] = field(default_factory=dict, repr=False)  # those the spec wrote

    def fingerprint(self, space: Space) -> dict[str, Any]:
        """What a results directory must match to be resumed (the budget and workers may change)."""
        evaluator = self.evaluator if isinstance(self.evaluator, str) else \
            f"{getattr(self.evaluator, '__module__', '?')}.{getattr(self.evaluator, '__qualname__', '?')}"
        out = {"spec_sha256": space.sha256,
               "algorithm": self.algorithm.type_name(), "options": self.options,
               "objectives": [str(o) for o in self.objectives], "constraints": self.constraints,
               "evaluator": evaluator, "evaluator_options": self.evaluator_options,
               "seed": self.seed, "input": self.input}
        if self.scheduler is not None:      # absent otherwise: older results folders still resume
            out["scheduler"] = {"type": self.scheduler.__name__, **self.scheduler_options}
        if self.latency is not None:
            out["latency"] = self.latency.options()
        return out

    def build_scheduler(self, where: str = "<options>") -> Any:
        """The early-stopping scheduler; ``max_epochs`` defaults to the evaluator's ``epochs``."""
        options = dict(self.scheduler_options)
        if options.get("max_epochs") is None:
            options["max_epochs"] = self.evaluator_options.get("epochs", 1)
        try:
            return self.scheduler(objectives=self.objectives, **options)
        except ValueError as exc:
            option = getattr(exc, "option", "type")
            origin = self.scheduler_origins.get(option, self.scheduler_origins.get("type"))
            if origin is not None:
                raise FgirError(Diagnostic.at(origin, str(exc))) from None
            flag = f"--{option.replace('_', '-')}" if option in self.scheduler_options else "--scheduler"
            raise SearchUsageError(Diagnostic(Loc(where), flag, str(exc))) from None

    def build_algorithm(self, space: Space, where: str = "<options>") -> SearchAlgorithm:
        try:
            return self.algorithm(space, seed=self.seed, objectives=self.objectives, **self.options)
        except ValueError as exc:
            origin = self.option_origins.get(getattr(exc, "option", None), self.algorithm_origin)
            if origin is not None:
                raise FgirError(Diagnostic.at(origin, str(exc))) from None
            raise SearchUsageError(Diagnostic(Loc(where), "--algorithm", str(exc))) from None


def make_config(doc: SpecDocument, *, algorithm: str | None = None,
                evaluator: str | Callable[..., dict] | None = None, budget: int | None = None,
                seed: int | None = None, input: str | None = None,
                objectives: list[str] | None = None, constraints: dict[str, float] | None = None,
                evaluator_options: dict[str, Any] | None = None, scheduler: str | None = None,
                scheduler_options: dict[str, Any] | None = None, epoch_budget: int | None = None,
                latency: bool | dict[str, Any] | None = None, where: str = "<options>") -> SearchConfig:
    """Validate the spec's search_algorithm and the overrides; raise every problem at once."""
    section = doc.search_algorithm
    spec = section if section is not None else SMap(doc.root.loc)
    report = Reporter(section, where)

    algo_cls, origin = _algorithm(spec, algorithm, report)
    options = _options(spec, algo_cls, report) if algo_cls is not None and algorithm in (
        None, spec.get("type")) else {}
    kind, ev_options = _evaluator(spec, evaluator, evaluator_options or {}, report)
    objs = _objectives(spec, objectives, kind, report)
    limits = _constraints(spec, constraints or {}, kind, report)
    sched, sched_options, sched_origin = read_scheduler(spec, scheduler, scheduler_options or {}, kind, report)
    model = latency.get("model") if isinstance(latency, dict) else None    # a predictor file: predict latency_ms
    if model is not None:
        latency = {k: v for k, v in latency.items() if k != "model"} or None
    measure = read_latency(spec, latency, objs, limits, report)
    if model is not None:
        measure = predicted_by(measure or Latency(), model, report)
    if epoch_budget is not None and not is_positive_int(epoch_budget):
        report.arg("--epoch-budget", f"the epoch budget must be a positive integer, got {epoch_budget}")
    elif epoch_budget is None and "epoch_budget" in spec and not is_positive_int(spec["epoch_budget"]):
        report.key("epoch_budget", f"the epoch budget must be a positive integer, got {spec['epoch_budget']!r}")
    epochs_total = epoch_budget if epoch_budget is not None else spec.get("epoch_budget")
    if epochs_total is not None and scheduler is None and spec.get("scheduler") is None:
        report_either(report, epoch_budget, "--epoch-budget", "epoch_budget", "an epoch budget bounds an "
                "early-stopping search", "add a scheduler (--scheduler ASHA)", None)

    if budget is not None and not is_positive_int(budget):
        report.arg("--budget", f"the budget must be a positive integer, got {budget}")
    elif budget is None and "budget" in spec and not is_positive_int(spec["budget"]):
        report.key("budget", f"the budget must be a positive integer, got {spec['budget']!r}")
    if seed is not None and not is_integer(seed):
        report.arg("--seed", f"the seed must be an integer, got {seed!r}")
    elif seed is None and "seed" in spec and not is_integer(spec["seed"]):
        report.key("seed", f"the seed must be an integer, got {spec['seed']!r}")
    report.raise_if_errors()
    return SearchConfig(algo_cls, options, objs, limits, kind, ev_options,
                        budget if budget is not None else spec.get("budget", DEFAULT_BUDGET),
                        seed if seed is not None else spec.get("seed", 0), input, origin,
                        {k: Origin(spec.value_loc(k), f"search_algorithm.{k}") for k in options},
                        sched, sched_options, epochs_total, measure, sched_origin,
                        _constraint_origins(spec, constraints or {}))


def _algorithm(spec: SMap, override: str | None, report: Reporter) -> tuple[type | None, Origin | None]:
    name = override if override is not None else spec.get("type", DEFAULT_ALGORITHM)
    if name in ALGORITHMS:
        origin = Origin(spec.value_loc("type"), "search_algorithm.type") if override is None else None
        return ALGORITHMS[name], origin
    hint = _suggest_algorithm(str(name)) or f"algorithms: {', '.join(sorted(ALGORITHMS))}"
    if override is not None:
        report.arg("--algorithm", f"unknown search algorithm '{name}'", hint)
    else:
        report.key("type", f"unknown search algorithm '{name}'", hint)
    return None, None


def _suggest_algorithm(name: str) -> str | None:
    hint = did_you_mean(name, ALGORITHMS)
    if hint is None:   # "Randm" is far from "RandomSearch" but close to "Random"
        short = {n.removesuffix("Search"): n for n in ALGORITHMS}
        close = difflib.get_close_matches(name.removesuffix("Search"), list(short), n=1, cutoff=0.6)
        hint = f"did you mean '{short[close[0]]}'?" if close else None
    return hint


def _check_value(param: inspect.Parameter, value: Any) -> str | None:
    """Why ``value`` does not suit an option whose default is an int or a float, or None."""
    default = param.default
    if isinstance(default, bool):
        return None if isinstance(value, bool) else f"expected true or false, got {value!r}"
    if isinstance(default, int) or (default is None and param.name == "limit"):
        if value is None and default is None:
            return None
        return None if is_positive_int(value) else f"expected a positive integer, got {value!r}"
    if isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
        return None if ok else f"expected a non-negative number, got {value!r}"
    return None


def _options(spec: SMap, cls: type, report: Reporter) -> dict[str, Any]:
    allowed = algorithm_options(cls)
    out: dict[str, Any] = {}
    for key, value in spec.items():
        if key in RESERVED:
            continue
        if key not in allowed:
            report.key(key, f"{cls.type_name()} takes no option '{key}'",
                       did_you_mean(str(key), [*allowed, *RESERVED]) or
                       f"it takes {', '.join([*allowed, *RESERVED])}", loc=spec.key_loc(key))
            continue
        problem = _check_value(allowed[key], value)
        if problem:
            report.key(key, problem)
            continue
        out[key] = value
    return out


def _evaluator(spec: SMap, override: Any, cli_options: dict[str, Any],
               report: Reporter) -> tuple[Any, dict[str, Any]]:
    given = spec.get("evaluator", "static")
    spec_options: dict[str, Any] = {}
    if isinstance(given, dict):
        spec_options = {k: v for k, v in given.items() if k != "type"}
        given = given.get("type", "static")
    kind = override if override is not None else given
    if callable(kind):
        return kind, {}
    if kind not in EVALUATORS:
        hint = did_you_mean(str(kind), EVALUATORS) or f"evaluators: {', '.join(EVALUATORS)}" + (
            "; 'supernet' is registered by importing fgir.supernet (fgir search does)" if kind == "supernet" else "")
        if override is not None:
            report.arg("--evaluator", f"unknown evaluator '{kind}'", hint)
        else:
            loc = spec["evaluator"].value_loc("type") if isinstance(spec.get("evaluator"), SMap) else None
            report.key("evaluator", f"unknown evaluator '{kind}'", hint, loc=loc)
        return "static", {}
    factory = EVALUATORS[kind]
    allowed = dict(inspect.signature(factory.__init__).parameters) if factory is not None else {}
    allowed.pop("self", None)
    options: dict[str, Any] = {}
    section = spec.get("evaluator")
    for source, values in (("spec", spec_options if kind == given else {}), ("cli", cli_options)):
        for key, value in values.items():
            if key not in allowed:
                message = f"the {kind} evaluator takes no option '{key}'"
                hint = did_you_mean(str(key), allowed) or (
                    f"it takes {', '.join(allowed)}" if allowed else "it takes none")
                if source == "cli":
                    report.arg(f"--{key}", message, hint)
                else:
                    report.key(f"evaluator.{key}", message, hint, loc=section.key_loc(key))
                continue
            problem = _check_value(allowed[key], value)
            if problem:
                if source == "cli":
                    report.arg(f"--{key}", problem)
                else:
                    report.key(f"evaluator.{key}", problem, loc=section.value_loc(key))
                continue
            options[key] = value
    return kind, options


def _metric_problem(metric: str, kind: Any) -> tuple[str, str | None] | None:
    metrics = known_metrics(kind)
    if metrics is None or metric in metrics:
        return None
    return (f"the {kind} evaluator reports no metric '{metric}'",
            did_you_mean(metric, metrics) or f"metrics: {', '.join(metrics)}")


def _objectives(spec: SMap, override: list[str] | None, kind: Any, report: Reporter) -> list[Objective]:
    if override is not None:
        texts, locs = list(override), [None] * len(override)
    elif "objectives" in spec:
        given = spec["objectives"]
        if isinstance(given, str):
            given = [given]
        if not isinstance(given, list) or not given:
            report.key("objectives", "objectives is a list such as [accuracy:max, macs:min]")
            return []
        texts = list(given)
        locs = [given.item_loc(i) if isinstance(given, SList) else None for i in range(len(given))]
    else:
        texts = list(DEFAULT_OBJECTIVES.get(kind, ("params:max", "macs:min"))) if isinstance(kind, str) \
            else ["score:max"]
        locs = [None] * len(texts)
    out = []
    for text, loc in zip(texts, locs):
        try:
            objective = parse_objective(text)
        except ObjectiveError as exc:
            report_either(report, override, "--objective", "objectives", str(exc), None, loc)
            continue
        problem = _metric_problem(objective.metric, kind)
        if problem:
            report_either(report, override, "--objective", "objectives", *problem, loc)
            continue
        out.append(objective)
    return out


def _constraint_origins(spec: SMap, override: dict[str, float]) -> dict[str, Origin]:
    """Where the spec wrote each constraint the command line does not override (errors about it go there)."""
    given = spec.get("constraints")
    if not isinstance(given, SMap):
        return {}
    return {str(k): Origin(given.value_loc(k), f"search_algorithm.constraints.{k}") for k in given
            if k not in override}


def _constraints(spec: SMap, override: dict[str, float], kind: Any, report: Reporter) -> dict[str, float]:
    given = spec.get("constraints", {})
    if not isinstance(given, dict):
        report.key("constraints", "constraints is a mapping such as {max_macs: 50_000_000}")
        given = {}
    out: dict[str, float] = {}
    for source, values in (("spec", given), ("cli", override)):
        for key, value in values.items():
            flag = f"--{str(key).replace('_', '-')}"
            loc = given.key_loc(key) if source == "spec" and isinstance(given, SMap) else None
            kind_, _, metric = str(key).partition("_")
            problem: tuple[str, str | None] | None = None
            if kind_ not in ("max", "min") or not metric:
                problem = (f"a constraint is max_<metric> or min_<metric>, got '{key}'",
                           did_you_mean(str(key), ["max_macs", "max_params", "max_weight_bytes"]))
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                problem = (f"{key} takes a number, got {value!r}", None)
            else:
                problem = _metric_problem(metric, kind)
            if problem:
                if source == "cli":
                    report.arg(flag, *problem)
                else:
                    report.key(f"constraints.{key}", *problem, loc=loc)
                continue
            out[str(key)] = value
    return out


__all__ = ["DEFAULT_BUDGET", "SearchConfig", "SearchUsageError", "make_config"]
