"""``fgir quantize`` (fgir.deploy): post-training int8 of a trained checkpoint, written as a spec and a model.

One tiny plain CNN (four 3x3 convs, 3x8x8) is trained on the digits once per module (3 epochs); each test
quantizes it, or a copy whose weights make one layer fragile, and checks real outputs: ONNX Runtime's
optimized graph, the written spec recompiled, per-channel mean shifts, the max-drop loop's choices, the
size budget, and the errors' exact lines.
"""

from __future__ import annotations

import functools
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import fgir
from fgir.cli import main
from fgir.deploy import quantize
from fgir.deploy.bias import output_module, quantized_layers, float_means
from fgir.deploy.budget import MaxDropError, SizeBudgetError
from fgir.data.errors import DataError
from quant_parity import optimized_ops, session

SPEC = """
search_space:
  modules: [conv1, bn1, relu1, conv2, bn2, relu2, conv3, bn3, relu3, conv4, bn4, relu4, pool, flat, fc]
  conv1: {type: Conv2d, in_channels: 3, out_channels: 16, kernel_size: 3, padding: 1, bias: false}
  bn1: {type: BatchNorm2d, num_features: 16}
  relu1: {type: ReLU}
  conv2: {type: Conv2d, in_channels: 16, out_channels: 16, kernel_size: 3, padding: 1, bias: false}
  bn2: {type: BatchNorm2d, num_features: 16}
  relu2: {type: ReLU}
  conv3: {type: Conv2d, in_channels: 16, out_channels: 32, kernel_size: 3, stride: 2, padding: 1, bias: false}
  bn3: {type: BatchNorm2d, num_features: 32}
  relu3: {type: ReLU}
  conv4: {type: Conv2d, in_channels: 32, out_channels: 32, kernel_size: 3, padding: 1, bias: false}
  bn4: {type: BatchNorm2d, num_features: 32}
  relu4: {type: ReLU}
  pool: {type: AdaptiveAvgPool2d, output_size: 1}
  flat: {type: Flatten}
  fc: {type: Linear, in_features: 32, out_features: 10}
input: 3x8x8
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """(spec, float checkpoint): the tiny CNN trained 3 epochs on the digits by fgir.train."""
    folder = tmp_path_factory.mktemp("quantize")
    spec = folder / "net.yaml"
    spec.write_text(textwrap.dedent(SPEC).lstrip())
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fgir.train(spec, folder / "float.pt", data="digits", epochs=3, optimizer="adamw", lr=0.003, progress=None)
        yield spec, folder / "float.pt"
    finally:
        torch.set_num_threads(before)


@functools.lru_cache(maxsize=1)
def digits_unit() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.images[:, None] / 16.0).astype(np.float32), digits.target.astype(np.int64)


def test_cli_writes_spec_and_integer_onnx_that_recompile(trained, tmp_path, capsys):
    spec, weights = trained
    out = tmp_path / "out"
    out.mkdir()
    status = main(["quantize", str(spec), "--weights", str(weights), "--calibrate-data", "digits",
                   "-o", str(out / "q.onnx"), "-o", str(out / "q.pt"), "-s", str(out / "q.yaml")])
    printed = capsys.readouterr().out
    assert status == 0
    assert "4 of 4 layers quantized (8 bits)" in printed and f"wrote {out / 'q.yaml'}" in printed
    written = (out / "q.yaml").read_text()
    assert "type: Quant" in written and "nbit_w_list: [8, 8, 8]" in written and "stem_bits: 8" in written
    import onnx

    model = onnx.load(str(out / "q.onnx"))
    ops = optimized_ops(model, tmp_path)
    assert ops["QLinearConv"] == 4 and ops["Conv"] == 0
    # the written spec with the written checkpoint is the same model, to the bit
    again = fgir.to_onnx(out / "q.yaml", weights=out / "q.pt")
    x, y = digits_unit()
    pre = fgir.load_model(out / "q.pt").preprocess
    batch = pre(x[:200])
    first = session(model).run(None, {model.graph.input[0].name: batch})[0]
    second = session(again).run(None, {again.graph.input[0].name: batch})[0]
    assert np.array_equal(first, second)
    assert (first.argmax(1) == y[:200]).mean() > 0.9


def _mean_shift(built, float_model, images) -> float:
    """Mean |float - quantized| per-channel output mean, over every quantized layer, on ``images``."""
    names = {id(m): n for n, m in built.model.named_modules()}
    watched = {name: names[id(output_module(built.model, layer))] for name, layer in quantized_layers(built.model)}
    quantized, reference = float_means(built.model, watched, images), float_means(float_model, watched, images)
    return float(torch.cat([(quantized[n] - reference[n]).abs() for n in watched]).mean())


def test_bias_correction_reduces_the_mean_shift_on_held_out_images(trained):
    spec, weights = trained
    plain = quantize(spec, weights, calibrate_data="digits", bits_w=3, bits_a=8, bias_correction=False)
    corrected = quantize(spec, weights, calibrate_data="digits", bits_w=3, bits_a=8)
    assert len(corrected.built.shifts.corrected) == 4 and corrected.built.shifts.skipped == []
    held = corrected.bench.data.eval_x     # not the images the correction was fitted on
    before = _mean_shift(plain.built, plain.bench.float_model, held)
    after = _mean_shift(corrected.built, corrected.bench.float_model, held)
    assert after < 0.5 * before, (before, after)


def _fragile(spec: Path, weights: Path, folder: Path) -> Path:
    """The float model made so that 8-bit weights ruin conv3 alone: conv2's channel 1 copies channel 0,
    and conv3 weighs them +K and -K, which cancel in float but set every 8-bit scale of conv3 so coarse
    that its real weights round to zero."""
    model = fgir.load_model(weights)
    state = model.state_dict()
    for key in ("conv2.weight", "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var"):
        state[key][1] = state[key][0]
    state["conv3.weight"][:, 0, 1, 1] += 40.0
    state["conv3.weight"][:, 1, 1, 1] -= 40.0
    model.load_state_dict(state)
    fgir.save_model(model, folder / "fragile.pt")
    return folder / "fragile.pt"


def test_max_drop_leaves_the_most_sensitive_layer_float(trained, tmp_path):
    spec, weights = trained
    fragile = _fragile(spec, weights, tmp_path)
    plain = quantize(spec, fragile, calibrate_data="digits")
    assert plain.drop > 20                                  # 8 bits everywhere: conv3 is ruined
    result = quantize(spec, fragile, calibrate_data="digits", max_drop=1.0)
    assert max(result.search.sensitivity, key=result.search.sensitivity.get) == "conv3"
    assert result.float_layers == ["conv3"] and [s.layer for s in result.steps] == ["conv3"]
    assert result.drop <= 1.0 and result.drop == result.steps[-1].drop
    assert "nbit_w_list: [8, 32, 8]" in result.spec_text()


def test_unreachable_max_drop_is_named(trained, tmp_path):
    spec, weights = trained
    x, y = digits_unit()
    x = x[:200].copy()
    x[0] *= 1e4                           # one wild image: minmax ranges so wide that every layer reads zeros
    np.savez(tmp_path / "wild.npz", x=x, y=y[:200])
    with pytest.raises(MaxDropError) as caught:
        quantize(spec, weights, calibrate_data=tmp_path / "wild.npz", eval_data="digits", calibration="minmax",
                 max_drop=0.5)
    message = str(caught.value)
    assert message.startswith(f"{spec}: error: --max-drop 0.5 cannot be met with any layer quantized: with only '")
    assert "every layer float is the float network, nothing quantized" in message


def test_calibration_data_of_the_wrong_shape_or_classes_is_named(trained, tmp_path, capsys):
    spec, weights = trained
    x, y = digits_unit()
    np.savez(tmp_path / "five.npz", x=np.repeat(x[:64], 5, axis=1), y=y[:64])
    status = main(["quantize", str(spec), "--weights", str(weights), "--calibrate-data",
                   str(tmp_path / "five.npz"), "-o", str(tmp_path / "q.onnx")])
    assert status == 2
    assert capsys.readouterr().err.splitlines()[0] == (f"{tmp_path / 'five.npz'}: error: the images have 5 channels; "
                                                       "the network takes 3 (its input is 3x8x8)")
    np.savez(tmp_path / "twelve.npz", x=x[:64], y=y[:64] + 3)
    with pytest.raises(DataError) as caught:
        quantize(spec, weights, calibrate_data=tmp_path / "twelve.npz")
    assert caught.value.message.startswith("y holds label 10 (image ")
    assert caught.value.message.endswith("the network has 10 outputs, so labels are 0..9")
    assert not (tmp_path / "q.onnx").exists() and not (tmp_path / "q.yaml").exists()


def test_mixed_precision_respects_its_size_budget(trained):
    spec, weights = trained
    eight = quantize(spec, weights, calibrate_data="digits", calibrate=2)
    budget_kb = (eight.size_bytes - 3000) / 1024           # 8-bit weights are over it: some layers must go to 4
    mixed = quantize(spec, weights, calibrate_data="digits", calibrate=2, mixed=True, max_size_kb=budget_kb)
    assert mixed.size_bytes <= budget_kb * 1024 < eight.size_bytes
    low = [name for name in mixed.plan.layers if mixed.plan.bits(name)[0] == 4]
    assert low and len(low) < 3 and mixed.plan.a_bits == (8, 8, 8)
    assert f"nbit_w_list: {list(mixed.plan.w_bits)}" in mixed.spec_text()
    with pytest.raises(SizeBudgetError) as caught:
        quantize(spec, weights, calibrate_data="digits", calibrate=2, mixed=True, max_size_kb=1)
    assert "--max-size-kb 1: the weights take" in caught.value.message


def test_images_are_prepared_as_the_checkpoint_records(trained, tmp_path):
    from fgir.data import Preprocess
    from fgir.diagnostics import SpecIOError

    spec, _ = trained
    model = fgir.to_torch(spec, seed=0)
    fgir.save_model(model, tmp_path / "bare.pt")            # records no preprocessing: refused, not guessed
    with pytest.raises(SpecIOError) as caught:
        quantize(spec, tmp_path / "bare.pt", calibrate_data="digits", calibrate=1)
    assert caught.value.message.startswith("records no input preprocessing")
    model.fgir_preprocess = Preprocess.of(0.3, 0.5, (3, 8, 8))
    fgir.save_model(model, tmp_path / "own.pt")
    result = quantize(spec, tmp_path / "own.pt", calibrate_data="digits", calibrate=1)
    assert float(result.bench.data.calibration.min()) == pytest.approx((0 - 0.3) / 0.5)
    assert float(result.bench.data.eval_x.max()) == pytest.approx((1 - 0.3) / 0.5)
