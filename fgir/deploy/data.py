"""The images quantization calibrates on and scores on, prepared as the checkpoint records its training did.

Every image goes through the checkpoint's own :class:`fgir.data.Preprocess` (its
mean, std and input size; never a normalization of ours).  Without ``eval_data``,
the calibration data set is cut as ``fgir train`` cuts its validation split
(:func:`fgir.data.sources.split`, a stratified fifth): calibration draws from the
rest, accuracy is measured on the fifth, which training never fitted when the
model was trained on the same data.  With ``eval_data`` the whole calibration set
calibrates and ``eval_data`` is scored.  Images of a channel count the network
does not take, or labels beyond its outputs, are a DataError naming both.

Example:
    >>> from fgir.data import Preprocess
    >>> sets = quantization_data(Preprocess.of(0.5, 0.25, (3, 8, 8)), 10, "digits", images=64)
    >>> tuple(sets.calibration.shape), len(sets.eval_y), round(float(sets.calibration.min()), 1)
    ((64, 3, 8, 8), 359, -2.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fgir.data.errors import data_error
from fgir.data.preprocess import DEFAULT_VAL_FRACTION, Preprocess


@dataclass
class QuantizationData:
    """Calibration images (one N x C x H x W tensor, prepared) and the held-out images and labels."""

    calibration: Any
    eval_x: Any
    eval_y: Any
    eval_source: str


def _prepared(source: str | Path, preprocess: Preprocess, num_classes: int) -> Any:
    from fgir.data.sources import load_images

    if Preprocess.of(preprocess.mean, preprocess.std, preprocess.input) != preprocess:
        raise data_error(source, f"the checkpoint records a preprocessing fgir cannot apply to it "
                                 f"({preprocess.describe()})")
    return load_images(source, preprocess.input, num_classes=num_classes, mean=preprocess.mean, std=preprocess.std)


def quantization_data(preprocess: Preprocess, num_classes: int, calibrate_data: str | Path,
                      eval_data: str | Path | None = None, images: int = 256, seed: int = 0) -> QuantizationData:
    """The calibration images (``images`` at most, in a fixed shuffled order) and the held-out set."""
    import torch

    from fgir.data.sources import split

    data = _prepared(calibrate_data, preprocess, num_classes)
    if eval_data is None:
        calibrate, held = split(data, DEFAULT_VAL_FRACTION)
        where = f"{calibrate_data} (the held-out fifth, fgir train's validation split)"
    else:
        calibrate, held = data, _prepared(eval_data, preprocess, num_classes)
        where = str(eval_data)
    order = torch.randperm(len(calibrate), generator=torch.Generator().manual_seed(seed))[:images]
    return QuantizationData(calibrate.x[order].contiguous(), held.x, held.y, where)


__all__ = ["QuantizationData", "quantization_data"]
