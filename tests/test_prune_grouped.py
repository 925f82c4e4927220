"""Pruning networks with grouped and depthwise convolutions (regressions of the first wave's prune code).

* A pruned network with a grouped conv passed ``fgir check`` and then failed at compile, blaming the
  user's checkpoint: the slicer expected a conv weight of (out, in, k, k), ignoring ``groups``.
* A depthwise conv got a channel group of its own, so pruning a MobileNetV2-style network ended in
  "internal compiler error: KeyError".
"""

from __future__ import annotations

import random
import textwrap

import pytest
import torch

import fgir
from fgir.blocks import BatchNorm2d, Block, Conv2d, ReLU, Width, register_block
from fgir.diagnostics import FgirError
from fgir.ir.channel_groups import channel_groups
from prune_oracle import zero_pruned_inputs

GROUPED = """\
search_space:
  modules: [init, layer, head]
  init: {type: SmallInputInitialBlock, init_plane: 16}
  layer: {type: BasicLayer, in_plane: 16, expansion: 4, block: {type: BottleneckBlock},
          layer_reps: [1, 1], groups: 2, base_width: 32}
  head: {type: LinearClassificationHead, num_class: 10}
"""


@register_block(replace=True)
class DepthwiseResidual(Block):
    """1x1 expand, 3x3 depthwise, 1x1 project, plus the input: an inverted residual written by a user."""

    def constructor(self, channels: Width, expand: Width) -> None:
        hidden = channels * expand
        self.expand = Conv2d(channels, hidden, 1, bias=False)
        self.bn1 = BatchNorm2d(hidden)
        self.relu1 = ReLU()
        self.dw = Conv2d(hidden, hidden, 3, padding=1, groups=hidden, bias=False)
        self.bn2 = BatchNorm2d(hidden)
        self.relu2 = ReLU()
        self.project = Conv2d(hidden, channels, 1, bias=False)
        self.bn3 = BatchNorm2d(channels)

    def forward(self, x):
        out = x
        for child in (self.expand, self.bn1, self.relu1, self.dw, self.bn2, self.relu2, self.project, self.bn3):
            out = child(out)
        return out + x


DEPTHWISE = """\
search_space:
  modules: [stem, bn, block, head]
  stem: {type: Conv2d, in_channels: 3, out_channels: 8, kernel_size: 3, padding: 1, bias: false}
  bn: {type: BatchNorm2d}
  block: {type: DepthwiseResidual, channels: 8, expand: 4}
  head: {type: LinearClassificationHead, num_class: 10}
"""


def with_prune(network: str) -> str:
    return network.replace("head]\n", "head, prune]\n", 1)


def random_mask(width: int, rng: random.Random) -> list[int]:
    mask = [rng.randint(0, 1) for _ in range(width)]
    mask[rng.randrange(width)] = 1
    return mask


def pruned_against_dense(tmp_path, network: str, group_names: list[str], seed: int = 0):
    """(pruned output, dense-with-pruned-inputs-zeroed output) on the same random input."""
    dense_graph = fgir.compile(network, input="3x16x16")
    groups = channel_groups(dense_graph)
    dense = fgir.to_torch(dense_graph, seed=seed).eval()
    from fgir.testing.weights import randomize_batch_norm
    randomize_batch_norm(dense, seed)
    torch.save(dense.state_dict(), tmp_path / "dense.pt")
    rng = random.Random(seed)
    masks = {name: random_mask(groups.by_name()[name].width, rng) for name in group_names}
    prune = textwrap.indent(f"prune: {{type: Prune, masks: {masks}, init_model_file: dense.pt}}\n", "  ")
    (tmp_path / "pruned.yaml").write_text(with_prune(network) + prune)
    pruned = fgir.to_torch(fgir.compile(tmp_path / "pruned.yaml", input="3x16x16")).eval()
    zero_pruned_inputs(dense, groups, masks, dense_graph)
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return pruned(x), dense(x)


def test_a_network_with_grouped_convs_prunes_its_other_groups_exactly(tmp_path):
    groups = channel_groups(fgir.compile(GROUPED, input="3x16x16"))
    stage = groups.group_of("layer.layer1.0.add")
    got, want = pruned_against_dense(tmp_path, GROUPED, [stage])
    assert (got - want).abs().max().item() <= 1e-5


def test_a_group_a_grouped_conv_reads_is_refused_with_the_reason(tmp_path):
    (tmp_path / "s.yaml").write_text(with_prune(GROUPED) + "  prune: {type: Prune, masks: "
                                     f"{{layer.layer1.0.conv1: {[1, 0] * 16}}}}}\n")
    with pytest.raises(FgirError) as info:
        fgir.compile(tmp_path / "s.yaml", input="3x16x16")
    assert info.value.message == ("channel group 'layer.layer1.0.conv1' cannot be pruned: grouped "
                                  "convolution 'layer.layer1.0.conv2' reads it")
    assert info.value.line == 7


def test_a_depthwise_conv_ties_its_input_and_output_channels():
    groups = channel_groups(fgir.compile(DEPTHWISE, input="3x16x16")).by_name()
    assert groups["block.expand"].producers == ["block.expand", "block.dw"]
    assert [(c.layer, c.offset) for c in groups["block.expand"].consumers] == [("block.project", 0)]
    assert groups["stem"].producers == ["stem", "block.project"]


def test_a_depthwise_network_prunes_exactly(tmp_path):
    got, want = pruned_against_dense(tmp_path, DEPTHWISE, ["block.expand", "stem"], seed=3)
    assert (got - want).abs().max().item() <= 1e-5
