"""A spec as a graph: ``inputs:`` wiring, ``outputs:``, the join layers, blocks of several inputs and
outputs, the U-Net and two-output examples through both backends, and each wiring mistake as one
located diagnostic (through the CLI too: exit 1, nothing written)."""

import json

import numpy as np
import pytest

import fgir
from conftest import EXAMPLES, run_fgir
from fgir.diagnostics import FgirError
from fgir.ir.graph import Graph

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from fgir.testing.weights import randomize_batch_norm  # noqa: E402

TOL = 1e-5


def messages(spec, **kwargs) -> list[str]:
    with pytest.raises(FgirError) as info:
        fgir.compile(spec, **kwargs)
    return [str(d) for d in info.value.diagnostics]


def session(model):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- the errors: one located diagnostic each -------------------------------------------------------
LATER = """
    search_space:
      modules: [stem, join, late]
      stem: {type: ReLU}
      join: {type: Add, inputs: [stem, late]}
      late: {type: ReLU}
    """


def test_an_input_naming_a_later_module(write_spec):
    spec = write_spec(LATER)
    assert messages(spec) == [
        f"{spec}:4:36: error: join.inputs[1]: 'join' names 'late', which comes after it\n"
        f"{spec}:4:36: note: a module reads only modules listed before it in 'modules' (so the network has no cycles)"]


def test_a_module_naming_itself(write_spec):
    spec = write_spec("""
        search_space:
          modules: [stem, join]
          stem: {type: ReLU}
          join: {type: Add, inputs: [stem, join]}
        """)
    assert messages(spec) == [f"{spec}:4:36: error: join.inputs[1]: 'join' names itself: a module reads only "
                              "modules listed before it, so the network has no cycles"]


def test_an_unknown_input_with_did_you_mean(write_spec):
    spec = write_spec("""
        search_space:
          modules: [stem, join]
          stem: {type: ReLU}
          join: {type: Add, inputs: [stme, input]}
        """)
    assert messages(spec) == [f"{spec}:4:30: error: join.inputs[0]: 'join' names 'stme', which is no module\n"
                              f"{spec}:4:30: note: did you mean 'stem'?"]


def test_a_layer_given_the_wrong_number_of_inputs(write_spec):
    spec = write_spec("""
        search_space:
          modules: [a, b, act]
          a: {type: ReLU}
          b: {type: ReLU}
          act: {type: ReLU, inputs: [a, b]}
        """)
    assert messages(spec) == [f"{spec}:5:29: error: act.inputs: ReLU takes 1 input, but 'act' names 2"]


def test_an_add_reading_only_the_previous_module(write_spec):
    spec = write_spec("""
        search_space:
          modules: [a, sum]
          a: {type: ReLU}
          sum: {type: Add}
        """)
    assert messages(spec) == [
        f"{spec}:4:15: error: sum.type: Add takes 2 or more inputs, but 'sum' reads 1 (the previous module's output)\n"
        f"{spec}:4:15: note: name what it reads: inputs: [a, b]"]


def test_an_output_that_is_no_module(write_spec):
    spec = write_spec("""
        search_space:
          modules: [a, head]
          outputs: [haed]
          a: {type: ReLU}
          head: {type: ReLU}
        """)
    assert messages(spec) == [f"{spec}:3:13: error: outputs[0]: 'outputs' names 'haed', which is no module\n"
                              f"{spec}:3:13: note: did you mean 'head'?"]


QUANT = "quant: {type: Quant, nbit_w_list: [8], nbit_a_list: [8]}"


def test_a_process_named_in_inputs_or_outputs(write_spec):
    spec = write_spec(f"""
        search_space:
          modules: [a, b, quant]
          a: {{type: ReLU}}
          b: {{type: ReLU, inputs: [quant]}}
          {QUANT}
        """)
    assert messages(spec) == [
        f"{spec}:4:28: error: b.inputs[0]: 'b' names 'quant', a Quant process, not a network module\n"
        f"{spec}:4:28: note: a process transforms the whole network; it has no output"]
    spec = write_spec(f"""
        search_space:
          modules: [a, quant]
          outputs: [quant]
          a: {{type: ReLU}}
          {QUANT}
        """)
    assert messages(spec) == [
        f"{spec}:3:13: error: outputs[0]: 'outputs' names 'quant', a Quant process, not a network module\n"
        f"{spec}:3:13: note: a process transforms the whole network; it has no output"]


def test_an_unused_module_is_a_located_warning(write_spec):
    spec = write_spec("""
        search_space:
          modules: [a, side, b]
          a: {type: ReLU}
          side: {type: ReLU}
          b: {type: ReLU, inputs: [a]}
        """)
    graph = fgir.compile(spec, input="3x4x4")
    assert graph.meta["warnings"] == [
        f"{spec}:4:9: warning: side: module 'side' is not used: no module names it in 'inputs' and it is not "
        f"one of the outputs\n{spec}:4:9: note: list it in 'outputs', or remove it"]


def test_malformed_wiring_lists(write_spec):
    spec = write_spec("""
        search_space:
          modules: [a, b]
          a: {type: ReLU}
          b: {type: ReLU, inputs: [1]}
        """)
    assert messages(spec) == [
        f"{spec}:4:27: error: b.inputs: 'inputs' must be a module name or a non-empty list of module names"]
    spec = write_spec("""
        search_space:
          modules: [a]
          outputs: [a, a]
          a: {type: ReLU}
        """)
    assert messages(spec) == [f"{spec}:3:16: error: outputs[1]: 'a' is listed twice in outputs"]


@pytest.mark.parametrize("layer,inputs,message", [
    ("Concat", "[f, a]", "concat 'm' concatenates a flattened 64 and an image 4x4x4 (CxHxW) along dim 1: "
                         "their sizes must agree except along dim 1"),
    ("Mul", "[a, f]", "mul 'm' multiplies an image 4x4x4 (CxHxW) by a flattened 64: a product takes equal "
                      "shapes, or an image and a Cx1x1 scale"),
    ("Add", "[a, f]", "add 'm' adds tensors of different shapes: an image 4x4x4 (CxHxW) + a flattened 64"),
])
def test_joins_of_mismatched_tensors_name_both_types(write_spec, layer, inputs, message):
    spec = write_spec(f"""
        search_space:
          modules: [a, f, m]
          a: {{type: Conv2d, in_channels: 3, out_channels: 4, kernel_size: 1}}
          f: {{type: Flatten}}
          m: {{type: {layer}, inputs: {inputs}}}
        """)
    assert messages(spec, input="3x4x4") == [f"{spec}:5:6: error: m: {message}"]


def test_concatenating_flat_vectors_along_features(write_spec):
    spec = write_spec("""
        search_space:
          modules: [a, f, g, cat]
          a: {type: Conv2d, in_channels: 3, out_channels: 4, kernel_size: 1}
          f: {type: Flatten}
          g: {type: Flatten, inputs: [input]}
          cat: {type: Concat, inputs: [f, g]}
        """)
    graph = fgir.compile(spec, input="3x4x4")
    assert str(graph.output.type) == "112" and graph.output.type.is_flat


def test_cli_check_reports_one_error_and_compile_writes_nothing(tmp_path):
    (tmp_path / "spec.yaml").write_text(LATER.replace("\n    ", "\n").lstrip("\n"))
    result = run_fgir("check", "spec.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == ("spec.yaml:4:36: error: join.inputs[1]: 'join' names 'late', which comes after it\n"
                             "spec.yaml:4:36: note: a module reads only modules listed before it in 'modules' "
                             "(so the network has no cycles)\nfgir: 1 error\n")
    result = run_fgir("compile", "spec.yaml", "-o", str(tmp_path / "m.onnx"), cwd=tmp_path)
    assert result.returncode == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]


# -- wiring that works ---------------------------------------------------------------------------------
def test_chain_specs_keep_their_ir():
    """No ``inputs:``: each module reads the previous one, one output named by its node (as before)."""
    graph = fgir.load(EXAMPLES / "resnet20_cifar.yaml")
    assert "outputs" not in graph.to_json() and graph.output_names == [graph.output.name]


def test_blocks_of_several_inputs_and_outputs(write_spec):
    from fgir.blocks import Block, Conv2d, Width, concat, register_block

    @register_block(name="WiringSplit", replace=True)
    class Split(Block):
        def constructor(self, width: Width):
            self.a = Conv2d(None, width, 1)
            self.b = Conv2d(None, width, 1)

        def forward(self, x):
            return self.a(x), self.b(x)

    @register_block(name="WiringMerge", replace=True)
    class Merge(Block):
        def constructor(self, width: Width):
            self.split = Split(width)
            self.conv = Conv2d(None, width, 3, padding=1)

        def forward(self, x, skip):
            a, b = self.split(x)
            return concat(self.conv(a) + b, skip)

    spec = write_spec("""
        search_space:
          modules: [stem, sp, merge, out]
          outputs: [out, sp.1]
          stem: {type: Conv2d, in_channels: 3, out_channels: 8, kernel_size: 3, padding: 1}
          sp: {type: WiringSplit, width: 4}
          merge: {type: WiringMerge, width: 8, inputs: [sp, stem]}
          out: {type: Conv2d, out_channels: 3, kernel_size: 1}
        """)
    loaded = fgir.load(spec)
    merge = loaded["merge"]
    assert [n.name for n in merge.subgraph if n.op == "input"] == ["input", "input_1"]
    assert [n.name for n in merge.inputs] == ["sp", "stem"]
    graph = fgir.compile(loaded, input="3x8x8", verify=True)
    assert graph.output_names == ["out", "sp.1"]
    assert [n.name for n in graph.outputs] == ["out", "sp.b"]
    assert [n.name for n in graph["merge.cat"].inputs] == ["merge.add", "stem"]
    assert [n.name for n in graph["merge.add"].inputs] == ["merge.conv", "merge.split.b"]
    assert [n.name for n in graph["merge.split.a"].inputs] == ["sp.a"]
    assert not any(n.op == "item" for n in graph)
    module = fgir.to_torch(graph, seed=0)
    out, aux = module(torch.randn(2, 3, 8, 8))
    assert out.shape == (2, 3, 8, 8) and aux.shape == (2, 4, 8, 8)
    assert json.loads(json.dumps(loaded.to_json())) == Graph.from_json(loaded.to_json()).to_json()

    spec = write_spec("""
        search_space:
          modules: [stem, merge]
          stem: {type: ReLU}
          merge: {type: WiringMerge, width: 8}
        """)
    assert messages(spec) == [f"{spec}:4:17: error: merge.type: WiringMerge takes 2 inputs, but 'merge' reads 1 "
                              f"(the previous module's output)\n{spec}:4:17: note: name what it reads: inputs: [a, b]"]


# -- the examples ----------------------------------------------------------------------------------------
class ReferenceUNet(torch.nn.Module):
    """examples/unet.yaml in torch.nn, at widths (enc2, up1) for the pruned form."""

    def __init__(self, enc2: int = 32, up1: int = 16) -> None:
        super().__init__()
        nn = torch.nn

        def cbr(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU())

        self.enc1, self.enc1b, self.enc2, self.bottleneck = cbr(3, 16), cbr(16, 16), cbr(16, enc2), cbr(enc2, 64)
        self.dec2 = cbr(64 + enc2, 32)
        self.up1 = nn.ConvTranspose2d(32, up1, 2, stride=2)
        self.dec1 = cbr(up1 + 16, 16)
        self.head = nn.Conv2d(16, 3, 1)


def test_unet_compiles_and_torch_matches_onnx_runtime():
    graph = fgir.compile(EXAMPLES / "unet.yaml")
    assert graph.meta["input"] == [3, 64, 64] and str(graph.output.type) == "3x64x64"
    assert graph.meta["params"] == sum(p.numel() for p in ReferenceUNet().parameters()) == 60_499
    module = randomize_batch_norm(fgir.to_torch(graph, seed=0)).eval()
    model = fgir.to_onnx(graph, weights=module)
    onnx.checker.check_model(model, full_check=True)
    assert [o.name for o in model.graph.output] == ["output"]
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    got = session(model).run(None, {"input": x})[0]
    assert want.shape == got.shape == (2, 3, 64, 64)
    assert np.abs(want - got).max() <= TOL


def _with_process(name: str, process: str) -> str:
    text = (EXAMPLES / "unet.yaml").read_text()
    return text.replace("dec1, head]", f"dec1, head, {name}]") + f"  {name}: {process}\n"


def test_unet_with_a_quant_process():
    bits = "[8, 4, 8, 8, 4, 8]"   # enc1b, enc2, bottleneck, dec2, dec1, head (the stem is not quantized)
    graph = fgir.compile(fgir.loads(_with_process("quant", f"{{type: Quant, nbit_w_list: {bits}, "
                                                           f"nbit_a_list: {bits}}}"), "unet_quant.yaml"))
    assert {n.name: n.meta["w_bits"] for n in graph if "w_bits" in n.meta} == {   # the stem stays at 8
        "enc1.0": 8, "enc1b.0": 8, "enc2.0": 4, "bottleneck.0": 8, "dec2.0": 8, "dec1.0": 4, "head": 8}
    out = fgir.to_torch(graph, seed=0).eval()(torch.randn(1, 3, 64, 64))
    assert out.shape == (1, 3, 64, 64)


def test_unet_groups_and_a_prune_process_across_the_skip_connections():
    groups = {g["name"]: g for g in __import__("fgir.report", fromlist=["x"]).summarize_groups(
        fgir.compile(EXAMPLES / "unet.yaml"))}
    assert list(groups) == ["enc1.0", "enc1b.0", "enc2.0", "bottleneck.0", "dec2.0", "up1", "dec1.0"]
    # enc2's channels reach dec2 through the skip concat at offset 64 (after up2's 64)
    assert {"layer": "dec2.0", "offset": 64} in groups["enc2.0"]["consumers"]
    enc2 = [1] * 32
    enc2[1] = enc2[30] = 0
    up1 = [1] * 16
    up1[2] = 0
    graph = fgir.compile(fgir.loads(_with_process("prune", f"{{type: Prune, masks: {{enc2.0: {enc2}, up1: {up1}}}}}"),
                                    "unet_prune.yaml"))
    assert graph["dec2.0"].attrs["in_channels"] == 64 + 30 and graph["dec1.0"].attrs["in_channels"] == 15 + 16
    assert graph.meta["params"] == sum(p.numel() for p in ReferenceUNet(30, 15).parameters()) == 58_206
    assert fgir.to_torch(graph, seed=0)(torch.randn(1, 3, 64, 64)).shape == (1, 3, 64, 64)


def test_two_outputs_reach_torch_and_onnx_by_name():
    graph = fgir.compile(EXAMPLES / "two_outputs.yaml")
    assert graph.output_names == ["logits", "aux"]
    module = randomize_batch_norm(fgir.to_torch(graph, seed=0)).eval()
    model = fgir.to_onnx(graph, weights=module)
    onnx.checker.check_model(model, full_check=True)
    assert [o.name for o in model.graph.output] == ["logits", "aux"]
    x = np.random.default_rng(1).standard_normal((3, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        logits, aux = module(torch.from_numpy(x))
    got = session(model).run(["logits", "aux"], {"input": x})
    assert logits.shape == aux.shape == (3, 10)
    assert np.abs(logits.numpy() - got[0]).max() <= TOL and np.abs(aux.numpy() - got[1]).max() <= TOL
    assert not torch.allclose(logits, aux)
    by_name = fgir.to_torch(graph, outputs="dict")
    by_name.load_state_dict(module.state_dict())
    with torch.no_grad():
        named = by_name.eval()(torch.from_numpy(x))
    assert list(named) == ["logits", "aux"] and torch.equal(named["aux"], aux)


def test_two_outputs_in_the_summary_and_refused_by_training():
    from fgir.report import format_table, summarize
    from fgir.training.run import class_count

    graph = fgir.compile(EXAMPLES / "two_outputs.yaml")
    summary = summarize(graph)
    assert summary["outputs"] == [
        {"name": "logits", "node": "logits", "output": [10], "type": "a flattened 10"},
        {"name": "aux", "node": "aux", "output": [10], "type": "a flattened 10"}]
    assert format_table(summary).splitlines()[1:3] == ["output 'logits': a flattened 10", "output 'aux': a flattened 10"]
    with pytest.raises(FgirError) as info:
        class_count(graph)
    assert str(info.value.diagnostics[0]).startswith(
        f"{EXAMPLES / 'two_outputs.yaml'}:7:13: error: outputs[0]: the network has 2 outputs (logits, aux); "
        "fgir train trains a classifier of one output")
    assert class_count(fgir.compile(EXAMPLES / "resnet20_cifar.yaml")) == 10


@pytest.mark.parametrize("name", ["unet.yaml", "two_outputs.yaml"])
def test_examples_check_and_round_trip(name):
    result = run_fgir("check", f"examples/{name}")
    assert result.returncode == 0 and result.stderr == ""
    graph = fgir.compile(EXAMPLES / name)
    again = Graph.from_json(json.loads(json.dumps(graph.to_json())))
    assert again == graph and again.output_names == graph.output_names
