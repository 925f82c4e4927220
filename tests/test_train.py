"""fgir train on the user's data: ResNet-20 on digits from the command line, an image folder, the API.

The data sets are written by the tests: scikit-learn's bundled digits as an
``.npz`` (uint8, 16x16 so that nothing is resized) and as a folder of PNGs
holding the same pixels in the same order, so both train to the same weights.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import fgir
from conftest import EXAMPLES, ROOT, run_fgir

SIZE = 16
EPOCH_KEYS = ["kind", "epoch", "step", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "images_per_s",
              "seconds"]


def digits_pixels() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 digits as uint8 16x16 images, ordered by class (the order an image folder lists them)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.nn.functional.interpolate(torch.tensor(digits.images[:, None] / 16.0), size=(SIZE, SIZE),
                                        mode="bilinear", align_corners=False)
    pixels = (x[:, 0] * 255).round().clamp(0, 255).to(torch.uint8).numpy()
    order = np.argsort(digits.target, kind="stable")
    return pixels[order], digits.target[order]


def one_thread_env() -> dict[str, str]:
    """A run on one thread: two on a machine whose cores other processes hold spin-wait 30x slower."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    env.pop("FGIR_DEBUG", None)
    return env


def train_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fgir", "train", *args], capture_output=True, text=True, cwd=ROOT,
                          env=one_thread_env(), timeout=300)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def digits_npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "digits.npz"
    x, y = digits_pixels()
    np.savez(path, x=x, y=y)
    return path


@pytest.fixture(scope="module")
def digits_folder(tmp_path_factory):
    from PIL import Image

    root = tmp_path_factory.mktemp("folder") / "digits"
    x, y = digits_pixels()
    for i, (image, label) in enumerate(zip(x, y)):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image, mode="L").save(folder / f"{i:04d}.png")
    return root


def test_cli_trains_resnet20_on_digits_to_95_percent(digits_npz, tmp_path):
    out = tmp_path / "r20.pt"
    result = train_cli(str(EXAMPLES / "resnet20_cifar.yaml"), "-o", str(out), "--data", str(digits_npz),
                       "--input", f"3x{SIZE}x{SIZE}", "--epochs", "3", "--batch-size", "32")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (tmp_path / "r20.train" / "metrics.jsonl").read_text().splitlines()]
    assert [(r["kind"], r["epoch"], r["step"]) for r in rows] == [("epoch", 1, 45), ("epoch", 2, 90),
                                                                  ("epoch", 3, 135)]
    assert all(list(r) == EPOCH_KEYS for r in rows)
    assert rows[-1]["lr"] == 0.0 and rows[0]["lr"] == pytest.approx(0.0375)   # cosine from 0.05, per step
    assert rows[-1]["val_accuracy"] >= 0.95, rows
    assert rows[-1]["loss"] < rows[0]["loss"]
    assert result.stdout == (f"wrote {out}: val accuracy {rows[-1]['val_accuracy']:.4f} after 3 epochs "
                             f"(metrics in {tmp_path / 'r20.train'}/metrics.jsonl)\n")
    # not a terminal: a line per epoch (a step line only every 30 s or every --log-every steps)
    lines = result.stderr.splitlines()
    assert [line.split("  ")[0] for line in lines if " step " not in line] == ["epoch 1/3", "epoch 2/3",
                                                                                "epoch 3/3"], lines
    assert sum(" step " in line for line in lines) <= 2, lines   # 135 steps: not one every 4 (the old 33)
    assert sum(line.startswith("epoch 3/3  loss ") for line in lines) == 1
    # the checkpoint is fgir's: load_model and compile --weights read it, at the input it was trained at
    model = fgir.load_model(out).eval()
    x = torch.from_numpy(np.load(digits_npz)["x"][:64, None].astype(np.float32) / 255.0)
    x = ((x - 0.5) / 0.25).expand(-1, 3, -1, -1)
    assert (model(x).argmax(1).numpy() == np.load(digits_npz)["y"][:64]).mean() >= 0.9
    onnx = run_fgir("compile", str(EXAMPLES / "resnet20_cifar.yaml"), "--input", f"3x{SIZE}x{SIZE}",
                    "--weights", str(out), "-o", str(tmp_path / "r20.onnx"))
    assert onnx.returncode == 0, onnx.stderr


def test_an_image_folder_of_the_same_digits_trains_to_the_same_weights(digits_npz, digits_folder):
    runs = [fgir.train(EXAMPLES / "resnet20_cifar.yaml", data=str(source), input=f"3x{SIZE}x{SIZE}",
                       epochs=1, batch_size=32, progress=None) for source in (digits_npz, digits_folder)]
    from_npz, from_folder = runs
    assert from_folder.val_accuracy == from_npz.val_accuracy > 0.8
    for key, value in from_npz.model.state_dict().items():
        assert torch.equal(value, from_folder.model.state_dict()[key]), key


def test_the_spec_carries_its_recipe_and_input(digits_npz, tmp_path, write_spec):
    spec = write_spec(f"""
        input: 3x8x8
        trainer: {{epochs: 2, batch_size: 64, optimizer: {{type: AdamW, params: {{lr: 0.003}}}},
                  schedule: constant, seed: 3}}
        dataset: {{data: {digits_npz.name}, val_fraction: 0.25}}
        search_space:
          modules: [net]
          net: {{type: ResNet, depth: 20}}
    """)
    (tmp_path / digits_npz.name).write_bytes(digits_npz.read_bytes())   # relative to the spec
    result = fgir.train(spec, tmp_path / "m.pt", progress=None, epochs=1)   # an argument overrides the spec
    assert (result.recipe.epochs, result.recipe.optimizer, result.recipe.learning_rate, result.recipe.seed) == \
        (1, "adamw", 0.003, 3)
    assert [r["lr"] for r in result.history] == [0.003]
    assert result.model.fgir_input == [3, 8, 8]
    assert fgir.load_model(tmp_path / "m.pt").fgir_input == [3, 8, 8]
    assert result.history[0]["step"] == 22          # 1,348 training images (a quarter held out): 21 x 64 + 4


def test_bn_sparsity_shrinks_batchnorm_scales(digits_npz):
    rows = [fgir.train(EXAMPLES / "resnet20_cifar.yaml", data=str(digits_npz), input="3x8x8", epochs=1,
                       bn_sparsity=lam, progress=None).history[-1] for lam in (1e-6, 0.1)]
    assert rows[1]["bn_l1"] < 0.9 * rows[0]["bn_l1"], rows
