"""scikit-learn's bundled 8x8 digits, shaped for a network's input: fgir's small real data set.

The grey digits are resized (bilinear) to ``height x width``, replicated to
``channels`` and normalised (≈ the data's mean and std); the split is 75/25,
stratified, fixed.  Needs scikit-learn (ImportError otherwise) and torch.

Example:
    >>> x_train, y_train, x_test, y_test = digits_tensors(3, 16, 16, limit=100)
    >>> tuple(x_train.shape), tuple(x_test.shape), int(y_train.max())
    ((100, 3, 16, 16), (450, 3, 16, 16), 9)
"""

from __future__ import annotations

import functools
from typing import Any

NUM_CLASSES = 10


@functools.lru_cache(maxsize=4)
def digits_tensors(channels: int, height: int, width: int, limit: int | None = None) -> tuple[Any, Any, Any, Any]:
    """(x_train, y_train, x_test, y_test) as torch tensors; ``limit`` keeps the first training images."""
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        data.images, data.target, test_size=0.25, random_state=0, stratify=data.target)
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]

    def prepare(images: Any) -> Any:
        x = torch.tensor(images, dtype=torch.float32).unsqueeze(1) / 16.0
        if (height, width) != (8, 8):
            x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)
        return ((x - 0.3) / 0.4).repeat(1, channels, 1, 1).contiguous()

    return (prepare(x_train), torch.tensor(y_train), prepare(x_test), torch.tensor(y_test))
