"""Pruning through an op that couples its channels is refused with the reason, never silently wrong.

A LayerNorm over channels (ConvNeXt's LayerNorm2d), a GroupNorm or a softmax computes each output
channel from all of them: removing a channel changes the values of those kept, so the pruned network
could not equal the masked dense one.  fgir locks such a group: a mask naming it is a located error
with the reason, and ``fgir prune`` leaves it whole.  A BatchNorm normalizes channel by channel: its
group prunes, and the pruned network equals the masked dense one exactly.
"""

from __future__ import annotations

import pytest
import torch

import fgir
from fgir.diagnostics import FgirError
from fgir.ir.channel_groups import channel_groups
from prune_oracle import zero_pruned_inputs

NETWORK = """\
search_space:
  modules: [conv1, norm, act, conv2, pool, flat, fc{prune}]
  conv1: {{type: Conv2d, in_channels: 3, out_channels: 8, kernel_size: 3, padding: 1}}
  norm: {{type: {norm}, {width}: 8}}
  act: {{type: GELU}}
  conv2: {{type: Conv2d, in_channels: 8, out_channels: 8, kernel_size: 3, padding: 1}}
  pool: {{type: AdaptiveAvgPool2d, output_size: 1}}
  flat: {{type: Flatten}}
  fc: {{type: Linear, in_features: 8, out_features: 4}}
"""
MASK = [1, 0, 1, 1, 0, 1, 1, 1]


def spec(norm: str, width: str, prune: bool) -> str:
    text = NETWORK.format(norm=norm, width=width, prune=", prune" if prune else "")
    return text + (f"  prune: {{type: Prune, masks: {{conv1: {MASK}}}, init_model_file: dense.pt}}\n" if prune else "")


@pytest.mark.parametrize("norm, width", [("LayerNorm2d", "num_channels"), ("GroupNorm", "num_channels")])
def test_a_group_through_a_coupling_norm_is_refused_with_the_reason(tmp_path, norm, width):
    (tmp_path / "dense.yaml").write_text(spec(norm, width, False))
    (tmp_path / "pruned.yaml").write_text(spec(norm, width, True).replace("num_groups", ""))
    if norm == "GroupNorm":
        for name in ("dense.yaml", "pruned.yaml"):
            path = tmp_path / name
            path.write_text(path.read_text().replace("type: GroupNorm,", "type: GroupNorm, num_groups: 2,"))
    groups = channel_groups(fgir.compile(tmp_path / "dense.yaml", input="3x8x8"))
    locked = groups.any_by_name()["conv1"]
    assert "conv1" not in groups.by_name()
    op = "layer_norm" if norm == "LayerNorm2d" else "group_norm"
    assert locked.locked == f"'norm' ({op}) couples its channels: pruning them would change the values of those kept"
    with pytest.raises(FgirError) as info:
        fgir.compile(tmp_path / "pruned.yaml", input="3x8x8")
    assert info.value.message == f"channel group 'conv1' cannot be pruned: {locked.locked}"
    assert info.value.line == 10


def test_fgir_prune_leaves_a_coupled_group_whole(tmp_path, one_torch_thread):
    (tmp_path / "dense.yaml").write_text(spec("LayerNorm2d", "num_channels", False))
    fgir.save_model(fgir.to_torch(tmp_path / "dense.yaml", input="3x8x8", seed=0), tmp_path / "dense.pt")
    result = fgir.prune(tmp_path / "dense.yaml", tmp_path / "dense.pt", ratio=0.5, input="3x8x8")
    assert set(result.masks) == {"conv2"}   # conv1's group is locked by the LayerNorm: left whole


def test_a_batch_norm_group_prunes_and_equals_the_masked_dense_network(tmp_path, one_torch_thread):
    (tmp_path / "dense.yaml").write_text(spec("BatchNorm2d", "num_features", False))
    dense_graph = fgir.compile(tmp_path / "dense.yaml", input="3x8x8")
    dense = fgir.to_torch(dense_graph, seed=0).eval()
    with torch.no_grad():
        dense.norm.running_mean.uniform_(-1, 1)
        dense.norm.running_var.uniform_(0.5, 2)
    fgir.save_model(dense, tmp_path / "dense.pt")
    (tmp_path / "pruned.yaml").write_text(spec("BatchNorm2d", "num_features", True))
    pruned = fgir.to_torch(fgir.compile(tmp_path / "pruned.yaml", input="3x8x8")).eval()
    assert pruned.conv1.out_channels == sum(MASK) and pruned.norm.num_features == sum(MASK)
    zero_pruned_inputs(dense, channel_groups(dense_graph), {"conv1": MASK}, dense_graph)
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(pruned(x), dense(x)) or (pruned(x) - dense(x)).abs().max() <= 1e-6
