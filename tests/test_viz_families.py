"""`fgir viz --depth 1` draws each issue-22 family at its stage level, read off the DOT (not pixels); `fgir
summary` shows token sequences as LxD (197x768).

Where torchvision nests a family's stages under one module (RegNet's ``trunk_output``), depth 1 draws that
module and depth 2 its stages; the fine-grained ViT and ConvNeXt examples name their stages at the top.
"""

from __future__ import annotations

import re

import pytest

import fgir
from conftest import EXAMPLES, run_fgir
from fgir.viz import to_dot


def nodes(dot: str) -> list[str]:
    """Node statements (an edge has '->' after its first id, so it does not match)."""
    return re.findall(r'^\s*"((?:[^"\\]|\\.)*)" \[', dot, re.M)


def label(dot: str, name: str) -> str:
    """A collapsed block's label: its name, its type(s), and params · MACs · output shape."""
    line = next(line for line in dot.splitlines() if line.strip().startswith(f'"{name}" ['))
    return re.sub(r"<[^>]*>", " ", line.split("label=<", 1)[1].split(">>,", 1)[0] + ">").split()


def edges(dot: str) -> list[tuple[str, str, str]]:
    return re.findall(r'^\s*"([^"]*)" -> "([^"]*)" \[label="([^"]*)"\]', dot, re.M)


@pytest.mark.parametrize("example, depth, drawn, stage, words, edge", [
    ("vit_fine_grained.yaml", 1,
     ["input", "[patches]", "class_token", "pos_embedding", "dropout", "[layers]", "ln", "class_slice", "flatten",
      "head", "(output)"],
     "[layers]", ["TransformerEncoderStack", "85.1M", "params", "17.4G", "MACs", "out", "197x768"],
     ("dropout", "[layers]", "197x768")),
    ("convnext_fine_grained.yaml", 1,
     ["input", "stem", "stem_norm", "[stage1]", "[down1]", "[stage2]", "[down2]", "[stage3]", "[down3]", "[stage4]",
      "avgpool", "norm", "flatten", "fc", "(output)"],
     "[stage3]", ["ConvNeXtStage", "10.8M", "params", "2.11G", "MACs", "out", "384x14x14"], ("[stage1]", "[down1]", "96x56x56")),
    ("shufflenet_v2_x1_0.yaml", 1,
     ["input", "[conv1]", "maxpool", "[stage2]", "[stage3]", "[stage4]", "[conv5]", "pool", "flatten", "fc",
      "(output)"],
     "[stage2]", ["ShuffleStage", "30.2K", "params", "25.7M", "MACs", "out", "116x28x28"],
     ("[stage3]", "[stage4]", "232x14x14")),
    ("regnet_y_400mf.yaml", 2,
     ["input", "stem.0", "stem.1", "stem.2", "[trunk_output.block1]", "[trunk_output.block2]",
      "[trunk_output.block3]", "[trunk_output.block4]", "avgpool", "flatten", "fc", "(output)"],
     "[trunk_output.block4]", ["AnyStage", "3.05M", "params", "137M", "MACs", "out", "440x7x7"],
     ("[trunk_output.block3]", "[trunk_output.block4]", "208x14x14")),
    ("lraspp_mobilenet_v3_large.yaml", 1, ["input", "[backbone]", "[classifier]", "upsample", "(output)"],
     "[classifier]", ["LRASPPHead", "250K", "params", "27M", "MACs", "out", "21x28x28"],
     ("upsample", "(output)", "21x224x224")),
])
def test_each_family_is_drawn_at_its_stage_level(example, depth, drawn, stage, words, edge):
    dot = to_dot(fgir.compile(EXAMPLES / example), depth=depth)
    assert nodes(dot) == drawn
    assert set(words) <= set(label(dot, stage)), label(dot, stage)
    assert edge in edges(dot)


def test_regnet_at_depth_1_is_torchvisions_top_modules():
    dot = to_dot(fgir.compile(EXAMPLES / "regnet_y_400mf.yaml"), depth=1)
    assert nodes(dot) == ["input", "[stem]", "[trunk_output]", "avgpool", "flatten", "fc", "(output)"]


def test_the_lraspp_head_reads_both_taps():
    dot = to_dot(fgir.compile(EXAMPLES / "lraspp_mobilenet_v3_large.yaml"), depth=1)
    assert [e for e in edges(dot) if e[1] == "[classifier]"] == [("[backbone]", "[classifier]", "960x14x14"),
                                                                   ("[backbone]", "[classifier]", "40x28x28")]


def test_the_cli_writes_the_stage_level_dot_and_summary_shows_sequence_shapes(tmp_path):
    result = run_fgir("viz", str(EXAMPLES / "vit_fine_grained.yaml"), "--depth", "1", "-o", "vit.dot", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert nodes((tmp_path / "vit.dot").read_text())[:6] == ["input", "[patches]", "class_token", "pos_embedding",
                                                             "dropout", "[layers]"]
    summary = run_fgir("summary", str(EXAMPLES / "vit_b_16.yaml"))
    rows = {line.split()[0]: line.split() for line in summary.stdout.splitlines() if line.strip()}
    assert rows["encoder.layers.encoder_layer_11"][1:3] == ["TransformerEncoderBlock", "197x768"]
    assert rows["encoder.ln"][1:3] == ["layer_norm", "197x768"] and rows["class_slice"][1:3] == ["slice", "1x768"]
