"""Where the ONNX backend's weights come from: the API edge, where torch tensors become numpy arrays.

The emitter (:mod:`fgir.backends.onnx`) takes a dict name → ``np.ndarray``;
this module makes one from whatever the user has: an fgir checkpoint file
(``fgir compile -o model.pt``), a torch module (``fgir.to_torch`` builds fresh
ones), a ``state_dict``, or numpy arrays already.  torch is imported only when
a checkpoint is read, or when :func:`calibrated` sets clip ranges from data.

Example:
    >>> import fgir
    >>> arrays, where = resolve_weights(fgir.to_torch("examples/resnet20_cifar.yaml", seed=0))
    >>> arrays["conv1.weight"].shape, str(where)
    ((16, 3, 3, 3), '<FgirModule state_dict>')
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from fgir.diagnostics import ArgumentError, FgirError, Loc
from fgir.ir.graph import Graph

WeightSource = str | Path | Mapping[str, Any] | Any   # Any: an nn.Module
Batches = Iterable[Any]     # torch tensors or numpy arrays, each N x C x H x W


def to_numpy(state: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """A ``state_dict``'s tensors as numpy arrays: floating ones as float32 (shared, when they are)."""
    out: dict[str, np.ndarray] = {}
    for name, value in state.items():
        if hasattr(value, "detach"):        # a torch tensor; bfloat16 has no numpy dtype
            value = value.detach().cpu()
            out[name] = (value.float() if value.is_floating_point() else value).numpy()
        else:
            out[name] = np.asarray(value)
    return out


def resolve_weights(source: WeightSource, graph: Graph | None = None) -> tuple[dict[str, np.ndarray], Loc]:
    """The weights ``source`` holds, as numpy arrays, and where they came from (for diagnostics).

    A file is an fgir checkpoint or a bare ``state_dict`` (read weights-only); with ``graph``,
    a checkpoint of another network is said in one line, naming the spec it was compiled from.
    """
    if isinstance(source, (str, Path)):
        return _checkpoint_weights(Path(source), graph)
    if hasattr(source, "state_dict") and callable(source.state_dict):
        return to_numpy(source.state_dict()), Loc(f"<{type(source).__name__} state_dict>")
    if isinstance(source, Mapping):
        return to_numpy(source), Loc("<weights>")
    raise ArgumentError.of("fgir.to_onnx", "weights", "expected a checkpoint path, a module, or a mapping of name "
                                                      f"to array, got {type(source).__name__}")


def _checkpoint_weights(path: Path, graph: Graph | None) -> tuple[dict[str, np.ndarray], Loc]:
    from fgir.backends.onnx.weights import check_weights
    from fgir.backends.torch.checkpoint import about_other_network, read_weights

    weights = read_weights(path)
    arrays = to_numpy(weights.state_dict)
    if graph is not None:
        try:
            check_weights(graph, arrays, Loc(str(path)), ranges_optional=True)
        except FgirError as exc:
            raise about_other_network(weights, graph, exc.diagnostics) from None
    return arrays, Loc(str(path))


def calibrated(graph: Graph, weights: Mapping[str, np.ndarray], batches: Batches,
               source: Loc = Loc("<weights>"), method: str = "percentile") -> dict[str, np.ndarray]:
    """``weights`` with every quantization point's range set from ``batches`` (post-training quantization).

    The weights are loaded into a fresh module of ``graph`` (so a module the
    caller passed is never changed) and :func:`fgir.backends.torch.calibrate.calibrate`
    runs it on the batches with ``method``; the ONNX emitter then reads the ranges as it
    reads every other weight.  The weights may hold no ranges (a float network's
    checkpoint): calibration sets them.  A missing, extra or misshapen tensor is the same
    :class:`FgirError` the emitter raises; no batch at all is a ValueError.

    >>> import fgir, torch
    >>> graph = fgir.compile("examples/quant_resnet20.yaml")
    >>> arrays, where = resolve_weights(fgir.to_torch("examples/resnet20_cifar.yaml", seed=0))
    >>> arrays = calibrated(graph, arrays, [torch.rand(4, 3, 32, 32)])
    >>> 0 < float(arrays["layer1.0.relu.quant.alpha"]) < 8
    True
    """
    import torch

    from fgir.backends.onnx.weights import check_weights, expected_weights
    from fgir.backends.torch import build_module
    from fgir.backends.torch.calibrate import calibrate

    module = build_module(graph)
    state = check_weights(graph, weights, source, ranges_optional=True)
    # strict=False: only num_batches_tracked may be absent, and inference never reads it
    module.load_state_dict({name: torch.from_numpy(array) for name, array in state.items()}, strict=False)
    count = 0

    def counted() -> Iterable[Any]:
        nonlocal count
        for batch in batches:
            count += 1
            # the emitter computes in float32 on the CPU: calibrate where it will run
            yield torch.as_tensor(batch if isinstance(batch, torch.Tensor) else np.asarray(batch),
                                  dtype=torch.float32, device="cpu")

    calibrate(module, counted(), method=method)
    if count == 0:
        raise ValueError("calibrate: no batches to calibrate on")
    ranges = {name for name, want in expected_weights(graph).items() if want.aux}
    return {**weights, **{name: value for name, value in to_numpy(module.state_dict()).items() if name in ranges}}
