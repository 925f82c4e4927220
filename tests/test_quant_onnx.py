"""Quantized networks in ONNX: integer kernels in ONNX Runtime, the same integer codes as torch, PTQ, 4-bit forms.

The networks under test are trained: a short QAT run on scikit-learn's bundled digits at
8x8 (the guide's mixed 4/8-bit ResNet-20), so that predictions have margins and "the
same argmax" means something (an untrained network's logits are near ties).  The check
a user would make is made here too: ONNX Runtime's *optimized* graph, dumped, holds an
integer kernel for every quantized conv and residual add.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from onnx import TensorProto, numpy_helper  # noqa: E402

import fgir  # noqa: E402
from conftest import EXAMPLES  # noqa: E402
from fgir.backends.torch.calibrate import calibrate  # noqa: E402
from fgir.cli import main  # noqa: E402
from fgir.data.digits import digits_tensors  # noqa: E402
from fgir.testing.weights import randomize_batch_norm  # noqa: E402
from quant_parity import code_agreement, layerwise_code_agreement, onnx_codes, optimized_ops, session  # noqa: E402

GUIDE = EXAMPLES / "quant_resnet20.yaml"
SIZE = 8                      # digits' own size: the QAT run takes seconds


def quant_spec(network: str, w: object, a: object, extra: str = "") -> str:
    return (f"search_space:\n  modules: [net, process]\n  net: {network}\n"
            f"  process: {{type: Quant, nbit_w_list: {w}, nbit_a_list: {a}{extra}}}\n")


def digits():
    """Train images, train labels, held-out images, held-out labels (the train evaluator's split)."""
    return digits_tensors(3, SIZE, SIZE, None)


@functools.lru_cache(maxsize=None)
def trained_guide() -> tuple[fgir.Graph, torch.nn.Module]:
    """The guide's ResNet-20 after one epoch of QAT on digits (held-out accuracy ~0.9)."""
    graph = fgir.compile(GUIDE, input=f"3x{SIZE}x{SIZE}")
    module = fgir.to_torch(graph, seed=0)
    x, y, _, _ = digits()
    calibrate(module, [x[:256]])          # start QAT from calibrated ranges
    module.train()
    optimizer = torch.optim.Adam(module.parameters(), lr=0.003)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)    # small batches: one thread is as fast, and far faster on a busy machine
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


# -- integer kernels ------------------------------------------------------------------------------
@pytest.mark.parametrize("network, size", [("{type: ResNet, depth: 18}", "3x64x64"),
                                           ("{type: MobileNetV2, num_class: 10}", "3x32x32")])
def test_every_quantized_conv_and_add_is_an_integer_kernel(network, size, tmp_path):
    graph = fgir.compile(fgir.loads(quant_spec(network, 8, 8)), input=size)
    module = randomize_batch_norm(fgir.to_torch(graph, seed=0), 1)
    calibrate(module, [torch.randn(4, *graph.meta["input"])])
    ops = optimized_ops(fgir.to_onnx(graph, weights=module), tmp_path)
    convs = sum(n.op == "conv2d" for n in graph)
    adds = sum(n.op == "add" for n in graph)
    assert ops["QLinearConv"] == convs and ops["Conv"] == 0       # the stem included
    assert ops["QLinearAdd"] == adds
    assert ops["QLinearGlobalAveragePool"] == 1
    assert ops["QuantizeLinear"] == 1 and ops["DequantizeLinear"] == 1   # in at the input, out before the classifier


def test_scales_and_zero_points_are_scalars_and_the_bias_is_int32():
    graph, trained = trained_guide()
    model = fgir.to_onnx(graph, weights=trained)
    inits = {t.name: t for t in model.graph.initializer}
    scales = [t for name, t in inits.items() if name.endswith((".quant.scale", ".quant.zero_point"))]
    assert scales and all(list(t.dims) == [] for t in scales)
    assert inits["layer1.0.conv1.bias"].data_type == TensorProto.INT32
    assert inits["layer1.0.conv2.weight"].data_type == TensorProto.INT8        # a 4-bit conv, integer form
    codes = numpy_helper.to_array(inits["layer1.0.conv2.weight"])
    assert codes.min() >= -7 and codes.max() <= 7 and np.abs(codes).max() == 7


# -- the same integers in both backends ------------------------------------------------------------
def test_torch_and_onnx_runtime_compute_the_same_codes():
    graph, trained = trained_guide()
    model = fgir.to_onnx(graph, weights=trained)
    _, _, test_x, test_y = digits()
    x = test_x[:128]
    agreement, want, got = code_agreement(graph, trained, model, x.numpy())
    assert len(agreement) == 33 and min(agreement.values()) >= 0.999, agreement
    assert (got.argmax(1) == want.argmax(1)).mean() >= 0.995
    assert (want.argmax(1) == test_y[:128].numpy()).mean() >= 0.7     # a trained network


def test_qat_weights_export_to_integer_kernels(tmp_path):
    graph, trained = trained_guide()
    ops = optimized_ops(fgir.to_onnx(graph, weights=trained), tmp_path)
    assert ops["QLinearConv"] == 21 and ops["QLinearAdd"] == 9 and ops["Conv"] == 0


def test_post_training_quantization_from_the_cli(tmp_path, capsys):
    """A float checkpoint, a Quant spec and calibration data: a model ONNX Runtime runs with integer kernels."""
    float_spec = tmp_path / "float.yaml"
    float_spec.write_text("search_space:\n  modules: [resnet]\n  resnet: {type: ResNet, depth: 20}\n")
    quant = tmp_path / "quant.yaml"
    quant.write_text(quant_spec("{type: ResNet, depth: 20}", 8, 8).replace("net", "resnet"))
    assert main(["compile", str(float_spec), "-o", str(tmp_path / "float.pt"), "--seed", "0"]) == 0
    out = tmp_path / "q.onnx"
    assert main(["compile", str(quant), "-o", str(out), "--weights", str(tmp_path / "float.pt")]) == 1
    assert "holds no ranges for the network's" in capsys.readouterr().err
    assert main(["compile", str(quant), "-o", str(out), "--weights", str(tmp_path / "float.pt"),
                 "--calibrate", "2", "--calibration", "mse"]) == 0
    ops = optimized_ops(onnx.load(str(out)), tmp_path)
    assert ops["QLinearConv"] == 21 and ops["QLinearAdd"] == 9
    # the user's own data: an .npz of images (here the digits, as 8-bit images)
    from sklearn.datasets import load_digits
    digits = load_digits()
    np.savez(tmp_path / "mine.npz", x=(digits.images * 255 / 16).astype(np.uint8), y=digits.target)
    assert main(["compile", str(quant), "-o", str(out), "--weights", str(tmp_path / "float.pt"),
                 "--calibrate", "3", "--calibrate-data", str(tmp_path / "mine.npz")]) == 0
    assert main(["compile", str(quant), "-o", str(out), "--weights", str(tmp_path / "float.pt"),
                 "--calibrate", "3", "--calibrate-data", str(tmp_path / "none.npz")]) == 2
    assert "none.npz" in capsys.readouterr().err


# -- 4-bit: two honest forms -------------------------------------------------------------------------
def test_4_bit_storage_form_is_smaller_and_computes_the_same(tmp_path):
    graph = fgir.compile(fgir.loads(quant_spec("{type: ResNet, depth: 20}", 4, 8)), input="3x16x16")
    module = randomize_batch_norm(fgir.to_torch(graph, seed=0), 1)
    calibrate(module, [torch.randn(8, 3, 16, 16)])
    speed = fgir.to_onnx(graph, weights=module)
    storage = fgir.to_onnx(graph, weights=module, form="storage")
    weight = next(t for t in storage.graph.initializer if t.name == "layer1.0.conv1.weight")
    assert weight.data_type == TensorProto.INT4 and len(weight.raw_data) == np.prod(weight.dims) // 2
    assert storage.ByteSize() < 0.75 * speed.ByteSize()
    x = np.random.default_rng(0).standard_normal((4, 3, 16, 16)).astype(np.float32)
    with torch.no_grad():
        want = module.eval()(torch.from_numpy(x)).numpy()
    fast, small = session(speed).run(None, {"input": x})[0], session(storage).run(None, {"input": x})[0]
    assert (fast.argmax(1) == want.argmax(1)).all() and (small.argmax(1) == want.argmax(1)).all()
    assert optimized_ops(speed, tmp_path)["QLinearConv"] == 21
    assert optimized_ops(storage, tmp_path)["QLinearConv"] == 1     # only the 8-bit stem


def test_4_bit_inputs_after_a_max_pool_load_and_run_at_opset_21():
    graph = fgir.compile(fgir.loads(quant_spec("{type: ResNet, depth: 18}", 4, 4)), input="3x64x64")
    module = randomize_batch_norm(fgir.to_torch(graph, seed=0), 1)
    calibrate(module, [torch.randn(4, 3, 64, 64)])
    assert graph["layer1.0.conv1"].inputs[0].name == "maxpool.quant4"
    x = np.random.default_rng(1).standard_normal((2, 3, 64, 64)).astype(np.float32)
    for form in ("integer", "storage"):
        out = session(fgir.to_onnx(graph, weights=module, opset=21, form=form)).run(None, {"input": x})[0]
        assert out.shape == (2, 10) and np.isfinite(out).all()


@pytest.mark.parametrize("bits", [2, 3, 5, 6, 7])
def test_bits_other_than_8_clip_their_codes(bits):
    graph = fgir.compile(fgir.loads(quant_spec("{type: ResNet, depth: 20}", bits, bits)), input="3x16x16")
    module = fgir.to_torch(graph, seed=0)
    calibrate(module, [torch.randn(4, 3, 16, 16)])
    model = fgir.to_onnx(graph, weights=module)
    point = "layer1.0.relu.quant"
    clip = next(n for n in model.graph.node if n.name == f"{point}/clip")
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    assert int(inits[clip.input[2]]) == 2 ** bits - 1
    _, codes = onnx_codes(model, np.random.default_rng(2).standard_normal((2, 3, 16, 16)).astype(np.float32),
                          [point])
    assert codes[point].max() <= 2 ** bits - 1


# -- layers kept float -----------------------------------------------------------------------------------
def test_weight_only_quantization_matches_torch_within_1e_5():
    graph = fgir.compile(fgir.loads(quant_spec("{type: ResNet, depth: 20}", 4, 32, ", stem_bits: 32")),
                         input="3x16x16")
    module = randomize_batch_norm(fgir.to_torch(graph, seed=0), 1)
    assert graph.meta["quant"]["points"] == []       # nothing is read quantized
    x = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        want = module(x).numpy()
    got = session(fgir.to_onnx(graph, weights=module)).run(None, {"input": x.numpy()})[0]
    assert np.abs(got - want).max() <= 1e-5


def test_float_weights_with_a_quantized_input_stay_float_in_onnx_runtime(tmp_path):
    """ONNX Runtime would quantize a float weight read from DequantizeLinear itself: the bias goes apart."""
    graph = fgir.compile(fgir.loads(quant_spec("{type: ResNet, depth: 20}", 32, 8)), input="3x16x16")
    module = randomize_batch_norm(fgir.to_torch(graph, seed=0), 1)
    calibrate(module, [torch.randn(4, 3, 16, 16)])
    model = fgir.to_onnx(graph, weights=module)
    ops = optimized_ops(model, tmp_path)
    assert ops["QLinearConv"] == 1 and ops["Conv"] == 20     # the 8-bit stem is integer; the rest float
    # per point, from torch's codes before it: a float conv's last bit may flip one code at a rounding
    # tie (that flip then cascades end to end); a weight ONNX Runtime quantized itself moves thousands
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(0)).numpy()
    agreement = layerwise_code_agreement(graph, module, model, x)
    assert len(agreement) == sum(graph[p].attrs["tie"] is None for p in graph.meta["quant"]["points"]) > 20
    assert min(agreement.values()) >= 0.9999, agreement


def test_to_onnx_calibrates_a_copy_and_needs_batches():
    graph, trained = trained_guide()
    before = {k: v.clone() for k, v in trained.state_dict().items()}
    fgir.to_onnx(graph, weights=trained, calibrate=[digits()[0][:64]])
    assert all(torch.equal(before[k], v) for k, v in trained.state_dict().items())
    with pytest.raises(ValueError, match="no batches"):
        fgir.to_onnx(graph, weights=trained, calibrate=[])
