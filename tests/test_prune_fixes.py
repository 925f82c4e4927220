"""Two pruning bugs, each with the test that failed before its fix.

1. A spec written at pruned widths whose dense first block has a projection (the stem is wider than
   stage 1) lost ``layer1.0.downsample`` when the masks kept as many stem as stage-1 channels: the
   written block, 15 → 15 at stride 1, got an identity shortcut, so the checkpoint's projection was
   dropped and the pruned network was not the masked dense one.
2. ``fgir search`` resolved a relative ``init_model_file`` against the working directory instead of
   the spec's folder, so every candidate failed with "no such file" unless run from that folder.
"""

from __future__ import annotations

import textwrap

import pytest
import torch

import fgir
from fgir.search import run_search
from fgir.testing.weights import randomize_batch_norm

STAGE = [1, 1, 1, 2, 2, 2, 3, 3, 3]
BLOCKS = [f"layer{s}.{i}" for s in (1, 2, 3) for i in range(3)]
DENSE_NODE = [32, 16, 32, 64]                  # a stem of 32 channels before a stage of 16
DENSE_INNER = [16] * 3 + [32] * 3 + [64] * 3


def _rows(stage1_first: int) -> tuple[list[list[int]], list[list[int]]]:
    """15 of the stem's 32 channels and 15 of stage 1's 16, the latter from ``stage1_first`` on."""
    stage1 = [0] * stage1_first + [1] * 15 + [0] * (1 - stage1_first)
    node = [[1] * 15 + [0] * 17, stage1, [1] * 32, [1] * 64]
    return node, [[1] * w for w in DENSE_INNER]


def _masked_dense(model, node, inner):
    def multiply(mask):
        factor = torch.tensor(mask, dtype=torch.float32).view(1, -1, 1, 1)
        return lambda module, args, out: out * factor

    model.get_submodule("relu").register_forward_hook(multiply(node[0]))
    for b, block in enumerate(BLOCKS):
        model.get_submodule(f"{block}.relu").register_forward_hook(multiply(inner[b]))
        model.get_submodule(f"{block}.relu_1").register_forward_hook(multiply(node[STAGE[b]]))
    return model


@pytest.mark.parametrize("stage1_first", [0, 1])   # 0: the same kept indices in and out; 1: others
def test_pruned_widths_keep_the_dense_projection_of_the_first_block(tmp_path, stage1_first):
    dense_spec = "search_space:\n  modules: [resnet]\n  resnet: {type: ResNet, depth: 20, init_plane: 32}\n"
    dense_graph = fgir.compile(dense_spec)
    assert "layer1.0.downsample.0" in dense_graph      # 32 → 16: the dense block projects
    dense = randomize_batch_norm(fgir.to_torch(dense_graph, seed=5), 5)
    torch.save(dense.state_dict(), tmp_path / "dense.pt")
    node, inner = _rows(stage1_first)                   # as many stem as stage-1 channels kept
    (tmp_path / "pruned.yaml").write_text(textwrap.dedent(f"""\
        search_space:
          modules: [resnet, process]
          resnet:
            type: ResNet
            depth: 20
            init_plane: 15
            items:
              inchannel: [15, 15, 15, 15, 32, 32, 32, 64, 64]
              outchannel: [15, 15, 15, 32, 32, 32, 64, 64, 64]
              inner_plane: [16, 16, 16, 32, 32, 32, 64, 64, 64]
          process: {{type: Prune, chn_node_mask: {node}, chn_mask: {inner}, init_model_file: dense.pt}}
        """))
    graph = fgir.compile(tmp_path / "pruned.yaml")
    projection = graph["layer1.0.downsample.0"]
    assert (projection.attrs["in_channels"], projection.attrs["out_channels"]) == (15, 15)
    assert not projection.meta.get("selection")         # the dense network's own, sliced
    pruned = fgir.to_torch(graph).eval()
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = _masked_dense(dense, node, inner)(x)
        assert (pruned(x) - want).abs().max().item() <= 1e-5


def test_the_same_spec_written_at_dense_widths_agrees(tmp_path):
    dense_spec = "search_space:\n  modules: [resnet]\n  resnet: {type: ResNet, depth: 20, init_plane: 32}\n"
    dense = randomize_batch_norm(fgir.to_torch(dense_spec, seed=5), 5)
    torch.save(dense.state_dict(), tmp_path / "dense.pt")
    node, inner = _rows(0)
    (tmp_path / "pruned.yaml").write_text(
        "search_space:\n  modules: [resnet, process]\n  resnet: {type: ResNet, depth: 20, init_plane: 32}\n"
        f"  process: {{type: Prune, chn_node_mask: {node}, chn_mask: {inner}, init_model_file: dense.pt}}\n")
    graph = fgir.compile(tmp_path / "pruned.yaml")
    assert graph.meta["params"] == fgir.compile(tmp_path / "pruned.yaml").meta["params"]
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = _masked_dense(dense, node, inner)(x)
        assert (fgir.to_torch(graph).eval()(x) - want).abs().max().item() <= 1e-5


def _builds(graph) -> dict:
    fgir.to_torch(graph)     # loads init_model_file, as the train evaluator does
    return {"score": 1.0}


def test_search_resolves_init_model_file_against_the_spec_folder(tmp_path, monkeypatch):
    folder = tmp_path / "project"
    folder.mkdir()
    dense = fgir.to_torch("search_space:\n  modules: [resnet]\n  resnet: {type: ResNet, depth: 20}\n", seed=0)
    torch.save(dense.state_dict(), folder / "dense.pt")
    mask = [1, 0] * 8
    (folder / "search.yaml").write_text(textwrap.dedent(f"""\
        search_space:
          modules: [resnet, process]
          hyper_parameters:
            resnet.num_class: [10]
          resnet: {{type: ResNet, depth: 20}}
          process: {{type: Prune, masks: {{conv1: {mask}}}, init_model_file: dense.pt}}
        """))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = run_search(folder / "search.yaml", tmp_path / "out", evaluator=_builds, budget=1)
    assert [(row["status"], row["message"]) for row in result.rows] == [("ok", None)]
    best = (tmp_path / "out" / "best.yaml").read_text()
    assert fgir.to_torch(fgir.compile(fgir.loads(best, str(tmp_path / "out" / "best.yaml")))) is not None
