"""ResNeXt and Wide ResNet: ResNet's ``groups`` and ``base_width``, exactly torchvision's networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fgir
import reference_resnext
from conftest import EXAMPLES
from fgir.ir.channel_groups import channel_groups
from fgir.testing.weights import randomize_batch_norm
from reference_counting import reference_macs

CASES = [("resnext50_32x4d.yaml", reference_resnext.resnext50_32x4d, 25_028_904, "4.23"),
         ("wide_resnet50_2.yaml", reference_resnext.wide_resnet50_2, 68_883_240, "11.40")]


@pytest.mark.parametrize("spec, build, params, gflops", CASES)
def test_parameters_and_macs_are_torchvisions(spec, build, params, gflops):
    graph = fgir.compile(EXAMPLES / spec)
    assert graph.meta["params"] == params
    assert graph.meta["macs"] == reference_macs(build(), 224)
    assert f"{graph.meta['macs'] / 1e9:.2f}" == gflops


@pytest.mark.parametrize("spec, build, params, gflops", CASES[:1])
def test_a_torchvision_checkpoint_loads_strictly_and_computes_the_same(spec, build, params, gflops):
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    reference = randomize_batch_norm(build(), 1)
    graph = fgir.compile(EXAMPLES / spec, input="3x64x64")
    module = fgir.to_torch(graph).eval()
    module.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        want, got = reference(x), module(x)
    assert (got - want).abs().max().item() <= 1e-5
    session = ort.InferenceSession(fgir.to_onnx(graph, weights=module).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    onnx_out = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    assert np.abs(onnx_out - want.numpy()).max() <= 1e-4


def test_grouped_convolutions_tie_each_bottleneck_in_whole_conv_groups():
    """Each bottleneck (conv1's output, which the grouped conv2 reads and writes) is a group pruned by whole conv
    groups of 4 channels, 8 and so on; tests/test_prune_grouped.py prunes a ResNeXt-style net exactly."""
    groups = channel_groups(fgir.compile(EXAMPLES / "resnext50_32x4d.yaml"))
    assert [g.name for g in groups.locked] == ["fc"]
    by_name = groups.by_name()
    assert [(by_name[f"layer{i}.0.conv1"].unit, by_name[f"layer{i}.0.conv1"].producers) for i in (1, 4)] == [
        (4, ["layer1.0.conv1", "layer1.0.conv2"]), (32, ["layer4.0.conv1", "layer4.0.conv2"])]
    assert len(groups.groups) == 16 + 5   # a bottleneck a block, and the stem's and the four stages' streams


def test_groups_need_a_bottleneck_resnet(write_spec):
    path = write_spec("""
        search_space:
          modules: [resnet]
          resnet: {type: ResNet, depth: 18, groups: 32}
        """)
    with pytest.raises(fgir.FgirError) as info:
        fgir.compile(path)
    assert len(info.value.errors) == 1
    assert info.value.message == ("groups 32 needs a bottleneck ResNet (depth 50, 101 or 152); depth 18 is "
                                  "made of BasicBlocks")
    assert (info.value.line, info.value.column) == (3, 45)
