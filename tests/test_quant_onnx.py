"""Quantized networks in ONNX: real low-bit storage, faithful to torch's fake quantization, calibration.

The networks under test are trained: a short QAT run on scikit-learn's bundled
digits at 8x8 (the guide's mixed 4/8-bit ResNet-20), so that predictions have
margins and "the same argmax" means something (an untrained network's logits
are near ties).  Weight-only checks use the same spec with float activations.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import fgir  # noqa: E402
from conftest import EXAMPLES  # noqa: E402
from fgir.backends.onnx.quant import container  # noqa: E402
from fgir.backends.torch.quant import calibrate, digits_batches, fake_quant_activation  # noqa: E402
from fgir.cli import main  # noqa: E402
from fgir.data.digits import digits_tensors  # noqa: E402
from test_onnx_backend import (checked, conv_bn_graph, session, with_bn_statistics,  # noqa: E402
                               worst_quantized_layer_diff)
from test_quant import GUIDE_A, GUIDE_W, RESNET20_QUANTIZABLE  # noqa: E402

GUIDE = EXAMPLES / "quant_resnet20.yaml"
SIZE = 8                      # digits' own size: the QAT run takes seconds
TIE = 1e-3                    # a code within this many steps of a rounding boundary is a float-noise tie


def quant_spec(depth: int, w: object, a: object) -> str:
    return (f"search_space:\n  modules: [resnet, process]\n  resnet: {{type: ResNet, depth: {depth}}}\n"
            f"  process: {{type: Quant, nbit_w_list: {w}, nbit_a_list: {a}}}\n")


def digits() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Train images, train labels, held-out images, held-out labels (the train evaluator's split)."""
    return digits_tensors(3, SIZE, SIZE, None)


@functools.lru_cache(maxsize=None)
def trained_guide() -> tuple[fgir.Graph, torch.nn.Module]:
    """The guide's ResNet-20 after one epoch of QAT on digits (held-out accuracy ~0.9).

    An epoch of Adam on minibatches: conftest.train_steps (SGD steps on one batch) reaches
    ~0.6 held-out in the same time, too near chance for margins to matter.
    """
    graph = fgir.compile(GUIDE, input=f"3x{SIZE}x{SIZE}")
    module = fgir.to_torch(graph, seed=0).train()
    x, y, _, _ = digits()
    optimizer = torch.optim.Adam(module.parameters(), lr=0.003)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)    # small batches: one thread is as fast, and ~7x faster on a busy machine
    try:
        for start in range(0, len(order) - 1, 64):
            idx = order[start:start + 64]
            loss = torch.nn.functional.cross_entropy(module(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    return graph, module.eval()


def ort_outputs(model: onnx.ModelProto, x: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    """The model's output and the named inner tensors, on one run."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    model.graph.output.extend(helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in names)
    return dict(zip(["output", *names], session(model).run(None, {"input": x})))


def torch_codes(module: torch.nn.Module, layers: list[str], x: torch.Tensor
                ) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The output, and each quantized conv's input before and after fake quantization."""
    raw: dict[str, np.ndarray] = {}
    hooks = [module.get_submodule(name).register_forward_pre_hook(
        lambda m, args, name=name: raw.__setitem__(name, args[0].numpy())) for name in layers]
    try:
        with torch.no_grad():
            out = module(x).numpy()
            convs = {name: module.get_submodule(name) for name in layers}
            quant = {name: fake_quant_activation(torch.from_numpy(raw[name]), conv.a_bits, conv.act_alpha).numpy()
                     for name, conv in convs.items()}
    finally:
        for hook in hooks:
            hook.remove()
    return out, raw, quant


def initializer(model: onnx.ModelProto, name: str) -> onnx.TensorProto:
    return next(t for t in model.graph.initializer if t.name == name)


# -- the guide's depth-20 example in both backends --------------------------------------------
def test_guide_depth20_bits_by_name_in_both_backends():
    graph = fgir.compile(GUIDE)
    module = fgir.to_torch(graph, seed=0)
    model = checked(fgir.to_onnx(graph, weights=module))
    want = dict(zip(RESNET20_QUANTIZABLE, zip(GUIDE_W, GUIDE_A)))
    convs = {name: (m.w_bits, m.a_bits) for name, m in module.named_modules() if hasattr(m, "w_bits")}
    assert convs == want
    weight_types = {4: TensorProto.INT4, 8: TensorProto.INT8}
    act_types = {4: TensorProto.UINT4, 8: TensorProto.UINT8}
    for name, (w_bits, a_bits) in want.items():
        assert initializer(model, f"{name}.weight").data_type == weight_types[w_bits], name
        assert initializer(model, f"{name}.act_zero_point").data_type == act_types[a_bits], name
    for name in ("conv1.weight", "fc.weight"):    # the stem and the classifier stay float
        assert initializer(model, name).data_type == TensorProto.FLOAT
    # INT4 holds two codes a byte, and they are the torch backend's codes
    weight = initializer(model, "layer1.0.conv2.weight")
    assert len(weight.raw_data) == np.prod(weight.dims) // 2
    codes = numpy_helper.to_array(weight).astype(np.int8)
    assert codes.min() >= -7 and codes.max() <= 7 and np.abs(codes).max() == 7


# -- numerics ---------------------------------------------------------------------------------
@pytest.mark.parametrize("keep_bn", [False, True])
def test_weight_only_quantization_matches_torch_within_1e_5(keep_bn):
    _, trained = trained_guide()
    graph = fgir.compile(fgir.loads(quant_spec(20, GUIDE_W, 32)), input=f"3x{SIZE}x{SIZE}")
    module = fgir.to_torch(graph)
    module.load_state_dict({k: v for k, v in trained.state_dict().items() if not k.endswith("act_alpha")})
    module.eval()
    model = checked(fgir.to_onnx(graph, weights=module, keep_bn=keep_bn))
    x = digits()[2][:64]
    with torch.no_grad():
        want = module(x).numpy()
    assert np.abs(session(model).run(None, {"input": x.numpy()})[0] - want).max() <= 1e-5


def test_quantized_activations_agree_with_torch():
    """ONNX Runtime and torch compute the same codes; where float noise breaks a tie, it shows.

    Given the same input, every quantized layer agrees to float noise (its codes are the same).
    Run whole, the two sum in different orders, so now and then a value sitting on a rounding
    boundary (a tie, to float precision) rounds the other way: one step.  The first layer
    where any code differs must show exactly that and nothing else.  Later layers inherit the
    flip and spread it (one 4-bit step is many 8-bit steps: downstream codes move by up to
    ~30 of their steps, on a few percent of elements), so predictions are the measure there:
    the same argmax on at least 99% of 64 held-out digits.
    """
    graph, trained = trained_guide()
    train_x, _, test_x, test_y = digits()
    calibration = [train_x[i:i + 64] for i in range(0, 256, 64)]
    model = checked(fgir.to_onnx(graph, weights=trained, calibrate=calibration))
    module = fgir.to_torch(graph)
    module.load_state_dict(trained.state_dict())
    calibrate(module.eval(), calibration)
    layers = list(RESNET20_QUANTIZABLE)
    for name in layers:     # one calibration: the clip ranges torch uses are the ones ONNX stores
        conv = module.get_submodule(name)
        scale = numpy_helper.to_array(initializer(model, f"{name}.act_scale"))
        assert scale == np.float32(conv.act_alpha.item()) / np.float32(2 ** conv.a_bits - 1)
    x = test_x[:64]
    assert worst_quantized_layer_diff(graph, module, model, x.numpy()) <= 1e-4

    want, raw, codes = torch_codes(module, layers, x)
    got = ort_outputs(model, x.numpy(), [f"{name}/act_dequant" for name in layers])
    assert (got["output"].argmax(1) == want.argmax(1)).mean() >= 0.99
    assert (want.argmax(1) == test_y[:64].numpy()).mean() >= 0.7     # a trained network
    for name in layers:
        conv = module.get_submodule(name)
        step = conv.act_alpha.item() / (2 ** conv.a_bits - 1)
        differs = got[f"{name}/act_dequant"] != codes[name]
        if differs.any():
            assert np.abs(got[f"{name}/act_dequant"] - codes[name])[differs].max() <= step * 1.001
            position = raw[name][differs] / step
            assert np.abs(position - np.floor(position) - 0.5).max() <= TIE
            break


QUANT_CHAIN = """\
search_space:
  modules: [stem, bn0, relu0, conv1, bn1, relu1, conv2, bn2, process]
  stem: {type: Conv2d, in_channels: 3, out_channels: 16, kernel_size: 3, padding: 1, bias: false}
  bn0: {type: BatchNorm2d}
  relu0: {type: ReLU}
  conv1: {type: Conv2d, in_channels: 16, out_channels: 16, kernel_size: 3, padding: 1, bias: false}
  bn1: {type: BatchNorm2d}
  relu1: {type: ReLU}
  conv2: {type: Conv2d, in_channels: 16, out_channels: 16, kernel_size: 3, padding: 1, bias: false}
  bn2: {type: BatchNorm2d}
  process: {type: Quant, nbit_w_list: BITS, nbit_a_list: BITS}
"""


@pytest.mark.parametrize("w_bits,a_bits", [(2, 2), (4, 4), (5, 5), (32, 8), (32, 4), (32, 2)])
@pytest.mark.parametrize("keep_bn", [False, True])
def test_onnx_runtime_keeps_a_quantized_input_convs_arithmetic_float(w_bits, a_bits, keep_bn):
    """A conv whose input is quantized has its bias in an Add after it (onnx_quant.bias_apart says why).

    Emitted as Conv(x, w, bias), ONNX Runtime runs this chain of two quantized conv-BN-ReLU
    layers as integer kernels: off by 1.7 (2 bits), 0.14 (4 bits), 0.05 (float weights,
    8-bit input: they get quantized to int8), or not loading at all (float weights, 4-bit input).
    """
    text = QUANT_CHAIN.replace("nbit_w_list: BITS", f"nbit_w_list: {w_bits}")
    graph = fgir.compile(fgir.loads(text.replace("nbit_a_list: BITS", f"nbit_a_list: {a_bits}")),
                         input="3x16x16")
    module = with_bn_statistics(fgir.to_torch(graph, seed=0))
    with torch.no_grad():
        for name in ("conv1", "conv2"):
            module.get_submodule(name).act_alpha.fill_(2.0)
    model = checked(fgir.to_onnx(graph, weights=module, keep_bn=keep_bn))
    assert [n.op_type for n in model.graph.node if n.name.startswith("conv1")] == [
        "QuantizeLinear", *(["Clip"] if a_bits not in (4, 8) else []), "DequantizeLinear",
        *(["DequantizeLinear"] if w_bits < 32 else []), "Conv", "Add"]
    x = np.random.default_rng(0).standard_normal((8, 3, 16, 16), np.float32)
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    assert np.abs(session(model).run(None, {"input": x})[0] - want).max() <= 1e-4


# -- storage ----------------------------------------------------------------------------------
def test_int4_file_is_at_most_0_15_of_float(write_spec, tmp_path):
    """ResNet-18, every conv but the stem 4-bit (weights and activations): 0.128 of the float file.

    Not on ResNet-20, whose float weights are only 1.1 MB: there the int4 file is
    0.146 of the float one with float activations and 0.157 with 4-bit ones.  The
    codes are 0.123 of the float file (the 4/32 floor less the float layers); the
    float stem and classifier add 0.004, per-channel scales, biases and clip
    ranges 0.006, and the graph itself (node names, spec locations, the Q/DQ
    nodes: 27 KB) 0.024.  On ResNet-18 all of that is 0.003.
    """
    sizes = {}
    for name, spec in {"float": "search_space:\n  modules: [resnet]\n  resnet: {type: ResNet, depth: 18}\n",
                       "int4": quant_spec(18, 4, 4)}.items():
        path = tmp_path / f"{name}.onnx"
        model = fgir.to_onnx(write_spec(spec, f"{name}.yaml"), path, seed=0)
        sizes[name] = path.stat().st_size
    assert {t.data_type for t in model.graph.initializer if t.name.endswith(".weight")} == {
        TensorProto.FLOAT, TensorProto.INT4}
    assert sizes["int4"] <= 0.15 * sizes["float"]


@pytest.mark.parametrize("bits", range(1, 9))
def test_bits_other_than_4_and_8_clip_their_codes_between_q_and_dq(bits):
    graph = conv_bn_graph(bias=True, w_bits=bits, a_bits=bits)
    module = fgir.to_torch(graph, seed=bits).eval()
    with torch.no_grad():
        module.conv.act_alpha.fill_(1.5)
    x = 2 * np.random.default_rng(bits).standard_normal((4, 3, 9, 9), np.float32)
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    for opset in (17, 21):
        model = checked(fgir.to_onnx(graph, weights=module, opset=opset))
        nodes = {n.name: n for n in model.graph.node}
        box = container(bits, signed=False, opset=opset)
        dq_input = nodes["conv/act_dequant"].input[0]
        if box.clip:     # Q → Clip → DQ, the Clip bounding the codes to k bits
            clip = nodes["conv/act_clip"]
            assert clip.input[0] == nodes["conv/act_quant"].output[0] and dq_input == clip.output[0]
            assert numpy_helper.to_array(initializer(model, clip.input[2])) == 2 ** bits - 1
        else:
            assert dq_input == nodes["conv/act_quant"].output[0] and "conv/act_clip" not in nodes
        assert (bits == 4 and opset >= 21) == (
            initializer(model, "conv.weight").data_type == TensorProto.INT4)
        assert np.abs(session(model).run(None, {"input": x})[0] - want).max() <= 1e-4


# -- calibration ------------------------------------------------------------------------------
def test_to_onnx_calibrates_a_copy_and_needs_batches():
    graph = fgir.compile(GUIDE, input=f"3x{SIZE}x{SIZE}")
    module = fgir.to_torch(graph, seed=0)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    model = fgir.to_onnx(graph, weights=module, calibrate=[digits()[0][:32].numpy()])
    assert all(torch.equal(v, before[k]) for k, v in module.state_dict().items())
    scale = numpy_helper.to_array(initializer(model, "layer1.0.conv1.act_scale"))
    assert scale != np.float32(8.0) / np.float32(255)     # no longer the initial clip range
    with pytest.raises(ValueError, match="no batches"):
        fgir.to_onnx(graph, weights=module, calibrate=[])


def test_cli_calibrate_usesdigits_tensors(tmp_path, capsys):
    out = tmp_path / "q.onnx"
    assert main(["compile", str(GUIDE), "-o", str(out), "--input", f"3x{SIZE}x{SIZE}", "--seed", "0",
                 "--calibrate", "2"]) == 0
    graph = fgir.compile(GUIDE, input=f"3x{SIZE}x{SIZE}")
    want = fgir.to_onnx(graph, seed=0, calibrate=digits_batches((3, SIZE, SIZE), 2))
    assert onnx.load(out).graph.initializer == want.graph.initializer

    assert main(["compile", str(GUIDE), "-o", str(tmp_path / "q.pt"), "--calibrate", "2"]) == 2
    assert "--calibrate applies to .onnx output" in capsys.readouterr().err
    assert main(["compile", str(GUIDE), "-o", str(out), "--calibrate", "1000"]) == 2
    assert "--calibrate: asked for 1000 batches; the digits data holds 42 batches" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["compile", str(GUIDE), "-o", str(out), "--calibrate", "0"])
    float_spec = EXAMPLES / "resnet20_cifar.yaml"
    assert main(["compile", str(float_spec), "-o", str(tmp_path / "f.onnx"), "--calibrate", "1"]) == 0
    assert "quantizes no activations" in capsys.readouterr().err
