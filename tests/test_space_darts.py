"""DARTS as a block and as a space: quark0/darts's NetworkCIFAR exactly (keys, params, outputs, ONNX Runtime) for
DARTS_V2 and for a genotype using every op (strided in the reduction cell), NNI's hub-space dimensions, and
located diagnostics.  Ground truth is tests/reference_darts.py (DARTS's model.py/operations.py restated)."""

from __future__ import annotations

import math
import random
import textwrap

import numpy as np
import pytest
import torch

import fgir
import reference_darts as reference
from conftest import EXAMPLES
from fgir.blocks.darts import PRIMITIVES
from fgir.diagnostics import FgirError
from fgir.search.space import Space
from fgir.testing.weights import randomize_batch_norm

SPACE = EXAMPLES / "search" / "darts.yaml"
# every op once per cell; in the reduction cell the edges from states 0 and 1 run at stride 2
EVERY_OP = reference.Genotype(
    normal=list(zip(PRIMITIVES, [0, 1, 2, 0, 3, 1, 4, 2])), normal_concat=[2, 3, 4, 5],
    reduce=list(zip(reversed(PRIMITIVES), [1, 0, 2, 0, 1, 0, 4, 0])), reduce_concat=[3, 4, 5])


def lists_spec(genotype: reference.Genotype, C: int, layers: int) -> str:
    def row(edges, i):
        return "[" + ", ".join(str(e[i]) for e in edges) + "]"
    g = genotype
    return ("search_space:\n  modules: [net]\n  net:\n    type: DARTSNetwork\n"
            f"    C: {C}\n    layers: {layers}\n"
            f"    normal_ops: {row(g.normal, 0)}\n    normal_inputs: {row(g.normal, 1)}\n"
            f"    normal_concat: {list(g.normal_concat)}\n"
            f"    reduce_ops: {row(g.reduce, 0)}\n    reduce_inputs: {row(g.reduce, 1)}\n"
            f"    reduce_concat: {list(g.reduce_concat)}\n")


def check_against_reference(graph, theirs) -> None:
    ort = pytest.importorskip("onnxruntime")
    ours = randomize_batch_norm(fgir.to_torch(graph, seed=0), 2)
    assert graph.meta["params"] == reference.params(theirs)
    theirs.load_state_dict(ours.state_dict(), strict=True)        # both ways, strictly
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = theirs.eval()(x)[0]
        assert (ours(x) - want).abs().max().item() <= 1e-5
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(fgir.to_onnx(graph, weights=ours).SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    assert np.abs(got - want.numpy()).max() <= 1e-4


def test_darts_v2_is_the_reference_s(one_torch_thread):
    graph = fgir.compile(EXAMPLES / "darts_v2.yaml")
    assert graph.meta["input"] == [3, 32, 32] and graph.meta["params"] == 246_106
    theirs = reference.NetworkCIFAR(16, 10, 8, False, reference.DARTS_V2)
    assert [k for k in theirs.state_dict() if k.startswith("cells.3.preprocess0")][:3] == [
        "cells.3.preprocess0.conv_1.weight", "cells.3.preprocess0.conv_2.weight", "cells.3.preprocess0.bn.weight"]
    check_against_reference(graph, theirs)


def test_every_op_strided_or_not_is_the_reference_s(one_torch_thread):
    graph = fgir.compile(lists_spec(EVERY_OP, 8, 5))
    # the reduction cell (1): none strided, skip_connect a FactorizedReduce, a shifted slice inside it
    ops = {n.name: n for n in graph}
    assert ops["cells.1._ops.7"].op == "zero" and ops["cells.1._ops.7"].attrs["stride"] == 2
    assert ops["cells.1._ops.4.shift_h"].attrs == {"dim": 2, "start": 1, "end": None, "step": 1}
    assert ops["cells.1._ops.5"].attrs["count_include_pad"] is False
    check_against_reference(graph, reference.NetworkCIFAR(8, 10, 5, False, EVERY_OP))


def test_the_paper_s_network_has_its_3_3m_params():
    spec = "search_space:\n  modules: [net]\n  net: {type: DARTSNetwork, genotype: DARTS_V2, C: 36, layers: 20}\n"
    with torch.device("meta"):
        theirs = reference.params(reference.NetworkCIFAR(36, 10, 20, False, reference.DARTS_V2))
    assert fgir.compile(spec).meta["params"] == theirs == 3_349_342


def test_the_space_has_nni_s_34_dimensions():
    space = Space.from_spec(SPACE)
    sizes = {d.key: d.domain.size() for d in space.dimensions}
    cell = {f"{kind}_{what}[{k}]": (8 if what == "ops" else 2 + k // 2)
            for kind in ("normal", "reduce") for what in ("ops", "inputs") for k in range(8)}
    assert sizes == {**{f"net.{k}": v for k, v in cell.items()}, "net.C": 3, "net.layers": 5}
    assert len(sizes) == 34 and space.size() == math.prod(sizes.values()) == 875_499_767_560_824_422_400_000
    sample = space.sample(random.Random(5))
    graph = fgir.compile(fgir.loads(space.freeze(sample)))
    genotype = reference.Genotype(
        *[x for kind in ("normal", "reduce") for x in (
            [(sample[f"net.{kind}_ops[{k}]"], sample[f"net.{kind}_inputs[{k}]"]) for k in range(8)], [2, 3, 4, 5])])
    with torch.device("meta"):
        theirs = reference.NetworkCIFAR(sample["net.C"], 10, sample["net.layers"], False, genotype)
    assert graph.meta["params"] == reference.params(theirs)


# -- diagnostics -----------------------------------------------------------------------
def error_of(write_spec, net: str):
    path = write_spec("search_space:\n  modules: [net]\n  net:\n    type: DARTSNetwork\n" + textwrap.indent(net, "    "))
    with pytest.raises(FgirError) as info:
        fgir.compile(path)
    assert len(info.value.errors) == 1
    return info.value.errors[0], path.read_text().splitlines()


V2_LISTS = textwrap.dedent("""\
    normal_ops: [sep_conv_3x3, sep_conv_3x3, sep_conv_3x3, sep_conv_3x3, sep_conv_3x3, skip_connect, skip_connect, dil_conv_3x3]
    normal_inputs: [0, 1, 0, 1, 1, 0, 0, 2]
    reduce_ops: [max_pool_3x3, max_pool_3x3, skip_connect, max_pool_3x3, max_pool_3x3, skip_connect, skip_connect, max_pool_3x3]
    reduce_inputs: [0, 1, 2, 1, 0, 2, 2, 1]
    """)


def test_an_unknown_op_is_located_with_a_did_you_mean(write_spec):
    error, lines = error_of(write_spec, V2_LISTS.replace("dil_conv_3x3]", "dilconv_3x3]"))
    assert error.message.startswith("unknown op 'dilconv_3x3': DARTS's edges are none, max_pool_3x3")
    assert error.hint == "did you mean 'dil_conv_3x3'?"
    assert (error.loc.line, lines[error.loc.line - 1][error.loc.col - 1:]) == (5, "dilconv_3x3]")


def test_an_edge_reading_a_later_state_is_located(write_spec):
    error, lines = error_of(write_spec, V2_LISTS.replace("[0, 1, 0, 1, 1, 0, 0, 2]", "[0, 1, 0, 3, 1, 0, 0, 2]"))
    assert error.message == ("edge 3 (node 3) reads state 3; node 3 reads states 0 to 2 "
                             "(0, 1: the previous cells; 2..: earlier nodes)")
    assert (error.loc.line, lines[error.loc.line - 1][error.loc.col - 1:]) == (6, "3, 1, 0, 0, 2]")


def test_wrong_counts_and_a_doubled_cell_are_located(write_spec):
    error, _ = error_of(write_spec, V2_LISTS.replace("[0, 1, 2, 1, 0, 2, 2, 1]", "[0, 1, 2, 1, 0, 2, 2]"))
    assert (error.message, error.loc.line) == ("7 inputs for 8 ops: each edge reads one state", 8)
    error, _ = error_of(write_spec, "genotype: DARTS_V2\n" + V2_LISTS)
    assert error.message == ("give the cells once: genotype DARTS_V2 or the lists (normal_ops, normal_inputs, "
                             "reduce_ops, reduce_inputs)")
    error, _ = error_of(write_spec, "genotype: DARTS_V3\n")
    assert error.message == "expected one of DARTS_V1, DARTS_V2, got 'DARTS_V3'"
