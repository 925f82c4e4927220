"""The weights pruning scores: read (weights-only), checked against the network, in the dense layout.

Weights come as a checkpoint file (a bare ``state_dict`` or an fgir checkpoint),
a ``state_dict`` (tensors or NumPy arrays) or a torch module.  They must be the
network's: at its dense widths, or, for a spec pruned before, at the widths it
was pruned to (a fine-tuned pruned model), which are then laid out densely, the
channels pruned earlier zero.  Anything else is one error naming the first
tensor that does not fit.  torch is imported only to read or write a file.

Example:
    >>> import fgir, numpy as np
    >>> from fgir.prune.subject import load_subject
    >>> subject = load_subject("examples/resnet20_cifar.yaml")
    >>> state = {k: v.numpy() for k, v in fgir.to_torch(subject.dense, seed=0).state_dict().items()}
    >>> weights = read_weights(state, subject)
    >>> weights.arrays["conv1.weight"].shape, weights.path is None
    ((16, 3, 3, 3), True)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fgir.diagnostics import ArgumentError, Diagnostic, FgirError, Loc
from fgir.ir.graph import Graph
from fgir.ir.ops import OPS, weight_key
from fgir.ir.pruning import KEEP_HEADS, KEEP_IN, KEEP_OUT, SELECTION, dense_attrs, kept_slices

Shapes = dict[str, tuple[int, ...]]


@dataclass
class Weights:
    """Dense-layout arrays by state_dict key, and the file they came from when it is in that layout
    (so a pruned spec can name it as its ``init_model_file``); ``scored``: the arrays with what the spec
    pruned before zeroed, which the criteria score (the weights the pruned network has)."""

    arrays: dict[str, np.ndarray]
    path: Path | None
    where: str                   # how errors name the source: the file, or '<weights>'
    scored: dict[str, np.ndarray]


def expected_shapes(graph: Graph, dense: bool) -> Shapes:
    """Every tensor the network's ``state_dict`` holds (quantizer ranges aside), at its dense widths
    or as the graph now has them."""
    shapes: Shapes = {}
    for node in graph:
        schema = OPS[node.op]
        attrs = dense_attrs(node) if dense else node.attrs
        if attrs is None or (dense and node.meta.get(SELECTION)):
            continue
        for weight in schema.weights(attrs):
            if not weight.aux:
                shapes[weight_key(node.name, weight)] = tuple(weight.shape)
    return shapes


def _load_file(path: Path) -> dict[str, Any]:
    from fgir.backends.torch.checkpoint import load_weights_only

    data = load_weights_only(path)
    if isinstance(data, dict) and isinstance(data.get("state_dict"), dict):
        data = data["state_dict"]
    if not isinstance(data, dict):
        raise FgirError(Diagnostic(Loc(str(path)), "", "holds no state_dict of tensors"))
    return data


def _as_array(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        return value.float().numpy() if value.is_floating_point() else value.numpy()
    return np.asarray(value)


def _mismatch(arrays: dict[str, np.ndarray], shapes: Shapes) -> list[str]:
    problems = []
    for key, shape in shapes.items():
        if key not in arrays:
            problems.append(f"there is no tensor '{key}'")
        elif tuple(arrays[key].shape) != shape:
            problems.append(f"'{key}' has shape {tuple(arrays[key].shape)}, but the network needs {shape}")
    return problems


def read_weights(source: Any, subject: Any) -> Weights:
    """The subject's weights in the dense layout (see the module docstring)."""
    path = Path(source) if isinstance(source, (str, Path)) else None
    where = str(path) if path is not None else "<weights>"
    if path is not None:
        raw = _load_file(path)
    elif hasattr(source, "state_dict") and callable(source.state_dict):
        raw = source.state_dict()
    elif isinstance(source, dict):
        raw = source
    else:
        raise ArgumentError.of("fgir.prune", "weights", "expected a checkpoint path, a state_dict or a module, "
                               f"got {type(source).__name__}")
    arrays = {str(k): _as_array(v) for k, v in raw.items() if hasattr(v, "shape")}
    dense_problems = _mismatch(arrays, expected_shapes(subject.dense, dense=False))
    if not dense_problems:
        return Weights(arrays, path, where, masked(subject.before, arrays) if subject.pruned_before else arrays)
    if subject.pruned_before and not _mismatch(arrays, expected_shapes(subject.before, dense=False)):
        laid_out = dense_layout(subject.before, arrays)
        return Weights(laid_out, None, where, laid_out)
    more = len(dense_problems) - 1
    raise FgirError(Diagnostic(Loc(where), "", f"these are not the weights of this network: "
                                                f"{dense_problems[0]}",
                               hint=(f"{more} more tensor{'s' if more > 1 else ''} differ; " if more else "")
                               + "the weights must be the dense network's"
                               + (", or the pruned one's" if subject.pruned_before else "")))


def _placements(graph: Graph):
    """(key, dense shape, index) for every pruned tensor: ``dense[index]`` is what the pruned one holds."""
    for node in graph:
        schema = OPS[node.op]
        dense = dense_attrs(node)
        if dense is None or not any(side in node.meta for side in (KEEP_OUT, KEEP_IN, KEEP_HEADS)):
            continue
        dense_shapes = {w.name: w.shape for w in schema.weights(dense)}
        for weight in schema.weights(node.attrs):
            if weight.aux:
                continue
            shape = dense_shapes[weight.name]
            index: list[Any] = [np.arange(n) for n in shape]
            for axis, positions in kept_slices(node, weight):
                index[axis] = np.asarray(positions)
            yield weight_key(node.name, weight), shape, np.ix_(*index)


def _placed(graph: Graph, arrays: dict[str, np.ndarray], dense: bool) -> dict[str, np.ndarray]:
    """Each pruned tensor at its dense channels, zero elsewhere; ``dense``: ``arrays`` are dense-sized
    already (the kept channels are taken from them), else they are the pruned network's."""
    out = dict(arrays)
    for key, shape, index in _placements(graph):
        full = np.zeros(shape, dtype=arrays[key].dtype)
        full[index] = arrays[key][index] if dense else arrays[key]
        out[key] = full
    return out


def dense_layout(graph: Graph, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A pruned network's tensors placed at their dense channels (zero elsewhere): the inverse of slicing."""
    return _placed(graph, arrays, dense=False)


def masked(graph: Graph, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Dense-layout tensors with what ``graph`` pruned zeroed: the weights the pruned network has."""
    return _placed(graph, arrays, dense=True)


def save_arrays(arrays: dict[str, np.ndarray], path: Path) -> None:
    """Write arrays as a bare state_dict (what ``init_model_file`` reads), atomically."""
    import torch

    from fgir.atomic import write_atomic

    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}
    write_atomic(path, lambda tmp: torch.save(state, tmp))


__all__ = ["Weights", "dense_layout", "expected_shapes", "masked", "read_weights", "save_arrays"]
