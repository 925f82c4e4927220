"""Static metrics of a compiled graph: parameters, MACs, weight bytes and, with Quant, bit costs.

``weight_bytes`` is sum(params × bits / 8) over the graph's nodes: 32 bits unless
a Quant process gives the layer fewer.  The bit widths come from the IR: the
``apply_quant`` pass writes ``w_bits``/``a_bits`` on each quantizable conv (the
one place that maps bit lists to layers).  Only where that pass is not in the
pipeline are they mapped here, by the same rule (SEMANTICS.md): every conv but
the stem, in graph order, a scalar meaning every layer.

Example:
    >>> import fgir
    >>> m = static_metrics(fgir.compile("examples/quant_resnet20.yaml"))
    >>> m["params"], m["weight_bytes"] < 4 * m["params"], sorted(m)
    (272474, True, ['bitops', 'macs', 'mean_bits', 'params', 'weight_bytes'])
"""

from __future__ import annotations

from typing import Any

from fgir.ir.graph import Graph

FLOAT_BITS = 32
STATIC_METRICS = ("params", "macs", "weight_bytes")
QUANT_METRICS = ("bitops", "mean_bits")


class QuantMismatch(ValueError):
    """A bit list whose length is not the number of quantizable convolutions."""


def _bits(value: Any, convs: list[str], arg: str) -> dict[str, int]:
    if not isinstance(value, list):
        return {name: int(value) for name in convs}
    if len(value) != len(convs):
        raise QuantMismatch(f"{arg} has {len(value)} values, but the network has {len(convs)} "
                            f"quantizable convolutions (every conv but the stem)")
    return dict(zip(convs, map(int, value)))


def quant_bits(graph: Graph) -> tuple[dict[str, int], dict[str, int]] | None:
    """(weight bits, activation bits) by conv node name, or None without a Quant process."""
    quant = next((p for p in graph.processes if p["type"] == "Quant"), None)
    if quant is None:
        return None
    if "quant_annotated" in graph.properties:
        convs = [node for node in graph if "w_bits" in node.meta]
        return ({n.name: n.meta["w_bits"] for n in convs}, {n.name: n.meta["a_bits"] for n in convs})
    # a pipeline without apply_quant: map the lists the way it would
    names = [node.name for node in graph if node.op == "conv2d"][1:]
    name = quant.get("name", "process")
    return (_bits(quant["args"]["nbit_w_list"], names, f"{name}.nbit_w_list"),
            _bits(quant["args"]["nbit_a_list"], names, f"{name}.nbit_a_list"))


def static_metrics(graph: Graph) -> dict[str, Any]:
    """params, macs, weight_bytes; with a Quant process also bitops (Σ MACs·w·a) and mean_bits."""
    bits = quant_bits(graph)
    w_bits, a_bits = bits if bits is not None else ({}, {})
    weight_bits = sum(node.meta.get("params", 0) * w_bits.get(node.name, FLOAT_BITS) for node in graph)
    out: dict[str, Any] = {"params": graph.meta["params"], "macs": graph.meta["macs"],
                           "weight_bytes": weight_bits // 8}
    if bits is not None:
        out["bitops"] = sum(node.meta.get("macs", 0) * w_bits.get(node.name, FLOAT_BITS)
                            * a_bits.get(node.name, FLOAT_BITS) for node in graph)
        all_bits = [*w_bits.values(), *a_bits.values()]
        out["mean_bits"] = round(sum(all_bits) / len(all_bits), 6) if all_bits else FLOAT_BITS
    return out


__all__ = ["QUANT_METRICS", "QuantMismatch", "STATIC_METRICS", "quant_bits", "static_metrics"]
