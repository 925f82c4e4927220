"""fgir viz: the IR as a picture, clusters per block, errors drawn where they are."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import networkx as nx
import pytest

import fgir
import fgir.viz
from conftest import EXAMPLES, ROOT, run_fgir
from fgir.diagnostics import Diagnostic, Loc
from fgir.viz import run_until, to_dot

RED = "#c01c28"
RESNET50 = EXAMPLES / "resnet50_fine_grained.yaml"
RESNET20 = EXAMPLES / "resnet20_cifar.yaml"

# a VariantLayer told its input has 16 channels when the stem gives 32, and a head that expects
# 256 features from a layer ending with 64
BAD_CHANNELS = """
    search_space:
      type: FineGrainedSpace
      modules: ['init', 'layer', 'head']
      init:
        type: SmallInputInitialBlock
        init_plane: 32
      layer:
        type: VariantLayer
        block:
          type: BasicBlock
        in_plane: 16
        out_plane: 64
        doublechannel: [0, 1, 1, 0]
        downsample: [1, 1, 0, 1]
        expansion: 1
      head:
        type: LinearClassificationHead
        base_channel: 256
        num_class: 10
    """


def clusters(dot: str) -> list[str]:
    return re.findall(r'^\s*subgraph "cluster_([^"]*)"', dot, re.M)


def nodes(dot: str) -> list[str]:
    """Node statements (an edge has '->' after its first id, so it does not match)."""
    return re.findall(r'^\s*"((?:[^"\\]|\\.)*)" \[', dot, re.M)


def node_line(dot: str, name: str) -> str:
    return next(line for line in dot.splitlines() if line.strip().startswith(f'"{name}" ['))


def require_dot() -> None:
    # the set-up installs Graphviz (make setup); its absence is a broken set-up, not a skip
    assert shutil.which("dot"), ("Graphviz's 'dot' is not installed: run `make setup` "
                                 "(apt-get install graphviz)")


@pytest.fixture(scope="module")
def resnet50():
    return fgir.compile(RESNET50)


# -- DOT: clusters, collapsing, counts -------------------------------------------------------------
def test_full_depth_has_a_cluster_per_named_block_and_a_node_per_op(resnet50):
    dot = to_dot(resnet50)
    scopes = {info.scope for info in resnet50.blocks if info.scope}
    # BasicLayer and its Repeat share the scope 'bottlelayer': one box for both
    assert sorted(clusters(dot)) == sorted(scopes)
    assert len(clusters(dot)) == 22     # init, bottlelayer, 16 bottlenecks, 4 downsample shortcuts
    # every IR node (input included) plus the output marker
    assert len(nodes(dot)) == len(resnet50) + 1 == 177
    assert all(f'"{name}" [' in dot for name in resnet50.nodes)
    assert 'label=<<B>conv 1x1 64→256</B>' in dot          # bottlelayer.layer1.0.conv3
    assert '"bottlelayer.layer1.0.conv1" -> "bottlelayer.layer1.0.bn1" [label="64x56x56"]' in dot


def test_depth_1_shows_the_five_modules(resnet50):
    dot = to_dot(resnet50, depth=1)
    top_blocks = {info.scope for info in resnet50.blocks if "." not in info.scope}
    outside = [n for n in resnet50.nodes if not any(n in info.nodes for info in resnet50.blocks)]
    assert clusters(dot) == []
    assert len(nodes(dot)) == len(top_blocks) + len(outside) + 1 == 7
    assert nodes(dot) == ["input", "[init]", "[bottlelayer]", "pooling", "view", "linear", "(output)"]
    # a collapsed block shows its type, parameters and output shape
    line = node_line(dot, "[bottlelayer]")
    assert "BasicLayer" in line and "23.5M params" in line and "out 2048x7x7" in line
    assert '"[init]" -> "[bottlelayer]" [label="64x56x56"]' in dot
    assert '"linear" -> "(output)" [label="10"]' in dot


def test_depth_2_expands_modules_and_collapses_blocks(resnet50):
    dot = to_dot(resnet50, depth=2)
    assert clusters(dot) == ["init", "bottlelayer"]
    bottlenecks = [i for i in resnet50.blocks if i.type == "BottleneckBlock"]
    assert len(nodes(dot)) == 1 + 4 + len(bottlenecks) + 3 + 1 == 25
    # the shortcut and the main path into a collapsed block are one edge
    assert dot.count('-> "[bottlelayer.layer2.0]"') == 1


def test_depth_must_be_positive(resnet50):
    with pytest.raises(ValueError):
        to_dot(resnet50, depth=0)


def test_labels_show_op_widths_stride_and_quant_bits():
    graph = fgir.compile(RESNET20)
    graph["layer2.0.conv1"].meta.update(w_bits=4, a_bits=8)
    graph["layer2.0.conv2"].meta.update(keep_out=[0, 2, 5], dense_out=32, keep_in=[0, 2, 5], dense_in=32)
    graph["layer2.1.conv1"].meta.update(keep_out=list(range(24)), dense_out=32, keep_in=[1, 2],
                                        dense_in=32)
    dot = to_dot(graph)
    assert "conv 3x3 16→32 /2" in node_line(dot, "layer2.0.conv1")
    assert "w4 a8" in node_line(dot, "layer2.0.conv1")
    assert "kept 3/32 ch" in node_line(dot, "layer2.0.conv2")
    assert "kept out 24/32 · in 2/32 ch" in node_line(dot, "layer2.1.conv1")
    assert "linear 64→10" in node_line(dot, "fc")
    # hovering shows scope, source location and attributes
    assert f'tooltip="layer2.0.conv1\\nconv2d at {RESNET20}:6\\nspec: resnet' in \
        node_line(dot, "layer2.0.conv1")


def test_after_a_pass_before_lowering_draws_sub_graphs_as_clusters(resnet50):
    graph = fgir.load(RESNET50)
    stage = run_until(graph, "expand_repeat")
    assert stage.errors == [] and not stage.graph.is_lowered
    dot = to_dot(stage.graph)
    # the same boxes and ops as after lowering (lowering keeps the names), but no shapes yet
    assert sorted(clusters(dot)) == sorted(clusters(to_dot(resnet50)))
    assert sorted(nodes(dot)) == sorted(nodes(to_dot(resnet50)))
    assert "label=\"64x56x56\"" not in dot
    assert "conv 7x7 ?→64 /2" in dot        # in_channels is inferred later


# -- errors ------------------------------------------------------------------------------------------
def test_channel_errors_are_drawn_on_the_nodes_they_are_about(write_spec):
    spec = write_spec(BAD_CHANNELS)
    with pytest.raises(fgir.FgirError):
        fgir.compile(spec)
    stage = run_until(fgir.load(spec))
    assert stage.failed == "check_channels"
    messages = [d.message for d in stage.errors]
    assert "conv2d 'layer.repeat.0.conv1' expects 16 input channels but receives 32" in messages
    dot = to_dot(stage.graph, diagnostics=stage.errors)
    line = node_line(dot, "layer.repeat.0.conv1")
    assert f'color="{RED}"' in line and "expects 16 input channels but receives 32" in line
    assert f'color="{RED}"' in node_line(dot, "head.linear")
    assert "expects 256 input features but receives 64" in node_line(dot, "head.linear")
    assert f'color="{RED}"' not in node_line(dot, "layer.repeat.0.bn1")
    # the tensor it cannot take is red too
    assert re.search(rf'"init.relu" -> "layer.repeat.0.conv1" \[label="32x32x32", color="{RED}"', dot)
    # collapsed, the block holding the bad node turns red and carries the message
    top = to_dot(stage.graph, depth=1, diagnostics=stage.errors)
    assert f'color="{RED}"' in node_line(top, "[layer]")
    assert "repeat.0.conv1: expects 16 input channels but receives 32" in node_line(top, "[layer]")


def test_a_block_that_misses_its_declared_width_is_a_red_box(write_spec):
    # 32 channels doubled twice end at 128, not the declared 64
    spec = write_spec(BAD_CHANNELS.replace("in_plane: 16", "in_plane: 32")
                      .replace("base_channel: 256", "base_channel: 128"))
    stage = run_until(fgir.load(spec))
    assert [d.message for d in stage.errors] == [
        "VariantLayer 'layer' ends with 128 channels, but out_plane is 64"]
    dot = to_dot(stage.graph, diagnostics=stage.errors)
    cluster = dot[dot.index('subgraph "cluster_layer"'):].splitlines()[1]
    assert f'color="{RED}"' in cluster and "ends with 128 channels, but out_plane is 64" in cluster
    assert not [name for name in nodes(dot) if RED in node_line(dot, name)]   # only the box


def test_cli_draws_the_picture_then_exits_1(write_spec, tmp_path):
    spec = write_spec(BAD_CHANNELS)
    out = tmp_path / "bad.dot"
    result = run_fgir("viz", str(spec), "-o", str(out))
    assert result.returncode == 1, result.stderr
    assert "conv2d 'layer.repeat.0.conv1' expects 16 input channels but receives 32" in result.stderr
    assert "found by pass check_channels" in result.stderr
    dot = out.read_text()
    assert f'color="{RED}"' in node_line(dot, "layer.repeat.0.conv1")
    assert "Traceback" not in result.stderr


def test_an_expand_repeat_error_is_drawn_on_the_repeat(write_spec, tmp_path):
    spec = write_spec("""
        search_space:
          modules: [resnet]
          resnet:
            type: ResNet
            depth: 20
            num_reps: 9
            items:
              stride: [1, 1, 1, 2, 1, 1, 2, 1]
        """)
    stage = run_until(fgir.load(spec))
    assert stage.failed == "expand_repeat"
    dot = to_dot(stage.graph, diagnostics=stage.errors)
    assert "8 values for num_reps 9" in node_line(dot, "layers")
    assert f'color="{RED}"' in node_line(dot, "layers")


def test_an_error_about_no_node_is_listed_in_the_title():
    graph = fgir.compile(RESNET20)
    diag = Diagnostic(Loc("x.yaml", 15, 26), "process.nbit_w_list", "20 bit widths for 19 convs")
    dot = to_dot(graph, diagnostics=[diag])
    title = dot.splitlines()[1]
    assert "1 error:" in title and "process.nbit_w_list: 20 bit widths for 19 convs (line 15)" in title
    assert not [name for name in nodes(dot) if RED in node_line(dot, name)]


# -- rendering --------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix, magic", [(".svg", b"<svg"), (".png", b"\x89PNG\r\n\x1a\n"),
                                           (".html", b"<!DOCTYPE html>")])
def test_renders_svg_png_and_html(tmp_path, suffix, magic):
    require_dot()
    out = tmp_path / f"r20{suffix}"
    result = run_fgir("viz", str(RESNET20), "-o", str(out), "--depth", "2")
    assert result.returncode == 0, result.stderr
    data = out.read_bytes()
    assert magic in data[:400]
    assert [p.name for p in tmp_path.iterdir()] == [out.name]     # no temporary file left behind


def test_html_is_self_contained_with_hover_details(tmp_path):
    require_dot()
    graph = fgir.compile(RESNET20)
    out = fgir.viz.write(graph, tmp_path / "r20.html", depth=2)
    page = out.read_text()
    assert "<svg" in page and "<script>" in page
    # nothing fetched: no external scripts, styles or images; the only URLs are XML namespaces
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)
    assert set(re.findall(r"https?://[^\s\"']+", page)) <= {"http://www.w3.org/2000/svg",
                                                           "http://www.w3.org/1999/xlink"}
    # the panel's data: scope, source location and attributes of each node
    assert '"layer2.0.conv1": {"errors": [], "lines": ["conv2d at ' in page
    assert "stride = [2, 2]" in page


def test_output_is_deterministic(tmp_path):
    require_dot()
    for suffix in (".dot", ".svg", ".png", ".html"):
        first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
        for out in (first, second):
            result = run_fgir("viz", str(RESNET20), "-o", str(out), "--depth", "2")
            assert result.returncode == 0, result.stderr
        assert first.read_bytes() == second.read_bytes(), suffix


def test_missing_dot_is_a_clear_error_not_a_traceback(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path / "empty")}    # a PATH where no 'dot' lives
    args = [sys.executable, "-m", "fgir", "viz", str(RESNET20), "-o"]
    result = subprocess.run([*args, str(tmp_path / "r.svg")], capture_output=True, text=True,
                            env=env, cwd=ROOT, timeout=120)
    assert result.returncode == 2
    assert "needs Graphviz's 'dot' program" in result.stderr and "apt-get install graphviz" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "r.svg").exists()
    # .dot needs no Graphviz at all
    result = subprocess.run([*args, str(tmp_path / "r.dot")], capture_output=True, text=True,
                            env=env, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("args, message", [
    (["-o", "x.jpg"], "unknown picture format '.jpg'"),
    (["-o", "x.dot", "--after", "lower_block"], "not a pass of the default pipeline"),
    (["-o", "x.dot", "--depth", "0"], "expected a depth of 1 or more"),
    (["-o", "no/such/dir/x.dot"], "cannot write"),
])
def test_usage_and_io_errors_exit_2(tmp_path, args, message):
    result = run_fgir("viz", str(RESNET20), *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_cli_after_and_input(tmp_path):
    out = tmp_path / "r.dot"
    result = run_fgir("viz", str(RESNET20), "-o", str(out), "--after", "lower_blocks",
                      "--input", "3x64x64", "--depth", "1")
    assert result.returncode == 0, result.stderr
    dot = out.read_text()
    assert "IR after lower_blocks" in dot
    assert not re.findall(r'" -> "[^"]*" \[label=', dot)      # no shapes before infer_shapes
    result = run_fgir("viz", str(RESNET20), "-o", str(out), "--input", "3x64x64")
    assert '"input" -> "conv1" [label="3x64x64"]' in out.read_text()


# -- networkx ------------------------------------------------------------------------------------------
def test_to_networkx_mirrors_the_lowered_graph():
    graph = fgir.compile(RESNET20)
    nxg = graph.to_networkx()
    assert nxg.number_of_nodes() == len(graph)
    assert nxg.number_of_edges() == sum(len(node.inputs) for node in graph)
    assert nx.is_directed_acyclic_graph(nxg)
    assert nxg.nodes["layer2.0.conv1"]["op"] == "conv2d"
    assert nxg.nodes["layer2.0.conv1"]["attrs"]["stride"] == [2, 2]
    assert nxg.nodes["layer2.0.conv1"]["type"] == "32x16x16"
    assert nxg.nodes["layer2.0.conv1"]["loc"].endswith("resnet20_cifar.yaml:6:5")
    # the residual add reads the block's input through the projection shortcut
    assert set(nxg.predecessors("layer2.0.add")) == {"layer2.0.bn2", "layer2.0.downsample.1"}
    # stem 3 edges; through each block by its shortcut: 2 (identity) or 4 (projection); head 3
    assert nx.shortest_path_length(nxg, "input", "fc") == 3 + 7 * 2 + 2 * 4 + 3
    assert [t for _, _, t in nxg.in_edges("fc", data="type")] == ["64"]
