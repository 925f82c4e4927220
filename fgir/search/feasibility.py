"""Can any candidate meet a constraint?  Asked before a search evaluates anything, and by ``fgir space``.

For each static constraint (``max_macs``, ``max_params``... and ``min_`` ones),
a candidate that meets it is looked for, cheapest first: the spec's own values,
then the samples already costed.  When none does, the best achievable value is
found (:func:`extreme`) and, if it misses the limit too, the constraint is an
error at the place it was written (its line in the spec, or its flag), naming
the best achievable value and the candidate that has it:

* a space of at most ``EXACT_LIMIT`` candidates is compiled whole: exact;
* a larger one is searched **per dimension**: each dimension's values are tried
  with the others held at the best found so far, sweep after sweep until none
  improves (at most ``SWEEPS``).  When the cost is monotone in each dimension
  (wider, deeper, larger kernels cost more whatever the other dimensions hold),
  the first sweep reaches the true minimum: the minimum over each dimension's
  smallest choice.  A dimension of more than ``VALUES_LIMIT`` values (a long
  code, a continuous range) is tried at its ends and at a fixed set of samples.

Example:
    >>> from fgir.search.space import Space
    >>> from fgir.search.cost import CostModel
    >>> space = Space.from_spec("examples/backbone_nas.yaml")
    >>> best = extreme(CostModel(space), "macs", lowest=True)
    >>> best.value, best.exact
    (27001856, False)
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Iterable

from fgir.diagnostics import Diagnostic, FgirError, Loc, Origin
from fgir.search.cost import CostModel, static_constraints
from fgir.search.domains import Code, IntRange, Uniform
from fgir.search.reporter import SearchUsageError
from fgir.search.space import Sample

EXACT_LIMIT = 256      # candidates: compile them all (about 2.5 s on one core at ~100 compiles/s)
VALUES_LIMIT = 128     # a dimension's values tried in a sweep
SWEEPS = 3


@dataclass
class Extreme:
    """The best achievable value of a metric, a candidate that has it, and how it was found."""

    metric: str
    value: Any
    sample: Sample | None
    exact: bool
    how: str


def _values(dim: Any, rng: random.Random) -> list[Any]:
    """The values of one dimension a sweep tries."""
    domain = dim.domain
    size = domain.size()
    if size is not None and size <= VALUES_LIMIT:
        return list(domain.grid())
    if isinstance(domain, Uniform):
        return [domain.low, domain.high, *(rng.uniform(domain.low, domain.high) for _ in range(8))]
    if isinstance(domain, IntRange):
        return sorted({domain.low, domain.high, *(domain.sample(rng) for _ in range(16))})
    out = [domain.sample(rng) for _ in range(VALUES_LIMIT)]
    if isinstance(domain, Code) and domain.ones is None:
        out += [[0] * domain.length, [1] * domain.length]
    return out


def extreme(model: CostModel, metric: str, lowest: bool = True, goal: float | None = None,
            start: Iterable[Sample] = ()) -> Extreme:
    """The lowest (or highest) ``metric`` over the space; stops early once a candidate reaches ``goal``."""
    space = model.space
    sign = 1 if lowest else -1
    best: tuple[float, Sample] | None = None

    def consider(sample: Sample) -> bool:
        """Keep ``sample`` if it is better; True once the goal is reached."""
        nonlocal best
        cost = model.cost(sample)
        value = cost.get(metric) if cost is not None else None
        if value is not None and (best is None or sign * value < sign * best[0]):
            best = (value, sample)
        return best is not None and goal is not None and sign * best[0] <= sign * goal

    size = space.size()
    if size is not None and size <= EXACT_LIMIT:
        for sample in space.grid():
            if consider(sample):
                break
        return _result(metric, best, True, f"exact: every one of the {size:,} candidates compiled")
    rng = random.Random(0)
    for sample in [space.initial(rng), *start]:
        if consider(sample):
            return _result(metric, best, False, "a candidate found")
    before = model.compiles
    for sweep in range(SWEEPS):
        improved = False
        for dim in space.dimensions:
            for value in _values(dim, rng):
                if best is None:
                    current = space.sample(rng)
                else:
                    current = best[1]
                held = best
                if consider({**current, dim.key: value}):
                    return _result(metric, best, False, "a candidate found")
                improved = improved or best is not held
        if not improved:
            break
    how = (f"per dimension: each dimension's values tried with the others at the best so far, {sweep + 1} "
           f"sweep{'s' * (sweep > 0)}, {model.compiles - before:,} compiles; exact when the cost is monotone in "
           f"each dimension")
    return _result(metric, best, False, how)


def _result(metric: str, best: tuple[float, Sample] | None, exact: bool, how: str) -> Extreme:
    return Extreme(metric, best[0] if best else None, best[1] if best else None, exact, how)


def check_feasible(model: CostModel, constraints: dict[str, float], origins: dict[str, Origin],
                   where: str, known: Iterable[Sample] = ()) -> None:
    """Raise, at where each constraint was written, for every static constraint no candidate meets."""
    from fgir.search.report import compact

    known = list(known)
    spec_errors, usage = [], []
    for name, limit in static_constraints(constraints).items():
        kind, metric = name.split("_", 1)
        found = extreme(model, metric, lowest=kind == "max", goal=limit, start=known)
        if found.value is None or (found.value <= limit if kind == "max" else found.value >= limit):
            continue            # met (or nothing compiles: each candidate's row will say why)
        word = "smallest" if kind == "max" else "largest"
        message = (f"no candidate meets {name} {limit:,}: the {word} achievable {metric} is {found.value:,} "
                   f"({found.how})")
        values = ", ".join(f"{k}={compact(v)}" for k, v in (found.sample or {}).items())
        hint = f"the {word}: {values}; {'raise' if kind == 'max' else 'lower'} the limit or change the space"
        origin = origins.get(name)
        if origin is not None:
            spec_errors.append(Diagnostic.at(origin, message, hint=hint))
        else:
            usage.append(Diagnostic(Loc(where), f"--{name.replace('_', '-')}", message, hint=hint))
    if usage:
        raise SearchUsageError(usage)
    if spec_errors:
        raise FgirError(spec_errors)


__all__ = ["EXACT_LIMIT", "Extreme", "check_feasible", "extreme"]
