"""LR-ASPP segmentation: torchvision's lraspp_mobilenet_v3_large figures, checkpoints, ONNX, the dilated
MobileNetV3 backbone, upsampling to another tensor's size, pruning and diagnostics.  Ground truth is
tests/reference_lraspp.py (torchvision's code restated)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fgir
import reference_lraspp as reference
from conftest import EXAMPLES
from family_parity import load_both_ways, ort_diff, pruned_against_dense, pruned_by_ratio
from fgir.diagnostics import FgirError
from fgir.ir.channel_groups import channel_groups
from reference_counting import reference_macs

pytest.importorskip("onnxruntime")
torch.set_num_threads(1)

EXAMPLE = EXAMPLES / "lraspp_mobilenet_v3_large.yaml"


def test_params_and_macs_are_torchvisions():
    graph = fgir.compile(EXAMPLE)
    model = reference.lraspp_mobilenet_v3_large(21)
    assert graph.meta["params"] == 3_221_538 == sum(p.numel() for p in model.parameters())
    assert graph.meta["macs"] == reference_macs(model)   # conv MACs at 224x224


def test_the_backbone_is_dilated_and_tapped_at_stride_8():
    graph = fgir.compile(EXAMPLE, input="3x64x64")
    depthwise = graph["backbone.13.block.1.0"]   # the last stage: dilation 2, stride 1, padding 2 x (5 - 1) / 2
    assert (depthwise.attrs["dilation"], depthwise.attrs["stride"], depthwise.attrs["padding"]) == \
        ([2, 2], [1, 1], [4, 4])
    assert graph["backbone.12.block.1.0"].attrs["dilation"] == [1, 1]
    assert str(graph["backbone.16.2"].type) == "960x4x4"   # output stride 16
    assert [str(n.type) for n in graph["classifier.low_classifier"].inputs] == ["40x8x8"]   # features 4
    assert str(graph["classifier.up"].type) == "128x8x8" and str(graph.output.type) == "21x64x64"
    assert [n.name for n in graph.output.inputs] == ["classifier.add", "input"]


@pytest.mark.parametrize("size", [(64, 64), (72, 56)])
def test_a_reference_checkpoint_loads_strictly_both_ways_and_computes_the_same(size):
    torch.manual_seed(0)
    ref = reference.lraspp_mobilenet_v3_large(21)
    x = torch.randn(2, 3, *size, generator=torch.Generator().manual_seed(1))
    graph = fgir.compile(EXAMPLE, input=f"3x{size[0]}x{size[1]}")
    assert graph.output.type.dims == (21, *size)
    assert load_both_ways(graph, ref, x) <= 1e-5


def test_onnx_runtime_matches_torch():
    x = np.random.default_rng(0).standard_normal((2, 3, 72, 56)).astype(np.float32)
    shape, diff = ort_diff(fgir.compile(EXAMPLE, input="3x72x56"), 2, x)
    assert shape == (2, 21, 72, 56) and diff <= 1e-4


def test_fresh_weights_follow_torchvision():
    """The backbone is initialised as MobileNetV3 does; the head keeps torch's defaults, as torchvision's."""
    weights = fgir.to_torch(fgir.compile(EXAMPLE, input="3x64x64"), seed=0).state_dict()
    assert not weights["backbone.4.block.2.fc1.bias"].any()           # MobileNetV3's zero conv biases
    assert weights["classifier.low_classifier.bias"].any()            # torch's default uniform


# -- the upsample op's two-input form ---------------------------------------------------------------
def test_an_upsample_to_a_second_inputs_size(write_spec):
    stem = "  small: {type: ConvBNActivation, in_channels: 3, out_channels: 8, stride: 4}\n"
    graph = fgir.compile("search_space:\n  modules: [small, up]\n" + stem +
                         "  up: {type: Upsample, mode: bilinear, inputs: [small, input]}\n", input="3x30x22")
    assert str(graph.output.type) == "8x30x22" and graph["up"].attrs["size"] is None
    module = fgir.to_torch(graph, seed=0).eval()
    small = fgir.to_torch(fgir.compile("search_space:\n  modules: [small, out]\n" + stem +
                                       "  out: {type: Identity}\n", input="3x30x22")).eval()
    small.load_state_dict(module.state_dict(), strict=True)
    x = torch.randn(2, 3, 30, 22)
    with torch.no_grad():
        want = torch.nn.functional.interpolate(small(x), size=(30, 22), mode="bilinear", align_corners=False)
        assert (module(x) - want).abs().max().item() == 0.0


def test_an_upsample_with_a_second_input_and_a_size_is_located(write_spec):
    with pytest.raises(FgirError) as info:
        fgir.compile(write_spec("""
            search_space:
              modules: [small, up]
              small: {type: ConvBNActivation, in_channels: 3, out_channels: 8, stride: 4}
              up: {type: Upsample, size: [8, 8], inputs: [small, input]}
            """), input="3x32x32")
    assert info.value.message == ("upsample 'up' takes its size from its second input: leave size and "
                                  "scale_factor out")
    assert info.value.line == 4


# -- channel groups and pruning ------------------------------------------------------------------
def test_the_low_tap_is_one_group_read_by_the_backbone_and_the_low_classifier():
    groups = channel_groups(fgir.compile(EXAMPLE, input="3x64x64")).by_name()
    low = groups["backbone.4.block.3.0"]
    assert {c.layer for c in low.consumers} >= {"backbone.5.block.0.0", "classifier.low_classifier"}
    assert [c.layer for c in groups["classifier.cbr.0"].consumers] == ["classifier.high_classifier"]


def test_prunes_exactly_through_both_taps(tmp_path):
    got, want, unpruned = pruned_against_dense(tmp_path, EXAMPLE, ["backbone.4.block.3.0", "classifier.cbr.0",
                                                                   "backbone.16.0", "backbone.13.block.0.0"], seed=4)
    assert got.shape == (2, 21, 64, 64)
    assert (got - want).abs().max().item() <= 1e-5
    assert (got - unpruned).abs().max().item() > 1e-3



def test_fgir_prune_by_ratio_slices_the_free_groups_exactly(tmp_path):
    kept, diff, shape = pruned_by_ratio(tmp_path, EXAMPLE, 0.3)
    assert kept < 0.8 and diff <= 1e-5 and shape == (2, 21, 64, 64)

# -- diagnostics --------------------------------------------------------------------------------
def test_an_unknown_backbone_names_the_choice(write_spec):
    with pytest.raises(FgirError) as info:
        fgir.compile(write_spec("""
            search_space:
              modules: [net]
              net: {type: LRASPP, backbone: resnet50}
            """), input="3x64x64")
    assert info.value.message == "expected one of mobilenet_v3_large, got 'resnet50'"
    assert info.value.line == 3
