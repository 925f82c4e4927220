"""Slice a dense checkpoint's weights into a pruned network (after the ``apply_prune`` pass).

Every parameter tensor is the op schema's (``fgir.ir.ops``): its dense shape is
the schema's at the node's dense widths, and it is indexed by the kept output
channels along its ``out_axis`` and the kept input channels along its
``in_axis`` (a flattened input counts each channel's positions).  A node
pruning added where the dense network had an identity (a *selection*) takes
each tensor's identity value instead, so the pruned network computes exactly
what the masked dense one does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from fgir.backends.torch.checkpoint import load_weights_only
from fgir.diagnostics import Diagnostic, FgirError, Origin, SpecIOError
from fgir.ir.graph import Graph, Node
from fgir.ir.ops import OPS, Identity, Weight, weight_key
from fgir.ir.pruning import KEEP_IN, KEEP_OUT, SELECTION, dense_attrs, kept_slices
from fgir.weights_files import spec_relative

TORCH_ONLY = ("num_batches_tracked",)   # buffers torch keeps beside a schema's tensors


def read_dense_checkpoint(path: Path, origin: Origin) -> dict[str, torch.Tensor]:
    """A state_dict (bare, or inside an fgir checkpoint), loaded weights-only."""
    if not path.is_file():
        raise SpecIOError(Diagnostic(origin.loc, origin.path, f"init_model_file {path}: no such file"))
    try:
        data = load_weights_only(path)
    except SpecIOError as exc:   # said at the spec line that names the file
        problem = exc.diagnostics[0]
        raise SpecIOError(Diagnostic(origin.loc, origin.path, f"init_model_file {path}: {problem.message}",
                                     hint=problem.hint)) from None
    if isinstance(data, dict) and isinstance(data.get("state_dict"), dict):
        data = data["state_dict"]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise FgirError(Diagnostic(origin.loc, origin.path, f"init_model_file {path} holds no "
                                                            "state_dict of tensors"))
    return data


def _identity(weight: Weight, node: Node) -> torch.Tensor:
    """The tensor a selection node needs to pass its kept input channels on as its output channels."""
    if weight.identity is Identity.ONES:
        return torch.ones(weight.shape)
    if weight.identity is Identity.ONES_MINUS_EPS:
        return torch.full(weight.shape, 1.0 - node.attrs["eps"])
    if weight.identity is Identity.ZEROS:
        return torch.zeros(weight.shape)
    out = torch.zeros(weight.shape)
    position = {channel: i for i, channel in enumerate(node.meta[KEEP_IN])}
    center = tuple(size // 2 for size in weight.shape[2:])
    for o, channel in enumerate(node.meta[KEEP_OUT]):
        if channel in position:
            out[(o, position[channel], *center)] = 1.0
    return out


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

    def node(self, node: Node, out: dict[str, torch.Tensor]) -> None:
        schema = OPS[node.op]
        weights = schema.weights(node.attrs)
        if node.meta.get(SELECTION):
            out.update({weight_key(node.name, w): _identity(w, node) for w in weights})
            return
        dense_shapes = {w.name: w.shape for w in schema.weights(dense_attrs(node))}
        for weight in weights:
            key = weight_key(node.name, weight)
            if weight.aux and key not in self.dense:
                continue    # a quantizer's range a float checkpoint lacks: it starts fresh (or is calibrated)
            value = self.tensor(key, dense_shapes[weight.name])
            for axis, index in kept_slices(node, weight):
                value = value.index_select(axis, torch.tensor(index, dtype=torch.long))
            out[key] = value.clone()
        for extra in TORCH_ONLY:
            key = f"{node.name}.{extra}"
            if weights and key in self.dense:
                out[key] = self.dense[key].clone()


def slice_weights(graph: Graph, dense: dict[str, torch.Tensor], origin: Origin,
                  path: Path) -> dict[str, torch.Tensor]:
    """The pruned network's state_dict, cut from the dense one."""
    slicer = _Slicer(dense, origin, path)
    out: dict[str, torch.Tensor] = {}
    for node in graph:
        slicer.node(node, out)
    return out


def init_model(graph: Graph) -> tuple[Path, Origin]:
    """The Prune process's ``init_model_file`` (relative to the spec) and the spec value naming it."""
    info: dict[str, Any] = graph.meta["prune"]
    return (spec_relative(graph.meta.get("spec", {}).get("file"), info["init_model_file"]),
            Origin.from_json(info["init_model_origin"]))


def read_init_model(graph: Graph) -> dict[str, torch.Tensor]:
    """The dense state_dict the Prune process's ``init_model_file`` holds."""
    return read_dense_checkpoint(*init_model(graph))


def load_pruned_weights(module: torch.nn.Module, graph: Graph,
                        dense: dict[str, torch.Tensor] | None = None) -> None:
    """Load the Prune process's ``init_model_file`` into ``module``, sliced (``dense``: its state_dict,
    when the caller has read it already)."""
    path, origin = init_model(graph)
    sliced = slice_weights(graph, dense if dense is not None else read_dense_checkpoint(path, origin),
                           origin, path)
    missing, unexpected = module.load_state_dict(sliced, strict=False)
    # quantizers' ranges may start fresh; torch's BN update counter is state inference never reads
    ranges = {weight_key(n.name, w) for n in graph for w in OPS[n.op].weights(n.attrs) if w.aux}
    leftover = [k for k in missing if k not in ranges and not k.endswith(TORCH_ONLY)]
    if leftover or unexpected:
        raise RuntimeError(f"pruned weights do not fit the module: missing {leftover}, "
                           f"unexpected {unexpected}")
