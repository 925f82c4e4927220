"""The ONNX backend: models agree with the torch module, pass onnx's checks, and fail cleanly.

Test weights: the seeded module with random BatchNorm statistics and affine
parameters (mean ~ N(0, 0.1), var in [0.5, 2], weight in [0.5, 1.5], bias ~
N(0, 0.1)), so folding is exercised with every BN parameter non-trivial while
the network stays well conditioned.  (Statistics calibrated on a few random
images make ResNet-50 at 64x64 so ill-conditioned that torch's own float32
output is ~1e-4 away from float64; that would test float noise, not fgir.)
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

from onnx.reference import ReferenceEvaluator  # noqa: E402

import fgir  # noqa: E402
from conftest import EXAMPLES, FIXED_INPUT, NETWORK_EXAMPLES, run_fgir  # noqa: E402
from fgir.backends.onnx import build_model, max_opset  # noqa: E402
from fgir.backends.onnx import io as onnx_io  # noqa: E402
from fgir.backends.onnx.io import save_atomic  # noqa: E402
from fgir.cli import main  # noqa: E402
from fgir.diagnostics import FgirError, SpecIOError  # noqa: E402
from fgir.testing.weights import randomize_batch_norm  # noqa: E402

TOL = 1e-4
THREADS = 2
# ImageNet-size stems at 224 are slow on CPU; at 64 every stage still sees at least 2x2
SMALL_INPUT = "3x64x64"
PLUGIN = EXAMPLES / "user_blocks" / "searchable_stage.py"
# examples whose Prune process slices a dense checkpoint: (the dense spec, the file it expects)
DENSE_CHECKPOINTS = {"prune_resnet20.yaml": ("resnet20_cifar.yaml", "resnet20_dense.pt")}

ZOO = """\
search_space:
  modules: [conv, bn, relu, pool, norm, grouped, avg, adapt, view, drop, ident, fc]
  conv: {type: Conv2d, in_channels: 3, out_channels: 8, kernel_size: 3, padding: 1, bias: true}
  bn: {type: BatchNorm2d, affine: false}
  relu: {type: ReLU}
  pool: {type: MaxPool2d, kernel_size: 3, stride: 2, padding: 1}
  norm: {type: BatchNorm2d}
  grouped: {type: Conv2d, out_channels: 8, kernel_size: 3, padding: 2, dilation: 2, groups: 2,
            bias: false}
  avg: {type: AvgPool2d, kernel_size: 3, stride: 1, padding: 1}
  adapt: {type: AdaptiveAvgPool2d, output_size: [3, 2]}
  view: {type: View}
  drop: {type: Dropout, p: 0.3}
  ident: {type: Identity}
  fc: {type: Linear, out_features: 5}
"""


# -- helpers --------------------------------------------------------------------------
# the tests' weights: BatchNorm statistics that are not trivial, so folding shows
with_bn_statistics = randomize_batch_norm


def compile_example(name: str, folder: Path) -> fgir.Graph:
    path = EXAMPLES / name
    if name == "user_block.yaml":
        load_plugin_once()
    if name in DENSE_CHECKPOINTS:   # the example's workflow: a dense checkpoint beside the spec
        dense_spec, checkpoint = DENSE_CHECKPOINTS[name]
        fgir.save_model(fgir.to_torch(EXAMPLES / dense_spec, seed=0), folder / checkpoint)
        path = folder / name
        path.write_text((EXAMPLES / name).read_text())
    graph = fgir.compile(path)
    return fgir.compile(path, input=SMALL_INPUT) if graph.meta["input"][1] > 64 else graph


@functools.lru_cache(maxsize=None)
def load_plugin_once() -> None:
    from fgir.blocks import BLOCKS
    from fgir.cli import load_plugin

    if "SearchableStage" not in BLOCKS:
        load_plugin(str(PLUGIN))


def checked(model: onnx.ModelProto) -> onnx.ModelProto:
    onnx.checker.check_model(model, full_check=True)
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    return model


def session(model: onnx.ModelProto | str | os.PathLike) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    source = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def run_ort(model, x: np.ndarray) -> np.ndarray:
    return session(model).run(None, {"input": x})[0]


def run_torch(module: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


def random_input(graph: fgir.Graph, batch: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((batch, *graph.meta["input"]), np.float32)


def max_diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float(np.abs(a - b).max())


@functools.lru_cache(maxsize=None)
def resnet20() -> tuple[fgir.Graph, torch.nn.Module]:
    graph = fgir.compile(EXAMPLES / "resnet20_cifar.yaml")
    return graph, with_bn_statistics(fgir.to_torch(graph, seed=0))


def conv_bn_graph(*, conv_read_by_add: bool = False, bias: bool = False, **quant: int) -> fgir.Graph:
    """input → conv → batch_norm (→ add(conv, bn)), built directly in the IR and compiled."""
    g = fgir.Graph()
    x = g.add_input()
    conv = g.add("conv", "conv2d", [x], {"in_channels": 3, "out_channels": 4, "kernel_size": [3, 3],
                                         "stride": [1, 1], "padding": [1, 1], "dilation": [1, 1],
                                         "groups": 1, "bias": bias})
    conv.meta.update(quant)
    bn = g.add("bn", "batch_norm", [conv], {"num_features": 4, "eps": 1e-5, "momentum": 0.1,
                                            "affine": True})
    g.set_output(g.add("add", "add", [conv, bn]) if conv_read_by_add else bn)
    return fgir.compile(g, input="3x9x9")


def is_quantized(graph: fgir.Graph) -> bool:
    return any(node.meta.get("w_bits", 32) < 32 or node.meta.get("a_bits", 32) < 32 for node in graph)


def worst_quantized_layer_diff(graph: fgir.Graph, module: torch.nn.Module, model: onnx.ModelProto,
                               x: np.ndarray) -> float:
    """Each quantized conv (with its BN) of the ONNX model, run on the torch module's own input to it.

    A quantizer is a step function: float32 noise (different summation orders) now and then moves a
    value across a rounding boundary, and one flipped 4-bit code moves an activation by a whole
    step, so the final outputs of two correct float32 implementations differ by far more than 1e-4.
    Given the same input, each quantized layer must agree to float noise.
    """
    layers = [(node.name, node.inputs[0].name, node.users[0].name) for node in graph
              if "w_bits" in node.meta]
    seen: dict[str, np.ndarray] = {}

    def keep(key):
        return lambda mod, args, out=None: seen.__setitem__(key, (args[0] if out is None else out).numpy())

    hooks = [h for conv, _, bn in layers for h in (
        module.get_submodule(conv).register_forward_pre_hook(keep(conv)),
        module.get_submodule(bn).register_forward_hook(keep(bn)))]
    try:
        run_torch(module, x)
    finally:
        for hook in hooks:
            hook.remove()
    extractor = onnx.utils.Extractor(model)
    worst = 0.0
    for conv, source, bn in layers:
        layer = extractor.extract_model([source], [bn])
        worst = max(worst, max_diff(session(layer).run(None, {source: seen[conv]})[0], seen[bn]))
    return worst


# -- numerics -------------------------------------------------------------------------
@pytest.mark.parametrize("name", [n for n in NETWORK_EXAMPLES if n not in FIXED_INPUT] + ["user_block.yaml"])
def test_onnx_runtime_matches_torch(name, tmp_path):
    torch.set_num_threads(THREADS)
    graph = compile_example(name, tmp_path)
    module = with_bn_statistics(fgir.to_torch(graph, seed=0))
    model = checked(fgir.to_onnx(graph, weights=module))
    sess = session(model)
    for batch in (1, 8):
        x = random_input(graph, batch, seed=batch)
        got, want = sess.run(None, {"input": x})[0], run_torch(module, x)
        assert got.shape == want.shape == (batch, graph.output.type.channels)
        if is_quantized(graph):
            assert worst_quantized_layer_diff(graph, module, model, x) <= TOL
        else:
            assert max_diff(got, want) <= TOL


@pytest.mark.parametrize("name", ["resnet20_cifar.yaml", "variant_layer.yaml"])
def test_reference_evaluator_matches_torch_and_onnx_runtime(name):
    graph = fgir.compile(EXAMPLES / name)
    assert graph.meta["input"] == [3, 32, 32]
    module = with_bn_statistics(fgir.to_torch(graph, seed=1))
    model = checked(fgir.to_onnx(graph, weights=module))
    x = random_input(graph, 1)
    reference = ReferenceEvaluator(model).run(None, {"input": x})[0]
    assert max_diff(reference, run_torch(module, x)) <= TOL
    assert max_diff(reference, run_ort(model, x)) <= TOL


@pytest.mark.parametrize("size,adaptive_ops", [("3x13x11", ["MatMul", "MatMul"]),
                                               ("3x11x11", ["AveragePool"])])
@pytest.mark.parametrize("keep_bn", [False, True])
def test_every_primitive_op_matches_torch(write_spec, size, adaptive_ops, keep_bn):
    # uneven adaptive windows (13 rows → 7 → 3) take the matrix path, even ones AveragePool
    graph = fgir.compile(write_spec(ZOO), input=size)
    module = with_bn_statistics(fgir.to_torch(graph, seed=2))
    model = checked(fgir.to_onnx(graph, weights=module, keep_bn=keep_bn))
    ops = {node.name: node.op_type for node in model.graph.node}
    assert [op for name, op in ops.items() if name.startswith("adapt")] == adaptive_ops
    assert "drop" not in ops and "ident" not in ops
    if keep_bn:
        assert ops["bn"] == ops["norm"] == "BatchNormalization"
    else:   # bn follows its conv alone: folded; norm follows a pool: a per-channel Mul and Add
        assert "bn" not in ops and ops["norm"] == "Add" and ops["norm/scale"] == "Mul"
    for batch in (1, 8):
        x = random_input(graph, batch)
        want = run_torch(module, x)
        assert max_diff(run_ort(model, x), want) <= TOL
        assert max_diff(ReferenceEvaluator(model).run(None, {"input": x})[0], want) <= TOL


def test_a_conv_read_by_more_than_its_batch_norm_is_not_folded():
    graph = conv_bn_graph(conv_read_by_add=True)
    module = with_bn_statistics(fgir.to_torch(graph, seed=3))
    model = checked(fgir.to_onnx(graph, weights=module))
    assert [(n.name, n.op_type) for n in model.graph.node] == [
        ("conv", "Conv"), ("bn/scale", "Mul"), ("bn", "Add"), ("add", "Add")]
    x = random_input(graph, 2)
    assert max_diff(run_ort(model, x), run_torch(module, x)) <= TOL


ONE_LAYER = """\
search_space:
  modules: [stem, conv, bn, process]
  stem: {type: Conv2d, in_channels: 3, out_channels: 4, kernel_size: 1, bias: false}
  conv: {type: Conv2d, in_channels: 4, out_channels: 4, kernel_size: 3, padding: 1, bias: true}
  bn: {type: BatchNorm2d}
  process: {type: Quant, nbit_w_list: [W], nbit_a_list: [A], stem_bits: 32}
"""


@pytest.mark.parametrize("w_bits,a_bits", [(1, 1), (2, 3), (4, 4), (8, 8), (3, 32), (32, 5)])
@pytest.mark.parametrize("form", ["integer", "storage"])
def test_quantized_conv_stores_integer_codes_and_matches_torch(w_bits, a_bits, form):
    from fgir.backends.torch.calibrate import calibrate
    from quant_parity import code_agreement

    text = ONE_LAYER.replace("[W]", str([w_bits])).replace("[A]", str([a_bits]))
    graph = fgir.compile(fgir.loads(text), input="3x9x9")
    module = with_bn_statistics(fgir.to_torch(graph, seed=5))
    with torch.no_grad():
        module.bn.weight[::2] *= -1         # negative BN scales fold into the codes' signs
    x = 2 * random_input(graph, 8)          # wide enough that some inputs clip
    calibrate(module, [torch.from_numpy(x)], method="percentile", percentile=95)
    model = checked(fgir.to_onnx(graph, weights=module, form=form))
    ops = [n.op_type for n in model.graph.node]
    assert ("QuantizeLinear" in ops) == (a_bits < 32)
    assert ("Clip" in ops) == (a_bits not in (8, 32))    # k-bit codes in an 8-bit container
    tensor = next(t for t in model.graph.initializer if t.name == "conv.weight")
    if w_bits < 32:     # integer codes: INT8, or packed INT4 for 4-bit storage
        packed = form == "storage" and w_bits == 4
        assert tensor.data_type == (onnx.TensorProto.INT4 if packed else onnx.TensorProto.INT8)
        codes = onnx.numpy_helper.to_array(tensor).astype(np.int8)
        assert np.abs(codes).max() == max(1, 2 ** (w_bits - 1) - 1)
    if a_bits == 32:    # float activations: plain arithmetic on both sides
        assert max_diff(run_ort(model, x), run_torch(module, x)) <= TOL
    else:
        agreement, _, _ = code_agreement(graph, module, model, x)
        assert agreement.keys() == {"stem.quant", "bn.quant"} and min(agreement.values()) >= 0.999, agreement


# -- the model's form -------------------------------------------------------------------
def test_batch_norm_folded_by_default_and_kept_with_keep_bn():
    graph, module = resnet20()
    folded = checked(fgir.to_onnx(graph, weights=module))
    kept = checked(fgir.to_onnx(graph, weights=module, keep_bn=True))
    ir_bns = [n.name for n in graph if n.op == "batch_norm"]
    assert not [n for n in folded.graph.node if n.op_type == "BatchNormalization"]
    assert [n.name for n in kept.graph.node if n.op_type == "BatchNormalization"] == ir_bns
    x = random_input(graph, 8)
    assert max_diff(run_ort(folded, x), run_ort(kept, x)) <= TOL
    assert max_diff(run_ort(kept, x), run_torch(module, x)) <= TOL


def test_nodes_are_named_by_scope_and_located_in_the_spec():
    graph, module = resnet20()
    model = fgir.to_onnx(graph, weights=module)
    bns = {n.name for n in graph if n.op == "batch_norm"}
    assert [n.name for n in model.graph.node] == [n.name for n in graph
                                                  if n.op != "input" and n.name not in bns]
    conv = next(n for n in model.graph.node if n.name == "layer1.0.conv1")
    assert conv.doc_string.startswith(f"{graph['layer1.0.conv1'].origin.loc}: ")
    assert "'layer1.0.bn1' folded in" in conv.doc_string
    kept = fgir.to_onnx(graph, weights=module, keep_bn=True)
    assert [n.name for n in kept.graph.node] == [n.name for n in graph if n.op != "input"]


def test_metadata_names_fgir_version_and_spec_hash():
    graph, module = resnet20()
    props = {p.key: p.value for p in fgir.to_onnx(graph, weights=module).metadata_props}
    assert props["fgir.version"] == fgir.__version__
    spec_bytes = (EXAMPLES / "resnet20_cifar.yaml").read_bytes()
    assert props["fgir.spec.sha256"] == hashlib.sha256(spec_bytes).hexdigest()


def test_batch_dimension_is_dynamic():
    graph, module = resnet20()
    model = fgir.to_onnx(graph, weights=module)
    (inp,), (out,) = model.graph.input, model.graph.output
    assert [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim] == ["N", 3, 32, 32]
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == ["N", 10]
    sess = session(model)
    x = random_input(graph, 5)
    whole = sess.run(None, {"input": x})[0]
    for lo, hi in [(0, 1), (1, 4), (4, 5)]:
        part = sess.run(None, {"input": x[lo:hi]})[0]
        assert part.shape == (hi - lo, 10)
        assert max_diff(part, whole[lo:hi]) <= TOL


def test_opset_17_emits_and_runs():
    graph, module = resnet20()
    model = checked(fgir.to_onnx(graph, weights=module, opset=17))
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
    assert fgir.to_onnx(graph, weights=module).opset_import[0].version == 21
    x = random_input(graph, 2)
    assert max_diff(run_ort(model, x), run_torch(module, x)) <= TOL


@pytest.mark.parametrize("opset", [16, max_opset() + 1])
def test_opset_out_of_range(opset, tmp_path, capsys):
    graph, module = resnet20()
    with pytest.raises(ValueError, match=f"opset {opset} is not supported: fgir emits opsets 17 to"):
        fgir.to_onnx(graph, weights=module, opset=opset)
    out = tmp_path / "m.onnx"
    rc = main(["compile", str(EXAMPLES / "resnet20_cifar.yaml"), "-o", str(out), "--opset", str(opset)])
    assert rc == 2 and not out.exists()
    assert f"fgir: error: --opset {opset}: opset {opset} is not supported" in capsys.readouterr().err


def test_external_data_above_the_threshold(tmp_path):
    graph, module = resnet20()
    x = random_input(graph, 2)
    want = run_ort(fgir.to_onnx(graph, weights=module), x)
    path = tmp_path / "big.onnx"
    written = save_atomic(fgir.to_onnx(graph, weights=module), path, external_threshold=1024)
    data = tmp_path / "big.onnx.data"
    assert written == [data, path]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.onnx", "big.onnx.data"]
    assert path.stat().st_size < 64 * 1024 < data.stat().st_size
    onnx.checker.check_model(str(path), full_check=True)
    assert max_diff(run_ort(path, x), want) == 0.0
    small = tmp_path / "small.onnx"
    assert save_atomic(fgir.to_onnx(graph, weights=module), small) == [small]
    assert max_diff(run_ort(small, x), want) == 0.0


# -- weights ------------------------------------------------------------------------------
def test_weights_that_do_not_fit_the_spec_name_every_tensor():
    graph, module = resnet20()
    arrays = {k: v.numpy() for k, v in module.state_dict().items()}
    arrays["layer1.0.conv1.weight"] = arrays["layer1.0.conv1.weight"][:, :8]
    del arrays["fc.bias"]
    arrays["fc.scale"] = np.ones(10, np.float32)
    arrays["bn1.running_mean"] = arrays["bn1.running_mean"].astype(np.int64)
    with pytest.raises(FgirError) as err:
        build_model(graph, arrays)
    found = {d.path: d.message for d in err.value.diagnostics}
    assert found == {
        "layer1.0.conv1.weight": "has shape 16x8x3x3, but the spec needs 16x16x3x3",
        "fc.bias": "missing: the spec needs a 10 tensor here",
        "fc.scale": "is not a tensor of this spec's network",
        "bn1.running_mean": "has dtype int64, not floating point"}


def test_weights_from_a_checkpoint_equal_the_seeded_module(tmp_path):
    graph = fgir.compile(EXAMPLES / "resnet20_cifar.yaml")
    checkpoint = tmp_path / "m.pt"
    fgir.save_model(fgir.to_torch(graph, seed=4), checkpoint)
    from_file = fgir.to_onnx(graph, weights=checkpoint)
    from_seed = fgir.to_onnx(graph, seed=4)
    assert from_file.graph.initializer == from_seed.graph.initializer
    with pytest.raises(ValueError, match="seed only applies to fresh weights"):
        fgir.to_onnx(graph, weights=checkpoint, seed=4)


# -- the command line, and failures that leave nothing behind ---------------------------
def test_cli_seed_and_weights_give_identical_models(tmp_path):
    spec = "examples/resnet20_cifar.yaml"
    a, pt, b = tmp_path / "a.onnx", tmp_path / "a.pt", tmp_path / "b.onnx"
    result = run_fgir("compile", spec, "-o", str(a), "--seed", "0")
    assert result.returncode == 0 and result.stdout == f"wrote {a}\n", result.stderr
    assert main(["compile", spec, "-o", str(pt), "--seed", "0"]) == 0
    assert main(["compile", spec, "-o", str(b), "--weights", str(pt)]) == 0
    model_a, model_b = checked(onnx.load(a)), checked(onnx.load(b))
    assert model_a.graph.initializer == model_b.graph.initializer
    graph = fgir.compile(EXAMPLES / "resnet20_cifar.yaml")
    x = random_input(graph, 8)
    got = run_ort(a, x)
    assert np.array_equal(got, run_ort(b, x))
    assert max_diff(got, run_torch(fgir.to_torch(graph, seed=0).eval(), x)) <= TOL


def test_cli_keep_bn_and_opset(tmp_path):
    out = tmp_path / "m.onnx"
    assert main(["compile", "examples/resnet20_cifar.yaml", "-o", str(out), "--keep-bn",
                 "--opset", "17", "--input", "3x40x40"]) == 0
    model = checked(onnx.load(out))
    assert model.opset_import[0].version == 17
    ir_bns = sum(n.op == "batch_norm" for n in fgir.compile(EXAMPLES / "resnet20_cifar.yaml"))
    assert sum(n.op_type == "BatchNormalization" for n in model.graph.node) == ir_bns > 0
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim][1:] == [3, 40, 40]


def test_cli_spec_error_writes_nothing(write_spec, tmp_path, capsys):
    spec = write_spec("""
        search_space:
          modules: [conv, fc]
          conv: {type: Conv2d, in_channels: 4, out_channels: 8, kernel_size: 3}
          fc: {type: Linear, out_features: 2}
        """)
    out = tmp_path / "m.onnx"
    assert main(["compile", str(spec), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "conv.in_channels: conv2d 'conv' expects 4 input channels but receives 3" in err
    assert list(tmp_path.iterdir()) == [spec]


def test_cli_weights_with_wrong_shapes_write_nothing(write_spec, tmp_path, capsys):
    other = write_spec((EXAMPLES / "resnet20_cifar.yaml").read_text().replace("num_class: 10",
                                                                              "num_class: 100"))
    pt, out = tmp_path / "other.pt", tmp_path / "m.onnx"
    assert main(["compile", str(other), "-o", str(pt), "--seed", "0"]) == 0
    capsys.readouterr()
    assert main(["compile", "examples/resnet20_cifar.yaml", "-o", str(out), "--weights", str(pt)]) == 1
    err = capsys.readouterr().err
    assert f"{pt}: error: fc.weight: has shape 100x64, but the spec needs 10x64" in err
    assert f"{pt}: error: fc.bias: has shape 100, but the spec needs 10" in err
    assert "fgir: 2 errors" in err
    assert not out.exists()


@pytest.mark.parametrize("content,code,message", [
    (None, 2, "no such file"),
    (b"not a checkpoint", 2, "not a loadable weights-only checkpoint"),
    ("no tensors", 1, "holds no weights: neither an fgir checkpoint nor a state_dict of tensors"),
])   # a bare state_dict is accepted: tests/test_reliability_weights.py
def test_cli_bad_weights_files(tmp_path, capsys, content, code, message):
    weights, out = tmp_path / "w.pt", tmp_path / "m.onnx"
    if content == "no tensors":
        torch.save({"epoch": 3}, weights)
    elif content is not None:
        weights.write_bytes(content)
    assert main(["compile", "examples/resnet20_cifar.yaml", "-o", str(out), "--weights",
                 str(weights)]) == code
    err = capsys.readouterr().err
    assert err.startswith(f"{weights}: error: {message}") and "Traceback" not in err
    assert not out.exists()


def test_cli_seed_with_weights_is_a_usage_error(tmp_path, capsys):
    out = tmp_path / "m.onnx"
    assert main(["compile", "examples/resnet20_cifar.yaml", "-o", str(out), "--seed", "1",
                 "--weights", "m.pt"]) == 2
    assert "--seed sets fresh weights" in capsys.readouterr().err
    assert not out.exists()


def test_a_writer_failure_midway_leaves_the_old_file_and_no_temporaries(tmp_path, monkeypatch, capsys):
    out = tmp_path / "m.onnx"
    out.write_bytes(b"the previous model")
    real_chunks = onnx_io.model_chunks

    def fail_halfway(model):
        chunks = real_chunks(model)
        yield next(chunks)
        yield next(chunks)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(onnx_io, "model_chunks", fail_halfway)
    graph, module = resnet20()
    with pytest.raises(SpecIOError, match="cannot write: No space left on device"):
        fgir.to_onnx(graph, out, weights=module)
    assert main(["compile", "examples/resnet20_cifar.yaml", "-o", str(out), "--seed", "0"]) == 2
    assert f"{out}: error: cannot write: No space left on device" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]
    assert out.read_bytes() == b"the previous model"
    fresh = tmp_path / "new.onnx"
    with pytest.raises(SpecIOError):
        fgir.to_onnx(graph, fresh, weights=module)
    assert not fresh.exists() and [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_the_written_file_is_the_model(tmp_path):
    graph, module = resnet20()
    model = fgir.to_onnx(graph, tmp_path / "m.onnx", weights=module)
    assert onnx.load(tmp_path / "m.onnx") == model
    quantized = fgir.compile(EXAMPLES / "quant_resnet20.yaml")
    model = fgir.to_onnx(quantized, tmp_path / "q.onnx", seed=0)
    assert onnx.load(tmp_path / "q.onnx") == model


def test_writing_into_a_missing_folder_is_an_io_error(tmp_path):
    graph, module = resnet20()
    with pytest.raises(SpecIOError, match="cannot write: No such file or directory"):
        fgir.to_onnx(graph, tmp_path / "nowhere" / "m.onnx", weights=module)
