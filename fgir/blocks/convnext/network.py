"""The ConvNeXt family's network: torchvision's ``ConvNeXt`` as ``convnext_tiny``, ``_small``, ``_base``.

Same parameter tensors under the same ``state_dict`` keys: ``features.0`` the stem
(4x4 stride-4 conv with bias, ``LayerNorm2d``), then stages of CNBlocks
(``features.1``, ``.3``, ``.5``, ``.7``) with downsampling layers between them
(``features.2``, ``.4``, ``.6``: ``LayerNorm2d`` and a 2x2 stride-2 conv),
``avgpool``, and ``classifier`` (``LayerNorm2d``, ``Flatten``, ``Linear``).  The
drop rate of stochastic depth grows linearly over all blocks, as torchvision's.
``variant`` picks torchvision's widths and depths; ``dims`` and ``depths`` (and the
drop rate) may be given to override them, which is torchvision's ``ConvNeXt(...)``
class with that block setting.

Example:
    >>> import fgir
    >>> graph = fgir.compile("search_space:\\n  modules: [net]\\n  net: {type: ConvNeXt, variant: tiny}\\n")
    >>> graph.meta["params"], graph["features.7.2.stochastic_depth"].attrs["p"]
    (28589128, 0.1)
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from fgir.blocks.argtypes import Count, Range, Width
from fgir.blocks.layers import AdaptiveAvgPool2d, Conv2d, Flatten, Linear
from fgir.blocks.layers_vision import LayerNorm2d
from fgir.blocks.module import Sequential
from fgir.blocks.registry import register_block
from fgir.blocks.convnext.blocks import ConvNeXtDownsample, ConvNeXtStage
from fgir.blocks.convnext.conventions import NORM_EPS, ConvNeXtFamilyBlock, stochastic_depth_schedule

Probability = Annotated[float, Range(0, 1)]

# dims, depths, stochastic_depth_prob: torchvision's builders
VARIANTS = {"tiny": ([96, 192, 384, 768], [3, 3, 9, 3], 0.1),
            "small": ([96, 192, 384, 768], [3, 3, 27, 3], 0.4),
            "base": ([128, 256, 512, 1024], [3, 3, 27, 3], 0.5)}


@register_block
class ConvNeXt(ConvNeXtFamilyBlock):
    """torchvision's ``convnext_<variant>(num_classes=num_class)``; its widths, depths and drop rate may be
    overridden."""

    input_size = 224

    def constructor(self, variant: Literal["tiny", "small", "base"] = "tiny", num_class: Width = 1000,
                    dims: Optional[list[Width]] = None, depths: Optional[list[Count]] = None,
                    stochastic_depth_prob: Optional[Probability] = None, layer_scale: float = 1e-6) -> None:
        default_dims, default_depths, default_prob = VARIANTS[variant]
        if dims is not None and len(dims) != len(depths if depths is not None else default_depths):
            blame, arg = (depths, "depths") if depths is not None else (dims, "dims")
            self.fail(f"dims has {len(dims)} stages but depths has "
                      f"{len(depths if depths is not None else default_depths)}: one width a stage", blame, arg)
        if depths is not None and dims is None and len(depths) != len(default_dims):
            self.fail(f"depths has {len(depths)} stages but {variant}'s dims have {len(default_dims)}: give dims "
                      "too", depths, "depths")
        dims = list(dims) if dims is not None else default_dims
        depths = list(depths) if depths is not None else default_depths
        prob = stochastic_depth_prob if stochastic_depth_prob is not None else default_prob
        schedule = stochastic_depth_schedule(prob, sum(depths))
        layers = [Sequential(Conv2d(3, dims[0], 4, 4), LayerNorm2d(dims[0], eps=NORM_EPS))]
        start = 0
        for i, (dim, depth) in enumerate(zip(dims, depths)):
            layers.append(ConvNeXtStage(dim, depth, layer_scale, schedule[start:start + depth]))
            start += depth
            if i + 1 < len(dims):
                layers.append(ConvNeXtDownsample(dim, dims[i + 1]))
        self.features = Sequential(*layers)
        self.avgpool = AdaptiveAvgPool2d(1)
        self.classifier = Sequential(LayerNorm2d(dims[-1], eps=NORM_EPS), Flatten(), Linear(dims[-1], num_class))
