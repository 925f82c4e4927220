"""The PyTorch backend: lowered IR → a trainable ``torch.fx.GraphModule``; fake quantization; pruned weights."""

from fgir.backends.torch.build import build_module
from fgir.backends.torch.checkpoint import CHECKPOINT_FORMAT, read_checkpoint, save_checkpoint

__all__ = ["CHECKPOINT_FORMAT", "build_module", "read_checkpoint", "save_checkpoint"]
