"""Quant: bit lists mapped onto layers, quantization points, fake quantization for training, calibration."""

import json

import pytest
import torch

import fgir
from conftest import EXAMPLES, run_fgir, train_steps
from fgir.backends.torch.calibrate import calibrate
from fgir.backends.torch.quant import FakeQuantize, QuantConv2d, quantize_weight
from fgir.diagnostics import FgirError

GUIDE_W = [8, 4, 8, 4, 4, 8, 8, 8, 8, 4, 4, 8, 4, 4, 4, 4, 8, 4, 8, 8]
GUIDE_A = [8, 4, 4, 8, 8, 4, 8, 8, 8, 8, 4, 8, 8, 4, 8, 4, 8, 4, 8, 8]
RESNET20_QUANTIZABLE = (
    [f"layer1.{b}.conv{c}" for b in range(3) for c in (1, 2)]
    + ["layer2.0.conv1", "layer2.0.conv2", "layer2.0.downsample.0"]
    + [f"layer2.{b}.conv{c}" for b in (1, 2) for c in (1, 2)]
    + ["layer3.0.conv1", "layer3.0.conv2", "layer3.0.downsample.0"]
    + [f"layer3.{b}.conv{c}" for b in (1, 2) for c in (1, 2)])


def quant_spec(network: str, w, a, extra: str = "") -> str:
    return (f"search_space:\n  modules: [net, process]\n  net: {network}\n"
            f"  process: {{type: Quant, nbit_w_list: {w}, nbit_a_list: {a}{extra}}}\n")


def test_guide_depth20_bits_map_onto_layers_by_name():
    graph = fgir.compile(EXAMPLES / "quant_resnet20.yaml")
    quantized = {n.name: (n.meta["w_bits"], n.meta["a_bits"]) for n in graph if "w_bits" in n.meta}
    assert graph.meta["quant"]["layers"] == RESNET20_QUANTIZABLE
    assert quantized == {"conv1": (8, 8), **dict(zip(RESNET20_QUANTIZABLE, zip(GUIDE_W, GUIDE_A)))}
    assert graph.meta["quant"]["stem"] == ["conv1"]     # the lists leave it out; stem_bits (8) quantizes it


def test_stem_bits_32_keeps_the_stem_float():
    graph = fgir.compile(fgir.loads(quant_spec("{type: ResNet, depth: 20}", 8, 8, ", stem_bits: 32")))
    assert "w_bits" not in graph["conv1"].meta and graph.meta["quant"]["stem"] == []
    assert "input.quant" not in graph       # nothing reads the input quantized


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


def test_scalar_bits_broadcast_and_size_counts_bits():
    graph = fgir.compile(fgir.loads(quant_spec("{type: ResNet, depth: 20}", 4, 32)))
    convs = [n for n in graph if n.op == "conv2d"]
    assert {(n.meta["w_bits"], n.meta["a_bits"]) for n in convs[1:]} == {(4, 32)}
    assert (convs[0].meta["w_bits"], convs[0].meta["a_bits"]) == (8, 8)
    listed = sum(n.meta["params"] for n in convs[1:])
    stem = convs[0].meta["params"]
    assert graph.meta["weight_bytes"] == 4 * (graph.meta["params"] - listed - stem) + listed / 2 + stem


def test_summary_json_lists_bits_per_layer_and_size():
    result = run_fgir("summary", "examples/quant_resnet20.yaml", "--format", "json")
    summary = json.loads(result.stdout)
    block = next(r for r in summary["layers"] if r["name"] == "layer2.0")
    assert block["bits"] == [{"layer": name, "w_bits": GUIDE_W[i], "a_bits": GUIDE_A[i]}
                             for i, name in enumerate(RESNET20_QUANTIZABLE) if name.startswith("layer2.0.")]
    assert summary["weight_bytes"] < 0.2 * 4 * summary["params"]
    assert not any(r["type"] == "quantize" for r in summary["layers"])   # points belong to their tensor's row


def test_points_hold_each_tensor_once_at_the_bits_its_readers_need():
    graph = fgir.compile(EXAMPLES / "quant_resnet20.yaml")
    point = {n.name: n for n in graph if n.op == "quantize"}
    # the network input can be negative (normalised images): a zero point
    assert (point["input.quant"].attrs["bits"], point["input.quant"].attrs["zero_point"]) == (8, True)
    # after a ReLU: unsigned; read by a conv (8 bits) and the residual add
    assert [u.name for u in point["relu.quant"].users] == ["layer1.0.conv1", "layer1.0.add"]
    # a block output read by an add and by a 4-bit conv: 8 bits for the residual, 4 for the conv
    assert point["layer1.0.relu_1.quant"].attrs["bits"] == 8
    assert [u.name for u in point["layer1.0.relu_1.quant"].users] == ["layer1.1.add", "layer1.0.relu_1.quant4"]
    assert [u.name for u in point["layer1.0.relu_1.quant4"].users] == ["layer1.1.conv1"]
    # a conv's output before the add (its BN folded in): can be negative
    assert point["layer1.0.bn2.quant"].attrs["zero_point"] is True
    assert graph.meta["quant"]["points"] == [n.name for n in graph if n.op == "quantize"]


def test_a_max_pool_restates_its_inputs_codes():
    graph = fgir.compile(fgir.loads(quant_spec("{type: ResNet, depth: 18}", 8, 8)), input="3x64x64")
    tied = graph["maxpool.quant"]
    assert tied.attrs["tie"] == "relu.quant" and tied.inputs[0].name == "maxpool"
    assert isinstance(fgir.to_torch(graph).get_submodule("maxpool.quant"), torch.nn.Identity)


def test_linear_bottlenecks_are_quantized_with_a_zero_point_not_clamped():
    """A MobileNetV2 projection (conv + BN, no activation) feeds the next block: its negatives stay."""
    graph = fgir.compile(fgir.loads(quant_spec("{type: MobileNetV2, num_class: 10}", 8, 8)), input="3x32x32")
    assert graph["features.2.conv.3.quant"].attrs["zero_point"] is True      # a linear bottleneck
    assert graph["features.2.conv.0.2.quant"].attrs["zero_point"] is False   # after ReLU6
    module = fgir.to_torch(graph, seed=0).eval()
    calibrate(module, [torch.randn(4, 3, 32, 32)])
    point = module.get_submodule("features.2.conv.3.quant")
    seen = []
    hook = point.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    with torch.no_grad():
        module(torch.randn(4, 3, 32, 32))
    hook.remove()
    x = seen[0]
    assert (x < 0).float().mean() > 0.3                                        # it is signed data
    relative = ((point(x) - x).norm() / x.norm()).item()
    clamped = (x.clamp(max=0).norm() / x.norm()).item()    # what unsigned codes (the first wave's) lost
    assert relative < 0.05 and relative < clamped / 5


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


def test_a_point_with_a_zero_point_keeps_negatives_and_rounds_half_to_even():
    point = FakeQuantize(8, zero_point=True)
    point.low.data.fill_(-1.0)
    point.high.data.fill_(1.55)            # scale 0.01, zero point 100
    x = torch.tensor([-2.0, -0.5, -0.005, 0.005, 0.015, 3.0])
    assert point.codes(x).tolist() == [0.0, 50.0, 100.0, 100.0, 102.0, 255.0]
    assert torch.allclose(point(x), torch.tensor([-1.0, -0.5, 0.0, 0.0, 0.02, 1.55]), atol=1e-6)


def test_qat_step_lowers_the_loss_and_trains_the_ranges():
    torch.manual_seed(0)
    model = fgir.to_torch(EXAMPLES / "quant_resnet20.yaml", seed=0).train()
    assert isinstance(model.get_submodule("layer1.0.conv2"), QuantConv2d)
    x, y = torch.randn(16, 3, 32, 32) * 4, torch.randint(0, 10, (16,))
    losses = train_steps(model, x, y, 6)
    assert losses[-1] < losses[0]
    assert model.get_submodule("layer1.0.relu.quant").alpha.grad is not None
    assert model.get_submodule("input.quant").high.grad is not None


@pytest.mark.parametrize("method", ["minmax", "percentile", "mse"])
def test_calibration_sets_ranges_from_data(method):
    model = fgir.to_torch(EXAMPLES / "quant_resnet20.yaml", seed=0)
    batches = [torch.randn(8, 3, 32, 32) for _ in range(2)]
    calibrate(model, batches, method=method)
    point = model.get_submodule("layer1.0.relu.quant")
    signed = model.get_submodule("input.quant")
    seen = {point: [], signed: []}
    for m in model.modules():   # what calibration saw: the float network's values (every point passes through)
        if isinstance(m, FakeQuantize):
            m.observer = seen[m].append if m in seen else (lambda x: None)
    with torch.no_grad():
        for batch in batches:
            model.eval()(batch)
    for m in model.modules():
        if isinstance(m, FakeQuantize):
            m.observer = None
    relu, inputs = torch.cat(seen[point]).flatten(), torch.cat(seen[signed]).flatten()
    alpha, low, high = point.alpha.item(), signed.low.item(), signed.high.item()
    if method == "minmax":
        assert alpha == pytest.approx(relu.max().item()) and low == pytest.approx(inputs.min().item())
        assert high == pytest.approx(inputs.max().item())
    else:    # outliers clipped: inside the extremes, but holding nearly everything
        assert 0 < alpha <= relu.max().item() and inputs.min().item() <= low < 0 < high <= inputs.max().item()
        assert (relu <= alpha).float().mean() >= (0.99 if method == "percentile" else 0.9)


def test_unknown_calibration_method_is_refused():
    with pytest.raises(ValueError, match="calibration method 'median': expected one of minmax, percentile, mse"):
        calibrate(fgir.to_torch(EXAMPLES / "quant_resnet20.yaml"), [], method="median")
