"""Graph edits through the graph's own methods keep users, outputs and the block table consistent, with
O(1) inserts; a pass written against the public pass API (fold BatchNorm into its conv) runs on a real
network; a pass says whether it changed the graph."""

from __future__ import annotations

import pytest

import fgir
from conftest import EXAMPLES
from fgir.ir.graph import Graph, Node
from fgir.ir.ops import OPS, Trait
from fgir.ir.patterns import norm_folds
from fgir.passes import PassManager, default_passes, graph_pass


def chain(n: int) -> Graph:
    g = Graph()
    x = g.add_input()
    for i in range(n):
        x = g.add(f"r{i}", "relu", [x])
    g.set_output(x)
    return g


def test_inserts_before_one_anchor_keep_order_when_the_keys_run_out():
    g = chain(3)
    anchor, before = g["r2"], g["r1"]
    names = []
    for i in range(200):   # halving one gap 200 times exhausts a float's precision: the graph renumbers
        node = g.insert_before(anchor, Node(f"n{i}", "relu", inputs=[before]))
        names.append(node.name)
    assert list(g.nodes) == ["input", "r0", "r1", *names, "r2"]
    g.verify()
    with pytest.raises(ValueError, match="not defined before it"):
        g.insert_before(g["r0"], Node("late", "relu", inputs=[g["r1"]]))


def test_insert_after_the_last_node_appends_and_joins_its_blocks():
    g = fgir.compile(EXAMPLES / "resnet20_cifar.yaml")
    last = list(g)[-1]
    info = next(b for b in g.blocks if last.name in b.nodes)
    added = g.insert_after(last, Node("extra", "relu", inputs=[last]))
    assert list(g.nodes)[-1] == "extra" and info.nodes[info.nodes.index(last.name) + 1] == "extra"


def test_erase_and_replace_all_uses_keep_the_block_table_and_outputs_consistent():
    g = fgir.compile(EXAMPLES / "resnet20_cifar.yaml")
    relu = g["layer1.0.relu"]          # read by conv2 in BasicBlock layer1.0
    block = next(b for b in g.blocks if b.scope == "layer1.0")
    g.replace_all_uses(relu, relu.inputs[0])
    g.erase(relu)
    assert "layer1.0.relu" not in block.nodes and "layer1.0.relu" not in g.nodes
    out = g.output
    fresh = g.add("final_relu", "relu", [out])
    fresh.type = out.type
    owner = next(b for b in g.blocks if b.output == out.name)
    g.replace_all_uses(out, fresh)
    assert g.output is fresh and owner.output == "final_relu"
    g.verify()


@graph_pass("fold_batch_norm", requires={"shapes"})
def fold_batch_norm(graph, ctx):
    """Fold every BatchNorm that follows its conv alone into that conv (its bias takes the shift)."""
    folds = norm_folds(graph)
    for conv_name, bn in folds.items():
        conv = graph[conv_name]
        conv.attrs["bias"] = True
        graph.replace_all_uses(bn, conv)
        graph.erase(bn)
    return bool(folds)


def test_a_fold_batch_norm_pass_on_the_public_api_runs_on_mobilenet_v2():
    dense = fgir.compile(EXAMPLES / "mobilenet_v2.yaml", input="3x32x32")
    bns = [n for n in dense if OPS[n.op].has(Trait.FOLDS_INTO_CONV)]
    pipeline = default_passes()
    pipeline.insert(len(pipeline) - 1, fold_batch_norm)   # before count_cost
    folded = fgir.compile(EXAMPLES / "mobilenet_v2.yaml", input="3x32x32", passes=pipeline, verify=True)
    assert not any(OPS[n.op].has(Trait.FOLDS_INTO_CONV) for n in folded)
    every_block_node = {name for b in folded.blocks for name in [b.input, b.output, *b.nodes]}
    assert every_block_node <= set(folded.nodes)
    # each BN's scale and shift (2C) gone, a bias (C) on each conv that had none
    removed = sum(bn.attrs["num_features"] for bn in bns)
    assert folded.meta["params"] == dense.meta["params"] - removed
    module = fgir.to_torch(folded, seed=0)
    assert sum(p.numel() for p in module.parameters()) == folded.meta["params"]


def test_a_pass_says_whether_it_changed_the_graph():
    manager = PassManager(default_passes())
    manager.run(fgir.load(EXAMPLES / "resnet20_cifar.yaml"))
    assert manager.changed["apply_prune"] is False and manager.changed["apply_quant"] is False
    assert manager.changed["lower_blocks"] is True
    manager.run(fgir.load(EXAMPLES / "quant_resnet20.yaml"))
    assert manager.changed["apply_quant"] is True


def test_annotations_are_declared_and_typed_keys_the_verifier_checks():
    from fgir.ir.annotations import declare_annotation
    from fgir.ir.verify import IRError

    g = fgir.compile(EXAMPLES / "resnet20_cifar.yaml")
    g["conv1"].meta["w_bitz"] = 8
    with pytest.raises(IRError, match=r"node 'conv1' \(conv2d\): undeclared annotation 'w_bitz'"):
        g.verify()
    del g["conv1"].meta["w_bitz"]
    g["conv1"].meta["keep_out"] = [0, "1"]
    with pytest.raises(IRError, match="annotation 'keep_out' must be the dense output channels kept"):
        g.verify()
    del g["conv1"].meta["keep_out"]
    declare_annotation("test_sparsity", "a fraction of zero weights", lambda v: 0 <= v <= 1)
    g["conv1"].meta["test_sparsity"] = 0.5
    g.verify()
    with pytest.raises(ValueError, match="declared already"):
        declare_annotation("w_bits", "something else", lambda v: True)


def test_scratch_annotations_stay_out_of_the_json_form():
    g = fgir.compile(EXAMPLES / "resnet20_cifar.yaml")
    g["conv1"].meta["collapsed"] = [0, 0]
    assert "collapsed" not in g.to_json()["nodes"][1]["meta"] and "params" in g.to_json()["nodes"][1]["meta"]
