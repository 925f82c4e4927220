"""Calibration: set every quantization point's range from the data it sees (post-training quantization).

The points observe their float inputs (quantization off) over the batches, then each
range is set by a method: ``minmax`` (the extremes seen), ``percentile`` (the
``percentile``-th of the values, and for a signed point the mirror one below: robust to
outliers) or ``mse`` (the clip, among candidate ranges, whose quantization error on the
values seen is smallest).  What ``fgir compile --calibrate`` and ``fgir.to_onnx(calibrate=...)``
use; the data come from :func:`fgir.data.calibration_batches`.

Example:
    >>> import fgir, torch
    >>> model = fgir.to_torch("examples/quant_resnet20.yaml", seed=0)
    >>> calibrate(model, [torch.randn(4, 3, 32, 32)], method="minmax")
    >>> 0 < model.get_submodule("relu.quant").alpha.item() < 8
    True
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from fgir.backends.torch.quant import FakeQuantize
from fgir.quant.scheme import CALIBRATION_METHODS

METHODS = CALIBRATION_METHODS
SAMPLE = 1 << 20          # values kept per point (a random subset beyond that), to bound memory
MSE_CANDIDATES = 64


class _Observer:
    """The exact extremes of what a point sees, and a random sample of its values (SAMPLE at most)."""

    def __init__(self, generator: torch.Generator) -> None:
        self.values: list[torch.Tensor] = []
        self.kept = 0
        self.low, self.high = float("inf"), float("-inf")
        self.generator = generator

    def __call__(self, x: torch.Tensor) -> None:
        flat = x.detach().flatten().float().cpu()
        self.low, self.high = min(self.low, float(flat.min())), max(self.high, float(flat.max()))
        per_batch = SAMPLE // 8
        if flat.numel() > per_batch:
            flat = flat[torch.randint(flat.numel(), (per_batch,), generator=self.generator)]
        if self.kept < SAMPLE:
            self.values.append(flat)
            self.kept += flat.numel()


def _quantile(values: torch.Tensor, q: float) -> float:
    k = min(values.numel(), max(1, int(round(values.numel() * q))))
    return float(values.kthvalue(k).values)


def _mse_range(point: FakeQuantize, values: torch.Tensor, low: float, high: float) -> tuple[float, float]:
    """The range, shrunk from [low, high] by one of MSE_CANDIDATES factors, that quantizes ``values`` best."""
    best, best_error = (low, high), float("inf")
    for i in range(MSE_CANDIDATES):
        factor = 1.0 - i / (MSE_CANDIDATES * 1.25)
        lo, hi = low * factor, high * factor
        scale = max(hi - lo, 1e-8) / point.levels
        zero = round(-lo / scale)
        codes = torch.clamp(torch.round(values / scale) + zero, 0, point.levels)
        error = float(((codes - zero) * scale - values).square().mean())
        if error < best_error:
            best, best_error = (lo, hi), error
    return best


def _set_range(point: FakeQuantize, observer: _Observer, method: str, percentile: float) -> None:
    values = torch.cat(observer.values)
    if method == "minmax":
        low, high = observer.low, observer.high
    else:
        q = percentile / 100 if method == "percentile" else 1.0
        high = _quantile(values, q)
        low = _quantile(values, 1 - q) if point.zero_point else 0.0
    if method == "mse":
        low, high = _mse_range(point, values, min(low, 0.0), max(high, 0.0))
    with torch.no_grad():
        if point.zero_point:
            point.low.fill_(min(low, 0.0))
            point.high.fill_(max(high, 1e-3))
        else:
            point.alpha.fill_(max(high, 1e-3))


@torch.no_grad()
def calibrate(model: nn.Module, batches: Iterable[torch.Tensor], method: str = "percentile",
              percentile: float = 99.99) -> None:
    """Set every quantization point's range from what it sees on ``batches`` (model left as it was)."""
    if method not in METHODS:
        raise ValueError(f"calibration method '{method}': expected one of {', '.join(METHODS)}")
    points = [m for m in model.modules() if isinstance(m, FakeQuantize)]
    generator = torch.Generator().manual_seed(0)
    observers = {point: _Observer(generator) for point in points}
    was_training = model.training
    model.eval()
    try:
        for point in points:
            point.observer = observers[point]
        for batch in batches:
            model(batch)
    finally:
        for point in points:
            point.observer = None
        model.train(was_training)
    for point, observer in observers.items():
        if observer.values:
            _set_range(point, observer, method, percentile)
