"""Space → supernet IR: the largest candidate's graph and the elastic points of every dimension.

The supernet's weights are the largest candidate's (every numeric dimension at its maximum; a choice
of names at the spec's value).  Which node depends on which dimension is not re-derived from the
blocks' semantics: the analysis compiles candidates that differ from the largest in one dimension
and diffs their lowered graphs node by node (node names are stable scope paths), which is exact.
A dimension is *elastic* when every one of its values only

* narrows widths of the same nodes (``width``: each candidate takes the first k channels, OFA-style;
  an expand ratio is a width of the hidden layers),
* shrinks kernels of the same nodes (``kernel``: a centre crop of the largest kernel),
* drops whole trailing residual blocks of a repeat (``depth``: later blocks skipped), or
* swaps a weightless op for another at the same node (``op``: an activation choice; weights shared).

A choice of names (an op or a block type per edge) whose alternatives differ in more than that
gets its *own* weights per value instead (``choice``: parallel alternatives, one active at a time,
the ``zero`` op for ``none``; :mod:`.choices`).  A numeric dimension that fits none of the kinds (a
stride, an expand ratio of 1 that drops a layer) is refused with the dimension named at its
``hyper_parameters`` line and the reason.

Example:
    >>> net = build_supernet("examples/search/supernet_mobilenet.yaml")
    >>> net.points["stage2.depth"].kind, net.points["stage2.depth"].nodes[:1]
    ('depth', ['stage2.1'])
    >>> net.points["stage1.kernel_size"].kind, net.largest["stage3.expand_ratio"]
    ('kernel', 6)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fgir.diagnostics import Diagnostic, FgirError
from fgir.ir.graph import Graph
from fgir.search.space import Sample, Space
from fgir.supernet.choices import branch_nodes, overlapping_choices

WIDTH_ATTRS = {"in_channels", "out_channels", "num_features", "in_features", "out_features", "groups",
               "num_channels", "normalized_shape"}
KERNEL_ATTRS = {"kernel_size", "padding"}   # a same-padded kernel's padding follows it


@dataclass
class ElasticPoint:
    """What one dimension changes: its kind and the nodes (or blocks, for depth) it reaches."""

    key: str
    kind: str                      # width, kernel, depth, op, choice (own weights), fixed (no effect)
    nodes: list[str] = field(default_factory=list)

    @property
    def shares(self) -> bool:
        """Whether its values share weights (a ``choice`` gives each value its own)."""
        return self.kind != "choice"

    def describe(self) -> str:
        shown = ", ".join(self.nodes[:4]) + (f" (+{len(self.nodes) - 4})" if len(self.nodes) > 4 else "")
        return f"{self.key}: {self.kind} of {shown}" if self.nodes else f"{self.key}: {self.kind}"


@dataclass
class Supernet:
    """The supernet IR: the space, its largest candidate (values and compiled graph), the elastic points."""

    space: Space
    input: str | None
    largest: Sample
    smallest: Sample
    graph: Graph
    points: dict[str, ElasticPoint]
    alternatives: dict[str, dict[Any, Graph]] = field(default_factory=dict)   # choice → value → its graph

    @property
    def space_sha256(self) -> str:
        return self.space.sha256

    def describe(self) -> list[str]:
        return [p.describe() for p in self.points.values()]


def _numeric(values: list[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def extremes(space: Space) -> tuple[Sample, Sample]:
    """The largest and smallest candidates: each numeric dimension at its max / min, others as the spec has it."""
    big, small = {}, {}
    for dim in space.dimensions:
        values = list(dim.domain.grid()) if dim.domain.size() is not None else []
        keep = dim.initial if dim.initial is not None else (values[0] if values else None)
        big[dim.key] = max(values) if values and _numeric(values) else keep
        small[dim.key] = min(values) if values and _numeric(values) else keep
    return big, small


def compile_candidate(space: Space, sample: Sample, input: str | None) -> Graph:
    from fgir.api import compile, loads

    return compile(loads(space.freeze(sample), space.file), input=input)


def build_supernet(source: str | Path | Space, input: str | None = None) -> Supernet:
    """The supernet IR of a search-space spec; FgirError naming each dimension that cannot be elastic."""
    space = source if isinstance(source, Space) else Space.from_spec(source)
    input = input or _spec_input(space)
    largest, smallest = extremes(space)
    graph = compile_candidate(space, largest, input)
    points, problems = {}, []
    alternatives: dict[str, dict[Any, Graph]] = {}
    for dim in space.dimensions:
        point, graphs, problem = _analyse(space, dim, largest, graph, input)
        if problem is not None:
            problems.append(problem)
            continue
        points[dim.key] = point
        if point.kind == "choice":
            alternatives[dim.key] = graphs
    problems += overlapping_choices(space, points)
    if not problems:   # the dimensions together: the smallest candidate must share too
        found, reason = diff(graph, compile_candidate(space, smallest, input))
        if reason is not None:
            problems.append(Diagnostic(space.dimensions[0].loc, "hyper_parameters",
                                       f"the smallest candidate cannot share the largest's weights: {reason}"))
    if problems:
        raise FgirError(problems)
    return Supernet(space, input, largest, smallest, graph, points, alternatives)


def _analyse(space: Space, dim: Any, largest: Sample, graph: Graph,
             input: str | None) -> tuple[ElasticPoint | None, dict[Any, Graph], Diagnostic | None]:
    """One dimension's elastic point: each other value compiled and diffed against the largest.  A
    choice of names whose values cannot share weights becomes a ``choice`` (own weights per value);
    a numeric dimension that cannot share is refused (the Diagnostic)."""
    kinds: set[str] = set()
    nodes: list[str] = []
    graphs: dict[Any, Graph] = {}
    refusal = None
    values = list(dim.domain.grid()) if dim.domain.size() is not None else []
    for value in values:
        if value == largest[dim.key]:
            continue
        try:
            graphs[value] = compile_candidate(space, {**largest, dim.key: value}, input)
        except FgirError as exc:
            return None, {}, _refusal(dim, value, "the candidate does not compile: "
                                                  f"{exc.diagnostics[0].message}")
        found, reason = diff(graph, graphs[value])
        if reason is not None:
            refusal = refusal or _refusal(dim, value, reason)
            continue
        for kind, names in found.items():
            kinds.add(kind)
            nodes += [n for n in names if n not in nodes]
    if refusal is not None or (kinds - {"op"} and not _numeric(values)):
        if _numeric(values):
            return None, {}, refusal
        return ElasticPoint(dim.key, "choice", branch_nodes(graph, list(graphs.values()))), graphs, None
    if len(kinds) > 1 and kinds != {"width", "kernel"}:
        return None, {}, _refusal(dim, None, f"it changes {' and '.join(sorted(kinds))} at once")
    return ElasticPoint(dim.key, "+".join(sorted(kinds)) if kinds else "fixed", nodes), {}, None


def _spec_input(space: Space) -> str | None:
    value = space.doc.root.get("input") if isinstance(space.doc.root, dict) else None
    return str(value) if value is not None else None


def _refusal(dim: Any, value: Any, reason: str) -> Diagnostic:
    at = f" at {value!r}" if value is not None else ""
    return Diagnostic(dim.loc, f"hyper_parameters.{dim.key}",
                      f"dimension '{dim.key}' cannot be made elastic{at}: {reason}",
                      hint="a supernet shares weights across widths, kernels, depths of residual blocks and "
                           "weightless ops, and gives a choice of names its own weights; search this dimension "
                           "with --evaluator train")


def diff(largest: Graph, other: Graph) -> tuple[dict[str, list[str]], str | None]:
    """How ``other`` differs from ``largest``, node by node: {kind: node names}, or a reason it cannot share.

    >>> import fgir
    >>> a = fgir.compile("search_space:\\n  modules: [c]\\n  c: {type: Conv2d, in_channels: 3, "
    ...                  "out_channels: 8, kernel_size: 5, padding: 2}\\n", input="3x8x8")
    >>> b = fgir.compile("search_space:\\n  modules: [c]\\n  c: {type: Conv2d, in_channels: 3, "
    ...                  "out_channels: 4, kernel_size: 3, padding: 1}\\n", input="3x8x8")
    >>> diff(a, b)
    ({'kernel': ['c'], 'width': ['c']}, None)
    """
    from fgir.ir.ops import OPS
    from fgir.ir.ops.schema import Trait

    big = {n.name: n for n in largest}
    small = {n.name: n for n in other}
    found: dict[str, list[str]] = {}
    extra = [name for name in small if name not in big]
    if extra:
        return found, f"node '{extra[0]}' is not in the largest candidate (the structure changes, not a size)"
    for name, node in small.items():
        ref = big[name]
        if ref.op != node.op:
            if any(OPS[op].has(Trait.HAS_WEIGHTS) for op in (ref.op, node.op) if op in OPS):
                return found, f"node '{name}' is a {node.op} here and a {ref.op} in the largest candidate"
            found.setdefault("op", []).append(name)
            continue
        for attr in sorted(set(ref.attrs) | set(node.attrs)):
            a, b = ref.attrs.get(attr), node.attrs.get(attr)
            if a == b:
                continue
            kind = "width" if attr in WIDTH_ATTRS else "kernel" if attr in KERNEL_ATTRS else None
            if kind is None:
                return found, f"it changes '{attr}' of node '{name}' ({a!r} in the largest, {b!r} here)"
            if not _fits(a, b, centred=attr == "kernel_size"):
                return found, (f"'{attr}' of node '{name}' is {b!r}, not a "
                               f"{'centre crop' if kind == 'kernel' else 'part'} of the largest's {a!r}")
            if name not in found.setdefault(kind, []):
                found[kind].append(name)
    missing = [name for name in big if name not in small]
    if missing:
        blocks, reason = _skipped_blocks(largest, missing)
        if reason is not None:
            return found, reason
        found.setdefault("depth", []).extend(blocks)
    return found, None


def _fits(big: Any, small: Any, centred: bool) -> bool:
    bs, ss = (big if isinstance(big, list) else [big]), (small if isinstance(small, list) else [small])
    if len(bs) != len(ss) or not all(isinstance(v, int) for v in bs + ss):
        return False
    return all(s <= b and (not centred or (b - s) % 2 == 0) for b, s in zip(bs, ss))


def _skipped_blocks(largest: Graph, missing: list[str]) -> tuple[list[str], str | None]:
    """The whole repeat blocks ``missing`` covers; each must be residual (its input added back)."""
    blocks: list[str] = []
    for name in missing:
        prefix = None
        parts = name.split(".")
        for i in range(len(parts) - 1, -1, -1):   # the innermost numbered scope that is a whole skipped block
            if parts[i].isdigit():
                scope = ".".join(parts[:i + 1])
                if all(n.name == scope or not n.name.startswith(scope + ".") or n.name in missing
                       for n in largest):
                    prefix = scope
        if prefix is None:
            return blocks, f"node '{name}' is left out but its block is not (only whole blocks can be skipped)"
        if prefix not in blocks:
            blocks.append(prefix)
    for block in blocks:
        inside = [n for n in largest if n.name.startswith(block + ".")]
        last = inside[-1]
        if last.op != "add" or inside[0].inputs[0] not in last.inputs:
            return blocks, (f"block '{block}' is skipped but is not residual (its output is not its input "
                            "plus a branch): skipping it would change the shapes after it")
    return blocks, None


__all__ = ["ElasticPoint", "Supernet", "build_supernet", "compile_candidate", "diff", "extremes"]
