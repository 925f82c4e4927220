"""The RegNet family: torchvision's regnet_y_400mf / y_800mf / x_400mf figures, checkpoints, ONNX, pruning
and diagnostics.  Ground truth is tests/reference_regnet.py (torchvision's code restated)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fgir
import reference_regnet as reference
from conftest import EXAMPLES
from family_parity import compile_error, load_both_ways, ort_diff, pruned_against_dense, pruned_by_ratio
from fgir.blocks.regnet import block_params
from fgir.diagnostics import FgirError
from fgir.ir.channel_groups import channel_groups
from reference_counting import reference_macs

pytest.importorskip("onnxruntime")
torch.set_num_threads(1)

# variant, reference builder, params, torchvision's _ops (GMACs)
VARIANTS = [("y_400mf", reference.regnet_y_400mf, 4_344_144, 0.402),
            ("y_800mf", reference.regnet_y_800mf, 6_432_512, 0.834),
            ("x_400mf", reference.regnet_x_400mf, 5_495_976, 0.414)]
SMALL = "3x64x64"


def spec(variant: str, num_class: int = 1000) -> str:
    return ("search_space:\n  modules: [regnet]\n"
            f"  regnet: {{type: RegNet, variant: {variant}, num_class: {num_class}}}\n")


@pytest.mark.parametrize("variant,builder,params,gmacs", VARIANTS)
def test_params_and_macs_are_torchvisions(variant, builder, params, gmacs):
    graph = fgir.compile(spec(variant))
    model = builder()
    assert graph.meta["input"] == [3, 224, 224]
    assert graph.meta["params"] == params == sum(p.numel() for p in model.parameters())
    assert graph.meta["macs"] == reference_macs(model)
    assert abs(graph.meta["macs"] / 1e9 - gmacs) / gmacs < 0.01


@pytest.mark.parametrize("variant,builder", [(v, b) for v, b, _, _ in VARIANTS])
def test_block_params_are_from_init_params(variant, builder):
    """fgir's float64 arithmetic gives torch's float32 widths (BlockParams.from_init_params)."""
    depth, w_0, w_a, w_m, group_width, se_ratio = fgir.blocks.regnet.VARIANTS[variant]
    theirs = reference.BlockParams.from_init_params(depth, w_0, w_a, w_m, group_width, se_ratio=se_ratio)
    assert block_params(variant) == (theirs.depths, theirs.widths, theirs.group_widths)


def test_the_example_is_regnet_y_400mf():
    example, direct = fgir.compile(EXAMPLES / "regnet_y_400mf.yaml"), fgir.compile(spec("y_400mf"))
    assert [(n.name, n.op, n.attrs) for n in example] == [(n.name, n.op, n.attrs) for n in direct]


@pytest.mark.parametrize("variant,builder", [("y_400mf", reference.regnet_y_400mf),
                                             ("x_400mf", reference.regnet_x_400mf)])   # with and without SE
def test_a_reference_checkpoint_loads_strictly_both_ways_and_computes_the_same(variant, builder):
    torch.manual_seed(0)
    ref = builder()
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    assert load_both_ways(fgir.compile(spec(variant), input=SMALL), ref, x) <= 1e-5


def test_onnx_runtime_matches_torch():
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    shape, diff = ort_diff(fgir.compile(EXAMPLES / "regnet_y_400mf.yaml", input=SMALL), 2, x)
    assert shape == (2, 1000) and diff <= 1e-4


def test_fresh_weights_follow_torchvisions_init():
    weights = fgir.to_torch(fgir.compile(spec("y_400mf"), input=SMALL), seed=0).state_dict()
    conv = weights["trunk_output.block3.block3-1.f.a.0.weight"]   # normal(0, sqrt(2 / fan_out)), fan_out = 208
    assert abs(conv.std().item() - (2 / 208) ** 0.5) < 0.005
    assert abs(weights["fc.weight"].std().item() - 0.01) < 5e-4 and not weights["fc.bias"].any()
    assert weights["trunk_output.block3.block3-1.f.se.fc1.bias"].any()   # SE biases: torch's default, as theirs


# -- channel groups and pruning ------------------------------------------------------------
def test_a_grouped_conv_ties_its_bottleneck_in_whole_conv_groups_and_the_rest_is_free():
    groups = channel_groups(fgir.compile(EXAMPLES / "regnet_y_400mf.yaml", input=SMALL)).any_by_name()
    block = "trunk_output.block2.block2-1.f"
    bottleneck = groups[f"{block}.a.0"]   # a, b (grouped, 13 conv groups of 8) and the SE's fc2, read by fc1 and c
    assert (bottleneck.locked, bottleneck.unit, bottleneck.dense_width) == (None, 8, 104)
    assert bottleneck.producers == [f"{block}.a.0", f"{block}.b.0", f"{block}.se.fc2"]
    assert [c.layer for c in bottleneck.consumers] == [f"{block}.se.fc1", f"{block}.c.0"]
    stream = groups["trunk_output.block2.block2-0.proj.0"]   # a stage's residual stream: proj and every f.c
    assert not stream.locked and stream.producers == ["trunk_output.block2.block2-0.proj.0"] + [
        f"trunk_output.block2.block2-{i}.f.c.0" for i in range(3)]
    assert not groups["trunk_output.block2.block2-1.f.se.fc1"].locked


def test_prunes_exactly_where_groups_are_free(tmp_path):
    got, want, unpruned = pruned_against_dense(tmp_path, EXAMPLES / "regnet_y_400mf.yaml",
                                               ["stem.0", "trunk_output.block2.block2-0.proj.0",
                                                "trunk_output.block3.block3-2.f.se.fc1"], seed=3)
    assert (got - want).abs().max().item() <= 1e-5
    assert (got - unpruned).abs().max().item() > 1e-3


def test_a_bottleneck_mask_that_splits_a_conv_group_is_refused(tmp_path):
    with pytest.raises(FgirError, match="by whole conv groups of 8 channels"):
        pruned_against_dense(tmp_path, EXAMPLES / "regnet_y_400mf.yaml", ["trunk_output.block2.block2-1.f.a.0"], 1)



def test_fgir_prune_by_ratio_slices_every_group_exactly_the_bottlenecks_by_whole_conv_groups(tmp_path):
    kept, diff, shape = pruned_by_ratio(tmp_path, EXAMPLES / "regnet_y_400mf.yaml", 0.3)
    assert kept < 0.6 and diff <= 1e-5 and shape == (2, 1000)
    pruned = fgir.compile(tmp_path / "pruned.yaml", input=SMALL)
    b = pruned["trunk_output.block2.block2-1.f.b.0"].attrs   # 13 conv groups of 8: int(13 * 0.7) = 9 stay
    assert (b["in_channels"], b["out_channels"], b["groups"]) == (72, 72, 9)

# -- diagnostics --------------------------------------------------------------------------------
def test_an_unknown_variant_names_the_choices(write_spec):
    error = compile_error(write_spec("""
        search_space:
          modules: [net]
          net:
            type: RegNet
            variant: y_16gf
        """), "3x32x32")
    assert error.message == "expected one of y_400mf, y_800mf, x_400mf, got 'y_16gf'"
    assert error.line == 5


def test_a_group_width_that_does_not_divide_the_bottleneck_is_located(write_spec):
    error = compile_error(write_spec("""
        search_space:
          modules: [stage]
          stage: {type: AnyStage, width_in: 3, width_out: 48, depth: 2, group_width: 32}
        """), "3x32x32")
    assert error.message == "the bottleneck width 48 is not a multiple of group_width 32"
    assert (error.line, error.column) == (3, 78)
