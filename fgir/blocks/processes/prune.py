"""The Prune process: channel masks over a dense network, and its checkpoint; ``apply_prune`` applies it."""

from __future__ import annotations

from typing import Optional

from fgir.blocks.argtypes import BinaryCode
from fgir.blocks.processes.base import Process
from fgir.blocks.registry import register_process


@register_process
class Prune(Process):
    """Channel masks over a dense network, and the dense checkpoint to slice weights from.

    Either the guide's ResNet row layout (``chn_node_mask`` + ``chn_mask``) or
    ``masks: {group: [...]}`` over the channel groups ``fgir summary --groups`` lists.
    """

    def constructor(self, chn_node_mask: Optional[list[BinaryCode]] = None,
                    chn_mask: Optional[list[BinaryCode]] = None,
                    masks: Optional[dict] = None,
                    init_model_file: Optional[str] = None) -> None:
        rows = chn_node_mask is not None or chn_mask is not None
        if rows and masks is not None:
            self.fail("give either chn_node_mask and chn_mask, or masks, not both", masks, "masks")
        if not rows and masks is None:
            self.fail("Prune needs chn_node_mask and chn_mask, or masks")
        if rows and (chn_node_mask is None or chn_mask is None):
            missing = "chn_mask" if chn_mask is None else "chn_node_mask"
            self.fail(f"Prune needs {missing} too")
