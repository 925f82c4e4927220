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


def summarize(graph: Graph) -> dict[str, Any]:
    """A JSON-ready summary: ``input``, ``params``, ``macs`` and ``layers`` (one row each)."""
    if "cost" not in graph.properties:
        raise ValueError("summarize needs a compiled graph (fgir.compile)")
    leaf_of = graph.leaf_block_of()
    rows: dict[str, dict[str, Any]] = {}
    for node in graph:
        if node.op == "input":
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
        output = graph[info.output] if info else node
        row["output"] = list(output.type.dims)
    return {
        "spec": graph.meta.get("spec", {}).get("file"),
        "input": graph.meta["input"],
        "params": graph.meta["params"],
        "macs": graph.meta["macs"],
        "layers": list(rows.values()),
    }


def _human(n: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)


def format_table(summary: dict[str, Any]) -> str:
    """The summary as an aligned text table."""
    header = ("Layer", "Type", "Output", "Params", "MACs")
    body = [(r["name"], r["type"], "x".join(map(str, r["output"])), f"{r['params']:,}", f"{r['macs']:,}")
            for r in summary["layers"]]
    total = ("Total", "", "", f"{summary['params']:,}", f"{summary['macs']:,}")
    widths = [max(len(row[i]) for row in [header, *body, total]) for i in range(5)]

    def line(row: tuple[str, ...]) -> str:
        left = "  ".join(row[i].ljust(widths[i]) for i in range(3))
        right = "  ".join(row[i].rjust(widths[i]) for i in range(3, 5))
        return f"{left}  {right}".rstrip()

    rule = "-" * len(line(header))
    input_text = "x".join(map(str, summary["input"]))
    lines = [f"{summary['spec'] or '<spec>'}: input {input_text}", line(header), rule,
             *map(line, body), rule, line(total),
             f"{summary['params']:,} parameters ({_human(summary['params'])}), "
             f"{summary['macs']:,} MACs ({_human(summary['macs'])}) per image"]
    return "\n".join(lines)
