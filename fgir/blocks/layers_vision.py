"""The torch.nn-style layers of the vision ops, with torch.nn's (and torchvision's) class and argument names.

``LayerNorm`` normalizes the last dim of a token sequence or a vector;
``LayerNorm2d`` (torchvision.models.convnext) the channels of an image.
``Upsample`` and ``Interpolate`` (``torch.nn.functional.interpolate``) are one
op.  ``Zero`` is NAS-Bench-201's and DARTS's ``none`` edge.  As with Conv2d, a
width argument that names the input's channels may be left out.

Example (a spec)::

    net:
      type: Sequential ...
      norm: {type: LayerNorm2d}
      up: {type: Upsample, scale_factor: 2, mode: bilinear, align_corners: false}
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from fgir.blocks.argtypes import INVALID, REQUIRED, ArgType, Min, Width
from fgir.blocks.located import LocList, origin_of
from fgir.blocks.layers import Pair, PositivePair, _pairs
from fgir.blocks.module import Layer
from fgir.blocks.registry import register_block
from fgir.diagnostics import Diagnostics, Origin

Stride = Annotated[int, Min(1)]


class _Numbers(ArgType):
    """One number for every position, or a list of exactly ``count``; a list back (None stays None).

    Integers of at least 0 (a padding) or positive numbers (a scale), as ``integer`` says.
    """

    def __init__(self, count: int, description: str, integer: bool = False) -> None:
        self.count, self.integer, self.description = count, integer, description

    def _ok(self, v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, (int,) if self.integer else (int, float)):
            return False
        return v >= 0 if self.integer else v > 0    # v > 0 is False for NaN too

    def validate(self, value: Any, origin: Origin, diags: Diagnostics) -> Any:
        if value is None:
            return None
        items = list(value) if isinstance(value, (list, tuple)) else [value] * self.count
        if isinstance(value, (list, tuple)) and len(items) != self.count:
            diags.error(origin_of(value, origin), f"expected {self.description}, got {len(items)} values")
            return INVALID
        if not all(self._ok(v) for v in items):
            return self.wrong(value, origin, diags)
        out = LocList(items if self.integer else [float(v) for v in items])
        out.origin = origin_of(value, origin)
        return out


# torch's scale_factor: a positive number, or one for height and one for width
SCALE = _Numbers(2, "a positive number or [height, width] of them, or null")
# ZeroPad2d's padding: one for every side, or [left, right, top, bottom] as torch
PADDING = _Numbers(4, "an integer ≥ 0 or [left, right, top, bottom] of them", integer=True)


@register_block
class LayerNorm(Layer):
    """torch.nn.LayerNorm over the last dim: the features of a token sequence (LxD) or a vector."""

    op = "layer_norm"
    has_params = True

    def constructor(self, normalized_shape: Optional[Width] = None, eps: float = 1e-5,
                    elementwise_affine: bool = True, bias: bool = True) -> None:
        pass

    def ir_attrs(self) -> dict[str, Any]:
        return {**self._args, "channels_first": False}


@register_block
class LayerNorm2d(Layer):
    """torchvision's LayerNorm2d (ConvNeXt's): a LayerNorm over the channels of a CxHxW image."""

    op = "layer_norm"
    has_params = True

    def constructor(self, num_channels: Optional[Width] = None, eps: float = 1e-6) -> None:
        pass

    def ir_attrs(self) -> dict[str, Any]:
        return {"normalized_shape": self._args["num_channels"], "eps": self._args["eps"],
                "elementwise_affine": True, "bias": True, "channels_first": True}


@register_block
class GroupNorm(Layer):
    op = "group_norm"
    has_params = True

    def constructor(self, num_groups: Width = REQUIRED, num_channels: Optional[Width] = None, eps: float = 1e-5,
                    affine: bool = True) -> None:
        pass


@register_block
class GELU(Layer):
    """torch.nn.GELU: exact (``approximate: none``) or its tanh approximation."""

    op = "gelu"

    def constructor(self, approximate: Literal["none", "tanh"] = "none") -> None:
        pass


@register_block
class Softmax(Layer):
    """torch.nn.Softmax; ``dim`` counts the batch dim as torch does (1: an image's channels)."""

    op = "softmax"

    def constructor(self, dim: int = REQUIRED) -> None:
        pass


@register_block
class Upsample(Layer):
    """torch.nn.Upsample to ``size`` or by ``scale_factor`` (one of the two), nearest or bilinear."""

    op = "upsample"

    def constructor(self, size: Optional[PositivePair] = None, scale_factor: SCALE = None,
                    mode: Literal["nearest", "bilinear"] = "nearest", align_corners: Optional[bool] = None) -> None:
        pass

    def ir_attrs(self) -> dict[str, Any]:
        a = self._args
        return {"size": _pairs(a["size"]), "scale_factor": a["scale_factor"], "mode": a["mode"],
                "align_corners": a["align_corners"]}


@register_block
class Interpolate(Upsample):
    """torch.nn.functional.interpolate as a layer: the same arguments and arithmetic as Upsample."""


@register_block
class ConvTranspose2d(Layer):
    op = "conv_transpose2d"
    has_params = True

    def constructor(self, in_channels: Optional[Width] = None, out_channels: Width = REQUIRED,
                    kernel_size: PositivePair = REQUIRED, stride: PositivePair = 1, padding: Pair = 0,
                    output_padding: Pair = 0, groups: Width = 1, bias: bool = True,
                    dilation: PositivePair = 1) -> None:
        pass

    def ir_attrs(self) -> dict[str, Any]:
        a = self._args
        return {**a, **{k: _pairs(a[k]) for k in ("kernel_size", "stride", "padding", "output_padding",
                                                   "dilation")}}


@register_block
class ZeroPad2d(Layer):
    """torch.nn.ZeroPad2d: ``padding`` one int for every side or [left, right, top, bottom]."""

    op = "pad"

    def constructor(self, padding: PADDING = REQUIRED) -> None:
        pass

    def ir_attrs(self) -> dict[str, Any]:
        return {"padding": self._args["padding"], "value": 0.0}


@register_block
class ConstantPad2d(Layer):
    op = "pad"

    def constructor(self, padding: PADDING = REQUIRED, value: float = REQUIRED) -> None:
        pass


@register_block
class Zero(Layer):
    """NAS-Bench-201's and DARTS's ``none`` edge: zeros of the input's type, strided as DARTS's Zero
    (``x[:, :, ::stride, ::stride] * 0``)."""

    op = "zero"

    def constructor(self, stride: Stride = 1) -> None:
        pass


LAYERS = [LayerNorm, LayerNorm2d, GroupNorm, GELU, Softmax, Upsample, Interpolate, ConvTranspose2d, ZeroPad2d,
          ConstantPad2d, Zero]
