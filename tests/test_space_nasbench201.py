"""NAS-Bench-201 as a block and as a space: xautodl's TinyNetwork exactly (keys, params, outputs, ONNX Runtime),
every one of the 15,625 cells compiling to the reference's param count, and bad arch strings located.

Ground truth is tests/reference_nasbench201_net.py (xautodl's code restated) and the table it wrote once,
tests/data/nasbench201_params.json.  The suite compiles a stratified sample of 400 cells (every param
count of the table, every op on every edge: ~8 s of CPU, within the suite's budget); bench/nasbench201_grid.py
compiles all 15,625 (0 failures when last run).
"""

from __future__ import annotations

import itertools
import json
import math
import random
import textwrap

import numpy as np
import pytest
import torch

import fgir
import reference_nasbench201_net as reference
from conftest import EXAMPLES
from fgir.blocks.nasbench201 import OPS, arch_string
from fgir.diagnostics import FgirError
from fgir.passes import default_passes
from fgir.search.space import Space
from fgir.testing.weights import randomize_batch_norm

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
TABLE = json.loads((EXAMPLES.parent / "tests" / "data" / "nasbench201_params.json").read_text())
SPACE = EXAMPLES / "search" / "nasbench201.yaml"
SAMPLE = 400   # cells of the grid compiled by the suite (bench/nasbench201_grid.py: all of them)


def net_spec(cell: str, cells: int = 5) -> str:
    return f"search_space:\n  modules: [net]\n  net: {{type: NASBench201, {cell}, cells: {cells}}}\n"


def test_the_published_arch_is_the_reference_s():
    graph = fgir.compile(EXAMPLES / "nasbench201.yaml")
    assert graph.meta["input"] == [3, 32, 32]
    with torch.device("meta"):
        model = reference.tiny_network(ARCH)
    assert graph.meta["params"] == reference.params(model) == 1_288_506
    assert graph.meta["params"] == TABLE["params"][list(itertools.product(OPS, repeat=6)).index(
        ("nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "skip_connect", "nor_conv_3x3", "nor_conv_3x3"))]


def test_arch_and_edges_write_the_same_network():
    edges = ["nor_conv_3x3", "avg_pool_3x3", "none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3"]
    by_arch = fgir.compile(net_spec(f"arch: '{arch_string(edges)}'", 1))
    by_edges = fgir.compile(net_spec(f"edges: [{', '.join(edges)}]", 1))
    assert [(n.name, n.op, n.attrs) for n in by_arch] == [(n.name, n.op, n.attrs) for n in by_edges]
    # the edges in the arch's order under InferCell's layers, each op as the reference builds it
    ops = {n.name: n.op for n in by_arch}
    assert [ops.get(f"cells.0.layers.{k}", "block") for k in range(6)] == [
        "block", "avg_pool2d", "zero", "identity", "block", "block"]
    assert ops["cells.0.layers.0.op.1"] == "conv2d" and by_arch["cells.0.layers.1"].attrs["count_include_pad"] is False


def test_state_dict_and_outputs_are_xautodls(one_torch_thread):
    ort = pytest.importorskip("onnxruntime")
    edges = ["nor_conv_3x3", "avg_pool_3x3", "none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3"]
    graph = fgir.compile(net_spec(f"edges: [{', '.join(edges)}]", 1))
    ours = randomize_batch_norm(fgir.to_torch(graph, seed=0), 1)
    theirs = reference.tiny_network(arch_string(edges), N=1).eval()
    assert graph.meta["params"] == reference.params(theirs)
    theirs.load_state_dict(ours.state_dict(), strict=True)        # both ways, strictly
    ours.load_state_dict(theirs.state_dict(), strict=True)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = theirs(x)[1]
        assert (ours(x) - want).abs().max().item() <= 1e-5
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(fgir.to_onnx(graph, weights=ours).SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    assert np.abs(got - want.numpy()).max() <= 1e-4


def test_the_table_is_the_reference_s():
    """The stored table is the reference's own count (spot-checked on whole networks), 15,625 cells."""
    grid = list(itertools.product(OPS, repeat=6))
    assert TABLE["ops"] == list(OPS) == reference.NAS_BENCH_201 and len(TABLE["params"]) == len(grid) == 15_625
    for i in random.Random(0).sample(range(len(grid)), 3):
        with torch.device("meta"):
            assert reference.params(reference.tiny_network(arch_string(list(grid[i])))) == TABLE["params"][i]


def stratified_sample(table: list[int], size: int = SAMPLE) -> list[int]:
    """Cells from every stratum of the table (cells of one param count), evenly spaced in grid order, each
    stratum in proportion to its size and at least one: ``size`` cells, a few more for the rounding."""
    strata: dict[int, list[int]] = {}
    for i, params in enumerate(table):
        strata.setdefault(params, []).append(i)
    picked = []
    for cells in strata.values():
        take = max(1, math.ceil(len(cells) * size / len(table)))
        picked += [cells[j * len(cells) // take] for j in range(take)]
    return sorted(picked)


def test_a_stratified_sample_of_the_grid_compiles_to_the_reference_s_params():
    grid = list(itertools.product(OPS, repeat=6))
    sample = stratified_sample(TABLE["params"])
    assert SAMPLE <= len(sample) <= SAMPLE + 30 and len({TABLE["params"][i] for i in sample}) == len(set(TABLE["params"]))
    assert all(len({grid[i][e] for i in sample}) == 5 for e in range(6))    # every op on every edge
    passes = [p for p in default_passes() if p.name not in ("apply_prune", "apply_quant")]   # no processes here
    wrong = []
    for i in sample:
        params = fgir.compile(net_spec(f"edges: [{', '.join(grid[i])}]"), passes).meta["params"]
        if params != TABLE["params"][i]:
            wrong.append((grid[i], params, TABLE["params"][i]))
    assert not wrong, wrong[:5]


def test_the_space_has_15625_cells_and_freezes_to_the_reference_s():
    space = Space.from_spec(SPACE)
    assert space.size() == 15_625 and space.keys == [f"net.edges[{k}]" for k in range(6)]
    assert all(d.domain.size() == 5 for d in space.dimensions)
    sample = space.sample(random.Random(3))
    edges = tuple(sample[f"net.edges[{k}]"] for k in range(6))
    graph = fgir.compile(fgir.loads(space.freeze(sample)))
    assert graph.meta["params"] == TABLE["params"][list(itertools.product(OPS, repeat=6)).index(edges)]


# -- diagnostics -----------------------------------------------------------------------
def error_of(write_spec, net: str):
    path = write_spec("search_space:\n  modules: [net]\n  net:\n    type: NASBench201\n" + textwrap.indent(net, "    "))
    with pytest.raises(FgirError) as info:
        fgir.compile(path)
    assert len(info.value.errors) == 1
    return info.value.errors[0], path.read_text().splitlines()


def test_an_unknown_op_is_located_in_the_string_with_a_did_you_mean(write_spec):
    arch = ARCH.replace("skip_connect~0", "skip_conect~0")
    error, lines = error_of(write_spec, f'arch: "{arch}"\n')
    assert error.message == ("unknown op 'skip_conect': NAS-Bench-201's edges are none, skip_connect, "
                             "nor_conv_1x1, nor_conv_3x3, avg_pool_3x3")
    assert error.hint == "did you mean 'skip_connect'?"
    assert (error.loc.line, lines[error.loc.line - 1][error.loc.col - 1:].startswith("skip_conect~0")) == (5, True)


def test_the_wrong_number_of_edges_is_located(write_spec):
    arch = ARCH.replace("|nor_conv_3x3~2|", "|")
    error, lines = error_of(write_spec, f"arch: '{arch}'\n")
    assert error.message == ("node 3 has 2 edges, NAS-Bench-201's node 3 has 3 (6 edges: node 1 reads node 0, "
                             "node 2 nodes 0 and 1, node 3 nodes 0 to 2)")
    assert lines[error.loc.line - 1][error.loc.col - 1:] == "|skip_connect~0|nor_conv_3x3~1|'"
    error, _ = error_of(write_spec, "edges: [none, none, none, none, none]\n")
    assert (error.message, error.loc.line) == ("5 edges; a NAS-Bench-201 cell has 6 (0→1, 0→2, 1→2, 0→3, 1→3, 2→3)", 5)
    error, _ = error_of(write_spec, "arch: '|none~0|+|none~0|none~1|'\n")
    assert error.message.startswith("the arch has 2 nodes, NAS-Bench-201's cell has 3")


@pytest.mark.parametrize("arch,message", [
    ("nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|",
     "malformed arch: node 1 is 'nor_conv_3x3~0|', not |op~input|...|"),
    ("|nor_conv_3x3|+|none~0|none~1|+|none~0|none~1|none~2|",
     "malformed arch: edge 'nor_conv_3x3' of node 1 is not op~input"),
    ("|none~0|+|none~1|none~0|+|none~0|none~1|none~2|",
     "node 2's edge 1 reads node 1; NAS-Bench-201 writes node 2's edges from nodes 0 to 1, in order"),
])
def test_a_malformed_string_is_located(write_spec, arch, message):
    error, lines = error_of(write_spec, f"arch: '{arch}'\n")
    assert error.message == message and error.loc.line == 5


def test_an_unknown_op_in_the_edges_list_and_a_doubled_cell(write_spec):
    error, lines = error_of(write_spec, "edges: [none, none, avg_pool_3x3, none, nor_conv_1x11, none]\n")
    assert error.message.startswith("unknown op 'nor_conv_1x11'") and error.hint == "did you mean 'nor_conv_1x1'?"
    assert lines[error.loc.line - 1][error.loc.col - 1:].startswith("nor_conv_1x11")
    error, _ = error_of(write_spec, f"arch: '{ARCH}'\nedges: [none, none, none, none, none, none]\n")
    assert error.message == "give the cell once: 'arch' (the benchmark's string) or 'edges' (its 6 ops)"
