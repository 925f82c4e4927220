"""fgir.prune: importance criteria over channel groups → masks, by ratio (local, global) or to a budget."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

import fgir
from conftest import EXAMPLES
from fgir.diagnostics import FgirError
from fgir.ir.channel_groups import channel_groups
from fgir.prune import PruneOptionError, kept_count
from fgir.testing.weights import randomize_batch_norm
from prune_oracle import zero_pruned_inputs

R20 = EXAMPLES / "resnet20_cifar.yaml"
R50 = EXAMPLES / "resnet50.yaml"

TINY = """\
search_space:
  modules: [conv, bn, relu, conv2, bn2, relu2, pool, flat, fc]
  conv: {type: Conv2d, in_channels: 3, out_channels: 4, kernel_size: 3, padding: 1, bias: false}
  bn: {type: BatchNorm2d, num_features: 4}
  relu: {type: ReLU}
  conv2: {type: Conv2d, in_channels: 4, out_channels: 2, kernel_size: 1, bias: false}
  bn2: {type: BatchNorm2d, num_features: 2}
  relu2: {type: ReLU}
  pool: {type: AdaptiveAvgPool2d, output_size: 1}
  flat: {type: Flatten}
  fc: {type: Linear, out_features: 10}
"""


@pytest.fixture(scope="module")
def r20_weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("r20") / "dense.pt"
    model = randomize_batch_norm(fgir.to_torch(R20, seed=0), 1)
    torch.save(model.state_dict(), path)
    return path, model


def test_resnet20_half_the_channels_of_every_group(r20_weights):
    path, _ = r20_weights
    result = fgir.prune(R20, path, ratio=0.5, criterion="l1")
    assert result.params == 68_786 and result.dense_params == 272_474
    assert all(kept == dense // 2 for kept, dense in result.widths.values())
    assert result.compile().meta["params"] == 68_786


def test_resnet50_half_the_channels_of_every_group(tmp_path):
    model = randomize_batch_norm(fgir.to_torch(R50, seed=0), 1)
    result = fgir.prune(R50, model, ratio=0.5)
    assert result.params == 5_902_890 and len(result.masks) == 37     # every group; the classifier kept
    assert (result.params, result.macs) == tuple(result.compile().meta[k] for k in ("params", "macs"))


def _tiny_weights(seed: int) -> dict[str, np.ndarray]:
    graph = fgir.compile(TINY, input="3x8x8")
    state = fgir.to_torch(graph, seed=seed).state_dict()
    return {k: v.numpy().copy() for k, v in state.items()}


@pytest.mark.parametrize("criterion,power", [("l1", 1), ("l2", 2)])
def test_a_channel_is_scored_over_its_filter_its_bn_scale_and_its_consumers_inputs(criterion, power):
    state = _tiny_weights(3)
    state["bn.weight"] = np.array([0.5, -2.0, 1.0, 0.1], dtype=np.float32)
    score = [(np.abs(state["conv.weight"][c]) ** power).sum() + abs(state["bn.weight"][c]) ** power
             + (np.abs(state["conv2.weight"][:, c]) ** power).sum() for c in range(4)]
    want = sorted(sorted(range(4), key=lambda c: score[c])[2:])
    result = fgir.prune(TINY, state, ratio=0.5, criterion=criterion, input="3x8x8")
    assert result.kept["conv"] == want
    # conv2's group: its two filters, its BN scales and the Linear's columns
    score2 = [(np.abs(state["conv2.weight"][c]) ** power).sum() + abs(state["bn2.weight"][c]) ** power
              + (np.abs(state["fc.weight"][:, c]) ** power).sum() for c in range(2)]
    assert result.kept["conv2"] == [int(np.argmax(score2))]


def test_bn_scale_ranks_by_batch_norm_scales_alone():
    state = _tiny_weights(4)
    state["bn.weight"] = np.array([0.3, -0.9, 0.05, 0.6], dtype=np.float32)
    result = fgir.prune(TINY, state, ratio=0.5, criterion="bn_scale", input="3x8x8")
    assert result.kept["conv"] == [1, 3]


def test_random_is_seeded():
    state = _tiny_weights(5)
    runs = [fgir.prune(R20, fgir.to_torch(R20, seed=0), ratio=0.5, criterion="random", seed=s).kept
            for s in (1, 1, 2)]
    assert runs[0] == runs[1] != runs[2]
    assert fgir.prune(TINY, state, ratio=0.5, criterion="random", input="3x8x8").widths["conv"] == (2, 4)


def test_global_pruning_ranks_normalized_scores_across_groups(r20_weights):
    path, _ = r20_weights
    result = fgir.prune(R20, path, ratio=0.5, global_pruning=True)
    total = sum(dense for _, dense in result.widths.values())
    assert sum(kept for kept, _ in result.widths.values()) == int(total * 0.5)
    assert len({kept / dense for kept, dense in result.widths.values()}) > 1     # groups differ
    capped = fgir.prune(R20, path, ratio=0.5, global_pruning=True, max_ratio=0.6)
    assert all(kept >= kept_count(dense, 0.6) for kept, dense in capped.widths.values())


def test_round_to_keep_and_rounding_as_torch_pruning(r20_weights):
    path, _ = r20_weights
    assert [kept_count(w, r) for w, r in ((64, 0.5), (10, 0.7), (10, 0.9), (16, 0.99))] == [32, 3, 1, 1]
    result = fgir.prune(R20, path, ratio=0.3, round_to=4, keep=["layer3.0.conv2"])
    assert result.widths["layer1.0.conv1"] == (8, 16)            # int(16 * 0.7) = 11 → 8
    assert result.widths["layer2.0.conv1"] == (20, 32)           # int(32 * 0.7) = 22 → 20
    assert result.widths["layer3.0.conv2"] == (64, 64)
    assert "layer3.0.conv2" not in result.masks


@pytest.mark.parametrize("metric,target,scope", [("macs", 20_000_000, False), ("macs", 12_345_678, True),
                                                 ("params", 100_000, False), ("params", 150_000, True)])
def test_budgets_are_met_to_the_nearest_channel(r20_weights, metric, target, scope):
    path, _ = r20_weights
    result = fgir.prune(R20, path, global_pruning=scope, **{f"target_{metric}": target})
    compiled = result.compile().meta[metric]
    index = 0 if metric == "params" else 1
    assert compiled == (result.params, result.macs)[index] <= target < result.one_channel_more[index]


def test_a_budget_below_the_smallest_network(r20_weights):
    path, _ = r20_weights
    with pytest.raises(PruneOptionError) as info:
        fgir.prune(R20, path, target_macs=1000)
    assert info.value.option == "target_macs"
    assert info.value.message == ("the target of 1,000 MACs is below the smallest network this pruning "
                                  "reaches, 100,554 MACs (every group at its fewest channels)")


@pytest.mark.parametrize("name", ["mobilenet_v2.yaml", "mobilenet_v3_large.yaml", "efficientnet_b0.yaml",
                                  "densenet121.yaml", "resnext50_32x4d.yaml"])
def test_every_family_pruned_equals_its_zeroed_dense_network(tmp_path, name):
    dense = randomize_batch_norm(fgir.to_torch(fgir.compile(EXAMPLES / name, input="3x64x64"), seed=1), 2)
    result = fgir.prune(EXAMPLES / name, dense, ratio=0.4, input="3x64x64")
    assert result.params < 0.8 * result.dense_params
    written = result.write(tmp_path / "pruned.yaml")
    pruned = fgir.to_torch(fgir.compile(written[0], input="3x64x64")).eval()
    groups = channel_groups(result.subject.dense)
    zero_pruned_inputs(dense, groups, result.masks, result.subject.dense)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert (pruned(x) - dense(x)).abs().max().item() <= 1e-4


def test_the_written_spec_and_checkpoints(tmp_path, r20_weights):
    path, dense = r20_weights
    result = fgir.prune(R20, path, ratio=0.5)
    written = result.write(tmp_path / "pruned.yaml", weights_out=tmp_path / "pruned.pt")
    assert written == [tmp_path / "pruned.yaml", tmp_path / "pruned.pt"]   # init_model_file: the weights given
    text = (tmp_path / "pruned.yaml").read_text()
    assert f"    init_model_file: {os.path.relpath(path, tmp_path)}\n" in text
    assert text.splitlines()[1] == "# 68,786 of 272,474 parameters (0.252), 10,314,048 of 40,813,184 MACs (0.253)"
    model = fgir.load_model(tmp_path / "pruned.pt").eval()
    zero_pruned_inputs(dense, channel_groups(result.subject.dense), result.masks, result.subject.dense)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert (model(x) - dense.eval()(x)).abs().max().item() <= 1e-5


def test_weights_given_as_a_module_are_written_beside_the_spec(tmp_path):
    result = fgir.prune(R20, fgir.to_torch(R20, seed=2), ratio=0.25)
    written = result.write(tmp_path / "p.yaml")
    assert written == [tmp_path / "p.yaml", tmp_path / "p.init.pt"]
    assert "init_model_file: p.init.pt" in (tmp_path / "p.yaml").read_text()
    assert fgir.to_torch(written[0]) is not None


def test_pruning_again_chooses_among_the_kept_channels(tmp_path, r20_weights):
    path, dense = r20_weights
    first = fgir.prune(R20, path, ratio=0.5)
    first.write(tmp_path / "p1.yaml", weights_out=tmp_path / "p1.pt")
    tuned = fgir.load_model(tmp_path / "p1.pt")
    with torch.no_grad():                      # stands in for fine-tuning: the pruned model's weights move
        for p in tuned.parameters():
            p.mul_(1 + 0.5 * torch.rand(p.shape, generator=torch.Generator().manual_seed(p.numel())))
    fgir.save_model(tuned, tmp_path / "tuned.pt")
    second = fgir.prune(tmp_path / "p1.yaml", tmp_path / "tuned.pt", ratio=0.5)
    assert second.subject.pruned_before
    for group, channels in second.kept.items():
        assert set(channels) <= set(first.kept[group])
        assert len(channels) == kept_count(len(first.kept[group]), 0.5)
    written = second.write(tmp_path / "p2.yaml", weights_out=tmp_path / "p2.pt")
    assert written == [tmp_path / "p2.yaml", tmp_path / "p2.init.pt", tmp_path / "p2.pt"]
    masks = json.loads(json.dumps(second.masks))
    assert all(len(row) == dense_width for row, (_, dense_width) in
               zip(masks.values(), (second.widths[g] for g in masks)))          # rows stay dense-length
    # the twice-pruned network is the tuned once-pruned one with the newly pruned channels zeroed
    laid_out = fgir.to_torch(R20).eval()
    laid_out.load_state_dict(torch.load(tmp_path / "p2.init.pt", weights_only=True))
    zero_pruned_inputs(laid_out, channel_groups(second.subject.dense), second.masks, second.subject.dense)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        twice = fgir.load_model(tmp_path / "p2.pt").eval()(x)
        assert (twice - laid_out(x)).abs().max().item() <= 1e-5


def test_scores_ignore_what_was_pruned_before(tmp_path, r20_weights):
    path, _ = r20_weights
    fgir.prune(R20, path, ratio=0.5).write(tmp_path / "p1.yaml", weights_out=tmp_path / "p1.pt")
    from_dense = fgir.prune(tmp_path / "p1.yaml", path, ratio=0.5)
    from_pruned = fgir.prune(tmp_path / "p1.yaml", tmp_path / "p1.pt", ratio=0.5)
    assert from_dense.kept == from_pruned.kept


@pytest.mark.parametrize("kwargs,option,message", [
    ({"ratio": 1.0}, "ratio", "a pruning ratio is the fraction of channels removed, from 0 up to (not "
                              "including) 1; got 1 (1 would remove every channel)"),
    ({"ratio": -0.1}, "ratio", "a pruning ratio is the fraction of channels removed, from 0 up to (not "
                               "including) 1; got -0.1"),
    ({"ratio": 0.5, "criterion": "l11"}, "criterion", "unknown criterion 'l11'"),
    ({"ratio": 0.5, "keep": ["layer1.0.conv"]}, "keep", "no channel group 'layer1.0.conv'"),
    ({"ratio": 0.5, "target_macs": 10}, "target_macs", "give a ratio or one target, not both"),
    ({}, "ratio", "say how much to prune: a ratio, a MACs target or a params target"),
])
def test_bad_options(r20_weights, kwargs, option, message):
    with pytest.raises(PruneOptionError) as info:
        fgir.prune(R20, r20_weights[0], **kwargs)
    assert (info.value.option, info.value.message) == (option, message)


def test_bn_scale_where_a_group_has_no_batch_norm(tmp_path):
    spec = tmp_path / "nobn.yaml"
    spec.write_text(TINY.replace("  bn: {type: BatchNorm2d, num_features: 4}\n", "").replace(
        "modules: [conv, bn, relu,", "modules: [conv, relu,"))
    state = {k: v for k, v in _tiny_weights(0).items() if not k.startswith("bn.")}
    with pytest.raises(FgirError) as info:
        fgir.prune(spec, state, ratio=0.5, criterion="bn_scale", input="3x8x8")
    assert [(d.loc.line, d.loc.col, d.message) for d in info.value.diagnostics] == [
        (3, 9, "criterion bn_scale scores a channel group by its batch norms' scales, but group 'conv' "
               "has no batch norm")]
    assert info.value.diagnostics[0].hint == "choose l1 or l2, or keep the group whole (--keep conv)"
    kept_whole = fgir.prune(spec, state, ratio=0.5, criterion="bn_scale", keep=["conv"], input="3x8x8")
    assert kept_whole.widths == {"conv": (4, 4), "conv2": (1, 2)}


def test_weights_of_another_network(tmp_path):
    torch.save(fgir.to_torch(R20, seed=0).state_dict(), tmp_path / "r20.pt")
    with pytest.raises(FgirError) as info:
        fgir.prune(R50, tmp_path / "r20.pt", ratio=0.5)
    assert len(info.value.diagnostics) == 1
    d = info.value.diagnostics[0]
    assert (d.loc.file, d.message) == (str(tmp_path / "r20.pt"), "these are not the weights of this network: "
                                       "'conv1.weight' has shape (16, 3, 3, 3), but the network needs "
                                       "(64, 3, 7, 7)")
    assert d.hint == "265 more tensors differ; the weights must be the dense network's"


def test_a_spec_written_at_pruned_widths_cannot_be_pruned_further(tmp_path):
    with pytest.raises(FgirError) as info:
        fgir.prune(EXAMPLES / "prune_resnet20.yaml", fgir.to_torch(R20, seed=0), ratio=0.5)
    assert info.value.message == ("pruning further needs the network written at its dense widths, but "
                                  "'layer1.0.conv1' is written with 14 channels where its mask is 16 long")
    assert (info.value.line, info.value.spec_path) == (13, "resnet")   # the ResNet that writes it


def test_importing_fgir_does_not_import_numpy_for_pruning():
    import subprocess
    import sys

    code = "import sys, fgir; print('fgir.prune.importance' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]

