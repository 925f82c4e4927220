"""The DenseNet family's conventions: torchvision's initialisation.

torchvision's ``DenseNet`` initialises every convolution with ``kaiming_normal_(w)`` at its
defaults (fan-in, the leaky-ReLU gain with slope 0, i.e. sqrt(2)), BatchNorm weight 1 and
bias 0, and the classifier's bias 0; the classifier's weight keeps torch's default (so it
has no entry).  Quantization follows the format's rule (every conv but the stem's); there
is no row layout for ``Prune``: DenseNets prune by channel group (``masks:``).

Example:
    >>> DENSENET.init_json()["conv.weight"]
    ['kaiming_normal', {'mode': 'fan_in', 'nonlinearity': 'leaky_relu'}]
"""

from __future__ import annotations

from fgir.blocks.family import Family, Init, register_family

DENSENET = register_family(Family(
    "densenet",
    init={"conv.weight": Init("kaiming_normal", {"mode": "fan_in", "nonlinearity": "leaky_relu"}),
          "norm.weight": Init("ones"), "norm.bias": Init("zeros"),
          "dense.bias": Init("zeros")}))
