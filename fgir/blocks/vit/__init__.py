"""The ViT family: torchvision's VisionTransformer and its blocks; importing it registers them."""

from fgir.blocks.vit.conventions import VIT, ViTFamilyBlock
from fgir.blocks.vit.blocks import (ElasticEncoderStack, PatchEmbedding, TransformerEncoderBlock,
                                   TransformerEncoderStack)
from fgir.blocks.vit.network import VisionTransformer

__all__ = ["ElasticEncoderStack", "PatchEmbedding", "TransformerEncoderBlock", "TransformerEncoderStack", "VIT", "ViTFamilyBlock",
           "VisionTransformer"]
