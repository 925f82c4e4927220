"""count_cost: parameters and MACs of every node, and the network's totals, from the op schemas.

Requires ``channels_checked`` (costs of an inconsistent network mean nothing).
Guarantees ``cost``: ``node.meta["params"]``, ``node.meta["macs"]`` and
``node.meta["weight_bytes"]`` on every node, and their totals in ``graph.meta``.
Weight bytes count parameters at 4 bytes, or a quantized layer's weights at its
``w_bits`` (after ``apply_quant``; its bias, if any, stays float).  After
``apply_prune``, ``graph.meta["dense_params"]``/``["dense_macs"]`` give the unpruned cost.
Parameters include BatchNorm's affine weights but not its running statistics;
MACs count convolutions and linear layers (torchvision's convention).
"""

from __future__ import annotations

from fgir.ir.graph import Graph, Node
from fgir.ir.ops import OPS, OpSchema
from fgir.ir.pruning import DENSE_OUT, dense_attrs
from fgir.ir.types import TensorType
from fgir.quant.scheme import FLOAT_BITS, weight_bits
from .base import Pass, PassContext


class CountCost(Pass):
    name = "count_cost"
    requires = frozenset({"channels_checked"})
    provides = frozenset({"cost"})

    def run(self, graph: Graph, ctx: PassContext) -> None:
        totals = {"params": 0, "macs": 0, "weight_bytes": 0}
        dense_params = dense_macs = 0
        for node in graph:
            op = OPS[node.op]
            ins = node.input_types
            cost = {"params": op.params(node.attrs), "macs": op.macs(node.attrs, ins, node.type)}
            cost["weight_bytes"] = _weight_bytes(node, op, cost["params"])
            node.meta.update(cost)
            for key, value in cost.items():
                totals[key] += value
            dense = dense_attrs(node)
            if dense is node.attrs:   # not pruned here: the cost just counted
                dense_params += cost["params"]
                dense_macs += cost["macs"]
            elif dense is not None:  # the cost the unpruned network had here
                out = node.type
                if DENSE_OUT in node.meta and not out.is_flat:
                    out = out.with_channels(node.meta[DENSE_OUT])
                dense_params += op.params(dense)
                dense_macs += op.macs(dense, ins, out)
        graph.meta.update(totals)
        if "prune" in graph.meta:
            graph.meta["dense_params"] = dense_params
            graph.meta["dense_macs"] = dense_macs


def _weight_bytes(node: Node, op: OpSchema, params: int) -> float:
    bits = weight_bits(node)
    if bits == FLOAT_BITS:
        return 4 * params
    coded = sum(w.numel for w in op.weights(node.attrs) if w.name in op.quantized_weights)
    return coded * bits / 8 + 4 * (params - coded)
