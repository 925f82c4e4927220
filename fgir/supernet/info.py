"""What ``fgir supernet info`` says of a space's supernet: each dimension, its elastic kind, whether its
values share weights, and the supernet's parameters against the largest candidate's.  Torch-free: the
parameter counts are the compiled graphs' (``count_cost``), a choice adding its other values' branches.

Example:
    >>> from fgir.supernet.ir import build_supernet
    >>> info = supernet_info(build_supernet("examples/search/supernet_mobilenet.yaml"))
    >>> info["dimensions"][0], info["params"] == info["largest_params"]
    ({'key': 'stage1.depth', 'kind': 'depth', 'shares': True, 'values': 2, 'nodes': 1}, True)
"""

from __future__ import annotations

from typing import Any

from fgir.supernet.ir import Supernet


def supernet_info(ir: Supernet) -> dict[str, Any]:
    """The dimensions (key, kind, shares, number of values, nodes reached) and the parameter counts."""
    dims = []
    for dim in ir.space.dimensions:
        point = ir.points[dim.key]
        dims.append({"key": dim.key, "kind": point.kind, "shares": point.shares, "values": dim.domain.size(),
                     "nodes": len(point.nodes)})
    own = sum(int(node.meta.get("params", 0)) for key, graphs in ir.alternatives.items()
              for graph in graphs.values() for node in graph if node.name in set(ir.points[key].nodes))
    largest = int(ir.graph.meta["params"])
    return {"space": ir.space.file, "space_sha256": ir.space_sha256, "dimensions": dims,
            "params": largest + own, "largest_params": largest}


def info_text(info: dict[str, Any]) -> str:
    """The text form of :func:`supernet_info`: one line a dimension, then the parameter counts.

    >>> print(info_text({"space": "s.yaml", "space_sha256": "ab" * 32, "params": 12, "largest_params": 10,
    ...                  "dimensions": [{"key": "a", "kind": "choice", "shares": False, "values": 3, "nodes": 2}]}))
    supernet of s.yaml (sha256 abababababababab)
      a  choice  own weights  3 values, 2 nodes
    params: 12 (the largest candidate: 10, x1.20)
    """
    rows = [(d["key"], d["kind"], "shares" if d["shares"] else "own weights",
             f"{d['values']} values, {d['nodes']} nodes") for d in info["dimensions"]]
    widths = [max((len(r[i]) for r in rows), default=0) for i in range(3)]
    lines = [f"supernet of {info['space']} (sha256 {info['space_sha256'][:16]})"]
    lines += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(r[:3], widths)) + "  " + r[3] for r in rows]
    ratio = info["params"] / info["largest_params"] if info["largest_params"] else 1.0
    lines.append(f"params: {info['params']} (the largest candidate: {info['largest_params']}, x{ratio:.2f})")
    return "\n".join(lines)


__all__ = ["info_text", "supernet_info"]
