"""Weights for the ONNX backend: what a lowered graph needs, checking what was given, BatchNorm folding.

Weights are named as the torch backend's ``state_dict`` names them (the node's
scope, then ``weight``/``bias``/``running_mean``/...), so a checkpoint written by
``fgir compile -o model.pt`` and the module ``fgir.to_torch`` builds both fit.
Everything here works on numpy arrays; nothing imports torch.

Example:
    >>> import fgir
    >>> graph = fgir.compile("examples/resnet20_cifar.yaml")
    >>> expected_weights(graph)["layer1.0.conv1.weight"].shape
    (16, 16, 3, 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from fgir.diagnostics import Diagnostic, FgirError, Loc
from fgir.ir.graph import Graph, Node
from fgir.ir.ops import OPS, weight_key

# torch counts BatchNorm updates in a buffer that inference never reads: accepted, never required
OPTIONAL_SUFFIXES = (".num_batches_tracked",)


@dataclass(frozen=True, slots=True)
class Expected:
    """One tensor a graph needs: its shape, the node that owns it, and whether it is a quantizer's range."""

    shape: tuple[int, ...]
    node: Node
    aux: bool = False


def expected_weights(graph: Graph) -> dict[str, Expected]:
    """Every tensor the lowered graph reads, by ``state_dict`` name (its op schema's weights)."""
    return {weight_key(node.name, w): Expected(w.shape, node, w.aux)
            for node in graph for w in OPS[node.op].weights(node.attrs)}


def _dims(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) or "a scalar"


def _owner_hint(node: Node) -> str:
    where = f" ({node.origin.path})" if node.origin.path else ""
    return f"the spec's {node.op} '{node.name}' comes from {node.origin.loc}{where}"


def check_weights(graph: Graph, weights: Mapping[str, np.ndarray], source: Loc, *,
                  ranges_optional: bool = False) -> dict[str, np.ndarray]:
    """The graph's weights as float32 arrays; every missing, extra or misshapen tensor is an error.

    Raises one :class:`FgirError` listing every problem, each naming the tensor
    (``source`` is where the weights came from, e.g. the checkpoint file).  Weights with
    no quantization ranges at all (a float network's) are one error saying to calibrate
    them, unless ``ranges_optional`` (calibration is about to set them).
    """
    expected = expected_weights(graph)
    problems: list[Diagnostic] = []
    out: dict[str, np.ndarray] = {}
    ranges = [name for name, want in expected.items() if want.aux]
    if ranges and not any(name in weights for name in ranges):
        if not ranges_optional:
            points = len({expected[name].node.name for name in ranges})
            problems.append(Diagnostic(source, "", f"holds no ranges for the network's {points} quantization "
                                       "points (the weights of a float network?): calibrate them",
                                       hint="--calibrate N or --calibrate-data PATH on the command line; "
                                            "calibrate=[batches] in fgir.to_onnx"))
        expected = {name: want for name, want in expected.items() if not want.aux}
    for name, want in expected.items():
        if name not in weights:
            problems.append(Diagnostic(source, name, f"missing: the spec needs a "
                                       f"{_dims(want.shape)} tensor here", hint=_owner_hint(want.node)))
            continue
        array = np.asarray(weights[name])
        if array.dtype.kind != "f":
            problems.append(Diagnostic(source, name, f"has dtype {array.dtype}, not floating point"))
        elif array.shape != want.shape:
            problems.append(Diagnostic(source, name, f"has shape {_dims(array.shape)}, but the spec "
                                       f"needs {_dims(want.shape)}", hint=_owner_hint(want.node)))
        else:
            out[name] = np.asarray(array, dtype=np.float32, order="C")   # (ascontiguousarray makes 0-d 1-d)
    for name in weights:
        if name not in expected and not name.endswith(OPTIONAL_SUFFIXES):
            problems.append(Diagnostic(source, name, "is not a tensor of this spec's network"))
    if problems:
        raise FgirError(problems)
    return out


# -- BatchNorm folding ----------------------------------------------------------
def batch_norm_affine(bn: Node, weights: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Inference BatchNorm as ``y = x * scale + shift`` per channel (computed in float64)."""
    name = bn.name
    var = weights[f"{name}.running_var"].astype(np.float64)
    mean = weights[f"{name}.running_mean"].astype(np.float64)
    scale = 1.0 / np.sqrt(var + bn.attrs["eps"])
    if bn.attrs["affine"]:
        scale = scale * weights[f"{name}.weight"]
        shift = weights[f"{name}.bias"] - mean * scale
    else:
        shift = -mean * scale
    return scale, shift


def batch_norm_fold_float32(bn: Node, weights: Mapping[str, np.ndarray],
                            bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The per-channel factor and the folded bias of ``bias`` then ``bn``, in float32 and in the order the
    torch backend's QuantConv2d computes them (quantized layers: their codes and int32 bias must agree)."""
    name = bn.name
    f32 = np.float32
    factor = (f32(1) / np.sqrt(weights[f"{name}.running_var"].astype(f32) + f32(bn.attrs["eps"]))).astype(f32)
    if bn.attrs["affine"]:
        factor = (factor * weights[f"{name}.weight"].astype(f32)).astype(f32)
    folded = (bias.astype(f32) - weights[f"{name}.running_mean"].astype(f32)) * factor
    if bn.attrs["affine"]:
        folded = folded + weights[f"{name}.bias"].astype(f32)
    return factor, folded.astype(f32)


def fold_batch_norm(weight: np.ndarray, bias: np.ndarray | None, bn: Node,
                    weights: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The conv weight and bias that compute ``bn(conv(x))`` in one convolution.

    ``weight`` may also be a per-output-channel scale (a quantized conv's): it is
    scaled the same way along its first axis.

    >>> import numpy as np
    >>> from fgir.ir.graph import Node
    >>> bn = Node("bn", "batch_norm", {"eps": 0.0, "affine": False})
    >>> stats = {"bn.running_mean": np.array([1.0]), "bn.running_var": np.array([4.0])}
    >>> w, b = fold_batch_norm(np.ones((1, 1, 1, 1), np.float32), None, bn, stats)
    >>> float(w.ravel()[0]), float(b[0])
    (0.5, -0.5)
    """
    scale, shift = batch_norm_affine(bn, weights)
    folded_w = weight * scale.astype(np.float32).reshape(-1, *([1] * (weight.ndim - 1)))
    folded_b = shift if bias is None else bias * scale + shift
    return folded_w.astype(np.float32, copy=False), folded_b.astype(np.float32)
