"""What a predictor reads of a compiled graph: per kind of node, how many, their MACs, their outputs' elements.

The kinds are asked of each op's schema, never of its name: ``conv`` (a convolution of one group),
``grouped`` (a grouped or depthwise convolution: memory-bound, its own cost per MAC), ``dense`` (a
fully connected layer) and ``other`` (activations, joins, pooling, reshapes).  A node that folds into
the convolution before it (BatchNorm), one that is the identity at inference (dropout) and the input
cost nothing of their own: fgir's ONNX emission removes them.  A predictor's features are these sums,
per kind, and a constant: ``conv.nodes``, ``conv.macs``, ``conv.elements``, ..., ``1``.

Example:
    >>> import fgir
    >>> f = graph_features(fgir.compile("examples/resnet20_cifar.yaml"))
    >>> len(f) == len(FEATURES), f[FEATURES.index("conv.nodes")], f[-1]
    (True, 21.0, 1.0)
"""

from __future__ import annotations

from fgir.ir.graph import Graph
from fgir.ir.ops import OPS
from fgir.ir.ops.schema import Trait

KINDS = ("conv", "grouped", "dense", "other")
QUANTITIES = ("nodes", "macs", "elements")
FEATURES = tuple(f"{kind}.{q}" for kind in KINDS for q in QUANTITIES) + ("1",)
FREE = (Trait.INPUT, Trait.FOLDS_INTO_CONV, Trait.REGULARIZER, Trait.PARAMETER)


def _op_kind(op: str) -> int | None:
    """The index of an op's kind in KINDS (a convolution: ``conv``, grouped or not is the node's), or
    None for an op that costs nothing at inference."""
    schema = OPS[op]
    if any(schema.has(t) for t in FREE):
        return None
    if schema.has(Trait.CONVOLUTION):
        return 0
    return 2 if schema.has(Trait.DENSE) else 3


_KIND_OF: dict[str, int | None] = {}    # op → kind, asked of its schema once (a prediction is ~100 nodes)
_WIDTH = len(QUANTITIES)


def graph_features(graph: Graph) -> list[float]:
    """The feature vector of a compiled graph, in the order of ``FEATURES``."""
    out = [0.0] * len(FEATURES)
    kind_of = _KIND_OF
    for node in graph:
        op = node.op
        kind = kind_of[op] if op in kind_of else kind_of.setdefault(op, _op_kind(op))
        if kind is None:
            continue
        if kind == 0 and node.attrs.get("groups", 1) > 1:
            kind = 1
        base = kind * _WIDTH
        out[base] += 1
        out[base + 1] += node.meta.get("macs", 0)
        out[base + 2] += node.type.numel
    out[-1] = 1.0
    return out


__all__ = ["FEATURES", "KINDS", "QUANTITIES", "graph_features"]
