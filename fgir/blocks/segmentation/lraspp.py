"""torchvision's ``lraspp_mobilenet_v3_large(num_classes, weights_backbone=None)``.

* ``backbone`` (:class:`MobileNetV3Taps`): torchvision's ``IntermediateLayerGetter`` over
  ``mobilenet_v3_large(dilated=True).features`` — children ``0`` … ``16`` (the MobileNet family's
  blocks, the last stage dilated 2 at stride 1), returning two taps: ``low``, the output of the
  block where the output stride reaches 8 (torchvision's ``stage_indices[-4]``, features 4, 40
  channels) and ``high``, the last (960 channels, stride 16).
* ``classifier`` (:class:`LRASPPHead`): ``cbr`` (1x1 conv, BN, ReLU to 128) scaled by ``scale``
  (global pool, 1x1 conv, sigmoid), upsampled bilinearly to the low tap's size, through
  ``high_classifier``, plus ``low_classifier(low)``.
* The result is upsampled bilinearly (align_corners False) to the input's size: N x classes x H x W
  (torchvision returns it as ``{"out": ...}``).

Both upsamplings take their size from a second input (the ``upsample`` op's two-input form), as
torchvision's ``F.interpolate(x, size=low.shape[-2:])``.  The backbone keeps the MobileNet
family's initialisation; the head torch's defaults, as torchvision leaves it.

Example:
    >>> import fgir
    >>> graph = fgir.compile("search_space:\\n  modules: [net]\\n  net: {type: LRASPP, num_class: 21}\\n",
    ...                      input="3x64x64")
    >>> graph.meta["params"], str(graph.output.type), str(graph["classifier.up"].type)
    (3221538, '21x64x64', '128x8x8')
"""

from __future__ import annotations

from typing import Literal

from fgir.blocks.argtypes import REQUIRED, Width
from fgir.blocks.common import ConvBNActivation
from fgir.blocks.family import Family, register_family
from fgir.blocks.layers import ACTIVATIONS, AdaptiveAvgPool2d, Conv2d
from fgir.blocks.layers_vision import Upsample
from fgir.blocks.mobilenet.conventions import MOBILENET
from fgir.blocks.mobilenet.networks import V3_SETTINGS, v3_features
from fgir.blocks.module import Block, Sequential, Value
from fgir.blocks.registry import register_block

SEGMENTATION = register_family(Family("segmentation"))   # the heads keep torch's default initialisation
INTER_CHANNELS = 128   # torchvision's LRASPPHead inter_channels


def low_tap(arch: str) -> int:
    """torchvision's ``stage_indices[-4]``: [0, the strided blocks' feature indices, the last][-4].

    >>> low_tap("large")
    4
    """
    setting = V3_SETTINGS[arch]
    strided = [i + 1 for i, row in enumerate(setting) if row[-1] > 1]
    return ([0] + strided + [len(setting) + 1])[-4]


@register_block
class MobileNetV3Taps(Block):
    """MobileNetV3's features (dilated last stage) returning the low tap and the last output."""

    family = MOBILENET

    def constructor(self, arch: Literal["large"] = "large", dilated: bool = True) -> None:
        for i, layer in enumerate(v3_features(arch, dilated)):
            setattr(self, str(i), layer)
        self.low = low_tap(arch)

    def forward(self, x: Value) -> tuple[Value, Value]:
        low = x
        for i, child in enumerate(self._children.values()):
            x = child(x)
            if i == self.low:
                low = x
        return low, x


@register_block
class LRASPPHead(Block):
    """torchvision's ``LRASPPHead(low_channels, high_channels, num_classes, inter_channels)``; takes
    (low, high)."""

    family = SEGMENTATION

    def constructor(self, low_channels: Width = REQUIRED, high_channels: Width = REQUIRED,
                    num_classes: Width = REQUIRED, inter_channels: Width = INTER_CHANNELS) -> None:
        self.cbr = ConvBNActivation(high_channels, inter_channels, 1)
        self.scale = Sequential(AdaptiveAvgPool2d(1), Conv2d(high_channels, inter_channels, 1, bias=False),
                                ACTIVATIONS["Sigmoid"]())
        self.low_classifier = Conv2d(low_channels, num_classes, 1)
        self.high_classifier = Conv2d(inter_channels, num_classes, 1)
        self.up = Upsample(mode="bilinear", align_corners=False)

    def forward(self, low: Value, high: Value) -> Value:
        x = self.cbr(high) * self.scale(high)
        x = self.up(x, low)   # to the low tap's size
        return self.low_classifier(low) + self.high_classifier(x)


@register_block
class LRASPP(Block):
    """torchvision's ``lraspp_mobilenet_v3_large(num_classes)``: N x num_class x H x W."""

    family = SEGMENTATION
    input_size = 224

    def constructor(self, backbone: Literal["mobilenet_v3_large"] = "mobilenet_v3_large",
                    num_class: Width = 21) -> None:
        self.backbone = MobileNetV3Taps(backbone.removeprefix("mobilenet_v3_"), True)
        setting = V3_SETTINGS["large"]
        low_channels = setting[low_tap("large") - 1][3]
        self.classifier = LRASPPHead(low_channels, 6 * setting[-1][3], num_class)
        self.upsample = Upsample(mode="bilinear", align_corners=False)

    def forward(self, x: Value) -> Value:
        low, high = self.backbone(x)
        return self.upsample(self.classifier(low, high), x)   # to the input's size
