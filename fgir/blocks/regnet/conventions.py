"""The RegNet family's conventions: torchvision's ``RegNet`` initialisation.

torchvision's ``RegNet.__init__`` draws every conv weight from ``normal(0, sqrt(2 / fan_out))``
with ``fan_out = kh * kw * out_channels`` — Kaiming-normal, fan-out, ReLU's gain — and leaves
conv biases (only squeeze-excitation's 1x1 convs have one) at torch's default; BatchNorm
weight 1, bias 0; the classifier ``normal(0, 0.01)``, bias 0.  Quantization follows the
format's rule (every conv but the stem's).  Pruning: channel groups; the grouped 3x3 convs
(``f.b``) tie the bottleneck width they read and write into one group, pruned by whole conv groups
(``group_width`` channels at a time, ``groups`` dropping with them; ``fgir.ir.ops.channel_rules.GROUPED``).

Example:
    >>> REGNET.init["conv.weight"].params, "conv.bias" in REGNET.init
    ({'mode': 'fan_out', 'nonlinearity': 'relu'}, False)
"""

from __future__ import annotations

from fgir.blocks.family import Family, Init, register_family
from fgir.blocks.module import Block

REGNET = register_family(Family(
    "regnet",
    init={"conv.weight": Init("kaiming_normal", {"mode": "fan_out", "nonlinearity": "relu"}),
          "norm.weight": Init("ones"), "norm.bias": Init("zeros"),
          "dense.weight": Init("normal", {"std": 0.01}), "dense.bias": Init("zeros")}))


class RegNetFamilyBlock(Block):
    """A block following the RegNet family's conventions."""

    family = REGNET
