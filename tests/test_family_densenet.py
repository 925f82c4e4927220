"""The DenseNet family: torchvision's DenseNet-121/161/169/201 exactly, its fine-grained blocks, and pruning
through concatenations (each dense layer's new channels are a group its successors read at an offset).

Ground truth is ``tests/reference_densenet.py`` (torchvision's builders restated in plain torch).
ImageNet-size networks run at small inputs here; the 224² figures are static (compile only), except the
reference's MAC count, measured once with forward hooks.
"""

from __future__ import annotations

import functools
import random
import textwrap

import numpy as np
import pytest
import torch

import fgir
import reference_densenet
from conftest import EXAMPLES
from fgir.blocks import Block, Conv2d, Width, concat, register_block
from fgir.diagnostics import FgirError
from fgir.ir.channel_groups import channel_groups
from fgir.testing.weights import randomize_batch_norm
from prune_oracle import zero_pruned_inputs
from reference_counting import reference_macs

ort = pytest.importorskip("onnxruntime")

PARAMS = {121: 7_978_856, 161: 28_681_000, 169: 14_149_480, 201: 20_013_928}


def coarse(depth: int, num_class: int = 1000) -> str:
    return f"search_space:\n  modules: [net]\n  net: {{type: DenseNet, depth: {depth}, num_class: {num_class}}}\n"


def run_ort(graph: fgir.Graph, module: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    model = fgir.to_onnx(graph, weights=module)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x.numpy()})[0]


# -- figures ----------------------------------------------------------------------------
@pytest.mark.parametrize("depth", sorted(PARAMS))
def test_params_are_torchvisions(depth):
    graph = fgir.compile(coarse(depth))
    reference = sum(p.numel() for p in reference_densenet.densenet(depth).parameters())
    assert graph.meta["params"] == reference == PARAMS[depth]
    assert graph.meta["input"] == [3, 224, 224]
    assert graph.meta["family"] == "densenet"


def test_densenet121_macs_are_the_references_conv_and_linear_macs():
    macs = fgir.compile(EXAMPLES / "densenet121.yaml").meta["macs"]
    assert macs == reference_macs(reference_densenet.densenet(121), 224) == 2_834_161_664
    assert round(macs / 1e9, 2) == 2.83   # torchvision's docs: 2.83 GFLOPS


def test_fine_grained_example_is_the_same_network_as_the_coarse_one():
    fine = fgir.compile(EXAMPLES / "densenet121_fine_grained.yaml")
    whole = fgir.compile(EXAMPLES / "densenet121.yaml")
    assert fine.meta["params"] == whole.meta["params"] == PARAMS[121]
    assert fine.meta["macs"] == whole.meta["macs"]
    assert [n.op for n in fine] == [n.op for n in whole]
    assert [n.attrs for n in fine] == [n.attrs for n in whole]
    # the fine-grained spec's keys are torchvision's without the "features." prefix
    keys = list(fgir.to_torch(fine).state_dict())
    assert keys[:2] == ["conv0.weight", "norm0.weight"]
    assert "denseblock3.denselayer24.conv2.weight" in keys and "transition3.conv.weight" in keys
    assert keys[-2:] == ["classifier.weight", "classifier.bias"]


# -- the same network as torchvision's ------------------------------------------------------
@functools.lru_cache(maxsize=None)
def densenet121_at_64() -> tuple[fgir.Graph, torch.nn.Module, torch.nn.Module]:
    """(graph, fgir module holding the reference's weights, reference) at 3x64x64."""
    graph = fgir.compile(EXAMPLES / "densenet121.yaml", input="3x64x64")
    reference = randomize_batch_norm(reference_densenet.densenet(121), seed=2)
    module = fgir.to_torch(graph, seed=0).eval()
    module.load_state_dict(reference.state_dict(), strict=True)
    return graph, module, reference


def test_a_reference_checkpoint_loads_strictly_and_computes_the_same():
    graph, module, reference = densenet121_at_64()
    assert list(module.state_dict()) == list(reference.state_dict())
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        got, want = module(x), reference(x)
    assert got.shape == (2, 1000)
    assert (got - want).abs().max().item() <= 1e-5


def test_onnx_runtime_computes_what_torch_does():
    graph, module, _ = densenet121_at_64()
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = module(x).numpy()
    assert np.abs(run_ort(graph, module, x) - want).max() <= 1e-4


def test_fresh_weights_follow_torchvisions_init():
    module = fgir.to_torch(coarse(121), seed=0)
    weights = module.state_dict()
    # kaiming_normal_(w) at its defaults: fan-in, gain sqrt(2)
    fan_ins = {"features.conv0.weight": 3 * 49, "features.denseblock2.denselayer5.conv2.weight": 128 * 9,
               "features.transition3.conv.weight": 1024}
    for key, fan_in in fan_ins.items():
        assert weights[key].std().item() == pytest.approx((2 / fan_in) ** 0.5, rel=0.05)
    assert torch.equal(weights["features.norm5.weight"], torch.ones(1024))
    assert torch.equal(weights["features.denseblock1.denselayer1.norm2.bias"], torch.zeros(128))
    assert torch.equal(weights["classifier.bias"], torch.zeros(1000))
    # the classifier's weight keeps torch's default: uniform within ±1/sqrt(in_features)
    bound = 1 / 1024 ** 0.5
    assert 0.9 * bound < weights["classifier.weight"].abs().max().item() <= bound


def test_drop_rate_adds_dropout_to_the_new_features_only():
    graph = fgir.compile("search_space:\n  modules: [layer]\n"
                         "  layer: {type: DenseLayer, in_channels: 8, growth_rate: 4, drop_rate: 0.2}\n",
                         input="8x8x8")
    assert [n.op for n in graph][-3:] == ["conv2d", "dropout", "concat"]
    assert graph["dropout"].attrs["p"] == 0.2   # a one-module spec: no prefix
    assert graph.output.inputs[0] is graph.input and graph.output.type.channels == 12


# -- pruning through concatenations ------------------------------------------------------------
def test_channel_groups_place_each_layers_growth_at_its_offset():
    groups = channel_groups(fgir.compile(coarse(121), input="3x32x32")).by_name()
    block1 = [f"features.denseblock1.denselayer{i}.conv1" for i in range(1, 7)]
    stem = groups["features.conv0"]
    assert stem.width == 64
    assert [(c.layer, c.offset) for c in stem.consumers] == \
        [(layer, 0) for layer in block1] + [("features.transition1.conv", 0)]
    # block 2 starts from transition1's 128 channels; layer 3 adds its 32 at 128 + 2·32 = 192
    growth = {(c.layer, c.offset) for c in groups["features.denseblock2.denselayer3.conv2"].consumers}
    assert {("features.denseblock2.denselayer4.conv1", 192), ("features.denseblock2.denselayer12.conv1", 192),
            ("features.transition2.conv", 192)} <= growth
    assert len(growth) == 10   # layers 4..12 of the block, and the transition
    assert all(offset == 192 for _, offset in growth)
    assert [(c.layer, c.offset) for c in groups["features.denseblock4.denselayer15.conv2"].consumers] == \
        [("features.denseblock4.denselayer16.conv1", 960), ("classifier", 960)]
    assert [(c.layer, c.offset) for c in groups["features.transition2.conv"].consumers][-1] == \
        ("features.transition3.conv", 0)
    # a layer's bottleneck is read by its own 3x3 conv only
    assert [(c.layer, c.offset) for c in groups["features.denseblock1.denselayer1.conv1"].consumers] == \
        [("features.denseblock1.denselayer1.conv2", 0)]


SMALL = """\
search_space:
  modules: [conv0, norm0, relu0, block1, trans1, block2, norm5, relu, pool, view, classifier]
  conv0: {type: Conv2d, in_channels: 3, out_channels: 16, kernel_size: 3, padding: 1, bias: false}
  norm0: {type: BatchNorm2d, num_features: 16}
  relu0: {type: ReLU}
  block1: {type: DenseBlock, num_layers: 3, in_channels: 16, growth_rate: 8, bn_size: 2}
  trans1: {type: Transition, in_channels: 40, out_channels: 20}
  block2: {type: DenseBlock, num_layers: 2, in_channels: 20, growth_rate: 8, bn_size: 2}
  norm5: {type: BatchNorm2d, num_features: 36}
  relu: {type: ReLU}
  pool: {type: AdaptiveAvgPool2d, output_size: 1}
  view: {type: View}
  classifier: {type: Linear, out_features: 10}
"""


def pruned_against_dense(tmp_path, network: str, group_names: list[str], size: str, seed: int = 0):
    """(pruned graph, pruned module, input, the dense network's output, the oracle's output)."""
    dense_graph = fgir.compile(network, input=size)
    groups = channel_groups(dense_graph)
    dense = randomize_batch_norm(fgir.to_torch(dense_graph, seed=seed), seed)
    torch.save(dense.state_dict(), tmp_path / "dense.pt")
    rng = random.Random(seed)
    masks = {}
    for name in group_names:
        mask = [rng.randint(0, 1) for _ in range(groups.by_name()[name].width)]
        mask[rng.randrange(len(mask))] = 1
        masks[name] = mask
    prune = textwrap.indent(f"prune: {{type: Prune, masks: {masks}, init_model_file: dense.pt}}\n", "  ")
    (tmp_path / "pruned.yaml").write_text(network.replace("]\n", ", prune]\n", 1) + prune)
    graph = fgir.compile(tmp_path / "pruned.yaml", input=size)
    pruned = fgir.to_torch(graph).eval()
    x = torch.randn(2, *dense_graph.meta["input"], generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        unpruned = dense(x)
        oracle = zero_pruned_inputs(dense, groups, masks, dense_graph)(x)
    assert graph.meta["params"] < dense_graph.meta["params"]
    return graph, pruned, x, unpruned, oracle


@pytest.mark.parametrize("network,groups,size", [
    (coarse(121, 10), ["features.conv0", "features.denseblock2.denselayer6.conv2", "features.transition2.conv",
                       "features.denseblock3.denselayer1.conv1"], "3x32x32"),
    (SMALL, ["conv0", "block1.denselayer2.conv2", "trans1.conv", "block1.denselayer1.conv1",
             "block2.denselayer2.conv2"], "3x16x16"),
], ids=["densenet121", "fine_grained"])
def test_a_pruned_densenet_is_the_dense_one_with_pruned_inputs_zeroed(tmp_path, network, groups, size):
    graph, pruned, x, unpruned, oracle = pruned_against_dense(tmp_path, network, groups, size)
    with torch.no_grad():
        got = pruned(x)
    assert (unpruned - oracle).abs().max().item() > 1e-3   # the masks do change the network
    assert (got - oracle).abs().max().item() <= 1e-5
    assert np.abs(run_ort(graph, pruned, x) - oracle.numpy()).max() <= 1e-4


# -- bad input: one located diagnostic each ------------------------------------------------------
def test_an_unknown_depth_names_the_choices(tmp_path):
    (tmp_path / "s.yaml").write_text("search_space:\n  modules: [net]\n  net:\n    type: DenseNet\n"
                                     "    depth: 122\n")
    with pytest.raises(FgirError) as info:
        fgir.compile(tmp_path / "s.yaml")
    assert len(info.value.diagnostics) == 1
    assert info.value.message == "depth 122 is not a DenseNet depth: expected one of 121, 161, 169, 201"
    assert (info.value.line, info.value.spec_path) == (5, "net.depth")


@register_block(replace=True)
class StridedDenseLayer(Block):
    """A user's dense layer that downsamples its new features, then concatenates them: a size mismatch."""

    def constructor(self, in_channels: Width, growth_rate: Width) -> None:
        self.conv = Conv2d(in_channels, growth_rate, 3, stride=2, padding=1, bias=False)

    def forward(self, x):
        return concat(x, self.conv(x))


def test_a_concat_of_different_spatial_sizes_is_one_located_error():
    spec = ("search_space:\n  modules: [stem, layer]\n"
            "  stem: {type: Conv2d, in_channels: 3, out_channels: 8, kernel_size: 3, padding: 1}\n"
            "  layer: {type: StridedDenseLayer, in_channels: 8, growth_rate: 4}\n")
    with pytest.raises(FgirError) as info:
        fgir.compile(spec, input="3x32x32")
    assert len(info.value.diagnostics) == 1
    assert info.value.message == ("concat 'layer.cat' concatenates tensors of different spatial sizes along "
                                  "channels: 8x32x32, 4x16x16")
    assert info.value.line == 4


def test_a_wrong_dense_block_width_is_one_error_at_the_value():
    spec = ("search_space:\n  modules: [stem, block]\n"
            "  stem: {type: Conv2d, in_channels: 3, out_channels: 8, kernel_size: 3, padding: 1}\n"
            "  block: {type: DenseBlock, num_layers: 3,\n"
            "          in_channels: 9, growth_rate: 4}\n")
    with pytest.raises(FgirError) as info:
        fgir.compile(spec, input="3x16x16")
    assert len(info.value.diagnostics) == 1
    assert info.value.message == "batch_norm 'block.denselayer1.norm1' expects 9 channels but receives 8"
    assert (info.value.line, info.value.spec_path) == (5, "block.in_channels")
