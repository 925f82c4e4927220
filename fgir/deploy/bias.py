"""Bias correction: fold each quantized layer's expected output shift into its bias.

Quantizing a layer's weights and input moves the mean of its output: rounding
is not unbiased per channel.  For every quantized layer, in graph order, the
float network's mean output per channel (over the calibration images) minus the
quantized network's is added to the layer's bias, where the integer kernel adds
it: a BatchNorm's shift when the layer folds one (its ``bias``, or for a norm
without affine parameters its running mean), else the layer's own bias.  The
layers are corrected in order on one pass, each seeing its predecessors
already corrected, so a shift carried from earlier layers is corrected too.
A layer with neither a norm nor a bias has nowhere to take it and is left
as it is (named in the result).

Example:
    >>> import fgir, torch
    >>> float_net = fgir.to_torch("examples/resnet20_cifar.yaml", input="3x8x8", seed=0).eval()
    >>> quant = fgir.to_torch("examples/quant_resnet20.yaml", input="3x8x8", weights=float_net.state_dict())
    >>> from fgir.backends.torch.calibrate import calibrate
    >>> x = torch.rand(16, 3, 8, 8)
    >>> calibrate(quant, [x])
    >>> shifts = correct_bias(quant, float_net, x)
    >>> len(shifts.corrected), shifts.skipped
    (21, [])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from fgir.backends.torch.hooks import Hook, run_hooked
from fgir.backends.torch.quant import QUANTIZED_LAYERS
from fgir.quant.scheme import FLOAT_BITS


@dataclass
class BiasShifts:
    """The shift folded into each corrected layer (per output channel), and the layers without a bias."""

    corrected: dict[str, torch.Tensor] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def quantized_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The layers that quantize their weights or their input, in module order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, QUANTIZED_LAYERS)
            and (m.w_bits < FLOAT_BITS or getattr(m, "input_point", None) is not None)]


def output_module(model: nn.Module, layer: nn.Module) -> nn.Module:
    """Where a layer's output, its folded BatchNorm applied, is seen: the norm, else the layer."""
    norm = getattr(layer, "norm", None)
    return norm if norm is not None else layer


def channel_means(output: torch.Tensor) -> torch.Tensor:
    """The mean of each output channel: dim 1 of a feature map, the last of a linear layer's output.

    >>> channel_means(torch.arange(8.0).view(2, 2, 2)).tolist(), channel_means(torch.ones(3, 4)).shape[0]
    ([2.5, 4.5], 4)
    """
    if output.dim() == 2:
        return output.mean(0)
    return output.transpose(0, 1).reshape(output.shape[1], -1).mean(1)


@torch.no_grad()
def float_means(float_model: nn.Module, watched: dict[str, str], images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each layer's mean output per channel in the float network, seen at module ``watched[layer]`` (its
    BatchNorm where the quantized layer folds one: same names in both networks)."""
    modules = dict(float_model.named_modules())
    means: dict[str, torch.Tensor] = {}

    def record(name: str) -> Hook:
        def hook(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
            means[name] = channel_means(output)
        return hook
    run_hooked(float_model, [(modules[watched[name]], record(name)) for name in watched], images)
    return means


@torch.no_grad()
def correct_bias(model: nn.Module, float_model: nn.Module, images: torch.Tensor) -> BiasShifts:
    """Fold every quantized layer's mean output shift on ``images`` into its bias (``model`` changed,
    in eval mode).  ``float_model``: the same network unquantized, with the float weights."""
    layers = quantized_layers(model)
    names = {id(m): n for n, m in model.named_modules()}
    target = float_means(float_model, {name: names[id(output_module(model, layer))] for name, layer in layers},
                         images)
    shifts = BiasShifts()

    def correct(name: str, layer: nn.Module) -> Hook:
        def hook(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> torch.Tensor | None:
            shift = target[name] - channel_means(output)
            if not _fold(layer, shift):
                shifts.skipped.append(name)
                return None
            shifts.corrected[name] = shift
            return output + shift.view((1, -1) + (1,) * (output.dim() - 2))   # the layers after see it corrected
        return hook
    run_hooked(model, [(output_module(model, layer), correct(name, layer)) for name, layer in layers], images)
    return shifts


def _fold(layer: nn.Module, shift: torch.Tensor) -> bool:
    """Add ``shift`` (in output units) to the layer's effective bias; False where it has none."""
    norm = getattr(layer, "norm", None)
    if norm is not None:
        if norm.affine:
            norm.bias.add_(shift)
        else:   # the folded bias is -running_mean · factor: move the mean
            norm.running_mean.sub_(shift * torch.sqrt(norm.running_var + norm.eps))
        return True
    if layer.bias is not None:
        layer.bias.add_(shift)
        return True
    return False


__all__ = ["BiasShifts", "channel_means", "correct_bias", "quantized_layers"]
