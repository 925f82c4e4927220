"""Prune on every family: every prunable group masked at random, in torch and in ONNX Runtime.

The pruned network must equal the dense one whose consumers' input weights of the pruned
channels are zeroed (tests/prune_oracle.py), whatever the family's joins: residual adds,
squeeze-excitation's per-channel mul, DenseNet's concatenations, depthwise and grouped convs (ResNeXt's
bottlenecks pruned by whole conv groups).
"""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest
import torch

import fgir
from conftest import EXAMPLES, run_fgir
from fgir.ir.channel_groups import channel_groups
from fgir.testing.weights import randomize_batch_norm
from prune_oracle import zero_pruned_inputs

FAMILIES = ["mobilenet_v2.yaml", "mobilenet_v3_large.yaml", "efficientnet_b0.yaml", "densenet121.yaml",
            "resnext50_32x4d.yaml", "resnet50.yaml"]
INPUT = "3x64x64"


def masked_spec(name: str, masks: dict[str, list[int]]) -> str:
    """The example with a Prune process of these masks after its network (and dense.pt to slice from)."""
    text = (EXAMPLES / name).read_text()
    line = re.search(r"^( *)modules: \[(.*)\]$", text, re.M)
    indent, modules = line.group(1), line.group(2)
    text = text.replace(line.group(0), f"{indent}modules: [{modules}, prune]")
    return text.rstrip("\n") + f"\n{indent}prune: {{type: Prune, masks: {json.dumps(masks)}, init_model_file: dense.pt}}\n"


@pytest.mark.parametrize("name", FAMILIES)
def test_every_group_pruned_at_random_equals_the_zeroed_dense_network(tmp_path, name):
    ort = pytest.importorskip("onnxruntime")
    dense_graph = fgir.compile(EXAMPLES / name, input=INPUT)
    groups = channel_groups(dense_graph)
    rng = random.Random(name)
    masks = {}
    for group in groups.groups:   # half the channels, in whole conv groups where a grouped conv ties them
        units = group.width // group.unit
        keep = rng.sample(range(units), max(1, units // 2))
        masks[group.name] = [int(i // group.unit in keep) for i in range(group.width)]
    dense = randomize_batch_norm(fgir.to_torch(dense_graph, seed=1), 2)
    torch.save(dense.state_dict(), tmp_path / "dense.pt")
    (tmp_path / "pruned.yaml").write_text(masked_spec(name, masks))
    graph = fgir.compile(tmp_path / "pruned.yaml", input=INPUT)
    assert graph.meta["params"] < 0.7 * dense_graph.meta["params"] and graph.meta["dense_params"] == \
        dense_graph.meta["params"]
    pruned = fgir.to_torch(graph).eval()
    zero_pruned_inputs(dense, groups, masks, dense_graph)
    x = torch.randn(2, *dense_graph.meta["input"], generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        want, got = dense(x), pruned(x)
    assert (got - want).abs().max().item() <= 1e-5
    session = ort.InferenceSession(fgir.to_onnx(graph, weights=pruned).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    onnx_out = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    assert np.abs(onnx_out - want.numpy()).max() <= 1e-4


def test_summary_lists_each_groups_consumers_at_their_offsets():
    result = run_fgir("summary", "examples/densenet121.yaml", "--groups", "--format", "json")
    assert result.returncode == 0, result.stderr
    groups = {g["name"]: g for g in json.loads(result.stdout)}
    stem = groups["features.conv0"]
    assert (stem["width"], stem["dense_width"], stem["producers"]) == (64, 64, ["features.conv0"])
    assert stem["consumers"][:2] == [{"layer": "features.denseblock1.denselayer1.conv1", "offset": 0},
                                     {"layer": "features.denseblock1.denselayer2.conv1", "offset": 0}]
    growth = groups["features.denseblock2.denselayer3.conv2"]
    assert {"layer": "features.denseblock2.denselayer4.conv1", "offset": 192} in growth["consumers"]
    assert growth["consumers"][-1] == {"layer": "features.transition2.conv", "offset": 192}


def test_summary_of_a_pruned_spec_shows_pruned_and_dense_widths():
    result = run_fgir("summary", "examples/prune_resnet20.yaml", "--groups", "--format", "json")
    groups = {g["name"]: g for g in json.loads(result.stdout)}
    assert (groups["layer3.0.conv2"]["width"], groups["layer3.0.conv2"]["dense_width"]) == (60, 64)
    assert groups["conv1"]["consumers"][0] == {"layer": "layer1.0.conv1", "offset": 0}
