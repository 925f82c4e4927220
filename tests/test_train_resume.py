"""Long runs you can trust: a training run killed with SIGKILL mid-epoch and resumed ends with the same
weights and the same metrics.jsonl as one never interrupted (same seed, on the CPU, one thread)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import EXAMPLES, ROOT
from test_train import one_thread_env, train_cli

TIMING = ("images_per_s", "seconds")


@pytest.fixture(scope="module")
def digits_npz(tmp_path_factory):
    from sklearn.datasets import load_digits

    digits = load_digits()
    path = tmp_path_factory.mktemp("data") / "digits.npz"
    np.savez(path, x=(digits.images * 255 / 16).round().astype(np.uint8), y=digits.target)
    return path


def args(data, out, *extra: str) -> list[str]:
    # augmentation and a step schedule with warm-up: every generator and the scheduler matter
    return [str(EXAMPLES / "resnet20_cifar.yaml"), "-o", str(out), "--data", str(data), "--input", "3x8x8",
            "--epochs", "3", "--batch-size", "64", "--augment", "--schedule", "step", "--step-size", "1",
            "--warmup", "0.5", "--log-every", "1", *extra]


def killed_at(line_start: str, argv: list[str]) -> None:
    """Start `fgir train`, SIGKILL it once it prints a line starting with ``line_start``."""
    proc = subprocess.Popen([sys.executable, "-m", "fgir", "train", *argv], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, cwd=ROOT, env=one_thread_env())
    try:
        for line in proc.stderr:
            if line.startswith(line_start):
                proc.send_signal(signal.SIGKILL)
                break
        assert proc.wait(timeout=120) == -signal.SIGKILL, "the run ended before it could be killed"
    finally:
        proc.kill()
        proc.stderr.close()


def weights(path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


def rows(folder) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k not in TIMING}
            for line in (folder / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def uninterrupted(digits_npz, tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "m.pt"
    done = train_cli(*args(digits_npz, out))
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.parametrize("save_every, kill_line, resumed_at", [
    ("5", "epoch 2/3 step 13/23 ", 35),   # mid-epoch checkpoints: the data order and position in it
    ("0", "epoch 2/3 step 13/23 ", 23),   # the end-of-epoch checkpoint only
])
def test_kill_9_mid_epoch_then_resume_gives_the_same_weights(digits_npz, uninterrupted, tmp_path, save_every,
                                                             kill_line, resumed_at):
    out = tmp_path / "m.pt"
    argv = args(digits_npz, out, "--save-every", save_every)
    killed_at(kill_line, argv)
    assert not out.exists() and (tmp_path / "m.train" / "checkpoint.pt").exists()
    resumed = train_cli(*argv, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f", resumed at step {resumed_at} " in resumed.stdout
    want, got = weights(uninterrupted), weights(out)
    assert list(got) == list(want)
    assert all(torch.equal(got[k], want[k]) for k in want), [k for k in want if not torch.equal(got[k], want[k])]
    assert rows(tmp_path / "m.train") == rows(uninterrupted.parent / "m.train")
    assert [r["epoch"] for r in rows(tmp_path / "m.train") if r["kind"] == "epoch"] == [1, 2, 3]


def test_resume_refuses_another_run_and_a_missing_checkpoint(digits_npz, uninterrupted, tmp_path):
    changed = train_cli(*args(digits_npz, uninterrupted, "--lr", "0.1", "--resume"))
    checkpoint = uninterrupted.parent / "m.train" / "checkpoint.pt"
    assert (changed.returncode, changed.stderr) == (2, (
        f"{checkpoint}: error: is the checkpoint of another run: it differs in lr (was None, now 0.1)\n"
        f"{checkpoint}: note: resume with the same spec, data and settings, or remove the folder to start over\n"))
    again = train_cli(*args(digits_npz, uninterrupted))
    assert (again.returncode, again.stderr) == (2, (
        f"{checkpoint}: error: holds the checkpoint of an earlier run\n"
        f"{checkpoint}: note: --resume continues it; remove the folder to start over\n"))
    missing = train_cli(*args(digits_npz, tmp_path / "new.pt", "--resume"))
    assert (missing.returncode, missing.stderr) == (2, (
        f"fgir train: error: --resume: nothing to resume: {tmp_path / 'new.train' / 'checkpoint.pt'} "
        f"does not exist\n"))
