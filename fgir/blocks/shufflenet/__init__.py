"""The ShuffleNetV2 family (torchvision's shufflenet_v2_x*): blocks and the network; importing it registers
them."""

from fgir.blocks.shufflenet.blocks import SHUFFLENET, ShuffleStage, ShuffleUnit
from fgir.blocks.shufflenet.network import WIDTHS, ShuffleNetV2

__all__ = ["SHUFFLENET", "ShuffleNetV2", "ShuffleStage", "ShuffleUnit", "WIDTHS"]
