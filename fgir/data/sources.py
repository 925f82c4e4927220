"""The data sets fgir trains, searches and calibrates on: an image folder, an ``.npz``, or the digits.

A *source* is a path (a folder of class subfolders, :mod:`.folder`; a ``.npz``
with ``x`` and ``y``, :mod:`.arrays`) or ``digits``, scikit-learn's bundled
8x8 digits (1,797 images, the demo set; needs scikit-learn).  Whatever the
source, the images come out the way the network takes them: resized
(bilinear) to its ``C x H x W`` input, grey replicated to its channels, scaled
to [0, 1] and normalised per channel, ``(x - mean) / std`` (default mean 0.5,
std 0.25, so [0, 1] becomes [-2, 2]; a spec's ``dataset:`` section may set
both).  Labels are checked against the network's outputs.  Everything is held
in memory as float32 at the network's input size (50,000 CIFAR images take
600 MB).

Example:
    >>> data = load_images("digits", (3, 16, 16), num_classes=10)
    >>> tuple(data.x.shape), round(float(data.x.min()), 2), data.classes[:3]
    ((1797, 3, 16, 16), -2.0, ['0', '1', '2'])
    >>> train, val = split(data, 0.2)
    >>> len(train), len(val)
    (1438, 359)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from fgir.data.arrays import read_npz
from fgir.data.errors import data_error
from fgir.data.preprocess import DEFAULT_MEAN, DEFAULT_STD, DEFAULT_VAL_FRACTION, Preprocess, per_channel

DIGITS = "digits"
CALIBRATION_BATCH = 32


@dataclass
class ImageSet:
    """Images ``x`` (N x C x H x W float32 tensor, normalised) and labels ``y`` (int64), and where from."""

    x: Any
    y: Any
    source: str
    classes: list[str] | None = None

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, indices: Any) -> "ImageSet":
        import torch

        idx = torch.as_tensor(np.asarray(indices, dtype=np.int64))
        return ImageSet(self.x[idx].contiguous(), self.y[idx].contiguous(), self.source, self.classes)


def read_pixels(source: str | Path, input_dims: Sequence[int], workers: int = 1,
                labels: bool = True) -> tuple[np.ndarray, np.ndarray | None, list[str] | None]:
    """A data set's raw pixels (N x C x H x W float32 in [0, 1], an image folder's at ``input_dims``),
    its labels and class names, before any preparation: what a deployed model's user has.
    ``labels=False`` also reads an ``.npz`` without ``y`` (labels None)."""
    x, y, classes, _ = _read(source, input_dims, workers, labels)
    return x, y, classes


def _read(source: str | Path, input_dims: Sequence[int], workers: int,
          labels: bool = True) -> tuple[np.ndarray, np.ndarray, list[str] | None, bool]:
    """Raw pixels in [0, 1], labels, class names, and whether they are at the input size already."""
    if str(source) == DIGITS:
        from sklearn.datasets import load_digits   # lazy: scikit-learn is needed for the demo set only

        digits = load_digits()
        return ((digits.images[:, None] / 16.0).astype(np.float32), digits.target.astype(np.int64),
                [str(i) for i in range(10)], False)
    path = Path(source)
    if path.is_dir():
        from fgir.data.folder import read_folder

        x, y, classes = read_folder(path, input_dims, workers)
        return x, y, classes, True
    if not path.exists():
        raise data_error(path, "no such file or folder",
                         hint="data is an image folder (one subfolder per class), an .npz with x and y, "
                              "or 'digits'")
    if path.suffix.lower() != ".npz":
        raise data_error(path, f"unknown kind of data set '{path.suffix}'",
                         hint="data is an image folder (one subfolder per class), an .npz with x and y, "
                              "or 'digits'")
    x, y = read_npz(path, labels)
    return x, y, None, False


def load_images(source: str | Path, input_dims: Sequence[int], *, num_classes: int | None = None,
                mean: float | Sequence[float] = DEFAULT_MEAN, std: float | Sequence[float] = DEFAULT_STD,
                workers: int = 1) -> ImageSet:
    """A data set shaped for a network taking ``input_dims`` (C, H, W); DataError naming the file if bad.

    ``num_classes``: the network's outputs; a label outside ``0..num_classes-1`` is an error.
    """
    import torch

    channels = input_dims[0]
    x, y, classes, _ = _read(source, input_dims, workers)
    where = str(source)
    if x.shape[1] not in (1, channels):
        raise data_error(where, f"the images have {x.shape[1]} channels; the network takes {channels} "
                                f"(its input is {'x'.join(map(str, input_dims))})")
    if num_classes is not None:
        _check_labels(where, y, classes, num_classes)
    # what every model trained on it records (fgir.data.preprocess): one code path, training's and deployment's
    images = Preprocess.of(mean, std, input_dims).prepare(torch.from_numpy(x))
    return ImageSet(images, torch.from_numpy(y), where, classes)


def _check_labels(where: str, y: np.ndarray, classes: list[str] | None, num_classes: int) -> None:
    if classes is not None and len(classes) > num_classes:
        raise data_error(where, f"holds {len(classes)} classes; the network has {num_classes} outputs",
                         hint="set the network's num_class to the number of classes")
    bad = np.flatnonzero((y < 0) | (y >= num_classes))
    if len(bad):
        raise data_error(where, f"y holds label {int(y[bad[0]])} (image {int(bad[0])}); the network has "
                                f"{num_classes} outputs, so labels are 0..{num_classes - 1}")


def split_indices(labels: Any, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held out): ``fraction`` of each class held out, chosen by a fixed permutation per class."""
    labels = np.asarray(labels)
    held: list[np.ndarray] = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        np.random.default_rng([seed, int(label)]).shuffle(members)
        held.append(members[:int(round(len(members) * fraction))])
    out = np.sort(np.concatenate(held)) if held else np.zeros(0, np.int64)
    return np.setdiff1d(np.arange(len(labels)), out), out


def split(data: ImageSet, fraction: float, seed: int = 0) -> tuple[ImageSet, ImageSet]:
    """The same data set cut in two, stratified and deterministic: (the rest, ``fraction`` held out)."""
    if not 0 < fraction < 1:
        raise ValueError(f"a split fraction is between 0 and 1, got {fraction}")
    kept, held = split_indices(data.y.numpy(), fraction, seed)
    if len(held) == 0 or len(kept) == 0:
        raise data_error(data.source, f"{len(data)} images are too few to hold out {fraction:g} of them")
    return data.subset(kept), data.subset(held)


def calibration_batches(source: str | Path, input_dims: Sequence[int], count: int, *,
                        batch_size: int = CALIBRATION_BATCH, mean: float | Sequence[float] = DEFAULT_MEAN,
                        std: float | Sequence[float] = DEFAULT_STD, seed: int = 0) -> list[Any]:
    """``count`` batches of ``batch_size`` images (float32 N x C x H x W tensors) from a data set.

    What ``--calibrate-data PATH`` calibrates on: the images prepared exactly as
    training prepares them, in a fixed shuffled order (so batches mix the
    classes of an image folder).  DataError for bad data or too few images.
    """
    import torch

    if count < 1 or batch_size < 1:
        raise ValueError("count and batch_size must be 1 or more")
    data = load_images(source, input_dims, mean=mean, std=std)
    if count * batch_size > len(data):
        raise data_error(source, f"asked for {count} batches of {batch_size} images; the data set holds "
                                 f"{len(data)} images ({len(data) // batch_size} batches)")
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    return [data.x[order[i * batch_size:(i + 1) * batch_size]] for i in range(count)]


__all__ = ["DEFAULT_MEAN", "DEFAULT_STD", "DEFAULT_VAL_FRACTION", "DIGITS", "ImageSet", "calibration_batches",
           "load_images", "per_channel", "read_pixels", "split", "split_indices"]
