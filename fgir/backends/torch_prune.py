"""Slice a dense checkpoint's weights into a pruned network (after the ``apply_prune`` pass).

Conv weights ``[keep_out][:, keep_in]``, BN parameters and running statistics
``[keep]``, Linear columns ``[:, keep_in]``.  A projection that pruning added
where the dense block had an identity is initialised as the selection the
identity performed: weight 1 where output and input are the same dense channel,
else 0, and an identity BN — so the pruned network computes exactly what the
masked dense one does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from fgir.diagnostics import Diagnostic, FgirError, Origin, SpecIOError
from fgir.ir.graph import Graph, Node

BN_VECTORS = ("weight", "bias", "running_mean", "running_var")


def read_dense_checkpoint(path: Path, origin: Origin) -> dict[str, torch.Tensor]:
    """A state_dict (bare, or inside an fgir checkpoint), loaded weights-only."""
    if not path.is_file():
        raise SpecIOError(Diagnostic(origin.loc, origin.path, f"init_model_file {path}: no such file"))
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a bad or unsafe file: torch raises many kinds
        raise SpecIOError(Diagnostic(origin.loc, origin.path, f"init_model_file {path} is not a "
                                     f"weights-only checkpoint ({type(exc).__name__}: "
                                     f"{str(exc).splitlines()[0]})")) from None
    if isinstance(data, dict) and isinstance(data.get("state_dict"), dict):
        data = data["state_dict"]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise FgirError(Diagnostic(origin.loc, origin.path, f"init_model_file {path} holds no "
                                                            "state_dict of tensors"))
    return data


def _full(keep: list[int] | None, width: int) -> list[int]:
    return keep if keep is not None else list(range(width))


class _Slicer:
    def __init__(self, dense: dict[str, torch.Tensor], origin: Origin, path: Path) -> None:
        self.dense, self.origin, self.path = dense, origin, path

    def tensor(self, key: str, shape: tuple[int, ...]) -> torch.Tensor:
        if key not in self.dense:
            raise FgirError(Diagnostic(self.origin.loc, self.origin.path,
                                       f"init_model_file {self.path} has no tensor '{key}'"))
        value = self.dense[key]
        if tuple(value.shape) != shape:
            raise FgirError(Diagnostic(self.origin.loc, self.origin.path,
                                       f"init_model_file {self.path}: '{key}' has shape "
                                       f"{tuple(value.shape)}, but the dense network needs {shape}"))
        return value

    def conv(self, node: Node, out: dict[str, torch.Tensor]) -> None:
        a, m = node.attrs, node.meta
        keep_out = _full(m.get("keep_out"), a["out_channels"])
        keep_in = _full(m.get("keep_in"), a["in_channels"])
        kh, kw = a["kernel_size"]
        if m.get("selection"):
            weight = torch.zeros(len(keep_out), len(keep_in), kh, kw)
            position = {channel: i for i, channel in enumerate(keep_in)}
            for o, channel in enumerate(keep_out):
                if channel in position:
                    weight[o, position[channel], 0, 0] = 1.0
            out[f"{node.name}.weight"] = weight
            return
        dense_out, dense_in = m.get("dense_out", a["out_channels"]), m.get("dense_in", a["in_channels"])
        weight = self.tensor(f"{node.name}.weight", (dense_out, dense_in, kh, kw))
        out[f"{node.name}.weight"] = weight[keep_out][:, keep_in].clone()
        if a["bias"]:
            out[f"{node.name}.bias"] = self.tensor(f"{node.name}.bias", (dense_out,))[keep_out].clone()

    def batch_norm(self, node: Node, out: dict[str, torch.Tensor]) -> None:
        a, m = node.attrs, node.meta
        keep = _full(m.get("keep"), a["num_features"])
        if m.get("selection"):  # y = x: var + eps == 1
            n = len(keep)
            out.update({f"{node.name}.weight": torch.ones(n), f"{node.name}.bias": torch.zeros(n),
                        f"{node.name}.running_mean": torch.zeros(n),
                        f"{node.name}.running_var": torch.full((n,), 1.0 - a["eps"]),
                        f"{node.name}.num_batches_tracked": torch.tensor(0)})
            return
        dense = m.get("dense", a["num_features"])
        names = BN_VECTORS if a["affine"] else BN_VECTORS[2:]
        for name in names:
            out[f"{node.name}.{name}"] = self.tensor(f"{node.name}.{name}", (dense,))[keep].clone()
        key = f"{node.name}.num_batches_tracked"
        if key in self.dense:
            out[key] = self.dense[key].clone()

    def linear(self, node: Node, out: dict[str, torch.Tensor]) -> None:
        a, m = node.attrs, node.meta
        if "keep_in" in m:
            per_channel = a["in_features"] // len(m["keep_in"])  # positions per channel after flatten
            columns = [c * per_channel + k for c in m["keep_in"] for k in range(per_channel)]
            dense_in = m["dense_in"] * per_channel
        else:
            columns, dense_in = list(range(a["in_features"])), a["in_features"]
        weight = self.tensor(f"{node.name}.weight", (a["out_features"], dense_in))
        out[f"{node.name}.weight"] = weight[:, columns].clone()
        if a["bias"]:
            out[f"{node.name}.bias"] = self.tensor(f"{node.name}.bias", (a["out_features"],)).clone()


def slice_weights(graph: Graph, dense: dict[str, torch.Tensor], origin: Origin,
                  path: Path) -> dict[str, torch.Tensor]:
    """The pruned network's state_dict, cut from the dense one."""
    slicer = _Slicer(dense, origin, path)
    handlers = {"conv2d": slicer.conv, "batch_norm": slicer.batch_norm, "linear": slicer.linear}
    out: dict[str, torch.Tensor] = {}
    for node in graph:
        handler = handlers.get(node.op)
        if handler is not None:
            handler(node, out)
    return out


def load_pruned_weights(module: torch.nn.Module, graph: Graph) -> None:
    """Load the Prune process's ``init_model_file`` (relative to the spec) into ``module``, sliced."""
    info: dict[str, Any] = graph.meta["prune"]
    origin = Origin.from_json(info["init_model_origin"])
    path = Path(info["init_model_file"])
    if not path.is_absolute():
        path = Path(graph.meta.get("spec", {}).get("file", ".")).parent / path
    sliced = slice_weights(graph, read_dense_checkpoint(path, origin), origin, path)
    missing, unexpected = module.load_state_dict(sliced, strict=False)
    leftover = [k for k in missing if not k.endswith("act_alpha")]  # quantizers start fresh
    if leftover or unexpected:
        raise RuntimeError(f"pruned weights do not fit the module: missing {leftover}, "
                           f"unexpected {unexpected}")
