"""count_cost: parameters and MACs of every node, and the network's totals.

Requires ``channels_checked`` (costs of an inconsistent network mean nothing).
Guarantees ``cost``: ``node.meta["params"]``, ``node.meta["macs"]`` and
``node.meta["weight_bytes"]`` on every node, and their totals in ``graph.meta``.
Weight bytes count parameters at 4 bytes, or a quantized conv's weights at its
``w_bits`` (after ``apply_quant``; its bias, if any, stays float).  After
``apply_prune``, ``graph.meta["dense_params"]``/``["dense_macs"]`` give the unpruned cost.
Parameters include BatchNorm's affine weights but not its running statistics;
MACs count convolutions and linear layers (torchvision's convention).
"""

from __future__ import annotations

from fgir.ir.graph import Graph
from fgir.ir.ops import OPS
from .apply_quant import FLOAT_BITS
from .base import Pass, PassContext


class CountCost(Pass):
    name = "count_cost"
    requires = frozenset({"channels_checked"})
    provides = frozenset({"cost"})

    def run(self, graph: Graph, ctx: PassContext) -> None:
        total_params = total_macs = total_bytes = dense_params = dense_macs = 0
        for node in graph:
            if node.op == "input":
                continue
            op = OPS[node.op]
            params = op.params(node.attrs)
            macs = op.macs(node.attrs, [graph[i].type for i in node.inputs], node.type)
            size = _weight_bytes(node, params)
            node.meta["params"] = params
            node.meta["macs"] = macs
            node.meta["weight_bytes"] = size
            total_params += params
            total_macs += macs
            total_bytes += size
            dense = _dense_attrs(node)
            if dense is not None:  # the cost the unpruned network had here
                ins = [graph[i].type for i in node.inputs]
                out = node.type
                if node.op == "conv2d":
                    out = type(out)(dense["out_channels"], out.height, out.width)
                dense_params += op.params(dense)
                dense_macs += op.macs(dense, ins, out)
        graph.meta["params"] = total_params
        graph.meta["macs"] = total_macs
        graph.meta["weight_bytes"] = total_bytes
        if "prune" in graph.meta:
            graph.meta["dense_params"] = dense_params
            graph.meta["dense_macs"] = dense_macs


def _dense_attrs(node):
    """The node's attributes at its dense widths (after apply_prune), or None if it is not dense."""
    meta = node.meta
    if meta.get("selection"):
        return None  # a projection pruning added: the dense network has an identity here
    attrs = dict(node.attrs)
    if node.op == "conv2d":
        attrs["out_channels"] = meta.get("dense_out", attrs["out_channels"])
        attrs["in_channels"] = meta.get("dense_in", attrs["in_channels"])
    elif node.op == "batch_norm" and "dense" in meta:
        attrs["num_features"] = meta["dense"]
    elif node.op == "linear" and "keep_in" in meta:
        attrs["in_features"] = attrs["in_features"] // len(meta["keep_in"]) * meta["dense_in"]
    return attrs


def _weight_bytes(node, params: int) -> float:
    bits = node.meta.get("w_bits", FLOAT_BITS)
    if bits == FLOAT_BITS:
        return 4 * params
    bias = node.attrs["out_channels"] if node.attrs.get("bias") else 0
    return (params - bias) * bits / 8 + 4 * bias
