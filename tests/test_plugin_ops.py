"""An op added by a plugin file alone: schema, torch rule, ONNX rule and layer in one file; its mistakes are
the plugin's, located at its line (exit 1), never "a bug in fgir" (exit 3)."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
import torch

import fgir
from conftest import ROOT
from fgir.cli import main
from fgir.plugins import load_plugin

MISH_PLUGIN = ROOT / "examples" / "user_blocks" / "mish_op.py"
MISH_NET = ROOT / "examples" / "mish_net.yaml"


@pytest.fixture(autouse=True)
def _forget_plugins():
    from fgir.plugins import forget_plugins

    forget_plugins()
    yield
    forget_plugins()


def test_a_plugin_op_compiles_to_torch_and_onnx_and_both_agree(one_torch_thread):
    ort = pytest.importorskip("onnxruntime")
    load_plugin(MISH_PLUGIN)
    graph = fgir.compile(MISH_NET)
    assert graph["act"].op == "mish" and graph.meta["params"] == 3 * 16 * 9 + 16 + 16 * 10 + 10
    module = fgir.to_torch(graph, seed=0).eval()
    assert isinstance(module.get_submodule("act"), torch.nn.Mish)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = module(x).numpy()
    for opset in (17, 21):   # below 18: Softplus, Tanh, Mul; from 18: ONNX's Mish
        model = fgir.to_onnx(graph, weights=module, opset=opset)
        assert ("Mish" in {n.op_type for n in model.graph.node}) == (opset >= 18)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
        assert np.abs(got - want).max() <= 1e-5


def test_the_cli_compiles_a_plugin_op_to_pt_and_onnx(tmp_path, capsys):
    for name in ("net.pt", "net.onnx"):
        status = main(["compile", str(MISH_NET), "--plugin", str(MISH_PLUGIN), "-o", str(tmp_path / name)])
        assert status == 0 and (tmp_path / name).stat().st_size > 0


def test_without_the_plugin_the_layer_is_unknown_and_located(capsys):
    assert main(["check", str(MISH_NET)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{MISH_NET}:7:15: error: act.type: unknown block type 'Mish'\n")


def plugin_check(tmp_path, monkeypatch, capsys, plugin: str) -> tuple[int, str]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plugin.py").write_text(textwrap.dedent(plugin).lstrip("\n"))
    (tmp_path / "spec.yaml").write_text("search_space:\n  modules: [act]\n  act: {type: ReLU}\n")
    status = main(["check", "--plugin", "plugin.py", "spec.yaml"])
    return status, capsys.readouterr().err


def test_a_plugin_op_missing_a_rule_is_located_at_the_plugin_line(tmp_path, monkeypatch, capsys):
    status, err = plugin_check(tmp_path, monkeypatch, capsys, """
        import fgir
        from fgir.ir.ops import OpSchema, Trait

        SQUARE = OpSchema("square", {Trait.ELEMENTWISE}, lambda a: "square")
        fgir.register_op(SQUARE, torch=lambda node: None)
        """)
    assert status == 1
    assert err == ("plugin.py:5:1: error: fgir.register_op: onnx: op 'square' has no onnx rule: every op needs "
                   "one for each backend\n"
                   "plugin.py:5:1: note: torch=<Node → nn.Module>, onnx=<(emitter, node, inputs) → output name>\n"
                   "fgir: 1 error\n")


def test_a_layer_naming_an_unknown_op_is_located_with_did_you_mean(tmp_path, monkeypatch, capsys):
    status, err = plugin_check(tmp_path, monkeypatch, capsys, """
        from fgir.blocks import Layer, register_block

        @register_block
        class Swish(Layer):
            op = "sillu"
        """)
    assert status == 1
    assert err == ("plugin.py:3:2: error: fgir.register_block: layer 'Swish' is the op 'sillu', which no op "
                   "schema defines\nplugin.py:3:2: note: did you mean 'silu'?\nfgir: 1 error\n")


def test_a_plugin_cannot_redefine_one_of_fgirs_ops(tmp_path, monkeypatch, capsys):
    status, err = plugin_check(tmp_path, monkeypatch, capsys, """
        import fgir
        from fgir.ir.ops import OpSchema, Trait

        fgir.register_op(OpSchema("relu", {Trait.ELEMENTWISE}, lambda a: "relu"), torch=print, onnx=print)
        """)
    assert status == 1
    assert "plugin.py:4:1: error: fgir.register_op: schema: an op named 'relu' exists already (one of fgir's own)" \
        in err
