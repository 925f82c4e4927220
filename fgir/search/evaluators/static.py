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


def static_metrics(graph: Graph) -> dict[str, Any]:
    """params, macs, weight_bytes; with a Quant process also bitops (Σ MACs·w·a) and mean_bits."""
    bits = quant_bits(graph)
    w_bits, a_bits = bits if bits is not None else ({}, {})
    quant = graph.process("Quant")
    stem = stem_bits(graph, quant) if quant is not None and "quant_annotated" not in graph.properties else {}

    def of(node, key: str, listed: dict[str, int]) -> int:
        return listed.get(node.name, stem.get(node.name, node.meta.get(key, FLOAT_BITS)))

    if quant is None:   # every weight a float: no need to visit the nodes
        weight_bits = graph.meta["params"] * FLOAT_BITS
    else:
        weight_bits = sum(node.meta.get("params", 0) * of(node, "w_bits", w_bits) for node in graph)
    out: dict[str, Any] = {"params": graph.meta["params"], "macs": graph.meta["macs"],
                           "weight_bytes": weight_bits // 8}
    if bits is not None:
        out["bitops"] = sum(node.meta.get("macs", 0) * of(node, "w_bits", w_bits) * of(node, "a_bits", a_bits)
                            for node in graph)
        all_bits = [*w_bits.values(), *a_bits.values()]
        out["mean_bits"] = round(sum(all_bits) / len(all_bits), 6) if all_bits else FLOAT_BITS
    return out


__all__ = ["QUANT_METRICS", "QuantMismatch", "STATIC_METRICS", "quant_bits", "static_metrics"]
