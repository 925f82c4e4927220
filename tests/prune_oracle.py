"""What a pruned network must equal: the dense one with its consumers' inputs of pruned channels zeroed.

Written from the definition of pruning, not from fgir's slicer: for each channel group's mask,
every layer reading the group (a conv or Linear, at the group's offset of its input channels;
after a flatten each channel spans height x width features) gets zero weights for the channels
the mask removes.  Everything else of the dense network stays as it is.
"""

from __future__ import annotations

import torch


def zero_pruned_inputs(dense: torch.nn.Module, groups, masks: dict[str, list[int]], graph) -> torch.nn.Module:
    """``dense`` (changed in place) with every pruned channel's input weights zeroed, for ``masks``."""
    by_name = groups.by_name()
    with torch.no_grad():
        for name, mask in masks.items():
            width = len(mask)
            for consumer in by_name[name].consumers:
                weight = dense.get_submodule(consumer.layer).weight
                source = graph[consumer.layer].inputs[0].type
                per_channel = 1 if not source.is_flat else weight.shape[1] // _channels_before_flatten(graph, consumer.layer)
                for c, keep in enumerate(mask):
                    if not keep:
                        start = (consumer.offset + c) * per_channel
                        weight[:, start:start + per_channel] = 0
            assert width == by_name[name].width
    return dense


def _channels_before_flatten(graph, layer: str) -> int:
    node = graph[layer].inputs[0]
    while node.type.is_flat:
        node = node.inputs[0]
    return node.type.channels
