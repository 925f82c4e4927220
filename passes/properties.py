"""What each graph property means, checked: the postcondition the pass manager holds a pass to.

A pass that ``provides`` a property here has its check run after it; a problem
is a bug in that pass (an :class:`~fgir.passes.base.InternalError` naming it).
Properties a user's pass invents have no check.

Example:
    >>> from fgir.ir.graph import Graph
    >>> g = Graph(); g.set_output(g.add("act", "relu", [g.add_input()]))
    >>> POSTCONDITIONS["shapes"](g)
    ["'input' has no type", "'act' has no type"]
"""

from __future__ import annotations

from typing import Callable

from fgir.ir.graph import Graph


def _expanded(graph: Graph) -> list[str]:
    from .expand_repeat import waiting_repeats

    if not waiting_repeats(graph):     # the common case, found without naming every node's scope
        return []
    return [f"Repeat '{scope}' has no sub-graph" for scope, node in graph.walk()
            if node.block_type == "Repeat" and node.subgraph is None]


def _lowered(graph: Graph) -> list[str]:
    return [f"block '{node.name}' is left" for node in graph if node.is_block]


def _typed(graph: Graph) -> list[str]:
    return [f"'{node.name}' has no type" for node in graph if node.type is None]


COST_KEYS = frozenset({"params", "macs", "weight_bytes"})


def _costed(graph: Graph) -> list[str]:
    missing = [f"'{n.name}' has no cost" for n in graph if not COST_KEYS <= n.meta.keys()]
    return missing + [f"graph.meta has no '{k}'" for k in ("params", "macs") if k not in graph.meta]


def _quant_annotated(graph: Graph) -> list[str]:
    if graph.process("Quant") is None:
        return []
    layers = graph.meta.get("quant", {}).get("layers")
    if layers is None:
        return ["graph.meta has no quant layers"]
    return [f"'{name}' has no bit widths" for name in layers
            if name not in graph or not {"w_bits", "a_bits"} <= graph[name].meta.keys()]


def _pruned(graph: Graph) -> list[str]:
    if graph.process("Prune") is None:
        return []
    return [] if "prune" in graph.meta else ["graph.meta has no prune record"]


POSTCONDITIONS: dict[str, Callable[[Graph], list[str]]] = {
    "repeats_expanded": _expanded, "lowered": _lowered, "shapes": _typed, "cost": _costed,
    "quant_annotated": _quant_annotated, "pruned": _pruned,
}
