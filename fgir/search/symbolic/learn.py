"""Finding a space's symbolic cost from compiled probes, and proving it before it is trusted.

1. **Dependencies.** From a few bases, each dimension is changed alone (to up
   to ``ALTERNATIVES`` other values; a code: each swap of neighbouring unequal
   bits); a node whose share changes, appears or vanishes depends on that
   dimension (and on a code at the positions a swap that moved it touched).
2. **Keys.** Each node gets the cheapest features of its dimensions (a code:
   its state at one of those positions, or its whole value) under which every probe
   compiled so far agrees: equal outcomes, equal share.  Where none agrees, a
   dimension the first step missed is added.  Nodes with the same features
   form one term.
3. **Tables.** Every probe fills its entries; a probe is then built for each
   key still missing (the features' outcomes written into a random sample),
   up to ``FILL_LIMIT`` compiles; the rest fills as candidates meet it.

The first step takes at most ``MAX_DISCOVERY`` compiles: a space of many
dimensions (``examples/search/darts.yaml``: 34, 267 compiles) is not tried.
4. **Proof.** ``VERIFY`` fresh random candidates are compiled and must equal
   the formula exactly, every metric.

A space fails (:class:`NoClosedForm`, with the reason) when a candidate does
not compile (validity then needs the compiler), a node depends on a
continuous dimension, a term's table would exceed ``MAX_TABLE``, or the proof
finds a difference.

A space of at most ``SMALL_SPACE`` candidates is not tried either: compiling
it whole is cheaper.

Example:
    >>> from fgir.search.space import Space
    >>> from fgir.search.symbolic import SymbolicCost
    >>> stats = SymbolicCost.of(Space.from_spec("examples/resnet18_variant.yaml")).stats   # learn(), once
    >>> stats["terms"], stats["missing"], stats["verified"]
    (15, 0, 16)
"""

from __future__ import annotations

import itertools
import random
from typing import Any

from fgir.search.space import Sample, Space
from fgir.search.domains import Code
from fgir.search.symbolic.features import VALUE, Feature, grid_value, options, realize
from fgir.search.symbolic.formula import MAX_TABLE, Contradiction, Formula, Term
from fgir.search.symbolic.probes import Vector, compile_shares

ALTERNATIVES = 3     # other values a dimension is changed to, per base
BASES = 3            # the spec's values, each dimension's last value (every optional node present), random
LEARN = 32           # random probes the keys must agree with
FILL_LIMIT = 1500
VERIFY = 16
SMALL_SPACE = 256
MAX_DISCOVERY = 256  # compiles of the first step (a space needing more is costed by compiling)
ZERO: Vector = (0,) * 6


class NoClosedForm(Exception):
    """The space's cost is not a sum of small tables; the message says why."""


class _Probes:
    """Compiled samples and their node shares; every compile goes through here and is counted."""

    def __init__(self, space: Space, input: str | None) -> None:
        self.space, self.input = space, input
        self.rows: list[tuple[Sample, dict[str, Vector]]] = []
        self.quantized: bool | None = None

    def add(self, sample: Sample) -> dict[str, Vector]:
        found = compile_shares(self.space, sample, self.input)
        if found is None:
            raise NoClosedForm(f"candidate {sample} does not compile: which candidates are valid needs the "
                               "compiler")
        shares, quantized = found
        if self.quantized is not None and quantized != self.quantized:
            raise NoClosedForm("some candidates are quantized and some are not")
        self.quantized = quantized
        self.rows.append((sample, shares))
        return shares


def _alternatives(dim: Any, value: Any, rng: random.Random) -> list[Any]:
    """Other values to try; for a code, each swap of two neighbouring unequal bits, which changes the code's
    state (ones before, bit) at those two positions only, so what changes tells the position it matters at."""
    if isinstance(dim.domain, Code):
        return [value[:i] + [value[i + 1], value[i]] + value[i + 2:]
                for i in range(len(value) - 1) if value[i] != value[i + 1]]
    size = dim.domain.size()
    if size is not None and size <= 2 * ALTERNATIVES + 2:
        others = [v for v in dim.domain.grid() if v != value]
        return rng.sample(others, min(ALTERNATIVES, len(others)))
    return [dim.domain.mutate(value, rng)[0] for _ in range(ALTERNATIVES)]


def _bases(space: Space, rng: random.Random) -> list[Sample]:
    last = {}
    for d in space.dimensions:
        size = d.domain.size()
        last[d.key] = grid_value(d.domain, size - 1) if size is not None and size <= 4096 else d.domain.sample(rng)
    return [space.initial(rng), last, *(space.sample(rng) for _ in range(BASES - 2))][:BASES]


Positions = dict[str, dict[int, set[int]]]     # node → code dimension → the positions its share moved with


def _dependencies(space: Space, probes: _Probes, rng: random.Random) -> tuple[dict[str, set[int]], Positions]:
    bases = _bases(space, rng)
    planned = [[_alternatives(dim, base[dim.key], rng) for dim in space.dimensions] for base in bases]
    count = sum(len(values) for per_base in planned for values in per_base)
    if count > MAX_DISCOVERY:
        raise NoClosedForm(f"its {len(space.dimensions)} dimensions take {count} compiles to find what depends "
                           f"on what, more than {MAX_DISCOVERY}")
    deps: dict[str, set[int]] = {}
    positions: Positions = {}
    for base, per_base in zip(bases, planned):
        before = probes.add(base)
        for d, (dim, values) in enumerate(zip(space.dimensions, per_base)):
            for value in values:
                after = probes.add({**base, dim.key: value})
                for node in [*before, *(n for n in after if n not in before)]:     # graph order
                    deps.setdefault(node, set())
                    if before.get(node) != after.get(node):
                        deps[node].add(d)
                        if isinstance(dim.domain, Code):
                            moved = {i for i, (a, b) in enumerate(zip(base[dim.key], value)) if a != b}
                            positions.setdefault(node, {}).setdefault(d, set()).update(moved)
    return deps, positions


def _consistent(features: tuple[Feature, ...], column: list[tuple[list[dict], Vector]]) -> bool:
    seen: dict[tuple[int, ...], Vector] = {}
    for outcomes, share in column:
        key = tuple(outcomes[f.dim][f] for f in features)
        if seen.setdefault(key, share) != share:
            return False
    return True


def _choose(dims: list[int], domains: list[Any], column: list, whole: bool,
            at: dict[int, set[int]]) -> tuple[Feature, ...] | None:
    """The features of ``dims`` with the smallest table under which ``column`` agrees (None: none does);
    a code's state only at the positions ``at`` names for it (any, where it names none), its whole value
    only with ``whole``."""
    def allowed(f: Feature) -> bool:
        if f.at == VALUE:
            return whole or not isinstance(domains[f.dim], Code)
        return f.dim not in at or f.at in at[f.dim]

    choices = [[f for f in options(domains[d], d) if allowed(f)] for d in dims]
    if any(not c for c in choices):
        return None
    combos = sorted(itertools.product(*choices), key=lambda fs: Term(fs, domains).size)
    for features in combos:
        if Term(features, domains).size <= MAX_TABLE and _consistent(features, column):
            return features
    return None


def _keys(space: Space, probes: _Probes, deps: dict[str, set[int]],
          positions: Positions) -> dict[str, tuple[Feature, ...]]:
    domains = [d.domain for d in space.dimensions]
    every = [{f: f.outcome(domains[d], s[dim.key]) for f in options(domains[d], d)}
             for s, _ in probes.rows for d, dim in enumerate(space.dimensions)]
    n = len(domains)
    outcomes = [every[i * n:(i + 1) * n] for i in range(len(probes.rows))]
    chosen: dict[tuple, tuple[Feature, ...]] = {}
    out = {}
    for node, dims in deps.items():
        column = [(o, shares.get(node, ZERO)) for o, (_, shares) in zip(outcomes, probes.rows)]
        memo = (tuple(sorted(dims)), tuple(share for _, share in column),
                tuple(sorted((d, tuple(sorted(p))) for d, p in positions.get(node, {}).items())))
        if memo not in chosen:
            continuous = [space.dimensions[d].key for d in sorted(dims) if not options(domains[d], d)]
            if continuous:
                raise NoClosedForm(f"node {node!r} depends on {continuous[0]}, which has too many values "
                                   "to table")
            # a code's whole value has so many outcomes that a few probes agree with it by chance: its
            # states at one position (each seen many times), with a dimension the first step missed, come first
            others = [d for d in range(n) if d not in dims]
            tries = ((sorted(dims | set(extra)), whole) for whole in (False, True)
                     for k in (0, 1, 2) for extra in itertools.combinations(others, k))
            found = None
            for dims_tried, whole in tries:
                found = _choose(dims_tried, domains, column, whole, positions.get(node, {}))
                if found is not None:
                    break
            if found is None:
                names = ", ".join(space.dimensions[d].key for d in sorted(dims))
                raise NoClosedForm(f"node {node!r} depends on {names} in no way a table of at most "
                                   f"{MAX_TABLE:,} entries holds")
            chosen[memo] = found
        out[node] = chosen[memo]
    return out


def _wanted(space: Space, formula: Formula, rng: random.Random) -> dict[int, list[int]]:
    """Per term (by position), the keys not tabled yet that some candidate has."""
    out = {}
    for i, term in enumerate(formula.terms):
        keys = []
        for key in (k for k in range(term.size) if k not in term.table):
            by_dim: dict[int, dict[int, int]] = {}
            for f, outcome in term.outcomes_of(key).items():
                by_dim.setdefault(f.dim, {})[f.at] = outcome
            if all(realize(space.dimensions[d].domain, w, rng) is not None for d, w in by_dim.items()):
                keys.append(key)
        if keys:
            out[i] = keys
    return out


def _fill_sample(space: Space, formula: Formula, wanted: dict[int, list[int]], rng: random.Random) -> Sample:
    """A sample that realizes a wanted key of as many terms as it can (the largest gaps first)."""
    fixed: dict[int, dict[int, int]] = {}
    for i in sorted(wanted, key=lambda i: -len(wanted[i])):
        for key in wanted[i][:64]:
            trial = {d: dict(w) for d, w in fixed.items()}
            if all(trial.setdefault(f.dim, {}).setdefault(f.at, o) == o
                   for f, o in formula.terms[i].outcomes_of(key).items()) and all(
                    realize(space.dimensions[d].domain, w, rng) is not None for d, w in trial.items()):
                fixed = trial
                break
    sample = space.sample(rng)
    for d, want in fixed.items():
        sample[space.dimensions[d].key] = realize(space.dimensions[d].domain, want, rng)
    return sample


def learn(space: Space, input: str | None = None, seed: int = 0) -> tuple[Formula, dict[str, int]]:
    """The verified formula of a space and how it was found (compiles, terms, missing entries, verified);
    NoClosedForm where there is none."""
    size = space.size()
    if size is not None and size <= SMALL_SPACE:
        raise NoClosedForm(f"the space has {size} candidates: compiling them is cheaper than finding a formula")
    rng = random.Random(seed)
    probes = _Probes(space, input)
    deps, positions = _dependencies(space, probes, rng)
    for _ in range(LEARN):
        for node in probes.add(space.sample(rng)):
            deps.setdefault(node, set())      # a node no base had: its keys find its dimensions
    nodes = _keys(space, probes, deps, positions)
    domains = [d.domain for d in space.dimensions]
    terms = [Term(fs, domains) for fs in sorted(set(nodes.values()))]
    formula = Formula(space.keys, domains, terms, nodes, bool(probes.quantized))
    try:
        for sample, shares in probes.rows:
            formula.record(sample, shares)
        wanted = _wanted(space, formula, rng)
        filled = 0
        while filled < FILL_LIMIT and wanted:
            sample = _fill_sample(space, formula, wanted, rng)
            formula.record(sample, probes.add(sample))
            filled += 1
            wanted = {i: [k for k in keys if k not in formula.terms[i].table] for i, keys in wanted.items()}
            wanted = {i: keys for i, keys in wanted.items() if keys}
        verified = 0
        for _ in range(VERIFY):
            sample = space.sample(rng)
            predicted = formula.vector(sample)
            shares = probes.add(sample)
            formula.record(sample, shares)
            verified += predicted is not None
    except Contradiction as exc:
        raise NoClosedForm(str(exc)) from None
    if verified < VERIFY // 2:
        raise NoClosedForm(f"only {verified} of {VERIFY} fresh candidates could be checked: its tables hold more "
                           f"than {FILL_LIMIT} compiles fill")
    stats = {"compiles": len(probes.rows), "terms": len(terms), "filled": filled,
             "missing": sum(len(k) for k in _wanted(space, formula, rng).values()),
             "verified": verified}
    return formula, stats


__all__ = ["NoClosedForm", "learn"]
