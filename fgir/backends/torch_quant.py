"""Fake quantization for training (QAT), with a straight-through estimator.

Weights: symmetric, per output channel, ``k`` bits: integers in ``[-(2^(k-1)-1), 2^(k-1)-1]``
times a per-channel scale ``max|w| / (2^(k-1)-1)`` (1 bit: ``sign(w)`` times ``mean|w|``).
Activations (a conv's input): unsigned ``k`` bits over a clip range ``[0, alpha]`` whose
``alpha`` is learned, PACT-style (gradient flows to ``alpha`` where the input exceeds
it), initialised to ``ALPHA_INIT`` or calibrated with :func:`calibrate`.  Rounding is
half-to-even, as ONNX's QuantizeLinear rounds, so the ONNX export computes the same.

Example:
    >>> conv = QuantConv2d(16, 16, 3, padding=1, bias=False, w_bits=4, a_bits=8)
    >>> conv(torch.rand(1, 16, 8, 8)).shape
    torch.Size([1, 16, 8, 8])
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

FLOAT_BITS = 32
ALPHA_INIT = 8.0


def weight_scale(weight: torch.Tensor, bits: int) -> torch.Tensor:
    """Per-output-channel scale, shaped to broadcast over the weight."""
    dims = tuple(range(1, weight.dim()))
    if bits == 1:
        return weight.abs().mean(dim=dims, keepdim=True)
    qmax = 2 ** (bits - 1) - 1
    return weight.abs().amax(dim=dims, keepdim=True).clamp_min(1e-8) / qmax


def quantize_weight(weight: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The integer weights (as floats) and their per-channel scale."""
    scale = weight_scale(weight, bits)
    if bits == 1:
        return torch.sign(weight), scale
    qmax = 2 ** (bits - 1) - 1
    return torch.clamp(torch.round(weight / scale), -qmax, qmax), scale


def fake_quant_weight(weight: torch.Tensor, bits: int) -> torch.Tensor:
    if bits >= FLOAT_BITS:
        return weight
    q, scale = quantize_weight(weight, bits)
    return weight + (q * scale - weight).detach()


def fake_quant_activation(x: torch.Tensor, bits: int, alpha: torch.Tensor) -> torch.Tensor:
    if bits >= FLOAT_BITS:
        return x
    clipped = torch.minimum(torch.relu(x), alpha)
    scale = alpha / (2 ** bits - 1)
    return clipped + (torch.round(clipped / scale) * scale - clipped).detach()


class QuantConv2d(nn.Conv2d):
    """``nn.Conv2d`` whose weights and input are fake-quantized; same state_dict keys plus ``act_alpha``."""

    def __init__(self, *args, w_bits: int = FLOAT_BITS, a_bits: int = FLOAT_BITS, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.w_bits = w_bits
        self.a_bits = a_bits
        if a_bits < FLOAT_BITS:
            self.act_alpha = nn.Parameter(torch.tensor(ALPHA_INIT))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.a_bits < FLOAT_BITS:
            x = fake_quant_activation(x, self.a_bits, self.act_alpha)
        return self._conv_forward(x, fake_quant_weight(self.weight, self.w_bits), self.bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, w_bits={self.w_bits}, a_bits={self.a_bits}"


@torch.no_grad()
def calibrate(model: nn.Module, batches: Iterable[torch.Tensor], percentile: float = 99.99) -> None:
    """Set every quantized conv's clip range from the inputs it sees on ``batches``."""
    seen: dict[QuantConv2d, list[torch.Tensor]] = {}
    hooks = [m.register_forward_pre_hook(lambda m, args: seen.setdefault(m, []).append(
                 args[0].detach().flatten().float()))
             for m in model.modules() if isinstance(m, QuantConv2d) and m.a_bits < FLOAT_BITS]
    was_training = model.training
    model.eval()
    try:
        for batch in batches:
            model(batch)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    for module, values in seen.items():
        flat = torch.cat(values).clamp_min(0)
        k = max(1, int(round(flat.numel() * percentile / 100)))
        module.act_alpha.fill_(max(float(flat.kthvalue(min(k, flat.numel())).values), 1e-3))
