"""Static metrics of a compiled graph: parameters, MACs, weight bytes and, with Quant, bit costs.

``weight_bytes`` is sum(params × bits / 8) over the graph's nodes: 32 bits unless
the layer is quantized (by a Quant process's lists, or its ``stem_bits``), and
``bitops`` sum(MACs × weight bits × activation bits).  The bit widths come from the
IR: the ``apply_quant`` pass writes ``w_bits``/``a_bits`` on each quantized layer.
Where that pass is not in the pipeline the lists' bits come from the same place it
takes them, the quantization scheme (:mod:`fgir.quant.scheme`).  ``mean_bits``
averages the bits the lists give.

Example:
    >>> import fgir
    >>> m = static_metrics(fgir.compile("examples/quant_resnet20.yaml"))
    >>> m["params"], m["weight_bytes"] < 4 * m["params"], sorted(m)
    (272474, True, ['bitops', 'macs', 'mean_bits', 'params', 'weight_bytes'])
"""

from __future__ import annotations

from typing import Any

from fgir.ir.graph import Graph
from fgir.quant.scheme import FLOAT_BITS, BitListMismatch, assign_bits, stem_bits

STATIC_METRICS = ("params", "macs", "weight_bytes")
QUANT_METRICS = ("bitops", "mean_bits")
QuantMismatch = BitListMismatch   # the name the search has always caught


def quant_bits(graph: Graph) -> tuple[dict[str, int], dict[str, int]] | None:
    """(weight bits, activation bits) by layer name, or None without a Quant process."""
    quant = graph.process("Quant")
    if quant is None:
        return None
    if "quant_annotated" in graph.properties:
        layers = [graph[name] for name in graph.meta["quant"]["layers"]]
        return ({n.name: n.meta["w_bits"] for n in layers}, {n.name: n.meta["a_bits"] for n in layers})
    assigned = assign_bits(graph, quant)     # raises BitListMismatch
    return ({b.layer.name: b.w_bits for b in assigned}, {b.layer.name: b.a_bits for b in assigned})


class NodeBits:
    """The bits static metrics count each node at: its Quant process's lists (``listed_w``/``listed_a``), the
    stem's ``stem_bits``, else the node's own annotation, else float."""

    def __init__(self, graph: Graph) -> None:
        bits = quant_bits(graph)
        self.quantized = bits is not None
        self.listed_w, self.listed_a = bits if bits is not None else ({}, {})
        quant = graph.process("Quant")
        self.stem = stem_bits(graph, quant) if quant is not None and "quant_annotated" not in graph.properties \
            else {}

    def weight(self, node: Any) -> int:
        return self.listed_w.get(node.name, self.stem.get(node.name, node.meta.get("w_bits", FLOAT_BITS)))

    def activation(self, node: Any) -> int:
        return self.listed_a.get(node.name, self.stem.get(node.name, node.meta.get("a_bits", FLOAT_BITS)))


def static_metrics(graph: Graph) -> dict[str, Any]:
    """params, macs, weight_bytes; with a Quant process also bitops (Σ MACs·w·a) and mean_bits."""
    bits = NodeBits(graph)
    if not bits.quantized:   # every weight a float: no need to visit the nodes
        weight_bits = graph.meta["params"] * FLOAT_BITS
    else:
        weight_bits = sum(node.meta.get("params", 0) * bits.weight(node) for node in graph)
    out: dict[str, Any] = {"params": graph.meta["params"], "macs": graph.meta["macs"],
                           "weight_bytes": weight_bits // 8}
    if bits.quantized:
        out["bitops"] = sum(node.meta.get("macs", 0) * bits.weight(node) * bits.activation(node) for node in graph)
        all_bits = [*bits.listed_w.values(), *bits.listed_a.values()]
        out["mean_bits"] = round(sum(all_bits) / len(all_bits), 6) if all_bits else FLOAT_BITS
    return out


__all__ = ["NodeBits", "QUANT_METRICS", "QuantMismatch", "STATIC_METRICS", "quant_bits", "static_metrics"]
