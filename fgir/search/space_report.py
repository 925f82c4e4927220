"""``fgir space SPEC``: what a search space holds, before anything is trained.

:func:`space_report` counts the candidates (exactly, as a big integer), lists
each dimension's values, and compiles a sample of candidates through the static
path (:class:`~fgir.search.cost.CostModel`) for the distributions of params and
MACs, the share within each constraint (``--max-macs``... and the spec's own
``search_algorithm.constraints``) with the dimension values that push candidates
over it, the smallest and largest candidates, and the duplicates: distinct
assignments that compile to the same network (:func:`~fgir.search.cost.network_hash`;
``none`` edges make many).  A space of at most ``samples`` candidates is
costed whole, and every figure is then exact.  A constraint no candidate can
meet is an error where it was written (:mod:`fgir.search.feasibility`).

Costs come from the space's symbolic formula (:mod:`fgir.search.symbolic`:
exact, several 100,000 candidates a second) where it has one: the default
sample is then ``DEFAULT_SAMPLES`` (10,000, a few seconds with finding the
formula), and only assignments whose costs tie with another's are compiled for
the network hash, at most ``DUPLICATE_CHECKS`` of them (two assignments with
different costs are different networks).  Without a formula (the report says
why) every sample is compiled, about 100 a second on one core, and the default
is ``FALLBACK_SAMPLES`` (500, about 5 s); asked for at most that many, the
report compiles them rather than find a formula (a few hundred compiles).

Example:
    >>> report = space_report("examples/backbone_nas.yaml", samples=40, constraints={"max_macs": 100_000_000})
    >>> report.candidates, report.drawn, [d["key"] for d in report.dimensions]
    (4900, 40, ['layer.doublechannel', 'layer.downsample'])
    >>> 0 < report.constraints[0]["within"] < 1, report.to_json()["candidates"]
    (True, '4900')
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fgir.search.cost import CostModel, static_constraints, violated
from fgir.search.domains import Code, Uniform
from fgir.search.report import compact
from fgir.search.space import Sample, Space

DEFAULT_SAMPLES = 10_000
FALLBACK_SAMPLES = 500
DUPLICATE_CHECKS = 100   # compiles for the network hashes of assignments whose costs tie
METRICS = ("params", "macs")
BINS = 20
MAX_LISTED = 12        # dimension values listed in the text form
MAX_LEVELS = 16        # values of a dimension broken down one by one (more: by quartile, or by code position)


@dataclass
class SpaceReport:
    """Everything ``fgir space`` shows; :meth:`to_json` and :meth:`text` are its two printed forms."""

    file: str
    candidates: int | None                 # None: a continuous dimension
    dimensions: list[dict[str, Any]]
    drawn: int                             # samples compiled (with repeats, when random)
    exact: bool                            # the whole space was compiled
    seconds: float
    seed: int
    rows: list[tuple[Sample, dict | None]] = field(repr=False)   # each distinct sample and its cost
    costing: str = ""                      # how candidates were costed (symbolic, or compiled and why)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    constraints: list[dict[str, Any]] = field(default_factory=list)
    extremes: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicates: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain data; the count of candidates is a string (a JSON reader's numbers may not hold it)."""
        return {"file": self.file, "candidates": None if self.candidates is None else str(self.candidates),
                "dimensions": self.dimensions,
                "samples": {"drawn": self.drawn, "distinct": len(self.rows), "exact": self.exact, "seed": self.seed,
                            "invalid": sum(c is None for _, c in self.rows), "seconds": round(self.seconds, 3),
                            "costing": self.costing},
                "metrics": self.metrics, "constraints": self.constraints, "extremes": self.extremes,
                "duplicates": self.duplicates}

    def text(self) -> str:
        return "\n".join(_text_lines(self))


def _dimension(dim: Any) -> dict[str, Any]:
    size = dim.domain.size()
    values = list(dim.domain.grid()) if size is not None and size <= MAX_LISTED else None
    return {"key": dim.key, "domain": repr(dim.domain), "size": size, "values": values,
            "line": dim.loc.line}


def _draw(space: Space, samples: int, seed: int) -> tuple[list[Sample], bool]:
    size = space.size()
    if size is not None and size <= samples:
        return list(space.grid()), True
    rng = random.Random(seed)
    return [space.sample(rng) for _ in range(samples)], False


def _distribution(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    low, high = ordered[0], ordered[-1]
    width = (high - low) / BINS or 1
    counts = [0] * BINS
    for v in ordered:
        counts[min(BINS - 1, int((v - low) / width))] += 1
    return {"min": low, "p10": at(0.1), "median": at(0.5), "p90": at(0.9), "max": high,
            "mean": statistics.fmean(ordered), "histogram": {"low": low, "width": width, "counts": counts}}


def _levels(dim: Any, sample: Sample) -> list[str]:
    """The labels a sample falls under for one dimension (a code: one per position, ``[i]=0|1``)."""
    value, domain = sample[dim.key], dim.domain
    if isinstance(domain, Code) and (domain.size() or 0) > MAX_LEVELS:
        return [f"[{i}]={bit}" for i, bit in enumerate(value)]
    if isinstance(domain, Uniform) or (domain.size() or 0) > MAX_LEVELS:
        low, high = domain.low, domain.high
        quarter = min(3, int(4 * (value - low) / ((high - low) or 1)))
        return [f"quartile {quarter + 1}"]
    return [f"={compact(value)}"]


def _pushing(space: Space, costed: list[tuple[Sample, dict]], name: str, limit: float) -> list[dict[str, Any]]:
    """Per dimension, the share of samples over ``name`` at each of its values; the widest spread first."""
    out = []
    for dim in space.dimensions:
        seen: dict[str, list[int]] = {}
        for sample, cost in costed:
            over = int(bool(violated(cost, {name: limit})))
            for level in _levels(dim, sample):
                seen.setdefault(level, [0, 0])
                seen[level][0] += over
                seen[level][1] += 1
        values = [{"value": level, "samples": n, "over": round(k / n, 4)} for level, (k, n) in sorted(seen.items())]
        shares = [v["over"] for v in values]
        out.append({"key": dim.key, "spread": round(max(shares) - min(shares), 4) if shares else 0.0,
                    "values": sorted(values, key=lambda v: -v["over"])})
    return sorted(out, key=lambda d: -d["spread"])


def _summary(sample: Sample, cost: dict) -> dict[str, Any]:
    return {"values": sample, **{m: cost[m] for m in METRICS}}


def space_report(spec: str | Path | Space, *, samples: int | None = None, constraints: dict[str, float] | None = None,
                 seed: int = 0, input: str | None = None, where: str = "<options>",
                 latency_model: str | Path | None = None) -> SpaceReport:
    """The report of a space; see the module docstring.  FgirError / SearchUsageError for a constraint
    no candidate meets (at its spec line, or its flag) and for bad constraints.  ``latency_model``: a
    predictor file (``fgir latency calibrate``) that adds the distribution of predicted ``latency_ms``."""
    import fgir
    from fgir.search.config import make_config
    from fgir.search.feasibility import check_feasible

    space = spec if isinstance(spec, Space) else Space.from_spec(spec)
    fgir.loads(space.text, space.file)
    config = make_config(space.doc, constraints=constraints, where=where)
    model = CostModel(space, input, symbolic=samples is None or samples > FALLBACK_SAMPLES)
    limits = static_constraints(config.constraints)
    check_feasible(model, limits, config.constraint_origins, where)
    start = time.perf_counter()
    symbolic = model.symbolic
    if samples is None:
        samples = DEFAULT_SAMPLES if symbolic is not None and symbolic.exact else FALLBACK_SAMPLES
    drawn, exact = _draw(space, samples, seed)
    rows: dict[str, tuple[Sample, dict | None]] = {}
    if symbolic is not None and symbolic.exact:
        for sample, cost in zip(drawn, model.costs(drawn)):
            rows.setdefault(space.key(sample), (sample, cost))
    else:
        for sample in drawn:
            rows.setdefault(space.key(sample), (sample, model.cost(sample, network=True)))
    seconds = time.perf_counter() - start
    report = SpaceReport(space.file, space.size(), [_dimension(d) for d in space.dimensions], len(drawn), exact,
                         seconds, seed, list(rows.values()), costing=symbolic.line() if symbolic else
                         f"costs: compiled ({samples} samples: fewer than finding a formula compiles)")
    # the distributions weigh each draw (a repeat of a random sample counts again): an unbiased estimate
    weighted = [rows[space.key(s)] for s in drawn]
    costed = [(s, c) for s, c in weighted if c is not None]
    if not costed:
        return report
    report.metrics = {m: _distribution([c[m] for _, c in costed]) for m in METRICS}
    if latency_model is not None:   # each compiled to be predicted: at most PREDICTED_SAMPLES distinct ones
        from fgir.search.evaluators.latency import PREDICTED_SAMPLES, predict_samples

        valid = [sample for sample, cost in report.rows if cost is not None][:PREDICTED_SAMPLES]
        report.metrics["latency_ms"] = {**_distribution(predict_samples(space, valid, latency_model, input)),
                                        "samples": len(valid)}
    for name, limit in limits.items():
        within = sum(not violated(c, {name: limit}) for _, c in costed)
        origin = config.constraint_origins.get(name)
        report.constraints.append({
            "name": name, "limit": limit, "within": round(within / len(costed), 4),
            "from": str(origin.loc) if origin is not None else f"--{name.replace('_', '-')}",
            "by_dimension": _pushing(space, costed, name, limit)})
    for m in METRICS:
        low = min(costed, key=lambda sc: (sc[1][m], sc[1][METRICS[1 - METRICS.index(m)]]))
        high = max(costed, key=lambda sc: (sc[1][m], sc[1][METRICS[1 - METRICS.index(m)]]))
        report.extremes[f"smallest_{m}"], report.extremes[f"largest_{m}"] = _summary(*low), _summary(*high)
    report.duplicates = _duplicates(model, report.rows)
    return report


def _duplicates(model: CostModel, rows: list[tuple[Sample, dict | None]]) -> dict[str, Any]:
    """Assignments that compile to one network, by its hash; where costs came from the formula, only
    those whose costs tie with another's are compiled (up to DUPLICATE_CHECKS; ``checked`` says how many)."""
    valid = [(s, c) for s, c in rows if c is not None]
    ties: dict[tuple, list[Sample]] = {}
    for sample, cost in valid:
        ties.setdefault(tuple(sorted(cost.items())), []).append(sample)
    suspects = [s for group in ties.values() if len(group) > 1 for s in group]
    checked = suspects[:DUPLICATE_CHECKS] if valid and "network" not in valid[0][1] else [s for s, _ in valid]
    networks: dict[str, list[Sample]] = {}
    for sample in checked:
        cost = model.cost(sample, network=True)
        networks.setdefault(cost["network"] if cost is not None else "", []).append(sample)
    groups = sorted((g for g in networks.values() if len(g) > 1), key=len, reverse=True)
    found = sum(len(g) - 1 for g in groups)
    return {"assignments": len(valid), "networks": len(valid) - found, "duplicates": found,
            "groups": [g[:4] for g in groups[:5]], "group_sizes": [len(g) for g in groups[:5]],
            "tied": len(suspects), "checked": len(checked)}


def _figure(value: Any) -> str:
    return compact(value) if not isinstance(value, float) or value != int(value) else compact(int(value))


def _text_lines(report: SpaceReport) -> list[str]:
    count = f"{report.candidates:,}" if report.candidates is not None else "infinitely many (a continuous dimension)"
    lines = [f"space {report.file}: {count} candidates", f"dimensions ({len(report.dimensions)}):"]
    for d in report.dimensions:
        listed = ", ".join(compact(v) for v in d["values"]) if d["values"] is not None else "..."
        size = f"{d['size']:,} values" if d["size"] is not None else "continuous"
        lines.append(f"  {d['key']}  {d['domain']}  {size}: {listed}")
    invalid = sum(c is None for _, c in report.rows)
    how = "the whole space" if report.exact else f"{report.drawn:,} random samples (seed {report.seed})"
    rate = len(report.rows) / report.seconds if report.seconds else 0
    lines.append(f"{'costed' if report.costing.startswith('costs: symbolic') else 'compiled'} {how}: "
                 f"{len(report.rows):,} distinct, {invalid} invalid, in {report.seconds:.1f} s "
                 f"({rate:.0f} candidates/s)")
    lines.append(f"  {report.costing}")
    for m, d in report.metrics.items():
        mean = round(d["mean"], 4 if m == "latency_ms" else None)     # predicted milliseconds (--latency-model)
        lines.append(f"  {m:6s} min {_figure(d['min'])}  p10 {_figure(d['p10'])}  median {_figure(d['median'])}  "
                     f"p90 {_figure(d['p90'])}  max {_figure(d['max'])}  mean {_figure(mean)}")
    for c in report.constraints:
        lines.append(f"constraint {c['name']} {c['limit']:,} ({c['from']}): {c['within']:.1%} of the "
                     f"{'candidates' if report.exact else 'samples'} within")
        for d in c["by_dimension"][:3]:
            worst, best = d["values"][0], d["values"][-1]
            lines.append(f"  {d['key']}: {worst['value']} {worst['over']:.0%} over, {best['value']} "
                         f"{best['over']:.0%} over (spread {d['spread']:.0%})")
    for name, e in report.extremes.items():
        values = ", ".join(f"{k}={compact(v)}" for k, v in e["values"].items())
        lines.append(f"{name.replace('_', ' by ')}: params {e['params']:,}, macs {e['macs']:,}: {values}")
    dup = report.duplicates
    if dup:
        lines.append(f"duplicates: {dup['assignments']:,} distinct assignments compile to {dup['networks']:,} "
                     f"distinct networks ({dup['duplicates']:,} duplicates)")
        if dup["checked"] < dup["assignments"]:
            lines.append(f"  {dup['tied']:,} assignments tie in cost with another, {dup['checked']:,} of them "
                         "compiled for the network hash (different costs: different networks)")
        for group, size in zip(dup["groups"][:3], dup["group_sizes"]):
            first = ", ".join(f"{k}={compact(v)}" for k, v in group[0].items())
            lines.append(f"  {size} assignments, one network, e.g. {first}")
    return lines


__all__ = ["DEFAULT_SAMPLES", "DUPLICATE_CHECKS", "FALLBACK_SAMPLES", "SpaceReport", "space_report"]
