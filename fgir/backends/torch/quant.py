"""Fake quantization for training (QAT), with a straight-through estimator.

Weights: symmetric, per output channel, ``k`` bits: integers in ``[-(2^(k-1)-1), 2^(k-1)-1]``
times a per-channel scale ``max|w| / (2^(k-1)-1)`` (1 bit: ``sign(w)`` times ``mean|w|``).
Activations (a conv's input): unsigned ``k`` bits over a clip range ``[0, alpha]`` whose
``alpha`` is learned, PACT-style (gradient flows to ``alpha`` where the input exceeds
it), initialised to ``ALPHA_INIT`` or calibrated with :func:`calibrate` (on your data, or on
:func:`digits_batches`, what ``fgir compile --calibrate`` uses).  Rounding is
half-to-even, as ONNX's QuantizeLinear rounds, so the ONNX export computes the same.

Example:
    >>> conv = QuantConv2d(16, 16, 3, padding=1, bias=False, w_bits=4, a_bits=8)
    >>> conv(torch.rand(1, 16, 8, 8)).shape
    torch.Size([1, 16, 8, 8])
"""

from __future__ import annotations

from typing import Iterable, Sequence

import torch
from torch import nn

from fgir.quant.scheme import FLOAT_BITS

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


CALIBRATION_BATCH = 32


def digits_batches(input_dims: Sequence[int], count: int,
                   batch_size: int = CALIBRATION_BATCH) -> list[torch.Tensor]:
    """``count`` batches of scikit-learn's bundled digits, shaped for a network taking ``input_dims``.

    What ``fgir compile --calibrate N`` calibrates on, since fgir downloads
    nothing: the train evaluator's loader (8x8 digits resized bilinearly to
    ``H x W``, replicated to ``C`` channels, normalised), its training split, in
    order.  Stand-in data: clip ranges from it fit a network trained on digits;
    for any other data set, calibrate on that data through the Python API.
    Needs scikit-learn (ImportError otherwise); more batches than the split
    holds is a ValueError.

    >>> [tuple(b.shape) for b in digits_batches((3, 32, 32), 2, batch_size=4)]
    [(4, 3, 32, 32), (4, 3, 32, 32)]
    """
    from fgir.data.digits import digits_tensors    # lazy: scikit-learn

    channels, height, width = input_dims
    images = digits_tensors(channels, height, width, None)[0]
    available = len(images) // batch_size
    if not 1 <= count <= available:
        raise ValueError(f"asked for {count} batches; the digits data holds {available} batches of "
                         f"{batch_size} images ({len(images)} images)")
    return [images[i * batch_size:(i + 1) * batch_size] for i in range(count)]
