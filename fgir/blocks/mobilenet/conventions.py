"""The MobileNet family's conventions: torchvision's initialisation (shared by MobileNetV2 and V3).

torchvision's ``MobileNetV2`` and ``MobileNetV3`` initialise every convolution
``kaiming_normal_(w, mode="fan_out")`` (torch's default nonlinearity, leaky ReLU with
slope 0, which has ReLU's gain) with zero bias — squeeze-excitation's 1x1 convs
included —, BatchNorm weight 1 and bias 0, and Linear weight ``normal(0, 0.01)``
with zero bias.  Quantization follows the format's rule (every conv but the stem);
pruning uses channel groups (``Prune(masks: ...)``): the family has no row layout.

Example:
    >>> MOBILENET.init["dense.weight"]
    Init(method='normal', params={'std': 0.01})
"""

from __future__ import annotations

from fgir.blocks.family import Family, Init, register_family
from fgir.blocks.module import Block

MOBILENET = register_family(Family(
    "mobilenet",
    init={"conv.weight": Init("kaiming_normal", {"mode": "fan_out"}),   # nonlinearity: torch's default
          "conv.bias": Init("zeros"),
          "norm.weight": Init("ones"), "norm.bias": Init("zeros"),
          "dense.weight": Init("normal", {"std": 0.01}), "dense.bias": Init("zeros")}))


class MobileNetFamilyBlock(Block):
    """A block following the MobileNet family's conventions."""

    family = MOBILENET


# torchvision's MobileNetV3 BatchNorm (TF's defaults): every BN of V3, stem and head included
V3_NORM = {"norm_eps": 0.001, "norm_momentum": 0.01}
