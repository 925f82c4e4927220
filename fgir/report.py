"""The summary of a compiled graph: a row per block (or per layer outside blocks), then totals.

Example:
    >>> import fgir
    >>> rows = summarize(fgir.compile("examples/resnet20_cifar.yaml"))["layers"]
    >>> rows[3]["name"], rows[3]["type"], rows[3]["output"]
    ('layer1.0', 'BasicBlock', [16, 32, 32])
"""

from __future__ import annotations

from typing import Any

from fgir.ir.graph import Graph
from fgir.ir.ops import OPS, Trait


def summarize(graph: Graph) -> dict[str, Any]:
    """A JSON-ready summary: ``input``, ``outputs`` (each one's ``name``, ``node`` and ``output`` dims),
    ``params``, ``macs`` and ``layers`` (one row each)."""
    if "cost" not in graph.properties:
        raise ValueError("summarize needs a compiled graph (fgir.compile)")
    leaf_of = graph.leaf_block_of()
    rows: dict[str, dict[str, Any]] = {}
    for node in graph:
        if OPS[node.op].has(Trait.INPUT) or OPS[node.op].has(Trait.QUANT_POINT):    # a quantization point belongs with the tensor it holds
            continue
        info = leaf_of.get(node.name)
        key = info.scope if info else node.name
        row = rows.get(key)
        if row is None:
            row = rows[key] = {"name": key, "type": info.type if info else node.op,
                               "output": None, "params": 0, "macs": 0,
                               "loc": str(info.origin.loc if info else node.origin.loc)}
        row["params"] += node.meta["params"]
        row["macs"] += node.meta["macs"]
        row["weight_bytes"] = row.get("weight_bytes", 0) + node.meta["weight_bytes"]
        if "w_bits" in node.meta:
            row.setdefault("bits", []).append({"layer": node.name, "w_bits": node.meta["w_bits"],
                                               "a_bits": node.meta["a_bits"]})
        output = graph[info.output] if info else node
        row["output"] = list(output.type.dims)
    return {
        "spec": graph.meta.get("spec", {}).get("file"),
        "input": graph.meta["input"],
        "outputs": [{"name": name, "node": node.name, "output": list(node.type.dims), "type": node.type.describe()}
                    for name, node in zip(graph.output_names, graph.outputs)],
        "params": graph.meta["params"],
        "macs": graph.meta["macs"],
        "weight_bytes": graph.meta["weight_bytes"],
        "quantized": "quant" in graph.meta,
        **({"dense_params": graph.meta["dense_params"], "dense_macs": graph.meta["dense_macs"]}
           if "dense_params" in graph.meta else {}),
        "layers": list(rows.values()),
    }


def summarize_groups(graph: Graph) -> list[dict[str, Any]]:
    """The prunable channel groups (see fgir.ir.channel_groups), JSON-ready.

    Each: ``name`` (what ``Prune(masks: {name: [...]})`` names), ``width`` (now), ``dense_width``
    (a mask's length), ``producers`` (the layers writing its channels, named as in the torch
    module) and ``consumers``: ``{"layer", "offset"}``, the group's dense channels being that
    layer's input channels ``[offset, offset + dense_width)`` (a Linear after pooling counts channels).
    """
    from fgir.ir.channel_groups import channel_groups

    return [{"name": g.name, "width": g.width, "dense_width": g.dense_width, "producers": g.producers,
             "consumers": [{"layer": c.layer, "offset": c.offset} for c in g.consumers]}
            for g in channel_groups(graph).groups]


def format_groups(groups: list[dict[str, Any]]) -> str:
    """Channel groups as a table: a mask for ``Prune(masks: {name: [...]})`` is ``dense_width`` long."""
    name_width = max(len("Group"), *(len(g["name"]) for g in groups))
    lines = [f"{'Group'.ljust(name_width)}  {'Width':>5}  {'Dense':>5}  Producers"]
    for g in groups:
        convs = ", ".join(g["producers"])
        lines.append(f"{g['name'].ljust(name_width)}  {g['width']:>5}  {g['dense_width']:>5}  {convs}")
    return "\n".join(lines)


def _human(n: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)


def _bits_text(row: dict[str, Any]) -> str:
    return " ".join(f"{b['w_bits']}/{b['a_bits']}" for b in row.get("bits", []))


def format_table(summary: dict[str, Any]) -> str:
    """The summary as an aligned text table (with a w/a bits column when the network is quantized)."""
    quantized = summary["quantized"]
    header = ("Layer", "Type", "Output", "Params", "MACs") + (("Bits w/a",) if quantized else ())
    body = [(r["name"], r["type"], "x".join(map(str, r["output"])), f"{r['params']:,}", f"{r['macs']:,}")
            + ((_bits_text(r),) if quantized else ()) for r in summary["layers"]]
    total = ("Total", "", "", f"{summary['params']:,}", f"{summary['macs']:,}") + (("",) if quantized else ())
    widths = [max(len(row[i]) for row in [header, *body, total]) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        left = "  ".join(row[i].ljust(widths[i]) for i in range(3))
        right = "  ".join(row[i].rjust(widths[i]) for i in range(3, 5))
        extra = "".join(f"  {row[i]}" for i in range(5, len(row)))
        return f"{left}  {right}{extra}".rstrip()

    rule = "-" * len(line(header))
    input_text = "x".join(map(str, summary["input"]))
    outputs = summary.get("outputs", [])
    shown = [f"output '{o['name']}': {o['type']}" for o in outputs] if len(outputs) > 1 else []
    lines = [f"{summary['spec'] or '<spec>'}: input {input_text}", *shown, line(header), rule,
             *map(line, body), rule, line(total),
             f"{summary['params']:,} parameters ({_human(summary['params'])}), "
             f"{summary['macs']:,} MACs ({_human(summary['macs'])}) per image"]
    if "dense_params" in summary:
        lines.append(f"pruned from {summary['dense_params']:,} parameters and {summary['dense_macs']:,} "
                     f"MACs: {summary['params'] / summary['dense_params']:.3f} of the parameters, "
                     f"{summary['macs'] / summary['dense_macs']:.3f} of the MACs")
    if quantized:
        size, float_size = summary["weight_bytes"], 4 * summary["params"]
        lines.append(f"weights: {size:,.0f} bytes at these bit widths ({size / float_size:.3f} of "
                     f"{float_size:,} in float32)")
    return "\n".join(lines)
