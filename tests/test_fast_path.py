"""The fast static path (memoized block builds, fgir.blocks.memo) gives byte for byte what the slow path gives.

500 random candidates of the example spaces (355 of examples/backbone_nas.yaml, the rest of the ResNet-18
variant, OFA-style MobileNet, Quant and NAS-Bench-201 spaces), 40 spoilt ones (bad widths, lists of the wrong
length) and every spec of examples/, each compiled in the same process with the memo (warmed by the
compiles before it) and with it off: the IR dump, the graph's JSON, the static metrics and the error text
must be equal.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

import fgir
from fgir.blocks import memo
from fgir.plugins import load_plugin
from fgir.search.evaluators.static import QuantMismatch, static_metrics
from fgir.search.space import Space

ROOT = Path(__file__).resolve().parent.parent
SPACES = {"backbone_nas.yaml": 355, "search/ofa_mobilenet.yaml": 60, "resnet18_variant.yaml": 60,
          "search/quant_resnet20.yaml": 20, "search/nasbench201.yaml": 5}
KEEPS_NOTHING = {"search/nasbench201.yaml"}    # its cell is one block whose edges are the dimensions


def outcome(text: str) -> dict:
    """Everything a compile tells: the dump, the JSON, the metrics, or the error's text and JSON."""
    try:
        graph = fgir.compile(fgir.loads(text, "candidate.yaml"))
    except fgir.FgirError as exc:
        return {"error": str(exc), "diagnostics": [d.to_json() for d in exc.diagnostics]}
    try:
        metrics = static_metrics(graph)
    except QuantMismatch as exc:
        metrics = {"quant_mismatch": str(exc)}
    return {"dump": graph.format(), "json": json.dumps(graph.to_json(), sort_keys=True, default=str),
            "metrics": metrics}


def both_ways(text: str) -> tuple[dict, dict]:
    fast = outcome(text)
    with memo.disabled():
        slow = outcome(text)
    return fast, slow


def candidates(name: str, count: int) -> list[str]:
    space = Space.from_spec(ROOT / "examples" / name)
    rng = random.Random(len(name))
    return [space.freeze(space.sample(rng)) for _ in range(count)]


@pytest.mark.parametrize("name", sorted(SPACES))
def test_random_candidates_compile_identically_both_ways(name):
    memo.clear()
    for text in candidates(name, SPACES[name]):
        fast, slow = both_ways(text)
        assert fast == slow
    if name not in KEEPS_NOTHING:
        assert memo.STATS["hits"] > 0                       # the fast path did run
    if name == "backbone_nas.yaml":
        assert memo.STATS["hits"] > 3 * memo.STATS["misses"]   # ... and for the guide's space, mostly copied


def broken(text: str, rng: random.Random) -> str:
    """One candidate spoiled the way a user spoils a spec: a bad width, a list of the wrong length."""
    kind = rng.randrange(4)
    if kind == 0:
        return re.sub(r"init_plane: \d+", f"init_plane: {rng.choice([0, -8, 'wide'])}", text)
    if kind == 1:
        return re.sub(r"base_channel: \d+", f"base_channel: {rng.choice([100, 256, 1024])}", text)
    if kind == 2:
        return re.sub(r"doublechannel: \[[^\]]*\]", "doublechannel: [0, 1, 1]", text)
    return re.sub(r"downsample: \[[^\]]*\]", f"downsample: [{', '.join(['1'] * 9)}]", text)


def test_broken_candidates_fail_identically_both_ways():
    rng = random.Random(7)
    texts = [broken(t, rng) for t in candidates("backbone_nas.yaml", 40)]
    errors = 0
    for text in texts:
        fast, slow = both_ways(text)
        assert fast == slow
        errors += "error" in fast
    assert errors >= 30            # the spoilt specs did fail (a fresh one each time, a kept build around it)


def test_a_user_block_is_built_afresh_every_time():
    load_plugin(ROOT / "examples" / "user_blocks" / "searchable_stage.py")
    text = (ROOT / "examples" / "user_block.yaml").read_text()
    memo.clear()
    fast, slow = both_ways(text)
    assert fast == slow and "error" not in fast
    assert not any(not cls.__module__.startswith("fgir.") for cls, *_ in memo._MEMO)
    assert all(entry.node.op != "block:SearchableStage" for entry in memo._MEMO.values())


def test_the_environment_switch_turns_the_memo_off(monkeypatch):
    text = (ROOT / "examples" / "resnet20_cifar.yaml").read_text()
    memo.clear()
    monkeypatch.setenv("FGIR_NO_CACHE", "1")
    fgir.compile(text)
    fgir.compile(text)
    assert memo.STATS == {"hits": 0, "misses": 0} and not memo.enabled()
    monkeypatch.delenv("FGIR_NO_CACHE")
    fgir.compile(text)
    fgir.compile(text)
    assert memo.STATS["hits"] == memo.STATS["misses"] > 0


def test_a_kept_build_is_not_changed_by_the_compiles_that_copy_it():
    text = (ROOT / "examples" / "resnet18.yaml").read_text()
    memo.clear()
    first = fgir.compile(text)
    kept = {key: entry.node.subgraph.format() for key, entry in memo._MEMO.items()}
    second = fgir.compile(text)
    for node in second:                      # edit the lowered graph every way a pass might
        node.attrs.update({k: [v] if isinstance(v, list) else v for k, v in node.attrs.items()})
        node.meta["touched"] = True
    assert {key: entry.node.subgraph.format() for key, entry in memo._MEMO.items()} == kept
    assert fgir.compile(text).to_json() == first.to_json()


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_compiles_identically_both_ways(path):
    text = path.read_text()
    cold = outcome(text)               # the memo meets these blocks first...
    warm, slow = both_ways(text)       # ...then copies them
    assert warm == cold == slow


@pytest.mark.parametrize("name", ["resnet18.yaml", "backbone_nas.yaml", "nasbench201_cell.yaml"])
def test_compiling_a_loaded_graph_leaves_it_as_it_was(name):
    graph = fgir.load(ROOT / "examples" / name)
    before = graph.to_json()
    assert memo.front_end_copy(graph).to_json() == graph.copy().to_json() == before
    for _ in range(2):                 # the second copies kept builds into it
        fgir.compile(graph)
    assert graph.to_json() == before


def test_a_block_type_replaced_by_name_is_built_again(monkeypatch):
    """A plugin may register a block under a built-in's name (replace=True): builds that resolved the name
    are not copied any more."""
    from fgir.blocks.registry import BLOCKS

    text = (ROOT / "examples" / "backbone_nas.yaml").read_text()
    memo.clear()
    fgir.compile(text)
    before = memo.STATS["hits"]
    fgir.compile(text)
    assert memo.STATS["hits"] > before
    monkeypatch.setitem(BLOCKS, "BasicBlock", type("BasicBlock", (BLOCKS["BasicBlock"],), {}))
    misses = memo.STATS["misses"]
    fgir.compile(text)
    assert memo.STATS["misses"] > misses          # the blocks that named BasicBlock were built again


def test_a_pass_of_ones_own_that_edits_block_sub_graphs_leaves_the_kept_builds_alone():
    """A user's pipeline may edit a block's sub-graph in place before lower_blocks: it gets a graph built
    afresh, so the builds the memo keeps (and the next default compile copies) stay as they were."""
    from fgir.passes import default_passes, graph_pass

    def rename_relus(graph):
        for node in graph:
            if node.op == "relu":
                node.name += "_renamed"
            if node.subgraph is not None:
                rename_relus(node.subgraph)

    @graph_pass("rename_relus_inside_blocks")
    def rename_inside_blocks(graph, ctx):
        rename_relus(graph)

    pipeline = default_passes()
    after_repeats = [p.name for p in pipeline].index("expand_repeat") + 1   # every block built by then
    pipeline.insert(after_repeats, rename_inside_blocks)
    text = (ROOT / "examples" / "resnet20_cifar.yaml").read_text()
    before = fgir.compile(fgir.loads(text, "r20.yaml")).to_json()   # the memo now keeps its blocks
    renamed = fgir.compile(fgir.loads(text, "r20.yaml"), passes=pipeline)
    assert any(n.name.endswith("_renamed") for n in renamed)
    assert fgir.compile(fgir.loads(text, "r20.yaml")).to_json() == before
