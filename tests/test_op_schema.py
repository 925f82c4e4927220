"""Every op has every rule: shape, torch, ONNX, prune, label — and both backends compute the same.

A new op added to ``fgir.ir.ops`` without one of its rules fails here.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fgir
from fgir.backends.onnx.rules import LOWERINGS
from fgir.backends.torch.quant import FakeQuantize
from fgir.backends.torch.rules import RULES
from fgir.ir.graph import Graph
from fgir.diagnostics import FgirError
from fgir.ir.ops import OPS, ChannelRule, Trait
from fgir.ir.ops.channel_rules import COUPLED, OPAQUE, PRODUCE
from fgir.ir.ops.schema import REQUIRED
from fgir.ir.types import TensorType
from fgir.testing.weights import randomize_batch_norm

SAMPLE = {"positive": 4, "positive_pair": [2, 2], "pair": [0, 0], "int": 1, "bool": True, "float": 0.5,
          "probability": 0.5, "width": None, "bits": 8, "optional_name": None,
          "shape": [-1], "dims": [0, 1, 3, 2], "optional_int": None, "optional_layout": None}
INPUT = TensorType(4, 6, 6)
# what an op is tried on, in order, until one compiles: an image, a token sequence, a flat vector
INPUTS = (INPUT, TensorType(6, 4), TensorType(4), TensorType(4, 4))   # 4x4: a sequence of 4 (sample size)


def sample_attrs(op: str) -> dict:
    """The op's required attributes at small sample values; the rest at their defaults."""
    schema = OPS[op]
    return schema.complete({a.name: SAMPLE[a.kind] for a in schema.attrs if a.default is REQUIRED})


def one_op_graph(op: str) -> Graph:
    """input → op, compiled for the first of INPUTS the op takes (a 4x6x6 image first)."""
    schema = OPS[op]
    problems = []
    for given in INPUTS:
        g = Graph()
        x = g.add_input()
        arity = schema.arity if schema.arity is not None else 2
        g.set_output(g.add("op", op, [x] * arity, sample_attrs(op)))
        try:
            return fgir.compile(g, input=str(given))
        except FgirError as exc:
            problems.append(f"{given}: {exc}")
    raise AssertionError(f"{op} takes none of the sample inputs: {problems}")


def input_of(graph: Graph) -> TensorType:
    return graph.input.type


OPS_BUT_INPUT = sorted(op for op in OPS if op != "input")


@pytest.mark.parametrize("op", sorted(OPS))
def test_every_op_has_its_rules(op):
    schema = OPS[op]
    assert op in RULES, f"no torch rule for {op}"
    assert op in LOWERINGS, f"no ONNX rule for {op}"
    attrs = sample_attrs(op) if op != "input" else {}
    assert isinstance(schema.channel_rule(attrs), ChannelRule), f"no prune (channel) rule for {op}"
    assert isinstance(schema.label(attrs), str) and schema.label(attrs), f"no picture label for {op}"
    blank = {a.name: None for a in schema.attrs}
    assert isinstance(schema.label(blank), str), "a label must draw an op whose widths are not inferred yet"


@pytest.mark.parametrize("op", OPS_BUT_INPUT)
def test_every_op_infers_a_shape_and_its_weights_follow_its_channel_rule(op):
    graph = one_op_graph(op)
    node = graph["op"]
    schema = OPS[op]
    assert isinstance(node.type, TensorType)
    rule = schema.channel_rule(node.attrs)
    for weight in schema.weights(node.attrs):
        # pruning slices every weight along the channels it follows: it must say which axis that is
        assert weight.out_axis is not None or weight.shape == (), f"{op}.{weight.name} follows no channels"
        if rule is PRODUCE and weight.name == "weight":
            assert weight.in_axis is not None, f"{op}.weight does not say which axis reads the input"
    module = fgir.to_torch(graph)
    quantizers = {id(p) for m in module.modules() if isinstance(m, FakeQuantize) for p in m.parameters()}
    assert node.meta["params"] == sum(p.numel() for p in module.parameters() if id(p) not in quantizers)


@pytest.mark.parametrize("op", OPS_BUT_INPUT)
def test_torch_and_onnx_runtime_agree_on_every_op(op):
    ort = pytest.importorskip("onnxruntime")
    graph = one_op_graph(op)
    module = fgir.to_torch(graph, seed=0).eval()
    randomize_batch_norm(module, 0)
    model = fgir.to_onnx(graph, weights=module)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = torch.randn(2, *input_of(graph).dims, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = module(x).numpy()
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    assert got.shape == want.shape and np.abs(got - want).max() <= 1e-5


@pytest.mark.parametrize("op", OPS_BUT_INPUT)
def test_every_op_has_the_traits_its_rules_need(op):
    schema = OPS[op]
    attrs = one_op_graph(op)["op"].attrs
    weights = schema.weights(attrs)
    rule = schema.channel_rule(attrs)
    trained = [w for w in weights if not w.aux]
    assert schema.has(Trait.HAS_WEIGHTS) == bool(trained), f"{op}: HAS_WEIGHTS must say whether it has weights"
    if rule is COUPLED:
        assert schema.has(Trait.COUPLES_CHANNELS), f"{op}: a COUPLED channel rule needs COUPLES_CHANNELS"
    if schema.has(Trait.COUPLES_CHANNELS):
        assert rule in (COUPLED, OPAQUE), f"{op} couples its channels: pruning must lock them, not pass them"
    if schema.has(Trait.FOLDS_INTO_CONV):   # the fold reads BatchNorm's four tensors, channel by channel
        assert {w.name for w in weights} >= {"running_mean", "running_var"}, f"{op} has no statistics to fold"
        assert rule.keeps_channels and not schema.has(Trait.COUPLES_CHANNELS)
    if schema.has(Trait.TAKES_FOLDED_NORM):
        assert schema.has(Trait.CONVOLUTION) and weights[0].out_axis == 0, f"{op}: a fold scales axis 0"
    if schema.has(Trait.ACTIVATION):
        assert schema.has(Trait.ELEMENTWISE), f"{op}: an activation is elementwise"
    if schema.has(Trait.SHAPE_ONLY):
        graph = one_op_graph(op)
        assert not trained and graph["op"].meta["macs"] == 0, f"{op} is shape-only: no weights, no arithmetic"
