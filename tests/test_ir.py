"""The IR: structure, scope names, JSON round-trip, networkx export, text form."""

import json

import pytest

import fgir
from conftest import EXAMPLES, NETWORK_EXAMPLES
from fgir.ir.graph import Graph
from fgir.passes import ExpandRepeat, PassManager


@pytest.mark.parametrize("name", NETWORK_EXAMPLES)
def test_json_round_trip_after_compile(name):
    graph = fgir.compile(EXAMPLES / name)
    text = json.dumps(graph.to_json())
    again = Graph.from_json(json.loads(text))
    assert again == graph
    assert again.to_json() == graph.to_json()
    assert [n.type for n in again] == [n.type for n in graph]


def test_json_round_trip_before_lowering_keeps_subgraphs_and_origins():
    graph = fgir.load(EXAMPLES / "quant_resnet20.yaml")
    again = Graph.from_json(json.loads(json.dumps(graph.to_json())))
    assert again == graph
    repeat = next(n for _, n in again.walk() if n.block_type == "Repeat")
    assert repeat.subgraph is None
    assert str(repeat.arg_origins["items.stride[3]"].loc).endswith("quant_resnet20.yaml:18:35")
    assert again.processes[0].type == "Quant"


def test_round_tripped_block_ir_compiles_to_the_same_graph():
    # expansion reads items and their origins back from the JSON form
    graph = fgir.load(EXAMPLES / "variant_layer.yaml")
    again = Graph.from_json(json.loads(json.dumps(graph.to_json())))
    assert fgir.compile(again) == fgir.compile(EXAMPLES / "variant_layer.yaml")


def test_block_nodes_hold_subgraphs_until_lowered():
    graph = fgir.load(EXAMPLES / "variant_layer.yaml")
    assert [n.op for n in graph] == ["input", "block:SmallInputInitialBlock", "block:VariantLayer",
                                     "block:LinearClassificationHead"]
    layer = graph["layer"]
    assert [n.op for n in layer.subgraph] == ["input", "block:Repeat"]
    PassManager([ExpandRepeat()]).run(graph)
    reps = layer.subgraph["repeat"].subgraph
    assert [n.name for n in reps][1:] == [str(i) for i in range(8)]
    assert all(n.op == "block:BasicBlock" for n in list(reps)[1:])


def test_scope_names_follow_torchvision_for_resnet():
    graph = fgir.compile(EXAMPLES / "resnet50.yaml")
    names = [n.name for n in graph]
    assert names[:5] == ["input", "conv1", "bn1", "relu", "maxpool"]
    assert "layer1.0.downsample.0" in names and "layer4.2.conv3" in names
    assert names[-3:] == ["avgpool", "flatten", "fc"]


def test_edges_carry_tensor_types():
    graph = fgir.compile(EXAMPLES / "resnet20_cifar.yaml")
    edges = {(src, dst): str(t) for src, dst, t in graph.edges()}
    assert edges[("layer1.2.relu_1", "layer2.0.conv1")] == "16x32x32"
    assert edges[("layer2.0.bn2", "layer2.0.add")] == "32x16x16"
    assert edges[("layer2.0.downsample.1", "layer2.0.add")] == "32x16x16"
    assert edges[("flatten", "fc")] == "64"


def test_nodes_keep_their_source_location():
    graph = fgir.compile(EXAMPLES / "resnet50_fine_grained.yaml")
    loc = graph["linear"].origin.loc
    assert (loc.line, loc.col) == (21, 13)
    assert graph["linear"].origin_of("in_features").loc.line == 22
    assert graph["bottlelayer.layer3.5.conv2"].origin.path == "bottlelayer"


def test_block_table_records_every_inlined_block():
    graph = fgir.compile(EXAMPLES / "resnet18.yaml")
    leaves = [b for b in graph.blocks if b.is_leaf]
    assert [b.scope for b in leaves] == [f"layer{s}.{i}" for s in range(1, 5) for i in range(2)]
    assert all(b.type == "BasicBlock" for b in leaves)
    assert leaves[2].nodes[0] == "layer2.0.conv1" and leaves[2].output == "layer2.0.relu_1"


def test_networkx_export():
    nxg = fgir.compile(EXAMPLES / "resnet20_cifar.yaml").to_networkx()
    assert nxg.number_of_nodes() == 74
    assert nxg.nodes["layer2.0.conv1"]["op"] == "conv2d"
    assert nxg.nodes["layer2.0.conv1"]["type"] == "32x16x16"
    assert nxg.in_degree("layer2.0.add") == 2


def test_text_form_shows_ops_types_and_locations():
    text = fgir.compile(EXAMPLES / "resnet20_cifar.yaml").format()
    line = next(l for l in text.splitlines() if l.startswith("%layer3.0.downsample.0 "))
    assert line.startswith("%layer3.0.downsample.0 = conv2d(%layer2.2.relu_1) {in_channels=32, "
                           "out_channels=64, kernel_size=[1, 1], stride=[2, 2]")
    assert " : 64x8x8 " in line and line.endswith("resnet20_cifar.yaml:6:5")


def test_networkx_export_before_lowering_names_nodes_by_path():
    graph = fgir.load(EXAMPLES / "variant_layer.yaml")
    PassManager([ExpandRepeat()]).run(graph)
    nxg = graph.to_networkx()
    conv = nxg.nodes["layer/repeat/3/conv1"]
    assert (conv["op"], conv["scope"], conv["parent"]) == ("conv2d", "layer.repeat.3.conv1", "layer/repeat/3")
    assert nxg.has_edge("layer/repeat/2", "layer/repeat/3")
    assert nxg.has_edge("layer/repeat/3/input", "layer/repeat/3/conv1")
    assert len(nxg) == sum(1 for _ in graph.walk())
