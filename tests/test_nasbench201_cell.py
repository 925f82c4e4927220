"""A NAS-Bench-201 cell written in YAML with built-in layers and `inputs:` wiring: all five ops, `none`
included, equals the benchmark's own cell, in torch and in ONNX Runtime; `count_include_pad` is the
user's choice, and each choice is the reference's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fgir
from conftest import EXAMPLES
from reference_nasbench201 import Network

CELL = EXAMPLES / "nasbench201_cell.yaml"
# node 1: e01; node 2: e02, e12; node 3: e03, e13, e23 — as examples/nasbench201_cell.yaml writes them
GENOTYPE = [["nor_conv_3x3"], ["skip_connect", "avg_pool_3x3"], ["none", "nor_conv_1x1", "skip_connect"]]
# the YAML's tensors, in the reference's state_dict order
YAML_KEYS = ["stem", "stem_bn", "e01_conv", "e01_bn", "e13_conv", "e13_bn", "classifier"]


def reference_with_fgirs_weights(module: torch.nn.Module, count_include_pad: bool) -> torch.nn.Module:
    reference = Network(GENOTYPE, count_include_pad=count_include_pad).eval()
    ours = [v for key in YAML_KEYS for k, v in module.state_dict().items() if k.rsplit(".", 1)[0] == key]
    theirs = reference.state_dict()
    assert [tuple(v.shape) for v in ours] == [tuple(v.shape) for v in theirs.values()]
    reference.load_state_dict(dict(zip(theirs, ours)), strict=True)
    return reference


@pytest.mark.parametrize("count_include_pad", [False, True])
def test_the_yaml_cell_is_nasbench201s_cell(tmp_path, count_include_pad, one_torch_thread):
    ort = pytest.importorskip("onnxruntime")
    text = CELL.read_text()
    if count_include_pad:
        text = text.replace("count_include_pad: false", "count_include_pad: true")
    (tmp_path / "cell.yaml").write_text(text)
    graph = fgir.compile(tmp_path / "cell.yaml")
    assert {graph[n].op for n in ("e02", "e12", "e03", "e23")} == {"identity", "avg_pool2d", "zero"}
    assert graph["e12"].attrs["count_include_pad"] is count_include_pad
    module = fgir.to_torch(graph, seed=0).eval()
    with torch.no_grad():
        for bn in ("stem_bn", "e01_bn", "e13_bn"):
            module.get_submodule(bn).running_mean.uniform_(-0.5, 0.5)
            module.get_submodule(bn).running_var.uniform_(0.5, 2.0)
    reference = reference_with_fgirs_weights(module, count_include_pad)
    assert graph.meta["params"] == sum(p.numel() for p in reference.parameters())
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = reference(x)
        assert (module(x) - want).abs().max() <= 1e-5
        other = reference_with_fgirs_weights(module, not count_include_pad)(x)
        assert (other - want).abs().max() > 1e-4      # the choice shows at the borders
    model = fgir.to_onnx(graph, weights=module)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    assert np.abs(got - want.numpy()).max() <= 1e-5


def test_the_none_edge_costs_nothing_and_reads_its_node():
    graph = fgir.compile(CELL)
    zero = graph["e03"]
    assert zero.inputs[0].name == "stem_bn" and zero.meta["params"] == 0 and zero.meta["macs"] == 0
    assert str(zero.type) == "16x32x32"
