"""Quant: bit lists mapped onto convolutions, fake quantization for training, sizes."""

import json

import pytest
import torch

import fgir
from conftest import EXAMPLES, run_fgir, train_steps
from fgir.backends.torch.quant import QuantConv2d, calibrate, quantize_weight
from fgir.diagnostics import FgirError

GUIDE_W = [8, 4, 8, 4, 4, 8, 8, 8, 8, 4, 4, 8, 4, 4, 4, 4, 8, 4, 8, 8]
GUIDE_A = [8, 4, 4, 8, 8, 4, 8, 8, 8, 8, 4, 8, 8, 4, 8, 4, 8, 4, 8, 8]
RESNET20_QUANTIZABLE = (
    [f"layer1.{b}.conv{c}" for b in range(3) for c in (1, 2)]
    + ["layer2.0.conv1", "layer2.0.conv2", "layer2.0.downsample.0"]
    + [f"layer2.{b}.conv{c}" for b in (1, 2) for c in (1, 2)]
    + ["layer3.0.conv1", "layer3.0.conv2", "layer3.0.downsample.0"]
    + [f"layer3.{b}.conv{c}" for b in (1, 2) for c in (1, 2)])


def test_guide_depth20_bits_map_onto_layers_by_name():
    graph = fgir.compile(EXAMPLES / "quant_resnet20.yaml")
    quantized = {n.name: (n.meta["w_bits"], n.meta["a_bits"]) for n in graph if "w_bits" in n.meta}
    assert list(quantized) == RESNET20_QUANTIZABLE
    assert quantized == dict(zip(RESNET20_QUANTIZABLE, zip(GUIDE_W, GUIDE_A)))
    assert "w_bits" not in graph["conv1"].meta  # the stem stays float


def test_guide_depth18_lists_are_rejected_with_both_numbers():
    with pytest.raises(FgirError) as info:
        fgir.compile(EXAMPLES / "quant_resnet18_guide.yaml")
    first = info.value.diagnostics[0]
    assert info.value.pass_name == "apply_quant"
    assert (first.loc.line, first.loc.col, first.path) == (15, 26, "process.nbit_w_list")
    assert first.message == "20 bit widths for 19 quantizable convolutions"
    assert first.hint.startswith("the quantizable convolutions, in order (the stem is not quantized): "
                                 "layer1.0.conv1, layer1.0.conv2, layer1.1.conv1,")
    assert first.hint.endswith("layer4.0.downsample.0, layer4.1.conv1, layer4.1.conv2")
    assert [d.path for d in info.value.diagnostics] == ["process.nbit_w_list", "process.nbit_a_list"]


def test_scalar_bits_broadcast_and_size_counts_bits(write_spec):
    spec = write_spec("""
        search_space:
          modules: [resnet, process]
          resnet: {type: ResNet, depth: 20}
          process: {type: Quant, nbit_w_list: 4, nbit_a_list: 32}
        """)
    graph = fgir.compile(spec)
    convs = [n for n in graph if n.op == "conv2d"]
    assert {(n.meta["w_bits"], n.meta["a_bits"]) for n in convs[1:]} == {(4, 32)}
    quantized_params = sum(n.meta["params"] for n in convs[1:])
    assert graph.meta["weight_bytes"] == 4 * (graph.meta["params"] - quantized_params) + quantized_params / 2


def test_summary_json_lists_bits_per_layer_and_size():
    result = run_fgir("summary", "examples/quant_resnet20.yaml", "--format", "json")
    summary = json.loads(result.stdout)
    block = next(r for r in summary["layers"] if r["name"] == "layer2.0")
    assert block["bits"] == [{"layer": name, "w_bits": GUIDE_W[i], "a_bits": GUIDE_A[i]}
                             for i, name in enumerate(RESNET20_QUANTIZABLE) if name.startswith("layer2.0.")]
    assert [b["layer"] for b in block["bits"]] == ["layer2.0.conv1", "layer2.0.conv2",
                                                   "layer2.0.downsample.0"]
    assert summary["weight_bytes"] < 0.2 * 4 * summary["params"]


def test_fake_quantized_weights_take_few_levels_per_channel():
    conv = QuantConv2d(8, 4, 3, bias=False, w_bits=3, a_bits=32)
    q, scale = quantize_weight(conv.weight.detach(), 3)
    assert q.abs().max() <= 3 and torch.equal(q, q.round())
    for channel in q:
        assert channel.unique().numel() <= 7


def test_32_bits_means_float():
    plain = torch.nn.Conv2d(4, 4, 3, bias=False)
    quant = QuantConv2d(4, 4, 3, bias=False, w_bits=32, a_bits=32)
    quant.load_state_dict(plain.state_dict())
    x = torch.randn(2, 4, 8, 8)
    assert torch.equal(plain(x), quant(x))


def test_qat_step_lowers_the_loss_and_trains_the_clip_range():
    torch.manual_seed(0)
    model = fgir.to_torch(EXAMPLES / "quant_resnet20.yaml", seed=0).train()
    assert isinstance(model.get_submodule("layer1.0.conv2"), QuantConv2d)
    x, y = torch.randn(16, 3, 32, 32) * 4, torch.randint(0, 10, (16,))
    losses = train_steps(model, x, y, 6)
    assert losses[-1] < losses[0]
    assert model.get_submodule("layer1.0.conv1").act_alpha.grad is not None


def test_calibration_sets_clip_ranges_from_data():
    model = fgir.to_torch(EXAMPLES / "quant_resnet20.yaml", seed=0)
    batches = [torch.randn(8, 3, 32, 32) for _ in range(2)]
    calibrate(model, batches, percentile=100)
    conv = model.get_submodule("layer1.0.conv1")
    seen = []
    hook = conv.register_forward_pre_hook(lambda m, a: seen.append(a[0].max()))
    with torch.no_grad():
        model.eval()(torch.cat(batches))
    hook.remove()
    assert conv.act_alpha.item() == pytest.approx(seen[0].item(), rel=1e-6)
