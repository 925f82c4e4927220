"""``fgir prune --verify-speed``: the dense and the pruned model measured in ONNX Runtime, beside the MACs ratio;
a warning (exit 0) when the pruned one is not faster."""

from __future__ import annotations

import importlib
import re

import pytest
import torch

import fgir
from conftest import EXAMPLES
from fgir.cli import main
from fgir.testing.weights import randomize_batch_norm

speed = importlib.import_module("fgir.prune.speed")   # `fgir.prune` is also the function fgir exports
R20 = str(EXAMPLES / "resnet20_cifar.yaml")
MACS = "(MACs 0.253: 3.96x fewer)"     # ResNet-20 pruned by half (see tests/test_prune_cli.py)


@pytest.fixture(scope="module")
def dense(tmp_path_factory):
    path = tmp_path_factory.mktemp("speed") / "dense.pt"
    torch.save(randomize_batch_norm(fgir.to_torch(R20, seed=0), 1).state_dict(), path)
    return path


def test_verify_speed_measures_both_models(dense, tmp_path, capsys):
    status = main(["prune", R20, "--weights", str(dense), "--ratio", "0.5", "-o", str(tmp_path / "pruned.yaml"),
                   "--verify-speed"])
    out, err = capsys.readouterr()
    assert status == 0, err
    line = out.splitlines()[2]
    found = re.fullmatch(r"  measured: dense ([0-9.]+) ms, pruned ([0-9.]+) ms: ([0-9.]+)x faster " + re.escape(MACS),
                         line)
    assert found, line
    dense_ms, pruned_ms, speedup = map(float, found.groups())
    # The speedup is computed before the times are printed to 3 decimals, so it lies within the ratios
    # that the printed times' rounding intervals allow (a sub-millisecond time rounds by up to 0.3%).
    lowest, highest = (dense_ms - 5e-4) / (pruned_ms + 5e-4), (dense_ms + 5e-4) / (pruned_ms - 5e-4)
    assert lowest - 0.005 <= speedup <= highest + 0.005
    assert pruned_ms < dense_ms and "warning" not in err   # a quarter of the MACs: faster


def test_not_faster_warns_and_exits_0(dense, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(speed, "measure_interleaved", lambda graphs, settings, rounds: [1.0, 1.25])
    status = main(["prune", R20, "--weights", str(dense), "--ratio", "0.5", "-o", str(tmp_path / "p.yaml"),
                   "--verify-speed"])
    out, err = capsys.readouterr()
    assert status == 0
    assert out.splitlines()[2] == f"  measured: dense 1.000 ms, pruned 1.250 ms: 0.80x faster {MACS}"
    assert err.splitlines() == ["fgir prune: warning: the pruned model is not faster here (0.80x for 3.96x fewer "
                                "MACs); try --round-to 8 or 16"]


def test_python_api_keeps_the_check(dense):
    result = fgir.prune(R20, dense, ratio=0.5)
    assert result.speed is None
    check = result.verify_speed(timer=lambda graphs, settings, rounds: [2.0, 0.5])
    assert result.speed is check and check.speedup == 4.0 and check.warning() is None
    assert check.macs_ratio == result.macs / result.dense_macs == 10_314_048 / 40_813_184
