"""``fgir prune`` from the command line: the workflow, what it prints and writes, and one error per bad input."""

from __future__ import annotations

import json

import torch

import fgir
from conftest import EXAMPLES, run_fgir
from fgir.testing.weights import randomize_batch_norm

R20 = str(EXAMPLES / "resnet20_cifar.yaml")


def _dense(tmp_path):
    torch.save(randomize_batch_norm(fgir.to_torch(R20, seed=0), 1).state_dict(), tmp_path / "dense.pt")


def test_prune_then_summary_then_prune_again(tmp_path):
    _dense(tmp_path)
    result = run_fgir("prune", R20, "--weights", "dense.pt", "--ratio", "0.5", "-o", "pruned.yaml",
                      "--weights-out", "pruned.pt", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{R20}: criterion l1, ratio 0.5 (local)",
        "  parameters 272,474 → 68,786 (0.252), MACs 40,813,184 → 10,314,048 (0.253); 12 of 12 channel "
        "groups pruned",
        "wrote pruned.yaml, pruned.pt",
        "(each group before and after: fgir summary pruned.yaml --groups)"]
    summary = run_fgir("summary", "pruned.yaml", "--groups", "--format", "json", cwd=tmp_path)
    groups = {g["name"]: (g["width"], g["dense_width"]) for g in json.loads(summary.stdout)}
    assert groups["conv1"] == (8, 16) and groups["layer3.0.conv2"] == (32, 64) and len(groups) == 12
    assert fgir.load_model(tmp_path / "pruned.pt") is not None
    again = run_fgir("prune", "pruned.yaml", "--weights", "pruned.pt", "--target-macs", "5000000", "--global",
                     "-o", "again.yaml", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[2] == "wrote again.yaml, again.init.pt"
    assert fgir.compile(tmp_path / "again.yaml").meta["macs"] <= 5_000_000


def test_ratio_outside_zero_to_one(tmp_path):
    result = run_fgir("prune", R20, "--weights", "dense.pt", "--ratio", "1.5", "-o", "p.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == ("fgir prune: error: argument --ratio: a pruning ratio is the "
                                              "fraction of channels removed, from 0 up to (not including) 1; "
                                              "got 1.5")


def test_bn_scale_without_batch_norms(tmp_path):
    spec = tmp_path / "nobn.yaml"
    spec.write_text("search_space:\n  modules: [conv, relu, pool, flat, fc]\n"
                    "  conv: {type: Conv2d, in_channels: 3, out_channels: 8, kernel_size: 3}\n"
                    "  relu: {type: ReLU}\n  pool: {type: AdaptiveAvgPool2d, output_size: 1}\n"
                    "  flat: {type: Flatten}\n  fc: {type: Linear, out_features: 10}\n")
    torch.save(fgir.to_torch(fgir.compile(spec, input="3x8x8"), seed=0).state_dict(), tmp_path / "w.pt")
    result = run_fgir("prune", "nobn.yaml", "--weights", "w.pt", "--ratio", "0.5", "--criterion", "bn_scale",
                      "--input", "3x8x8", "-o", "p.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "nobn.yaml:3:9: error: conv: criterion bn_scale scores a channel group by its batch norms' scales, "
        "but group 'conv' has no batch norm",
        "nobn.yaml:3:9: note: choose l1 or l2, or keep the group whole (--keep conv)",
        "fgir: 1 error"]


def test_target_below_the_smallest_network(tmp_path):
    _dense(tmp_path)
    result = run_fgir("prune", R20, "--weights", "dense.pt", "--target-params", "100", "-o", "p.yaml",
                      cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "fgir: error: --target-params: the target of 100 parameters is below the smallest network this "
        "pruning reaches, 253 parameters (every group at its fewest channels)"]
    assert not (tmp_path / "p.yaml").exists()


def test_weights_of_another_network(tmp_path):
    torch.save(fgir.to_torch(str(EXAMPLES / "resnet18.yaml"), seed=0).state_dict(), tmp_path / "r18.pt")
    result = run_fgir("prune", R20, "--weights", "r18.pt", "--ratio", "0.5", "-o", "p.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "r18.pt: error: these are not the weights of this network: 'conv1.weight' has shape (64, 3, 7, 7), "
        "but the network needs (16, 3, 3, 3)",
        "r18.pt: note: 105 more tensors differ; the weights must be the dense network's",
        "fgir: 1 error"]


def test_a_pickled_module_as_weights_gets_fgirs_words_not_torchs_advice(tmp_path):
    torch.save(torch.nn.Linear(2, 2), tmp_path / "whole.pt")   # the module, not its state_dict
    result = run_fgir("prune", R20, "--weights", "whole.pt", "--ratio", "0.5", "-o", "p.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "whole.pt: error: not a loadable weights-only checkpoint: it holds Python objects besides tensors (a "
        "whole module saved with torch.save(model)?); fgir reads weights only, never running pickled code",
        "whole.pt: note: save the weights alone: torch.save(model.state_dict(), path)"]


def test_no_weights_and_no_init_model_file(tmp_path):
    result = run_fgir("prune", R20, "--ratio", "0.5", "-o", str(tmp_path / "p.yaml"))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "fgir: error: --weights: give the trained weights to score the channels by (the spec's Prune "
        "process names no init_model_file)"]
