"""The MobileNet family: torchvision's MobileNetV2 / V3 figures, checkpoints, ONNX, pruning and diagnostics.

Ground truth is tests/reference_mobilenet.py (torchvision's builders restated): its parameter counts,
its Conv2d + Linear MACs measured with forward hooks, its state_dict loaded strictly, its outputs.
"""

from __future__ import annotations

import random
import textwrap

import numpy as np
import pytest
import torch

import fgir
import reference_mobilenet as reference
from conftest import EXAMPLES
from fgir.diagnostics import FgirError
from fgir.ir.channel_groups import channel_groups
from fgir.testing.weights import randomize_batch_norm
from prune_oracle import zero_pruned_inputs
from reference_counting import reference_macs

ort = pytest.importorskip("onnxruntime")

# example, reference builder, params, torchvision's GFLOPS (which are MACs)
COARSE = [("mobilenet_v2.yaml", reference.mobilenet_v2, 3_504_872, 0.30),
          ("mobilenet_v3_large.yaml", reference.mobilenet_v3_large, 5_483_032, 0.22),
          ("mobilenet_v3_small.yaml", reference.mobilenet_v3_small, 2_542_856, 0.06)]
SMALL = "3x96x96"   # the nets are fully convolutional with a global pool: any size checks the layout


@pytest.mark.parametrize("spec,builder,params,gmacs", COARSE)
def test_params_and_macs_are_torchvisions(spec, builder, params, gmacs):
    graph = fgir.compile(EXAMPLES / spec)
    model = builder()
    assert graph.meta["input"] == [3, 224, 224]
    assert graph.meta["params"] == params == sum(p.numel() for p in model.parameters())
    assert graph.meta["macs"] == reference_macs(model)
    assert round(graph.meta["macs"] / 1e9, 2) == gmacs


def test_the_fine_grained_v2_is_the_coarse_one():
    fine = fgir.compile(EXAMPLES / "mobilenet_v2_fine_grained.yaml")
    coarse = fgir.compile(EXAMPLES / "mobilenet_v2.yaml")
    assert fine.meta["params"] == coarse.meta["params"] == 3_504_872
    assert fine.meta["macs"] == coarse.meta["macs"]
    # the same tensors in the same order, under the spec's module names: it computes the same function
    fine_model = fgir.to_torch(fgir.compile(EXAMPLES / "mobilenet_v2_fine_grained.yaml", input=SMALL)).eval()
    coarse_model = randomize_batch_norm(fgir.to_torch(fgir.compile(EXAMPLES / "mobilenet_v2.yaml", input=SMALL),
                                                      seed=3), 3)
    ours, theirs = fine_model.state_dict(), coarse_model.state_dict()
    assert [v.shape for v in ours.values()] == [v.shape for v in theirs.values()]
    assert list(ours)[:4] == ["stem.0.weight", "stem.1.weight", "stem.1.bias", "stem.1.running_mean"]
    assert "stage3.2.conv.1.0.weight" in ours and list(ours)[-2:] == ["linear.weight", "linear.bias"]
    fine_model.load_state_dict(dict(zip(ours, theirs.values())), strict=True)
    x = torch.randn(2, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert (fine_model(x) - coarse_model(x)).abs().max().item() <= 1e-5


@pytest.mark.parametrize("spec,builder", [(s, b) for s, b, _, _ in COARSE])
def test_a_reference_checkpoint_loads_strictly_and_computes_the_same(spec, builder):
    torch.manual_seed(0)
    ref = randomize_batch_norm(builder(), seed=1)
    model = fgir.to_torch(fgir.compile(EXAMPLES / spec, input=SMALL), seed=5)
    assert list(model.state_dict()) == list(ref.state_dict())
    model.load_state_dict(ref.state_dict(), strict=True)
    model.eval()
    x = torch.randn(2, 3, 96, 96, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert (model(x) - ref(x)).abs().max().item() <= 1e-5


def test_v3_batch_norm_settings_and_dropout_are_torchvisions():
    model = fgir.to_torch(fgir.compile(EXAMPLES / "mobilenet_v3_small.yaml", input=SMALL))
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all((m.eps, m.momentum) == (0.001, 0.01) for m in norms)
    assert [m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)] == [0.2]


def test_fresh_weights_follow_torchvisions_init():
    model = fgir.to_torch(fgir.compile(EXAMPLES / "mobilenet_v3_large.yaml", input=SMALL), seed=0)
    weights = model.state_dict()
    fc = weights["classifier.0.weight"]
    assert abs(fc.std().item() - 0.01) < 5e-4 and not weights["classifier.0.bias"].any()
    assert not weights["features.4.block.2.fc1.bias"].any()   # squeeze-excitation's 1x1 convs too
    conv = weights["features.2.block.0.0.weight"]           # kaiming normal, fan out = 64 * 1 * 1
    assert abs(conv.std().item() - (2 / 64) ** 0.5) < 0.01
    assert torch.equal(weights["features.2.block.0.1.weight"], torch.ones(64))


@pytest.mark.parametrize("spec", [s for s, _, _, _ in COARSE])
def test_onnx_runtime_matches_torch(spec):
    graph = fgir.compile(EXAMPLES / spec, input=SMALL)
    module = randomize_batch_norm(fgir.to_torch(graph, seed=2), seed=2)
    model = fgir.to_onnx(graph, weights=module)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((2, 3, 96, 96)).astype(np.float32)
    got = session.run(None, {"input": x})[0]
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    assert got.shape == want.shape == (2, 1000)
    assert np.abs(got - want).max() <= 1e-4


# -- pruning ---------------------------------------------------------------------------
PRUNE_INPUT = "3x64x64"


def random_mask(width: int, rng: random.Random) -> list[int]:
    mask = [rng.randint(0, 1) for _ in range(width)]
    mask[rng.randrange(width)] = 1
    return mask


def pruned_against_dense(tmp_path, spec: str, group_names: list[str], seed: int):
    """Outputs on one random input: pruned, dense with pruned inputs zeroed, and dense as it was."""
    network = (EXAMPLES / spec).read_text()
    dense_graph = fgir.compile(network, input=PRUNE_INPUT)
    groups = channel_groups(dense_graph)
    dense = randomize_batch_norm(fgir.to_torch(dense_graph, seed=seed), seed)
    torch.save(dense.state_dict(), tmp_path / "dense.pt")
    rng = random.Random(seed)
    masks = {name: random_mask(groups.by_name()[name].width, rng) for name in group_names}
    modules = network.index("modules: ['mobilenet']")
    pruned_spec = (network[:modules] + "modules: ['mobilenet', 'prune']" +
                   network[modules + len("modules: ['mobilenet']"):] +
                   textwrap.indent(f"prune: {{type: Prune, masks: {masks}, init_model_file: dense.pt}}\n", " " * 8))
    (tmp_path / "pruned.yaml").write_text(pruned_spec)
    pruned_graph = fgir.compile(tmp_path / "pruned.yaml", input=PRUNE_INPUT)
    assert pruned_graph.meta["params"] < dense_graph.meta["params"]
    pruned = fgir.to_torch(pruned_graph).eval()
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        unpruned = dense(x)
        zero_pruned_inputs(dense, groups, masks, dense_graph)
        return pruned(x), dense(x), unpruned


def test_v2_groups_tie_expansions_to_their_depthwise_and_stages_through_their_adds():
    groups = channel_groups(fgir.compile(EXAMPLES / "mobilenet_v2.yaml", input=PRUNE_INPUT)).by_name()
    expand = groups["features.2.conv.0.0"]
    assert expand.producers == ["features.2.conv.0.0", "features.2.conv.1.0"]
    assert [(c.layer, c.offset) for c in expand.consumers] == [("features.2.conv.2", 0)]
    assert groups["features.4.conv.2"].producers == [f"features.{i}.conv.2" for i in (4, 5, 6)]


def test_v3_squeeze_excitation_scale_ties_to_the_expanded_channels():
    groups = channel_groups(fgir.compile(EXAMPLES / "mobilenet_v3_small.yaml", input=PRUNE_INPUT)).by_name()
    expanded = groups["features.4.block.0.0"]
    assert expanded.producers == ["features.4.block.0.0", "features.4.block.1.0", "features.4.block.2.fc2"]
    assert [c.layer for c in expanded.consumers] == ["features.4.block.2.fc1", "features.4.block.3.0"]
    assert groups["features.4.block.2.fc1"].width == 24   # make_divisible(96 // 4, 8)


def test_v2_prunes_exactly(tmp_path):
    got, want, unpruned = pruned_against_dense(tmp_path, "mobilenet_v2.yaml",
                                     ["features.0.0", "features.2.conv.0.0", "features.4.conv.2",
                                      "features.17.conv.0.0", "features.18.0"], seed=1)
    assert (got - want).abs().max().item() <= 1e-5
    assert (got - unpruned).abs().max().item() > 1e-3   # the masks did change what it computes


def test_v3_prunes_exactly_through_squeeze_excitation(tmp_path):
    got, want, unpruned = pruned_against_dense(tmp_path, "mobilenet_v3_small.yaml",
                                     ["features.0.0", "features.4.block.0.0", "features.4.block.2.fc1",
                                      "features.4.block.3.0", "features.12.0", "classifier.0"], seed=2)
    assert (got - want).abs().max().item() <= 1e-5
    assert (got - unpruned).abs().max().item() > 1e-3   # the masks did change what it computes


# -- diagnostics -----------------------------------------------------------------------
def compile_error(write_spec, text: str) -> FgirError:
    with pytest.raises(FgirError) as info:
        fgir.compile(write_spec(text), input="3x32x32")
    assert len(info.value.errors) == 1
    return info.value


def test_an_unknown_arch_names_the_choices(write_spec):
    error = compile_error(write_spec, """
        search_space:
          modules: [net]
          net:
            type: MobileNetV3
            arch: medium
        """)
    assert error.message == "expected one of large, small, got 'medium'"
    assert error.line == 5


def test_expand_ratio_zero_is_located(write_spec):
    error = compile_error(write_spec, """
        search_space:
          modules: [stage]
          stage:
            type: InvertedResidualStage
            in_channels: 3
            out_channels: 16
            depth: 2
            expand_ratio: 0
        """)
    assert error.message == "expected a number of at least 1, got 0"
    assert error.line == 8


@pytest.mark.parametrize("block", ["InvertedResidualStage", "InvertedResidual"])
def test_an_even_kernel_is_located(write_spec, block):
    depth = "    depth: 2\n" if block == "InvertedResidualStage" else ""
    error = compile_error(write_spec, "search_space:\n  modules: [b]\n  b:\n"
                                      f"    type: {block}\n    in_channels: 3\n    out_channels: 16\n"
                                      f"{depth}    expand_ratio: 6\n    kernel_size: 4\n")
    assert error.message == "kernel_size 4 is even: a 'same' padding needs an odd kernel"
    assert error.line == (9 if depth else 8)


# -- the searchable stage --------------------------------------------------------------
def test_a_stage_builds_its_depth_expansion_kernel_width_and_squeeze_excitation(write_spec):
    graph = fgir.compile(write_spec("""
        search_space:
          modules: [stem, stage]
          stem: {type: ConvBNActivation, in_channels: 3, out_channels: 16, stride: 2}
          stage: {type: InvertedResidualStage, in_channels: 16, out_channels: 24, depth: 3, stride: 2,
                  expand_ratio: 4, kernel_size: 7, se: true, activation: Hardswish}
        """), input="3x32x32")
    blocks = [f"stage.{i}" for i in range(3)]
    assert [graph[f"{b}.conv.1.0"].attrs["kernel_size"] for b in blocks] == [[7, 7]] * 3
    assert [graph[f"{b}.conv.1.0"].attrs["stride"] for b in blocks] == [[2, 2], [1, 1], [1, 1]]
    assert [graph[f"{b}.conv.0.0"].attrs["out_channels"] for b in blocks] == [64, 96, 96]
    assert graph["stage.1.conv.2.fc1"].attrs["out_channels"] == 24   # make_divisible(96 // 4, 8)
    assert graph["stage.0.conv.0.2"].op == "hard_swish"
    assert [n.name for n in graph if n.op == "add"] == ["stage.1.add", "stage.2.add"]
    assert graph.output.type.channels == 24 and graph.output.type.height == 8


def test_stage_arguments_are_search_targets():
    """A Once-for-All-style space over stage 4: depth, expand ratio, kernel size and width."""
    from fgir.search.space import Space

    text = (EXAMPLES / "mobilenet_v2_fine_grained.yaml").read_text().replace(
        "        modules:", "        hyper_parameters:\n"
        "            stage4.depth: choice(2, 3, 4)\n"
        "            stage4.expand_ratio: choice(3, 4, 6)\n"
        "            stage4.kernel_size: choice(3, 5, 7)\n"
        "            stage4.out_channels: choice(48, 64)\n"
        "            stage5.in_channels: ${stage4.out_channels}\n"
        "        modules:", 1)
    space = Space.from_text(text)
    assert sorted(d.key for d in space.dimensions) == [
        "stage4.depth", "stage4.expand_ratio", "stage4.kernel_size", "stage4.out_channels"]
    for seed in range(3):
        sample = space.sample(random.Random(seed))
        graph = fgir.compile(fgir.loads(space.freeze(sample)), input="3x64x64")
        depth, width = sample["stage4.depth"], sample["stage4.out_channels"]
        last = f"stage4.{depth - 1}"
        assert f"stage4.{depth}.conv.0.0" not in graph and last + ".add" in graph
        assert graph[last + ".conv.1.0"].attrs["kernel_size"] == [sample["stage4.kernel_size"]] * 2
        assert graph[last + ".conv.0.0"].attrs["out_channels"] == width * sample["stage4.expand_ratio"]
        assert graph["stage5.0.conv.0.0"].attrs["in_channels"] == width
