"""Fake quantization that computes what the integer ONNX graph computes, and trains (QAT) by straight-through.

* :class:`FakeQuantize` is a quantization point (``fgir.ir.ops.quantize``): codes
  ``clamp(round_half_even(x / scale) + zero, 0, 2^k - 1)``, passed on dequantized.
  Unsigned (zero 0) over ``[0, alpha]``, or with a zero point over ``[low, high]``;
  the range is learned, PACT-style (gradients reach ``alpha``/``low``/``high`` where
  the input is clipped), or set by calibration (:mod:`.calibrate`).
* :class:`QuantConv2d` fake-quantizes its weights symmetrically per output channel
  (``max|w| / (2^(k-1) - 1)``; 1 bit: sign times ``mean|w|``).  In eval mode it computes
  the integer kernel's arithmetic: its BatchNorm folded in (:class:`FoldedBatchNorm2d`
  then passes values through) and its bias rounded to the int32 grid of
  ``s_x · s_w``, as ONNX Runtime's QLinearConv adds it.
* :class:`QuantLinear` does the same for ``nn.Linear`` (no BatchNorm to fold): weights per
  output feature, the bias on the grid ONNX Runtime's QGemm adds it on.
* :class:`QuantSelfAttention` is ``nn.MultiheadAttention`` with its q, k and v projections'
  weights fake-quantized (per output row, as ``MatMulIntegerToFloat`` runs them); the
  attention itself and the output projection stay float, their bias too.
Rounding is half to even, as QuantizeLinear rounds.

Example:
    >>> point = FakeQuantize(4, zero_point=False)
    >>> point.alpha.data.fill_(1.5)
    tensor(1.5000)
    >>> point(torch.tensor([-1.0, 0.24, 0.26, 9.0])).tolist()
    [0.0, 0.20000000298023224, 0.30000001192092896, 1.5]
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fgir.quant.scheme import FLOAT_BITS, activation_levels, weight_qmax

ALPHA_INIT = 8.0       # an unsigned point's clip range before training or calibration
LOW_INIT = -8.0        # a signed point's


class FakeQuantize(nn.Module):
    """A quantization point: ``bits``-bit codes, unsigned (``alpha``) or with a zero point (``low``, ``high``)."""

    def __init__(self, bits: int, zero_point: bool) -> None:
        super().__init__()
        self.bits, self.zero_point = bits, zero_point
        self.levels = activation_levels(bits)
        if zero_point:
            self.low = nn.Parameter(torch.tensor(LOW_INIT))
            self.high = nn.Parameter(torch.tensor(-LOW_INIT))
        else:
            self.alpha = nn.Parameter(torch.tensor(ALPHA_INIT))
        self.observer = None   # calibration sets a callable that sees the input; the point then passes it on

    def scale_and_zero(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The scale (differentiable) and the zero point (an integer-valued tensor), as ONNX stores them."""
        if not self.zero_point:
            return self.alpha / self.levels, torch.zeros((), device=self.alpha.device)
        low, high = torch.clamp(self.low, max=0.0), torch.clamp(self.high, min=0.0)
        scale = (high - low) / self.levels
        zero = torch.clamp(torch.round(-low.detach() / scale.detach()), 0, self.levels)
        return scale, zero

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.observer is not None:
            self.observer(x)
            return x
        scale, zero = self.scale_and_zero()
        clipped = self._clip(x, scale, zero)
        return clipped + (torch.round(clipped / scale) * scale - clipped).detach()

    @torch.no_grad()
    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """The integer codes this point holds ``x`` as (what ONNX's QuantizeLinear [and Clip] give)."""
        scale, zero = self.scale_and_zero()
        return torch.round(self._clip(x, scale, zero) / scale) + zero

    def _clip(self, x: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor) -> torch.Tensor:
        return torch.minimum(torch.maximum(x, -zero * scale), (self.levels - zero) * scale)

    def extra_repr(self) -> str:
        return f"bits={self.bits}, zero_point={self.zero_point}"


def quantize_weight(weight: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The integer weight codes (as floats) and their per-output-channel scale, shaped to broadcast."""
    dims = tuple(range(1, weight.dim()))
    if bits == 1:
        return torch.sign(weight), weight.abs().mean(dim=dims, keepdim=True)
    qmax = weight_qmax(bits)
    scale = weight.abs().amax(dim=dims, keepdim=True).clamp_min(1e-8) / qmax
    return torch.clamp(torch.round(weight / scale), -qmax, qmax), scale


def fake_quant_weight(weight: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The weight on its ``bits`` grid (straight-through gradient) and the grid's scale (None: float)."""
    if bits >= FLOAT_BITS:
        return weight, None
    q, scale = quantize_weight(weight, bits)
    return weight + (q * scale - weight).detach(), scale


class FoldedBatchNorm2d(nn.BatchNorm2d):
    """A BatchNorm whose convolution folds it in eval mode (as the ONNX graph does): there it passes
    values on; in training it normalizes as usual."""

    folded = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.folded and not self.training else super().forward(x)


class QuantConv2d(nn.Conv2d):
    """``nn.Conv2d`` with fake-quantized weights; same state_dict keys.  See the module docstring.

    ``input_point`` (the FakeQuantize its input comes from) and ``norm`` (the BatchNorm it
    folds) are set by the module builder; they are references, not children.
    """

    def __init__(self, *args, w_bits: int = FLOAT_BITS, a_bits: int = FLOAT_BITS, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.w_bits, self.a_bits = w_bits, a_bits
        self.__dict__["input_point"] = None
        self.__dict__["norm"] = None

    def attach(self, input_point: "FakeQuantize | None", norm: "FoldedBatchNorm2d | None") -> None:
        """Tell the conv where its input's codes come from and which BatchNorm it folds (eval mode)."""
        self.__dict__["input_point"] = input_point
        self.__dict__["norm"] = norm
        if norm is not None:
            norm.folded = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, scale = fake_quant_weight(self.weight, self.w_bits)
        if self.training or (self.norm is None and self.input_point is None):
            return self._conv_forward(x, weight, self.bias)
        return self._conv_forward(x, *self.integer_weight_and_bias(weight, scale))

    def integer_weight_and_bias(self, weight: torch.Tensor, weight_scale: torch.Tensor | None
                                ) -> tuple[torch.Tensor, torch.Tensor]:
        """The weight with the BatchNorm folded in, and the bias on the int32 grid QLinearConv adds
        (``weight_scale``: the weight grid's, per output channel; None for a float weight)."""
        out = self.out_channels
        bias = self.bias if self.bias is not None else torch.zeros(out, device=weight.device)
        factor = torch.ones(out, device=weight.device)
        if self.norm is not None:
            norm = self.norm
            factor = torch.rsqrt(norm.running_var + norm.eps)
            if norm.affine:
                factor = factor * norm.weight
            bias = (bias - norm.running_mean) * factor + (norm.bias if norm.affine else 0.0)
        weight = weight * factor.view(-1, 1, 1, 1)
        return weight, on_bias_grid(bias, self.input_point, weight_scale, factor)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, w_bits={self.w_bits}, a_bits={self.a_bits}"


def on_bias_grid(bias: torch.Tensor, input_point: "FakeQuantize | None", weight_scale: torch.Tensor | None,
                 factor: torch.Tensor | float = 1.0) -> torch.Tensor:
    """The bias rounded to the int32 grid ``s_x · |s_w · factor|`` an integer kernel adds it on (as is,
    where the input or the weight is float)."""
    if input_point is None or weight_scale is None:
        return bias
    in_scale, _ = input_point.scale_and_zero()
    step = in_scale * (weight_scale.view(-1) * factor).abs()
    return torch.round(bias / step) * step


class QuantLinear(nn.Linear):
    """``nn.Linear`` with fake-quantized weights (per output feature); same state_dict keys.  In eval
    mode with a quantized input its bias is on QGemm's int32 grid.  ``input_point``: as QuantConv2d's."""

    def __init__(self, *args, w_bits: int = FLOAT_BITS, a_bits: int = FLOAT_BITS, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.w_bits, self.a_bits = w_bits, a_bits
        self.__dict__["input_point"] = None

    def attach(self, input_point: "FakeQuantize | None", norm: None = None) -> None:
        self.__dict__["input_point"] = input_point

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, scale = fake_quant_weight(self.weight, self.w_bits)
        bias = self.bias
        if bias is not None and not self.training:
            bias = on_bias_grid(bias, self.input_point, scale)
        return F.linear(x, weight, bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, w_bits={self.w_bits}, a_bits={self.a_bits}"


class QuantSelfAttention(nn.MultiheadAttention):
    """Self-attention (batch first, one input, as the torch backend's ``SelfAttention``) whose q, k, v
    projection weights are fake-quantized per row; the rest is float (see the module docstring)."""

    def __init__(self, *args, w_bits: int = FLOAT_BITS, a_bits: int = FLOAT_BITS, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.w_bits, self.a_bits = w_bits, a_bits

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        weight, _ = fake_quant_weight(self.in_proj_weight, self.w_bits)
        tokens = x.transpose(0, 1)     # (L, N, E), as the functional form takes them
        out, _ = F.multi_head_attention_forward(
            tokens, tokens, tokens, self.embed_dim, self.num_heads, weight, self.in_proj_bias, self.bias_k,
            self.bias_v, self.add_zero_attn, self.dropout, self.out_proj.weight, self.out_proj.bias,
            training=self.training, need_weights=False)
        return out.transpose(0, 1)

    def extra_repr(self) -> str:
        return f"w_bits={self.w_bits}, a_bits={self.a_bits}"


QUANTIZED_LAYERS = (QuantConv2d, QuantLinear)   # what the module builder attaches input points to
