"""Properties of generated specs (issue 8), with hypothesis: fgir.testing.strategies draws valid specs
as YAML text; fgir.testing.mutate corrupts them.

Valid specs: ``fgir check`` passes; torch and ONNX both build and agree; the IR's JSON form
round-trips (through JSON text, at every pass, and the pipeline resumes from it); the summary's
parameters are the torch module's; a pruned network computes what its masked dense one does.
Corrupted specs: only located diagnostics, exit 0, 1 or 2, within 2 s and bounded memory.

Every test is derandomized (a fixed seed per test), so CI sees the same examples each run.

Activation quantization and ONNX parity: a quantizer is a step function, so float32 noise
(another summation order; ONNX Runtime accumulates integers) now and then moves a value across
a rounding boundary and one flipped code moves an activation by a whole step; end to end, two
correct implementations of a network with activation quantization differ by far more than
1e-4.  So specs whose bit lists quantize weights only are compared end to end at 1e-4, and
specs that quantize activations are compared in codes: at every quantization point, the
integer codes ONNX Runtime computes equal the torch module's (CODES_AGREE of them at least).

BUGS found by these properties (reported to the lead with minimal specs; each is excluded
from the strategies, with a comment naming it, so the suite stays green):
  * pool padding above half the kernel: ``fgir check`` passed, torch refused to run it
    (fixed: check_channels reports it; strategies draw pool padding <= kernel // 2).
  * a ResNet written at the pruned widths (the guide's way) whose dense first block has a
    projection (init_plane != the stage-1 width) while the row masks keep as many stem as
    stage-1 channels: the written block has an identity shortcut, the checkpoint's
    ``layer1.0.downsample`` is silently dropped, ``dense_params`` is wrong and the pruned
    network is not the masked dense one (fixed: apply_prune restores the dense projection,
    sliced from the checkpoint; tests/test_prune_fixes.py).
  * a conv with 4-bit input quantization reading a MaxPool2d (InitialBlock + Conv2d, Quant
    nbit_a_list 4), at opset 21: its UINT4 QuantizeLinear/DequantizeLinear pair was moved
    before the MaxPool by ONNX Runtime's optimizer, which then refused the model (fixed:
    activations are always held in 8-bit containers, Clip bounding fewer bits; the strategies
    draw such convs again).
Found while writing the security tests (fixed, tested in tests/test_cli.py):
  * ``fgir search d/best.yaml -o d`` overwrote the input spec with the search's best.yaml.
  * an I/O failure writing ``-o m.pt`` (missing folder) was exit 3, not exit 2.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import numpy as np  # noqa: E402
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import fgir  # noqa: E402
from conftest import EXAMPLES  # noqa: E402
from fgir.cli import main  # noqa: E402
from fgir.ir.channel_groups import channel_groups  # noqa: E402
from fgir.ir.graph import Graph  # noqa: E402
from fgir.passes import default_passes  # noqa: E402
from fgir.report import summarize  # noqa: E402
from quant_parity import code_agreement  # noqa: E402
from fgir.testing.strategies import (CHECKPOINT, mutated_specs, randomize_batch_norm,  # noqa: E402
                                     specs, write_spec)

TOL = 1e-4
CODES_AGREE = 0.999    # of a quantization point's codes identical in torch and ONNX Runtime (docstring)
BATCH = 2
# a diagnostic line (fgir/diagnostics.py): "path:line:col: severity: ..." or "path: severity: ..."
DIAGNOSTIC = re.compile(r"^(?P<file>\S.*?):(?:(?P<line>\d+):(?P<col>\d+):)? (?P<sev>error|warning|note): .")
SUMMARY = re.compile(r"^fgir: \d+ errors?( \(found by pass \w+\))?$")
MEMORY_BOUND = 200 * 2 ** 20

# derandomized: a fixed seed per test, so CI runs the same examples every time
PROPERTY = dict(derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# -- helpers --------------------------------------------------------------------------------
@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny networks: one intra-op thread is fastest, and much faster on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@contextlib.contextmanager
def spec_folder():
    with tempfile.TemporaryDirectory(prefix="fgir-prop-") as folder:
        yield Path(folder)


def run_cli(*args: str) -> tuple[int, str, str]:
    """fgir's command line in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(args))
    return rc, out.getvalue(), err.getvalue()


def compiled(spec, folder: Path) -> tuple[Path, Graph]:
    path = write_spec(spec, folder)
    return path, fgir.compile(path, input=spec.input)


def torch_module(spec, graph: Graph, seed: int = 0) -> torch.nn.Module:
    """The module, weights fresh (seeded, random BN statistics) or, pruned, from the checkpoint."""
    module = fgir.to_torch(graph, seed=seed)
    if spec.pruned:
        return module.eval()
    module = randomize_batch_norm(module, seed)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in module.named_parameters():
            if name.endswith((".alpha", ".high")):   # ranges where the activations are: some clip
                param.fill_(0.5 + 3.5 * torch.rand((), generator=gen).item())
            elif name.endswith(".low"):
                param.fill_(-0.5 - 3.5 * torch.rand((), generator=gen).item())
    return module


def random_input(graph: Graph, batch: int = BATCH, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((batch, *graph.meta["input"]), np.float32)


def run_torch(module: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def max_diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float(np.abs(a - b).max())


def quantizes_activations(graph: Graph) -> bool:
    return bool(graph.meta.get("quant", {}).get("points"))


# -- valid specs ----------------------------------------------------------------------------
@settings(max_examples=100, **PROPERTY)
@given(specs())
def test_check_passes(spec):
    with spec_folder() as folder:
        path = write_spec(spec, folder)
        rc, out, err = run_cli("check", str(path), "--input", spec.input)
    assert (rc, err) == (0, ""), err
    assert out.startswith(f"{path}: ok: ") and out.endswith(f"for input {spec.input}\n")


@settings(max_examples=120, **PROPERTY)
@given(st.one_of(specs(), specs(quant=True)), st.booleans(), st.sampled_from([21, 17]))
def test_torch_and_onnx_build_and_agree(spec, keep_bn, opset):
    with spec_folder() as folder:
        _, graph = compiled(spec, folder)
        module = torch_module(spec, graph)
    model = fgir.to_onnx(graph, weights=module, keep_bn=keep_bn, opset=opset)
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == opset
    x = random_input(graph)
    want = run_torch(module, x)
    got = session(model).run(None, {"input": x})[0]
    assert got.shape == want.shape == (BATCH, graph.output.type.channels)
    assert np.isfinite(want).all()
    event("quantized activations: layer by layer" if quantizes_activations(graph) else
          "quantized weights only" if "Quant" in spec.features else "float")
    if quantizes_activations(graph):   # step functions: compare the integer codes (module docstring)
        agreement, _, _ = code_agreement(graph, module, model, x)
        assert agreement and min(agreement.values()) >= CODES_AGREE, agreement
    else:
        assert max_diff(got, want) <= TOL


@settings(max_examples=60, **PROPERTY)
@given(specs())
def test_ir_json_round_trips_at_every_pass(spec):
    with spec_folder() as folder:
        path = write_spec(spec, folder)
        full = fgir.compile(path, input=spec.input)
        for k in range(len(default_passes()) + 1):
            partial = fgir.compile(fgir.load(path), passes=default_passes()[:k], input=spec.input)
            text = json.dumps(partial.to_json())
            again = Graph.from_json(json.loads(text))
            assert again == partial
            assert json.dumps(again.to_json()) == text
            # the pipeline resumes from the JSON form and ends where the whole run ends
            resumed = fgir.compile(again, passes=default_passes()[k:], input=spec.input)
            assert resumed == full


@settings(max_examples=70, **PROPERTY)
@given(st.one_of(specs(), specs(quant=True)))
def test_summary_params_equal_the_torch_modules(spec):
    with spec_folder() as folder:
        path, graph = compiled(spec, folder)
        module = fgir.to_torch(graph, seed=0)
        rc, out, err = run_cli("summary", str(path), "--input", spec.input, "--format", "json")
    assert rc == 0, err
    summary = json.loads(out)
    params = {name: p.numel() for name, p in module.named_parameters()
              if not name.endswith((".alpha", ".low", ".high"))}     # quantizers' ranges are not weights
    assert summary["params"] == summarize(graph)["params"] == sum(params.values())
    # row by row: a row is a block (or a layer outside blocks) and owns the parameters under it
    for row in summary["layers"]:
        owned = sum(n for name, n in params.items() if name.startswith(row["name"] + "."))
        assert row["params"] == owned, row["name"]


@settings(max_examples=30, **PROPERTY)
@given(specs())
def test_saved_model_reloads_and_computes_the_same(spec):
    with spec_folder() as folder:
        _, graph = compiled(spec, folder)
        module = torch_module(spec, graph, seed=1)
        fgir.save_model(module, folder / "m.pt")
        again = fgir.load_model(folder / "m.pt").eval()
    assert again.state_dict().keys() == module.state_dict().keys()
    x = random_input(graph)
    assert np.array_equal(run_torch(again, x), run_torch(module, x))


def masked_dense_by_groups(dense: torch.nn.Module, dense_graph: Graph, masks: dict[str, list[int]]):
    """The dense module with each group's mask applied where the group's channels are read: at the
    input of every convolution and Linear reading a tensor of the group."""
    group_of = channel_groups(dense_graph).group_of
    for node in dense_graph:
        if node.op not in ("conv2d", "linear"):
            continue
        source = node.inputs[0].name
        mask = masks.get(group_of(source))
        if mask is None:
            continue
        factor = torch.tensor(mask, dtype=torch.float32)
        if node.op == "conv2d":
            factor = factor.view(1, -1, 1, 1)
        else:   # after a flatten: each channel's positions are contiguous
            spatial = source
            while dense_graph[spatial].type.is_flat:
                spatial = dense_graph[spatial].inputs[0].name
            spatial = dense_graph[spatial].type
            factor = factor.repeat_interleave(spatial.height * spatial.width).view(1, -1)
        dense.get_submodule(node.name).register_forward_pre_hook(
            lambda m, args, f=factor: (args[0] * f,))
    return dense


def masked_dense_by_rows(dense: torch.nn.Module, masks: dict, blocks) -> torch.nn.Module:
    """docs/semantics.md's row layout: the stem row on the stem output, block b's row on its conv1
    output, its stage's row on its output (test_prune.py's construction)."""
    def multiply(mask):
        factor = torch.tensor(mask, dtype=torch.float32).view(1, -1, 1, 1)
        return lambda module, args, out: out * factor

    dense.get_submodule("relu").register_forward_hook(multiply(masks["node"][0]))
    for b, (scope, stage) in enumerate(blocks):
        dense.get_submodule(f"{scope}.relu").register_forward_hook(multiply(masks["inner"][b]))
        dense.get_submodule(f"{scope}.relu_1").register_forward_hook(multiply(masks["node"][stage]))
    return dense


@settings(max_examples=60, **PROPERTY)
@given(st.one_of(specs(prune=True, quant=False, rows=False),
                 specs(prune=True, quant=False, resnet=True, rows=True)))
def test_pruned_network_equals_the_masked_dense_one(spec):
    assert spec.pruned
    with spec_folder() as folder:
        _, graph = compiled(spec, folder)
        pruned = fgir.to_torch(graph).eval()
        dense_graph = fgir.compile(fgir.loads(spec.dense_text), input=spec.input)
        dense = fgir.to_torch(dense_graph)
        dense.load_state_dict(torch.load(folder / CHECKPOINT, weights_only=True))
    dense.eval()
    event("row layout" if "Prune:rows" in spec.features else "group masks")
    if "Prune:rows" in spec.features:
        masked = masked_dense_by_rows(dense, spec.masks, spec.blocks)
        assert len(spec.blocks) == len(spec.masks["inner"])
    else:
        masked = masked_dense_by_groups(dense, dense_graph, spec.masks)
        by_name = channel_groups(dense_graph).by_name()
        for group, mask in spec.masks.items():
            for conv in by_name[group].producers:   # a conv or a Linear
                attrs = graph[conv].attrs
                assert attrs["out_channels" if "out_channels" in attrs else "out_features"] == sum(mask)
    assert graph.meta["dense_params"] == dense_graph.meta["params"] >= graph.meta["params"]
    x = torch.from_numpy(random_input(graph))
    with torch.no_grad():
        assert (pruned(x) - masked(x)).abs().max().item() <= 1e-5


# -- corrupted specs ---------------------------------------------------------------------------
def check_corrupted(text: str, folder: Path, *extra: str) -> tuple[int, str]:
    path = folder / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    rc, out, err = run_cli("check", str(path), *extra)
    assert rc in (0, 1, 2), err
    assert "Traceback" not in err and "internal compiler error" not in err, err
    lines = err.splitlines()
    diagnostics = [DIAGNOSTIC.match(line) for line in lines]
    for line, diag in zip(lines, diagnostics):
        assert diag or SUMMARY.match(line), f"not a diagnostic: {line!r}"
        if diag:
            assert diag["file"] == str(path), line
    errors = [d for d in diagnostics if d and d["sev"] == "error"]
    if rc == 0:
        assert not errors and out.startswith(f"{path}: ok: ")
        rc, summary, err = run_cli("summary", str(path), "--format", "json")   # what check accepted
        assert rc == 0, err
        assert f"{json.loads(summary)['params']:,} parameters" in out
    else:
        assert errors and out == ""
        assert any(d["line"] for d in errors), "no error points into the spec"
        assert SUMMARY.match(lines[-1]) or rc == 2
    return rc, err


@settings(max_examples=400, derandomize=True, database=None, deadline=2000,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_specs())
def test_corrupted_specs_get_located_diagnostics(mutated):
    text, used = mutated
    with spec_folder() as folder:
        rc, _ = check_corrupted(text, folder)
    event(f"exit {rc}")


@settings(max_examples=30, derandomize=True, database=None, deadline=2000,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_specs(mutators=["alias_bomb", "deep_nesting"]))
def test_alias_bombs_and_deep_nesting_stay_in_bounded_memory(mutated):
    text, used = mutated
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with spec_folder() as folder:
        tracemalloc.start()
        try:
            start = time.perf_counter()
            check_corrupted(text, folder)
            took = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < MEMORY_BOUND, f"{used}: {peak / 2 ** 20:.0f} MiB"
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert after - before < MEMORY_BOUND
    assert took < 2.0


# -- outputs never overwrite the spec; writes are atomic ------------------------------------------
def test_viz_refuses_to_overwrite_the_spec(tmp_path, monkeypatch):
    spec = tmp_path / "spec.yaml"
    text = (EXAMPLES / "resnet20_cifar.yaml").read_text()
    spec.write_text(text)
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.yaml").symlink_to(spec)
    monkeypatch.chdir(tmp_path)
    for output in ("spec.yaml", str(spec), "./sub/../spec.yaml", "link.yaml"):
        rc, out, err = run_cli("viz", "spec.yaml", "-o", output)
        assert (rc, out, err) == (2, "", f"fgir: error: -o {Path(output)} would overwrite the input spec\n")
    assert spec.read_text() == text


def test_search_refuses_the_spec_as_its_output_folder(tmp_path, monkeypatch):
    spec = tmp_path / "spec.yaml"
    text = (EXAMPLES / "backbone_nas.yaml").read_text()
    spec.write_text(text)
    monkeypatch.chdir(tmp_path)
    rc, out, err = run_cli("search", "spec.yaml", "-o", "spec.yaml", "--budget", "1")
    assert rc == 2
    assert err.endswith("spec.yaml: error: is a file, not an output directory\n")
    assert spec.read_text() == text and sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]


@pytest.mark.parametrize("name", ["spec.yaml", "best.yaml", "results.jsonl", "search.json"])
def test_search_into_the_specs_own_folder_leaves_the_spec(tmp_path, monkeypatch, name):
    # a spec named like one of the search's outputs is refused (any name loads: JSON is YAML)
    spec = tmp_path / name
    text = (EXAMPLES / "backbone_nas.yaml").read_text()
    spec.write_text(text)
    monkeypatch.chdir(tmp_path)
    rc, _, err = run_cli("search", name, "-o", ".", "--budget", "2")
    assert spec.read_text() == text
    if name == "spec.yaml":
        assert rc == 0, err
        assert sorted(p.name for p in tmp_path.iterdir()) == ["best.yaml", "results.jsonl",
                                                              "search.json", "spec.yaml"]
    else:
        assert (rc, err) == (2, f"fgir: error: -o . would overwrite the input spec with {name}\n")
        assert [p.name for p in tmp_path.iterdir()] == [name]


def test_a_failed_pt_write_leaves_the_old_file_and_no_temporaries(tmp_path, monkeypatch):
    out = tmp_path / "m.pt"
    out.write_bytes(b"the previous model")
    real_save = torch.save

    def fail_halfway(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        Path(f).write_bytes(Path(f).read_bytes()[:100])   # half written, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", fail_halfway)
    module = fgir.to_torch(EXAMPLES / "resnet20_cifar.yaml", seed=0)
    with pytest.raises(OSError):
        fgir.save_model(module, out)
    assert out.read_bytes() == b"the previous model"
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]
    monkeypatch.setattr(torch, "save", real_save)
    fgir.save_model(module, out)
    assert torch.equal(fgir.load_model(out).state_dict()["fc.weight"], module.state_dict()["fc.weight"])


def test_a_failed_picture_write_leaves_the_old_file_and_no_temporaries(tmp_path, monkeypatch):
    from fgir import atomic   # every file fgir writes whole goes through it

    out = tmp_path / "g.dot"
    out.write_text("the previous picture")
    real_replace = atomic.os.replace

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", fail)
    rc, _, err = run_cli("viz", str(EXAMPLES / "resnet20_cifar.yaml"), "-o", str(out))
    assert rc == 2 and err == f"{out}: error: cannot write: No space left on device\n"
    assert out.read_text() == "the previous picture"
    assert [p.name for p in tmp_path.iterdir()] == ["g.dot"]
    monkeypatch.setattr(atomic.os, "replace", real_replace)
    assert run_cli("viz", str(EXAMPLES / "resnet20_cifar.yaml"), "-o", str(out))[0] == 0
    assert out.read_text().startswith("digraph")
