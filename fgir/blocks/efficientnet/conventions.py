"""The EfficientNet family's conventions: torchvision's initialisation; the format's quantization order.

* Initialisation (torchvision's ``EfficientNet``): convolutions Kaiming-normal, fan-out
  (torch's default nonlinearity, as torchvision leaves it), their biases (the
  squeeze-excitation's 1x1 convs) zero; BatchNorm weight 1, bias 0; the classifier's
  weight uniform in ±1/sqrt(out_features) (out, not fan-in) and its bias 0.
* Quantization: the format's own rule, every convolution but the stem's, in graph order.

Example:
    >>> EFFICIENTNET.init["dense.weight"].method, EFFICIENTNET.init["conv.weight"].params["mode"]
    ('uniform_fan_out', 'fan_out')
"""

from __future__ import annotations

from fgir.blocks.family import Family, Init, register_family

EFFICIENTNET = register_family(Family(
    "efficientnet",
    init={"conv.weight": Init("kaiming_normal", {"mode": "fan_out"}), "conv.bias": Init("zeros"),
          "norm.weight": Init("ones"), "norm.bias": Init("zeros"),
          "dense.weight": Init("uniform_fan_out"), "dense.bias": Init("zeros")}))
