"""Torch rules of the vision ops (``fgir.ir.ops.vision`` and ``.resample``): torch.nn's own modules, and
torchvision's LayerNorm2d and DARTS's Zero written out here (fgir does not depend on torchvision).

Example:
    >>> import torch
    >>> norm = LayerNorm2d(4, eps=1e-6)
    >>> x = torch.randn(2, 4, 3, 3)
    >>> torch.allclose(norm(x), torch.nn.functional.layer_norm(x.permute(0, 2, 3, 1), (4,), eps=1e-6)
    ...                .permute(0, 3, 1, 2))
    True
    >>> Zero(2)(x).shape
    torch.Size([2, 4, 2, 2])
"""

from __future__ import annotations

import torch
from torch import nn

from fgir.backends.torch.rules import ModuleRule
from fgir.ir.graph import Node


class LayerNorm2d(nn.LayerNorm):
    """torchvision.models.convnext.LayerNorm2d: a LayerNorm over the channels of an NCHW tensor
    (state_dict keys ``weight``, ``bias``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Zero(nn.Module):
    """DARTS's Zero: ``x.mul(0.)``, strided first (``x[:, :, ::s, ::s]``) when ``stride`` > 1."""

    def __init__(self, stride: int = 1) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, ::self.stride, ::self.stride].mul(0.0)

    def extra_repr(self) -> str:
        return f"stride={self.stride}"


def _layer_norm(node: Node) -> nn.Module:
    a = node.attrs
    cls = LayerNorm2d if a["channels_first"] else nn.LayerNorm
    return cls(a["normalized_shape"], eps=a["eps"], elementwise_affine=a["elementwise_affine"], bias=a["bias"])


class UpsampleLike(nn.Module):
    """``F.interpolate(x, size=like.shape[-2:])``: the upsample op given a second input (no weights)."""

    def __init__(self, mode: str, align_corners: bool | None) -> None:
        super().__init__()
        self.mode, self.align_corners = mode, align_corners

    def forward(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return nn.functional.interpolate(x, size=like.shape[-2:], mode=self.mode, align_corners=self.align_corners)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, align_corners={self.align_corners}"


def _upsample(node: Node) -> nn.Module:
    a = node.attrs
    if len(node.inputs) == 2:
        return UpsampleLike(a["mode"], a["align_corners"])
    size = None if a["size"] is None else tuple(a["size"])
    scale = None if a["scale_factor"] is None else tuple(float(s) for s in a["scale_factor"])
    return nn.Upsample(size=size, scale_factor=scale, mode=a["mode"], align_corners=a["align_corners"])


def _conv_transpose(node: Node) -> nn.Module:
    a = node.attrs
    return nn.ConvTranspose2d(a["in_channels"], a["out_channels"], tuple(a["kernel_size"]), tuple(a["stride"]),
                              tuple(a["padding"]), tuple(a["output_padding"]), a["groups"], a["bias"],
                              tuple(a["dilation"]))


RULES: dict[str, ModuleRule] = {
    "layer_norm": ModuleRule(_layer_norm),
    "group_norm": ModuleRule(lambda n: nn.GroupNorm(n.attrs["num_groups"], n.attrs["num_channels"], n.attrs["eps"],
                                                    n.attrs["affine"])),
    "gelu": ModuleRule(lambda n: nn.GELU(n.attrs["approximate"])),
    "softmax": ModuleRule(lambda n: nn.Softmax(n.attrs["dim"])),
    "zero": ModuleRule(lambda n: Zero(n.attrs["stride"])),
    "pad": ModuleRule(lambda n: nn.ConstantPad2d(tuple(n.attrs["padding"]), float(n.attrs["value"]))),
    "upsample": ModuleRule(_upsample),
    "conv_transpose2d": ModuleRule(_conv_transpose),
}
