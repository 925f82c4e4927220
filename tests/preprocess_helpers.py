"""One ResNet-20 trained on digits in [0, 1], shared by tests/test_preprocess.py and tests/test_predict.py.

scikit-learn's digits as float images in [0, 1] (grey, replicated to 3x8x8).  A fixed
30% of them (``test.npz``) is never given to ``fgir train``; the rest (``train.npz``)
is, and the trainer holds out its own fifth for validation (``val.npz`` holds those
very images, raw, rebuilt with the trainer's split).  Trained once per process.
"""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from conftest import EXAMPLES

EPOCHS = 10
SIZE = 8
UNSEEN = 540           # 30% of the 1,797 digits, never given to fgir train


@dataclass
class Trained:
    folder: Path
    model: Path            # the checkpoint fgir train wrote
    val_accuracy: float    # what training reported, on its own held-out fifth
    x_val: np.ndarray      # that fifth, raw (float32 in [0, 1])
    y_val: np.ndarray
    x_test: np.ndarray     # images fgir train never saw
    y_test: np.ndarray


def digits_in_unit_range() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = np.repeat((digits.images[:, None] / 16.0).astype(np.float32), 3, axis=1)
    return x, digits.target.astype(np.int64)


@functools.lru_cache(maxsize=1)
def trained() -> Trained:
    import torch

    import fgir
    from fgir.data.sources import split_indices

    folder = Path(tempfile.mkdtemp(prefix="fgir-preprocess-"))
    x, y = digits_in_unit_range()
    order = np.random.default_rng(0).permutation(len(y))
    test, train = order[:UNSEEN], order[UNSEEN:]
    np.savez(folder / "train.npz", x=x[train], y=y[train])
    np.savez(folder / "test.npz", x=x[test], y=y[test])
    _, val = split_indices(y[train], 0.2)            # the trainer's validation split, by its own function
    np.savez(folder / "val.npz", x=x[train][val], y=y[train][val])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = fgir.train(EXAMPLES / "resnet20_cifar.yaml", folder / "m.pt", data=str(folder / "train.npz"),
                            input=f"3x{SIZE}x{SIZE}", epochs=EPOCHS, batch_size=32, optimizer="adamw", lr=0.003,
                            progress=None)
    finally:
        torch.set_num_threads(threads)
    return Trained(folder, folder / "m.pt", result.val_accuracy, x[train][val], y[train][val], x[test], y[test])
