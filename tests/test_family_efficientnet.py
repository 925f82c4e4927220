"""The EfficientNet family: MBConv and the coarse EfficientNet b0–b7 are torchvision's, to the tensor.

The ground truth is tests/reference_efficientnet.py, a plain-torch copy of torchvision's builders.
"""

from __future__ import annotations

import math
import random
import textwrap

import onnxruntime as ort
import pytest
import torch
from torch import nn

import fgir
from fgir.diagnostics import FgirError
from fgir.ir.channel_groups import channel_groups
from fgir.testing.weights import randomize_batch_norm
from prune_oracle import zero_pruned_inputs
from reference_efficientnet import VARIANTS as REFERENCE_VARIANTS
from reference_efficientnet import MBConv as ReferenceMBConv
from reference_efficientnet import efficientnet
from reference_counting import reference_macs

# torchvision's efficientnet_b0 … b7 at 1000 classes
TORCHVISION_PARAMS = {"b0": 5_288_548, "b1": 7_794_184, "b2": 9_109_994, "b3": 12_233_232,
                      "b4": 19_341_616, "b5": 30_389_784, "b6": 43_040_704, "b7": 66_347_960}


def coarse(variant: str, num_class: int = 1000) -> str:
    return ("search_space:\n  modules: [net]\n"
            f"  net: {{type: EfficientNet, variant: {variant}, num_class: {num_class}}}\n")


def mbconv(**args) -> str:
    given = ", ".join(f"{k}: {v}" for k, v in args.items())
    return f"search_space:\n  modules: [mb]\n  mb: {{type: MBConv, {given}}}\n"


@pytest.mark.parametrize("variant", list(TORCHVISION_PARAMS))
def test_params_are_torchvisions(variant):
    assert fgir.compile(coarse(variant)).meta["params"] == TORCHVISION_PARAMS[variant]


def test_the_example_is_b0():
    graph = fgir.compile("examples/efficientnet_b0.yaml")
    assert graph.meta["params"] == 5_288_548
    assert str(graph.input.type) == "3x224x224" and graph.meta["family"] == "efficientnet"


def test_b0_macs_equal_the_references_conv_and_linear_macs_at_224():
    macs = fgir.compile(coarse("b0")).meta["macs"]
    assert macs == reference_macs(efficientnet("b0"), 224) == 385_814_752
    assert f"{macs / 1e9:.2f}" == "0.39"


@pytest.mark.parametrize("variant", list(TORCHVISION_PARAMS))
def test_batch_norm_settings_are_the_variants(variant):
    """b5–b7 use TensorFlow's eps 1e-3 / momentum 0.01 (they change outputs), b0–b4 torch's defaults."""
    norm = REFERENCE_VARIANTS[variant][3]
    reference = norm(8)
    graph = fgir.compile(coarse(variant))
    settings = {(n.attrs["eps"], n.attrs["momentum"]) for n in graph if n.op == "batch_norm"}
    assert settings == {(reference.eps, reference.momentum)}


def test_classifier_dropout_and_stochastic_depth_rates_are_the_references():
    graph = fgir.compile(coarse("b3"))
    reference = efficientnet("b3")
    assert [n.attrs["p"] for n in graph if n.op == "dropout"] == [reference.classifier[0].p]
    # fgir leaves StochasticDepth out of blocks without a residual (torchvision never calls it there)
    want = {f"{name}.stochastic_depth": m.stochastic_depth.p for name, m in reference.named_modules()
            if isinstance(m, ReferenceMBConv) and m.use_res_connect}
    got = {n.name: n.attrs["p"] for n in graph if n.op == "stochastic_depth"}
    assert got == pytest.approx(want, abs=1e-12) and len(got) == 19
    assert got["features.7.1.stochastic_depth"] == pytest.approx(0.2 * 25 / 26)


def test_fresh_weights_follow_torchvisions_init():
    module = fgir.to_torch(coarse("b0"), seed=0)
    linear = module.get_submodule("classifier.1")
    bound = 1 / math.sqrt(1000)
    assert bound * 0.99 < linear.weight.abs().max().item() <= bound and not linear.bias.any()
    se = module.get_submodule("features.2.0.block.2.fc1")
    assert not se.bias.any()
    head = module.get_submodule("features.8.0").weight    # 1280x320x1x1, fan_out 1280
    assert head.std().item() == pytest.approx(math.sqrt(2 / 1280), rel=0.02)
    bn = module.get_submodule("features.8.1")
    assert bool((bn.weight == 1).all()) and not bn.bias.any()


@pytest.fixture(scope="module")
def b0_pair():
    """(fgir's b0 with the reference's weights loaded strictly, the reference, the graph) at 96²."""
    torch.manual_seed(0)
    reference = randomize_batch_norm(efficientnet("b0"), seed=1)
    graph = fgir.compile(coarse("b0"), input="3x96x96")
    module = fgir.to_torch(graph, seed=0)
    module.load_state_dict(reference.state_dict(), strict=True)
    return module.eval(), reference.eval(), graph


def test_a_reference_checkpoint_loads_strictly_and_outputs_agree(b0_pair):
    module, reference, _ = b0_pair
    assert [(k, v.shape) for k, v in module.state_dict().items()] == \
           [(k, v.shape) for k, v in reference.state_dict().items()]
    x = torch.randn(2, 3, 96, 96, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        diff = (module(x) - reference(x)).abs().max().item()
    assert diff <= 1e-5


def test_onnx_runtime_agrees_with_torch(b0_pair):
    module, _, graph = b0_pair
    model = fgir.to_onnx(graph, weights=module)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = torch.randn(2, 3, 96, 96, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        want = module(x).numpy()
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    assert abs(got - want).max() <= 1e-4


def test_stochastic_depth_drops_whole_samples_branches_in_training():
    """p 0.5 on 8 samples: dropped samples are exactly the shortcut; the reference draws the same ones."""
    graph = fgir.compile(mbconv(in_channels=16, out_channels=16, expand_ratio=4, kernel_size=3,
                                stochastic_depth_prob=0.5), input="16x8x8")
    module = fgir.to_torch(graph, seed=0).train()
    reference = ReferenceMBConv(16, 16, 4, 3, 1, 0.5, nn.BatchNorm2d).train()
    reference.load_state_dict(module.state_dict(), strict=True)
    x = torch.randn(8, 16, 8, 8, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(5)
    out = module(x)
    torch.manual_seed(5)
    want = reference(x)
    dropped = [bool(torch.equal(out[i], x[i])) for i in range(8)]
    assert 0 < sum(dropped) < 8, dropped
    assert (out - want).abs().max().item() <= 1e-5
    with torch.no_grad():   # at inference the branch always counts
        assert not any(torch.equal(y, xi) for y, xi in zip(module.eval()(x), x))


def random_mask(width: int, rng: random.Random) -> list[int]:
    mask = [rng.randint(0, 1) for _ in range(width)]
    mask[rng.randrange(width)] = 1
    return mask


def test_pruning_equals_the_dense_network_with_pruned_inputs_zeroed(tmp_path):
    spec = coarse("b0", 10)
    dense_graph = fgir.compile(spec, input="3x64x64")
    groups = channel_groups(dense_graph)
    names = ["features.2.1.block.0.0",     # an expansion: 1x1 expand, depthwise, SE's fc2 and scale
             "features.3.0.block.2.fc1",   # a squeeze-excitation's squeeze
             "features.2.0.block.3.0",     # stage 2's width, tied by its residual add
             "features.8.0"]               # the head conv, read by the Linear through the flatten
    by_name = groups.by_name()
    assert by_name[names[0]].producers == [names[0], "features.2.1.block.1.0", "features.2.1.block.2.fc2"]
    assert by_name[names[2]].producers == [names[2], "features.2.1.block.3.0"]
    dense = randomize_batch_norm(fgir.to_torch(dense_graph, seed=0), seed=0)
    torch.save(dense.state_dict(), tmp_path / "dense.pt")
    rng = random.Random(0)
    masks = {name: random_mask(by_name[name].width, rng) for name in names}
    prune = f"  prune: {{type: Prune, masks: {masks}, init_model_file: dense.pt}}\n"
    (tmp_path / "pruned.yaml").write_text(spec.replace("[net]", "[net, prune]") + prune)
    pruned_graph = fgir.compile(tmp_path / "pruned.yaml", input="3x64x64")
    assert pruned_graph.meta["params"] < dense_graph.meta["params"]
    pruned = fgir.to_torch(pruned_graph).eval()
    zero_pruned_inputs(dense, groups, masks, dense_graph)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert (pruned(x) - dense(x)).abs().max().item() <= 1e-5


def single_error(spec: str, tmp_path) -> FgirError:
    (tmp_path / "s.yaml").write_text(spec)
    with pytest.raises(FgirError) as info:
        fgir.compile(tmp_path / "s.yaml", input="16x8x8")
    assert len(info.value.diagnostics) == 1, info.value.diagnostics
    return info.value


def test_an_unknown_variant_names_the_choices(tmp_path):
    error = single_error(coarse("b9"), tmp_path)
    assert error.message == "expected one of b0, b1, b2, b3, b4, b5, b6, b7, got 'b9'"
    assert (error.line, error.spec_path) == (3, "net.variant")


def test_an_expand_ratio_below_one_is_refused(tmp_path):
    error = single_error(mbconv(in_channels=16, out_channels=16, expand_ratio=0), tmp_path)
    assert error.message == "expected a number of at least 1, got 0"
    assert (error.line, error.spec_path) == (3, "mb.expand_ratio")


def test_an_even_kernel_is_refused(tmp_path):
    spec = textwrap.dedent("""\
        search_space:
          modules: [mb]
          mb:
            type: MBConv
            in_channels: 16
            out_channels: 24
            expand_ratio: 6
            kernel_size: 4
        """)
    error = single_error(spec, tmp_path)
    assert error.message == "kernel_size 4 is even: the depthwise conv's 'same' padding needs an odd kernel"
    assert (error.line, error.column, error.spec_path) == (8, 18, "mb.kernel_size")
