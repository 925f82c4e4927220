"""Pruning networks with grouped and depthwise convolutions (regressions of the first wave's prune code).

* A pruned network with a grouped conv passed ``fgir check`` and then failed at compile, blaming the
  user's checkpoint: the slicer expected a conv weight of (out, in, k, k), ignoring ``groups``.
* A depthwise conv got a channel group of its own, so pruning a MobileNetV2-style network ended in
  "internal compiler error: KeyError".

A grouped convolution as wide as its input (ResNeXt's and RegNet's 3x3) is pruned by whole conv groups: the
channels it reads and writes are one channel group, kept or dropped a conv group at a time, and its ``groups``
falls with them.  The oracle (tests/prune_oracle.py) zeroes the pruned channels' inputs of the group's
readers, which the grouped convolution is not (a conv group's outputs read only that conv group's inputs).
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


REGNET = """\
search_space:
  modules: [stem, bn, relu, s1, s2, head]
  stem: {type: Conv2d, in_channels: 3, out_channels: 16, kernel_size: 3, stride: 2, padding: 1, bias: false}
  bn: {type: BatchNorm2d}
  relu: {type: ReLU}
  s1: {type: AnyStage, width_in: 16, width_out: 32, depth: 2, group_width: 8, se_ratio: 0.25, stage_index: 1}
  s2: {type: AnyStage, width_in: 32, width_out: 48, depth: 1, group_width: 8, se_ratio: 0.25, stage_index: 2}
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


def test_a_mask_that_keeps_part_of_a_conv_group_is_refused_at_the_mask(tmp_path):
    (tmp_path / "s.yaml").write_text(with_prune(GROUPED) + "  prune: {type: Prune, masks: "
                                     f"{{layer.layer1.0.conv1: {[1] * 16 + [0] * 16 + [1] * 32}}}}}\n")
    with pytest.raises(FgirError) as info:
        fgir.compile(tmp_path / "s.yaml", input="3x16x16")
    assert len(info.value.errors) == 1
    assert info.value.message == ("mask 'layer.layer1.0.conv1' keeps some of channels 0 to 31 and not the others, "
                                  "but a grouped convolution prunes group 'layer.layer1.0.conv1' by whole conv "
                                  "groups of 32 channels")
    assert (info.value.line, info.value.column) == (7, 54)


def test_a_grouped_conv_as_wide_as_its_input_ties_it_to_its_output_in_whole_conv_groups():
    groups = channel_groups(fgir.compile(GROUPED, input="3x16x16"))
    bottleneck = groups.by_name()["layer.layer1.0.conv1"]
    assert (bottleneck.unit, bottleneck.producers) == (32, ["layer.layer1.0.conv1", "layer.layer1.0.conv2"])
    assert [c.layer for c in bottleneck.consumers] == ["layer.layer1.0.conv3"]
    assert [g.name for g in groups.locked] == ["head.linear"]


@pytest.mark.parametrize("network, ratio, kept_groups", [
    (GROUPED, 0.5, {"layer.layer1.0.conv2": 1, "layer.layer2.0.conv2": 1}),
    (REGNET, 0.5, {"s1.block1-0.f.b.0": 2, "s1.block1-1.f.b.0": 2, "s2.block2-0.f.b.0": 3})])
def test_pruned_by_ratio_grouped_convs_drop_whole_conv_groups_and_equal_the_masked_dense_net(
        tmp_path, network, ratio, kept_groups):
    """ResNeXt-style (2 conv groups of 32) and RegNet-Y-style (conv groups of 8, squeeze-excitation) nets."""
    import numpy as np
    import onnxruntime as ort

    from fgir.testing.weights import randomize_batch_norm

    dense_graph = fgir.compile(network, input="3x16x16")
    dense = randomize_batch_norm(fgir.to_torch(dense_graph, seed=1), 1).eval()
    result = fgir.prune(network, dense, ratio=ratio, input="3x16x16")
    result.write(tmp_path / "pruned.yaml")
    graph = fgir.compile(tmp_path / "pruned.yaml", input="3x16x16")
    assert (result.params, result.macs) == (graph.meta["params"], graph.meta["macs"])
    assert {n.name: n.attrs["groups"] for n in graph if n.name in kept_groups} == kept_groups
    groups = channel_groups(dense_graph).by_name()
    for name, mask in result.masks.items():   # whole conv groups kept or dropped
        unit = groups[name].unit
        assert all(len(set(mask[i:i + unit])) == 1 for i in range(0, len(mask), unit))
    pruned = fgir.to_torch(graph).eval()
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        unpruned = dense(x)
        zero_pruned_inputs(dense, channel_groups(dense_graph), result.masks, dense_graph)
        got, want = pruned(x), dense(x)
    assert (got - want).abs().max().item() <= 1e-5 < (got - unpruned).abs().max().item()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(fgir.to_onnx(graph, weights=pruned).SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    assert np.abs(session.run(None, {"input": x.numpy()})[0] - got.numpy()).max() <= 1e-4


def test_a_depthwise_conv_ties_its_input_and_output_channels():
    groups = channel_groups(fgir.compile(DEPTHWISE, input="3x16x16")).by_name()
    assert groups["block.expand"].producers == ["block.expand", "block.dw"]
    assert [(c.layer, c.offset) for c in groups["block.expand"].consumers] == [("block.project", 0)]
    assert groups["stem"].producers == ["stem", "block.project"]


def test_a_depthwise_network_prunes_exactly(tmp_path):
    got, want = pruned_against_dense(tmp_path, DEPTHWISE, ["block.expand", "stem"], seed=3)
    assert (got - want).abs().max().item() <= 1e-5
