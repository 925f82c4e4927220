"""The ShuffleNetV2 family: torchvision's shufflenet_v2_x* figures, checkpoints, ONNX, the real split and
shuffle ops, pruning and diagnostics.  Ground truth is tests/reference_shufflenet.py (torchvision's code
restated)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fgir
import reference_shufflenet as reference
from conftest import EXAMPLES
from family_parity import compile_error, load_both_ways, ort_diff, pruned_against_dense, pruned_by_ratio
from fgir.ir.channel_groups import channel_groups
from reference_counting import reference_macs

pytest.importorskip("onnxruntime")
torch.set_num_threads(1)

# width, reference builder, params, torchvision's _ops (GMACs; 0.145 is the figure for x1_0)
WIDTHS = [(0.5, reference.shufflenet_v2_x0_5, 1_366_792, 0.04), (1.0, reference.shufflenet_v2_x1_0, 2_278_604, 0.145),
          (1.5, reference.shufflenet_v2_x1_5, 3_503_624, 0.30), (2.0, reference.shufflenet_v2_x2_0, 7_393_996, 0.58)]
SMALL = "3x64x64"


def spec(width: float) -> str:
    return f"search_space:\n  modules: [net]\n  net: {{type: ShuffleNetV2, width: {width}}}\n"


@pytest.mark.parametrize("width,builder,params,gmacs", WIDTHS)
def test_params_and_macs_are_torchvisions(width, builder, params, gmacs):
    graph = fgir.compile(spec(width))
    model = builder()
    assert graph.meta["params"] == params == sum(p.numel() for p in model.parameters())
    assert graph.meta["macs"] == reference_macs(model)
    assert abs(graph.meta["macs"] / 1e9 - gmacs) / gmacs < 0.02   # torchvision rounds x0_5's to 0.04


def test_split_and_shuffle_are_real_ops_not_convs():
    graph = fgir.compile(EXAMPLES / "shufflenet_v2_x1_0.yaml", input=SMALL)
    convs = [n for n in graph if n.op == "conv2d"]
    assert len(convs) == sum(isinstance(m, torch.nn.Conv2d) for m in reference.shufflenet_v2_x1_0().modules())
    assert sum(n.op == "channel_shuffle" for n in graph) == 16   # one per unit
    halves = [n for n in graph if n.op == "slice" and n.name.startswith("stage3.1.")]
    assert [(n.attrs["start"], n.attrs["end"], str(n.type)) for n in halves] == [(0, 116, "116x4x4"),
                                                                                   (116, None, "116x4x4")]


def test_the_fine_grained_network_is_the_coarse_one():
    fine = fgir.compile(EXAMPLES / "shufflenet_fine_grained.yaml", input=SMALL)
    coarse = fgir.compile(EXAMPLES / "shufflenet_v2_x1_0.yaml", input=SMALL)
    assert fine.meta["params"] == coarse.meta["params"] == 2_278_604 and fine.meta["macs"] == coarse.meta["macs"]
    torch.manual_seed(0)
    ref = reference.shufflenet_v2_x1_0()
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    assert load_both_ways(fine, ref, x) <= 1e-5   # torchvision's keys: its module names are torchvision's


def test_a_reference_checkpoint_loads_strictly_both_ways_and_computes_the_same():
    torch.manual_seed(0)
    ref = reference.shufflenet_v2_x0_5()
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    assert load_both_ways(fgir.compile(spec(0.5), input=SMALL), ref, x) <= 1e-5


def test_onnx_runtime_matches_torch():
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    shape, diff = ort_diff(fgir.compile(EXAMPLES / "shufflenet_v2_x1_0.yaml", input=SMALL), 2, x)
    assert shape == (2, 1000) and diff <= 1e-4


# -- channel groups and pruning ----------------------------------------------------------------
def test_branch2_inner_channels_are_a_free_group_and_the_split_and_shuffle_lock_the_rest():
    groups = channel_groups(fgir.compile(EXAMPLES / "shufflenet_v2_x1_0.yaml", input=SMALL))
    inner = groups.by_name()["stage3.1.branch2.0"]
    assert inner.producers == ["stage3.1.branch2.0", "stage3.1.branch2.3"]
    assert [c.layer for c in inner.consumers] == ["stage3.1.branch2.5"]
    free = set(groups.by_name())
    assert free == {"conv1.0", "conv5.0"} | {
        f"stage{s}.{i}.branch2.0" for s, n in ((2, 4), (3, 8), (4, 4)) for i in range(n)}
    unit_out = groups.any_by_name()["stage3.1.branch2.5"]
    assert "channel_shuffle" in unit_out.locked


def test_prunes_exactly_through_the_branches(tmp_path):
    got, want, unpruned = pruned_against_dense(tmp_path, EXAMPLES / "shufflenet_v2_x1_0.yaml",
                                               ["conv1.0", "stage2.0.branch2.0",
                                                "stage3.1.branch2.0", "conv5.0"], seed=2)
    assert (got - want).abs().max().item() <= 1e-5
    assert (got - unpruned).abs().max().item() > 1e-3



def test_fgir_prune_by_ratio_slices_the_free_groups_exactly(tmp_path):
    kept, diff, shape = pruned_by_ratio(tmp_path, EXAMPLES / "shufflenet_v2_x1_0.yaml", 0.3)
    assert kept < 0.8 and diff <= 1e-5 and shape == (2, 1000)

# -- diagnostics --------------------------------------------------------------------------------
def test_a_width_not_offered_is_located(write_spec):
    error = compile_error(write_spec("""
        search_space:
          modules: [net]
          net:
            type: ShuffleNetV2
            width: 0.75
        """), "3x32x32")
    assert error.message == "expected one of 0.5, 1.0, 1.5, 2.0, got 0.75"
    assert (error.line, error.column) == (5, 12)


def test_a_stride_1_unit_that_changes_width_is_located(write_spec):
    error = compile_error(write_spec("""
        search_space:
          modules: [unit]
          unit: {type: ShuffleUnit, inp: 3, oup: 16}
        """), "3x32x32")
    assert error.message.startswith("a stride-1 unit keeps its width: inp 3 must equal oup 16")
    assert (error.line, error.column) == (3, 34)
