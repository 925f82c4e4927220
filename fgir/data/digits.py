"""scikit-learn's bundled 8x8 digits, shaped for a network's input: fgir's small real data set.

One preparation and one split, whoever asks: the images are prepared as
``fgir train --data digits`` prepares them (:func:`fgir.data.sources.load_images`:
resized bilinear, replicated to ``channels``, normalised with fgir's default
mean and std, :mod:`fgir.data.preprocess`), and held out as its validation
split is (:func:`fgir.data.sources.split`: a stratified, fixed fifth).  So the
search's train evaluator scores a candidate on exactly the images ``fgir train``
reports its validation accuracy on.  Needs scikit-learn (ImportError otherwise)
and torch.

Example:
    >>> x_train, y_train, x_test, y_test = digits_tensors(3, 16, 16, limit=100)
    >>> tuple(x_train.shape), tuple(x_test.shape), int(y_train.max())
    ((100, 3, 16, 16), (359, 3, 16, 16), 9)
"""

from __future__ import annotations

import functools
from typing import Any

NUM_CLASSES = 10


@functools.lru_cache(maxsize=4)
def digits_tensors(channels: int, height: int, width: int, limit: int | None = None) -> tuple[Any, Any, Any, Any]:
    """(x_train, y_train, x_held_out, y_held_out) as torch tensors; ``limit`` keeps the first training images."""
    from fgir.data.sources import DEFAULT_VAL_FRACTION, DIGITS, load_images, split

    train, held = split(load_images(DIGITS, (channels, height, width), num_classes=NUM_CLASSES), DEFAULT_VAL_FRACTION)
    x_train, y_train = (train.x[:limit], train.y[:limit]) if limit else (train.x, train.y)
    return x_train.contiguous(), y_train.contiguous(), held.x, held.y
