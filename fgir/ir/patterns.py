"""Patterns in a lowered graph that both backends need to see the same way.

Example:
    >>> import fgir
    >>> folds = norm_folds(fgir.compile("examples/resnet20_cifar.yaml"))
    >>> folds["layer1.0.conv1"].name, len(folds)
    ('layer1.0.bn1', 21)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fgir.ir.ops import OPS, Trait

if TYPE_CHECKING:
    from fgir.ir.graph import Graph, Node


def norm_folds(graph: "Graph") -> dict[str, "Node"]:
    """conv name → the batch norm that folds into it: where the conv's output feeds that norm alone.

    A conv read by anything else must keep its un-normalised output, so it is left alone.
    """
    pairs: dict[str, Node] = {}
    for node in graph:
        if OPS[node.op].has(Trait.FOLDS_INTO_CONV):
            src = node.inputs[0]
            if OPS[src.op].has(Trait.TAKES_FOLDED_NORM) and src.users == [node] and not graph.is_output(src):
                pairs[src.name] = node
    return pairs


def is_point(node: "Node") -> bool:
    """Whether a node is a quantization point (fgir.ir.ops.quantize)."""
    return OPS[node.op].has(Trait.QUANT_POINT)


def point_source(point: "Node") -> "Node":
    """The quantization point whose range a (possibly tied) point uses."""
    while point.attrs.get("tie") is not None:
        point = point.graph[point.attrs["tie"]]
    return point
