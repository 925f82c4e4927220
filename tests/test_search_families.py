"""Search spaces beyond codes: a block's type as a dimension, and a Once-for-All-style MobileNet space."""

from __future__ import annotations

import random
import textwrap

import pytest

import fgir
from conftest import EXAMPLES
from fgir.search import Space, run_search

BLOCK_CHOICE = textwrap.dedent("""\
    search_space:
      hyper_parameters:
        resnet.block.type: choice(BasicBlock, BottleneckBlock)
        resnet.init_plane: choice(8, 16)
      modules: [resnet]
      resnet:
        type: ResNet
        depth: 20
        block: {type: BasicBlock}
    """)


def test_a_blocks_type_is_a_search_dimension(tmp_path):
    result = run_search(Space.from_text(BLOCK_CHOICE, "s.yaml"), tmp_path, algorithm="GridSearch", budget=10)
    rows = result.rows
    assert [r["values"]["resnet.block.type"] for r in rows] == ["BasicBlock"] * 2 + ["BottleneckBlock"] * 2
    assert all(r["status"] == "ok" for r in rows) and len({r["hash"] for r in rows}) == 4
    # a bottleneck ResNet of the same widths has more parameters than the basic one
    basic, bottleneck = rows[1]["params"], rows[3]["params"]
    assert basic == 272_474 and bottleneck > basic
    best = (tmp_path / "best.yaml").read_text()
    chosen = result.best["values"]["resnet.block.type"]
    assert f"block: {{type: {chosen}}}" in best
    assert fgir.compile(tmp_path / "best.yaml").meta["params"] == result.best["params"]


def test_a_misspelt_block_choice_gets_a_did_you_mean_at_the_candidate():
    text = BLOCK_CHOICE.replace("choice(BasicBlock,", "choice(BasicBlok,")
    with pytest.raises(fgir.FgirError) as info:
        Space.from_text(text, "s.yaml")
    assert info.value.message == ("choice candidate 'BasicBlok' does not fit resnet.block.type: unknown block "
                                  "type 'BasicBlok'; did you mean 'BasicBlock'?")
    assert (info.value.line, info.value.column) == (3, 31)


def test_each_alternative_is_checked_against_its_own_signature():
    text = BLOCK_CHOICE.replace("BottleneckBlock)", "MBConv)")
    with pytest.raises(fgir.FgirError) as info:
        Space.from_text(text, "s.yaml")
    assert info.value.message == ("choice candidate 'MBConv' does not build here: resnet: MBConv takes no "
                                  "argument 'inchannel'")
    assert info.value.line == 3


def test_the_once_for_all_space_searches_depths_ratios_kernels_widths_and_activations(tmp_path):
    space = Space.from_spec(EXAMPLES / "search" / "ofa_mobilenet.yaml")
    assert len(space.dimensions) == 19
    result = run_search(space, tmp_path, budget=32, seed=1, input="3x32x32")
    assert result.config.algorithm.__name__ == "NSGA2Search"
    assert all(r["status"] == "ok" for r in result.rows) and len({r["hash"] for r in result.rows}) == 32
    seen = {key: {r["values"][key] for r in result.rows} for key in space.keys}
    assert seen["stage3.kernel_size"] == {3, 5, 7} and seen["stage4.activation"] == {"ReLU6", "Hardswish"}
    sample = result.rows[-1]["values"]
    graph = fgir.compile(fgir.loads(space.freeze(sample)), input="3x32x32")
    depth = sample["stage3.depth"]
    assert f"stage3.{depth - 1}.add" in graph and f"stage3.{depth}.conv.0.0" not in graph
    act = {"ReLU6": "relu6", "Hardswish": "hard_swish"}[sample["stage4.activation"]]
    assert graph["stage4.0.conv.0.2"].op == act
    assert graph["stage4.0.conv.1.0"].attrs["kernel_size"] == [sample["stage4.kernel_size"]] * 2
    assert graph["stage5.0.conv.0.0"].attrs["in_channels"] == sample["stage4.out_channels"]
    assert graph.meta["params"] == result.rows[-1]["params"]


def test_a_random_sample_of_the_space_always_builds():
    space = Space.from_spec(EXAMPLES / "search" / "ofa_mobilenet.yaml")
    rng = random.Random(0)
    for _ in range(20):
        fgir.compile(fgir.loads(space.freeze(space.sample(rng))), input="3x32x32")
