"""The ConvNeXt family: torchvision's convnext_tiny / small / base figures, checkpoints, ONNX, pruning and
diagnostics.

Ground truth is tests/reference_convnext.py (torchvision's ConvNeXt restated).  Full-size models are
checked statically (params and MACs from fgir.compile); numerics run on a small ConvNeXt built by the
same builder (dims 16, 32; depths 2, 1) at 32x32.
"""

from __future__ import annotations

import random

import pytest
import torch

import fgir
import reference_convnext as reference
from conftest import EXAMPLES
from fgir.ir.channel_groups import channel_groups
from family_parity import assert_pruned_is_masked_dense, every_tensor_counts, only_error, ort_diff, sample


# variant, params and GFLOPS (MACs) of torchvision's weights metadata
FULL = [("tiny", 28_589_128, 4.456), ("small", 50_223_688, 8.684), ("base", 88_591_464, 15.355)]
SMALL = "search_space:\n  modules: [net]\n  net: {type: ConvNeXt, num_class: 10, dims: [16, 32], depths: [2, 1], " \
        "stochastic_depth_prob: 0.2}\n"
INPUT = "3x32x32"

# fine-grained module names → the coarse network's (the example's header says so)
KEY_MAP = [("stem.", "features.0.0."), ("stem_norm.", "features.0.1."), ("stage1.", "features.1."),
           ("down1.", "features.2."), ("stage2.", "features.3."), ("down2.", "features.4."),
           ("stage3.", "features.5."), ("down3.", "features.6."), ("stage4.", "features.7."),
           ("norm.", "classifier.0."), ("fc.", "classifier.2.")]


def coarse_key(key: str) -> str:
    return next((new + key[len(old):] for old, new in KEY_MAP if key.startswith(old)), key)


def random_reference(seed: int) -> reference.ConvNeXt:
    torch.manual_seed(seed)
    model = reference.convnext([16, 32], [2, 1], 0.2, 10).eval()
    return every_tensor_counts(model)


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


# -- full size, statically ---------------------------------------------------------------
@pytest.mark.parametrize("variant,params,gmacs", FULL)
def test_params_and_macs_are_torchvisions(variant, params, gmacs):
    graph = fgir.compile(f"search_space:\n  modules: [net]\n  net: {{type: ConvNeXt, variant: {variant}}}\n")
    assert graph.meta["input"] == [3, 224, 224] and graph.meta["params"] == params
    assert abs(graph.meta["macs"] / 1e9 - gmacs) / gmacs < 0.01


def reference_macs(model: torch.nn.Module, size: int) -> int:
    """Conv2d and Linear multiply-adds by forward hooks; a Linear on a channels-last image computes
    its products at every position (tests/reference_counting.py counts one, for flat inputs)."""
    total = 0

    def count(module, inputs, output):
        nonlocal total
        if isinstance(module, torch.nn.Conv2d):
            kh, kw = module.kernel_size
            total += output[0].numel() * (module.in_channels // module.groups) * kh * kw
        else:
            total += output[0].numel() // module.out_features * module.in_features * module.out_features

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (torch.nn.Conv2d,
                                                                                        torch.nn.Linear))]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, size, size))
    for hook in hooks:
        hook.remove()
    return total


def test_params_and_macs_are_the_references():
    graph = fgir.compile(SMALL, input=INPUT)
    assert graph.meta["params"] == sum(p.numel() for p in random_reference(0).parameters())
    assert graph.meta["macs"] == reference_macs(random_reference(0), 32)


def test_the_examples_are_convnext_tiny_coarse_and_fine():
    coarse, fine = fgir.compile(EXAMPLES / "convnext_tiny.yaml"), fgir.compile(EXAMPLES / "convnext_fine_grained.yaml")
    assert coarse.meta["params"] == fine.meta["params"] == 28_589_128
    assert coarse.meta["macs"] == fine.meta["macs"] and round(coarse.meta["macs"] / 1e9, 3) == 4.456
    assert coarse["features.1.0.block.1"].type.describe() == "a 56x56x96 tensor (HxWxC)"
    rates = [n.attrs["p"] for n in coarse if n.op == "stochastic_depth"]
    assert rates == [n.attrs["p"] for n in fine if n.op == "stochastic_depth"]
    assert len(rates) == 18 and rates[0] == 0.0 and rates[-1] == 0.1 and rates == sorted(rates)


# -- numerics on the small ConvNeXt --------------------------------------------------------
def test_a_reference_checkpoint_loads_strictly_both_ways_and_computes_the_same():
    ref = random_reference(0)
    model = fgir.to_torch(fgir.compile(SMALL, input=INPUT), seed=5).eval()
    assert list(model.state_dict()) == list(ref.state_dict())
    assert "features.1.0.layer_scale" in model.state_dict()
    assert tuple(model.state_dict()["features.1.1.block.3.weight"].shape) == (64, 16)   # nn.Linear's (out, in)
    model.load_state_dict(ref.state_dict(), strict=True)
    torch.manual_seed(9)
    back = reference.convnext([16, 32], [2, 1], 0.2, 10).eval()
    back.load_state_dict(model.state_dict(), strict=True)
    assert [m.p for m in model.modules() if type(m).__name__ == "StochasticDepth"] == [0.0, 0.1, 0.2]
    x = sample()
    with torch.no_grad():
        want = ref(x)
        assert want.shape == (2, 10)
        assert (model(x) - want).abs().max().item() <= 1e-5
        assert (back(x) - want).abs().max().item() <= 1e-5


def test_onnx_runtime_matches_torch():
    graph = fgir.compile(SMALL, input=INPUT)
    model = fgir.to_torch(graph).eval()
    model.load_state_dict(random_reference(2).state_dict())
    shape, diff = ort_diff(graph, 2, sample(3).numpy(), model)
    assert shape == (2, 10) and diff <= 1e-4


def test_the_fine_grained_tiny_computes_the_coarse_one():
    fine = fgir.to_torch(fgir.compile(EXAMPLES / "convnext_fine_grained.yaml", input=INPUT)).eval()
    coarse = fgir.to_torch(fgir.compile(EXAMPLES / "convnext_tiny.yaml", input=INPUT), seed=3).eval()
    ours, theirs = fine.state_dict(), coarse.state_dict()
    assert [coarse_key(k) for k in ours] == list(theirs)
    with torch.no_grad():   # layer scales of 1e-6 would hide the blocks
        for value in theirs.values():
            value.normal_(std=0.05)
    fine.load_state_dict({k: theirs[coarse_key(k)] for k in ours}, strict=True)
    x = sample(5)
    with torch.no_grad():
        assert (fine(x) - coarse(x)).abs().max().item() <= 1e-5


# -- pruning -------------------------------------------------------------------------------
def test_block_hidden_channels_are_groups_and_the_stage_width_is_locked():
    groups = channel_groups(fgir.compile(SMALL, input=INPUT))
    assert [g.name for g in groups.groups] == ["features.1.0.block.3", "features.1.1.block.3",
                                               "features.3.0.block.3"]
    hidden = groups.by_name()["features.1.0.block.3"]
    assert hidden.width == 64 and [c.layer for c in hidden.consumers] == ["features.1.0.block.5"]
    stage = next(g for g in groups.locked if "features.1.0.layer_scale" in g.tensors)
    assert "features.1.1.add" in stage.tensors and stage.locked


def test_pruning_block_hidden_channels_equals_the_masked_dense_network(tmp_path):
    dense_graph = fgir.compile(SMALL, input=INPUT)
    groups = channel_groups(dense_graph)
    dense = fgir.to_torch(dense_graph).eval()
    dense.load_state_dict(random_reference(6).state_dict())
    torch.save(dense.state_dict(), tmp_path / "dense.pt")
    rng = random.Random(0)
    masks = {g.name: [rng.randint(0, 1) for _ in range(g.width)] for g in groups.groups}
    for mask in masks.values():
        mask[0] = 1
    (tmp_path / "pruned.yaml").write_text(SMALL.replace("modules: [net]", "modules: [net, prune]") +
                                          f"  prune: {{type: Prune, masks: {masks}, init_model_file: dense.pt}}\n")
    pruned_graph = fgir.compile(tmp_path / "pruned.yaml", input=INPUT)
    assert pruned_graph["features.1.0.block.3"].attrs["out_features"] == sum(masks["features.1.0.block.3"])
    assert pruned_graph["features.1.0.block.5"].attrs["in_features"] == sum(masks["features.1.0.block.3"])
    assert_pruned_is_masked_dense(dense, fgir.to_torch(pruned_graph).eval(), dense_graph, masks, sample(7))


# -- diagnostics ---------------------------------------------------------------------------
def test_dims_and_depths_of_other_lengths_are_located(write_spec):
    assert only_error(write_spec("""
        search_space:
          modules: [net]
          net: {type: ConvNeXt, dims: [16, 32], depths: [1]}
        """)).endswith("spec.yaml:3:49: error: net.depths: dims has 2 stages but depths has 1: one width a stage")


def test_a_stage_with_a_drop_rate_per_block_wants_one_a_block(write_spec):
    assert only_error(write_spec("""
        search_space:
          modules: [stage]
          stage: {type: ConvNeXtStage, dim: 16, depth: 2, stochastic_depth_prob: [0.1]}
        """), input="16x8x8").endswith("spec.yaml:3:74: error: stage.stochastic_depth_prob: 1 values for num_reps 2")


def test_linear_on_an_image_with_channels_first_is_refused(write_spec):
    assert only_error(write_spec("""
        search_space:
          modules: [fc]
          fc: {type: Linear, in_features: 8, out_features: 4}
        """), input="8x4x4").endswith(
        "spec.yaml:3:7: error: fc: linear 'fc' needs a flattened input but gets 8x4x4; add a View or Flatten "
        "before it")
