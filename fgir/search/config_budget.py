"""The budget and measurement settings of ``search_algorithm``: ``scheduler`` (early stopping), and
``latency`` (how ``latency_ms`` is measured); :mod:`fgir.search.config` reads the rest.

::

    search_algorithm:
      evaluator: {type: train, epochs: 9}
      scheduler: {type: ASHA, min_epochs: 1, eta: 3}   # max_epochs: the evaluator's epochs unless given
      epoch_budget: 200
      latency: {batch: 1, threads: 1, repeats: 20}

Example:
    >>> from fgir.search.reporter import Reporter
    >>> from fgir.spec.yaml_loader import load_yaml_text
    >>> spec = load_yaml_text("scheduler: {type: ASHA, eta: 2}")
    >>> cls, options, origins = read_scheduler(spec, None, {}, "train", Reporter(spec, "<test>"))
    >>> cls.__name__, options, sorted(origins)
    ('ASHA', {'eta': 2}, ['eta', 'type'])
"""

from __future__ import annotations

import inspect
from typing import Any

from fgir.diagnostics import Origin, did_you_mean
from fgir.search.budget.schedulers import SCHEDULERS, Scheduler
from fgir.search.evaluators import EVALUATORS
from fgir.search.evaluators.latency import LATENCY_METRICS, Latency
from fgir.search.pareto import Objective
from fgir.search.reporter import Reporter, is_positive_int, report_either
from fgir.spec.yaml_loader import SMap


def read_scheduler(spec: SMap, override: str | None, cli_options: dict[str, Any], kind: Any,
               report: Reporter) -> tuple[type | None, dict[str, Any], dict[str, Origin]]:
    """The early-stopping scheduler (``scheduler: ASHA`` or ``{type: ASHA, eta: 3, ...}``) and its options."""
    given = spec.get("scheduler")
    spec_options: dict[str, Any] = {}
    if isinstance(given, dict):
        spec_options = {k: v for k, v in given.items() if k != "type"}
        given = given.get("type")
    name = override if override is not None else given
    if name is None:
        if cli_options:
            report.arg(f"--{next(iter(cli_options)).replace('_', '-')}", "this option is a scheduler's",
                       "add --scheduler ASHA (or SuccessiveHalving, Hyperband)")
        return None, {}, {}
    section = spec.get("scheduler")
    where_type = section.value_loc("type") if isinstance(section, SMap) else spec.value_loc("scheduler")
    if name not in SCHEDULERS:
        hint = did_you_mean(str(name), SCHEDULERS) or f"schedulers: {', '.join(SCHEDULERS)}"
        if override is not None:
            report.arg("--scheduler", f"unknown scheduler '{name}'", hint)
        else:
            report.key("scheduler", f"unknown scheduler '{name}'", hint, loc=where_type)
        return None, {}, {}
    if callable(kind) or not hasattr(EVALUATORS.get(kind), "train_to"):
        what = "a Python callable" if callable(kind) else f"the {kind} evaluator"
        message = f"{what} does not train by epochs: a scheduler stops training early"
        if override is not None:
            report.arg("--scheduler", message, "use --evaluator train")
        else:
            report.key("scheduler", message, "use evaluator: train", loc=where_type)
        return None, {}, {}
    allowed = dict(inspect.signature(Scheduler.__init__).parameters)   # every scheduler takes the base's
    for fixed in ("self", "objectives"):
        allowed.pop(fixed)
    options: dict[str, Any] = {}
    for source, values in (("spec", spec_options if name == given else {}), ("cli", cli_options)):
        for key, value in values.items():
            problem: tuple[str, str | None] | None = None
            if key not in allowed:
                problem = (f"{name} takes no option '{key}'", did_you_mean(str(key), allowed) or
                           f"it takes {', '.join(allowed)}")
            elif not (value is None and key == "max_epochs") and not is_positive_int(value):
                problem = (f"expected a positive integer, got {value!r}", None)
            if problem is None:
                options[key] = value
            elif source == "cli":
                report.arg(f"--{key.replace('_', '-')}", *problem)
            else:
                report.key(f"scheduler.{key}", *problem, loc=section.value_loc(key))
    origins: dict[str, Origin] = {}
    if override is None:
        origins["type"] = Origin(where_type, "search_algorithm.scheduler")
        origins.update({k: Origin(section.value_loc(k), f"search_algorithm.scheduler.{k}")
                        for k in spec_options if k in options and isinstance(section, SMap)})
    return SCHEDULERS[name], options, origins


def read_latency(spec: SMap, override: bool | dict[str, Any] | None, objectives: list[Objective],
             constraints: dict[str, float], report: Reporter) -> Latency | None:
    """How to measure latency, when it is asked for, or named by an objective or a constraint."""
    named = any(o.metric in LATENCY_METRICS for o in objectives) or \
        any(k.partition("_")[2] in LATENCY_METRICS for k in constraints)
    given = override if override is not None else spec.get("latency")
    if given is None or given is False:
        return Latency() if named else None
    options = given if isinstance(given, dict) else {}
    if not isinstance(given, (bool, dict)):
        report_either(report, override, "--latency", "latency", "latency is true or a mapping such as "
                "{batch: 1, threads: 1}", None, None)
        return None
    allowed = Latency().options()
    section = given if isinstance(given, SMap) and override is None else None
    out = {}
    for key, value in options.items():
        if key not in allowed:
            report_either(report, override, f"--latency-{key}", f"latency.{key}", f"latency takes no option '{key}'",
                    did_you_mean(str(key), allowed) or f"it takes {', '.join(allowed)}",
                    section.key_loc(key) if section is not None else None)
        elif not is_positive_int(value):
            report_either(report, override, f"--latency-{key}", f"latency.{key}",
                    f"expected a positive integer, got {value!r}", None,
                    section.value_loc(key) if section is not None else None)
        else:
            out[key] = value
    return Latency(**out)


__all__ = ["read_latency", "read_scheduler"]
